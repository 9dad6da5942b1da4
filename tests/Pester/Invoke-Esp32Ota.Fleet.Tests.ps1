Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest

    function Get-SessionSince {
        # This process's sessions of the fleet's devices that started at or after $Since (other tests reuse the addresses).
        # ($Fleet.Devices.Address would be the array's own Address method, not the devices' addresses.)
        param($Fleet, [datetimeoffset] $Since)
        $addresses = $Fleet.Devices | ForEach-Object Address
        @(Get-OtaProgress | Where-Object { $_.Address -in $addresses -and $_.StartedAt -ge $Since })
    }
}

Describe 'Invoke-Esp32Ota over a fleet' -Tag 'CI' {
    Context 'when the pipeline stops early' {
        It 'ends every queued session as Cancelled, saying an -ErrorAction Stop error stopped it, not the user' {
            $fleet = New-TestFleet -Faults @(@{ RejectRequest = $true }, $null, $null, $null)
            $fleet.Transport.Speed = 1   # real time: the others are still waiting or connecting when the error arrives
            $since = [datetimeoffset]::Now

            { $fleet.Devices | Invoke-Esp32Ota -Path (New-TestImage -Size 60000).FullName -Force -ThrottleLimit 1 -ErrorAction Stop } |
                Should -Throw -ErrorId 'DeviceRejectedRequest,BleOta.InvokeEsp32Ota'

            $sessions = Get-SessionSince $fleet $since
            $sessions.Count | Should -Be 4
            $sessions.State | Should -Be @('Failed', 'Cancelled', 'Cancelled', 'Cancelled')
            @(Get-OtaProgress -Running | Where-Object SessionId -In $sessions.SessionId) | Should -BeNullOrEmpty
            $sessions[1..3].Error | ForEach-Object {
                $_ | Should -Match '^Stopped because pester-01 \(7E:57:50:00:00:01\) failed \(DeviceRejectedRequest\) and its error stopped the pipeline \(-ErrorAction Stop\); '
            }
            $sessions[3].Error | Should -Match 'nothing was sent\.$'
            $fleet.Transport.Devices.RunningVersion | Should -Be @('1.0.0', '1.0.0', '1.0.0', '1.0.0')
        }

        It 'ends every session as Cancelled by Ctrl+C, so Get-OtaProgress -Running -Wait returns' {
            $fleet = New-TestFleet -Faults @($null, $null, $null)
            $fleet.Transport.Speed = 1
            $since = [datetimeoffset]::Now
            $shell = [PowerShell]::Create()
            $null = $shell.AddScript({
                    param($module, $devices, $path)
                    Import-Module $module
                    $devices | Invoke-Esp32Ota -Path $path -Force -ThrottleLimit 1
                }).AddArgument((Get-Module BleOta).Path).AddArgument($fleet.Devices).AddArgument((New-TestImage -Size 200000).FullName)
            $running = $shell.BeginInvoke()
            $deadline = (Get-Date).AddSeconds(20)
            while (-not $fleet.Transport.Devices[0].Flash.IsUpdating -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $fleet.Transport.Devices[0].Flash.IsUpdating | Should -BeTrue -Because 'the first update must be under way'

            $shell.Stop()   # what Ctrl+C does
            $null = $running
            $shell.Dispose()

            $sessions = Get-SessionSince $fleet $since
            $sessions.State | Should -Be @('Cancelled', 'Cancelled', 'Cancelled')
            $sessions[0].Error | Should -Be 'Stopped by the user (Ctrl+C); the device keeps its current firmware.'
            $sessions[1..2].Error | Should -Be @('Stopped by the user (Ctrl+C); nothing was sent.', 'Stopped by the user (Ctrl+C); nothing was sent.')
            Get-OtaProgress -Id $sessions.SessionId -Running -Wait | Should -BeNullOrEmpty
            $fleet.Transport.Devices.RunningVersion | Should -Be @('1.0.0', '1.0.0', '1.0.0')
        }
    }

    Context 'with devices on two adapters' {
        It 'updates -ThrottleLimit devices at once through each adapter, each adapter''s in input order' {
            $hci0 = New-TestFleet -Faults @($null, $null) -Adapter hci0
            $hci1 = New-TestFleet -Faults @($null, $null) -Adapter hci1
            $hci0.Transport.Speed = 1   # real time: each update takes a few seconds, so what runs together can be watched
            $hci1.Transport.Speed = 1
            $devices = $hci0.Devices[0], $hci1.Devices[0], $hci0.Devices[1], $hci1.Devices[1]
            $adapterOf = @{}
            $devices | ForEach-Object { $adapterOf[$_.Address] = $_.Adapter }
            $since = [datetimeoffset]::Now
            $shell = [PowerShell]::Create()
            $null = $shell.AddScript({
                    param($module, $devices, $path)
                    Import-Module $module
                    $devices | Invoke-Esp32Ota -Path $path -Force -PassThru -ThrottleLimit 1
                }).AddArgument((Get-Module BleOta).Path).AddArgument($devices).AddArgument((New-TestImage -Version '12.1.0' -Size 100000).FullName)
            $running = $shell.BeginInvoke()

            # Watch Get-OtaProgress until both adapters update at once; no adapter may ever run two.
            $busy = 'Connecting', 'Negotiating', 'Transferring', 'Finishing'
            $bothAtOnce = $false
            $deadline = (Get-Date).AddSeconds(60)
            while (-not $running.IsCompleted -and -not $bothAtOnce -and (Get-Date) -lt $deadline) {
                $active = @(Get-OtaProgress | Where-Object { $adapterOf.ContainsKey($_.Address) -and $_.StartedAt -ge $since -and $_.State -in $busy })
                $perAdapter = $active | Group-Object { $adapterOf[$_.Address] }
                $perAdapter | ForEach-Object { $_.Count | Should -BeLessOrEqual 1 -Because "$($_.Name) runs $($_.Group.Device -join ', ')" }
                $bothAtOnce = @($perAdapter).Count -eq 2
                Start-Sleep -Milliseconds 20
            }
            $results = $shell.EndInvoke($running)
            $shell.Dispose()

            $bothAtOnce | Should -BeTrue -Because 'each adapter has a slot of its own'
            $results.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded', 'Succeeded')
            $order = @($results.Address)
            $order.IndexOf($hci0.Devices[0].Address) | Should -BeLessThan $order.IndexOf($hci0.Devices[1].Address)
            $order.IndexOf($hci1.Devices[0].Address) | Should -BeLessThan $order.IndexOf($hci1.Devices[1].Address)
        }
    }

    Context 'binding by property name' {
        BeforeAll {
            $null = Find-Esp32Device -Simulated 3 -SimulationSpeed 0
        }

        It 'updates the devices of a CSV inventory piped from Import-Csv, named as in the fleet' {
            $inventory = Join-Path $TestDrive 'inventory.csv'
            @('Name,Address,Site', 'esp32-sim-01,5A:1D:0E:00:00:01,north', 'esp32-sim-02,5A:1D:0E:00:00:02,south') | Set-Content $inventory
            $image = New-TestImage -Version '11.1.0'

            $results = Import-Csv $inventory | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

            $results.Device | Sort-Object | Should -Be @('esp32-sim-01', 'esp32-sim-02')
            $results.Status | Should -Be @('Succeeded', 'Succeeded')
            ([BleOta.Transport.Simulated.SimulatedTransport]::Shared.Devices | Where-Object Name -In 'esp32-sim-01', 'esp32-sim-02').RunningVersion | Should -Be @('11.1.0', '11.1.0')
        }

        It 'refuses the row with a malformed address at binding and updates the others' {
            $inventory = Join-Path $TestDrive 'typo.csv'
            @('Name,Address', 'esp32-sim-01,5A:1D:0E:00:00:01', 'typo,not-an-address', 'esp32-sim-03,5A:1D:0E:00:00:03') | Set-Content $inventory

            $results = Import-Csv $inventory | Invoke-Esp32Ota -Path (New-TestImage -Version '11.2.0').FullName -Force -PassThru -ErrorVariable problems -ErrorAction SilentlyContinue

            $results.Device | Sort-Object | Should -Be @('esp32-sim-01', 'esp32-sim-03')
            $problems.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -Be 'ParameterArgumentValidationError,BleOta.InvokeEsp32Ota'
            $problems[0].Exception.Message | Should -Match "'not-an-address' is not a Bluetooth address\. Write six hex bytes separated by colons, such as 24:0A:C4:12:34:56"
        }

        It 'refuses a malformed -Address before touching any radio' {
            { Invoke-Esp32Ota -Address 'not-an-address' -Path (New-TestImage).FullName -Force -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,BleOta.InvokeEsp32Ota' -ExpectedMessage "*'not-an-address' is not a Bluetooth address*"
        }

        It 'updates devices read back with Import-Clixml, as remoting returns them' {
            $saved = Join-Path $TestDrive 'devices.xml'
            Find-Esp32Device -Simulated 3 -SimulationSpeed 0 -Name 'esp32-sim-0[23]' | Export-Clixml $saved

            $results = Import-Clixml $saved | Invoke-Esp32Ota -Path (New-TestImage -Version '11.3.0').FullName -Force -PassThru

            $results.Device | Sort-Object | Should -Be @('esp32-sim-02', 'esp32-sim-03')
            $results.VersionAfter | Should -Be @('11.3.0', '11.3.0')
        }

        It 'takes the image from Get-Esp32Image' {
            $results = Get-Esp32Image -LiteralPath (New-TestImage -Version '11.4.0' -Name 'checked [1].bin').FullName |
                Invoke-Esp32Ota -Address 5A:1D:0E:00:00:01 -Force -PassThru

            $results.Device | Should -Be 'esp32-sim-01'
            $results.VersionAfter | Should -Be '11.4.0'
        }
    }

    Context 'the help''s retry example' {
        It 'retries every failed device when two or more failed, in a fresh session' {
            $page = Get-Content (Join-Path $PSScriptRoot '../../docs/help/Invoke-Esp32Ota.md') -Raw
            $page -match '(?s)### Example: Retry only the devices that failed\s+```powershell\s*\n(.*?)\n```' | Should -BeTrue
            $example = $Matches[1]
            $null = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'build')
            $null = New-TestImage -Name 'build/app.bin' -Version '15.0.0'

            # A fresh process, as an admin's console: two of its three simulated devices fail their first flash write.
            $job = Start-Job -ArgumentList (Get-Module BleOta).Path, $TestDrive.ToString(), $example -ScriptBlock {
                param($module, $folder, $example)
                Import-Module $module
                Set-Location $folder
                $PSDefaultParameterValues['Find-Esp32Device:SimulationSpeed'] = 0
                $null = [Reflection.Assembly]::LoadFrom((Join-Path (Split-Path $module) 'BleOta.Transport.Simulated.dll'))
                $faulty = [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ Faults = [BleOta.Transport.Simulated.DeviceFaults]@{ FailFlashWriteAt = 4096 } }
                foreach ($number in 1, 2) {
                    $null = [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Add([BleOta.Transport.Simulated.SimulatedDevice]::new(
                            "5A:1D:0E:00:00:0$number", "esp32-sim-0$number", [BleOta.Transport.Simulated.SampleImages]::Factory, $faulty))
                }
                & ([scriptblock]::Create($example)) | Select-Object Device, Status
                [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Devices | Select-Object Name, RunningVersion
            }
            $output = $job | Wait-Job -Timeout 120 | Receive-Job -ErrorVariable problems -ErrorAction SilentlyContinue
            $job | Remove-Job -Force

            $problems | Should -BeNullOrEmpty
            $retried = $output | Where-Object { $_.PSObject.Properties['Status'] }
            $retried.Device | Sort-Object | Should -Be @('esp32-sim-01', 'esp32-sim-02')
            $retried.Status | Should -Be @('Succeeded', 'Succeeded')
            ($output | Where-Object { $_.PSObject.Properties['RunningVersion'] }).RunningVersion | Should -Be @('15.0.0', '15.0.0', '15.0.0')
        }
    }

    Context 'output' {
        It 'shows long names and versions whole in the table, and why a row failed' {
            $transport = [BleOta.Transport.Simulated.SimulatedTransport]::new(0)
            $options = [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ Faults = [BleOta.Transport.Simulated.DeviceFaults]@{ SelfTestFails = $true } }
            $null = $transport.Add([BleOta.Transport.Simulated.SimulatedDevice]::new('7E:57:50:00:01:01', 'greenhouse-north-01', [BleOta.Transport.Simulated.SampleImages]::Factory, $null))
            $null = $transport.Add([BleOta.Transport.Simulated.SimulatedDevice]::new('7E:57:50:00:01:02', 'greenhouse-north-02', [BleOta.Transport.Simulated.SampleImages]::Factory, $options))
            $devices = $transport.Devices | ForEach-Object { [BleOta.Engine.Discovery.Esp32Device]::new($_.Address, $_.Name, -50, $transport) }

            $results = $devices | Invoke-Esp32Ota -Path (New-TestImage -Version 'qa-test-build-2026-11-26').FullName -Verify -Force -PassThru -ErrorAction SilentlyContinue
            $table = $results | Format-Table | Out-String -Width 250

            $table | Should -Match 'greenhouse-north-01\s+Succeeded\s+1\.0\.0\s+qa-test-build-2026-11-26'
            $table | Should -Match 'greenhouse-north-02\s+Failed\s+1\.0\.0\s+1\.0\.0 .*DeviceRolledBack: The device restarted but runs 1\.0\.0, not qa-test-build-2026-11-26'
        }

        It 'shows the device name for -Address when the fleet knows it' {
            $null = Find-Esp32Device -Simulated 3 -SimulationSpeed 0

            $result = Invoke-Esp32Ota -Address 5A:1D:0E:00:00:03 -Path (New-TestImage -Version '11.5.0').FullName -Force -PassThru

            $result.Device | Should -Be 'esp32-sim-03'
        }

        It 'writes ImageNotFound once for a whole piped fleet' {
            $fleet = New-TestFleet -Faults @($null, $null, $null)

            $fleet.Devices | Invoke-Esp32Ota -Path (Join-Path $TestDrive 'missing.bin') -Force -ErrorVariable problems -ErrorAction SilentlyContinue

            $problems.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,BleOta.InvokeEsp32Ota'
        }

        It 'ends a run with one line: updated, skipped, failed, time and data' {
            $fleet = New-TestFleet -Faults @($null, $null, @{ RejectRequest = $true })
            $image = New-TestImage -Version '11.6.0'
            $null = $fleet.Devices[0] | Invoke-Esp32Ota -Path $image.FullName -Force

            $null = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -SkipIfCurrent -Force -InformationVariable summary -ErrorAction SilentlyContinue

            @($summary).Count | Should -Be 1
            $summary[0].Tags | Should -Contain 'PSHOST'
            "$summary" | Should -Match '^3 devices in \d+:\d\d: 1 updated, 1 skipped, 1 failed; 29\.3 kB sent\.$'
        }

        It 'gives results that Export-Csv and ConvertTo-Json turn into a report' {
            $fleet = New-TestFleet -Faults @($null, @{ RejectRequest = $true })
            # Results come as devices finish: sorted, the report reads pester-01 (updated) then pester-02 (refused).
            $results = $fleet.Devices | Invoke-Esp32Ota -Path (New-TestImage -Version '11.7.0').FullName -Force -PassThru -ErrorAction SilentlyContinue |
                Sort-Object Device
            $csv = Join-Path $TestDrive 'report.csv'

            $results | Export-Csv $csv
            $rows = Import-Csv $csv
            $json = $results | ConvertTo-Json | ConvertFrom-Json

            $rows[0].PSObject.Properties.Name | Select-Object -First 8 | Should -Be @('Device', 'Address', 'Status', 'VersionBefore', 'VersionAfter', 'Verified', 'ErrorId', 'Error')
            $rows.Status | Should -Be @('Succeeded', 'Failed')
            $rows[1].ErrorId | Should -Be 'DeviceRejectedRequest'
            $json.Status | Should -Be @('Succeeded', 'Failed')
            $json.Protocol | Should -Be @('V2', 'V2')
            $json[1].ErrorId | Should -Be 'DeviceRejectedRequest'
            $json[0].Seconds | Should -BeOfType [double]
            $json[0].Seconds | Should -BeGreaterThan 0
        }
    }

    Context '-SkipIfCurrent' {
        It 'leaves devices that already run the image alone and updates the others' {
            $fleet = New-TestFleet -Faults @($null, $null, $null)
            $image = New-TestImage -Version '12.0.0'
            $null = $fleet.Devices[0, 1] | Invoke-Esp32Ota -Path $image.FullName -Force
            $boots = $fleet.Transport.Devices.BootCount

            $results = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -SkipIfCurrent -Force -PassThru

            $results.Status | Sort-Object | Should -Be @('Skipped', 'Skipped', 'Succeeded')
            ($results | Where-Object Status -EQ 'Skipped').VersionAfter | Should -Be @('12.0.0', '12.0.0')
            $fleet.Transport.Devices.BootCount | Should -Be @($boots[0], $boots[1], ($boots[2] + 1))
            $fleet.Transport.Devices.RunningVersion | Should -Be @('12.0.0', '12.0.0', '12.0.0')
        }

        It 'updates a device with the tutorial firmware, which cannot say what it runs' {
            $fleet = New-TestFleet -Firmware Tutorial

            $result = $fleet.Devices | Invoke-Esp32Ota -Path (New-TestImage -Version '1.0.0').FullName -SkipIfCurrent -Force -PassThru -Verbose 4>&1 |
                Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] -or $_.Message -match 'SkipIfCurrent' }

            ($result | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Match 'cannot tell what this device runs'
            ($result | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Status | Should -Be 'Succeeded'
        }
    }
}
