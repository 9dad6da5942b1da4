# The source manifest: at the repository root it loads the module from the build output (run ./build.ps1 Build),
# and build.ps1 copies it next to the assemblies in out/BleOta with RootModule pointing beside it.
@{
    RootModule           = 'out/BleOta/BleOta.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '3f6c2b8e-5d41-4a7e-9c0b-8e2d7f1a6c53'
    Author               = 'BleOta contributors'
    CompanyName          = 'BleOta'
    Copyright            = '(c) BleOta contributors. MIT License.'
    Description          = 'Updates ESP32 firmware over Bluetooth Low Energy: find devices, push app images to many at once, watch progress. Includes simulated devices for trying it without hardware.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('BleOta.Format.ps1xml')
    CmdletsToExport      = @('Find-Esp32Device', 'Get-Esp32DeviceInfo', 'Invoke-Esp32Ota', 'Get-OtaProgress', 'Stop-OtaSession', 'Get-Esp32Image')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('ESP32', 'ESP-IDF', 'BLE', 'Bluetooth', 'OTA', 'Firmware', 'IoT', 'Linux', 'Windows')
            ProjectUri = 'https://github.com/bleota/bleota'
            LicenseUri = 'https://github.com/bleota/bleota/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0
- Find-Esp32Device, Invoke-Esp32Ota, Get-OtaProgress, Get-Esp32Image.
- Protocol v1 (compatible with the ESP-IDF NimBLE OTA tutorial firmware); -Verify reconnects after the restart and reports a rollback.
- Devices by pipeline, -Address or -Name; images by -Path (wildcards) or -LiteralPath, also from Get-ChildItem.
- Simulated devices (-Simulated) for trying it without hardware; help (Get-Help about_BleOta) and runbooks.
'@
        }
    }
}
