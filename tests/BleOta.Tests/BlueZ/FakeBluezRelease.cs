namespace BleOta.Tests.BlueZ;

/// <summary>
/// What a bluetoothd release offers the transport, each as the bluez tree has it at that tag (bluez/bluez:
/// git log -S on the file named). Distributions ship old ones for years: Ubuntu 20.04 has 5.53, Debian 11 and
/// Raspberry Pi OS (bullseye) 5.55, Ubuntu 22.04 5.64, Debian 12 5.66.
/// </summary>
/// <param name="Version">The bluetoothd version.</param>
/// <param name="Experimental">Started with --experimental (-E), which 5.46 and 5.47 needed to export AcquireWrite.</param>
public sealed record FakeBluezRelease(Version Version, bool Experimental = false)
{
    public static FakeBluezRelease Current { get; } = new(new Version(5, 66));

    /// <summary>GattCharacteristic1.MTU, from 5.62 (src/gatt-client.c, characteristic_get_mtu).</summary>
    public bool HasMtuProperty => Version >= new Version(5, 62);

    /// <summary>WriteValue's "type" option, read from 5.51 (src/gatt-client.c, parse_options); before, the flags decide.</summary>
    public bool HonoursWriteType => Version >= new Version(5, 51);

    /// <summary>AcquireWrite (and WriteAcquired), stable from 5.48; 5.46-5.47 export it only with --experimental.</summary>
    public bool HasAcquireWrite => Version >= new Version(5, 48) || (Version >= new Version(5, 46) && Experimental);

    /// <summary>
    /// The keys SetDiscoveryFilter accepts (src/adapter.c, the parsers table); any other key is answered
    /// InvalidArguments: UUIDs, RSSI, Pathloss, Transport from 5.31, DuplicateData 5.47, Discoverable 5.51, Pattern 5.54.
    /// </summary>
    public bool AcceptsFilterKey(string key) => key switch
    {
        "UUIDs" or "RSSI" or "Pathloss" or "Transport" => true,
        "DuplicateData" => Version >= new Version(5, 47),
        "Discoverable" => Version >= new Version(5, 51),
        "Pattern" => Version >= new Version(5, 54),
        _ => false,
    };

    public override string ToString() => $"BlueZ {Version}{(Experimental ? " -E" : "")}";
}
