using System.Diagnostics;
using System.Security.Cryptography;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;

namespace BleOta.Transport.Simulated;

/// <summary>Which firmware a simulated device runs.</summary>
public enum SimulatedFirmware
{
    /// <summary>BleOta's firmware (firmware/components/ble_ota): v1, v2 and the Info characteristic.</summary>
    BleOta,

    /// <summary>
    /// The tutorial's firmware (michael-angerer/esp32_ble_ota, esp/main): v1 only, no Info, no service UUID in its
    /// advertisement, the name "esp32", and a restart inside its DONE handler.
    /// </summary>
    Tutorial,
}

/// <summary>
/// One simulated ESP32: an address and name, two OTA slots on simulated flash, and the OTA server the
/// firmware runs. It boots whatever valid image its flash holds, so an update is only "done" if the
/// bootloader would really start it.
/// </summary>
public sealed class SimulatedDevice
{
    /// <summary>The OTA slot size of firmware/partitions.csv (two slots on 4 MB flash).</summary>
    public const int DefaultSlotSize = 0x1E0000;

    private readonly object _gate = new();
    private TimeSpan _bootsAt;

    public SimulatedDevice(string address, string name, byte[] factoryImage, SimulatedDeviceOptions? options = null)
    {
        options ??= new SimulatedDeviceOptions();
        Address = address;
        Name = name;
        Options = options;
        Flash = new SimulatedFlash(options.SlotSize, factoryImage)
        {
            FailWriteAtOffset = options.Faults.FailFlashWriteAt,
            FailSetBoot = options.Faults.FailSetBootPartition,
        };
        FlashSlowdown = options.Faults.FlashSlowdown;
        Model = NewModel();
    }

    public string Address { get; }

    public string Name { get; }

    public EspChip Chip => Flash.Chip;

    public SimulatedDeviceOptions Options { get; private set; }

    public SimulatedFlash Flash { get; }

    public int Rssi { get; init; } = -60;

    /// <summary>The firmware's GATT server; a restart starts a fresh one.</summary>
    internal IFirmwareModel Model { get; private set; }

    /// <summary>The flash work of the update in progress, timed (set when the firmware opens its slot).</summary>
    internal FlashWork? FlashWork { get; set; }

    /// <summary>Multiplies erase and programming time (1 = the datasheet's figures): a worn or slow part.</summary>
    public double FlashSlowdown { get; set; } = 1;

    /// <summary>The adapter whose clock this device lives by, once it joined a transport.</summary>
    internal SimulatedAdapter? Adapter { get; set; }

    /// <summary>How many links <see cref="DeviceFaults.DisconnectAfterBytes"/> has dropped so far.</summary>
    internal int DisconnectFaultsFired { get; set; }

    /// <summary>The link currently open to this device, if any.</summary>
    internal SimulatedConnection? Connection { get; set; }

    internal object Gate => _gate;

    /// <summary>The version of the image the device is running, or null when it has nothing bootable.</summary>
    public string? RunningVersion => Flash.RunningImage?.Version;

    /// <summary>True when the bootloader would find no valid image: the one outcome BleOta must never cause.</summary>
    public bool IsBricked => Flash.RunningSlot < 0;

    /// <summary>Whether the client's computer has a bond with this device, so links to it come up encrypted.</summary>
    public bool Bonded { get; set; }

    /// <summary>How many times the device has restarted.</summary>
    public int BootCount { get; private set; } = 1;

    public IReadOnlyCollection<Guid> Characteristics => Model.Characteristics;

    /// <summary>The service UUIDs its advertisement carries: none for the tutorial's firmware.</summary>
    public IReadOnlyList<Guid> AdvertisedServices => Model.AdvertisedServices;

    /// <summary>How the firmware erases its slot: the tutorial's sector by sector, BleOta's as configured.</summary>
    public EraseMode EraseMode => Options.Firmware == SimulatedFirmware.Tutorial ? EraseMode.Sectors : Options.EraseMode;

    /// <summary>The connection interval the firmware asks for: the tutorial's asks for none.</summary>
    internal TimeSpan? RequestedInterval => Options.Firmware == SimulatedFirmware.Tutorial ? null : Options.EffectiveRequestedInterval;

