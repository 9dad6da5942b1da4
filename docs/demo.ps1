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
