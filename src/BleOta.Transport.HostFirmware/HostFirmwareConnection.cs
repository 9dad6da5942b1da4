using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.HostFirmware;

/// <summary>
/// A GATT link to a <see cref="HostFirmwareDevice"/>. Writes go to the C core (<c>bo_host_write</c>); the
/// Control notifications the core queued during a write are delivered to the subscriber before the write
/// completes (as on air, where the notification precedes the write response); an ATT error status becomes
/// a <see cref="BleAttException"/>; after DONE_ACK the device restarts and the link drops.
/// </summary>
internal sealed class HostFirmwareConnection : IBleConnection
{
    private readonly HostFirmwareDevice _device;
    private readonly int _conn;
    private readonly NotificationSubscriptions _subscriptions = new();
    private int _connected = 1;

    private HostFirmwareConnection(HostFirmwareDevice device, int conn)
    {
        _device = device;
        _conn = conn;
    }

    public event EventHandler<BleDisconnectedEventArgs>? Disconnected;

    public string Address => _device.Address;

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    public int Mtu { get; private set; } = 23;

    public TimeProvider Clock => TimeProvider.System;

    internal static HostFirmwareConnection Open(HostFirmwareDevice device)
    {
        lock (device.Gate)
        {
            if (device.Connection is not null)
            {
                throw new BleTransportException($"{device.Name} is already connected to another client.", failure: BleTransportFailure.DeviceInUse);
            }

            int conn = device.Call(h => NativeMethods.bo_host_connect(h, 23));
            if (conn == NativeMethods.ENotRunning)
            {
                throw new BleTransportException($"{device.Name} does not answer: it has no bootable firmware.", failure: BleTransportFailure.DeviceNotFound);
            }

            if (conn < 0)
            {
                throw new BleTransportException($"Could not connect to {device.Name} (ble_ota_host error {conn}).");
            }

            if (device.Bonded)
            {
                device.Call(h => NativeMethods.bo_host_set_encrypted(h, conn, 1)); // a bonded central encrypts right after connecting
            }

            var connection = new HostFirmwareConnection(device, conn);
            device.Attach(connection);
            return connection;
        }
    }

    public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureConnected();
        int mtu = Math.Clamp(preferredMtu, 23, _device.MaxMtu);
        int rc = _device.Call(h => NativeMethods.bo_host_set_mtu(h, _conn, (ushort)mtu));
        if (rc < 0)
        {
            throw new BleTransportException($"MTU exchange failed (ble_ota_host error {rc}).");
        }

        Mtu = mtu;
        return Task.FromResult(mtu);
    }

    /// <summary>The firmware's OTA service: Control, Data and, unless the device has none, the read-only Info characteristic.</summary>
    public bool HasCharacteristic(Guid characteristic) =>
        characteristic == OtaUuids.Control || characteristic == OtaUuids.Data || (characteristic == OtaUuids.Info && _device.HasInfo);

    public Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureConnected();
        int which = Which(characteristic);
        // Info is 144 bytes: the whole value, as a client gets it after a (long) read.
        var buffer = new byte[DeviceInfo.Size];
        int n = _device.Call(h => NativeMethods.bo_host_read(h, _conn, which, buffer, (uint)buffer.Length));
        if (n <= -0x100)
        {
            byte att = (byte)(-n - 0x100);
            throw new BleAttException(att, $"The device refused the read with ATT error 0x{att:X2}.");
        }

        if (n < 0)
        {
            throw new BleTransportException($"Read failed (ble_ota_host error {n}).");
        }

        return Task.FromResult(buffer.AsSpan(0, n).ToArray());
    }

    public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureConnected();
        if (characteristic != OtaUuids.Control)
        {
            throw new BleTransportException($"Characteristic {characteristic} does not notify.");
        }

        _subscriptions.Subscribe(characteristic, onNotification);

        int rc = _device.Call(h => NativeMethods.bo_host_subscribe(h, _conn, 1));
        if (rc < 0)
        {
            throw new BleTransportException($"Subscribing failed (ble_ota_host error {rc}).");
        }

        return Task.CompletedTask;
    }

    public Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureConnected();
        // NimBLE takes a write command on any writable characteristic (ble_gatts.c, ble_gatts_att_flags_from_chr_flags
        // maps both write properties to one permission): Bleak before 0.21 sends the tutorial client's REQUEST and DONE so.
        int which = Which(characteristic);

        byte[] data = value.ToArray();
        var notifications = new List<byte[]>();
        int status;
        bool restart;
        lock (_device.Gate)
        {
            status = _device.Call(h => NativeMethods.bo_host_write(h, _conn, which, data, (uint)data.Length));
            var buffer = new byte[32];
            while (true)
            {
                int n = _device.Call(h => NativeMethods.bo_host_take_notification(h, out _, buffer, (uint)buffer.Length));
                if (n <= 0)
                {
                    break;
                }

                notifications.Add(buffer.AsSpan(0, n).ToArray());
            }

            restart = _device.Call(NativeMethods.bo_host_restart_pending) == 1;
        }

        if (status < 0)
        {
            throw new BleTransportException($"Write failed (ble_ota_host error {status}).");
        }

        foreach (var notification in notifications)
        {
            _subscriptions.Deliver(OtaUuids.Control, notification);
        }

        if (restart)
        {
            // The firmware restarts restart_delay_ms after DONE_ACK; the link drops with it.
            Drop("the device restarted into its new firmware", notifyDevice: false);
            lock (_device.Gate)
            {
                _device.Call(NativeMethods.bo_host_reboot);
                _device.AfterRestart();
            }
        }

        if (status != 0 && writeType == WriteType.WithResponse)
        {
            // A write without response has no answer on air: the firmware's verdict reaches the client only by notification.
            throw new BleAttException((byte)status, $"The device refused the write with ATT error 0x{status:X2}.");
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Drop("the client closed the connection", notifyDevice: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Ends the link once. notifyDevice: tell the firmware (a disconnect event); false when the device itself went away.</summary>
    internal void Drop(string reason, bool notifyDevice)
    {
        if (Interlocked.Exchange(ref _connected, 0) == 0)
        {
            return;
        }

        lock (_device.Gate)
        {
            if (notifyDevice)
            {
                _device.Call(h => NativeMethods.bo_host_disconnect(h, _conn));
            }

            _device.Attach(null);
        }

        Disconnected?.Invoke(this, new BleDisconnectedEventArgs(reason));
    }

    private void EnsureConnected()
    {
        if (!IsConnected)
        {
            throw new BleLinkLostException($"Not connected to {_device.Name}.");
        }
    }

    private int Which(Guid characteristic) =>
        !HasCharacteristic(characteristic) ? throw new BleTransportException($"The device has no characteristic {characteristic}.")
        : characteristic == OtaUuids.Control ? NativeMethods.CharControl
        : characteristic == OtaUuids.Data ? NativeMethods.CharData
        : NativeMethods.CharInfo;
}
