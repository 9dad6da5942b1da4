using System.Text;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.HostFirmware;

/// <summary>Rollback state of an OTA slot, as ESP-IDF's <c>esp_ota_img_states_t</c>.</summary>
public enum HostSlotState
{
    New = 0,
    PendingVerify = 1,
    Valid = 2,
    Invalid = 3,
    Aborted = 4,
    Undefined = 5,
}

/// <summary>State of the firmware's protocol core.</summary>
public enum HostCoreState
{
    Idle = 0,
    Receiving = 1,
    Restarting = 2,
}

/// <summary>
/// One simulated ESP32 running the firmware's real C protocol core (libble_ota_host): two OTA slots on
/// NOR flash, an otadata-like boot record, a bootloader with rollback, and the app's self-test. It starts
/// on a valid factory image (version "0.0.0-factory") in slot 0.
/// </summary>
/// <remarks>Thread safe: every native call is made under <see cref="Gate"/>.</remarks>
public sealed class HostFirmwareDevice : IDisposable
{
    /// <summary>The OTA slot size of firmware/partitions.csv.</summary>
    public const uint DefaultPartitionSize = 0x1E0000;

    private IntPtr _handle;
    private HostFirmwareConnection? _connection;

    /// <summary>The ATT MTU firmware/sdkconfig.defaults prefers (CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU).</summary>
    public const int DefaultMaxMtu = 515;

    /// <param name="address">The address the transport finds it under.</param>
    /// <param name="name">Its advertised name (the firmware's default, CONFIG_BLE_OTA_DEVICE_NAME, is "esp32").</param>
    /// <param name="partitionSize">Size of each OTA slot; a multiple of 4096, at least 64 KB.</param>
    /// <param name="maxMtu">Largest ATT MTU the device accepts (CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU).</param>
    /// <param name="hasInfo">
    /// False presents the GATT table and advertisement of firmware without an Info characteristic, as the
    /// tutorial's (esp/main/gatt_svr.c, gap.c): Control and Data only, no service UUID advertised. The protocol
    /// behind them is still this firmware's core, so the engine's path for such devices meets real C code.
    /// </param>
    public HostFirmwareDevice(string address = "24:0A:C4:00:00:01", string name = "esp32", uint partitionSize = DefaultPartitionSize, int maxMtu = DefaultMaxMtu, bool hasInfo = true)
    {
        if (!HostFirmwareLibrary.TryLoad(out string? reason))
        {
            throw new BleTransportException(reason!);
        }

        _handle = NativeMethods.bo_host_create(partitionSize);
        if (_handle == IntPtr.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(partitionSize), partitionSize, "The partition size must be a multiple of 4096 and at least 64 KB.");
        }

