namespace BleOta.Engine.Transport;

/// <summary>
/// A way to reach BLE peripherals: a radio (WinRT, BlueZ), the simulator, or the firmware's C core in the loop.
/// Everything above this interface is transport-agnostic.
/// </summary>
public interface IBleTransport
{
    /// <summary>Short name shown to users, e.g. "Simulated", "BlueZ", "WinRT".</summary>
    string Name { get; }

    /// <summary>
    /// The adapter this transport scans and connects with ("hci1"), where a program can choose one; null where the
    /// platform always uses its own (WinRT: the system's default adapter) or the adapter is not known yet.
    /// </summary>
    string? AdapterName => null;

    /// <summary>What this transport scans and connects with (adapter, filters), for the verbose stream.</summary>
    string Describe() => Name;

    /// <summary>The name of the device with this address, if the transport knows it without a scan; else null.</summary>
    string? KnownName(string address) => null;

    /// <summary>Streams advertisements as they arrive until the token is cancelled or the transport has no more.</summary>
    IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, CancellationToken cancellationToken);

    /// <summary>Connects to the peripheral with this address and discovers its GATT services.</summary>
    Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken);
}
