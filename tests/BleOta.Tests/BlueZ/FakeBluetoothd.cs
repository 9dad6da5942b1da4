using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;
using BleOta.Transport.BlueZ;
using BleOta.Transport.HostFirmware;
using Tmds.DBus.Protocol;

namespace BleOta.Tests.BlueZ;

/// <summary>How the fake's adapter (or the fake itself) misbehaves.</summary>
public enum FakeAdapter
{
    PoweredOn,
    PoweredOff,
    Missing,
    AccessDenied,
}

/// <summary>
/// A stand-in for bluetoothd on a private bus: exports org.bluez's Adapter1, Device1, GattService1 and
/// GattCharacteristic1 objects through an ObjectManager, as BlueZ lays them out, and answers the calls the
/// transport makes as the bluez source does (each behaviour names the file and function it follows), for the
/// release it is told to be (<see cref="FakeBluezRelease"/>). Its peripherals are <see cref="HostFirmwareDevice"/>s,
/// so behind the D-Bus API runs the firmware's real C core. It can have several adapters (hci0, hci1, ...): each keeps
/// its own discovery clients and filters (src/adapter.c struct btd_adapter: discovery_list, set_filter_list) and its own
/// device objects under its path, and hears the devices <see cref="InRange"/> says it does.
/// </summary>
internal sealed class FakeBluetoothd : IPathMethodHandler, IDisposable
{
    public const string AdapterPath = "/org/bluez/hci0";
    private const string DevicePrefix = "/dev_";
    private const string ServiceSuffix = "/service0028";

    private static readonly (Guid Uuid, string Suffix, string[] Flags)[] Gatt =
    [
        (OtaUuids.Control, "/char0029", ["read", "write", "notify"]),
        (OtaUuids.Data, "/char002c", ["write", "write-without-response"]),
        (OtaUuids.Info, "/char002e", ["read"]),
    ];

