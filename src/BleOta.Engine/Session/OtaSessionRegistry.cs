using System.Collections.Concurrent;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;

namespace BleOta.Engine.Session;

/// <summary>
/// Every session of this process, running and recent, so any runspace or thread job can ask how updates are going.
/// </summary>
public sealed class OtaSessionRegistry
{
    /// <summary>How many finished sessions are kept for <c>Get-OtaProgress</c> to report.</summary>
    public const int RecentLimit = 256;

    private readonly ConcurrentDictionary<Guid, OtaSession> _sessions = new();
    private readonly ConcurrentQueue<Guid> _order = new();

    public static OtaSessionRegistry Shared { get; } = new();

    public OtaSession Start(Esp32Device device, FirmwareImage image)
    {
        var session = new OtaSession(device, image);
        _sessions[session.Id] = session;
        _order.Enqueue(session.Id);
        Trim();
        return session;
    }

    /// <summary>The session with this id, while the registry keeps it.</summary>
    public OtaSession? Find(Guid id) => _sessions.TryGetValue(id, out var session) ? session : null;

    /// <summary>Snapshots of all sessions, oldest first.</summary>
    public IReadOnlyList<OtaProgress> Snapshots() =>
        _order.Select(id => _sessions.TryGetValue(id, out var s) ? s.Snapshot() : null).OfType<OtaProgress>().ToList();

    private void Trim()
    {
        // Drop the oldest finished sessions beyond the limit; running ones always stay.
        while (_order.Count > RecentLimit && _order.TryPeek(out var oldest)
               && _sessions.TryGetValue(oldest, out var session) && session.Snapshot().IsFinished)
        {
            if (_order.TryDequeue(out var removed))
            {
                _sessions.TryRemove(removed, out _);
            }
        }
    }
}
