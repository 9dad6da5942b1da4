namespace BleOta.Engine.Transport;

/// <summary>
/// One advertisement or scan response seen during a scan, or a transport's merged view of both (BlueZ
/// keeps one device object per address). The engine merges them per address (<c>DeviceScanner</c>).
/// </summary>
public sealed record BleAdvertisement(
    string Address,
    string? Name,
    int Rssi,
    IReadOnlyList<Guid> ServiceUuids,
    IBleTransport Transport)
{
    /// <summary>
    /// An active scan will still ask this device for a scan response, which may carry what this packet lacks
    /// (our firmware puts its name there): true for a scannable advertisement, or a merged view without a name.
    /// </summary>
    public bool ScanResponsePending { get; init; }
}
