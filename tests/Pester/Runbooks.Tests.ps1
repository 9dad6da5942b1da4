Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
    $Runbooks = Join-Path $PSScriptRoot '../../docs/runbooks'
    $Shared = [BleOta.Transport.Simulated.SimulatedTransport]::Shared
    $Shared.Speed = 0

    function New-Inventory {
        # Devices in the process's simulated fleet (what -Address reaches), written as a CSV inventory.
        param([string] $Prefix, [int] $Count, [string[]] $Gateways = @())
        $rows = foreach ($number in 1..$Count) {
            $address = '{0}:00:00:{1:X2}' -f $Prefix, $number
            $name = 'rb-{0}-{1:D2}' -f ($Prefix -replace ':', ''), $number
            $device = [BleOta.Transport.Simulated.SimulatedDevice]::new($address, $name, [BleOta.Transport.Simulated.SampleImages]::Factory, $null)
            $null = $Shared.Add($device)
            $row = [ordered]@{ Name = $name; Address = $address }
            if ($Gateways) { $row.Gateway = $Gateways[($number - 1) % $Gateways.Count] }
            [pscustomobject]$row
        }
        $path = Join-Path $TestDrive "$($Prefix -replace ':', '').csv"
        $rows | Export-Csv $path -NoTypeInformation
        $path
    }

    function Lock-Device {
        # Another client holds the device, so an update cannot connect: a failure that clears when it lets go.
        param([string] $Address)
        $Shared.ConnectAsync($Address, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    }
}

Describe 'Update-FleetFromCsv.ps1 and Retry-FailedDevices.ps1' -Tag 'CI' {
    It 'updates the inventory, reports what changed, and the retry touches only the failed device' {
        $inventory = New-Inventory -Prefix 'CA:FE:01' -Count 3
        $image = New-TestImage -Version '5.0.0'
        $report = Join-Path $TestDrive 'report.csv'
        $held = Lock-Device 'CA:FE:01:00:00:02'

        $first = & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath $image.FullName -ExpectedVersion '5.0.0' -ReportPath $report
        $firstExit = $LASTEXITCODE

        $firstExit | Should -Be 1 -Because 'a device failed'
        $first.Status | Should -Be @('Succeeded', 'Failed', 'Succeeded')
        $first.Changed | Should -Be @($true, $false, $true)
        $first[0].VersionBefore | Should -Be '1.0.0'
        $first[0].VersionAfter | Should -Be '5.0.0'
        $first[0].ErrorId | Should -BeNullOrEmpty
        $first[1].ErrorId | Should -Be 'DeviceInUse'
        $first[1].Error | Should -Match 'connected to another client'
        (Import-Csv $report).Status | Should -Be @('Succeeded', 'Failed', 'Succeeded')

        $held.DisposeAsync().AsTask().Wait()
        $boots = ($Shared.Devices | Where-Object Address -Like 'CA:FE:01:*').BootCount
        $second = & (Join-Path $Runbooks 'Retry-FailedDevices.ps1') -ReportPath $report -ImagePath $image.FullName

        $LASTEXITCODE | Should -Be 0
        $second.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
        $second[1].Changed | Should -Be $true
        ($Shared.Devices | Where-Object Address -Like 'CA:FE:01:*').BootCount | Should -Be @($boots[0], ($boots[1] + 1), $boots[2])
        (Import-Csv $report).Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
    }

    It 'exits 1 when every device failed' {
        $inventory = New-Inventory -Prefix 'CA:FE:04' -Count 2
        $held = 'CA:FE:04:00:00:01', 'CA:FE:04:00:00:02' | ForEach-Object { Lock-Device $_ }
        try {
            $rows = & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath (New-TestImage -Version '5.1.0').FullName -ReportPath (Join-Path $TestDrive 'failed.csv')
            $exit = $LASTEXITCODE
        }
        finally { $held | ForEach-Object { $_.DisposeAsync().AsTask().Wait() } }

        $exit | Should -Be 1
        $rows.Status | Should -Be @('Failed', 'Failed')
    }

    It 'leaves devices that already run the image alone when run again, and exits 0' {
        $inventory = New-Inventory -Prefix 'CA:FE:05' -Count 2
        $image = New-TestImage -Version '5.2.0'
        $report = Join-Path $TestDrive 'again.csv'
        $null = & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath $image.FullName -ReportPath $report
        $boots = ($Shared.Devices | Where-Object Address -Like 'CA:FE:05:*').BootCount

        $again = & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath $image.FullName -ReportPath $report

        $LASTEXITCODE | Should -Be 0
        $again.Status | Should -Be @('Skipped', 'Skipped')
        $again.Changed | Should -Be @($false, $false)
        ($Shared.Devices | Where-Object Address -Like 'CA:FE:05:*').BootCount | Should -Be $boots
    }

    It 'refuses an inventory that lists a device twice, or a malformed address, before touching any device' -ForEach @(
        @{ Prefix = 'CA:FE:06'; Row = 'copy,CA:FE:06:00:00:01'; Message = '*lists these addresses more than once: CA:FE:06:00:00:01 (2 rows)*' }
        @{ Prefix = 'CA:FE:08'; Row = 'typo,CA:FE:08:00:00'; Message = "*row 3: 'CA:FE:08:00:00'*" }
    ) {
        $inventory = New-Inventory -Prefix $Prefix -Count 1
        Add-Content $inventory $Row
        $boots = ($Shared.Devices | Where-Object Address -EQ "$($Prefix):00:00:01").BootCount

        { & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath (New-TestImage).FullName -ReportPath (Join-Path $TestDrive 'dup.csv') } |
            Should -Throw $Message
        ($Shared.Devices | Where-Object Address -EQ "$($Prefix):00:00:01").BootCount | Should -Be $boots
    }

    It 'refuses an image of another version before touching any device' {
        $inventory = New-Inventory -Prefix 'CA:FE:02' -Count 1
        $image = New-TestImage -Version '5.0.1'

        { & (Join-Path $Runbooks 'Update-FleetFromCsv.ps1') -InventoryPath $inventory -ImagePath $image.FullName -ExpectedVersion '5.0.0' -ReportPath (Join-Path $TestDrive 'r.csv') } |
            Should -Throw '*is pester-app 5.0.1, not the expected 5.0.0*'
        ($Shared.Devices | Where-Object Address -EQ 'CA:FE:02:00:00:01').BootCount | Should -Be 1
    }
}

