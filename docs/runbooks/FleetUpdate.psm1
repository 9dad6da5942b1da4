# Shared by the runbooks in this folder: check an image, update a list of devices, and say what changed per device.
Set-StrictMode -Version Latest

function Import-FleetInventory {
    <#
    .SYNOPSIS
        Reads a CSV inventory and stops the runbook unless it has devices and the columns the runbook needs.
    #>
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Columns = @('Name', 'Address'))
    $inventory = @(Import-Csv -LiteralPath $Path)
    $missing = if ($inventory.Count -gt 0) { $Columns | Where-Object { -not $inventory[0].PSObject.Properties[$_] } } else { $Columns }
    if ($missing) { throw "$Path needs a header row with the columns $($Columns -join ', ') and a row per device; missing: $($missing -join ', ')." }
    $inventory
}

function Assert-FleetImage {
    <#
    .SYNOPSIS
        Stops the runbook unless the image is a valid ESP32 app image (of the expected version, when one is given).
    #>
    param([Parameter(Mandatory)] [string] $ImagePath, [string] $ExpectedVersion)
    $image = Get-Esp32Image -LiteralPath $ImagePath -ErrorAction Stop
    if (-not $image.IsValid) { throw "$ImagePath is not a valid ESP32 app image: $($image.Problem)" }
    if ($ExpectedVersion -and $image.Version -ne $ExpectedVersion) {
        throw "$ImagePath is $($image.ProjectName) $($image.Version), not the expected $ExpectedVersion."
    }
    $image
}

function Invoke-FleetUpdate {
    <#
    .SYNOPSIS
        Updates the devices of an inventory (rows with Name and Address) and returns one report row per device:
        what it ran before and after, whether that changed, and why it failed.
    #>
    param(
        [Parameter(Mandatory)] [object[]] $Inventory,
        [Parameter(Mandatory)] [string] $ImagePath,
        [int] $ThrottleLimit = 4,
        [switch] $Verify
    )
    $failures = @()
    $results = @(Invoke-Esp32Ota -Address ($Inventory | ForEach-Object Address) -LiteralPath $ImagePath -ThrottleLimit $ThrottleLimit -Verify:$Verify `
            -Force -PassThru -ErrorAction SilentlyContinue -ErrorVariable failures)
    foreach ($row in $Inventory) {
        $result = $results | Where-Object Address -EQ $row.Address | Select-Object -First 1
        $failure = $failures | Where-Object {
            $target = $_.TargetObject
            $address = if ($target -and $target.PSObject.Properties['Address']) { $target.Address } else { "$target" }
            $address -eq $row.Address
        } | Select-Object -First 1
        [pscustomobject]@{
            Name          = $row.Name
            Address       = $row.Address
            Status        = if ($result) { "$($result.Status)" } else { 'NotAttempted' }
            VersionBefore = if ($result) { $result.VersionBefore } else { $null }
            VersionAfter  = if ($result) { $result.VersionAfter } else { $null }
            Changed       = [bool]($result -and "$($result.Status)" -eq 'Succeeded' -and $result.VersionBefore -ne $result.VersionAfter)
            Verified      = if ($result) { $result.Verified } else { $null }
            ErrorId       = if ($failure) { $failure.FullyQualifiedErrorId -replace ',.*$' } else { $null }
            Error         = if ($failure) { $failure.Exception.Message } elseif ($result) { $result.Error } else { $null }
            Seconds       = if ($result) { [math]::Round($result.Duration.TotalSeconds, 1) } else { $null }
            UpdatedAt     = (Get-Date).ToString('o')
        }
    }
}

Export-ModuleMember -Function Import-FleetInventory, Assert-FleetImage, Invoke-FleetUpdate