        Address = address;
        Name = name;
        PartitionSize = partitionSize;
        MaxMtu = Math.Clamp(maxMtu, 23, 517);
        HasInfo = hasInfo;
    }

    /// <summary>Whether the device has the Info characteristic and advertises the OTA service UUID.</summary>
    public bool HasInfo { get; }

    /// <summary>The service UUIDs its advertisement carries.</summary>
    public IReadOnlyList<Guid> AdvertisedServices => HasInfo ? [OtaUuids.Service] : [];

    public string Address { get; }

    public string Name { get; }

    public uint PartitionSize { get; }

    public int MaxMtu { get; }

    public int Rssi { get; init; } = -55;

    /// <summary>Lock that serialises every call into the native device.</summary>
    public object Gate { get; } = new();

    /// <summary>How many times the device has restarted (after DONE_ACK or <see cref="Reboot"/>).</summary>
    public int BootCount { get; private set; } = 1;

    /// <summary>Slot running now (0 or 1), or -1 when the device has no bootable firmware.</summary>
    public int RunningSlot => Call(h => Math.Max(-1, NativeMethods.bo_host_running_slot(h)));

    /// <summary>True when the bootloader finds no valid image: the one outcome an update must never cause.</summary>
    public bool IsBricked => RunningSlot < 0;

    /// <summary>Slot the boot record selects.</summary>
    public int BootSlot => Call(NativeMethods.bo_host_boot_slot);

    /// <summary>Version string of the running app (esp_app_desc_t.version), or null when bricked.</summary>
    public string? RunningVersion => Call(h =>
    {
        var buffer = new byte[64];
        int n = NativeMethods.bo_host_running_version(h, buffer, (uint)buffer.Length);
        return n < 0 ? null : Encoding.ASCII.GetString(buffer, 0, n);
    });

    /// <summary>State of the protocol core.</summary>
    public HostCoreState CoreState => (HostCoreState)Call(NativeMethods.bo_host_state);

    /// <summary>The core's last error code (<c>ble_ota_err_t</c>), the reason behind a NAK or an ATT error.</summary>
    public int LastError => Call(NativeMethods.bo_host_last_error);

    /// <summary>Image bytes received in the running update.</summary>
    public int BytesReceived => Call(NativeMethods.bo_host_bytes_received);

    /// <summary>Writes that needed to set bits on unerased flash; must stay 0.</summary>
    public int NorViolations => Call(NativeMethods.bo_host_nor_violations);

    /// <summary>Restart delay the firmware asks for after DONE_ACK.</summary>
    public int RestartDelayMs => Call(NativeMethods.bo_host_restart_delay_ms);

    internal HostFirmwareConnection? Connection => _connection;

    public HostSlotState SlotState(int slot) => (HostSlotState)Call(h => NativeMethods.bo_host_slot_state(h, slot));

    public bool SlotImageValid(int slot) => Call(h => NativeMethods.bo_host_slot_image_valid(h, slot)) == 1;

    /// <summary>The exact bytes of the running image, or null when bricked.</summary>
    public byte[]? ReadRunningImage() => Call(h =>
    {
        var buffer = new byte[PartitionSize];
        int n = NativeMethods.bo_host_read_running_image(h, buffer, (uint)buffer.Length);
        return n < 0 ? null : buffer.AsSpan(0, n).ToArray();
    });

    /// <summary>Flashes an image into a slot the way esptool does and makes it boot on the next reboot.</summary>
    public void InstallImage(int slot, byte[] image) =>
        Check(Call(h => NativeMethods.bo_host_install_image(h, slot, image, (uint)image.Length)), "install the image");

    /// <summary>Power cycle: drops the link, runs the bootloader and the app's startup. Returns the slot now running, or -1.</summary>
    public int Reboot()
    {
        _connection?.Drop("the device restarted", notifyDevice: false);
        return Call(h =>
        {
            BootCount++;
            return Math.Max(-1, NativeMethods.bo_host_reboot(h));
        });
    }

    // ---- configuration and fault injection -------------------------------------------------

    /// <summary>Largest data packet the firmware accepts (CONFIG_BLE_OTA_MAX_PACKET_SIZE), 1..512. Only while idle.</summary>
    public void SetMaxPacketSize(int size) => Check(Call(h => NativeMethods.bo_host_set_max_packet_size(h, (ushort)size)), "set the packet size");

    /// <summary>Chip id images must carry (0 = ESP32, 9 = S3, 5 = C3, 13 = C6, 0xFFFF = any).</summary>
    public void SetChipId(ushort chipId) => Check(Call(h => NativeMethods.bo_host_set_chip_id(h, chipId)), "set the chip id");

    /// <summary>Whether the app's self-test passes on the first boot of a new image (default true).</summary>
    public void SetSelfTestResult(bool pass) => Check(Call(h => NativeMethods.bo_host_set_self_test_result(h, pass ? 1 : 0)), "set the self-test");

    /// <summary>The flash write covering this slot offset fails once (null: off).</summary>
    public void FailFlashWriteAt(long? offset) => Check(Call(h => NativeMethods.bo_host_fail_write_at(h, offset ?? -1)), "inject a write fault");

    /// <summary>Erasing the sector holding this slot offset fails once (null: off).</summary>
    public void FailFlashEraseAt(long? offset) => Check(Call(h => NativeMethods.bo_host_fail_erase_at(h, offset ?? -1)), "inject an erase fault");

    /// <summary>The next esp_ota_set_boot_partition fails.</summary>
    public void FailSetBootPartition(bool fail = true) => Check(Call(h => NativeMethods.bo_host_fail_set_boot(h, fail ? 1 : 0)), "inject a set-boot fault");

    /// <summary>v2 packets in flight the firmware accepts (CONFIG_BLE_OTA_WINDOW, default 16). Only while idle.</summary>
    public void SetWindow(int window) => Check(Call(h => NativeMethods.bo_host_set_window(h, (ushort)window)), "set the window");

    /// <summary>Whether the firmware inflates deflate streams (CONFIG_BLE_OTA_COMPRESSION; the host build offers it). Only while idle.</summary>
    public void SetCompression(bool enable) => Check(Call(h => NativeMethods.bo_host_set_compression(h, enable ? 1 : 0)), "set compression");

    /// <summary>The v2 receive ring between the GATT side and the writer (CONFIG_BLE_OTA_RING_BUFFER_SIZE, default 16384). Only while idle.</summary>
    public void SetRingSize(int bytes) => Check(Call(h => NativeMethods.bo_host_set_ring_size(h, (uint)bytes)), "set the ring size");

    /// <summary>Stops (true) or restarts (false) the writer that drains the ring into flash, as a long flash stall would; restarting drains it at once.</summary>
    public void SetWriterPaused(bool paused) => Check(Call(h => NativeMethods.bo_host_set_writer_paused(h, paused ? 1 : 0)), "pause the writer");

    /// <summary>The v2 stream offset the firmware would resume at.</summary>
    public int StreamOffset => Call(NativeMethods.bo_host_stream_offset);

    /// <summary>The next esp_ota_begin fails (no update partition): REQUEST_NAK.</summary>
    public void FailBegin(bool fail = true) => Check(Call(h => NativeMethods.bo_host_fail_begin(h, fail ? 1 : 0)), "inject a begin fault");

    /// <summary>CONFIG_BLE_OTA_REQUIRE_ENCRYPTION: writes on links that are not encrypted are refused (ATT 0x0F). Only while idle.</summary>
    public void RequireEncryption(bool require = true) => Check(Call(h => NativeMethods.bo_host_set_require_encryption(h, require ? 1 : 0)), "require encryption");

    /// <summary>Whether a central that connects has a bond with this device, so its link comes up encrypted.</summary>
    public bool Bonded { get; set; }

    public void Dispose()
    {
        _connection?.Drop("the device was disposed", notifyDevice: false);
        lock (Gate)
        {
            if (_handle != IntPtr.Zero)
            {
                NativeMethods.bo_host_destroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    internal void Attach(HostFirmwareConnection? connection)
    {
        lock (Gate)
        {
            _connection = connection;
        }
    }

    internal void AfterRestart()
    {
        BootCount++;
    }

    internal T Call<T>(Func<IntPtr, T> call)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
            return call(_handle);
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw new InvalidOperationException($"Could not {what}: ble_ota_host returned {result}.");
        }
    }
}
