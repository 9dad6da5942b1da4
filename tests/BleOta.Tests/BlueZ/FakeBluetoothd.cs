using System.Net.Sockets;
using System.Runtime.InteropServices;
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
/// transport makes. Its peripherals are <see cref="HostFirmwareDevice"/>s, so behind the D-Bus API runs the
/// firmware's real C core. ATT errors come back as BlueZ words them ("Operation failed with ATT error: 0x80").
/// </summary>
internal sealed class FakeBluetoothd : IPathMethodHandler, IDisposable
{
    public const string AdapterPath = "/org/bluez/hci0";
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
    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IBleConnection> _links = new(StringComparer.Ordinal);

    private FakeBluetoothd(DBusConnection bus, HostFirmwareTransport firmware, FakeAdapter adapter)
    {
        _bus = bus;
        _firmware = firmware;
        _adapter = adapter;
        if (adapter != FakeAdapter.Missing)
        {
            _objects[AdapterPath] = new()
            {
                [BlueZNames.Adapter] = new()
                {
                    ["Address"] = "00:1A:7D:DA:71:13",
                    ["Powered"] = adapter != FakeAdapter.PoweredOff,
                    ["Discovering"] = false,
                },
            };
        }
    }

    public string Path => "/";

    public bool HandlesChildPaths => true;

    /// <summary>Calls the transport made, as "Interface.Member", in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Whether AcquireWrite hands out a socket (BlueZ 5.46 and later) or answers NotSupported.</summary>
    public bool AcquireWriteSupported { get; set; } = true;

    /// <summary>The UUIDs of the last SetDiscoveryFilter; empty: every LE device.</summary>
    public string[] DiscoveryUuids { get; private set; } = [];

    /// <summary>Packets written without response, each with how it arrived ("socket" or "command"); all go on to the core.</summary>
    public List<(string Path, byte[] Packet)> WithoutResponsePackets { get; } = [];

    public static async Task<FakeBluetoothd> StartAsync(string busAddress, HostFirmwareTransport firmware, FakeAdapter adapter = FakeAdapter.PoweredOn)
    {
        var bus = new DBusConnection(busAddress);
        await bus.ConnectAsync();
        var fake = new FakeBluetoothd(bus, firmware, adapter);
        bus.AddMethodHandler(fake);
        await bus.RequestNameAsync(BlueZNames.Service);
        return fake;
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
                Handle(context, path, member);
            }
            catch (BleAttException ex)
            {
                context.ReplyError("org.bluez.Error.Failed", $"Operation failed with ATT error: 0x{ex.AttError:x2}");
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
        foreach (var link in _links.Values)
        {
            link.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _bus.Dispose();
    }

    private void Handle(MethodContext context, string path, string member)
    {
        switch (member)
        {
            case "org.freedesktop.DBus.ObjectManager.GetManagedObjects":
                ReplyManagedObjects(context);
                return;
            case "org.freedesktop.DBus.Properties.Get":
                ReplyProperty(context, path);
                return;
            case "org.bluez.Adapter1.SetDiscoveryFilter":
                var filter = context.Request.GetBodyReader().ReadDictionaryOfStringToVariantValue();
                DiscoveryUuids = filter.TryGetValue("UUIDs", out var uuids) ? uuids.GetArray<string>() : [];
                Reply(context);
                return;
            case "org.bluez.Adapter1.StartDiscovery":
                if (!Props(AdapterPath, BlueZNames.Adapter)["Powered"].GetBool())
                {
                    context.ReplyError("org.bluez.Error.NotReady", "Resource Not Ready");
                    return;
                }

                Reply(context);
                Discover();
                return;
            case "org.bluez.Adapter1.StopDiscovery":
                Reply(context);
                return;
            case "org.bluez.Device1.Connect":
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
                var body = context.Request.GetBodyReader();
                byte[] value = body.ReadArrayOfByte();
                var options = body.ReadDictionaryOfStringToVariantValue();
                var type = options.TryGetValue("type", out var t) && t.GetString() == "command" ? WriteType.WithoutResponse : WriteType.WithResponse;
                if (type == WriteType.WithoutResponse)
                {
                    // BlueZ answers a write command once it is queued (src/gatt-client.c, characteristic_write_value).
                    WithoutResponsePackets.Add(("command", value));
                    Reply(context);
                    WriteCommand(path, value);
                    return;
                }

                // Notifications the core sends while handling the write are signalled before the reply, as on air.
                Link(path).WriteAsync(Uuid(path), value, type, CancellationToken.None).GetAwaiter().GetResult();
                Reply(context);
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
            case "org.bluez.GattCharacteristic1.AcquireWrite":
                if (!AcquireWriteSupported)
                {
                    context.ReplyError("org.bluez.Error.NotSupported", "Operation is not supported");
                    return;
                }

                ReplyWriteSocket(context, path, Props(path, BlueZNames.GattCharacteristic)["MTU"].GetUInt16());
                return;
            default:
                context.ReplyError("org.freedesktop.DBus.Error.UnknownMethod", $"The fake bluetoothd does not implement {member} on {path}.");
                return;
        }
    }

    /// <summary>
    /// Every firmware device that advertises (not bricked) and matches the filter appears with its RSSI: with filter
    /// UUIDs, only a device advertising one of them (BlueZ's src/adapter.c, is_filter_match).
    /// </summary>
    private void Discover()
    {
        foreach (var device in _firmware.Devices)
        {
            var advertised = device.AdvertisedServices.Select(u => u.ToString()).ToArray();
            if (device.IsBricked || (DiscoveryUuids.Length > 0 && !DiscoveryUuids.Intersect(advertised, StringComparer.OrdinalIgnoreCase).Any()))
            {
                continue;
            }

            string path = BlueZNames.DevicePath(AdapterPath, device.Address);
            if (_objects.ContainsKey(path))
            {
                Changed(path, BlueZNames.Device, new() { ["RSSI"] = (short)device.Rssi });
                continue;
            }

            var properties = new Dictionary<string, VariantValue>
            {
                ["Address"] = device.Address,
                ["Name"] = device.Name,
                ["Alias"] = device.Name, // BlueZ's doc/device-api.txt: the name, unless the user set an alias
                ["AddressType"] = "public",
                ["RSSI"] = (short)device.Rssi,
                ["UUIDs"] = VariantValue.Array(advertised),
                ["Connected"] = false,
                ["ServicesResolved"] = false,
                ["Adapter"] = VariantValue.ObjectPath(AdapterPath),
            };
            _objects[path] = new() { [BlueZNames.Device] = properties };
            Added(path, _objects[path]);
        }
    }

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
            _objects[service + suffix] = new()
            {
                [BlueZNames.GattCharacteristic] = new()
                {
                    ["UUID"] = uuid.ToString(),
                    ["Service"] = VariantValue.ObjectPath(service),
                    ["Flags"] = VariantValue.Array(flags),
                    ["Notifying"] = false,
                    ["MTU"] = (ushort)mtu,
                },
            };
            Added(service + suffix, _objects[service + suffix]);
        }

