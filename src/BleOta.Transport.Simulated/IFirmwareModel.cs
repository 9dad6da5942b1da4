namespace BleOta.Transport.Simulated;

/// <summary>When a simulated firmware restarts after handling a write.</summary>
internal enum RestartAfterWrite
{
    None,

    /// <summary>Once the write response is out: BleOta's firmware arms an esp_timer at DONE_ACK (port/ble_ota_flash.c).</summary>
    AfterResponse,

    /// <summary>Inside the write handler, so the write is never answered and the link just drops (the tutorial's firmware).</summary>
    InsideHandler,
}

/// <summary>
/// The firmware a simulated device runs, seen from its GATT server: the characteristics it exposes and the
/// services it advertises, what it answers each write and read with, what it notifies, how long flash kept it
/// busy, and whether it restarts. One model per firmware: <see cref="BleOtaFirmwareModel"/> mirrors
/// firmware/components/ble_ota/core, <see cref="TutorialFirmwareModel"/> the tutorial's esp/main/gatt_svr.c.
/// </summary>
internal interface IFirmwareModel
{
    IReadOnlyCollection<Guid> Characteristics { get; }

    /// <summary>Service UUIDs in the advertisement or scan response.</summary>
    IReadOnlyList<Guid> AdvertisedServices { get; }

    /// <summary>Notifications to send on OTA Control, in order.</summary>
    Queue<byte[]> Notifications { get; }

    /// <summary>The flash work the firmware did for the last write, which the link's model times (docs/link-model.md).</summary>
    FirmwareWork LastWork { get; }

    /// <summary>Whether the last write made the firmware restart, and when.</summary>
    RestartAfterWrite Restart { get; }

    /// <summary>From the write that accepted an image to <c>esp_restart()</c>.</summary>
    TimeSpan RestartDelay { get; }

    void OnConnect(int mtu);

    void OnDisconnect();

    /// <summary>A write to OTA Control; returns the ATT status (0 = success).</summary>
    byte OnControlWrite(ReadOnlySpan<byte> value);

    /// <summary>A write to OTA Data; returns the ATT status (0 = success).</summary>
    byte OnDataWrite(ReadOnlySpan<byte> value);

    /// <summary>A read of one of <see cref="Characteristics"/> that can be read.</summary>
    byte[] Read(Guid characteristic);
}

/// <summary>
/// What the firmware's port did on the flash for one write, for the link's timing model: opened the slot
/// (<c>esp_ota_begin</c>), waited for the writer task to finish the stream (<c>stream_finish</c>), read back this
/// many bytes to hash and verify them.
/// </summary>
internal readonly record struct FirmwareWork(bool OpenedSlot = false, bool FinishedStream = false, long HashedBytes = 0);
