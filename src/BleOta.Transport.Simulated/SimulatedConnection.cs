using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// A GATT link to a <see cref="SimulatedDevice"/>. The client's operations go into the link's
/// <see cref="LinkEngine"/>, which times them on the adapter's clock (docs/link-model.md): a write without response
/// is handed to the stack at once, a request waits for its answer, and notifications arrive when the device's
/// controller gets them on air. While the client waits, its adapter moves time on.
/// </summary>
internal sealed class SimulatedConnection : IBleConnection
{
    private readonly SimulatedDevice _device;
    private readonly SimulatedAdapter _adapter;
    private readonly LinkActor _actor;
    private readonly LinkEngine _engine;
    private readonly NotificationSubscriptions _subscriptions = new();
    private bool _connected = true;
    private bool _delivering;

    /// <summary>Opens the link at the adapter's current time; call under the adapter's lock.</summary>
    public SimulatedConnection(SimulatedDevice device, SimulatedAdapter adapter, LinkActor actor)
    {
        _device = device;
        _adapter = adapter;
        _actor = actor;
        Clock = new LinkClock(adapter, () => _actor);
        _engine = new LinkEngine(adapter, device, this, adapter.Now);
        actor.Engine = _engine;
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

    public TimeProvider Clock { get; }

    /// <summary>The connection interval the central granted.</summary>
    public TimeSpan Interval => _engine.Interval;

    /// <summary>The link's model, for tests that watch its mechanics.</summary>
    internal LinkEngine Engine => _engine;

    private LinkProfile Profile => _device.Options.Profile;

    public async Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        int mtu = Profile.NegotiatedMtu(preferredMtu, _device.DeviceMtu);
        await RequestAsync(AttKind.MtuRequest, Guid.Empty, [(byte)mtu, (byte)(mtu >> 8)], cancellationToken).ConfigureAwait(false);
        Mtu = mtu;
        lock (_device.Gate)
        {
            _device.Model.OnConnect(Mtu);
        }

        return Mtu;
    }

    public bool HasCharacteristic(Guid characteristic) => _device.Characteristics.Contains(characteristic);

    public string DescribeLink() => $"ATT MTU {Mtu}, {Profile.Phy}, connection interval {Interval.TotalMilliseconds:0.##} ms (simulated, {Profile.Name})";

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        return RequestAsync(AttKind.ReadRequest, characteristic, [], cancellationToken); // the firmware answers or refuses
    }

    public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        _subscriptions.Subscribe(characteristic, onNotification);
        return RequestAsync(AttKind.SubscribeRequest, characteristic, [0x01, 0x00], cancellationToken); // the CCCD write
    }

    public Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        EnsureCharacteristic(characteristic);
        if (characteristic != OtaUuids.Control && characteristic != OtaUuids.Data)
        {
            return Task.FromException(new BleAttException(0x03, $"{characteristic} cannot be written."));
        }

        if (writeType == WriteType.WithResponse)
        {
            return RequestAsync(AttKind.WriteRequest, characteristic, value.ToArray(), cancellationToken);
        }

        // A write command: the client's stack takes it now and sends it when the link has room.
        lock (_adapter.Gate)
        {
            EnsureConnected();
            _engine.Send(new AttItem(AttKind.WriteCommand, characteristic, value.ToArray()));
        }

        _adapter.Touch(_actor);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Drop("the client closed the connection", byClient: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>A notification reached the client's stack: it wakes a client that waits for one.</summary>
    internal void Deliver(byte[] value)
    {
        bool wakes = _actor.WaitsForNotification;
        if (wakes)
        {
            _actor.Wake();
        }

        _delivering = wakes;
        if (!_subscriptions.Deliver(OtaUuids.Control, value))
        {
            NotificationLost();
        }

        _delivering = false;
    }

    /// <summary>Something between the link and the client swallowed the notification being delivered (a link fault).</summary>
    internal void NotificationLost()
    {
        if (_delivering)
        {
            _actor.Unwake();
            _delivering = false;
        }
    }

    /// <summary>
    /// The device reset at <paramref name="restartedAt"/> after accepting an image and the central has noticed (its
    /// supervision timeout ran out): the link drops and the bootloader starts the new image.
    /// </summary>
    internal void DeviceRestarts(TimeSpan restartedAt, string reason)
    {
        Drop(reason);
        lock (_device.Gate)
        {
            _device.Restart(restartedAt);
        }
    }

    /// <summary><see cref="DeviceFaults.DisconnectAfterBytes"/>: the device goes out of range once that much of the image arrived.</summary>
    internal void CheckDisconnectFault()
    {
        var faults = _device.Options.Faults;
        if (faults.DisconnectAfterBytes is { } limit && _device.Flash.IsUpdating && _device.Flash.Written >= limit
            && _device.DisconnectFaultsFired < faults.DisconnectTimes)
        {
            _device.DisconnectFaultsFired++;
            Drop("the device went out of range");
        }
    }

    /// <summary>
    /// Ends the link from either side; the firmware aborts (v1) or keeps (v2) the update in progress. The adapter
    /// stops waiting for the client once it closes the link; when the device drops it, the client first reacts.
    /// </summary>
    internal void Drop(string reason, bool byClient = false)
    {
        lock (_adapter.Gate)
        {
            if (!_connected)
            {
                if (byClient)
                {
                    _adapter.Unregister(_actor);
                }

                return;
            }

            _connected = false;
            var restartsAt = _engine.Drop();
            lock (_device.Gate)
            {
                _device.Model.OnDisconnect();
                _device.Connection = null;
                if (restartsAt is { } at)
                {
                    _device.Restart(at); // the client left before the restart delay ran out; the device restarts anyway
                }
            }
        }

        if (byClient)
        {
            _adapter.Unregister(_actor);
        }
        else
        {
            _adapter.Dropped(_actor);
        }

        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    private async Task<byte[]> RequestAsync(AttKind kind, Guid characteristic, byte[] value, CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_adapter.Gate)
        {
            EnsureConnected();
            _actor.Answers.RemoveAll(a => a.Answer.IsCompleted);
            _actor.Answers.Add((_actor.Generation, answer.Task));
            _engine.Send(new AttItem(kind, characteristic, value) { Answer = answer });
        }

        using var cancel = cancellationToken.Register(() => answer.TrySetCanceled(cancellationToken));
        _adapter.Blocked(_actor);
        return await answer.Task.ConfigureAwait(false);
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