        Set(devicePath, BlueZNames.Device, "Connected", true);
        Set(devicePath, BlueZNames.Device, "ServicesResolved", true);
    }

    /// <summary>The link dropped (the device restarted, or the client disconnected): GATT objects go, Connected turns false.</summary>
    private void Disconnected(string devicePath)
    {
        lock (_gate)
        {
            _links.Remove(devicePath);
            foreach (string path in _objects.Keys.Where(p => p.StartsWith(devicePath + "/", StringComparison.Ordinal)).ToList())
            {
                _objects.Remove(path);
            }

            Set(devicePath, BlueZNames.Device, "ServicesResolved", false);
            Set(devicePath, BlueZNames.Device, "Connected", false);
        }
    }

    /// <summary>AcquireWrite: one end of a SOCK_SEQPACKET pair goes to the client; each packet it sends is one write.</summary>
    private void ReplyWriteSocket(MethodContext context, string characteristicPath, ushort mtu)
    {
        var ends = new int[2];
        if (socketpair(1 /* AF_UNIX */, 5 /* SOCK_SEQPACKET */, 0, ends) != 0)
        {
            throw new BleTransportException($"socketpair failed ({Marshal.GetLastPInvokeError()})");
        }

        var ours = new Socket(new SafeSocketHandle(ends[0], ownsHandle: true));
        using var theirs = new SafeSocketHandle(ends[1], ownsHandle: true);
        var writer = context.CreateReplyWriter("hq");
        writer.WriteHandle(theirs);
        writer.WriteUInt16(mtu);
        context.Reply(writer.CreateMessage());
        writer.Dispose();
        _ = Task.Run(async () =>
        {
            var buffer = new byte[mtu];
            using (ours)
            {
                int n;
                while ((n = await ours.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    lock (_gate)
                    {
                        WithoutResponsePackets.Add(("socket", buffer[..n]));
                        WriteCommand(characteristicPath, buffer[..n]);
                    }
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

    [DllImport("libc", SetLastError = true)]
    private static extern int socketpair(int domain, int type, int protocol, int[] sv);

    private IBleConnection Link(string characteristicPath)
    {
        string devicePath = characteristicPath[..characteristicPath.IndexOf(ServiceSuffix, StringComparison.Ordinal)];
        return _links.TryGetValue(devicePath, out var link) ? link : throw new BleTransportException("Not connected");
    }

    private Guid Uuid(string characteristicPath) => Guid.Parse(Props(characteristicPath, BlueZNames.GattCharacteristic)["UUID"].GetString());

    private Dictionary<string, VariantValue> Props(string path, string iface) =>
        _objects.TryGetValue(path, out var interfaces) && interfaces.TryGetValue(iface, out var properties)
            ? properties
            : throw new BleTransportException($"No {iface} at {path}");

    private void Set(string path, string iface, string name, VariantValue value)
    {
        Props(path, iface)[name] = value;
        Changed(path, iface, new() { [name] = value });
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

    private void ReplyProperty(MethodContext context, string path)
    {
        var body = context.Request.GetBodyReader();
        string iface = body.ReadString();
        string name = body.ReadString();
        if (!Props(path, iface).TryGetValue(name, out var value))
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

    private void Changed(string path, string iface, Dictionary<string, VariantValue> changed)
    {
        var writer = _bus.GetMessageWriter();
        writer.WriteSignalHeader(null, path, BlueZNames.Properties, "PropertiesChanged", "sa{sv}as");
        writer.WriteString(iface);
        writer.WriteDictionary(changed);
        writer.WriteArray(Array.Empty<string>());
        _bus.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }
}
