<#
.SYNOPSIS
    The README's demo: three simulated ESP32s updated over a simulated BLE link, as an admin would type it.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $WorkDirectory
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
# Updates keep the images they send for later delta updates in the user's data folder; the demo keeps its own.
$env:XDG_DATA_HOME = $env:LOCALAPPDATA = Join-Path $WorkDirectory 'userdata'

# No ESP toolchain is needed for the demo: the engine writes a byte-exact ESP32 app image.
$null = New-Item -ItemType Directory -Force $WorkDirectory
$image = Join-Path $WorkDirectory 'bleota-demo-1.1.0.bin'
$builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
$builder.ProjectName = 'bleota-demo'
$builder.Version = '1.1.0'
$builder.Size = 500000
[IO.File]::WriteAllBytes($image, $builder.Build())

Write-Host "Sample image: $image ($((Get-Item $image).Length) bytes, bleota-demo 1.1.0 for ESP32)"
Write-Host 'Simulated devices run twice as fast as real time; durations and kB/s are the devices'' own (simulated) time.'
Write-Host ''
Write-Host "PS> Find-Esp32Device -Simulated 3 -SimulationSpeed 2 | Invoke-Esp32Ota -Path $image -Force -PassThru" -ForegroundColor Yellow
Find-Esp32Device -Simulated 3 -SimulationSpeed 2 |
    Invoke-Esp32Ota -Path $image -Force -PassThru |
    Sort-Object Device |
    Format-Table |
    Out-Host

# The next build: one change, so only a patch against the image the devices now run goes on air.
$fix = Join-Path $WorkDirectory 'bleota-demo-1.1.1.bin'
$builder.Version = '1.1.1'
[IO.File]::WriteAllBytes($fix, $builder.Build())
Write-Host "PS> Find-Esp32Device -Simulated 3 -SimulationSpeed 2 | Invoke-Esp32Ota -Path $fix -Force -PassThru |" -ForegroundColor Yellow
Write-Host '      Format-Table Device, VersionBefore, VersionAfter, Transfer, BytesOnAir, Seconds' -ForegroundColor Yellow
Find-Esp32Device -Simulated 3 -SimulationSpeed 2 |
    Invoke-Esp32Ota -Path $fix -Force -PassThru |
    Sort-Object Device |
    Format-Table Device, VersionBefore, VersionAfter, Transfer, BytesOnAir, Seconds |
    Out-Host
Write-Host 'The devices run 1.1.0, an image sent from here before (kept in the user data folder), so only a patch of what'
Write-Host 'changed went on air; each device rebuilt 1.1.1 from it and checked its SHA-256 before switching.'
