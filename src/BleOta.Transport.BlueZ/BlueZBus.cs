using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>Properties of one D-Bus interface, by name.</summary>
internal sealed class Properties : Dictionary<string, VariantValue>
{
    public Properties()
    {
    }

    public Properties(IDictionary<string, VariantValue> values) : base(values)
    {
    }

    public string? String(string name) => TryGetValue(name, out var v) && v.Type == VariantValueType.String ? v.GetString() : null;

    public bool Bool(string name) => TryGetValue(name, out var v) && v.Type == VariantValueType.Bool && v.GetBool();

    public int? Int(string name) => TryGetValue(name, out var v)
        ? v.Type switch
        {
            VariantValueType.Int16 => v.GetInt16(),
            VariantValueType.UInt16 => v.GetUInt16(),
            VariantValueType.Int32 => v.GetInt32(),
            _ => null,
        }
        : null;

    public string[] Strings(string name) => TryGetValue(name, out var v) && v.Type == VariantValueType.Array ? v.GetArray<string>() : [];

    public byte[]? Bytes(string name) => TryGetValue(name, out var v) && v.Type == VariantValueType.Array ? v.GetArray<byte>() : null;
}

/// <summary>Everything BlueZ exports: object path → interface → properties.</summary>
internal sealed class ManagedObjects : Dictionary<string, Dictionary<string, Properties>>
{
    public IEnumerable<(string Path, Properties Properties)> With(string iface, string? under = null) =>
        this.Where(o => (under is null || o.Key.StartsWith(under + "/", StringComparison.Ordinal)) && o.Value.ContainsKey(iface))
            .OrderBy(o => o.Key, StringComparer.Ordinal)
            .Select(o => (o.Key, o.Value[iface]));
}

/// <summary>A PropertiesChanged signal: the object, the interface, the new values.</summary>
internal readonly record struct PropertiesChange(string Path, string Interface, Properties Changed);

/// <summary>The calls and signals of BlueZ's D-Bus API this transport uses, over one bus connection.</summary>
internal sealed class BlueZBus(DBusConnection connection) : IDisposable
{
    public DBusConnection Connection { get; } = connection;

    public delegate void BodyWriter(ref MessageWriter writer);

    public Task CallAsync(string path, string iface, string member, string? signature = null, BodyWriter? body = null) =>
        Connection.CallMethodAsync(Message(path, iface, member, signature, body));

    public Task<T> CallAsync<T>(string path, string iface, string member, MessageValueReader<T> reader, string? signature = null, BodyWriter? body = null) =>
        Connection.CallMethodAsync(Message(path, iface, member, signature, body), reader);

    public Task<ManagedObjects> GetManagedObjectsAsync() =>
        CallAsync("/", BlueZNames.ObjectManager, "GetManagedObjects", (m, _) =>
        {
            var reader = m.GetBodyReader();
            var objects = new ManagedObjects();
            var end = reader.ReadDictionaryStart();
            while (reader.HasNext(end))
            {
                string path = reader.ReadObjectPathAsString();
                objects[path] = ReadInterfaces(ref reader);
            }

            return objects;
        });

    public Task<VariantValue> GetPropertyAsync(string path, string iface, string name) =>
        CallAsync(path, BlueZNames.Properties, "Get", (m, _) => m.GetBodyReader().ReadVariantValue(), "ss", (ref MessageWriter w) =>
        {
            w.WriteString(iface);
            w.WriteString(name);
        });

    /// <summary>PropertiesChanged of every object at or under <paramref name="pathNamespace"/>.</summary>
    public async Task<IDisposable> WatchPropertiesAsync(string pathNamespace, Action<PropertiesChange> handler)
    {
        var rule = new MatchRule
        {
            Type = MessageType.Signal,
            Sender = BlueZNames.Service,
            Interface = BlueZNames.Properties,
            Member = "PropertiesChanged",
            PathNamespace = pathNamespace,
        };
        return await Connection.AddMatchAsync(rule, (m, _) =>
        {
            var reader = m.GetBodyReader();
            string iface = reader.ReadString();
            var changed = new Properties(reader.ReadDictionaryOfStringToVariantValue());
            return new PropertiesChange(m.PathAsString!, iface, changed);
        }, (Notification<PropertiesChange> n) =>
        {
            if (n.HasValue)
            {
                handler(n.Value);
            }
        }, emitOnCapturedContext: false).ConfigureAwait(false);
    }

    /// <summary>ObjectManager.InterfacesAdded: a new object (a device found in a scan, a GATT object after connecting).</summary>
    public async Task<IDisposable> WatchInterfacesAddedAsync(Action<string, Dictionary<string, Properties>> handler) =>
        await Connection.WatchSignalAsync(BlueZNames.Service, "/", BlueZNames.ObjectManager, "InterfacesAdded", (m, _) =>
        {
            var reader = m.GetBodyReader();
            string path = reader.ReadObjectPathAsString();
            return (path, ReadInterfaces(ref reader));
        }, (Notification<(string Path, Dictionary<string, Properties> Interfaces)> n) =>
        {
            if (n.HasValue)
            {
                handler(n.Value.Path, n.Value.Interfaces);
            }
        }, ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);

    public void Dispose() => Connection.Dispose();

    private static Dictionary<string, Properties> ReadInterfaces(ref Reader reader)
    {
        var interfaces = new Dictionary<string, Properties>(StringComparer.Ordinal);
        var end = reader.ReadDictionaryStart();
        while (reader.HasNext(end))
        {
            string name = reader.ReadString();
            interfaces[name] = new Properties(reader.ReadDictionaryOfStringToVariantValue());
        }

        return interfaces;
    }

    private MessageBuffer Message(string path, string iface, string member, string? signature, BodyWriter? body)
    {
        var writer = Connection.GetMessageWriter();
        try
        {
            writer.WriteMethodCallHeader(BlueZNames.Service, path, iface, member, signature);
            body?.Invoke(ref writer);
            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }
}
