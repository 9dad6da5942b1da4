namespace BleOta.Engine.Transport;

/// <summary>
/// Which callback receives each characteristic's notifications, for connections that deliver notifications
/// themselves (the simulator, the firmware core in the loop). Safe to use from any thread.
/// </summary>
public sealed class NotificationSubscriptions
{
    private readonly Dictionary<Guid, Action<byte[]>> _handlers = [];

    public void Subscribe(Guid characteristic, Action<byte[]> onNotification)
    {
        lock (_handlers)
        {
            _handlers[characteristic] = onNotification;
        }
    }

    /// <summary>Hands the value to the characteristic's subscriber; without one (no CCCD write) it is dropped and the answer is false.</summary>
    public bool Deliver(Guid characteristic, byte[] value)
    {
        Action<byte[]>? handler;
        lock (_handlers)
        {
            _handlers.TryGetValue(characteristic, out handler);
        }

        handler?.Invoke(value);
        return handler is not null;
    }
}
