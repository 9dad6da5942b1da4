# The Windows radio for BleOta, a module of its own so that Linux and macOS installs do not carry the Windows SDK
# projection it needs (about 26 MB). build.ps1 lays it out in out/BleOta.WinRT with BleOta's version; on Windows,
# BleOta loads BleOta.Transport.WinRT.dll from it (src/BleOta.PowerShell/RadioAssemblies.cs). It exports nothing.
@{
    ModuleVersion        = '0.1.0'
    GUID                 = '8b1d5e0a-3c47-4f2e-a9d6-71e0c4b25f98'
    Author               = 'BleOta contributors'
    CompanyName          = 'BleOta'
    Copyright            = '(c) BleOta contributors. MIT License.'
    Description          = 'The Windows (WinRT) Bluetooth LE radio for the BleOta module. On Windows 10 2004 or later install it beside BleOta: Install-PSResource BleOta.WinRT (it brings BleOta with it).'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    RequiredModules      = @(@{ ModuleName = 'BleOta'; ModuleVersion = '0.1.0' })
    CmdletsToExport      = @()
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('ESP32', 'BLE', 'Bluetooth', 'OTA', 'Windows', 'WinRT')
            ProjectUri   = 'https://github.com/bleota/bleota'
            LicenseUri   = 'https://github.com/bleota/bleota/blob/main/LICENSE'
            ReleaseNotes = '0.1.0: the WinRT radio of BleOta 0.1.0 as its own module, so that BleOta stays small on Linux and macOS.'
        }
    }
}
