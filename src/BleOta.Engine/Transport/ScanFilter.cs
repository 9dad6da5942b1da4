using BleOta.Engine.Protocol;

namespace BleOta.Engine.Transport;

/// <summary>
/// What a scan looks for: devices that advertise <see cref="ServiceUuid"/>, or whose advertised name is one of
/// <see cref="Names"/> (exactly, as the tutorial's client compares it). Transports pass every packet on unfiltered
/// (an OS-level service filter would drop a name that comes in a separate scan response, or a device that
/// advertises no service); the engine merges each device's packets and applies <see cref="Matches"/>.
/// </summary>
public sealed record ScanFilter(Guid? ServiceUuid = null, IReadOnlyList<string>? Names = null)
{
    /// <summary>
    /// The name the tutorial's firmware advertises (michael-angerer/esp32_ble_ota, esp/main/gap.h, device_name),
    /// without any service UUID (gap.c, advertise). BleOta's firmware defaults to it too.
    /// </summary>
    public const string TutorialName = "esp32";

    /// <summary>OTA devices: BleOta firmware by its advertised service, tutorial firmware by its name.</summary>
    public static ScanFilter OtaService { get; } = new(OtaUuids.Service, [TutorialName]);

    /// <summary>True when a device with this name and these advertised services is one the scan looks for.</summary>
    public bool Matches(string? name, IReadOnlyCollection<Guid> serviceUuids) =>
        ServiceUuid is not { } uuid
        || serviceUuids.Contains(uuid)
        || (name is not null && Names is not null && Names.Contains(name, StringComparer.Ordinal));
}
