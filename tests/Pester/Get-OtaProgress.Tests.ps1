Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Get-OtaProgress' -Tag 'CI' {
    It 'lists finished sessions with their final state' {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '8.0.0'
        $result = $fleet.Devices | Invoke-Esp32Ota -Path $image.FullName -Force -PassThru

        $snapshot = Get-OtaProgress -Id $result.SessionId

        $snapshot.State | Should -Be 'Succeeded'
        $snapshot.PercentComplete | Should -Be 100
        $snapshot.PacketsSent | Should -Be $snapshot.TotalPackets
    }

    It 'sees a running update from another runspace, and -Wait streams it to the end' {
        $fleet = New-TestFleet
        $fleet.Transport.Speed = 1   # real time, so the update is still running when we look
        $image = New-TestImage -Size 200000
        $module = (Get-Module BleOta).Path

        $job = Start-ThreadJob -ScriptBlock {
            param($module, $devices, $path)
            Import-Module $module
            $devices | Invoke-Esp32Ota -Path $path -Force -PassThru
        } -ArgumentList $module, $fleet.Devices, $image.FullName

        $deadline = (Get-Date).AddSeconds(20)
        do { $running = Get-OtaProgress -Device 'pester-01' -Running; Start-Sleep -Milliseconds 100 } until ($running -or (Get-Date) -gt $deadline)
        $running | Should -Not -BeNullOrEmpty
        $states = Get-OtaProgress -Id $running[0].SessionId -Wait

        $states[-1].State | Should -Be 'Succeeded'
        ($job | Wait-Job -Timeout 60 | Receive-Job).Status | Should -Be 'Succeeded'
        $job | Remove-Job -Force
    }

    It 'sees updates that run in ForEach-Object -Parallel, filtered by device' {
        $fleet = New-TestFleet -Faults @($null, $null)
        $image = New-TestImage -Version '8.1.0'
        $module = (Get-Module BleOta).Path

        $results = $fleet.Devices | ForEach-Object -Parallel {
            Import-Module $using:module
            $_ | Invoke-Esp32Ota -Path $using:image.FullName -Force -PassThru
        } -ThrottleLimit 2

        $results.Status | Should -Be @('Succeeded', 'Succeeded')
        $seen = Get-OtaProgress -Device 'pester-0[12]' | Where-Object SessionId -In $results.SessionId
        @($seen).Count | Should -Be 2
        $seen.State | Should -Be @('Succeeded', 'Succeeded')
        (Get-OtaProgress -Device $fleet.Devices[1].Address | Where-Object SessionId -In $results.SessionId).Device | Should -Be 'pester-02'
    }
}