    /// <summary>The largest data packet the firmware buffers: BleOta's takes MTU - 3 up to an attribute's 512 bytes (CONFIG_BLE_OTA_MAX_PACKET_SIZE).</summary>
    public int MaxPacketSize => Options.Firmware == SimulatedFirmware.Tutorial
        ? TutorialFirmwareModel.DataBufferSize
        : Math.Min(DeviceMtu - 3, V1Client.SeedMaxPacketSize);

    /// <summary>The ATT MTU the firmware accepts: the option if set, else the tutorial's 256 or the link profile's.</summary>
    public int DeviceMtu => Options.DeviceMtu
        ?? (Options.Firmware == SimulatedFirmware.Tutorial ? TutorialFirmwareModel.PreferredMtu : Options.Profile.FirmwareMtu);

    /// <summary>The Info characteristic's value; null for the tutorial's firmware, which has none.</summary>
    public DeviceInfo? Info()
    {
        if (Options.Firmware == SimulatedFirmware.Tutorial)
        {
            return null;
        }

        var running = Flash.RunningImage;
        // As ble_ota_device_info_fill: the running image hashed at start-up when delta is built in.
        var imageSha = Options.Delta && Flash.RunningImageBytes() is { } bytes ? SHA256.HashData(bytes) : null;
        var features = DeviceFeatures.Resume | (Options.Compression ? DeviceFeatures.Deflate8K : DeviceFeatures.None)
            | (Options.RequireEncryption ? DeviceFeatures.EncryptedLinkRequired : DeviceFeatures.None)
            | (imageSha is null ? DeviceFeatures.None : DeviceFeatures.Delta);
        return new DeviceInfo(2, Chip, (uint)Flash.SlotSize, MaxPacketSize, Options.Window, features,
            running?.Version ?? "", running?.App?.ProjectName ?? "", running?.App?.IdfVersion ?? "")
        {
            RunningImageSha256 = imageSha,
        };
    }

    /// <summary>
    /// Puts the device on another link profile: links opened from now on use it and the flash its figures. An idle
    /// device also takes the profile's firmware MTU at once (its OTA server restarts with the new packet limit);
    /// one with a link open keeps its server until that link ends and the device restarts.
    /// </summary>
    public void UseProfile(LinkProfile profile)
    {
        lock (_gate)
        {
            Options = Options with { Profile = profile };
            if (Connection is null)
            {
                Model = NewModel();
            }
        }
    }

    /// <summary>
    /// Power loss or a crash: the link drops without a word, any update in progress is lost, and the
    /// bootloader picks what boots. The device is advertising again afterwards.
    /// </summary>
    public void PowerCycle()
    {
        Connection?.Drop("the device restarted");
        lock (_gate)
        {
            Restart();
        }
    }

    /// <summary>
    /// A reset, now or at <paramref name="at"/>: the bootloader picks an image, then the app runs its self-test and
    /// confirms or rolls back.
    /// </summary>
    internal void Restart(TimeSpan? at = null)
    {
        Flash.Reboot();
        BootCount++;
        FlashWork = null;
        var bootTime = Options.Profile.RebootTime;
        if (Flash.StateOf(Math.Max(Flash.RunningSlot, 0)) == SlotState.PendingVerify)
        {
            if (Options.Faults.SelfTestFails)
            {
                Flash.Reboot(); // esp_ota_mark_app_invalid_rollback_and_reboot
                BootCount++;
                bootTime += Options.Profile.RebootTime;
            }
            else
            {
                Flash.MarkRunningValid();
            }
        }

        _bootsAt = (at ?? Adapter?.Now ?? TimeSpan.Zero) + bootTime;
        Model = NewModel();
    }

    /// <summary>Simulated time, on its adapter's clock, until the device advertises again after its last reset.</summary>
    internal TimeSpan BootTimeLeft(TimeSpan now) => _bootsAt > now ? _bootsAt - now : TimeSpan.Zero;

    private IFirmwareModel NewModel() => Options.Firmware == SimulatedFirmware.Tutorial
        ? new TutorialFirmwareModel(Flash, Options.Faults)
        : new BleOtaFirmwareModel(Flash, Options.Faults, MaxPacketSize, Options.Window, Options.Compression, () => Info()!, Options.Delta,
            Options.ReadsImageBackAtDone);
}

