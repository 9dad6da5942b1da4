using System.Text;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// The tutorial's firmware (michael-angerer/esp32_ble_ota, esp/main), statement by statement: a Device
/// Information service and an OTA service with Control and Data only (gatt_svr.c, gatt_svr_svcs); a 512-byte
/// data buffer whose first two bytes become the packet size at REQUEST; every data write while updating hands
/// packet_size bytes of that buffer to esp_ota_write (stale bytes after a short packet) and ignores its errors;
/// DONE runs esp_ota_end and esp_ota_set_boot_partition, notifies DONE_ACK or DONE_NAK, and after an ACK waits
/// 500 ms and calls esp_restart() inside the write handler. A dropped link changes nothing (gap.c only
/// advertises again), so an interrupted update keeps its handle open until the next REQUEST.
/// </summary>
internal sealed class TutorialFirmwareModel(SimulatedFlash flash, DeviceFaults faults) : IFirmwareModel
{
    /// <summary>gatt_svr.c, gatt_svr_chr_ota_data_val[512].</summary>
    public const int DataBufferSize = 512;

    /// <summary>The tutorial's sdkconfig.defaults leaves CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU at ESP-IDF's default, 256.</summary>
    public const int PreferredMtu = 256;

    /// <summary>gatt_svr.h, REBOOT_DEEP_SLEEP_TIMEOUT: the delay before esp_restart() after DONE_ACK, slept in the handler.</summary>
    public TimeSpan RestartDelay { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>gatt_svr.h: the Device Information service and its two characteristics (16-bit UUIDs on the Bluetooth base).</summary>
    public static readonly Guid DeviceInformation = Uuid16(0x180A);

    public static readonly Guid ManufacturerName = Uuid16(0x2A29);

    public static readonly Guid ModelNumber = Uuid16(0x2A24);

    private readonly byte[] _data = new byte[DataBufferSize];
    private readonly EspOta _ota = new(flash);
    private byte _control;
    private bool _updating;
    private int _packetSize;
    private int _updateHandle;

    public IReadOnlyCollection<Guid> Characteristics { get; } = [ManufacturerName, ModelNumber, OtaUuids.Control, OtaUuids.Data];

    /// <summary>gap.c, advertise: flags, TX power and the name only.</summary>
    public IReadOnlyList<Guid> AdvertisedServices { get; } = [];

    public Queue<byte[]> Notifications { get; } = new();

    public FirmwareWork LastWork { get; private set; }

    public RestartAfterWrite Restart { get; private set; }

    /// <summary>gap.c, gap_event_handler: a connection is only logged.</summary>
    public void OnConnect(int mtu)
    {
    }

    /// <summary>gap.c, gap_event_handler: BLE_GAP_EVENT_DISCONNECT advertises again and aborts nothing.</summary>
    public void OnDisconnect()
    {
    }

    /// <summary>gatt_svr_chr_access_device_info and the READ case of gatt_svr_chr_ota_control_cb.</summary>
    public byte[] Read(Guid characteristic) =>
        characteristic == ManufacturerName ? Encoding.ASCII.GetBytes("Company 42")
        : characteristic == ModelNumber ? Encoding.ASCII.GetBytes("ESP32")
        : characteristic == OtaUuids.Control ? [_control]
        : throw new BleAttException(0x02, "OTA Data cannot be read.");

    /// <summary>gatt_svr_chr_ota_control_cb, WRITE: store one byte (or refuse the length), then act on the stored value anyway.</summary>
    public byte OnControlWrite(ReadOnlySpan<byte> value)
    {
        LastWork = default;
        byte status = Store(value, 1, out var stored);
        if (status == OtaAttError.None)
        {
            _control = stored[0];
        }

        UpdateOtaControl();
        return status;
    }

    /// <summary>gatt_svr_chr_ota_data_cb: store the write, then, while updating, write packet_size bytes whatever arrived.</summary>
    public byte OnDataWrite(ReadOnlySpan<byte> value)
    {
        LastWork = default;
        byte status = Store(value, DataBufferSize, out var stored);
        if (status == OtaAttError.None)
        {
            stored.CopyTo(_data);
        }

        if (_updating)
        {
            // esp_ota_write(update_handle, gatt_svr_chr_ota_data_val, packet_size): a packet size above 512 reads past
            // the array into whatever RAM follows it; zeros stand in for that here.
            var packet = new byte[_packetSize];
            _data.AsSpan(0, Math.Min(_packetSize, DataBufferSize)).CopyTo(packet);
            _ota.Write(_updateHandle, packet); // its error is logged and ignored; the link times what reached the flash
        }

        return status;
    }

    /// <summary>gatt_svr_chr_write: 0x0D and nothing stored outside 1..max bytes, else the bytes to store.</summary>
    private static byte Store(ReadOnlySpan<byte> value, int maxLength, out ReadOnlySpan<byte> stored)
    {
        stored = value.Length < 1 || value.Length > maxLength ? default : value;
        return stored.IsEmpty ? OtaAttError.InvalidAttributeValueLength : OtaAttError.None;
    }

    /// <summary>gatt_svr.c, update_ota_control: REQUEST and DONE; any other stored value does nothing.</summary>
    private void UpdateOtaControl()
    {
        switch ((OtaOpcode)_control)
        {
            case OtaOpcode.Request when !faults.IgnoreRequest:
                // esp_ota_begin(esp_ota_get_next_update_partition(NULL), OTA_WITH_SEQUENTIAL_WRITES, &update_handle)
                if (faults.RejectRequest || !_ota.Begin(ref _updateHandle))
                {
                    _ota.Abort(_updateHandle); // the handle variable still holds the previous update's, if any
                    _control = (byte)OtaOpcode.RequestNak;
                }
                else
                {
                    _control = (byte)OtaOpcode.RequestAck;
                    _updating = true;
                    LastWork = new FirmwareWork(OpenedSlot: true);
                    _packetSize = (_data[1] << 8) + _data[0];
                }

                Notifications.Enqueue([_control]);
                break;
            case OtaOpcode.Done when !faults.IgnoreDone:
                _updating = false;
                long written = flash.Written;
                bool ok = _ota.End(_updateHandle); // esp_ota_end, then esp_ota_set_boot_partition
                // Each verifies the image by reading it back (esp_image_verify), in the handler.
                LastWork = new FirmwareWork(HashedBytes: (ok ? 2 : 1) * written);
                _control = (byte)(ok ? OtaOpcode.DoneAck : OtaOpcode.DoneNak);
                Notifications.Enqueue([_control]);
                if (ok)
                {
                    Restart = RestartAfterWrite.InsideHandler; // vTaskDelay(REBOOT_DEEP_SLEEP_TIMEOUT); esp_restart();
                }

                break;
        }
    }

    private static Guid Uuid16(ushort uuid) => new($"0000{uuid:x4}-0000-1000-8000-00805f9b34fb");

    /// <summary>
    /// ESP-IDF's esp_ota_begin/write/end/abort (components/app_update/esp_ota_ops.c) as far as the tutorial meets
    /// them: numbered handles, the first-byte check of esp_ota_write while nothing is written (after it erased the
    /// first sector), errors returned rather than thrown, esp_ota_end refusing an empty update and always closing
    /// the handle. Only the newest handle is ever used again, so it is the only one the flash has open.
    /// </summary>
    private sealed class EspOta(SimulatedFlash flash)
    {
        private int _lastHandle;
        private int _openHandle;

        /// <summary>False when esp_ota_begin fails; the handle is then left as it was.</summary>
        public bool Begin(ref int handle)
        {
            if (!flash.Begin())
            {
                return false;
            }

            handle = _openHandle = ++_lastHandle;
            return true;
        }

        public bool Write(int handle, ReadOnlySpan<byte> data)
        {
            if (handle != _openHandle || handle == 0)
            {
                return false; // ESP_ERR_INVALID_ARG: the handle is not open
            }

            if (data.IsEmpty)
            {
                return true;
            }

            if (flash.Written == 0 && data[0] != 0xE9)
            {
                return false; // ESP_ERR_OTA_VALIDATE_FAILED (after erasing the first sector, which the model does not time)
            }

            return flash.Write(data);
        }

        /// <summary>esp_ota_end, then esp_ota_set_boot_partition when the image verified; true when both succeeded.</summary>
        public bool End(int handle)
        {
            if (handle != _openHandle || handle == 0)
            {
                return false; // ESP_ERR_NOT_FOUND
            }

            _openHandle = 0;
            if (flash.Written == 0)
            {
                flash.Abort();
                return false; // ESP_ERR_INVALID_ARG: nothing was written to this handle
            }

            return flash.End() is null;
        }

        public void Abort(int handle)
        {
            if (handle == _openHandle && handle != 0)
            {
                flash.Abort();
                _openHandle = 0;
            }
        }
    }
}
