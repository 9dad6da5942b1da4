namespace BleOta.Engine.Transport;

/// <summary>One advertisement (or scan response) seen during a scan.</summary>
public sealed record BleAdvertisement(
    string Address,
    string? Name,
    int Rssi,
    IReadOnlyList<Guid> ServiceUuids,
    IBleTransport Transport);
