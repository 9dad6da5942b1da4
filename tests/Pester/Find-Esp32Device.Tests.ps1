Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Find-Esp32Device' -Tag 'CI' {
    It 'finds <Count> simulated devices' -ForEach @(@{ Count = 1 }, @{ Count = 3 }) {
        $found = @(Find-Esp32Device -Simulated $Count -SimulationSpeed 0 | Where-Object Name -in (1..$Count | ForEach-Object { 'esp32-sim-{0:D2}' -f $_ }))
        $found.Count | Should -Be $Count
        $found | ForEach-Object { $_.AdvertisesOta | Should -BeTrue }
    }

    It 'streams each device as soon as it is found' {
        # Speed 1: devices advertise 100 ms apart in real time; the first must arrive well before the scan ends.
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $first = Find-Esp32Device -Simulated 3 -SimulationSpeed 1 | Select-Object -First 1
        $first.Name | Should -Be 'esp32-sim-01'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
    }

    It 'filters by name with wildcards' {
        (Find-Esp32Device -Simulated 3 -SimulationSpeed 0 -Name 'esp32-sim-0[23]').Name | Should -Be @('esp32-sim-02', 'esp32-sim-03')
    }

    It 'fails with TransportUnavailable and names -Simulated when no radio transport exists' {
        { Find-Esp32Device -ErrorAction Stop } | Should -Throw -ErrorId 'TransportUnavailable,BleOta.FindEsp32Device' -ExpectedMessage '*-Simulated*'
    }
}
