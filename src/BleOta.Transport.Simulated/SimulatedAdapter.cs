using System.Diagnostics;

namespace BleOta.Transport.Simulated;

/// <summary>
/// One simulated radio (hci0): the virtual clock all its links share and the scheduler that moves it. Time
/// advances only when every client with an open link is waiting on the simulation (a write's answer, a
/// notification, a timer on the link's clock); then the earliest thing any link or timer is due to do
/// happens, and whoever it concerns runs until it waits again. So a run gives the same figures on any machine
/// and at any speed, and links on one adapter share its air time as a controller shares it between its
/// connections: each gets an equal slot of every connection interval (docs/link-model.md, "Fleets").
/// </summary>
public sealed class SimulatedAdapter
{
    /// <summary>A client that has not touched the simulation for this long is taken to wait on something else.</summary>
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(1);

    /// <summary>How far a paced run may fall behind the wall clock before it stops trying to catch up.</summary>
    private static readonly TimeSpan MaxLag = TimeSpan.FromMilliseconds(50);

    private readonly object _gate = new();
    private readonly List<LinkActor> _actors = [];
    private readonly List<VirtualTimer> _orphanTimers = [];
    private long _ticks;
    private long _sequence;
    private double _speed;
    private long _paceWallStart = Stopwatch.GetTimestamp();
    private long _paceVirtualStart;
    private bool _pumping;
    private bool _pumpAgain;
    private bool _pacingScheduled;
    private bool _watchdogScheduled;
    private TimeSpan _initiatorFreeAt;
    private int _holds;

    public SimulatedAdapter(string name = "hci0", double speed = 1)
    {
        Name = name;
        Speed = speed;
    }

    public string Name { get; }

