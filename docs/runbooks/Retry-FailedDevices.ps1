<#
.SYNOPSIS
    Retries only the devices a fleet report lists as not succeeded, and updates the report in place.
.DESCRIPTION
    Reads a report written by Update-FleetFromCsv.ps1 (or by this script), updates the devices whose Status is
    neither Succeeded nor Skipped, and rewrites the report with their new rows; the rows of devices that were done
    are kept as they were, so those devices are not touched again. Run it until it reports no failures, or until
    the failures left need someone on site. The exit code is 0 when every device is done, else 1.
.EXAMPLE
    ./Retry-FailedDevices.ps1 -ReportPath ./report.csv -ImagePath ./build/app.bin
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ReportPath,
    [Parameter(Mandatory)] [string] $ImagePath,
    [ValidateRange(1, 64)] [int] $ThrottleLimit = 4,
    [switch] $Verify
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'FleetUpdate.psm1')

$previous = @(Import-FleetInventory -Path $ReportPath)
$failed = @($previous | Where-Object Status -NotIn 'Succeeded', 'Skipped')
if ($failed.Count -eq 0) {
    Write-Verbose "Every device in $ReportPath is done (Succeeded or Skipped); nothing to retry."
    $previous
    exit 0
}
$image = Assert-FleetImage -ImagePath $ImagePath
Write-Verbose "Retrying $($failed.Count) of $($previous.Count) devices."

$retried = @{}
Invoke-FleetUpdate -Inventory $failed -ImagePath $image.Path -ThrottleLimit $ThrottleLimit -Verify:$Verify | ForEach-Object { $retried[$_.Address] = $_ }
$report = foreach ($row in $previous) {
    if ($retried.ContainsKey($row.Address)) { $retried[$row.Address] } else { $row }
}
$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$report
exit $(if (Test-FleetReport $report) { 0 } else { 1 })   # 0 only when every device is done