    private readonly DBusConnection _bus;
    private readonly HostFirmwareTransport _firmware;
    private readonly FakeAdapter _adapter;
    private readonly FakeBluezRelease _release;
    private readonly TimeProvider _clock;
    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IBleConnection> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeWriteSocket> _writeSockets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _temporaryTimers = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Adapter, string Sender), string[]> _discoveryFilters = []; // UUIDs ([] = all)
    private readonly Dictionary<string, HashSet<string>> _discovering = new(StringComparer.Ordinal); // adapter → senders
    private int _socketPackets;
    private int? _dropLinkAfterSocketPackets;

    private FakeBluetoothd(DBusConnection bus, HostFirmwareTransport firmware, FakeAdapter adapter, FakeBluezRelease release, TimeProvider clock, int adapters)
    {
        _bus = bus;
        _firmware = firmware;
        _adapter = adapter;
        _release = release;
        _clock = clock;
        for (int index = 0; adapter != FakeAdapter.Missing && index < adapters; index++)
        {
            // src/adapter.c adapter_register: the object path is /org/bluez/hci<kernel index>.
            string path = $"/org/bluez/hci{index}";
            _objects[path] = new()
            {
                [BlueZNames.Adapter] = new()
                {
                    ["Address"] = $"00:1A:7D:DA:71:{0x13 + index:X2}",
                    ["Powered"] = adapter != FakeAdapter.PoweredOff,
                    ["Discovering"] = false,
                },
            };
            _discovering[path] = new HashSet<string>(StringComparer.Ordinal);
        }
    }

    public string Path => "/";

    public bool HandlesChildPaths => true;

    /// <summary>Calls the transport made, as "Interface.Member", in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>
    /// Packets the client sent as writes without response, each with how bluetoothd put it on air: "socket"
    /// (AcquireWrite), "command" (WriteValue type=command) or "request" (a release that ignores the type).
    /// </summary>
    public List<(string Path, byte[] Packet)> WithoutResponsePackets { get; } = [];

    /// <summary>
    /// TemporaryTimeout (bluez src/main.conf, default 30 s): how long after it was last seen an unconnected,
    /// unpaired device object is removed (src/device.c set_temporary_timer, device_disappeared).
    /// </summary>
    public TimeSpan TemporaryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Every advertisement and its scan response reach bluetoothd as two reports, as the kernel sends them when
    /// another device's report comes between (net/bluetooth/hci_event.c process_adv_report flushes the pending
    /// advertisement unmerged); false: the kernel merged them.
    /// </summary>
    public bool SplitScanResponses { get; init; }

    /// <summary>Whether the adapter (object path) hears the device (address); by default every adapter hears every device.</summary>
    public Func<string, string, bool> InRange { get; set; } = (_, _) => true;

    /// <summary>The device objects Device1.Connect was called on, in order (their paths name the adapter).</summary>
    public List<string> ConnectCalls { get; } = [];

    /// <summary>After this many more packets through AcquireWrite sockets the link drops (a supervision timeout).</summary>
    public int? DropLinkAfterSocketPackets
    {
        get => _dropLinkAfterSocketPackets;
        set
        {
            lock (_gate)
            {
                (_dropLinkAfterSocketPackets, _socketPackets) = (value, 0);
            }
        }
    }

    /// <summary>The next write request whose value starts with this is cut off by the link dropping.</summary>
    public byte[]? DropLinkDuringWriteOf { get; set; }

    public static async Task<FakeBluetoothd> StartAsync(string busAddress, HostFirmwareTransport firmware, FakeAdapter adapter = FakeAdapter.PoweredOn,
        FakeBluezRelease? release = null, TimeProvider? clock = null, bool splitScanResponses = false, int adapters = 1)
    {
        var bus = new DBusConnection(busAddress);
        await bus.ConnectAsync();
        var fake = new FakeBluetoothd(bus, firmware, adapter, release ?? FakeBluezRelease.Current, clock ?? TimeProvider.System, adapters)
        {
            SplitScanResponses = splitScanResponses,
        };
        bus.AddMethodHandler(fake);
        await bus.RequestNameAsync(BlueZNames.Service);
        return fake;
    }

    /// <summary>Whether bluetoothd still has an object for the device under the adapter (it removes temporary ones, see <see cref="TemporaryTimeout"/>).</summary>
    public bool Knows(string address, string adapterPath = AdapterPath)
    {
        lock (_gate)
        {
            return _objects.ContainsKey(BlueZNames.DevicePath(adapterPath, address));
        }
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        var request = context.Request;
        string path = request.PathAsString ?? "/";
        string member = $"{request.InterfaceAsString}.{request.MemberAsString}";
        lock (_gate)
        {
            Calls.Add(member);
            if (_adapter == FakeAdapter.AccessDenied)
            {
                context.ReplyError("org.freedesktop.DBus.Error.AccessDenied", "Rejected send message (fake policy)");
                return ValueTask.CompletedTask;
            }

            try
            {
                Handle(context, path, member, request.SenderAsString ?? "");
            }
            catch (BleAttException ex)
            {
                FakeGattErrors.Reply(context, ex.AttError);
            }
            catch (BleTransportException ex)
            {
                context.ReplyError("org.bluez.Error.Failed", ex.Message);
            }
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var timer in _temporaryTimers.Values)
            {
                timer.Dispose();
            }

            foreach (var socket in _writeSockets.Values)
            {
                socket.Shut();
            }

            foreach (var link in _links.Values.ToList())
            {
                link.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        _bus.Dispose();
    }

    private void Handle(MethodContext context, string path, string member, string sender)
    {
        switch (member)
        {
            case "org.freedesktop.DBus.ObjectManager.GetManagedObjects":
                ReplyManagedObjects(context);
                return;
            case "org.freedesktop.DBus.Properties.Get":
                ReplyProperty(context, path);
                return;
            case "org.bluez.Adapter1.SetDiscoveryFilter" when _discovering.ContainsKey(path):
                SetDiscoveryFilter(context, path, sender);
                return;
            case "org.bluez.Adapter1.StartDiscovery" when _discovering.ContainsKey(path):
                StartDiscovery(context, path, sender);
                return;
            case "org.bluez.Adapter1.StopDiscovery" when _discovering.ContainsKey(path):
                StopDiscovery(context, path, sender);
                return;
            case "org.bluez.Device1.Connect":
                ConnectCalls.Add(path);
                Connect(path);
                Reply(context);
                return;
            case "org.bluez.Device1.Disconnect":
                if (_links.Remove(path, out var link))
                {
                    link.DisposeAsync().AsTask().GetAwaiter().GetResult(); // its Disconnected event updates the objects
                }

                Reply(context);
                return;
            case "org.bluez.GattCharacteristic1.ReadValue":
                var read = Link(path).ReadAsync(Uuid(path), CancellationToken.None).GetAwaiter().GetResult();
                var readReply = context.CreateReplyWriter("ay");
                readReply.WriteArray(read);
                context.Reply(readReply.CreateMessage());
                readReply.Dispose();
                return;
            case "org.bluez.GattCharacteristic1.WriteValue":
                WriteValue(context, path);
                return;
            case "org.bluez.GattCharacteristic1.StartNotify":
                string characteristic = path;
                Link(path).SubscribeAsync(Uuid(path), v => Changed(characteristic, BlueZNames.GattCharacteristic, new() { ["Value"] = VariantValue.Array(v) }), CancellationToken.None)
                    .GetAwaiter().GetResult();
                Set(path, BlueZNames.GattCharacteristic, "Notifying", true);
                Reply(context);
                return;
            case "org.bluez.GattCharacteristic1.StopNotify":
                Set(path, BlueZNames.GattCharacteristic, "Notifying", false);
                Reply(context);
                return;
            case "org.bluez.GattCharacteristic1.AcquireWrite" when _release.HasAcquireWrite:
                AcquireWrite(context, path);
                return;
            default:
                // gdbus leaves an unknown method (or object: an adapter path no adapter has) to libdbus, which answers it this way.
                context.ReplyError("org.freedesktop.DBus.Error.UnknownMethod",
                    $"Method \"{context.Request.MemberAsString}\" with signature \"{context.Request.SignatureAsString}\" on interface \"{context.Request.InterfaceAsString}\" doesn't exist");
                return;
        }
    }

    /// <summary>src/adapter.c set_discovery_filter: per client; a key the release does not know is InvalidArguments.</summary>
    private void SetDiscoveryFilter(MethodContext context, string adapter, string sender)
    {
        if (!AdapterPowered(adapter))
        {
            context.ReplyError("org.bluez.Error.NotReady", "Resource Not Ready");
            return;
        }

        var filter = context.Request.GetBodyReader().ReadDictionaryOfStringToVariantValue();
        if (filter.Keys.Any(k => !_release.AcceptsFilterKey(k)))
        {
            context.ReplyError("org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
            return;
        }

        _discoveryFilters[(adapter, sender)] = filter.TryGetValue("UUIDs", out var uuids) ? uuids.GetArray<string>() : [];
        if (_discovering[adapter].Contains(sender))
        {
            Discover(adapter);
        }

        Reply(context);
    }

    /// <summary>src/adapter.c start_discovery: one discovery per client (a second one is InProgress).</summary>
    private void StartDiscovery(MethodContext context, string adapter, string sender)
    {
        if (!AdapterPowered(adapter))
        {
            context.ReplyError("org.bluez.Error.NotReady", "Resource Not Ready");
            return;
        }

        if (!_discovering[adapter].Add(sender))
        {
            context.ReplyError("org.bluez.Error.InProgress", "Operation already in progress"); // btd_error_busy
            return;
        }

        Set(adapter, BlueZNames.Adapter, "Discovering", true);
        Discover(adapter);
        Reply(context);
    }

    /// <summary>
    /// src/adapter.c stop_discovery; when the last client stops, discovery_cleanup invalidates every device's RSSI
    /// and the devices' last sighting restarts their temporary timers.
    /// </summary>
    private void StopDiscovery(MethodContext context, string adapter, string sender)
    {
        if (!_discovering[adapter].Remove(sender))
        {
            context.ReplyError("org.bluez.Error.Failed", "No discovery started");
            return;
        }

        if (_discovering[adapter].Count == 0)
        {
            Set(adapter, BlueZNames.Adapter, "Discovering", false);
            foreach (var (path, interfaces) in _objects.Where(o => o.Key.StartsWith(adapter + DevicePrefix, StringComparison.Ordinal) && o.Value.ContainsKey(BlueZNames.Device)).ToList())
            {
                if (interfaces[BlueZNames.Device].Remove("RSSI"))
                {
                    Changed(path, BlueZNames.Device, [], invalidated: ["RSSI"]); // device_set_rssi(dev, 0)
                }

                if (!_links.ContainsKey(path))
                {
                    StartTemporaryTimer(path);
                }
            }
        }

        Reply(context);
    }

    /// <summary>
    /// The reports of every advertising device the adapter hears (not bricked, not connected through any adapter: the
    /// firmware stops advertising while connected), as src/adapter.c btd_adapter_device_found
    /// takes them: a new address gets an object (adapter_create_device) before the discovery filter is checked; a
    /// report that matches no client's filter (is_filter_match: no UUID of the filter in it) changes nothing more;
    /// a scan response alone creates nothing. While discovery runs, the devices keep advertising, so no
    /// temporary timer runs for them (device_update_last_seen restarts it with every report).
    /// </summary>
    private void Discover(string adapter)
    {
        foreach (var device in _firmware.Devices.Where(d => !d.IsBricked && !IsConnected(d.Address) && InRange(adapter, d.Address)))
        {
            string path = BlueZNames.DevicePath(adapter, device.Address);
            // CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID; a device without Info, like the tutorial's, advertises none.
            string[] advertisedUuids = device.AdvertisedServices.Select(u => u.ToString()).ToArray();
            var advertisement = new Dictionary<string, VariantValue> { ["RSSI"] = (short)device.Rssi, ["UUIDs"] = VariantValue.Array(advertisedUuids) };
            if (!SplitScanResponses)
            {
                // The kernel merged the scan response into the report. Alias: the name, unless the user set one
                // (doc/org.bluez.Device.rst).
                advertisement["Name"] = advertisement["Alias"] = device.Name;
            }

            StopTemporaryTimer(path);
            if (!_objects.ContainsKey(path))
            {
                var properties = new Dictionary<string, VariantValue>
                {
                    ["Address"] = device.Address,
                    ["AddressType"] = "public",
                    ["Connected"] = false,
                    ["ServicesResolved"] = false,
                    ["Adapter"] = VariantValue.ObjectPath(adapter),
                };
                if (MatchesFilter(adapter, advertisedUuids))
                {
                    foreach (var (name, value) in advertisement)
                    {
                        properties[name] = value;
                    }
                }

                _objects[path] = new() { [BlueZNames.Device] = properties };
                Added(path, _objects[path]);
            }
            else if (MatchesFilter(adapter, advertisedUuids))
            {
                SetAll(path, BlueZNames.Device, advertisement);
            }

            if (SplitScanResponses && MatchesFilter(adapter, []))
            {
                SetAll(path, BlueZNames.Device, new() { ["RSSI"] = (short)device.Rssi, ["Name"] = device.Name, ["Alias"] = device.Name }); // the scan response: name, no UUID
            }
        }
    }

    /// <summary>The UUIDs of every client's discovery filter; empty: every client takes every LE device.</summary>
    public string[] DiscoveryUuids
    {
        get
        {
            lock (_gate)
            {
                return _discoveryFilters.Values.SelectMany(u => u).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            }
        }
    }

    /// <summary>src/adapter.c is_filter_match: a client of the adapter without UUIDs in its filter takes every report.</summary>
    private bool MatchesFilter(string adapter, string[] reportUuids) =>
        _discovering[adapter].Any(client => !_discoveryFilters.TryGetValue((adapter, client), out var uuids) || uuids.Length == 0
            || uuids.Any(u => reportUuids.Contains(u, StringComparer.OrdinalIgnoreCase)));

    /// <summary>Whether the device has a link through any adapter.</summary>
    private bool IsConnected(string address) =>
        _links.Keys.Any(path => path.EndsWith(DevicePrefix + address.ToUpperInvariant().Replace(':', '_'), StringComparison.Ordinal));

    /// <summary>src/device.c set_temporary_timer: an unconnected device disappears TemporaryTimeout after it was last seen.</summary>
    private void StartTemporaryTimer(string devicePath)
    {
        StopTemporaryTimer(devicePath);
        _temporaryTimers[devicePath] = _clock.CreateTimer(_ => Disappeared(devicePath), null, TemporaryTimeout, Timeout.InfiniteTimeSpan);
    }

    private void StopTemporaryTimer(string devicePath)
    {
        if (_temporaryTimers.Remove(devicePath, out var timer))
        {
            timer.Dispose();
        }
    }

    /// <summary>src/device.c device_disappeared: btd_adapter_remove_device unregisters the object.</summary>
    private void Disappeared(string devicePath)
    {
        lock (_gate)
        {
            if (_links.ContainsKey(devicePath) || !_objects.Remove(devicePath))
            {
                return;
            }

            _temporaryTimers.Remove(devicePath);
            Removed(devicePath, [BlueZNames.Device]);
        }
    }

    /// <summary>Device1.Connect: src/device.c device_add_connection clears the temporary timer; GATT objects appear, then ServicesResolved.</summary>
    private void Connect(string devicePath)
    {
        if (!_objects.TryGetValue(devicePath, out var device))
        {
            throw new BleTransportException("Device does not exist");
        }

        if (_links.ContainsKey(devicePath))
        {
            return; // BlueZ answers a second Connect of a connected device with success
        }

        string address = device[BlueZNames.Device]["Address"].GetString();
        var link = _firmware.ConnectAsync(address, CancellationToken.None).GetAwaiter().GetResult();
        int mtu = link.RequestMtuAsync(517, CancellationToken.None).GetAwaiter().GetResult(); // bluetoothd exchanges its own MTU
        _links[devicePath] = link;
        StopTemporaryTimer(devicePath);
        // After the call that caused it has been answered: the firmware restarts 500 ms after its write response (or
        // after a write command, which BlueZ answers once queued), so BlueZ sees the link drop after replying.
        link.Disconnected += (_, _) => Task.Run(() => Disconnected(devicePath));

        string service = devicePath + ServiceSuffix;
        _objects[service] = new()
        {
            [BlueZNames.GattService] = new()
            {
                ["UUID"] = OtaUuids.Service.ToString(),
                ["Primary"] = true,
                ["Device"] = VariantValue.ObjectPath(devicePath),
            },
        };
        Added(service, _objects[service]);
        foreach (var (uuid, suffix, flags) in Gatt.Where(c => link.HasCharacteristic(c.Uuid)))
        {
            var properties = new Dictionary<string, VariantValue>
            {
                ["UUID"] = uuid.ToString(),
                ["Service"] = VariantValue.ObjectPath(service),
                ["Flags"] = VariantValue.Array(flags),
                ["Notifying"] = false,
            };
            if (_release.HasMtuProperty)
            {
                properties["MTU"] = (ushort)mtu;
            }

            if (_release.HasAcquireWrite && flags.Contains("write-without-response"))
            {
                properties["WriteAcquired"] = false;
            }

            _objects[service + suffix] = new() { [BlueZNames.GattCharacteristic] = properties };
            Added(service + suffix, _objects[service + suffix]);
        }

        Set(devicePath, BlueZNames.Device, "Connected", true);
        Set(devicePath, BlueZNames.Device, "ServicesResolved", true);
    }

    /// <summary>
    /// The link dropped (the device restarted, went out of range, or the client disconnected), in bluetoothd's
    /// order: the ATT channel's end shuts the AcquireWrite sockets (src/gatt-client.c btd_gatt_client_disconnected),
    /// then the adapter's disconnect event removes the GATT objects and turns Connected false, and the device's
    /// last sighting restarts its temporary timer (src/device.c device_remove_connection).
    /// </summary>
    private void Disconnected(string devicePath)
    {
        lock (_gate)
        {
            _links.Remove(devicePath);
            foreach (string socketPath in _writeSockets.Keys.Where(p => p.StartsWith(devicePath + "/", StringComparison.Ordinal)).ToList())
            {
                _writeSockets.Remove(socketPath, out var socket);
                socket!.Shut();
            }

            foreach (string path in _objects.Keys.Where(p => p.StartsWith(devicePath + "/", StringComparison.Ordinal)).OrderDescending().ToList())
            {
                var interfaces = _objects[path].Keys.ToArray();
                _objects.Remove(path);
                Removed(path, interfaces);
            }

            if (_objects.ContainsKey(devicePath))
            {
                Set(devicePath, BlueZNames.Device, "ServicesResolved", false);
                Set(devicePath, BlueZNames.Device, "Connected", false);
                StartTemporaryTimer(devicePath);
            }
        }
    }

    /// <summary>src/gatt-client.c characteristic_write_value.</summary>
    private void WriteValue(MethodContext context, string characteristicPath)
    {
        var link = Link(characteristicPath);
        if (_writeSockets.ContainsKey(characteristicPath))
        {
            context.ReplyError("org.bluez.Error.NotPermitted", "Write acquired");
            return;
        }

        var body = context.Request.GetBodyReader();
        byte[] value = body.ReadArrayOfByte();
        var options = body.ReadDictionaryOfStringToVariantValue();
        string? type = _release.HonoursWriteType && options.TryGetValue("type", out var t) ? t.GetString() : null;
        bool asked = options.TryGetValue("type", out var askedType) && askedType.GetString() == "command";
        var flags = Props(characteristicPath, BlueZNames.GattCharacteristic)["Flags"].GetArray<string>();

        // "write" property set (or type "request") -> write request; else "write-without-response" -> write command.
        if ((type is null && flags.Contains("write")) || type == "request")
        {
            if (asked)
            {
                WithoutResponsePackets.Add(("request", value)); // the release ignored type=command
            }

            if (DropLinkDuringWriteOf is { } prefix && value.AsSpan().StartsWith(prefix))
            {
                // src/shared/att.c disconnect_cb fails the pending request without a PDU, which gatt-client.c
                // process_error makes BT_ATT_ERROR_UNLIKELY.
                DropLinkDuringWriteOf = null;
                link.DisposeAsync().AsTask().GetAwaiter().GetResult();
                FakeGattErrors.Reply(context, 0x0E);
                return;
            }

            // Notifications the core sends while handling the write are signalled before the reply, as on air.
            link.WriteAsync(Uuid(characteristicPath), value, WriteType.WithResponse, CancellationToken.None).GetAwaiter().GetResult();
            Reply(context);
            return;
        }

        if (flags.Contains("write-without-response") && (type is null or "command"))
        {
            // BlueZ answers a write command once it is queued (src/gatt-client.c, characteristic_write_value).
            WithoutResponsePackets.Add(("command", value));
            Reply(context);
            WriteCommand(characteristicPath, value);
            return;
        }

        context.ReplyError("org.bluez.Error.NotSupported", "Operation is not supported");
    }

    /// <summary>src/gatt-client.c characteristic_acquire_write and create_sock: the reply carries the fd and the ATT MTU.</summary>
    private void AcquireWrite(MethodContext context, string characteristicPath)
    {
        var link = Link(characteristicPath);
        if (_writeSockets.ContainsKey(characteristicPath))
        {
            context.ReplyError("org.bluez.Error.NotPermitted", "Write acquired");
            return;
        }

        if (!Props(characteristicPath, BlueZNames.GattCharacteristic)["Flags"].GetArray<string>().Contains("write-without-response"))
        {
            context.ReplyError("org.bluez.Error.NotSupported", "Operation is not supported");
            return;
        }

        var socket = FakeWriteSocket.Create(out var theirs);
        using (theirs)
        {
            var writer = context.CreateReplyWriter("hq");
            writer.WriteHandle(theirs);
            writer.WriteUInt16((ushort)link.Mtu);
            context.Reply(writer.CreateMessage());
            writer.Dispose();
        }

        _writeSockets[characteristicPath] = socket;
        Set(characteristicPath, BlueZNames.GattCharacteristic, "WriteAcquired", true);
        socket.Start(packet =>
        {
            lock (_gate)
            {
                WithoutResponsePackets.Add(("socket", packet));
                WriteCommand(characteristicPath, packet);
                if (++_socketPackets == DropLinkAfterSocketPackets && _links.TryGetValue(DevicePathOf(characteristicPath), out var dropping))
                {
                    DropLinkAfterSocketPackets = null;
                    dropping.DisposeAsync().AsTask().GetAwaiter().GetResult(); // a supervision timeout: the device keeps its v2 session
                }
            }
        }, released: () =>
        {
            lock (_gate)
            {
                if (_writeSockets.Remove(characteristicPath) && _objects.ContainsKey(characteristicPath))
                {
                    Set(characteristicPath, BlueZNames.GattCharacteristic, "WriteAcquired", false); // destroy_sock
                }
            }
        });
    }

    /// <summary>A write command has no response on air: what the core refuses is dropped, as a peripheral would.</summary>
    private void WriteCommand(string characteristicPath, byte[] packet)
    {
        try
        {
            Link(characteristicPath).WriteAsync(Uuid(characteristicPath), packet, WriteType.WithoutResponse, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (BleTransportException)
        {
            // Refused, or the link is gone: the client learns from the protocol's acknowledgements.
        }
    }

    private bool AdapterPowered(string adapter) => Props(adapter, BlueZNames.Adapter)["Powered"].GetBool();

    private static string DevicePathOf(string characteristicPath) => characteristicPath[..characteristicPath.IndexOf(ServiceSuffix, StringComparison.Ordinal)];

    /// <summary>The device's link; without one, src/gatt-client.c answers every GATT call Failed "Not connected".</summary>
    private IBleConnection Link(string characteristicPath) =>
        characteristicPath.Contains(ServiceSuffix, StringComparison.Ordinal) && _links.TryGetValue(DevicePathOf(characteristicPath), out var link)
            ? link
            : throw new BleTransportException("Not connected");

    private Guid Uuid(string characteristicPath) => Guid.Parse(Props(characteristicPath, BlueZNames.GattCharacteristic)["UUID"].GetString());

    private Dictionary<string, VariantValue> Props(string path, string iface) =>
        _objects.TryGetValue(path, out var interfaces) && interfaces.TryGetValue(iface, out var properties)
            ? properties
            : throw new BleTransportException("Not connected");

    private void Set(string path, string iface, string name, VariantValue value) => SetAll(path, iface, new() { [name] = value });

    private void SetAll(string path, string iface, Dictionary<string, VariantValue> values)
    {
        var properties = Props(path, iface);
        foreach (var (name, value) in values)
        {
            properties[name] = value;
        }

        Changed(path, iface, values);
    }

    private static void Reply(MethodContext context)
    {
        if (!context.NoReplyExpected)
        {
            var writer = context.CreateReplyWriter(null!);
            context.Reply(writer.CreateMessage());
            writer.Dispose();
        }
    }

    private void ReplyManagedObjects(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a{oa{sa{sv}}}");
        var objects = writer.WriteDictionaryStart();
        foreach (var (path, interfaces) in _objects)
        {
            writer.WriteDictionaryEntryStart();
            writer.WriteObjectPath(path);
            WriteInterfaces(ref writer, interfaces);
        }

        writer.WriteDictionaryEnd(objects);
        context.Reply(writer.CreateMessage());
        writer.Dispose();
    }

    /// <summary>gdbus/object.c properties_get: InvalidArgs "No such interface" / "No such property".</summary>
    private void ReplyProperty(MethodContext context, string path)
    {
        var body = context.Request.GetBodyReader();
        string iface = body.ReadString();
        string name = body.ReadString();
        if (!_objects.TryGetValue(path, out var interfaces) || !interfaces.TryGetValue(iface, out var properties))
        {
            context.ReplyError("org.freedesktop.DBus.Error.InvalidArgs", $"No such interface '{iface}'");
            return;
        }

        if (!properties.TryGetValue(name, out var value))
        {
            context.ReplyError("org.freedesktop.DBus.Error.InvalidArgs", $"No such property '{name}'");
            return;
        }

        var writer = context.CreateReplyWriter("v");
        writer.WriteVariant(value);
        context.Reply(writer.CreateMessage());
        writer.Dispose();
    }

    private static void WriteInterfaces(ref MessageWriter writer, Dictionary<string, Dictionary<string, VariantValue>> interfaces)
    {
        var all = writer.WriteDictionaryStart();
        foreach (var (name, properties) in interfaces)
        {
            writer.WriteDictionaryEntryStart();
            writer.WriteString(name);
            writer.WriteDictionary(properties);
        }

        writer.WriteDictionaryEnd(all);
    }

    private void Added(string path, Dictionary<string, Dictionary<string, VariantValue>> interfaces)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteSignalHeader(null, "/", BlueZNames.ObjectManager, "InterfacesAdded", "oa{sa{sv}}");
        writer.WriteObjectPath(path);
        WriteInterfaces(ref writer, interfaces);
        _bus.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }

    private void Removed(string path, string[] interfaces)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteSignalHeader(null, "/", BlueZNames.ObjectManager, "InterfacesRemoved", "oas");
        writer.WriteObjectPath(path);
        writer.WriteArray(interfaces);
        _bus.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }

    private void Changed(string path, string iface, Dictionary<string, VariantValue> changed, string[]? invalidated = null)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteSignalHeader(null, path, BlueZNames.Properties, "PropertiesChanged", "sa{sv}as");
        writer.WriteString(iface);
        writer.WriteDictionary(changed);
        writer.WriteArray(invalidated ?? []);
        _bus.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }
}
