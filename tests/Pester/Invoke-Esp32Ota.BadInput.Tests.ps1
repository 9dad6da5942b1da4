Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Invoke-Esp32Ota with bad input' -Tag 'CI' {
    It 'gives <ErrorId> (<Category>) for <Case> on one device before anything is sent, and updates the others' -ForEach @(
        @{ Case = 'an image for another chip'; ErrorId = 'ImageWrongChip'; Category = 'InvalidData'; Chip = 'Esp32C3'; SlotFaults = $null }
        @{ Case = 'an image larger than the OTA slot'; ErrorId = 'ImageTooLarge'; Category = 'LimitsExceeded'; Chip = 'Esp32'; SlotFaults = 'small' }
    ) {
        $fleet = New-TestFleet -Faults @($null, $null)
        if ($SlotFaults) {
            # The second device's slot only just holds its factory image.
            $small = [BleOta.Transport.Simulated.SimulatedDevice]::new('7E:57:50:00:00:99', 'pester-small', [BleOta.Transport.Simulated.SampleImages]::Factory,
                [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ SlotSize = 192KB })
            $null = $fleet.Transport.Add($small)
            $devices = @($fleet.Devices[0], [BleOta.Engine.Discovery.Esp32Device]::new($small.Address, $small.Name, -50, $fleet.Transport))
            $image = New-TestImage -Version '6.0.0' -Size 250000
            $bad = $small
        }
        else {
            $devices = $fleet.Devices
            $image = New-TestImage -Version '6.0.0' -Chip $Chip
            $bad = $fleet.Transport.Devices[0]
        }

        $results = $devices | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be ($SlotFaults ? 1 : 2)
        $problems[0].FullyQualifiedErrorId | Should -Be "$ErrorId,BleOta.InvokeEsp32Ota"
        $problems[0].CategoryInfo.Category | Should -Be $Category
        $bad.BootCount | Should -Be 1
        $bad.Flash.Written | Should -Be 0
        if ($SlotFaults) { ($results | Where-Object Status -EQ 'Succeeded').Count | Should -Be 1 }
    }

    It 'refuses a <Kind> with ImageNotAnApp, once for the whole fleet, says which file to use and sends nothing' -ForEach @(
        @{ Kind = 'LegacyBootloader'; Says = 'a bootloader \(or another image that runs from RAM only\)' }
        @{ Kind = 'Bootloader'; Says = 'an ESP-IDF bootloader \(bootloader.bin, IDF v5\.2\.1\)' }
        @{ Kind = 'SignedBootloader'; Says = 'signed for Secure Boot v2' }
        @{ Kind = 'RamOnlyApp'; Says = 'built to run from RAM only' }
        @{ Kind = 'MergedFromZero'; Says = 'merged flash image' }
        @{ Kind = 'MergedStartingWithBootloader'; Says = 'merged flash image' }
    ) {
        $fleet = New-TestFleet -Faults @($null, $null)
        $file = New-NonAppImage -Kind $Kind

        $results = $fleet.Devices | Invoke-Esp32Ota -Path $file.FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $results | Should -BeNullOrEmpty
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'ImageNotAnApp,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $problems[0].Exception.Message | Should -Match $Says
        $problems[0].Exception.Message | Should -Match 'build/<project>\.bin, not bootloader/bootloader\.bin, a merged flash image'
        $fleet.Transport.Devices.BootCount | Should -Be @(1, 1)
        $fleet.Transport.Devices.Flash.Written | Should -Be @(0, 0)
    }

    It 'gives DeviceNotFound for an address no device has, and updates the address that exists' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '6.1.0'
        $missing = [BleOta.Engine.Discovery.Esp32Device]::new('7E:57:50:00:00:EE', 'ghost', -50, $fleet.Transport)

        $results = @($missing, $fleet.Devices[0]) | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceNotFound,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $problems[0].Exception.Message | Should -Match '\(No device with address 7E:57:50:00:00:EE is in range\)\. Check that it is powered, in range and advertising'
        $problems[0].TargetObject.Address | Should -Be '7E:57:50:00:00:EE'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '6.1.0'
    }

    It 'gives DeviceInUse for a device another client holds, with how to free it, and updates the others' {
        $fleet = New-TestFleet -Faults @($null, $null)
        $held = $fleet.Transport.ConnectAsync('7E:57:50:00:00:02', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        try {
            $results = $fleet.Devices | Invoke-Esp32Ota -Path (New-TestImage -Version '6.1.1').FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue
        }
        finally { $held.DisposeAsync().AsTask().Wait() }

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceInUse,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        $problems[0].Exception.Message | Should -Match 'pester-02 is already connected to another client\. Disconnect it there'
        ($results | Where-Object Status -EQ 'Failed').ErrorId | Should -Be 'DeviceInUse'
        $fleet.Transport.Devices.RunningVersion | Should -Be @('6.1.1', '1.0.0')
    }

    It 'gives TransportUnavailable, not DeviceNotFound, when the radio cannot work' -Skip:(-not $IsLinux) {
        # No bluetoothd on this bus: the radio is down, whatever the device.
        $saved = $env:BLEOTA_BLUEZ_BUS
        $env:BLEOTA_BLUEZ_BUS = 'unix:path=/nonexistent/bleota-pester-bus'
        try {
            Invoke-Esp32Ota -Address 24:0A:C4:99:00:01 -Transport BlueZ -Path (New-TestImage).FullName -Force -TimeoutSec 2 -ErrorVariable problems -ErrorAction SilentlyContinue
        }
        finally { $env:BLEOTA_BLUEZ_BUS = $saved }

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'TransportUnavailable,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $problems[0].Exception.Message | Should -Match "this computer's Bluetooth radio is not usable\. Cannot reach the D-Bus system bus"
    }

    It 'gives DeviceAlreadyQueued for the same device twice and updates it once' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '6.2.0'

        $results = @($fleet.Devices[0], $fleet.Devices[0]) | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceAlreadyQueued,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        @($results).Count | Should -Be 1
        $fleet.Transport.Devices[0].BootCount | Should -Be 2
    }

    It 'refuses -Path and -LiteralPath together before anything is sent' {
        $fleet = New-TestFleet
        $image = New-TestImage

        { $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -LiteralPath $image.FullName -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,BleOta.InvokeEsp32Ota'
        $fleet.Transport.Devices[0].BootCount | Should -Be 1
    }

    It 'refuses -ThrottleLimit 0 before anything is sent' {
        $fleet = New-TestFleet
        $image = New-TestImage

        { $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -ThrottleLimit 0 -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,BleOta.InvokeEsp32Ota'
        $fleet.Transport.Devices[0].BootCount | Should -Be 1
    }
}
