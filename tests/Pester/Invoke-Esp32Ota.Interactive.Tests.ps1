Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Invoke-Esp32Ota at an interactive prompt' -Tag 'CI' {
    AfterAll {
        [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Speed = 0   # the scan below ran the shared fleet in real time
    }

    It 'updates every device a scan found, however long the admin takes to answer the confirmation' {
        $null = Find-Esp32Device -Simulated 6 -SimulationSpeed 0
        $image = New-TestImage -Version '10.1.0'
        # The admin answers "Yes to All" 1.5 s after the first prompt: longer than the 1 s scan window.
        $admin = New-AnsweringHost -Answer 'Yes to All' -DelayMs 1500

        $shell = Invoke-InHost -PromptHost $admin -ArgumentList $image.FullName -Script {
            param($path)
            Find-Esp32Device -Simulated 6 -SimulationSpeed 1 -Name 'esp32-sim-0[1-6]' -TimeoutSec 1 | Invoke-Esp32Ota -Path $path -PassThru
        }

        $admin.Prompts.Count | Should -Be 1
        $admin.Prompts[0] | Should -Match 'Replace the firmware with pester-app 10\.1\.0'
        $shell.Output.Device | Sort-Object | Should -Be @('esp32-sim-01', 'esp32-sim-02', 'esp32-sim-03', 'esp32-sim-04', 'esp32-sim-05', 'esp32-sim-06')
        $shell.Output.Status | Sort-Object -Unique | Should -Be 'Succeeded'
    }

    It '-Force does not override <How>: nothing is sent' -ForEach @(
        @{ How = '-WhatIf'; Run = { param($devices, $path) $devices | Invoke-Esp32Ota -Path $path -Force -WhatIf } }
        @{ How = '$WhatIfPreference'; Run = { param($devices, $path) $WhatIfPreference = $true; $devices | Invoke-Esp32Ota -Path $path -Force } }
    ) {
        $fleet = New-TestFleet
        $image = New-TestImage -Version '10.2.0'

        & $Run $fleet.Devices $image.FullName

        $fleet.Transport.Devices[0].BootCount | Should -Be 1
        $fleet.Transport.Devices[0].Flash.Written | Should -Be 0
    }

    It 'with -Force and an explicit -Confirm still asks' {
        $fleet = New-TestFleet
        $admin = New-AnsweringHost -Answer 'No'

        $null = Invoke-InHost -PromptHost $admin -ArgumentList $fleet.Devices, (New-TestImage).FullName -Script {
            param($devices, $path)
            $devices | Invoke-Esp32Ota -Path $path -Force -Confirm
        }

        $admin.Prompts.Count | Should -Be 1
        $fleet.Transport.Devices[0].BootCount | Should -Be 1
    }

    It 'with -Debug asks nothing and shows each step and the link details on the debug stream' {
        $fleet = New-TestFleet -Faults @($null, $null)
        $admin = New-AnsweringHost -Answer 'Yes'

        $shell = Invoke-InHost -PromptHost $admin -ArgumentList $fleet.Devices, (New-TestImage -Version '10.3.0').FullName -Script {
            param($devices, $path)
            $devices | Invoke-Esp32Ota -Path $path -Force -Debug -PassThru
        }

        $admin.Prompts | Should -BeNullOrEmpty
        $shell.Output.Status | Should -Be @('Succeeded', 'Succeeded')
        $debug = $shell.Streams.Debug.Message -join "`n"
        $debug | Should -Match 'pester-01 \(7E:57:50:00:00:01\): Connecting over the Simulated transport'
        $debug | Should -Match 'pester-02 \(7E:57:50:00:00:02\): Asked for an ATT MTU of 517; the link settled on \d+'
        $debug | Should -Match 'session [0-9a-f-]+ queued'
    }

    It 'with -Debug in pwsh whose standard input is not a console, runs to the end without a prompt or an exception' {
        $image = New-TestImage -Version '10.4.0'
        $pwsh = Get-PwshCommand
        $script = "Import-Module '$((Get-Module BleOta).Path)'; Find-Esp32Device -Simulated 2 -SimulationSpeed 0 | Invoke-Esp32Ota -Path '$($image.FullName)' -Force -Debug -PassThru | ForEach-Object Status"
        $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($argument in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-Command', $script)) { $start.ArgumentList.Add($argument) }
        $start.RedirectStandardInput = $true    # as in cron, CI or `... | pwsh`: stdin is a pipe that is already at its end
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true

        $process = [Diagnostics.Process]::Start($start)
        $process.StandardInput.Close()
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        $process.WaitForExit(60000) | Should -BeTrue

        $stderr.Result | Should -Not -Match 'NullReferenceException'
        $stdout | Should -Not -Match 'Continue with this operation'
        ($stdout -split "`n" | Where-Object { $_ -match '^Succeeded' }).Count | Should -Be 2 -Because $stdout
        $process.ExitCode | Should -Be 0
    }
}
