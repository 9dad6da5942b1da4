using System.Net.Sockets;
using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// A GATT link through BlueZ. Writes with response are <c>WriteValue</c> type "request"; writes without
/// response go through the socket <c>AcquireWrite</c> hands out when the characteristic offers it (one
/// packet per send, no D-Bus round trip), else <c>WriteValue</c> type "command". Notifications come from
/// <c>StartNotify</c> as PropertiesChanged of <c>Value</c>; the link's end is <c>Device1.Connected</c> turning false.
/// </summary>
internal sealed class BlueZConnection : IBleConnection
{
    private readonly BlueZBus _bus;
    private readonly string _devicePath;
    private readonly Dictionary<Guid, Characteristic> _characteristics;
    private readonly List<IDisposable> _watches = [];
    private readonly Dictionary<string, Action<byte[]>> _subscribers = new(StringComparer.Ordinal);
    private Socket? _writeSocket;
    private int _writeSocketMtu;
    private int _connected = 1;

    private BlueZConnection(BlueZBus bus, string address, string devicePath, Dictionary<Guid, Characteristic> characteristics)
    {
        _bus = bus;
        Address = address;
        _devicePath = devicePath;
        _characteristics = characteristics;
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    public string Address { get; }

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    public int Mtu { get; private set; } = MtuWaiter.DefaultMtu;

    public TimeProvider Clock => TimeProvider.System;

    /// <summary>How the last write without response travelled, for the verbose stream.</summary>
    public string WithoutResponsePath => _writeSocket is not null ? $"AcquireWrite socket (MTU {_writeSocketMtu})" : "WriteValue type=command";

    public string DescribeLink() =>
        $"BlueZ: ATT MTU {Mtu} (negotiated by bluetoothd), PHY not reported by BlueZ, writes with response as WriteValue type=request, "
        + $"without response as {WithoutResponsePath}, notifications by StartNotify";

    internal static async Task<BlueZConnection> OpenAsync(BlueZBus bus, string address, string devicePath, CancellationToken cancellationToken)
    {
        var resolved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        BlueZConnection? opened = null;
        var deviceWatch = await bus.WatchPropertiesAsync(devicePath, change =>
        {
            if (change.Path != devicePath || change.Interface != BlueZNames.Device)
            {
                return;
            }

            if (change.Changed.Bool("ServicesResolved"))
            {
                resolved.TrySetResult();
            }

            if (change.Changed.ContainsKey("Connected") && !change.Changed.Bool("Connected"))
            {
                resolved.TrySetException(new BleTransportException($"{address} disconnected while its services were being resolved."));
                opened?.Drop("the device disconnected");
            }
        }).ConfigureAwait(false);

        try
        {
            await RetryPolicy.Connect.RunAsync(async (_, _) =>
            {
                await bus.CallAsync(devicePath, BlueZNames.Device, "Connect").ConfigureAwait(false);
                return true;
            }, BlueZErrors.IsTransient, TimeProvider.System, cancellationToken).ConfigureAwait(false);

            var state = (await bus.GetManagedObjectsAsync().ConfigureAwait(false))[devicePath][BlueZNames.Device];
            if (!state.Bool("ServicesResolved"))
            {
                await resolved.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            var characteristics = (await bus.GetManagedObjectsAsync().ConfigureAwait(false))
                .With(BlueZNames.GattCharacteristic, devicePath)
                .Where(c => Guid.TryParse(c.Properties.String("UUID"), out _))
                .GroupBy(c => Guid.Parse(c.Properties.String("UUID")!))
                .ToDictionary(g => g.Key, g => new Characteristic(g.First().Path, g.First().Properties.Strings("Flags"), g.First().Properties.Int("MTU")));
            opened = new BlueZConnection(bus, address, devicePath, characteristics);
            opened._watches.Add(deviceWatch);
            return opened;
        }
        catch
        {
            deviceWatch.Dispose();
            try
            {
                await bus.CallAsync(devicePath, BlueZNames.Device, "Disconnect").ConfigureAwait(false);
            }
            catch (DBusErrorReplyException)
            {
                // It was not connected.
            }

            throw;
        }
    }

    /// <summary>bluetoothd exchanges the MTU itself on connect; this reports what it got.</summary>
    public async Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        EnsureConnected();
        cancellationToken.ThrowIfCancellationRequested();
        int? mtu = null;
        foreach (var characteristic in _characteristics.Values)
        {
            try
            {
                mtu = (int)(await _bus.GetPropertyAsync(characteristic.Path, BlueZNames.GattCharacteristic, "MTU").ConfigureAwait(false)).GetUInt16();
                break;
            }
            catch (DBusErrorReplyException)
            {
                // BlueZ before 5.62 has no MTU property; the AcquireWrite reply carries it instead.
            }
        }

        Mtu = Math.Max(MtuWaiter.DefaultMtu, mtu ?? _characteristics.Values.Select(c => c.Mtu ?? 0).DefaultIfEmpty(0).Max());
        return Mtu;
    }

    public bool HasCharacteristic(Guid characteristic) => _characteristics.ContainsKey(characteristic);

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        return BlueZTransport.Guard($"reading {characteristic}", () => _bus.CallAsync(target.Path, BlueZNames.GattCharacteristic, "ReadValue",
            (m, _) => m.GetBodyReader().ReadArrayOfByte(), "a{sv}", (ref MessageWriter w) => w.WriteDictionary(new Dictionary<string, VariantValue>()))
            .WaitAsync(cancellationToken));
    }

