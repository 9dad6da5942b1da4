using System;
using System.Runtime.InteropServices;
using System.Runtime.InteropServices.WindowsRuntime;
using BleOta.Engine.Transport;
using Windows.Devices.Bluetooth;
using Windows.Devices.Bluetooth.GenericAttributeProfile;
using Windows.Storage.Streams;
using GattWriteOption = Windows.Devices.Bluetooth.GenericAttributeProfile.GattWriteOption;

namespace BleOta.Transport.WinRT;

/// <summary>
/// A GATT link through WinRT. Windows negotiates the MTU itself (<see cref="GattSession.MaxPduSize"/>,
/// reported later through MaxPduSizeChanged), so this waits for it; writes without response go through a
/// <see cref="WriteWindow"/>; the link's end is ConnectionStatusChanged. Disposal closes the session and
/// every service, because Windows keeps a GATT session (and the radio link) alive while anything holds one.
/// </summary>
internal sealed class WinRtConnection : IBleConnection
{
    /// <summary>Writes without response handed to Windows at once; more only queue up in the OS.</summary>
    public const int WindowSize = 8;

    private static readonly TimeSpan MtuSettle = TimeSpan.FromSeconds(2);

    private readonly BluetoothLEDevice _device;
    private readonly GattSession _session;
    private readonly GattDeviceService _service;
    private readonly Dictionary<Guid, GattCharacteristic> _characteristics;
    private readonly WriteWindow _window = new(WindowSize);
    private readonly List<(GattCharacteristic Characteristic, Windows.Foundation.TypedEventHandler<GattCharacteristic, GattValueChangedEventArgs> Handler)> _subscriptions = [];
    private string _connectionParameters = "connection parameters: OS default";
    private BluetoothLEPreferredConnectionParametersRequest? _throughputRequest; // Windows holds the request while this object lives
    private int _connected = 1;

    private WinRtConnection(BluetoothLEDevice device, GattSession session, GattDeviceService service, Dictionary<Guid, GattCharacteristic> characteristics, string address)
    {
        _device = device;
        _session = session;
        _service = service;
        _characteristics = characteristics;
        Address = address;
        _device.ConnectionStatusChanged += OnConnectionStatusChanged;
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    public string Address { get; }

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    public int Mtu => _session.MaxPduSize;

    public TimeProvider Clock => TimeProvider.System;

    public string DescribeLink() =>
        $"WinRT: ATT MTU {Mtu} (negotiated by Windows), PHY not reported by WinRT, {_connectionParameters}, "
        + $"writes with response as WriteRequest, without response as WriteCommand in a window of {WindowSize}";

    internal static async Task<WinRtConnection> OpenAsync(BluetoothLEDevice device, string address, CancellationToken cancellationToken)
    {
        var session = await GattSession.FromDeviceIdAsync(device.BluetoothDeviceId).AsTask(cancellationToken).ConfigureAwait(false);
        session.MaintainConnection = true;
        try
        {
            var services = await device.GetGattServicesForUuidAsync(Engine.Protocol.OtaUuids.Service, BluetoothCacheMode.Uncached).AsTask(cancellationToken).ConfigureAwait(false);
            if (services.Status != GattCommunicationStatus.Success)
            {
                throw new BleTransportException($"Could not read the GATT services of {address} ({Describe(services.Status, services.ProtocolError)}).");
            }

            var characteristics = new Dictionary<Guid, GattCharacteristic>();
            GattDeviceService? ota = services.Services.Count > 0 ? services.Services[0] : null;
            if (ota is not null)
            {
                var found = await ota.GetCharacteristicsAsync(BluetoothCacheMode.Uncached).AsTask(cancellationToken).ConfigureAwait(false);
                if (found.Status != GattCommunicationStatus.Success)
                {
                    throw new BleTransportException($"Could not read the characteristics of {address} ({Describe(found.Status, found.ProtocolError)}).");
                }

                foreach (var characteristic in found.Characteristics)
                {
                    characteristics[characteristic.Uuid] = characteristic;
                }
            }

            var connection = new WinRtConnection(device, session, ota ?? services.Services.FirstOrDefault()!, characteristics, address);
            connection.AskForThroughput();
            return connection;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Windows picks the MTU; this waits for its MaxPduSizeChanged and reports the result.</summary>
    public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken) =>
        MtuWaiter.WaitAsync(() => _session.MaxPduSize, changed =>
        {
            void Handler(GattSession s, object e) => changed();
            _session.MaxPduSizeChanged += Handler;
            return new Unsubscribe(() => _session.MaxPduSizeChanged -= Handler);
        }, MtuSettle, TimeProvider.System, cancellationToken);

    public bool HasCharacteristic(Guid characteristic) => _characteristics.ContainsKey(characteristic);

    public async Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        var result = await WinRtCallAsync(() => target.ReadValueAsync(BluetoothCacheMode.Uncached).AsTask(cancellationToken)).ConfigureAwait(false);
        Check(result.Status, result.ProtocolError, $"reading {characteristic}");
        return result.Value.ToArray();
    }

    public async Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        IBuffer buffer = value.ToArray().AsBuffer();
        if (writeType == WriteType.WithResponse)
        {
            await _window.DrainAsync(cancellationToken).ConfigureAwait(false); // keep order with earlier unacknowledged writes
            var result = await WinRtCallAsync(() => target.WriteValueWithResultAsync(buffer, GattWriteOption.WriteWithResponse).AsTask(cancellationToken)).ConfigureAwait(false);
            Check(result.Status, result.ProtocolError, $"writing {characteristic}");
            return;
        }

        await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        _ = WinRtCallAsync(() => target.WriteValueWithResultAsync(buffer, GattWriteOption.WriteWithoutResponse).AsTask()).ContinueWith(done =>
        {
            Exception? failure = done.Exception?.GetBaseException();
            if (failure is null && done.Result.Status != GattCommunicationStatus.Success)
            {
                failure = Failure(done.Result.Status, done.Result.ProtocolError, $"a write without response to {characteristic}");
            }

            _window.Leave(failure);
        }, TaskScheduler.Default);
    }

