using System.Diagnostics;

namespace BleOta.Transport.Simulated;

/// <summary>
/// The client behind one link, as the adapter's scheduler sees it: running, or waiting on the simulation.
/// Every wake-up (an answer, a notification it waits for, a timer) starts a new generation; a wait counts only
/// if it began in the current one, so the scheduler never moves time while the client still reacts.
/// </summary>
internal sealed class LinkActor(SimulatedAdapter adapter, int id, string address)
{
    private long _generation;

    public int Id { get; } = id;

    /// <summary>The device the client connects to.</summary>
    public string Address { get; } = address;

    /// <summary>The device dropped the link; the client has not closed it or connected anew yet.</summary>
    public bool Lingering { get; set; }

    public SimulatedAdapter Adapter { get; } = adapter;

    /// <summary>The link's simulation once connected; null while the connection is being set up.</summary>
    public LinkEngine? Engine { get; set; }

    /// <summary>A connection attempt the client waits for.</summary>
    public PendingConnect? Connecting { get; set; }

    public List<VirtualTimer> Timers { get; } = [];

    /// <summary>Answers (writes with response, reads, MTU) the client waits for, each with the generation it began in.</summary>
    public List<(long Generation, Task Answer)> Answers { get; } = [];

    public long LastActivity { get; set; } = Stopwatch.GetTimestamp();

    /// <summary>Set by the watchdog: the client waits on something outside the simulation.</summary>
    public bool Idle { get; set; }

    public long Generation => _generation;

    /// <summary>True while the client waits on the simulation and nothing has woken it since.</summary>
    public bool IsWaiting =>
        Connecting is not null
        || Timers.Any(t => t.Generation == _generation && t.Armed)
        || Answers.Any(a => a.Generation == _generation && !a.Answer.IsCompleted);

    /// <summary>
    /// True when a notification wakes the client: it waits with a timeout (NotificationInbox's) and for nothing
    /// else, so what it waits for can only be a notification or that timeout.
    /// </summary>
    public bool WaitsForNotification =>
        Connecting is null
        && !Answers.Any(a => a.Generation == _generation && !a.Answer.IsCompleted)
        && Timers.Any(t => t.Generation == _generation && t.Armed && t.IsTimeout);

    /// <summary>The client has something to do again: it runs, and the watchdog counts from now.</summary>
    public void Wake()
    {
        _generation++;
        Idle = false;
        LastActivity = Stopwatch.GetTimestamp();
    }

    /// <summary>A delivery that was meant to wake the client never reached it (a link fault swallowed it).</summary>
    public void Unwake() => _generation--;
}

/// <summary>
/// A connection attempt: the device advertises from <see cref="Earliest"/> and the connection takes
/// <see cref="Duration"/>. The adapter gives it its turn on the initiator (<see cref="Due"/>) when time next moves.
/// </summary>
internal sealed class PendingConnect(string address, TimeSpan earliest, TimeSpan duration, Action complete)
{
    public string Address { get; } = address;

    public TimeSpan Earliest { get; } = earliest;

    public TimeSpan Duration { get; } = duration;

    /// <summary>When the connection is made; unknown until the adapter has placed it.</summary>
    public TimeSpan? Due { get; set; }

    public void Complete() => complete();
}