public sealed record SimulatedDeviceOptions
{
    public LinkProfile Profile { get; init; } = LinkProfile.Default;

    public SimulatedFirmware Firmware { get; init; } = SimulatedFirmware.BleOta;

    /// <summary>The ATT MTU the firmware prefers (CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU); null takes the profile's.</summary>
    public int? DeviceMtu { get; init; }

    public int SlotSize { get; init; } = SimulatedDevice.DefaultSlotSize;

    public DeviceFaults Faults { get; init; } = DeviceFaults.None;

    /// <summary>v2 packets in flight the firmware accepts (CONFIG_BLE_OTA_WINDOW).</summary>
    public int Window { get; init; } = 16;

    /// <summary>
    /// The firmware inflates deflate streams reaching at most 8 KB back into tinfl's 8 KB buffer
    /// (CONFIG_BLE_OTA_COMPRESSION, on by default as on the device; Info feature bit 4).
    /// </summary>
    public bool Compression { get; init; } = true;

    /// <summary>CONFIG_BLE_OTA_REQUIRE_ENCRYPTION: Control and Data writes need an encrypted, bonded link.</summary>
    public bool RequireEncryption { get; init; }

    /// <summary>The firmware applies delta patches against its running image (CONFIG_BLE_OTA_DELTA, on by default as on the device).</summary>
    public bool Delta { get; init; } = true;

    /// <summary>How the firmware erases its slot: 64 KB blocks ahead of the data (port/ble_ota_flash.c), or 4 KB sectors as esp_ota_write does (the firmware before it).</summary>
    public EraseMode EraseMode { get; init; } = EraseMode.Blocks;

    /// <summary>
    /// The connection interval the firmware asks the central for (CONFIG_BLE_OTA_CONN_INTERVAL_MS): null takes
    /// the Kconfig default for the chip (15 ms where it has LE 2M, else nothing), <see cref="TimeSpan.Zero"/> asks nothing.
    /// </summary>
    public TimeSpan? RequestedInterval { get; init; }

    /// <summary>CONFIG_SPI_FLASH_AUTO_SUSPEND: takes effect only where chip and flash part support it.</summary>
    public bool AutoSuspend { get; init; }

    /// <summary>
    /// The firmware reads every v2 image back to hash it at DONE and hashes nothing as it writes: BleOta's firmware
    /// before it relied on esp_ota_end's check of the image's appended SHA-256 (port/ble_ota_stream.c).
    /// </summary>
    public bool ReadsImageBackAtDone { get; init; }

    /// <summary>
    /// The v2 receive ring between the host and the writer task (CONFIG_BLE_OTA_RING_BUFFER_SIZE): null takes the
    /// Kconfig default, 24 KB with auto-suspend (a block erase no longer stops reception) and 16 KB without.
    /// </summary>
    public int? RingBytes { get; init; }

    /// <summary>The ring size this build has.</summary>
    public int EffectiveRingBytes => RingBytes ?? (AutoSuspend ? 24 * 1024 : 16 * 1024);

    /// <summary>
    /// The ring of a delta update, which also holds the patch applier: no larger than leaves it room in the 32 KB
    /// budget (port/ble_ota_stream.c, DELTA_RING_SIZE: 32 KB less the writer stack, the receive buffer, the image
    /// prefix, the image's SHA-256 context and sizeof(ble_ota_delta_t), 7,680, in whole KB: 19 KB with the defaults).
    /// </summary>
    public int DeltaRingBytes => Math.Min(EffectiveRingBytes, 19 * 1024);

    /// <summary>
    /// The ring of a compressed update, which also holds tinfl's 8 KB buffer and its 10,992-byte state: no larger than
    /// leaves them room in the 32 KB budget (port/ble_ota_stream.c, DEFLATE_RING_SIZE: 8 KB with the defaults).
    /// </summary>
    public int DeflateRingBytes => Math.Min(EffectiveRingBytes, 8 * 1024);

    /// <summary>The interval this build asks for, or null.</summary>
    public TimeSpan? EffectiveRequestedInterval =>
        RequestedInterval is { } asked ? (asked > TimeSpan.Zero ? asked : null)
        : Profile.Phy == BlePhy.Le2M ? TimeSpan.FromMilliseconds(15) : null;
}