    /// <summary>Simulated seconds per real second; 0 runs as fast as the machine allows.</summary>
    public double Speed
    {
        get => Volatile.Read(ref _speed);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_gate)
            {
                _speed = value;
                _paceWallStart = Stopwatch.GetTimestamp();
                _paceVirtualStart = _ticks;
            }
        }
    }

    /// <summary>Simulated time on this adapter since it was created.</summary>
    public TimeSpan Now => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    /// <summary>Links open now: each gets this share of every connection interval.</summary>
    public int OpenLinks
    {
        get
        {
            lock (_gate)
            {
                return Math.Max(1, _actors.Count(a => a.Engine is not null));
            }
        }
    }

    internal object Gate => _gate;

    /// <summary>
    /// Gives connection attempts not yet placed their turn on this adapter's one initiator: each starts once the
    /// previous one is done and its device advertises, as the controller refuses a second LE Create Connection
    /// while one is pending (Core spec Vol 4 Part E 7.8.12). Attempts made at the same simulated instant go in
    /// address order, whichever thread asked first, so runs repeat. Call under the lock, with every client waiting.
    /// </summary>
    private void PlaceConnections()
    {
        var waiting = _actors.Select(a => a.Connecting).OfType<PendingConnect>().Where(c => c.Due is null)
            .OrderBy(c => c.Earliest).ThenBy(c => c.Address, StringComparer.Ordinal).ToList();
        foreach (var connect in waiting)
        {
            var start = connect.Earliest > _initiatorFreeAt ? connect.Earliest : _initiatorFreeAt;
            _initiatorFreeAt = start + connect.Duration;
            connect.Due = _initiatorFreeAt;
        }
    }

    internal long NextSequence() => ++_sequence;

    /// <summary>Clients registered now (open links and connection attempts).</summary>
    internal int Clients
    {
        get
        {
            lock (_gate)
            {
                return _actors.Count;
            }
        }
    }

    /// <summary>Stops time until disposed, so several clients can start at the same simulated instant.</summary>
    internal IDisposable Hold()
    {
        lock (_gate)
        {
            _holds++;
        }

        return new Release(this);
    }

    /// <summary>
    /// A client starts using the adapter (a connection attempt to <paramref name="address"/>); it runs until it
    /// waits. A link to that device the device dropped is done with: its client has moved on to this attempt.
    /// </summary>
    internal LinkActor Register(string address)
    {
        List<LinkActor> left;
        LinkActor actor;
        lock (_gate)
        {
            left = _actors.Where(a => a.Lingering && a.Address == address).ToList();
            actor = new LinkActor(this, _actors.Count == 0 ? 1 : _actors.Max(a => a.Id) + 1, address);
            _actors.Add(actor);
        }

        foreach (var done in left)
        {
            Unregister(done);
        }

        return actor;
    }

    /// <summary>
    /// The device dropped the client's link: the client learns it (its requests fail, Disconnected is raised), so
    /// it runs, and the adapter waits for it until it waits again, connects anew or closes the link.
    /// </summary>
    internal void Dropped(LinkActor actor)
    {
        lock (_gate)
        {
            actor.Engine = null;
            actor.Lingering = true;
            actor.Wake();
        }
    }

    /// <summary>The client's link is gone: the adapter no longer waits for it.</summary>
    internal void Unregister(LinkActor actor)
    {
        lock (_gate)
        {
            if (_actors.Remove(actor))
            {
                foreach (var timer in actor.Timers)
                {
                    _orphanTimers.Add(timer); // a timer on a closed link still fires, at its time
                }

                actor.Timers.Clear();
            }
        }

        Pump();
    }

    /// <summary>Something the client did: it is running, so the adapter waits for it.</summary>
    internal void Touch(LinkActor actor)
    {
        lock (_gate)
        {
            actor.LastActivity = Stopwatch.GetTimestamp();
            actor.Idle = false;
        }
    }

    /// <summary>The client now waits on the simulation: maybe everyone does, and time can move.</summary>
    internal void Blocked(LinkActor actor)
    {
        Touch(actor);
        Pump();
    }

    internal VirtualTimer CreateTimer(LinkActor? actor, TimerCallback callback, object? state)
    {
        lock (_gate)
        {
            var timer = new VirtualTimer(this, actor, callback, state);
            if (actor is not null && _actors.Contains(actor))
            {
                actor.Timers.Add(timer);
                actor.LastActivity = Stopwatch.GetTimestamp();
                actor.Idle = false;
            }
            else
            {
                _orphanTimers.Add(timer);
            }

            return timer;
        }
    }

    internal void TimerChanged(VirtualTimer timer)
    {
        if (timer.Actor is { } actor)
        {
            Blocked(actor);
        }
        else
        {
            Pump();
        }
    }

    internal void TimerDisposed(VirtualTimer timer)
    {
        lock (_gate)
        {
            if (timer.Actor is { } actor)
            {
                actor.Timers.Remove(timer);
                actor.LastActivity = Stopwatch.GetTimestamp();
            }

            _orphanTimers.Remove(timer);
        }
    }

    /// <summary>
    /// Moves time on while every client waits: the earliest link event or timer happens, repeatedly, until a
    /// client has something to do. One thread pumps at a time; a request while it pumps makes it go round again.
    /// </summary>
    internal void Pump()
    {
        lock (_gate)
        {
            if (_pumping)
            {
                _pumpAgain = true;
                return;
            }

            _pumping = true;
        }

        try
        {
            while (Step())
            {
            }
        }
        finally
        {
            bool again;
            lock (_gate)
            {
                _pumping = false;
                again = _pumpAgain;
                _pumpAgain = false;
            }

            if (again)
            {
                Pump();
            }
        }
    }

    /// <summary>One moment of simulated time; false when time cannot move now.</summary>
    private bool Step()
    {
        lock (_gate)
        {
            _pumpAgain = false;
            if (_holds > 0)
            {
                return false;
            }

            var running = _actors.Where(a => !a.IsWaiting && !a.Idle).ToList();
            if (running.Count > 0)
            {
                ArmWatchdog(running);
                return false;
            }

            PlaceConnections();
            var now = TimeSpan.FromTicks(_ticks);
            var next = TimeSpan.MaxValue;
            foreach (var actor in _actors)
            {
                next = Min(next, actor.Engine?.NextEventTime ?? TimeSpan.MaxValue);
                next = Min(next, actor.Connecting?.Due ?? TimeSpan.MaxValue);
                foreach (var timer in actor.Timers)
                {
                    next = Min(next, timer.Due);
                }
            }

            foreach (var timer in _orphanTimers)
            {
                next = Min(next, timer.Due);
            }

            if (next == TimeSpan.MaxValue)
            {
                return false;
            }

            next = next < now ? now : next;
            if (!PacedUpTo(next))
            {
                return false;
            }

            Interlocked.Exchange(ref _ticks, next.Ticks);
            RunDue(next);
            return true;
        }
    }

    /// <summary>Everything due at <paramref name="now"/>, in a fixed order: links by id, then connections, then timers by creation.</summary>
    private void RunDue(TimeSpan now)
    {
        foreach (var actor in _actors.ToList())
        {
            if (actor.Engine is { } engine && engine.NextEventTime <= now)
            {
                engine.Process(now);
            }
        }

        foreach (var actor in _actors.ToList())
        {
            if (actor.Connecting is { Due: { } connectedAt } connecting && connectedAt <= now)
            {
                actor.Connecting = null;
                actor.Wake();
                connecting.Complete();
            }
        }

        var due = _actors.SelectMany(a => a.Timers).Concat(_orphanTimers)
            .Where(t => t.Due <= now).OrderBy(t => t.Sequence).ToList();
        foreach (var timer in due)
        {
            timer.Actor?.Wake();
            timer.Fire();
        }
    }

    /// <summary>At a speed above 0, false until the wall clock reaches <paramref name="next"/> (a pump is scheduled for then).</summary>
    private bool PacedUpTo(TimeSpan next)
    {
        if (_speed <= 0)
        {
            return true;
        }

        var due = TimeSpan.FromTicks((long)((next.Ticks - _paceVirtualStart) / _speed)) - Stopwatch.GetElapsedTime(_paceWallStart);
        if (due < -MaxLag)
        {
            // Behind the wall clock (idle, or a slow machine): start pacing from here rather than catch up in a burst.
            _paceWallStart = Stopwatch.GetTimestamp();
            _paceVirtualStart = next.Ticks;
            return true;
        }

        if (due <= TimeSpan.FromMilliseconds(1))
        {
            return true;
        }

        if (!_pacingScheduled)
        {
            _pacingScheduled = true;
            _ = Task.Delay(due).ContinueWith(_ =>
            {
                lock (_gate)
                {
                    _pacingScheduled = false;
                }

                Pump();
            }, TaskScheduler.Default);
        }

        return false;
    }

    /// <summary>A client busy elsewhere (a real-time wait, a test's own task) must not stop the adapter for good.</summary>
    private void ArmWatchdog(List<LinkActor> running)
    {
        var now = Stopwatch.GetTimestamp();
        var oldest = running.Min(a => a.LastActivity);
        var left = Watchdog - Stopwatch.GetElapsedTime(oldest, now);
        if (left <= TimeSpan.Zero)
        {
            foreach (var actor in running.Where(a => Stopwatch.GetElapsedTime(a.LastActivity, now) >= Watchdog))
            {
                actor.Idle = true;
            }

            _pumpAgain = true;
            return;
        }

        if (!_watchdogScheduled)
        {
            _watchdogScheduled = true;
            _ = Task.Delay(left).ContinueWith(_ =>
            {
                lock (_gate)
                {
                    _watchdogScheduled = false;
                }

                Pump();
            }, TaskScheduler.Default);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class Release(SimulatedAdapter adapter) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                lock (adapter._gate)
                {
                    adapter._holds--;
                }

                adapter.Pump();
            }
        }
    }
}
