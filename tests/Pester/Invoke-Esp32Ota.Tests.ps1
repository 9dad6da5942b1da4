Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Invoke-Esp32Ota' -Tag 'CI' {
    It 'updates every device piped from Find-Esp32Device and returns one result each' {
        $image = New-TestImage -Version '1.1.0'
        # -Name: the process-wide fleet also holds devices other suites and help examples added (tutorial ones too).
        $results = Find-Esp32Device -Simulated 3 -SimulationSpeed 0 -Name 'esp32-sim-0[1-3]' | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

        $results.Count | Should -Be 3
        $results | ForEach-Object {
            $_.Status | Should -Be 'Succeeded'
            $_.VersionAfter | Should -Be '1.1.0'
            # What went on air: the whole image, or a patch when an earlier suite left a device on an image sent from here.
            if ($_.Transfer -eq 'Full') {
                $_.Bytes | Should -Be $image.Length
            } else {
                $_.Transfer | Should -Be 'Delta'
                $_.Bytes | Should -BeLessOrEqual ($image.Length * 0.75)
            }
            $_.BytesOnAir | Should -BeGreaterThan $_.Bytes   # every packet also carries its offset
            $_.KBytesPerSecond | Should -BeGreaterThan 0
        }
    }

    It 'writes progress with the packet count, bytes and speed under one parent bar' {
        $fleet = New-TestFleet
        $fleet.Transport.Speed = 4   # about 8 simulated seconds take 2 s, so several progress updates are drawn
        $image = New-TestImage -Size 60000
        $packets = [math]::Ceiling($image.Length / 491)   # Auto picks v2: 495-byte writes (two whole LL PDUs) carry a 4-byte offset

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

    It 'updates with -Protocol V2 and reports the protocol used' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '2.2.0'

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Protocol V2 -Force -PassThru

        $result.Status | Should -Be 'Succeeded'
        $result.Protocol | Should -Be 'V2'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '2.2.0'
    }

    It 'fails with ProtocolNotSupported for -Protocol V2 on tutorial firmware and sends nothing' {
        $fleet = New-TestFleet -Firmware Tutorial
        $image = New-TestImage -Version '2.3.0'

        $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Protocol V2 -Force -ErrorVariable failures -ErrorAction SilentlyContinue

        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'ProtocolNotSupported,BleOta.InvokeEsp32Ota'
        $failures[0].Exception.Message | Should -Match 'speaks only protocol v1 \(the tutorial''s firmware\)\. Use -Protocol V1 or Auto'
        $fleet.Transport.Devices[0].Flash.IsUpdating | Should -BeFalse
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '1.0.0'
    }

    It 'sends only a patch to a device running an image this computer sent before, and says so' {
        $fleet = New-TestFleet
        $first = New-TestImage -Version '5.0.0' -Size 80000 -Name 'app-5.0.0.bin'
        $second = New-TestImage -Version '5.0.1' -Size 80000 -Name 'app-5.0.1.bin'
        $null = $fleet.Devices | Invoke-Esp32Ota -Path $first.FullName -Force

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $second.FullName -Force -PassThru -Verbose 4>&1 |
            Tee-Object -Variable stream | Where-Object { $_ -is [BleOta.OtaUpdateResult] }

        $result.Status | Should -Be 'Succeeded'
        $result.Transfer | Should -Be 'Delta'
        $result.BytesOnAir | Should -BeLessThan ($second.Length / 10)
        $verbose = ($stream | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $verbose -like '*Sending a delta patch against the image the device runs (cached in*' | Should -Not -BeNullOrEmpty
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '5.0.1'
    }

    It 'sends the whole image with -Delta Off, and warns about a -BaseImage that names nothing' {
        $fleet = New-TestFleet
        $first = New-TestImage -Version '6.0.0' -Size 80000 -Name 'app-6.0.0.bin'
        $second = New-TestImage -Version '6.0.1' -Size 80000 -Name 'app-6.0.1.bin'
        $null = $fleet.Devices | Invoke-Esp32Ota -Path $first.FullName -Force

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $second.FullName -Delta Off -BaseImage (Join-Path $TestDrive 'no-such-folder') -Force -PassThru -WarningVariable warnings -WarningAction SilentlyContinue

        $result.Transfer | Should -Be 'Full'
        $result.Bytes | Should -Be $second.Length
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -BeLike "-BaseImage '*no-such-folder' names no file or folder; it is not used.*"
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

    It 'with -Verify reports the version the device runs after it restarted' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '9.0.0'

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Verify -Force -PassThru

        $result.Status | Should -Be 'Succeeded'
        $result.Verified | Should -BeTrue
        $result.VersionAfter | Should -Be '9.0.0'
        $fleet.Transport.Devices[0].BootCount | Should -Be 2
    }

    It 'with -Verify reports DeviceRolledBack when the new image fails its self-test' {
        $fleet = New-TestFleet -Faults @(@{ SelfTestFails = $true })
        $image = New-TestImage -Version '9.1.0'

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Verify -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

        $result.Status | Should -Be 'Failed'
        $result.Verified | Should -BeFalse
        $result.VersionAfter | Should -Be '1.0.0'
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceRolledBack,BleOta.InvokeEsp32Ota'
        $problems[0].Exception.Message | Should -Match 'runs 1\.0\.0, not 9\.1\.0'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '1.0.0'
    }

    It 'with -Verify warns that a device with the tutorial firmware cannot be checked' {
        $fleet = New-TestFleet -Firmware Tutorial

        $result = $fleet.Devices | Invoke-Esp32Ota -Path (New-TestImage -Version '9.2.0').FullName -Verify -Force -PassThru -WarningVariable warnings -WarningAction SilentlyContinue

        $result.Status | Should -Be 'Succeeded'
        $result.Verified | Should -BeNullOrEmpty
        $warnings.Message | Should -Match '-Verify cannot check this device: its firmware has no Info characteristic'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '9.2.0'
    }

    It 'updates tutorial firmware with v1 and reports success although the device restarts without answering DONE' {
        $fleet = New-TestFleet -Firmware Tutorial
        $image = New-TestImage -Version '9.2.1'

        $result = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

        $result.Status | Should -Be 'Succeeded'
        $result.Protocol | Should -Be 'V1'
        $result.Packets | Should -Be ([math]::Ceiling($image.Length / 253))   # the tutorial's firmware prefers MTU 256
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '9.2.1'
    }

    It 'fails with DeviceRejectedImage when tutorial firmware answers a wrong-chip image with DONE_NAK' {
        $fleet = New-TestFleet -Firmware Tutorial
        $image = New-TestImage -Version '9.2.2' -Chip Esp32S3

        $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Force -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceRejectedImage,BleOta.InvokeEsp32Ota'
        $problems[0].Exception.Message | Should -Match 'DONE_NAK'
        $fleet.Transport.Devices[0].RunningVersion | Should -Be '1.0.0'
    }

    It 'finds devices by -Name with a scan and updates only those' {
        $null = Find-Esp32Device -Simulated 3 -SimulationSpeed 0
        $before = [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Devices | Where-Object Name -Like 'esp32-sim-0[123]' | ForEach-Object BootCount

        $results = Invoke-Esp32Ota -Name 'esp32-sim-0[12]' -Path (New-TestImage -Version '9.3.0').FullName -Force -PassThru

        $results.Device | Sort-Object | Should -Be @('esp32-sim-01', 'esp32-sim-02')
        $after = [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Devices | Where-Object Name -Like 'esp32-sim-0[123]' | ForEach-Object BootCount
        $after | Should -Be @(($before[0] + 1), ($before[1] + 1), $before[2])
    }

    It 'gives DeviceNotFound for a -Name no device answers to' {
        $null = Find-Esp32Device -Simulated 2 -SimulationSpeed 0
        $shared = [BleOta.Transport.Simulated.SimulatedTransport]::Shared
        # A device connected to another client stops advertising, so a scan cannot find it.
        $held = $shared.ConnectAsync('5A:1D:0E:00:00:02', [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        try {
            $null = Invoke-Esp32Ota -Name 'esp32-sim-01', 'esp32-sim-02' -Path (New-TestImage).FullName -TimeoutSec 1 -WhatIf -ErrorVariable problems -ErrorAction SilentlyContinue
        }
        finally {
            $held.DisposeAsync().AsTask().Wait()
        }

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'DeviceNotFound,BleOta.InvokeEsp32Ota'
        $problems[0].TargetObject | Should -Be 'esp32-sim-02'
    }

    It 'explains each step per device on the verbose stream and link details on the debug stream' {
        $fleet = New-TestFleet -Faults @($null, $null)
        $shell = [PowerShell]::Create()
        $null = $shell.AddScript({
                param($module, $devices, $path)
                Import-Module $module
                $devices | Invoke-Esp32Ota -Path $path -Force -Verbose -Debug
            }).AddArgument((Get-Module BleOta).Path).AddArgument($fleet.Devices).AddArgument((New-TestImage).FullName)
        $null = $shell.Invoke()
        $verbose = $shell.Streams.Verbose.Message
        $debug = $shell.Streams.Debug.Message
        $shell.Dispose()

        foreach ($name in 'pester-01', 'pester-02') {
            $mine = ($verbose | Where-Object { $_ -like "$name *" }) -join "`n"
            $mine | Should -Match 'Connecting over the Simulated transport'
            $mine | Should -Match 'The device runs bleota-demo 1\.0\.0 on an ESP32'
            $mine | Should -Match 'Sending 30,000 bytes in \d+ packets with protocol V2'   # Auto: BleOta firmware offers v2
            $mine | Should -Match 'accepted it \(DONE_ACK\)'
            ($debug | Where-Object { $_ -like "$name *" }) -join "`n" | Should -Match 'the link settled on 515'
        }
    }
}
