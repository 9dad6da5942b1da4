using BleOta.Engine.Transport;

namespace BleOta.Engine.Discovery;

/// <summary>An ESP32 found by a scan: what <c>Find-Esp32Device</c> emits and <c>Invoke-Esp32Ota</c> takes.</summary>
public sealed class Esp32Device(string address, string? name, int rssi, IBleTransport transport)
{
    public string Name { get; } = string.IsNullOrEmpty(name) ? address : name;

    public string Address { get; } = address;

    public int Rssi { get; } = rssi;

    /// <summary>The transport that found the device and will connect to it.</summary>
    public IBleTransport Transport { get; } = transport;

    public string TransportName => Transport.Name;

    /// <summary>The adapter the device was found on and is reached through ("hci1"); null where the platform picks it (WinRT).</summary>
    public string? Adapter => Transport.AdapterName;

    /// <summary>Whether the device offers the OTA service in its advertisement.</summary>
    public bool AdvertisesOta { get; init; }

    public DateTimeOffset LastSeen { get; init; } = DateTimeOffset.Now;

    public static Esp32Device FromAdvertisement(BleAdvertisement advertisement) =>
        new(advertisement.Address, advertisement.Name, advertisement.Rssi, advertisement.Transport)
        {
            AdvertisesOta = advertisement.ServiceUuids.Contains(Protocol.OtaUuids.Service),
        };

    public override string ToString() => Name == Address ? Address : $"{Name} ({Address})";
}
