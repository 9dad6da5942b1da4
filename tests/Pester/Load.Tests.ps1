Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest

    # Updates a simulated fleet in a fresh pwsh and reports the process's peak working set, so runs do not share a peak.
    function Measure-FleetUpdate([int] $Count) {
        $module = (Get-Module BleOta).Path
        $image = New-TestImage -Version '7.0.0' -Size 120000 -Name "load-$Count.bin"
        $script = "Import-Module '$module'; " +
            "`$r = Find-Esp32Device -Simulated $Count -SimulationSpeed 0 | Invoke-Esp32Ota -Path '$($image.FullName)' -ThrottleLimit 8 -Force -PassThru; " +
            "[GC]::Collect(); '{0} {1}' -f @(`$r | Where-Object Status -EQ 'Succeeded').Count, [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64"
        $line = & dotnet pwsh -NoProfile -NonInteractive -Command $script | Select-Object -Last 1
        $succeeded, $peak = "$line".Split(' ')
        [pscustomobject]@{ Succeeded = [int]$succeeded; PeakMB = [math]::Round([long]$peak / 1MB, 1) }
    }
}

Describe 'Invoke-Esp32Ota on 32 devices with -ThrottleLimit 8' -Tag 'CI' {
    It 'updates every healthy device, keeps one failure and one lost link to their own devices, and draws one bar per device' {
        $faults = @(1..32 | ForEach-Object { $null })
        $faults[4] = @{ RejectRequest = $true }
        $faults[20] = @{ DisconnectAfterBytes = 30000 }
        $fleet = New-TestFleet -Faults $faults
        $image = New-TestImage -Version '7.1.0' -Size 60000

        $shell = [PowerShell]::Create()
        $null = $shell.AddScript({
                param($module, $devices, $path)
                Import-Module $module
                $devices | Invoke-Esp32Ota -Path $path -ThrottleLimit 8 -Force -PassThru -ErrorAction Continue
            }).AddArgument((Get-Module BleOta).Path).AddArgument($fleet.Devices).AddArgument($image.FullName)
        $results = $shell.Invoke()
        $errors = @($shell.Streams.Error)
        $children = @($shell.Streams.Progress | Where-Object ParentActivityId -EQ 1)
        $shell.Dispose()

        $results.Count | Should -Be 32
        ($results | Where-Object Status -EQ 'Succeeded').Count | Should -Be 30
        $errors.FullyQualifiedErrorId | Sort-Object | Should -Be @('DeviceDisconnected,BleOta.InvokeEsp32Ota', 'DeviceRejectedRequest,BleOta.InvokeEsp32Ota')
        ($errors.TargetObject.Name | Sort-Object) | Should -Be @('pester-05', 'pester-21')
        foreach ($device in $fleet.Transport.Devices) {
            $expected = if ($device.Name -in 'pester-05', 'pester-21') { '1.0.0' } else { '7.1.0' }
            $device.RunningVersion | Should -Be $expected -Because "$($device.Name) is updated on its own"
        }
        foreach ($result in $results) { $result.Address | Should -Be ($fleet.Devices | Where-Object Name -EQ $result.Device).Address }
        ($children.ActivityId | Sort-Object -Unique).Count | Should -Be 32
    }

    It 'keeps memory bounded: 32 devices cost little beyond their simulated flash' {
        $one = Measure-FleetUpdate 1
        $many = Measure-FleetUpdate 32
        # Each simulated device holds two OTA slots of flash in memory for the whole process: the device model, not the engine.
        $flashMB = 31 * 2 * [BleOta.Transport.Simulated.SimulatedDevice]::DefaultSlotSize / 1MB
        $engineMB = $many.PeakMB - $one.PeakMB - $flashMB
        Write-Host ("peak working set: 1 device {0} MB, 32 devices (-ThrottleLimit 8) {1} MB, ratio {2:0.00}; 31 more devices' simulated flash {3:0} MB, the rest {4:0.0} MB" -f
            $one.PeakMB, $many.PeakMB, ($many.PeakMB / $one.PeakMB), $flashMB, $engineMB)

        $one.Succeeded | Should -Be 1
        $many.Succeeded | Should -Be 32
        # What is left is 31 more sessions, 8 at a time: a generous 64 MB (2 MB a session) still fails if sessions kept
        # their images, buffers or per-packet progress after finishing, or ran more than 8 at once.
        $engineMB | Should -BeLessThan 64
    }
}
