Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Get-Esp32DeviceInfo' -Tag 'CI' {
    It 'tells what each device runs and which protocols it speaks, and changes nothing on it' {
        $fleet = New-TestFleet -Faults @($null, $null)
        $image = New-TestImage -Version '13.0.0'
        $null = $fleet.Devices[1] | Invoke-Esp32Ota -Path $image.FullName -Force
        $before = $fleet.Transport.Devices | ForEach-Object { [pscustomobject]@{ Boots = $_.BootCount; Written = $_.Flash.Written } }

        $info = $fleet.Devices | Get-Esp32DeviceInfo

        $info.Device | Should -Be @('pester-01', 'pester-02')
        $info.Version | Should -Be @('1.0.0', '13.0.0')
        $info.ProjectName | Should -Be @('bleota-demo', 'pester-app')
        $info.IdfVersion | Should -Be @('v5.3.2', 'v5.3.2')
        $info.Chip | Should -Be @('ESP32', 'ESP32')
        $info.Protocols | Should -Be @('V1, V2', 'V1, V2')
        $info.Firmware | Should -Be @('BleOta', 'BleOta')
        $info[1].ImageSha256 | Should -Be (Get-FileHash -LiteralPath $image.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
        $info[0].ImageSha256 | Should -Match '^[0-9a-f]{64}$'
        $fleet.Transport.Devices.BootCount | Should -Be $before.Boots
        $fleet.Transport.Devices.Flash.Written | Should -Be $before.Written
    }

    It 'says a device with the tutorial firmware speaks protocol v1 and cannot report its version' {
        $fleet = New-TestFleet -Firmware Tutorial

        $info = $fleet.Devices | Get-Esp32DeviceInfo

        $info.Firmware | Should -Be 'Tutorial'
        $info.Protocols | Should -Be 'V1'
        $info.Version | Should -BeNullOrEmpty
        ($info | Format-Table | Out-String) | Should -Match '\? \(tutorial firmware\)'
    }

    It 'takes addresses, also from a CSV inventory, and writes a report with Export-Csv' {
        $null = Find-Esp32Device -Simulated 2 -SimulationSpeed 0
        $inventory = Join-Path $TestDrive 'inventory.csv'
        @('Name,Address', 'esp32-sim-01,5A:1D:0E:00:00:01', 'esp32-sim-02,5A:1D:0E:00:00:02') | Set-Content $inventory
        $report = Join-Path $TestDrive 'versions.csv'

        Import-Csv $inventory | Get-Esp32DeviceInfo | Export-Csv $report

        (Import-Csv $report).Device | Should -Be @('esp32-sim-01', 'esp32-sim-02')
        (Import-Csv $report).Protocols | Should -Be @('V1, V2', 'V1, V2')
        (Get-Esp32DeviceInfo 5A:1D:0E:00:00:02).Device | Should -Be 'esp32-sim-02'
    }

    It 'gives <ErrorId> for <Case> and answers for the others' -ForEach @(
        @{ Case = 'an address no device has'; ErrorId = 'DeviceNotFound'; Hold = $false }
        @{ Case = 'a device another client holds'; ErrorId = 'DeviceInUse'; Hold = $true }
    ) {
        $fleet = New-TestFleet -Faults @($null, $null)
        $devices = @($fleet.Devices[0])
        if ($Hold) {
            $held = $fleet.Transport.ConnectAsync('7E:57:50:00:00:02', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            $devices += $fleet.Devices[1]
        }
        else {
            $devices += [BleOta.Engine.Discovery.Esp32Device]::new('7E:57:50:00:00:EE', 'ghost', -50, $fleet.Transport)
        }
        try {
            $info = $devices | Get-Esp32DeviceInfo -ErrorVariable problems -ErrorAction SilentlyContinue
        }
        finally { if ($Hold) { $held.DisposeAsync().AsTask().Wait() } }

        $info.Device | Should -Be 'pester-01'
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be "$ErrorId,BleOta.GetEsp32DeviceInfo"
    }

    It 'refuses a malformed address at binding' {
        { Get-Esp32DeviceInfo -Address '24:0A:C4' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,BleOta.GetEsp32DeviceInfo' -ExpectedMessage "*'24:0A:C4' is not a Bluetooth address*"
    }
}
