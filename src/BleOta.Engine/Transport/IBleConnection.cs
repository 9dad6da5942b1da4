namespace BleOta.Engine.Transport;

/// <summary>How a GATT write travels: acknowledged by the peer (ATT Write Request) or not (ATT Write Command).</summary>
public enum WriteType
{
    WithResponse,
    WithoutResponse,
}

/// <summary>An open GATT connection to one peripheral. Characteristics are named by their 128-bit UUID.</summary>
public interface IBleConnection : IAsyncDisposable
{
    string Address { get; }

    bool IsConnected { get; }

    /// <summary>The negotiated ATT MTU; the largest write payload is <c>Mtu - 3</c>.</summary>
    int Mtu { get; }

    /// <summary>
    /// The clock this link's durations are measured on. Radios use the system clock; simulated links use
    /// their simulated clock, so figures stay true however fast the simulation runs.
    /// </summary>
    TimeProvider Clock { get; }

    /// <summary>Asks for a larger MTU and returns what was negotiated (some OSes decide alone and just report it).</summary>
    Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken);

    /// <summary>True when the peripheral exposes this characteristic.</summary>
    bool HasCharacteristic(Guid characteristic);

    Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a value. The transport reads <paramref name="value"/> only until the returned task completes (it
    /// copies what it needs later), so callers may reuse the buffer for the next write.
    /// </summary>
    Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken);

    /// <summary>Enables notifications; <paramref name="onNotification"/> may run on any thread.</summary>
    Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken);

    /// <summary>What the link negotiated (MTU, PHY when known, write types, window), for the verbose stream.</summary>
    string DescribeLink() => $"ATT MTU {Mtu}";

    /// <summary>Raised once when the link drops, whoever dropped it.</summary>
    event EventHandler<BleDisconnectedEventArgs>? Disconnected;
}
