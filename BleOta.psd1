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
- Find-Esp32Device, Invoke-Esp32Ota, Get-Esp32DeviceInfo, Get-OtaProgress, Stop-OtaSession, Get-Esp32Image.
- Protocol v2 (windowed writes without response, resume after a dropped link, SHA-256 checked before the boot slot
  changes, optional compression) where the device offers it; protocol v1 for the ESP-IDF NimBLE OTA tutorial firmware.
- Only app images are sent: bootloaders, RAM-only apps and merged flash images are refused (ImageNotAnApp).
- Devices by pipeline (also CSV rows and deserialized devices), -Address or -Name; -SkipIfCurrent; -Verify reconnects
  after the restart and reports a rollback; report-shaped results and a summary line per run.
- Radios: BlueZ on Linux in this module; WinRT on Windows in the BleOta.WinRT module (Install-PSResource BleOta.WinRT).
- Simulated devices (-Simulated) for trying it without hardware; help (Get-Help about_BleOta) and runbooks.
'@
        }
    }
}
