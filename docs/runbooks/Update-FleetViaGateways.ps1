<#
.SYNOPSIS
    Updates a fleet spread over several sites: each gateway machine updates the devices in its radio range, all
    gateways at once, over PowerShell remoting.
.DESCRIPTION
    One machine reaches only the devices in its Bluetooth range. The inventory's Gateway column says which machine
    reaches each device. The image is checked here, sent to every gateway with the job (no file share needed) and
    checked there again by its SHA-256; then each gateway updates its devices with the BleOta module installed on
    it (Install-PSResource BleOta) and sends back its report rows. The rows come back with the gateway's name and
    are written to one report, which Retry-FailedDevices.ps1 cannot retry across gateways: run this script again
    (devices that already run the image are left alone), or with an inventory of the failed rows. A gateway that
    fails as a whole leaves its devices NotAttempted with ErrorId GatewayFailed and the gateway's own error. The exit
    code is 0 when every device succeeded or already ran the image, else 1.
.EXAMPLE
    ./Update-FleetViaGateways.ps1 -InventoryPath ./fleet.csv -ImagePath ./build/app.bin -ReportPath ./report.csv -Credential (Get-Credential)
.EXAMPLE
    ./Update-FleetViaGateways.ps1 -InventoryPath ./fleet.csv -ImagePath ./build/app.bin -ReportPath ./report.csv -UseSsh
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $InventoryPath,
    [Parameter(Mandatory)] [string] $ImagePath,
    [Parameter(Mandatory)] [string] $ReportPath,
    [string] $ExpectedVersion,
    [ValidateRange(1, 64)] [int] $ThrottleLimit = 4,
    [switch] $Verify,
    [pscredential] $Credential,
    # Reach the gateways over SSH (Linux gateways) instead of WinRM.
    [switch] $UseSsh
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'FleetUpdate.psm1')

$inventory = Import-FleetInventory -Path $InventoryPath -Columns Name, Address, Gateway
$image = Assert-FleetImage -ImagePath $ImagePath -ExpectedVersion $ExpectedVersion
$bytes = [IO.File]::ReadAllBytes($image.Path)

# Runs on each gateway: land the image, check it arrived whole, update that gateway's devices.
$onGateway = {
    param([string] $UpdateFunction, [object[]] $Rows, [byte[]] $Image, [string] $Sha256, [int] $ThrottleLimit, [bool] $Verify)
    $ErrorActionPreference = 'Stop'
    $path = Join-Path ([IO.Path]::GetTempPath()) "bleota-$([guid]::NewGuid()).bin"   # unique: gateways may share a disk
    [IO.File]::WriteAllBytes($path, $Image)
    try {
        $landed = Get-Esp32Image -LiteralPath $path
        if ($landed.Sha256 -ne $Sha256) { throw "The image arrived damaged on $([Environment]::MachineName) (SHA-256 $($landed.Sha256))." }
        ${function:Invoke-FleetUpdate} = $UpdateFunction
        Invoke-FleetUpdate -Inventory $Rows -ImagePath $path -ThrottleLimit $ThrottleLimit -Verify:$Verify
    }
    finally {
        Remove-Item -LiteralPath $path -ErrorAction Ignore
    }
}

$remoting = if ($Credential) { @{ Credential = $Credential } } else { @{} }
$sites = foreach ($site in $inventory | Group-Object Gateway) {
    Write-Verbose "Gateway $($site.Name): $($site.Count) devices."
    $target = if ($UseSsh) { @{ HostName = $site.Name } } else { @{ ComputerName = $site.Name } }
    $job = Invoke-Command @target -ScriptBlock $onGateway -AsJob @remoting `
        -ArgumentList "${function:Invoke-FleetUpdate}", @($site.Group | Select-Object Name, Address), $bytes, $image.Sha256, $ThrottleLimit, $Verify.IsPresent
    [pscustomobject]@{ Gateway = $site.Name; Devices = $site.Group; Job = $job }
}
$report = @(
    foreach ($site in $sites) {
        # One job per gateway, so whatever it reports (rows or errors) belongs to that gateway.
        $gatewayErrors = @()
        $rows = @($site.Job | Receive-Job -Wait -AutoRemoveJob -ErrorAction SilentlyContinue -ErrorVariable gatewayErrors)
        $rows | Select-Object @{ Name = 'Gateway'; Expression = { $site.Gateway } }, Name, Address, Status, VersionBefore, VersionAfter,
            Changed, Verified, ErrorId, Error, Seconds, UpdatedAt
        # A gateway that could not be reached or failed as a whole still leaves a row per device, with its own error.
        $why = if ($gatewayErrors) { $gatewayErrors[0].Exception.Message } else { 'it returned no result' }
        foreach ($row in $site.Devices | Where-Object { $_.Address -notin ($rows | ForEach-Object Address) }) {
            [pscustomobject]@{
                Gateway = $site.Gateway; Name = $row.Name; Address = $row.Address; Status = 'NotAttempted'; VersionBefore = $null; VersionAfter = $null
                Changed = $false; Verified = $null; ErrorId = 'GatewayFailed'; Error = "Gateway $($site.Gateway) did not update this device: $why"
                Seconds = $null; UpdatedAt = (Get-Date).ToString('o')
            }
        }
    }
)
$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$report
exit $(if (Test-FleetReport $report) { 0 } else { 1 })   # 0 only when every device is done
