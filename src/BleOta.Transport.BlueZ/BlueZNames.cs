namespace BleOta.Transport.BlueZ;

/// <summary>The D-Bus names of BlueZ's API (doc/org.bluez.*.rst in the BlueZ tree).</summary>
public static class BlueZNames
{
    public const string Service = "org.bluez";
    public const string Adapter = "org.bluez.Adapter1";
    public const string Device = "org.bluez.Device1";
    public const string GattService = "org.bluez.GattService1";
    public const string GattCharacteristic = "org.bluez.GattCharacteristic1";
    public const string ObjectManager = "org.freedesktop.DBus.ObjectManager";
    public const string Properties = "org.freedesktop.DBus.Properties";

    /// <summary>The adapter's name, the last part of its object path: /org/bluez/hci1 → hci1.</summary>
    public static string AdapterName(string adapterPath) => adapterPath[(adapterPath.LastIndexOf('/') + 1)..];

    /// <summary>BlueZ's object path for a device: <c>/org/bluez/hci0/dev_24_0A_C4_00_00_01</c>.</summary>
    public static string DevicePath(string adapterPath, string address) =>
        $"{adapterPath}/dev_{address.ToUpperInvariant().Replace(':', '_')}";
}
