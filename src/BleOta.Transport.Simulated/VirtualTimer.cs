namespace BleOta.Transport.Simulated;

/// <summary>
/// A timer on an adapter's virtual clock: it fires when the scheduler reaches its time, never on the wall clock.
/// Its callback runs on the thread pool, as a system timer's does.
/// </summary>
internal sealed class VirtualTimer : ITimer
{
    private readonly SimulatedAdapter _adapter;
    private readonly TimerCallback _callback;
    private readonly object? _state;
    private TimeSpan _period = Timeout.InfiniteTimeSpan;

    public VirtualTimer(SimulatedAdapter adapter, LinkActor? actor, TimerCallback callback, object? state)
    {
        _adapter = adapter;
        Actor = actor;
        _callback = callback;
        _state = state;
        // A CancellationTokenSource's timeout (what NotificationInbox waits with) is told apart from a delay.
        IsTimeout = state is CancellationTokenSource;
    }

    public LinkActor? Actor { get; }

    public bool IsTimeout { get; }

    /// <summary>When it fires; <see cref="TimeSpan.MaxValue"/> while it is not armed.</summary>
    public TimeSpan Due { get; private set; } = TimeSpan.MaxValue;

    public bool Armed => Due != TimeSpan.MaxValue;

    /// <summary>The client generation it was armed in (see <see cref="LinkActor"/>).</summary>
    public long Generation { get; private set; }

    /// <summary>Creation order, so timers due together fire in a fixed order.</summary>
    public long Sequence { get; private set; }

    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        lock (_adapter.Gate)
        {
            _period = period;
            Due = dueTime == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : _adapter.Now + dueTime;
            Generation = Actor?.Generation ?? 0;
            Sequence = _adapter.NextSequence();
        }

        _adapter.TimerChanged(this);
        return true;
    }

    /// <summary>Called by the scheduler at <see cref="Due"/>: re-arms a periodic timer, then runs the callback.</summary>
    public void Fire()
    {
        Due = _period == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : _adapter.Now + _period;
        Generation = Actor?.Generation ?? 0;
        ThreadPool.UnsafeQueueUserWorkItem(static t => t._callback(t._state), this, preferLocal: false);
    }

    public void Dispose()
    {
        Due = TimeSpan.MaxValue;
        _adapter.TimerDisposed(this);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A link's clock: the adapter's virtual time, with timers that count as waits of this link's client. Durations
/// read from it are the device's, however fast the simulation runs.
/// </summary>
internal sealed class LinkClock(SimulatedAdapter adapter, Func<LinkActor?> actor) : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Epoch + adapter.Now;

    public override long GetTimestamp() => adapter.Now.Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = adapter.CreateTimer(actor(), callback, state);
        timer.Change(dueTime, period);
        return timer;
    }
}
