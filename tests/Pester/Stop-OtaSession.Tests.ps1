Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Stop-OtaSession' -Tag 'CI' {
    It 'stops one device''s update from another runspace while the pipeline updates the others' {
        $fleet = New-TestFleet -Faults @($null, $null, $null)
        $fleet.Transport.Speed = 1   # real time, so the updates are still running when we stop one
        $image = New-TestImage -Version '14.0.0' -Size 150000
        $job = Start-ThreadJob -ArgumentList (Get-Module BleOta).Path, $fleet.Devices, $image.FullName -ScriptBlock {
            param($module, $devices, $path)
            Import-Module $module
            $devices | Invoke-Esp32Ota -Path $path -Force -PassThru -ThrottleLimit 3
        }
        $deadline = (Get-Date).AddSeconds(20)
        do { $running = Get-OtaProgress -Device 'pester-02' -Running | Where-Object State -EQ 'Transferring'; Start-Sleep -Milliseconds 50 } until ($running -or (Get-Date) -gt $deadline)
        $running | Should -Not -BeNullOrEmpty

        $stopped = $running | Stop-OtaSession -PassThru -Confirm:$false
        $results = $job | Wait-Job -Timeout 60 | Receive-Job
        $job | Remove-Job -Force

        $stopped.Device | Should -Be 'pester-02'
        $results = $results | Sort-Object Device
        $results.Status | Should -Be @('Succeeded', 'Cancelled', 'Succeeded')
        $results[1].Error | Should -Match '^Stopped with Stop-OtaSession by .+; the device keeps its current firmware\.$'
        $fleet.Transport.Devices.RunningVersion | Should -Be @('14.0.0', '1.0.0', '14.0.0')
        $fleet.Transport.Devices[1].Flash.IsUpdating | Should -BeFalse
    }

    It 'gives SessionNotFound for a device with no running session' {
        Stop-OtaSession -Device 'no-such-device' -ErrorVariable problems -ErrorAction SilentlyContinue

        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'SessionNotFound,BleOta.StopOtaSession'
        $problems[0].Exception.Message | Should -Match 'Get-OtaProgress -Running lists the sessions that can be stopped'
    }

    It 'stops nothing with -WhatIf' {
        $fleet = New-TestFleet
        $fleet.Transport.Speed = 1
        $job = Start-ThreadJob -ArgumentList (Get-Module BleOta).Path, $fleet.Devices, (New-TestImage -Size 100000).FullName -ScriptBlock {
            param($module, $devices, $path)
            Import-Module $module
            $devices | Invoke-Esp32Ota -Path $path -Force -PassThru
        }
        $deadline = (Get-Date).AddSeconds(20)
        do { $running = Get-OtaProgress -Device 'pester-01' -Running; Start-Sleep -Milliseconds 50 } until ($running -or (Get-Date) -gt $deadline)

        $running | Stop-OtaSession -WhatIf
        $result = $job | Wait-Job -Timeout 60 | Receive-Job
        $job | Remove-Job -Force

        $result.Status | Should -Be 'Succeeded'
    }
}
