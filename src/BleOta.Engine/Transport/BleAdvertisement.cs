namespace BleOta.Engine.Transport;

/// <summary>
/// The advertising PDU a packet arrived in (Core 5.3 Vol 6 Part B 2.3.1), numbered as WinRT's
/// BluetoothLEAdvertisementType numbers them.
/// </summary>
public enum AdvertisingPdu
{
    /// <summary>ADV_IND: connectable and scannable.</summary>
    ConnectableUndirected = 0,

    /// <summary>ADV_DIRECT_IND: connectable, not scannable, no data.</summary>
    ConnectableDirected = 1,

    /// <summary>ADV_SCAN_IND: scannable, not connectable.</summary>
    ScannableUndirected = 2,

    /// <summary>ADV_NONCONN_IND: neither.</summary>
    NonConnectableUndirected = 3,

    /// <summary>SCAN_RSP: the answer to an active scanner's scan request.</summary>
    ScanResponse = 4,

    /// <summary>A Bluetooth 5 extended advertisement, which says itself whether it is scannable.</summary>
    Extended = 5,
}

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

    /// <summary>
    /// One packet an active scan received, as a watcher that reports every packet apart hands it over (Windows
    /// raises a Received event per packet): a scannable advertisement (ADV_IND, ADV_SCAN_IND, or an extended one
    /// that says so) is still owed its scan response.
    /// </summary>
    public static BleAdvertisement FromPacket(string address, string? name, int rssi, IReadOnlyList<Guid> serviceUuids,
        AdvertisingPdu pdu, bool extendedScannable, IBleTransport transport) =>
        new(address, string.IsNullOrEmpty(name) ? null : name, rssi, serviceUuids, transport)
        {
            ScanResponsePending = pdu switch
            {
                AdvertisingPdu.ConnectableUndirected or AdvertisingPdu.ScannableUndirected => true,
                AdvertisingPdu.Extended => extendedScannable,
                _ => false,
            },
        };
}
