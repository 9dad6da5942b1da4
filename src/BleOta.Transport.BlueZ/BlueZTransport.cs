using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// Linux radio through BlueZ over D-Bus: discovery on an <c>org.bluez.Adapter1</c> with an LE discovery
/// filter, <c>Device1.Connect</c>, GATT objects from the ObjectManager. Speaks to the system bus unless
/// <see cref="BusEnvironmentVariable"/> names another (tests point it at a private bus with a fake bluetoothd).
/// </summary>
public sealed class BlueZTransport : IBleTransport, IDisposable
{
    /// <summary>Environment variable with the D-Bus address to use instead of the system bus.</summary>
    public const string BusEnvironmentVariable = "BLEOTA_BLUEZ_BUS";

    private readonly string _busAddress;
    private readonly string? _adapterName;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private BlueZBus? _bus;

    /// <summary>The system bus (or <see cref="BusEnvironmentVariable"/>) and the first adapter: what the module uses.</summary>
    public BlueZTransport() : this(null, null)
    {
    }

    /// <param name="busAddress">D-Bus address; null: <see cref="BusEnvironmentVariable"/>, else the system bus.</param>
    /// <param name="adapter">Adapter to use ("hci1"); null: the first one BlueZ lists.</param>
    public BlueZTransport(string? busAddress, string? adapter = null)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(BusEnvironmentVariable);
        _busAddress = busAddress ?? (string.IsNullOrWhiteSpace(fromEnvironment) ? DBusAddress.System! : fromEnvironment);
        _adapterName = adapter;
    }

    public string Name => "BlueZ";

    /// <summary>The adapter's object path once a scan or connect found it, e.g. /org/bluez/hci0.</summary>
    public string? AdapterPath { get; private set; }

    public string Describe() => AdapterPath is null
        ? $"BlueZ over D-Bus ({_busAddress})"
        : $"BlueZ adapter {AdapterPath[(AdapterPath.LastIndexOf('/') + 1)..]}, LE discovery, over D-Bus ({_busAddress})";

    public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var bus = await BusAsync(cancellationToken).ConfigureAwait(false);
        string adapter = await Guard("scanning", () => AdapterAsync(bus)).ConfigureAwait(false);
        var found = Channel.CreateUnbounded<BleAdvertisement>();
        var known = new Dictionary<string, Properties>(StringComparer.Ordinal);

        void Seen(string path, Properties device)
        {
            lock (known)
            {
                if (!known.TryGetValue(path, out var all))
                {
                    known[path] = all = new Properties();
                }

                foreach (var (name, value) in device)
                {
                    all[name] = value;
                }

                // A device object without RSSI is one BlueZ remembers, not one advertising now.
                if (all.Int("RSSI") is { } rssi && all.String("Address") is { } address)
                {
                    var uuids = all.Strings("UUIDs").Select(u => Guid.TryParse(u, out var g) ? g : Guid.Empty).Where(g => g != Guid.Empty).ToList();
                    found.Writer.TryWrite(new BleAdvertisement(address, all.String("Name"), rssi, uuids, this));
                }
            }
        }

        using var added = await bus.WatchInterfacesAddedAsync((path, interfaces) =>
        {
            if (path.StartsWith(adapter + "/", StringComparison.Ordinal) && interfaces.TryGetValue(BlueZNames.Device, out var device))
            {
                Seen(path, device);
            }
        }).ConfigureAwait(false);
        using var changed = await bus.WatchPropertiesAsync(adapter, change =>
        {
            if (change.Interface == BlueZNames.Device && change.Changed.ContainsKey("RSSI"))
            {
                Seen(change.Path, change.Changed);
            }
        }).ConfigureAwait(false);

        await Guard("scanning", async () =>
        {
            await bus.CallAsync(adapter, BlueZNames.Adapter, "SetDiscoveryFilter", "a{sv}", (ref MessageWriter w) =>
            {
                var options = new Dictionary<string, VariantValue> { ["Transport"] = "le" };
                if (filter.OsServiceUuid is { } uuid)
                {
                    options["UUIDs"] = VariantValue.Array(new[] { uuid.ToString() });
                }

                w.WriteDictionary(options);
            }).ConfigureAwait(false);
            await bus.CallAsync(adapter, BlueZNames.Adapter, "StartDiscovery").ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

        try
        {
            foreach (var (path, device) in (await bus.GetManagedObjectsAsync().ConfigureAwait(false)).With(BlueZNames.Device, adapter))
            {
                Seen(path, device);
            }

            while (true)
            {
                BleAdvertisement advertisement;
                try
                {
                    advertisement = await found.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break; // the scan window ended
                }

                yield return advertisement;
            }
        }
        finally
        {
            try
            {
                await bus.CallAsync(adapter, BlueZNames.Adapter, "StopDiscovery").ConfigureAwait(false);
            }
            catch (DBusErrorReplyException)
            {
                // Discovery already stopped (adapter reset or powered off): nothing to undo.
            }
        }
    }

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        var bus = await BusAsync(cancellationToken).ConfigureAwait(false);
        string action = $"connecting to {address}";
        string adapter = await Guard(action, () => AdapterAsync(bus)).ConfigureAwait(false);
        string path = BlueZNames.DevicePath(adapter, address);
        var objects = await Guard(action, bus.GetManagedObjectsAsync).ConfigureAwait(false);
        if (!objects.ContainsKey(path))
        {
            throw new BleTransportException($"BlueZ has not seen {address}. Scan for it first (Find-Esp32Device), as BlueZ connects only to devices it discovered.");
        }

        return await Guard(action, () => BlueZConnection.OpenAsync(bus, address, path, cancellationToken)).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _bus?.Dispose();
        _connectGate.Dispose();
    }

    /// <summary>Runs a D-Bus step and turns its failure into a message that says what to do.</summary>
    internal static async Task<T> Guard<T>(string action, Func<Task<T>> step)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (Exception ex) when (BlueZErrors.Translate(ex, action) is var translated && translated != ex)
        {
            throw translated;
        }
    }

    private async Task<BlueZBus> BusAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_bus is null)
            {
                var connection = new DBusConnection(_busAddress);
                await Guard("connecting to D-Bus", async () =>
                {
                    await connection.ConnectAsync().ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
                _bus = new BlueZBus(connection);
            }

            return _bus;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>The adapter to use, refusing a missing or powered-off one with what to do about it.</summary>
    private async Task<string> AdapterAsync(BlueZBus bus)
    {
        var adapters = (await bus.GetManagedObjectsAsync().ConfigureAwait(false)).With(BlueZNames.Adapter).ToList();
        var (path, properties) = _adapterName is null
            ? adapters.FirstOrDefault()
            : adapters.FirstOrDefault(a => a.Path.EndsWith("/" + _adapterName, StringComparison.Ordinal));
        if (path is null)
        {
            throw _adapterName is null
                ? BlueZErrors.NoAdapter()
                : new BleTransportException($"BlueZ has no adapter {_adapterName}; it has {(adapters.Count == 0 ? "none" : string.Join(", ", adapters.Select(a => a.Path)))}.");
        }

        if (!properties.Bool("Powered"))
        {
            throw BlueZErrors.PoweredOff(path);
        }

        AdapterPath = path;
        return path;
    }
}
