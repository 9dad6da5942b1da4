Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
    $RepoRoot = Resolve-Path (Join-Path $PSScriptRoot '../..')
}

Describe 'BleOta module' -Tag 'CI' {
    It 'passes Test-ModuleManifest at the repository root and in the build output' -ForEach @(
        @{ Where = 'root'; Relative = 'BleOta.psd1' }
        @{ Where = 'out'; Relative = 'out/BleOta/BleOta.psd1' }
    ) {
        $manifest = Test-ModuleManifest (Join-Path $RepoRoot $Relative) -ErrorVariable problems
        $problems | Should -BeNullOrEmpty
        $manifest.Name | Should -Be 'BleOta'
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be ([version]'7.4')
    }

    It 'exports exactly the three cmdlets' {
        (Get-Command -Module BleOta).Name | Sort-Object | Should -Be @('Find-Esp32Device', 'Get-OtaProgress', 'Invoke-Esp32Ota')
    }

    It 'declares ConfirmImpact High on Invoke-Esp32Ota so updates ask first' {
        $meta = [System.Management.Automation.CommandMetadata]::new((Get-Command Invoke-Esp32Ota))
        $meta.ConfirmImpact | Should -Be 'High'
        $meta.SupportsShouldProcess | Should -BeTrue
    }

    It 'formats devices as a table with name, address and RSSI' {
        $text = Find-Esp32Device -Simulated 2 -SimulationSpeed 0 | Format-Table | Out-String
        $text | Should -Match 'Name\s+Address\s+RSSI'
        $text | Should -Match 'esp32-sim-01\s+5A:1D:0E:00:00:01\s+-60'
    }
}
