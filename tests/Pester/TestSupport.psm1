# Shared setup for the Pester suites: import the built module as a user would, and make test images and fleets.
Set-StrictMode -Version Latest

function Import-BleOtaUnderTest {
    $module = if ($env:BLEOTA_MODULE) { $env:BLEOTA_MODULE } else { Join-Path $PSScriptRoot '../../out/BleOta' }
    if (-not (Test-Path (Join-Path $module 'BleOta.psd1'))) { throw "Build first: ./build.ps1 Build (no module at $module)" }
    Import-Module (Join-Path $module 'BleOta.psd1') -Force -Global
    # The cmdlets load the simulator on first use; the helpers below name its types before any cmdlet has run.
    $null = [Reflection.Assembly]::LoadFrom((Join-Path $module 'BleOta.Transport.Simulated.dll'))
}

function New-TestImage {
    param([string] $Version = '2.0.0', [int] $Size = 30000, [string] $Chip = 'Esp32', [string] $Name = 'app.bin')
    $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
    $builder.Version = $Version
    $builder.ProjectName = 'pester-app'
    $builder.Size = $Size
    $builder.Chip = $Chip
    $path = Join-Path $TestDrive $Name
    [IO.File]::WriteAllBytes($path, $builder.Build())
    Get-Item -LiteralPath $path
}

function New-NonAppImage {
    # ESP images that are not apps, as ESP-IDF and esptool make them: what an admin may pick up from build/ by mistake.
    param(
        [ValidateSet('LegacyBootloader', 'Bootloader', 'SignedBootloader', 'RamOnlyApp', 'MergedFromZero', 'MergedStartingWithBootloader')]
        [string] $Kind,
        [string] $Name = "$Kind.bin"
    )
    $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
    $builder.Size = 20000
    $builder.Kind = if ($Kind -eq 'RamOnlyApp') { 'RamOnlyApp' } else { 'Bootloader' }
    switch ($Kind) {
        'LegacyBootloader' { $builder.AppendSha256 = $false }                                   # before IDF 5.2: no description
        'Bootloader' { $builder.BootloaderDescription = $true; $builder.IdfVersion = 'v5.2.1' }    # IDF 5.2+, SHA-256 appended
        'SignedBootloader' { $builder.BootloaderDescription = $true; $builder.SecureBootV2 = $true }
        'MergedStartingWithBootloader' { $builder.Chip = 'Esp32S3'; $builder.BootloaderDescription = $true }
    }
    $bytes = $builder.Build()
    if ($Kind -like 'Merged*') {
        $app = [BleOta.Engine.Image.EspAppImageBuilder]@{ Chip = $builder.Chip; ProjectName = 'pester-app'; Version = '2.0.0'; Size = 30000 }
        $bytes = [BleOta.Engine.Image.EspFlashImageBuilder]::Merge($builder.Chip, $bytes, $app.Build(), 0)
    }
    $path = Join-Path $TestDrive $Name
    [IO.File]::WriteAllBytes($path, $bytes)
    Get-Item -LiteralPath $path
}

function New-TestFleet {
    # A private simulated fleet that runs without waiting; devices come back as Find-Esp32Device emits them.
    param([object[]] $Faults = @($null), [BleOta.Transport.Simulated.SimulatedFirmware] $Firmware = 'BleOta')
    $transport = [BleOta.Transport.Simulated.SimulatedTransport]::new(0)
    $number = 0
    foreach ($fault in $Faults) {
        $number++
        $deviceFaults = if ($fault) { [BleOta.Transport.Simulated.DeviceFaults]$fault } else { [BleOta.Transport.Simulated.DeviceFaults]::None }
        $options = [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ Faults = $deviceFaults; Firmware = $Firmware }
        $device = [BleOta.Transport.Simulated.SimulatedDevice]::new(('7E:57:50:00:00:{0:X2}' -f $number), ('pester-{0:D2}' -f $number),
            [BleOta.Transport.Simulated.SampleImages]::Factory, $options)
        $null = $transport.Add($device)
    }
    [pscustomobject]@{
        Transport = $transport
        Devices   = @($transport.Devices | ForEach-Object {
                [BleOta.Engine.Discovery.Esp32Device]::new($_.Address, $_.Name, $_.Rssi, $transport)
            })
    }
}

Export-ModuleMember -Function Import-BleOtaUnderTest, New-TestImage, New-NonAppImage, New-TestFleet
