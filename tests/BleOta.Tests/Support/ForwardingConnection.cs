using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>A connection that passes everything to another; tests override what they change or watch.</summary>
internal abstract class ForwardingConnection(IBleConnection inner) : IBleConnection
{
    public event EventHandler<BleDisconnectedEventArgs>? Disconnected
    {
        add => inner.Disconnected += value;
        remove => inner.Disconnected -= value;
    }

    public string Address => inner.Address;

    public bool IsConnected => inner.IsConnected;

    public int Mtu => inner.Mtu;

    public TimeProvider Clock => inner.Clock;

    public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken) => inner.RequestMtuAsync(preferredMtu, cancellationToken);

    public bool HasCharacteristic(Guid characteristic) => inner.HasCharacteristic(characteristic);

    public virtual Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken) => inner.ReadAsync(characteristic, cancellationToken);

    public virtual Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken) =>
        inner.WriteAsync(characteristic, value, writeType, cancellationToken);

    public virtual Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken) =>
        inner.SubscribeAsync(characteristic, onNotification, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
