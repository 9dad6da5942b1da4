using System.Text.RegularExpressions;

namespace BleOta.Tests.Support;

/// <summary>What BleOta's firmware is built with by default: firmware/sdkconfig.defaults and the component's Kconfig.</summary>
internal static partial class FirmwareDefaults
{
    /// <summary>CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU.</summary>
    public static int PreferredMtu =>
        int.Parse(MtuSetting().Match(File.ReadAllText(RepositoryFile.Find("firmware/sdkconfig.defaults"))).Groups[1].Value);

    /// <summary>The default of CONFIG_BLE_OTA_DEVICE_NAME.</summary>
    public static string DeviceName =>
        NameSetting().Match(File.ReadAllText(RepositoryFile.Find("firmware/components/ble_ota/Kconfig"))).Groups[1].Value;

    [GeneratedRegex(@"^CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU=(\d+)", RegexOptions.Multiline)]
    private static partial Regex MtuSetting();

    [GeneratedRegex(@"config BLE_OTA_DEVICE_NAME[\s\S]*?default ""([^""]*)""")]
    private static partial Regex NameSetting();
}
