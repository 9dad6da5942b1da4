using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// The phases of an update as a link sees them, whatever the protocol: before the first Control write
/// (MTU exchange, Info read, subscribe, v1's packet size), the first Control write and its answer (REQUEST),
/// Data writes after it (the image), and Control writes after image data (DONE and its answer).
/// </summary>
public enum UpdatePhase
{
    Negotiate,
    Request,
    Transfer,
    Done,
}

/// <summary>What goes wrong on the link. docs/fault-model.md says which layer each stands for on a real radio.</summary>
public enum LinkFaultKind
{
    /// <summary>A notification never reaches the client (the device's stack ran out of buffers).</summary>
    DropNotification,

    /// <summary>A write reaches the device twice (a client stack that retries on its own).</summary>
    DuplicatePacket,

    /// <summary>One bit of a write is flipped above the link layer's CRC (a bad buffer, a hostile peer).</summary>
    CorruptPacket,

    /// <summary>
    /// A write is lost: a write without response vanishes (the receiver's queue overflowed); a write with
    /// response is never answered, and the stack drops the link once the client gives up (ATT timeout).
    /// </summary>
    LosePacket,

    /// <summary>The link drops (out of range, supervision timeout).</summary>
    Disconnect,

    /// <summary>The device restarts (power loss, watchdog): the link drops and the bootloader runs.</summary>
    DeviceRestart,

    /// <summary>The user cancels the client (Ctrl+C, StopProcessing).</summary>
    Cancel,
}

/// <summary>One fault, armed for one phase; in <see cref="UpdatePhase.Transfer"/> it fires at the write that reaches <see cref="AtByte"/>.</summary>
public sealed record LinkFault(LinkFaultKind Kind, UpdatePhase Phase, int AtByte = 0, int Seed = 0);

/// <summary>
/// A link that misbehaves once, as <see cref="LinkFault"/> says, in front of any connection: a simulated device
/// or the firmware's C core in the loop. Everything else passes through unchanged.
/// </summary>
public sealed class FaultyConnection : IBleConnection
{
    private readonly IBleConnection _inner;
    private readonly LinkFault _fault;
    private readonly Action? _restartDevice;
    private readonly CancellationTokenSource? _cancel;
    private readonly object _gate = new();
    private bool _sawControlWrite;
    private long _imageBytes;
    private UpdatePhase _phase = UpdatePhase.Negotiate;
    private int _fired;

