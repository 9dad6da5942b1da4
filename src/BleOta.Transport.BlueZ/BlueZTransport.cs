using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// Linux radio through BlueZ over D-Bus: discovery on an <c>org.bluez.Adapter1</c> with an LE discovery
/// filter, <c>Device1.Connect</c>, GATT objects from the ObjectManager. Speaks to the system bus unless
/// <see cref="BusEnvironmentVariable"/> names another (tests point it at a private bus with a fake bluetoothd).
/// bluetoothd forgets a device it has not seen advertise for <c>TemporaryTimeout</c> (30 s by default,
/// src/main.conf; src/device.c set_temporary_timer) unless it is paired or connected, so connecting to an
/// address it no longer knows first runs a short discovery until the device shows up again.
/// </summary>
public sealed class BlueZTransport : IBleTransport, IBleAdapterList, IDisposable
{
    /// <summary>Environment variable with the D-Bus address to use instead of the system bus.</summary>
    public const string BusEnvironmentVariable = "BLEOTA_BLUEZ_BUS";

    private readonly string _busAddress;
    private readonly string? _adapterName;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly object _discoveryGate = new();
    private BlueZBus? _bus;
    private BlueZDiscovery? _discovery;

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

    /// <summary>How long a connect looks for a device bluetoothd has forgotten before it gives up.</summary>
    public TimeSpan RediscoveryTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The adapter's object path once a scan or connect found it, e.g. /org/bluez/hci0.</summary>
    public string? AdapterPath { get; private set; }

    /// <summary>The adapter asked for, else the one a scan or connect used (the first BlueZ lists).</summary>
    public string? AdapterName => _adapterName ?? (AdapterPath is null ? null : BlueZNames.AdapterName(AdapterPath));

    /// <summary>Every adapter bluetoothd exports (src/adapter.c adapter_register: /org/bluez/hci&lt;index&gt;), in path order.</summary>
    public async Task<IReadOnlyList<BleAdapter>> AdaptersAsync(CancellationToken cancellationToken)
    {
        var bus = await BusAsync(cancellationToken).ConfigureAwait(false);
        var objects = await Guard("listing the Bluetooth adapters", bus.GetManagedObjectsAsync).ConfigureAwait(false);
        return objects.With(BlueZNames.Adapter).Select(ToBleAdapter).ToList();
    }

    public string Describe() => AdapterPath is null
        ? $"BlueZ over D-Bus ({_busAddress})"
        : $"BlueZ adapter {AdapterName}, LE discovery (service UUIDs matched by BleOta, so names in scan responses arrive), over D-Bus ({_busAddress})";

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

                // A device object without RSSI is one BlueZ remembers, not one advertising now. BlueZ merges what
                // the advertisement and the scan response carried; a name may still come with a later scan response.
                if (all.Int("RSSI") is { } rssi && all.String("Address") is { } address)
                {
                    var uuids = all.Strings("UUIDs").Select(u => Guid.TryParse(u, out var g) ? g : Guid.Empty).Where(g => g != Guid.Empty).ToList();
                    found.Writer.TryWrite(new BleAdvertisement(address, all.String("Name"), rssi, uuids, this) { ScanResponsePending = all.String("Name") is null });
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
            if (change.Interface == BlueZNames.Device && (change.Changed.ContainsKey("RSSI") || change.Changed.ContainsKey("Name") || change.Changed.ContainsKey("UUIDs")))
            {
                Seen(change.Path, change.Changed);
            }
        }).ConfigureAwait(false);

        var discovery = await Guard("scanning", () => JoinDiscoveryAsync(bus, adapter, cancellationToken)).ConfigureAwait(false);
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
            await discovery.DisposeAsync().ConfigureAwait(false);
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
            await Guard(action, () => RediscoverAsync(bus, adapter, path, address, cancellationToken)).ConfigureAwait(false);
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

    /// <summary>
    /// Scans until bluetoothd has a device object for <paramref name="devicePath"/> again (it removed it
    /// TemporaryTimeout after it last saw the device), or fails saying why it may be missing.
    /// </summary>
    private async Task<bool> RediscoverAsync(BlueZBus bus, string adapter, string devicePath, string address, CancellationToken cancellationToken)
    {
        var appeared = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var added = await bus.WatchInterfacesAddedAsync((path, interfaces) =>
        {
            if (path == devicePath && interfaces.ContainsKey(BlueZNames.Device))
            {
                appeared.TrySetResult();
            }
        }).ConfigureAwait(false);
        await using var discovery = await JoinDiscoveryAsync(bus, adapter, cancellationToken).ConfigureAwait(false);
        if ((await bus.GetManagedObjectsAsync().ConfigureAwait(false)).ContainsKey(devicePath))
        {
            return true; // another scan found it meanwhile
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(RediscoveryTimeout);
        try
        {
            await appeared.Task.WaitAsync(limit.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BleTransportException(
                $"{address} did not advertise within {RediscoveryTimeout.TotalSeconds:0} s. BlueZ forgets a device it has not seen for 30 s (TemporaryTimeout in /etc/bluetooth/main.conf), so BleOta scanned for it again without finding it: check that it is powered, in range and not connected to another computer.",
                failure: BleTransportFailure.DeviceNotFound);
        }
    }

    private async Task<IAsyncDisposable> JoinDiscoveryAsync(BlueZBus bus, string adapter, CancellationToken cancellationToken)
    {
        BlueZDiscovery discovery;
        lock (_discoveryGate)
        {
            if (_discovery?.AdapterPath != adapter)
            {
                _discovery = new BlueZDiscovery(bus, adapter);
            }

            discovery = _discovery;
        }

        return await discovery.JoinAsync(cancellationToken).ConfigureAwait(false);
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
            : adapters.FirstOrDefault(a => BlueZNames.AdapterName(a.Path) == _adapterName);
        if (path is null)
        {
            throw _adapterName is null
                ? BlueZErrors.NoAdapter()
                : BlueZErrors.Radio(BleAdapter.NotFoundMessage(_adapterName, adapters.Select(ToBleAdapter).ToList()));
        }

        if (!properties.Bool("Powered"))
        {
            throw BlueZErrors.PoweredOff(path);
        }

        AdapterPath = path;
        return path;
    }

    private static BleAdapter ToBleAdapter((string Path, Properties Properties) adapter) =>
        new(BlueZNames.AdapterName(adapter.Path), adapter.Properties.String("Address") ?? "", adapter.Properties.Bool("Powered"));
}
