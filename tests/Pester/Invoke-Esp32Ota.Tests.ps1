Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Invoke-Esp32Ota' -Tag 'CI' {
    It 'updates every device piped from Find-Esp32Device and returns one result each' {
        $image = New-TestImage -Version '1.1.0'
        $results = Find-Esp32Device -Simulated 3 -SimulationSpeed 0 | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

        $results.Count | Should -Be 3
        $results | ForEach-Object {
            $_.Status | Should -Be 'Succeeded'
            $_.VersionAfter | Should -Be '1.1.0'
            $_.Bytes | Should -Be $image.Length
            $_.KBytesPerSecond | Should -BeGreaterThan 0
        }
    }

    It 'writes progress with the packet count, bytes and speed under one parent bar' {
        $fleet = New-TestFleet
        $fleet.Transport.Speed = 4   # about 8 simulated seconds take 2 s, so several progress updates are drawn
        $image = New-TestImage -Size 60000
        $packets = [math]::Ceiling($image.Length / 512)

        # Progress records are read from the progress stream of a fresh runspace (Pester silences progress in its own).
        $shell = [PowerShell]::Create()
        $null = $shell.AddScript({
                param($module, $devices, $path)
                Import-Module $module
                $devices | Invoke-Esp32Ota -Path $path -Force
            }).AddArgument((Get-Module BleOta).Path).AddArgument($fleet.Devices).AddArgument($image.FullName)
        $null = $shell.Invoke()
        $records = $shell.Streams.Progress

        $records | Where-Object { $_.ActivityId -eq 1 -and $_.RecordType -eq 'Completed' } | Should -Not -BeNullOrEmpty
        $child = $records | Where-Object { $_.ParentActivityId -eq 1 -and $_.StatusDescription -like 'packet *' }
        $child | Should -Not -BeNullOrEmpty
        $child[-1].StatusDescription | Should -Match "^packet \d+/$packets, [\d.]+ of [\d.]+ kB, [\d.]+ kB/s$"
        $shell.Dispose()
    }

    It 'binds files from Get-ChildItem to -LiteralPath' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '3.0.0' -Name 'app [v3].bin'

        $result = Get-ChildItem -LiteralPath $image.FullName | Invoke-Esp32Ota -Device $fleet.Devices[0] -Force -PassThru

        $result.VersionAfter | Should -Be '3.0.0'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '3.0.0'
    }

    It 'resolves wildcards in -Path' {
        $fleet = New-TestFleet
        $null = New-TestImage -Version '3.1.0' -Name 'firmware-3.1.0.bin'

        $result = $fleet.Devices | Invoke-Esp32Ota -Path (Join-Path $TestDrive 'firmware-*.bin') -Force -PassThru

        $result.VersionAfter | Should -Be '3.1.0'
    }

    It 'gives <ErrorId> for a <Case> and sends nothing' -ForEach @(
        @{ Case = 'missing file'; ErrorId = 'ImageNotFound'; Make = { Join-Path $TestDrive 'nope.bin' } }
        @{ Case = 'directory'; ErrorId = 'ImagePathIsDirectory'; Make = { $TestDrive } }
        @{ Case = 'empty file'; ErrorId = 'ImageEmpty'; Make = { $p = Join-Path $TestDrive 'empty.bin'; Set-Content $p -Value $null; $p } }
        @{ Case = 'non-ESP file'; ErrorId = 'ImageNotEsp'; Make = { $p = Join-Path $TestDrive 'readme.txt'; Set-Content $p 'hello'; $p } }
        @{ Case = 'truncated image'; ErrorId = 'ImageDamaged'; Make = {
                $i = New-TestImage -Name 'cut.bin'; $b = [IO.File]::ReadAllBytes($i.FullName); [IO.File]::WriteAllBytes($i.FullName, $b[0..999]); $i.FullName } }
        @{ Case = 'wildcard matching nothing'; ErrorId = 'ImageNotFound'; Make = { Join-Path $TestDrive 'none-*.bin' } }
    ) {
        $fleet = New-TestFleet
        $path = & $Make

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $path -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $result | Should -BeNullOrEmpty
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be "$ErrorId,BleOta.InvokeEsp32Ota"
        $fleet.Transport.Devices[0].BootCount | Should -Be 1
    }

    It 'reports a device that NAKs the request and still updates the others' {
        $fleet = New-TestFleet -Faults @($null, @{ RejectRequest = $true }, $null)
        $image = New-TestImage -Version '4.0.0'

        $results = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceRejectedRequest,BleOta.InvokeEsp32Ota'
        $problems[0].TargetObject.Name | Should -Be 'pester-02'
        ($results | Where-Object Status -EQ 'Succeeded').Device | Sort-Object | Should -Be @('pester-01', 'pester-03')
        $fleet.Transport.Devices.RunningVersion | Should -Be @('4.0.0', '1.0.0', '4.0.0')
    }

    It 'reports AckTimeout for a device that never answers DONE' {
        $fleet = New-TestFleet -Faults @(@{ IgnoreDone = $true })
        $image = New-TestImage

        $null = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Force -TimeoutSec 1 -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems[0].FullyQualifiedErrorId | Should -Be 'AckTimeout,BleOta.InvokeEsp32Ota'
        $problems[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
    }

    It 'changes nothing with -WhatIf' {
        $fleet = New-TestFleet
        $image = New-TestImage

        $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -WhatIf

        $fleet.Transport.Devices[0].BootCount | Should -Be 1
    }
}
