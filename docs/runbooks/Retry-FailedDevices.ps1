<#
.SYNOPSIS
    Retries only the devices a fleet report lists as not succeeded, and updates the report in place.
.DESCRIPTION
    Reads a report written by Update-FleetFromCsv.ps1 (or by this script), updates the devices whose Status is
    not Succeeded, and rewrites the report with their new rows; the rows of devices that had already succeeded
    are kept as they were, so the devices that were done are not touched again. Run it until it reports no
    failures, or until the failures left need someone on site.
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

$previous = @(Import-Csv -LiteralPath $ReportPath)
$failed = @($previous | Where-Object Status -NE 'Succeeded')
if ($failed.Count -eq 0) {
    Write-Verbose "Every device in $ReportPath has succeeded; nothing to retry."
    return $previous
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
