using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>
/// -ThrottleLimit per adapter: each transport (one adapter: hci0, hci1, Windows' default radio, a simulated adapter)
/// serves at most the limit at once, as an adapter's connections share its air time and adapters do not share theirs.
/// Slots are asked for on the pipeline thread, in input order; SemaphoreSlim serves its waiters first come, first served.
/// </summary>
internal sealed class AdapterSlots(int limit) : IDisposable
{
    private readonly Dictionary<IBleTransport, SemaphoreSlim> _slots = new(ReferenceEqualityComparer.Instance);

    /// <summary>The slots of the adapter <paramref name="transport"/> is; call on the pipeline thread only.</summary>
    public SemaphoreSlim For(IBleTransport transport)
    {
        if (!_slots.TryGetValue(transport, out var slots))
        {
            _slots[transport] = slots = new SemaphoreSlim(limit, limit);
        }

        return slots;
    }

    public void Dispose()
    {
        foreach (var slots in _slots.Values)
        {
            slots.Dispose();
        }
    }
}
