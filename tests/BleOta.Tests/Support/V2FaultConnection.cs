using BleOta.Engine.Protocol;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>
/// A link to the simulator's v2 server (the C core's decisions) that delivers notifications a moment later on
/// another thread, as a radio does, can lose chosen data packets and notifications, and checks on every data
/// write that the client never has more than the device's window of unacknowledged packets in flight.
/// </summary>
internal sealed class V2FaultConnection : IBleConnection
{
    private readonly BleOtaFirmwareModel _server;
    private readonly object _gate = new();
    private readonly List<uint> _outstanding = []; // end offsets the client may still count as in flight
    private Action<byte[]>? _onControl;
    private int _dataWrites;
    private int _notifications;

    public V2FaultConnection(BleOtaFirmwareModel server, int mtu)
    {
        _server = server;
        Mtu = mtu;
        server.OnConnect(mtu);
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    /// <summary>Data writes (0-based, counting every attempt) the link loses.</summary>
    public HashSet<int> LoseDataWrites { get; } = [];

    /// <summary>Notifications (0-based) the link loses.</summary>
    public HashSet<int> LoseNotifications { get; } = [];

    /// <summary>Control opcodes whose write the device never answers: the write waits until the client gives up on it.</summary>
    public HashSet<OtaOpcode> UnansweredWrites { get; } = [];

    /// <summary>
    /// After this many data writes every further write fails as a lost link while the link still reports itself
    /// up, as when bluetoothd shuts an AcquireWrite socket before it signals Connected=false.
    /// </summary>
    public int? ShutWritePathAfterDataWrites { get; init; }

    /// <summary>The link drops after this many data writes.</summary>
    public int? DropAfterDataWrites { get; init; }

    /// <summary>Offsets of every data packet written, in order.</summary>
    public List<uint> DataOffsets { get; } = [];

    public long DataPayloadBytes { get; private set; }

    /// <summary>The most packets the client had unacknowledged at once.</summary>
    public int MaxInFlight { get; private set; }

    private uint _deliveredAck;

    public string Address => "V2:FA:01:00:00:01";

    public bool IsConnected { get; private set; } = true;

    public int Mtu { get; }

    public TimeProvider Clock => TimeProvider.System;

    public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken) => Task.FromResult(Mtu);

    public bool HasCharacteristic(Guid characteristic) => characteristic == OtaUuids.Control || characteristic == OtaUuids.Data;

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        _onControl = onNotification;
        return Task.CompletedTask;
    }

    public Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        if (!IsConnected)
        {
            throw new BleTransportException("link down");
        }

        if (ShutWritePathAfterDataWrites is { } shutAfter && _dataWrites >= shutAfter)
        {
            throw new BleLinkLostException("the write socket was closed");
        }

        if (characteristic == OtaUuids.Control && UnansweredWrites.Contains((OtaOpcode)value.Span[0]))
        {
            return Task.Delay(Timeout.Infinite, cancellationToken);
        }

        byte status = 0;
        byte[][] notifications;
        lock (_gate)
        {
            if (characteristic == OtaUuids.Data)
            {
                if (!RecordDataWrite(value.Span))
                {
                    return Task.CompletedTask; // lost on air
                }

                status = _server.OnDataWrite(value.Span);
            }
            else
            {
                status = _server.OnControlWrite(value.Span);
            }

            notifications = [.. _server.Notifications];
            _server.Notifications.Clear();
        }

        foreach (var notification in notifications)
        {
            int index = Interlocked.Increment(ref _notifications) - 1;
            if (!LoseNotifications.Contains(index))
            {
                _ = Task.Run(() => Deliver(notification)); // on another thread, after the write returned
            }
        }

        if (DropAfterDataWrites is { } limit && _dataWrites >= limit)
        {
            IsConnected = false;
            lock (_gate)
            {
                _server.OnDisconnect();
            }

            Disconnected?.Invoke(this, new BleDisconnectedEventArgs("test drop"));
        }

        return status != 0 && writeType == WriteType.WithResponse
            ? throw new BleAttException(status, $"ATT 0x{status:X2}")
            : Task.CompletedTask;
    }

    /// <summary>Counts the packet against the window; false when the link loses it.</summary>
    private bool RecordDataWrite(ReadOnlySpan<byte> packet)
    {
        uint offset = BitConverter.ToUInt32(packet);
        uint end = offset + (uint)(packet.Length - V2Messages.DataHeaderLength);
        _outstanding.RemoveAll(e => e > offset || e <= _deliveredAck); // going back to an offset abandons what was sent past it
        if (end > _deliveredAck)
        {
            _outstanding.Add(end); // a resent packet below an acknowledgement already delivered is not unacknowledged
        }

        MaxInFlight = Math.Max(MaxInFlight, _outstanding.Count);
        DataOffsets.Add(offset);
        DataPayloadBytes += end - offset;
        return !LoseDataWrites.Contains(_dataWrites++);
    }

    private void Deliver(byte[] notification)
    {
        lock (_gate)
        {
            // What the client learns from this notification frees its window before the client can act on it.
            if (V2Notification.TryParse(notification, out var note))
            {
                if (note.Opcode == OtaOpcode.DataAck && note.Error == V2Error.Ok)
                {
                    _deliveredAck = Math.Max(_deliveredAck, note.Offset);
                    _outstanding.RemoveAll(e => e <= note.Offset);
                }
                else
                {
                    _outstanding.Clear();
                }
            }
        }

        if (IsConnected)
        {
            _onControl?.Invoke(notification);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