Describe 'Update-FleetViaGateways.ps1' -Tag 'CI' {
    BeforeAll {
        # No remoting endpoint here: each gateway is a separate local runspace (a thread job) that imports the module,
        # and its arguments go through the same serialization remoting uses.
        $modulePath = (Get-Module BleOta).Path
        Mock Invoke-Command -ParameterFilter { $AsJob } {
            Start-ThreadJob -ArgumentList $modulePath, $ComputerName[0], $ScriptBlock.ToString(), $ArgumentList -ScriptBlock {
                param($module, $gateway, $code, $arguments)
                Import-Module $module
                $delivered = @([System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($arguments, 3)))
                & ([scriptblock]::Create($code)) @delivered | Add-Member -NotePropertyName PSComputerName -NotePropertyValue $gateway -PassThru
            }
        }
    }

    It 'sends each gateway its own devices and gathers one report with the gateway of each row' {
        $inventory = New-Inventory -Prefix 'CA:FE:03' -Count 4 -Gateways 'gw-north', 'gw-south'
        $image = New-TestImage -Version '6.0.0'
        $report = Join-Path $TestDrive 'gateways.csv'

        $rows = & (Join-Path $Runbooks 'Update-FleetViaGateways.ps1') -InventoryPath $inventory -ImagePath $image.FullName -ReportPath $report -Verify

        Should -Invoke Invoke-Command -Times 2 -Exactly
        $LASTEXITCODE | Should -Be 0
        $rows = $rows | Sort-Object Address
        $rows.Gateway | Should -Be @('gw-north', 'gw-south', 'gw-north', 'gw-south')
        $rows.Status | Should -Be @("Succeeded", "Succeeded", "Succeeded", "Succeeded") -Because ($rows | Out-String)
        $rows.Verified | Should -Be @($true, $true, $true, $true)
        ($Shared.Devices | Where-Object Address -Like 'CA:FE:03:*').RunningVersion | Should -Be @('6.0.0', '6.0.0', '6.0.0', '6.0.0')
        @(Import-Csv $report).Count | Should -Be 4
    }

    It 'reports the error of a gateway that cannot be reached on each of its devices' {
        Mock Invoke-Command -ParameterFilter { $AsJob -and $ComputerName -eq 'gw-down' } {
            # What remoting reports for an unreachable computer, raised in the gateway's job as it would be.
            Start-ThreadJob { throw 'Connecting to remote server gw-down failed with the following error message : WinRM cannot complete the operation.' }
        }
        $inventory = New-Inventory -Prefix 'CA:FE:07' -Count 2 -Gateways 'gw-up', 'gw-down'

        $rows = & (Join-Path $Runbooks 'Update-FleetViaGateways.ps1') -InventoryPath $inventory -ImagePath (New-TestImage -Version '6.1.0').FullName -ReportPath (Join-Path $TestDrive 'down.csv')

        $LASTEXITCODE | Should -Be 1
        $rows = $rows | Sort-Object Address
        $rows.Status | Should -Be @('Succeeded', 'NotAttempted')
        $rows[1].ErrorId | Should -Be 'GatewayFailed'
        $rows[1].Error | Should -BeLike 'Gateway gw-down did not update this device: Connecting to remote server gw-down failed*'
    }
}
