# Shared setup for the Pester suites: import the built module as a user would, and make test images and fleets.
Set-StrictMode -Version Latest

# Updates keep the images they send for later delta updates under the user's data folder: in tests, a private one.
$env:XDG_DATA_HOME = Join-Path ([IO.Path]::GetTempPath()) "bleota-pester-$PID"
$env:LOCALAPPDATA = $env:XDG_DATA_HOME

function Import-BleOtaUnderTest {
    $module = if ($env:BLEOTA_MODULE) { $env:BLEOTA_MODULE } else { Join-Path $PSScriptRoot '../../out/BleOta' }
    if (-not (Test-Path (Join-Path $module 'BleOta.psd1'))) { throw "Build first: ./build.ps1 Build (no module at $module)" }
    Import-Module (Join-Path $module 'BleOta.psd1') -Force -Global
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

Export-ModuleMember -Function Import-BleOtaUnderTest, New-TestImage, New-TestFleet
