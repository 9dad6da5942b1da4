using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Support;

/// <summary>
/// A link that sends writes the way Windows was seen to (MicrosoftDocs/winrt-api issue 2423): WriteValueAsync
/// without response completes at once, the packet waits in the OS, and the OS puts queued packets on air in
/// bursts of 2 to 5 with stalls of 1 to 2 s between them; a write with response waits its turn in the same queue.
/// Behind it is the simulator's v2 server (the C core's decisions). It runs on its own virtual clock, which only
/// moves while the client waits: when the client waits for a notification (it arms a timer on <see cref="Clock"/>),
/// the link plays its bursts forward until the device notifies or the wait runs out. So a transfer of minutes
/// runs in milliseconds and, for one seed, the same way every time.
/// </summary>
internal sealed class BurstyWindowsLink : TimeProvider, IBleConnection
{
    private readonly BleOtaFirmwareModel _server;
    private readonly Random _random;
    private readonly Queue<Write> _osQueue = new();
    private readonly Queue<(long At, byte[] Value)> _notifications = new();
    private Action<byte[]>? _onControl;
    private long _now;
    private long _nextBurst; // when the radio sends its next packet
    private int _burstLeft; // packets left in the burst going at _nextBurst; 0: draw a new one
    private uint _highestEnd;

    public BurstyWindowsLink(BleOtaFirmwareModel server, int mtu, int seed)
    {
        _server = server;
        _random = new Random(seed);
        Mtu = mtu;
        server.OnConnect(mtu);
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected
    {
        add { } // this link never drops
        remove { }
    }

    /// <summary>Data packets the client handed over, and how many of them went back to an offset already sent.</summary>
    public int DataPackets { get; private set; }

    public int ResentPackets { get; private set; }

    /// <summary>Virtual time since the link opened.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(_now);

    public string Address => "B0:05:7E:00:00:01";

    public bool IsConnected => true;

    public int Mtu { get; }

    public TimeProvider Clock => this;

    public override long GetTimestamp() => _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch + Elapsed;

    /// <summary>The client waits (for a notification, or a pause) until <paramref name="dueTime"/>: play the link forward.</summary>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        long due = _now + dueTime.Ticks;
        Run(due, stopAtNotification: true);
        if (_notifications.TryPeek(out var next) && next.At <= due)
        {
            _notifications.Dequeue();
            _now = Math.Max(_now, next.At);
            _onControl?.Invoke(next.Value);
            return new Unfired();
        }

        _now = due;
        ThreadPool.QueueUserWorkItem(_ => callback(state)); // the wait ran out
        return new Unfired();
    }

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
        var write = new Write(characteristic, value.ToArray());
        if (characteristic == OtaUuids.Data)
        {
            uint offset = BitConverter.ToUInt32(write.Value);
            DataPackets++;
            ResentPackets += offset < _highestEnd ? 1 : 0;
            _highestEnd = Math.Max(_highestEnd, offset + (uint)(write.Value.Length - V2Messages.DataHeaderLength));
        }

        _osQueue.Enqueue(write);
        if (writeType == WriteType.WithoutResponse)
        {
            return Task.CompletedTask; // Windows completes it once queued
        }

        Run(long.MaxValue, stopAtNotification: false, until: write);
        return write.Status == 0 ? Task.CompletedTask : Task.FromException(new BleAttException(write.Status, $"ATT 0x{write.Status:X2}"));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Sends queued packets as the radio's bursts come, up to <paramref name="limit"/>; stops after a packet the
    /// device notified about, or once <paramref name="until"/> was answered.
    /// </summary>
    private void Run(long limit, bool stopAtNotification, Write? until = null)
    {
        while (_osQueue.Count > 0 && _nextBurst <= limit && !(stopAtNotification && _notifications.Count > 0))
        {
            if (_burstLeft == 0)
            {
                _burstLeft = _random.Next(2, 6); // 2 to 5 packets at once
            }

            _now = Math.Max(_now, _nextBurst);
            var write = _osQueue.Dequeue();
            Deliver(write);
            if (--_burstLeft == 0)
            {
                _nextBurst = _now + TimeSpan.FromSeconds(1 + _random.NextDouble()).Ticks; // then 1 to 2 s of nothing
            }

            if (write == until)
            {
                return;
            }
        }
    }

    private void Deliver(Write write)
    {
        write.Status = write.Characteristic == OtaUuids.Data ? _server.OnDataWrite(write.Value) : _server.OnControlWrite(write.Value);
        while (_server.Notifications.TryDequeue(out var notification))
        {
            _notifications.Enqueue((_now, notification));
        }
    }

    private sealed class Write(Guid characteristic, byte[] value)
    {
        public Guid Characteristic { get; } = characteristic;

        public byte[] Value { get; } = value;

        public byte Status { get; set; }
    }

    private sealed class Unfired : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
