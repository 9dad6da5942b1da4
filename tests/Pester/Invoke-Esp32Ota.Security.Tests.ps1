Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest

    function New-EncryptedDevice([bool] $Bonded) {
        $transport = [BleOta.Transport.Simulated.SimulatedTransport]::new(0)
        $device = [BleOta.Transport.Simulated.SimulatedDevice]::new('7E:57:5E:00:00:01', 'pester-secure', [BleOta.Transport.Simulated.SampleImages]::Factory,
            [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ RequireEncryption = $true })
        $device.Bonded = $Bonded
        $null = $transport.Add($device)
        [pscustomobject]@{ Simulated = $device; Device = [BleOta.Engine.Discovery.Esp32Device]::new($device.Address, $device.Name, -50, $transport) }
    }
}

Describe 'Invoke-Esp32Ota and a device that requires an encrypted link' -Tag 'CI' {
    It 'fails with DevicePairingRequired and says how to pair when this computer is not paired' {
        $target = New-EncryptedDevice -Bonded $false
        $image = New-TestImage -Version '8.0.0'

        $null = $target.Device | Invoke-Esp32Ota -Path $image.FullName -Force -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DevicePairingRequired,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $problems[0].Exception.Message | Should -Match 'bluetoothctl'
        $problems[0].Exception.Message | Should -Match 'Bluetooth & devices'
        $target.Simulated.RunningVersion | Should -Be '1.0.0'
    }

    It 'updates once the computer has a bond with the device' {
        $target = New-EncryptedDevice -Bonded $true
        $image = New-TestImage -Version '8.0.1'

        $result = $target.Device | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

        $result.Status | Should -Be 'Succeeded'
        $target.Simulated.RunningVersion | Should -Be '8.0.1'
    }
}
