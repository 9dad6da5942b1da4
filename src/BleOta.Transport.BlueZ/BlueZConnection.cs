using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// A GATT link through BlueZ. Writes with response are <c>WriteValue</c> type "request"; writes without
/// response go through the socket <c>AcquireWrite</c> hands out when the characteristic offers it (one
/// packet per send, no D-Bus round trip), else <c>WriteValue</c> type "command" (BlueZ before 5.51 ignores the
/// type and sends a write request). Notifications come from <c>StartNotify</c> as PropertiesChanged of
/// <c>Value</c>; the link's end is <c>Device1.Connected</c> turning false, or bluetoothd shutting the write
/// socket, or a GATT call failing because the link is gone, whichever BleOta sees first.
/// </summary>
internal sealed class BlueZConnection : IBleConnection
{
    private readonly BlueZBus _bus;
    private readonly string _devicePath;
    private readonly Dictionary<Guid, Characteristic> _characteristics;
    private readonly List<IDisposable> _watches = [];
    private readonly Dictionary<string, Action<byte[]>> _subscribers = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private BlueZWriteSocket? _writeSocket;
    private string _mtuSource = "BlueZ reported none";
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
    public string WithoutResponsePath =>
        _writeSocket is { } socket ? $"AcquireWrite socket (MTU {socket.Mtu})"
        : _characteristics.Values.Any(c => c.AcquireWriteRefused) ? "WriteValue type=command (BlueZ before 5.51 sends that as a write request)" // AcquireWrite is there from 5.48
        : "AcquireWrite socket (acquired with the first packet)";

    public string DescribeLink() =>
        $"BlueZ: ATT MTU {Mtu} (negotiated by bluetoothd, {_mtuSource}), PHY not reported by BlueZ, writes with response as WriteValue type=request, "
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
                .ToDictionary(g => g.Key, g => new Characteristic(g.First().Path, g.First().Properties.Strings("Flags")));
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

    /// <summary>
    /// bluetoothd exchanges the MTU itself while connecting; this reports what it got: from the characteristics'
    /// MTU property (BlueZ 5.62 and later), else from the AcquireWrite reply, whose socket v2 then writes through.
    /// </summary>
    public async Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        EnsureConnected();
        cancellationToken.ThrowIfCancellationRequested();
        if (_characteristics.Values.FirstOrDefault() is { } any)
        {
            try
            {
                var mtu = await GattCallAsync("reading the MTU", () => _bus.GetPropertyAsync(any.Path, BlueZNames.GattCharacteristic, "MTU")).ConfigureAwait(false);
                Mtu = Math.Max(MtuWaiter.DefaultMtu, (int)mtu.GetUInt16());
                _mtuSource = "from the MTU property";
                return Mtu;
            }
            catch (BleTransportException ex) when (ex is not BleLinkLostException)
            {
                // BlueZ before 5.62: "No such property 'MTU'".
            }
        }

        var writable = _characteristics.Values.FirstOrDefault(c => c.Flags.Contains("write-without-response"));
        if (writable is not null && await WriteSocketAsync(writable).ConfigureAwait(false) is { } socket)
        {
            Mtu = Math.Max(MtuWaiter.DefaultMtu, socket.Mtu);
            _mtuSource = "from the AcquireWrite reply, as BlueZ before 5.62 has no MTU property";
        }

        return Mtu;
    }

    public bool HasCharacteristic(Guid characteristic) => _characteristics.ContainsKey(characteristic);

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        return GattCallAsync($"reading {characteristic}", () => _bus.CallAsync(target.Path, BlueZNames.GattCharacteristic, "ReadValue",
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
                try
                {
                    await socket.SendAsync(value, cancellationToken).ConfigureAwait(false);
                }
                catch (BleLinkLostException)
                {
                    Drop("bluetoothd shut the write socket: the link dropped");
                    throw;
                }

                return;
            }
        }
        else if (_writeSocket is { } held && held.CharacteristicPath == target.Path)
        {
            // bluetoothd refuses WriteValue while the socket is held ("Write acquired"): give it back first.
            _writeSocket = null;
            target.AcquireWriteRefused = true;
            await BlueZTransport.Guard($"giving back the write socket of {characteristic}", async () =>
            {
                await held.ReleaseAsync().ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        byte[] bytes = value.ToArray();
        string type = writeType == WriteType.WithResponse ? "request" : "command";
        await GattCallAsync($"writing {characteristic}", async () =>
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
        await GattCallAsync($"subscribing to {characteristic}", async () =>
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

        _writeSocket?.Dispose();
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

        _dropped.TrySetResult();
        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    /// <summary>
    /// A GATT call whose failure is told apart: the device refused (an ATT error), or the link is gone. bluetoothd
    /// answers a request the disconnect cut off with ATT error 0x0E (src/shared/att.c disconnect_cb fails the
    /// pending request without a PDU; gatt-client.c process_error makes that BT_ATT_ERROR_UNLIKELY), which a
    /// device may also send itself; Connected turning false within a moment decides which it was.
    /// </summary>
    private async Task<T> GattCallAsync<T>(string action, Func<Task<T>> call)
    {
        try
        {
            return await BlueZTransport.Guard(action, call).ConfigureAwait(false);
        }
        catch (BleTransportException ex)
        {
            if (ex is BleLinkLostException
                || (ex is BleAttException { AttError: UnlikelyError } && await DroppedWithinAsync(LinkLossGrace).ConfigureAwait(false))
                || (ex is not BleAttException && !await StillConnectedAsync().ConfigureAwait(false)))
            {
                Drop("the device disconnected");
                throw ex as BleLinkLostException ?? new BleLinkLostException($"The link dropped while {action} ({ex.Message}).", ex);
            }

            throw;
        }
    }

    private const byte UnlikelyError = 0x0E;

    /// <summary>How long a 0x0E answer waits for Connected=false before it counts as the device's own error.</summary>
    private static readonly TimeSpan LinkLossGrace = TimeSpan.FromSeconds(1);

    private async Task<bool> DroppedWithinAsync(TimeSpan grace) =>
        await Task.WhenAny(_dropped.Task, Task.Delay(grace)).ConfigureAwait(false) == _dropped.Task;

    /// <summary>Whether bluetoothd still counts the device as connected (false when it cannot say).</summary>
    private async Task<bool> StillConnectedAsync()
    {
        try
        {
            var connected = await _bus.GetPropertyAsync(_devicePath, BlueZNames.Device, "Connected").ConfigureAwait(false);
            return connected.Type == VariantValueType.Bool && connected.GetBool();
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionException)
        {
            return false;
        }
    }

    /// <summary>The AcquireWrite socket for this characteristic, or null where BlueZ does not hand one out.</summary>
    private async Task<BlueZWriteSocket?> WriteSocketAsync(Characteristic target)
    {
        if (_writeSocket is not null || target.AcquireWriteRefused)
        {
            return _writeSocket;
        }

        _writeSocket = await BlueZTransport.Guard("acquiring the write socket", () => BlueZWriteSocket.AcquireAsync(_bus, target.Path)).ConfigureAwait(false);
        target.AcquireWriteRefused = _writeSocket is null;
        return _writeSocket;
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
            throw new BleLinkLostException($"Not connected to {Address}.");
        }
    }

    private sealed class Characteristic(string path, string[] flags)
    {
        public string Path { get; } = path;

        public string[] Flags { get; } = flags;

        public bool AcquireWriteRefused { get; set; }
    }
}
