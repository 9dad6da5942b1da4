using BleOta.Engine.Image;

namespace BleOta.Transport.Simulated;

/// <summary>ESP-IDF's <c>esp_ota_img_states_t</c> as the bootloader keeps it in otadata.</summary>
public enum SlotState
{
    Empty,
    New,
    PendingVerify,
    Valid,
    Invalid,
    Aborted,
}

/// <summary>
/// Two OTA app slots and otadata on NOR flash, with the bootloader's rules: erase before write (a write can
/// only clear bits), every sector erased before data reaches it, validation before the boot slot changes, and
/// rollback of an image that never confirmed itself. The bits only: what the work takes is <see cref="FlashWork"/>'s.
/// </summary>
public sealed class SimulatedFlash
{
    public const int SectorSize = 4096;

    private readonly byte[][] _slots;
    private readonly SlotState[] _states = [SlotState.Empty, SlotState.Empty];
    private int _bootSlot;
    private int _updateSlot = -1;
    private int _written;
    private int _erasedUpTo;

    public SimulatedFlash(int slotSize, byte[] factoryImage)
    {
        _slots = [NewErased(slotSize), NewErased(slotSize)];
        factoryImage.CopyTo(_slots[0], 0);
        _states[0] = SlotState.Valid;
        RunningSlot = 0;
        Chip = FirmwareImage.Parse(factoryImage).Chip;
    }

    /// <summary>The chip the flash sits on: the factory image's, as the build that made it targeted.</summary>
    public EspChip Chip { get; }

    public int SlotSize => _slots[0].Length;

    /// <summary>The slot the device is running from; -1 when no slot holds a bootable image (bricked).</summary>
    public int RunningSlot { get; private set; }

    public bool IsUpdating => _updateSlot >= 0;

    /// <summary>Bytes accepted since <see cref="Begin"/>.</summary>
    public int Written => _written;

    /// <summary>Fails the write that would cross this offset once, as a flash or driver fault would.</summary>
    public int? FailWriteAtOffset { get; set; }

    /// <summary>Makes the next <see cref="End"/> fail to switch otadata after the image verified.</summary>
    public bool FailSetBoot { get; set; }

    public SlotState StateOf(int slot) => _states[slot];

    public FirmwareImage? RunningImage => RunningSlot < 0 ? null : FirmwareImage.Parse(_slots[RunningSlot]);

    /// <summary>The running image's own bytes (what its .bin file held), or null when nothing boots.</summary>
    public byte[]? RunningImageBytes() => RunningImage is { ImageLength: > 0 } image ? image.Bytes[..image.ImageLength] : null;

    /// <summary>Makes the next <see cref="Begin"/> fail, as <c>esp_ota_begin</c> does without an update partition.</summary>
    public bool FailBegin { get; set; }

    /// <summary><c>esp_ota_begin</c> with sequential writes: pick the other slot; erasing happens as writes arrive. False when it fails.</summary>
    public bool Begin()
    {
        if (FailBegin)
        {
            FailBegin = false;
            return false;
        }

        _updateSlot = RunningSlot == 1 ? 0 : 1;
        _written = 0;
        _erasedUpTo = 0;
        _states[_updateSlot] = SlotState.Empty;
        return true;
    }

    /// <summary><c>esp_ota_write</c>: erases the sectors it enters, then programs. False when the flash refuses.</summary>
    public bool Write(ReadOnlySpan<byte> data)
    {
        if (!IsUpdating || _written + data.Length > SlotSize)
        {
            return false;
        }

        if (FailWriteAtOffset is { } failAt && failAt >= _written && failAt < _written + data.Length)
        {
            FailWriteAtOffset = null; // one-shot, as the firmware host device's fault: a retry can succeed
            return false;
        }

        var slot = _slots[_updateSlot];
        while (_erasedUpTo < _written + data.Length)
        {
            slot.AsSpan(_erasedUpTo, SectorSize).Fill(0xFF);
            _erasedUpTo += SectorSize;
        }

        for (int i = 0; i < data.Length; i++)
        {
            // NOR flash: programming clears bits; it cannot set them without an erase.
            slot[_written + i] &= data[i];
        }

        _written += data.Length;
        return true;
    }

    /// <summary>What was written since <see cref="Begin"/>, as an image: what <c>esp_ota_end</c> verifies.</summary>
    public FirmwareImage WrittenImage() => IsUpdating
        ? FirmwareImage.Parse(_slots[_updateSlot].AsSpan(0, _written).ToArray())
        : throw new InvalidOperationException("No update is in progress.");

    /// <summary>
    /// <c>esp_ota_end</c> then <c>esp_ota_set_boot_partition</c>: the image must verify before otadata changes.
    /// Returns the problem when it does not, and the update is over either way.
    /// </summary>
    public string? End()
    {
        if (!IsUpdating)
        {
            return "no update in progress";
        }

        var image = WrittenImage();
        int slot = _updateSlot;
        _updateSlot = -1;
        if (!image.IsValid)
        {
            _states[slot] = SlotState.Invalid;
            return image.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error).Message;
        }

        if (image.Chip != Chip)
        {
            // esp_image_verify checks the header's chip id against the chip it runs on (bootloader_common_check_chip_validity).
            _states[slot] = SlotState.Invalid;
            return $"the image is built for {image.Chip.ToDisplayName()}, this is an {Chip.ToDisplayName()}";
        }

        if (FailSetBoot)
        {
            FailSetBoot = false;
            _states[slot] = SlotState.Aborted;
            return "esp_ota_set_boot_partition failed";
        }

        _bootSlot = slot;
        _states[slot] = SlotState.New;
        return null;
    }

    /// <summary><c>esp_ota_abort</c>: the half-written slot is never booted.</summary>
    public void Abort()
    {
        if (IsUpdating)
        {
            _states[_updateSlot] = SlotState.Aborted;
            _updateSlot = -1;
        }
    }

    /// <summary>
    /// A reset: the bootloader boots the otadata slot if its image verifies, rolling back an image that was
    /// booted once and never marked valid, and falling back to the other slot when the chosen one is damaged.
    /// </summary>
    public void Reboot()
    {
        Abort();
        if (_states[_bootSlot] == SlotState.PendingVerify)
        {
            _states[_bootSlot] = SlotState.Aborted;
            _bootSlot = 1 - _bootSlot;
        }
        else if (_states[_bootSlot] == SlotState.New)
        {
            _states[_bootSlot] = SlotState.PendingVerify;
        }

        RunningSlot = IsBootable(_bootSlot) ? _bootSlot : IsBootable(1 - _bootSlot) ? 1 - _bootSlot : -1;
    }

    /// <summary><c>esp_ota_mark_app_valid_cancel_rollback</c>.</summary>
    public void MarkRunningValid()
    {
        if (RunningSlot >= 0)
        {
            _states[RunningSlot] = SlotState.Valid;
        }
    }

    private bool IsBootable(int slot) =>
        _states[slot] is SlotState.Valid or SlotState.New or SlotState.PendingVerify && FirmwareImage.Parse(_slots[slot]).IsValid;

    private static byte[] NewErased(int size)
    {
        var bytes = new byte[size];
        bytes.AsSpan().Fill(0xFF);
        return bytes;
    }
}
