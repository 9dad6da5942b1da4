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

    Context '-SimulatedTutorial' {
        BeforeAll {
            # Tutorial devices would join the process-wide fleet the other suites count: each case runs in a fresh pwsh.
            function Invoke-FreshShell([string] $Script) {
                $module = (Get-Module BleOta).Path
                # Only the objects go to stdout: Invoke-Esp32Ota's summary line (the information stream, like Write-Host) does not.
                $json = & dotnet pwsh -NoProfile -NonInteractive -Command "Import-Module '$module'; & { $Script } 6>`$null | ConvertTo-Json -Depth 3 -Compress -EnumsAsStrings"
                @($json | ConvertFrom-Json)
            }
        }

        It 'adds devices that advertise only the name esp32 and are found by it' {
            $found = Invoke-FreshShell 'Find-Esp32Device -SimulatedTutorial 2 -SimulationSpeed 0 | Select-Object Name, Address, AdvertisesOta'

            $found.Count | Should -Be 2
            $found.Name | Sort-Object -Unique | Should -Be 'esp32'
            $found.AdvertisesOta | Sort-Object -Unique | Should -BeFalse
            $found | ForEach-Object Address | Should -Be @('5A:1D:7E:00:00:01', '5A:1D:7E:00:00:02')
        }

        It 'mixes them with BleOta devices, and Auto updates each with the protocol it speaks' {
            $image = New-TestImage -Version '4.4.0'
            $results = Invoke-FreshShell ("Find-Esp32Device -Simulated 2 -SimulatedTutorial 1 -SimulationSpeed 0 | " +
                "Invoke-Esp32Ota -Path '$($image.FullName)' -Force -PassThru | Select-Object Device, Status, Protocol, VersionAfter")

            $results.Count | Should -Be 3
            $results.Status | Sort-Object -Unique | Should -Be 'Succeeded'
            ($results | Where-Object Device -EQ 'esp32').Protocol | Should -Be 'V1'
            ($results | Where-Object Device -Like 'esp32-sim-*').Protocol | Sort-Object -Unique | Should -Be 'V2'
            $results.VersionAfter | Sort-Object -Unique | Should -Be '4.4.0'
        }

        It 'lets Invoke-Esp32Ota -Name esp32 find them with a scan' {
            $image = New-TestImage -Version '4.5.0'
            $results = Invoke-FreshShell ("`$null = Find-Esp32Device -SimulatedTutorial 1 -SimulationSpeed 0; " +
                "Invoke-Esp32Ota -Name esp32 -Path '$($image.FullName)' -Force -PassThru | Select-Object Address, Status")

            $results | ForEach-Object Address | Should -Be '5A:1D:7E:00:00:01'
            $results.Status | Should -Be 'Succeeded'
        }
    }

    It 'refuses the other platform''s radio with TransportUnavailable and names -Simulated' {
        $other = if ($IsWindows) { 'BlueZ' } else { 'WinRT' }
        { Find-Esp32Device -Transport $other -ErrorAction Stop } | Should -Throw -ErrorId 'TransportUnavailable,BleOta.FindEsp32Device' -ExpectedMessage '*-Simulated*'
    }

    It 'carries the Linux radio, has the Windows radio in the BleOta.WinRT module beside it, and never loads the other platform''s' {
        $dir = Split-Path (Get-Module BleOta).Path
        Test-Path (Join-Path $dir 'BleOta.Transport.BlueZ.dll') | Should -BeTrue
        Test-Path (Join-Path $dir 'BleOta.Transport.WinRT.dll') | Should -BeFalse -Because 'Linux and macOS installs carry no Windows-only assembly'
        Test-Path (Join-Path $dir '../BleOta.WinRT/BleOta.Transport.WinRT.dll') | Should -BeTrue
        $null = Find-Esp32Device -Simulated 1 -SimulationSpeed 0
        $other = if ($IsWindows) { 'BleOta.Transport.BlueZ' } else { 'BleOta.Transport.WinRT' }
        [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name | Should -Not -Contain $other
    }

    It 'never loads WinRT on Linux, even when asked for it' -Skip:(-not $IsLinux) {
        { Find-Esp32Device -Transport WinRT -ErrorAction Stop } | Should -Throw -ErrorId 'TransportUnavailable,BleOta.FindEsp32Device'
        [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name | Should -Not -Contain 'BleOta.Transport.WinRT'
    }

    It 'fails with TransportUnavailable and a BlueZ hint when the bus has no bluetoothd' -Skip:(-not $IsLinux) {
        $env:BLEOTA_BLUEZ_BUS = 'unix:path=/nonexistent/bleota-pester-bus'
        try {
            { Find-Esp32Device -Transport BlueZ -TimeoutSec 1 -ErrorAction Stop } | Should -Throw -ErrorId 'TransportUnavailable,BleOta.FindEsp32Device' -ExpectedMessage '*D-Bus*'
        }
        finally { Remove-Item Env:BLEOTA_BLUEZ_BUS }
    }

    Context '-Adapter' {
        It 'is offered by <Command> only where a radio is used: <Sets>' -ForEach @(
            @{ Command = 'Find-Esp32Device'; Sets = @('Radio') }
            @{ Command = 'Invoke-Esp32Ota'; Sets = @('AddressLiteralPath', 'AddressPath', 'NameLiteralPath', 'NamePath') }
            @{ Command = 'Get-Esp32DeviceInfo'; Sets = @('Address', 'Name') }
        ) {
            (Get-Command $Command).Parameters['Adapter'].ParameterSets.Keys | Sort-Object | Should -Be $Sets
            (Get-Command $Command).Parameters['Adapter'].ParameterType | Should -Be ([string[]])
        }

        It 'cannot be given with -Simulated' {
            { Find-Esp32Device -Simulated 1 -Adapter hci1 -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet,BleOta.FindEsp32Device'
        }

        It 'is refused with AdapterNotSupported by <Command> on WinRT, which always uses the default adapter, before any radio is loaded' -ForEach @(
            @{ Command = 'Find-Esp32Device'; Arguments = @{} }
            @{ Command = 'Invoke-Esp32Ota'; Arguments = @{ Address = '24:0A:C4:99:00:01'; Force = $true } }
            @{ Command = 'Get-Esp32DeviceInfo'; Arguments = @{ Address = '24:0A:C4:99:00:01' } }
        ) {
            if ($Command -eq 'Invoke-Esp32Ota') { $Arguments.Path = (New-TestImage).FullName }
            $loadedBefore = [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -contains 'BleOta.Transport.WinRT'
            $id = 'AdapterNotSupported,BleOta.' + ($Command -replace '-', '')
            $problem = { & $Command @Arguments -Transport WinRT -Adapter hci1 -ErrorAction Stop } | Should -Throw -ErrorId $id -PassThru
            $problem.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $problem.Exception.Message | Should -Be ('-Adapter chooses a BlueZ adapter (hci0, hci1, ...), but this command uses the WinRT transport, which always uses ' +
                'the default Bluetooth adapter Windows picks. Remove -Adapter, or use several adapters from Linux with BlueZ.')
            if (-not $loadedBefore) { [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name | Should -Not -Contain 'BleOta.Transport.WinRT' }
        }

        It 'fails with TransportUnavailable when BlueZ cannot be asked which adapters it has' -Skip:(-not $IsLinux) {
            $env:BLEOTA_BLUEZ_BUS = 'unix:path=/nonexistent/bleota-pester-bus'
            try {
                { Find-Esp32Device -Transport BlueZ -Adapter hci1 -ErrorAction Stop } |
                    Should -Throw -ErrorId 'TransportUnavailable,BleOta.FindEsp32Device' -ExpectedMessage '*Cannot reach the D-Bus system bus*'
            }
            finally { Remove-Item Env:BLEOTA_BLUEZ_BUS }
        }

        It 'completes nothing rather than failing where BlueZ cannot be asked' -Skip:(-not $IsLinux) {
            $env:BLEOTA_BLUEZ_BUS = 'unix:path=/nonexistent/bleota-pester-bus'
            try {
                $line = 'Find-Esp32Device -Transport BlueZ -Adapter '
                (TabExpansion2 $line $line.Length).CompletionMatches | Should -BeNullOrEmpty
            }
            finally { Remove-Item Env:BLEOTA_BLUEZ_BUS }
        }

        It 'shows in the table the adapter each device was found on' {
            $fleet = New-TestFleet -Adapter hci1
            $table = $fleet.Devices | Format-Table | Out-String
            $table | Should -Match 'Adapter'
            $table | Should -Match 'pester-01\s+7E:57:50:00:01:01\s+.*\s+Simulated\s+hci1'
        }
    }

    Context '-LinkProfile' {
        AfterAll {
            # The fleet is process-wide: put it back on the default profile for the suites that follow.
            $null = Find-Esp32Device -Simulated 1 -SimulationSpeed 0 -LinkProfile ([BleOta.Transport.Simulated.LinkProfile]::Default.Name)
        }

        It 'puts the simulated fleet on <Name>' -ForEach @(
            @{ Name = 'seed-macos' }, @{ Name = 'esp32-1m-dle' }, @{ Name = 'esp32s3-2m' }, @{ Name = 'esp32s3-2m-suspend' }, @{ Name = 'windows-default' }
        ) {
            $null = Find-Esp32Device -Simulated 2 -SimulationSpeed 0 -LinkProfile $Name
            [BleOta.Transport.Simulated.SimulatedTransport]::Shared.Devices.Options.Profile.Name | Sort-Object -Unique | Should -Be $Name
        }

        It 'sends 253-byte packets on seed-macos, whose firmware MTU is 256' {
            $image = New-TestImage -Size 20000
            $result = Find-Esp32Device -Simulated 1 -SimulationSpeed 0 -LinkProfile seed-macos -Name 'esp32-sim-01' |
                Invoke-Esp32Ota -Path $image.FullName -Protocol V1 -Force -PassThru   # v1: the whole write is image bytes
            $result.Status | Should -Be 'Succeeded'
            $result.Packets | Should -Be ([math]::Ceiling($image.Length / 253))
        }

        It 'completes profile names' {
            $line = 'Find-Esp32Device -Simulated 1 -LinkProfile '
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText |
                Should -Be @('seed-macos', 'esp32-1m-dle', 'esp32s3-2m', 'esp32s3-2m-suspend', 'windows-default')
        }

        It 'fails with UnknownLinkProfile and lists the profiles for an unknown name' {
            { Find-Esp32Device -Simulated 1 -SimulationSpeed 0 -LinkProfile android -ErrorAction Stop } |
                Should -Throw -ErrorId 'UnknownLinkProfile,BleOta.FindEsp32Device' -ExpectedMessage "*'android'*seed-macos, esp32-1m-dle, esp32s3-2m, esp32s3-2m-suspend, windows-default*"
        }
    }
}
