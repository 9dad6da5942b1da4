<#
.SYNOPSIS
    Updates every device of a CSV inventory and writes a report of what changed.
.DESCRIPTION
    The inventory is a CSV with the columns Name and Address (more columns are ignored). The inventory (well-formed
    addresses, each once) and the image (valid, and of -ExpectedVersion when given) are checked first, so a mistake
    never reaches a device. Devices that already run the image are left alone, so the runbook can run again safely.
    Every device gets one report row: Status (Succeeded, Skipped, Failed, Cancelled, NotAttempted), VersionBefore,
    VersionAfter, Changed, Verified, ErrorId and Error. The report is written to -ReportPath as CSV and returned.
    The exit code is 0 when every device succeeded or already ran the image, else 1.
.EXAMPLE
    ./Update-FleetFromCsv.ps1 -InventoryPath ./greenhouses.csv -ImagePath ./build/app.bin -ExpectedVersion 2.1.0 -ReportPath ./report.csv -Verify
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $InventoryPath,
    [Parameter(Mandatory)] [string] $ImagePath,
    [Parameter(Mandatory)] [string] $ReportPath,
    [string] $ExpectedVersion,
    [ValidateRange(1, 64)] [int] $ThrottleLimit = 4,
    [switch] $Verify
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'FleetUpdate.psm1')

$inventory = Import-FleetInventory -Path $InventoryPath
$image = Assert-FleetImage -ImagePath $ImagePath -ExpectedVersion $ExpectedVersion
Write-Verbose "Updating $($inventory.Count) devices to $($image.ProjectName) $($image.Version) ($($image.Sha256))."

$report = @(Invoke-FleetUpdate -Inventory $inventory -ImagePath $image.Path -ThrottleLimit $ThrottleLimit -Verify:$Verify)
$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$failed = @($report | Where-Object Status -NotIn 'Succeeded', 'Skipped').Count
Write-Verbose "$(@($report | Where-Object Changed).Count) changed, $failed failed; report: $ReportPath. Retry-FailedDevices.ps1 retries the failed ones."
$report
exit $(if (Test-FleetReport $report) { 0 } else { 1 })   # 0 only when every device is done
