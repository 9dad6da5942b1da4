using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>
/// A connection that records every GATT operation in order and answers Control writes from a script,
/// so a test can pin the exact bytes a client puts on the wire.
/// </summary>
internal sealed class RecordingConnection(int mtu) : IBleConnection
{
    private readonly Dictionary<Guid, Action<byte[]>> _subscriptions = [];

    public List<(string Operation, Guid Characteristic, byte[] Value, WriteType? Type)> Log { get; } = [];

    /// <summary>What the device notifies on Control after each opcode; a missing entry means silence.</summary>
    public Dictionary<OtaOpcode, OtaOpcode> Replies { get; } = new()
    {
        [OtaOpcode.Request] = OtaOpcode.RequestAck,
        [OtaOpcode.Done] = OtaOpcode.DoneAck,
    };

    /// <summary>Thrown by every write, as a transport that lets an OS error through untranslated would.</summary>
    public Exception? WriteFailure { get; init; }

    /// <summary>Control opcodes whose write the device never answers: the write waits until the client gives up on it.</summary>
    public HashSet<OtaOpcode> UnansweredWrites { get; } = [];

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    public string Address => "AA:BB:CC:DD:EE:FF";

    public bool IsConnected { get; private set; } = true;

    public int Mtu { get; } = mtu;

    public TimeProvider Clock => TimeProvider.System;

    public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken) => Task.FromResult(Mtu);

    public bool HasCharacteristic(Guid characteristic) => characteristic == OtaUuids.Control || characteristic == OtaUuids.Data;

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        Log.Add(("subscribe", characteristic, [], null));
        _subscriptions[characteristic] = onNotification;
        return Task.CompletedTask;
    }

    public Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        if (!IsConnected)
        {
            throw new BleTransportException("link down");
        }

        Log.Add(("write", characteristic, value.ToArray(), writeType));
        if (WriteFailure is { } failure)
        {
            throw failure;
        }

        if (characteristic == OtaUuids.Control && UnansweredWrites.Contains((OtaOpcode)value.Span[0]))
        {
            return Task.Delay(Timeout.Infinite, cancellationToken);
        }

        if (characteristic == OtaUuids.Control && Replies.TryGetValue((OtaOpcode)value.Span[0], out var reply)
            && _subscriptions.TryGetValue(OtaUuids.Control, out var notify))
        {
            notify([(byte)reply]);
        }

        return Task.CompletedTask;
    }

    public void Drop()
    {
        IsConnected = false;
        Disconnected?.Invoke(this, new BleDisconnectedEventArgs("test"));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