    public async Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        if (writeType == WriteType.WithoutResponse)
        {
            if (!target.Flags.Contains("write-without-response"))
            {
                throw new BleTransportException($"Characteristic {characteristic} does not support write without response.");
            }

            if (await WriteSocketAsync(target).ConfigureAwait(false) is { } socket)
            {
                await socket.SendAsync(value, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        byte[] bytes = value.ToArray();
        string type = writeType == WriteType.WithResponse ? "request" : "command";
        await BlueZTransport.Guard($"writing {characteristic}", async () =>
        {
            await _bus.CallAsync(target.Path, BlueZNames.GattCharacteristic, "WriteValue", "aya{sv}", (ref MessageWriter w) =>
            {
                w.WriteArray(bytes);
                w.WriteDictionary(new Dictionary<string, VariantValue> { ["type"] = type });
            }).WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    public async Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        if (!target.Flags.Contains("notify") && !target.Flags.Contains("indicate"))
        {
            throw new BleTransportException($"Characteristic {characteristic} does not notify.");
        }

        lock (_subscribers)
        {
            _subscribers[target.Path] = onNotification;
        }

        // Watch before StartNotify, so the first notification cannot slip past.
        var watch = await _bus.WatchPropertiesAsync(target.Path, change =>
        {
            if (change.Interface == BlueZNames.GattCharacteristic && change.Changed.Bytes("Value") is { } value)
            {
                Action<byte[]>? handler;
                lock (_subscribers)
                {
                    _subscribers.TryGetValue(change.Path, out handler);
                }

                handler?.Invoke(value);
            }
        }).ConfigureAwait(false);
        _watches.Add(watch);
        await BlueZTransport.Guard($"subscribing to {characteristic}", async () =>
        {
            await _bus.CallAsync(target.Path, BlueZNames.GattCharacteristic, "StartNotify").WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!IsConnected)
        {
            return;
        }

        try
        {
            await _bus.CallAsync(_devicePath, BlueZNames.Device, "Disconnect").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionException)
        {
            // Already gone: the device restarted or BlueZ dropped it.
        }

        Drop("the client closed the connection");
    }

    private void Drop(string reason)
    {
        if (Interlocked.Exchange(ref _connected, 0) == 0)
        {
            return;
        }

        _writeSocket?.Dispose();
        foreach (var watch in _watches)
        {
            watch.Dispose();
        }

        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    /// <summary>The AcquireWrite socket for this characteristic, or null where BlueZ does not hand one out.</summary>
    private async Task<Socket?> WriteSocketAsync(Characteristic target)
    {
        if (_writeSocket is not null || target.AcquireWriteRefused)
        {
            return _writeSocket;
        }

        try
        {
            (var handle, int mtu) = await _bus.CallAsync(target.Path, BlueZNames.GattCharacteristic, "AcquireWrite", (m, _) =>
            {
                var reader = m.GetBodyReader();
                var fd = reader.ReadHandle<SafeSocketHandle>()!;
                return (fd, (int)reader.ReadUInt16());
            }, "a{sv}", (ref MessageWriter w) => w.WriteDictionary(new Dictionary<string, VariantValue>())).ConfigureAwait(false);
            _writeSocket = new Socket(handle);
            _writeSocketMtu = mtu;
            return _writeSocket;
        }
        catch (DBusErrorReplyException)
        {
            target.AcquireWriteRefused = true; // e.g. NotSupported, or already acquired elsewhere
            return null;
        }
    }

    private Characteristic Find(Guid characteristic)
    {
        EnsureConnected();
        return _characteristics.TryGetValue(characteristic, out var found)
            ? found
            : throw new BleTransportException($"{Address} has no characteristic {characteristic}.");
    }

    private void EnsureConnected()
    {
        if (!IsConnected)
        {
            throw new BleTransportException($"Not connected to {Address}.");
        }
    }

    private sealed class Characteristic(string path, string[] flags, int? mtu)
    {
        public string Path { get; } = path;

        public string[] Flags { get; } = flags;

        public int? Mtu { get; } = mtu;

        public bool AcquireWriteRefused { get; set; }
    }
}