    /// <param name="inner">The real link.</param>
    /// <param name="fault">What to break, and when.</param>
    /// <param name="restartDevice">Restarts the device, for <see cref="LinkFaultKind.DeviceRestart"/>.</param>
    /// <param name="cancel">The client's cancellation, for <see cref="LinkFaultKind.Cancel"/>.</param>
    public FaultyConnection(IBleConnection inner, LinkFault fault, Action? restartDevice = null, CancellationTokenSource? cancel = null)
    {
        _inner = inner;
        _fault = fault;
        _restartDevice = restartDevice;
        _cancel = cancel;
        _inner.Disconnected += (_, e) => Disconnected?.Invoke(this, e);
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    /// <summary>True once the fault has happened.</summary>
    public bool Fired => Volatile.Read(ref _fired) == 1;

    public string Address => _inner.Address;

    public bool IsConnected => _inner.IsConnected;

    public int Mtu => _inner.Mtu;

    public TimeProvider Clock => _inner.Clock;

    public bool HasCharacteristic(Guid characteristic) => _inner.HasCharacteristic(characteristic);

    public async Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        await InterruptIfDueAsync(Arm(null, 0), cancellationToken).ConfigureAwait(false);
        return await _inner.RequestMtuAsync(preferredMtu, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        await InterruptIfDueAsync(Arm(null, 0), cancellationToken).ConfigureAwait(false);
        return await _inner.ReadAsync(characteristic, cancellationToken).ConfigureAwait(false);
    }

    public async Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        await InterruptIfDueAsync(Arm(null, 0), cancellationToken).ConfigureAwait(false);
        await _inner.SubscribeAsync(characteristic, value =>
        {
            bool drop;
            lock (_gate)
            {
                drop = _fault.Kind == LinkFaultKind.DropNotification && _phase == _fault.Phase && TryFire();
            }

            if (!drop)
            {
                onNotification(value);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        bool due = Arm(characteristic, value.Length);
        await InterruptIfDueAsync(due, cancellationToken).ConfigureAwait(false);
        if (!due)
        {
            await _inner.WriteAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (_fault.Kind)
        {
            case LinkFaultKind.DuplicatePacket:
                await _inner.WriteAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
                try
                {
                    await _inner.WriteAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
                }
                catch (BleTransportException)
                {
                    // The client never sent the copy, so it never sees the copy's answer; the device's state is what counts.
                }

                return;
            case LinkFaultKind.CorruptPacket:
                var corrupted = value.ToArray();
                var random = new Random(_fault.Seed);
                corrupted[random.Next(corrupted.Length)] ^= (byte)(1 << random.Next(8));
                await _inner.WriteAsync(characteristic, corrupted, writeType, cancellationToken).ConfigureAwait(false);
                return;
            case LinkFaultKind.LosePacket when writeType == WriteType.WithoutResponse:
                return;
            case LinkFaultKind.LosePacket:
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await _inner.DisposeAsync().ConfigureAwait(false); // no ATT after a transaction timeout: the link goes
                }

                return;
            default:
                await _inner.WriteAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>Moves the phase on for this operation and says whether the armed write fault is due now.</summary>
    private bool Arm(Guid? characteristic, int length)
    {
        lock (_gate)
        {
            if (characteristic == OtaUuids.Control)
            {
                _phase = !_sawControlWrite ? UpdatePhase.Request : _imageBytes > 0 ? UpdatePhase.Done : _phase;
                _sawControlWrite = true;
            }
            else if (characteristic == OtaUuids.Data && _sawControlWrite)
            {
                _phase = UpdatePhase.Transfer;
            }

            bool due = _phase == _fault.Phase && _fault.Kind != LinkFaultKind.DropNotification
                && (_phase != UpdatePhase.Transfer || _imageBytes + length > _fault.AtByte)
                && (characteristic is not null || _fault.Kind is LinkFaultKind.Disconnect or LinkFaultKind.DeviceRestart or LinkFaultKind.Cancel)
                && TryFire();
            if (_phase == UpdatePhase.Transfer && characteristic == OtaUuids.Data)
            {
                _imageBytes += length;
            }

            return due;
        }
    }

    /// <summary>Faults that end the operation before it reaches the device.</summary>
    private async Task InterruptIfDueAsync(bool due, CancellationToken cancellationToken)
    {
        if (!due)
        {
            return;
        }

        switch (_fault.Kind)
        {
            case LinkFaultKind.Disconnect:
                await _inner.DisposeAsync().ConfigureAwait(false);
                throw new BleTransportException($"The link to {Address} dropped.");
            case LinkFaultKind.DeviceRestart:
                (_restartDevice ?? throw new InvalidOperationException("DeviceRestart needs a way to restart the device."))();
                throw new BleTransportException($"The link to {Address} dropped: the device restarted.");
            case LinkFaultKind.Cancel:
                (_cancel ?? throw new InvalidOperationException("Cancel needs the client's cancellation source.")).Cancel();
                cancellationToken.ThrowIfCancellationRequested();
                throw new OperationCanceledException(_cancel.Token);
        }
    }

    private bool TryFire() => Interlocked.Exchange(ref _fired, 1) == 0;
}

/// <summary>A transport whose next connection is a <see cref="FaultyConnection"/>; later ones pass through untouched.</summary>
public sealed class FaultyTransport(IBleTransport inner, LinkFault fault, Action? restartDevice = null, CancellationTokenSource? cancel = null) : IBleTransport
{
    private int _used;

    public string Name => inner.Name;

    /// <summary>The faulty link, once one was opened.</summary>
    public FaultyConnection? Connection { get; private set; }

    public IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, CancellationToken cancellationToken) => inner.ScanAsync(filter, cancellationToken);

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        var connection = await inner.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _used, 1) == 1)
        {
            return connection;
        }

        Connection = new FaultyConnection(connection, fault, restartDevice, cancel);
        return Connection;
    }
}
