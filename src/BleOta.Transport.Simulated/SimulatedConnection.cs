using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// A GATT link to a <see cref="SimulatedDevice"/>. Each operation is charged on the link's clock by the
/// link profile (docs/link-model.md): connection events per acknowledged write with device processing rounded
/// up to whole events; for unacknowledged writes their share of a connection event or the receiving stack's
/// time, whichever is longer, with flash work overlapping in the device's receive buffer; one connection event
/// of latency per notification the client waits for.
/// </summary>
internal sealed class SimulatedConnection : IBleConnection
{
    private readonly SimulatedDevice _device;
    private readonly SimulatedClock _clock;
    private readonly NotificationSubscriptions _subscriptions = new();
    private readonly SemaphoreSlim _io = new(1, 1);
    private readonly ReceiveBuffer _receiver;
    private bool _connected = true;

    public SimulatedConnection(SimulatedDevice device, SimulatedClock clock)
    {
        _device = device;
        _clock = clock;
        _receiver = new ReceiveBuffer(device.Options.Profile);
        lock (device.Gate)
        {
            device.Connection = this;
            device.Model.OnConnect(Mtu);
        }
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    public string Address => _device.Address;

    public bool IsConnected => Volatile.Read(ref _connected);

    public int Mtu { get; private set; } = 23;

    public TimeProvider Clock => _clock;

    private LinkProfile Profile => _device.Options.Profile;

    public async Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        EnsureConnected();
        Mtu = Profile.NegotiatedMtu(preferredMtu, _device.DeviceMtu);
        lock (_device.Gate)
        {
            _device.Model.OnConnect(Mtu);
        }

        await _clock.AdvanceAsync(Profile.ConnectionInterval * 2, cancellationToken).ConfigureAwait(false);
        return Mtu;
    }

    public bool HasCharacteristic(Guid characteristic) => _device.Characteristics.Contains(characteristic);

    public async Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        byte[] value;
        lock (_device.Gate)
        {
            value = _device.Model.Read(characteristic);
        }

        await _clock.AdvanceAsync(Profile.AcknowledgedWriteTime(TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
        return value;
    }

    public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        _subscriptions.Subscribe(characteristic, onNotification);

        return _clock.AdvanceAsync(Profile.AcknowledgedWriteTime(TimeSpan.Zero), cancellationToken).AsTask();
    }

    public async Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        await _io.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteLockedAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _io.Release();
        }
    }

    private async Task WriteLockedAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        EnsureConnected();
        byte status;
        TimeSpan busy;
        byte[][] notifications;
        RestartAfterWrite restart;
        lock (_device.Gate)
        {
            var model = _device.Model;
            // A write-encrypted characteristic: the stack refuses before the firmware sees the write (ATT 0x0F).
            bool unpaired = _device.Options.RequireEncryption && !_device.Bonded && characteristic != OtaUuids.Info;
            status = unpaired ? OtaAttError.InsufficientEncryption
                : characteristic == OtaUuids.Control ? model.OnControlWrite(value.Span)
                : characteristic == OtaUuids.Data ? model.OnDataWrite(value.Span)
                : throw new BleAttException(0x03, $"{characteristic} cannot be written.");
            busy = unpaired ? TimeSpan.Zero : model.Busy;
            notifications = [.. model.Notifications];
            model.Notifications.Clear();
            restart = model.Restart;
        }

        if (restart == RestartAfterWrite.InsideHandler)
        {
            await RestartInsideHandlerAsync(busy, notifications, writeType, cancellationToken).ConfigureAwait(false);
            return;
        }

        // An acknowledged write is answered only after the device's flash writer has caught up; an
        // unacknowledged one goes into the receive buffer and its flash work overlaps the next packets.
        bool acknowledged = writeType == WriteType.WithResponse;
        var now = _clock.Now;
        var linkTime = acknowledged
            ? Profile.AcknowledgedWriteTime(_receiver.Backlog(now) + busy)
            : _receiver.Accept(now, value.Length, busy);
        await _clock.AdvanceAsync(linkTime, cancellationToken).ConfigureAwait(false);
        if (status != 0 && acknowledged)
        {
            throw new BleAttException(status, $"The device refused the write with ATT error 0x{status:X2}.");
        }

        foreach (var notification in notifications)
        {
            // Credits for a stream are timed by the receive buffer; a notification the client waits for costs an event.
            if (acknowledged)
            {
                await _clock.AdvanceAsync(Profile.NotificationLatency, cancellationToken).ConfigureAwait(false);
            }

            _subscriptions.Deliver(OtaUuids.Control, notification);
        }

        if (_device.Options.Faults.DisconnectAfterBytes is { } limit && _device.Flash.IsUpdating && _device.Flash.Written >= limit
            && _device.DisconnectFaultsFired < _device.Options.Faults.DisconnectTimes)
        {
            _device.DisconnectFaultsFired++;
            Drop("the device went out of range");
        }

        if (restart == RestartAfterWrite.AfterResponse)
        {
            Drop("the device restarted into its new firmware");
            lock (_device.Gate)
            {
                _device.Restart();
            }
        }
    }

    /// <summary>
    /// The tutorial's DONE handler: after its <paramref name="busy"/> checking the image, its notifications go out in
    /// the next connection event, then it sleeps and restarts without ever answering the write; the central notices
    /// when its supervision timeout runs out.
    /// </summary>
    private async Task RestartInsideHandlerAsync(TimeSpan busy, byte[][] notifications, WriteType writeType, CancellationToken cancellationToken)
    {
        await _clock.AdvanceAsync(busy + Profile.NotificationLatency, cancellationToken).ConfigureAwait(false);
        foreach (var notification in notifications)
        {
            _subscriptions.Deliver(OtaUuids.Control, notification);
        }

        await _clock.AdvanceAsync(TutorialFirmwareModel.RestartDelay + Profile.SupervisionTimeout, cancellationToken).ConfigureAwait(false);
        Drop("the device restarted without answering the write");
        lock (_device.Gate)
        {
            _device.Restart();
        }

        if (writeType == WriteType.WithResponse)
        {
            throw new BleTransportException($"The link to {Address} dropped before the device answered the write.");
        }
    }

    public ValueTask DisposeAsync()
    {
        Drop("the client closed the connection");
        return ValueTask.CompletedTask;
    }

    /// <summary>Ends the link from either side; the firmware aborts any update in progress.</summary>
    internal void Drop(string reason)
    {
        lock (_device.Gate)
        {
            if (!_connected)
            {
                return;
            }

            _connected = false;
            _device.Model.OnDisconnect();
            _device.Connection = null;
        }

        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    private void EnsureConnected()
    {
        if (!IsConnected)
        {
            throw new BleLinkLostException($"The link to {Address} is down.");
        }
    }

    private void EnsureCharacteristic(Guid characteristic)
    {
        EnsureConnected();
        if (!HasCharacteristic(characteristic))
        {
            throw new BleTransportException($"{Address} has no characteristic {characteristic}.");
        }
    }
}
