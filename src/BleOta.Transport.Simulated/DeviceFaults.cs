namespace BleOta.Transport.Simulated;

/// <summary>Misbehaviour a simulated device can be told to show, so tests can see how the client copes.</summary>
public sealed record DeviceFaults
{
    /// <summary>Answer REQUEST with REQUEST_NAK (the OTA partition could not be opened).</summary>
    public bool RejectRequest { get; init; }

    /// <summary>Never answer REQUEST (a firmware stuck or a lost notification).</summary>
    public bool IgnoreRequest { get; init; }

    /// <summary>Never answer DONE.</summary>
    public bool IgnoreDone { get; init; }

    /// <summary>Drop the link once this many image bytes have arrived.</summary>
    public int? DisconnectAfterBytes { get; init; }

    /// <summary>How many links <see cref="DisconnectAfterBytes"/> drops: every one by default (the device stays out of range), or a single dropout.</summary>
    public int DisconnectTimes { get; init; } = int.MaxValue;

    /// <summary>Refuse the flash write that covers this image offset (once: a retry can succeed).</summary>
    public int? FailFlashWriteAt { get; init; }

    /// <summary>esp_ota_set_boot_partition fails after the image verified: DONE_NAK, the old image keeps booting.</summary>
    public bool FailSetBootPartition { get; init; }

    /// <summary>Flash erase and programming take this many times longer than the link profile says (a worn or slow chip).</summary>
    public double FlashSlowdown { get; init; } = 1;

    /// <summary>The app's self-test fails after the new image boots, so the bootloader rolls back.</summary>
    public bool SelfTestFails { get; init; }

    public static DeviceFaults None { get; } = new();
}