    public async Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        var target = Find(characteristic);
        void Handler(GattCharacteristic c, GattValueChangedEventArgs e) => onNotification(e.CharacteristicValue.ToArray());
        target.ValueChanged += Handler;
        _subscriptions.Add((target, Handler));
        var status = await WinRtCallAsync(() => target.WriteClientCharacteristicConfigurationDescriptorWithResultAsync(
            GattClientCharacteristicConfigurationDescriptorValue.Notify).AsTask(cancellationToken)).ConfigureAwait(false);
        Check(status.Status, status.ProtocolError, $"subscribing to {characteristic}");
    }

    public ValueTask DisposeAsync()
    {
        Drop("the client closed the connection");
        return ValueTask.CompletedTask;
    }

    private void Drop(string reason)
    {
        if (Interlocked.Exchange(ref _connected, 0) == 0)
        {
            return;
        }

        _device.ConnectionStatusChanged -= OnConnectionStatusChanged;
        foreach (var (characteristic, handler) in _subscriptions)
        {
            characteristic.ValueChanged -= handler;
        }

        // Windows holds the link while any session, service or device object lives: release them all, and
        // withdraw the throughput request, which Windows keeps only while its request object lives.
        if (OperatingSystem.IsWindowsVersionAtLeast(10, 0, 22000))
        {
            _throughputRequest?.Dispose();
        }

        _session.MaintainConnection = false;
        _service?.Dispose();
        _session.Dispose();
        _device.Dispose();
        _window.Dispose();
        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    private void OnConnectionStatusChanged(BluetoothLEDevice sender, object args)
    {
        if (sender.ConnectionStatus == BluetoothConnectionStatus.Disconnected)
        {
            Drop("the device disconnected");
        }
    }

    /// <summary>
    /// Windows 11 lets an app ask for short connection intervals; older Windows keeps its defaults. Windows holds
    /// the preference only while the request object lives (BluetoothLEPreferredConnectionParametersRequest is
    /// IClosable; closing it withdraws the request), so it is kept until the link closes.
    /// </summary>
    private void AskForThroughput()
    {
        if (!OperatingSystem.IsWindowsVersionAtLeast(10, 0, 22000))
        {
            return;
        }

        _throughputRequest = _device.RequestPreferredConnectionParameters(BluetoothLEPreferredConnectionParameters.ThroughputOptimized);
        _connectionParameters = _throughputRequest.Status == BluetoothLEPreferredConnectionParametersRequestStatus.Success
            ? "connection parameters: throughput-optimised (Windows 11, held for the connection)"
            : $"connection parameters: OS default (throughput request {_throughputRequest.Status})";
    }

    /// <summary>A WinRT GATT call; one that throws once the link is gone (closed objects, device gone) is a lost link.</summary>
    private async Task<T> WinRtCallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is COMException or ObjectDisposedException && (!IsConnected || _device.ConnectionStatus == BluetoothConnectionStatus.Disconnected))
        {
            throw new BleLinkLostException($"The link to {Address} dropped ({ex.Message}).", ex);
        }
    }

    private GattCharacteristic Find(Guid characteristic)
    {
        if (!IsConnected)
        {
            throw new BleTransportException($"Not connected to {Address}.");
        }

        return _characteristics.TryGetValue(characteristic, out var found)
            ? found
            : throw new BleTransportException($"{Address} has no characteristic {characteristic}.");
    }

    private static void Check(GattCommunicationStatus status, byte? protocolError, string action)
    {
        if (status != GattCommunicationStatus.Success)
        {
            throw Failure(status, protocolError, action);
        }
    }

    /// <summary>A failed GATT status as the engine's exception: the device's ATT error, a lost link (Unreachable), or another failure.</summary>
    private static BleTransportException Failure(GattCommunicationStatus status, byte? protocolError, string action) => status switch
    {
        GattCommunicationStatus.ProtocolError when protocolError is { } att => new BleAttException(att, $"The device refused {action} with ATT error 0x{att:X2}."),
        GattCommunicationStatus.Unreachable => new BleLinkLostException($"Failed {action} ({Describe(status, protocolError)})."),
        _ => new BleTransportException($"Failed {action} ({Describe(status, protocolError)})."),
    };

    private static string Describe(GattCommunicationStatus status, byte? protocolError) => status switch
    {
        GattCommunicationStatus.Unreachable => "the device is unreachable: out of range, off, or connected to another host",
        GattCommunicationStatus.AccessDenied => "access denied: allow Bluetooth access for apps in Settings, or pair the device",
        GattCommunicationStatus.ProtocolError => $"ATT error 0x{protocolError:X2}",
        _ => status.ToString(),
    };

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
