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
    with an inventory of the failed rows instead.
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
$jobs = foreach ($site in $inventory | Group-Object Gateway) {
    Write-Verbose "Gateway $($site.Name): $($site.Count) devices."
    $target = if ($UseSsh) { @{ HostName = $site.Name } } else { @{ ComputerName = $site.Name } }
    Invoke-Command @target -ScriptBlock $onGateway -AsJob @remoting `
        -ArgumentList "${function:Invoke-FleetUpdate}", @($site.Group | Select-Object Name, Address), $bytes, $image.Sha256, $ThrottleLimit, $Verify.IsPresent
}
$gatewayErrors = @()
$rows = @($jobs | Receive-Job -Wait -AutoRemoveJob -ErrorAction Continue -ErrorVariable gatewayErrors)
$report = @(
    $rows | Select-Object @{ Name = 'Gateway'; Expression = { $_.PSComputerName } }, Name, Address, Status, VersionBefore, VersionAfter,
        Changed, Verified, ErrorId, Error, Seconds, UpdatedAt
    # A gateway that could not be reached or failed as a whole still leaves a row per device, so nothing goes missing.
    foreach ($row in $inventory | Where-Object { $_.Address -notin ($rows | ForEach-Object Address) }) {
        $why = ($gatewayErrors | Where-Object { "$($_.OriginInfo.PSComputerName)" -eq $row.Gateway } | Select-Object -First 1)
        [pscustomobject]@{
            Gateway = $row.Gateway; Name = $row.Name; Address = $row.Address; Status = 'NotAttempted'; VersionBefore = $null; VersionAfter = $null
            Changed = $false; Verified = $null; ErrorId = 'GatewayFailed'
            Error = "Gateway $($row.Gateway) did not update this device: $(if ($why) { $why.Exception.Message } else { 'it returned no result' })"
            Seconds = $null; UpdatedAt = (Get-Date).ToString('o')
        }
    }
)
$report | Export-Csv -LiteralPath $ReportPath -NoTypeInformation
$report
