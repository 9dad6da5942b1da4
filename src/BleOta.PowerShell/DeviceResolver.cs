using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>
/// Turns -Address and -Name into devices, the one place that does: an address is connected to directly,
/// a name is looked for with a scan. Devices that cannot be found are reported one ErrorRecord each.
/// </summary>
internal sealed class DeviceResolver(PSCmdlet cmdlet)
{
    /// <summary>Devices for these addresses, named as the last scan or the transport knows them, so results show names.</summary>
    /// <param name="addresses">The devices' addresses.</param>
    /// <param name="radios">The radios for addresses no simulated device has (-Transport, -Adapter).</param>
    public List<Esp32Device> ByAddress(IEnumerable<string> addresses, RadioChoice radios)
    {
        var devices = new List<Esp32Device>();
        foreach (string address in addresses)
        {
            try
            {
                var transport = radios.ForAddress(address);
                var scanned = ScanHistory.LastScan.FirstOrDefault(d => d.Transport == transport && string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase));
                devices.Add(new Esp32Device(address, scanned?.Name ?? transport.KnownName(address), scanned?.Rssi ?? 0, transport));
            }
            catch (PlatformNotSupportedException ex)
            {
                cmdlet.WriteError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.NotImplemented, address));
            }
        }

        return devices;
    }

    /// <summary>Scans for up to <paramref name="timeout"/> and returns every device whose name matches one of <paramref name="names"/>.</summary>
    public List<Esp32Device> ByName(IEnumerable<string> names, TimeSpan timeout, CancellationToken cancellationToken, RadioChoice radios)
    {
        var byTransports = new Dictionary<IReadOnlyList<IBleTransport>, List<(string Name, WildcardPattern Pattern)>>(ReferenceEqualityComparer.Instance);
        foreach (string name in names)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            try
            {
                var transports = radios.ForName(pattern);
                byTransports.TryAdd(transports, []);
                byTransports[transports].Add((name, pattern));
            }
            catch (PlatformNotSupportedException ex)
            {
                cmdlet.WriteError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.NotImplemented, name));
            }
        }

        var found = new List<Esp32Device>();
        var seen = new List<Esp32Device>();
        foreach (var (transports, wanted) in byTransports)
        {
            DebugSafeStreams.Verbose(cmdlet, $"Scanning {Describe(transports)} for up to {timeout.TotalSeconds:0.#} s for {string.Join(", ", wanted.Select(w => $"'{w.Name}'"))}.");
            try
            {
                foreach (var device in Scan(transports, ScanFilter.OtaService, timeout, cancellationToken))
                {
                    seen.Add(device);
                    if (wanted.Any(w => w.Pattern.IsMatch(device.Name)))
                    {
                        DebugSafeStreams.Verbose(cmdlet, $"Found {device} (RSSI {device.Rssi} dBm{(device.Adapter is null ? "" : $" on {device.Adapter}")}).");
                        found.Add(device);
                    }
                }
            }
            catch (BleTransportException ex)
            {
                // The radio cannot scan (no adapter, powered off, bluetoothd not running): the message says what to do.
                cmdlet.WriteError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.ResourceUnavailable, transports[0].Name));
                continue;
            }

            foreach (var (name, pattern) in wanted)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name) && !found.Any(d => pattern.IsMatch(d.Name)))
                {
                    var (id, category) = ErrorIds.For(OtaErrorCode.DeviceNotFound);
                    cmdlet.WriteError(new ErrorRecord(
                        new ItemNotFoundException($"No device named '{name}' answered a {timeout.TotalSeconds:0.#} s scan. Check that it is powered and in range (Find-Esp32Device lists what answers), or give a longer -TimeoutSec."),
                        id, category, name));
                }
            }
        }

        ScanHistory.Record(seen);
        return found;
    }

    /// <summary>"with the BlueZ transport", or with several adapters "with BlueZ adapters hci0, hci1", for the verbose stream.</summary>
    public static string Describe(IReadOnlyList<IBleTransport> transports) =>
        transports.Count == 1
            ? $"with the {transports[0].Name} transport"
            : $"with {transports[0].Name} adapters {string.Join(", ", transports.Select(t => t.AdapterName))}";

    /// <summary>Streams the devices a scan finds, on the calling thread; Ctrl+C ends it.</summary>
    public static IEnumerable<Esp32Device> Scan(IReadOnlyList<IBleTransport> transports, ScanFilter filter, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var scan = DeviceScanner.ScanAsync(transports, filter, timeout, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (MoveNext(scan))
            {
                yield return scan.Current;
            }
        }
        finally
        {
            scan.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static bool MoveNext(IAsyncEnumerator<Esp32Device> scan)
    {
        try
        {
            return scan.MoveNextAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return false; // Ctrl+C: PowerShell stops the pipeline itself
        }
    }
}
