using BleOta.Engine.Transport;

namespace BleOta.Engine.Discovery;

/// <summary>
/// Merges what a scan sees per address: an advertiser's advertisement and scan response arrive apart (Windows
/// raises one Received event for each, MicrosoftDocs/winrt-api BluetoothLEAdvertisementType.ScanResponse;
/// Linux sends them apart when another report comes between, net/bluetooth/hci_event.c process_adv_report),
/// and our firmware puts the service UUID in one and its name in the other. A device is ready once it matches
/// the filter and nothing more is expected (its name is known, or no scan response is pending), or when the
/// scan ends. Each address becomes a device once. When several adapters scan, a device stays on the adapter
/// (transport) that reported it first: its RSSI is what that adapter hears; name and services come from any.
/// </summary>
public sealed class ScanMerger(ScanFilter filter)
{
    private readonly Dictionary<string, Seen> _seen = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Seen> _order = [];

    /// <summary>Takes one packet; returns the device when this packet completed it.</summary>
    public Esp32Device? Add(BleAdvertisement packet)
    {
        if (!_seen.TryGetValue(packet.Address, out var seen))
        {
            _seen[packet.Address] = seen = new Seen(packet.Address, packet.Transport);
            _order.Add(seen);
        }

        seen.Merge(packet);
        return !seen.Emitted && Matches(seen) && (seen.Name is not null || !packet.ScanResponsePending) ? Emit(seen) : null;
    }

    /// <summary>The scan ended: every matching device not yet emitted, with what is known of it, in the order first seen.</summary>
    public IEnumerable<Esp32Device> Remaining() => _order.Where(s => !s.Emitted && Matches(s)).Select(Emit).ToList();

    /// <summary>Whether a device belongs in the results, from everything its packets said so far.</summary>
    private bool Matches(Seen seen) => filter.Matches(seen.Name, seen.ServiceUuids);

    private static Esp32Device Emit(Seen seen)
    {
        seen.Emitted = true;
        return Esp32Device.FromAdvertisement(new BleAdvertisement(seen.Address, seen.Name, seen.Rssi, [.. seen.ServiceUuids], seen.Transport));
    }

    /// <summary>Everything known of one address so far.</summary>
    private sealed class Seen(string address, IBleTransport transport)
    {
        public string Address { get; } = address;

        public IBleTransport Transport { get; } = transport;

        public string? Name { get; private set; }

        public int Rssi { get; private set; }

        public HashSet<Guid> ServiceUuids { get; } = [];

        public bool Emitted { get; set; }

        public void Merge(BleAdvertisement packet)
        {
            Name = string.IsNullOrEmpty(packet.Name) ? Name : packet.Name;
            Rssi = packet.Transport == Transport ? packet.Rssi : Rssi;
            ServiceUuids.UnionWith(packet.ServiceUuids);
        }
    }
}
