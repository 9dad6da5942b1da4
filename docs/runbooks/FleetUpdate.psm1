# Shared by the runbooks in this folder: check an inventory and an image, update a list of devices, and say what
# changed per device.
#Requires -Modules BleOta
Set-StrictMode -Version Latest

function Import-FleetInventory {
    <#
    .SYNOPSIS
        Reads a CSV inventory and stops the runbook unless it has devices, the columns the runbook needs, well-formed
        addresses and each address once.
    #>
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Columns = @('Name', 'Address'))
    $inventory = @(Import-Csv -LiteralPath $Path)
    $missing = if ($inventory.Count -gt 0) { $Columns | Where-Object { -not $inventory[0].PSObject.Properties[$_] } } else { $Columns }
    if ($missing) { throw "$Path needs a header row with the columns $($Columns -join ', ') and a row per device; missing: $($missing -join ', ')." }
    # Rows are numbered as a spreadsheet shows them: the header is row 1.
    $malformed = @(for ($row = 0; $row -lt $inventory.Count; $row++) {
            if (-not [BleOta.Engine.Transport.BluetoothAddress]::IsValid($inventory[$row].Address)) { "row $($row + 2): '$($inventory[$row].Address)'" }
        })
    if ($malformed) { throw "$Path has addresses that are not six hex bytes such as 24:0A:C4:12:34:56: $($malformed -join ', '). Correct them; no device was touched." }
    $repeated = @($inventory | Group-Object Address | Where-Object Count -GT 1 | ForEach-Object { "$($_.Name) ($($_.Count) rows)" })
    if ($repeated) { throw "$Path lists these addresses more than once: $($repeated -join ', '). Keep one row per device; no device was touched." }
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
        what it ran before and after, whether that changed, and why it failed. Devices that already run the image
        are left alone (Status Skipped), so running a runbook again does not flash the fleet again.
    #>
    param(
        [Parameter(Mandatory)] [object[]] $Inventory,
        [Parameter(Mandatory)] [string] $ImagePath,
        [int] $ThrottleLimit = 4,
        [switch] $Verify
    )
    $failures = @()
    $results = @($Inventory | Invoke-Esp32Ota -LiteralPath $ImagePath -ThrottleLimit $ThrottleLimit -Verify:$Verify -SkipIfCurrent `
            -Force -PassThru -ErrorAction SilentlyContinue -ErrorVariable failures)
    foreach ($row in $Inventory) {
        $result = $results | Where-Object Address -EQ $row.Address | Select-Object -First 1
        # A device without a result never started (its radio could not be loaded): the error record says why.
        $failure = if (-not $result) {
            $failures | Where-Object {
                $target = $_.TargetObject
                $address = if ($target -and $target.PSObject.Properties['Address']) { $target.Address } else { "$target" }
                $address -eq $row.Address
            } | Select-Object -First 1
        }
        [pscustomobject]@{
            Name          = $row.Name
            Address       = $row.Address
            Status        = if ($result) { $result.Status } else { 'NotAttempted' }
            VersionBefore = if ($result) { $result.VersionBefore } else { $null }
            VersionAfter  = if ($result) { $result.VersionAfter } else { $null }
            Changed       = [bool]($result -and $result.Status -eq 'Succeeded' -and $result.VersionBefore -ne $result.VersionAfter)
            Verified      = if ($result) { $result.Verified } else { $null }
            ErrorId       = if ($result) { $result.ErrorId } elseif ($failure) { $failure.FullyQualifiedErrorId -replace ',.*$' } else { $null }
            Error         = if ($result) { $result.Error } elseif ($failure) { $failure.Exception.Message } else { $null }
            Seconds       = if ($result) { $result.Seconds } else { $null }
            UpdatedAt     = (Get-Date).ToString('o')
        }
    }
}

function Test-FleetReport {
    <#
    .SYNOPSIS
        True when every device of a report succeeded or already ran the image: what a runbook's exit code says.
    #>
    param([Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Report)
    -not ($Report | Where-Object Status -NotIn 'Succeeded', 'Skipped')
}

Export-ModuleMember -Function Import-FleetInventory, Assert-FleetImage, Invoke-FleetUpdate, Test-FleetReport
