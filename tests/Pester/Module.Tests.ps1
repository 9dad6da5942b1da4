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

    It 'exports exactly its six cmdlets' {
        (Get-Command -Module BleOta).Name | Sort-Object | Should -Be @('Find-Esp32Device', 'Get-Esp32DeviceInfo', 'Get-Esp32Image', 'Get-OtaProgress', 'Invoke-Esp32Ota', 'Stop-OtaSession')
    }

    It 'declares the output type of <Cmdlet>' -ForEach @(
        @{ Cmdlet = 'Find-Esp32Device'; Type = 'BleOta.Engine.Discovery.Esp32Device' }
        @{ Cmdlet = 'Invoke-Esp32Ota'; Type = 'BleOta.OtaUpdateResult' }
        @{ Cmdlet = 'Get-OtaProgress'; Type = 'BleOta.Engine.Session.OtaProgress' }
        @{ Cmdlet = 'Stop-OtaSession'; Type = 'BleOta.Engine.Session.OtaProgress' }
        @{ Cmdlet = 'Get-Esp32DeviceInfo'; Type = 'BleOta.Engine.Session.Esp32DeviceInfo' }
        @{ Cmdlet = 'Get-Esp32Image'; Type = 'BleOta.Engine.Image.FirmwareImageInfo' }
    ) {
        (Get-Command $Cmdlet).OutputType.Name | Should -Be $Type
    }

    It 'has a list view for <Type> with the fields a table leaves out' -ForEach @(
        @{ Type = 'OtaUpdateResult'; Make = { $f = New-TestFleet; $f.Devices | Invoke-Esp32Ota -Path (New-TestImage).FullName -Force -PassThru }; Field = 'SessionId' }
        @{ Type = 'FirmwareImageInfo'; Make = { Get-Esp32Image (New-TestImage).FullName }; Field = 'Sha256' }
    ) {
        $text = & $Make | Format-List | Out-String
        $text | Should -Match "$Field\s*:"
        & $Make | Format-Table | Out-String | Should -Not -Match "$Field\s*:"
    }

    It 'completes -Name and -Address of Invoke-Esp32Ota from the last scan' {
        $scan = Find-Esp32Device -Simulated 3 -SimulationSpeed 0

        $typedName = 'Invoke-Esp32Ota -Name esp32-sim-0'
        $typedAddress = 'Invoke-Esp32Ota -Address 5A:1D:0E:00:00:0'
        $names = (TabExpansion2 -inputScript $typedName -cursorColumn $typedName.Length).CompletionMatches.CompletionText
        $addresses = (TabExpansion2 -inputScript $typedAddress -cursorColumn $typedAddress.Length).CompletionMatches.CompletionText

        $names | Should -Be @($scan.Name -like 'esp32-sim-0*' | Sort-Object)
        $names | Should -Contain 'esp32-sim-03'
        $addresses | Should -Be @(($scan | ForEach-Object Address) -like '5A:1D:0E:00:00:0*' | Sort-Object)
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
