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
    private long _resetAt;
    private TimeSpan _bootTime;

    public SimulatedDevice(string address, string name, byte[] factoryImage, SimulatedDeviceOptions? options = null)
    {
        options ??= new SimulatedDeviceOptions();
        Address = address;
        Name = name;
        Options = options;
        Flash = new SimulatedFlash(options.SlotSize, factoryImage, options.Profile)
        {
            FailWriteAtOffset = options.Faults.FailFlashWriteAt,
            FailSetBoot = options.Faults.FailSetBootPartition,
            Slowdown = options.Faults.FlashSlowdown,
        };
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
        var features = DeviceFeatures.Resume | (Options.Compression ? DeviceFeatures.Compression : DeviceFeatures.None)
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
            Flash.Profile = profile;
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

    /// <summary>A reset: the bootloader picks an image, then the app runs its self-test and confirms or rolls back.</summary>
    internal void Restart()
    {
        Flash.Reboot();
        BootCount++;
        _resetAt = Stopwatch.GetTimestamp();
        _bootTime = Options.Profile.RebootTime;
        if (Flash.StateOf(Math.Max(Flash.RunningSlot, 0)) == SlotState.PendingVerify)
        {
            if (Options.Faults.SelfTestFails)
            {
                Flash.Reboot(); // esp_ota_mark_app_invalid_rollback_and_reboot
                BootCount++;
                _bootTime += Options.Profile.RebootTime;
            }
            else
            {
                Flash.MarkRunningValid();
            }
        }

        Model = NewModel();
    }

    /// <summary>
    /// Simulated time until the device advertises again after its last reset, for a link running at
    /// <paramref name="speed"/>: the real time since the reset counts at that speed. Consumed by the next connection.
    /// </summary>
    internal TimeSpan TakeBootTimeLeft(double speed)
    {
        var left = _bootTime - (speed > 0 ? Stopwatch.GetElapsedTime(_resetAt) * speed : TimeSpan.Zero);
        _bootTime = TimeSpan.Zero;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private IFirmwareModel NewModel() => Options.Firmware == SimulatedFirmware.Tutorial
        ? new TutorialFirmwareModel(Flash, Options.Faults)
        : new BleOtaFirmwareModel(Flash, Options.Faults, MaxPacketSize, Options.Window, Options.Compression, () => Info()!, Options.Delta);
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

    /// <summary>The firmware inflates deflate streams (CONFIG_BLE_OTA_COMPRESSION, off by default as on the device).</summary>
    public bool Compression { get; init; }

    /// <summary>CONFIG_BLE_OTA_REQUIRE_ENCRYPTION: Control and Data writes need an encrypted, bonded link.</summary>
    public bool RequireEncryption { get; init; }

    /// <summary>The firmware applies delta patches against its running image (CONFIG_BLE_OTA_DELTA, on by default as on the device).</summary>
    public bool Delta { get; init; } = true;
}
