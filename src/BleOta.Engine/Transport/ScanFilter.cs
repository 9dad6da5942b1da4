using BleOta.Engine.Protocol;

namespace BleOta.Engine.Transport;

/// <summary>
/// What a scan looks for: devices that advertise <see cref="ServiceUuid"/>, or whose advertised name is one of
/// <see cref="Names"/> (exactly, as the tutorial's client compares it). Transports apply what their OS can filter
/// on and the engine applies the rest (<see cref="Matches"/>).
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

    /// <summary>
    /// The service UUID an OS-level filter may use: only when no name can match instead, as the OS would drop
    /// devices that advertise a wanted name but no service.
    /// </summary>
    public Guid? OsServiceUuid => Names is null or [] ? ServiceUuid : null;

    /// <summary>True when the advertisement is one the scan looks for.</summary>
    public bool Matches(BleAdvertisement advertisement) =>
        ServiceUuid is not { } uuid
        || advertisement.ServiceUuids.Contains(uuid)
        || (advertisement.Name is { } name && Names is not null && Names.Contains(name, StringComparer.Ordinal));
}
