namespace BleOta.Engine.Protocol;

/// <summary>
/// The ATT error codes an OTA device answers a refused write with: the standard ones and BleOta's own in the
/// application range 0x80-0x9F (firmware/README.md has the table). Client and simulator share them.
/// </summary>
public static class OtaAttError
{
    public const byte None = 0x00;
    public const byte InsufficientAuthentication = 0x05;
    public const byte InvalidAttributeValueLength = 0x0D;
    public const byte InsufficientEncryption = 0x0F;
    public const byte ValueNotAllowed = 0x13;
    public const byte WrongState = 0x80;
    public const byte UnknownOpcode = 0x81;
    public const byte FlashFailed = 0x82;
    public const byte ImageTooLarge = 0x83;
    public const byte Busy = 0x84;
    public const byte NotAnAppImage = 0x85;

    /// <summary>What a refused write means for the user, as an update failure.</summary>
    public static OtaException ToException(byte attError) => attError switch
    {
        FlashFailed => new(OtaErrorCode.FlashFailed,
            "The device could not write its flash (ATT 0x82) and aborted the update; it keeps its current firmware. Retry; if it repeats, the flash may be worn or the partition table wrong."),
        ImageTooLarge => new(OtaErrorCode.ImageTooLarge,
            "The image is larger than the device's OTA partition (ATT 0x83); the device aborted and keeps its firmware. Shrink the app or repartition the device by cable."),
        Busy => new(OtaErrorCode.DeviceBusy,
            "Another client is updating this device (ATT 0x84). Wait for it to finish, or restart the device."),
        InsufficientAuthentication or InsufficientEncryption => new(OtaErrorCode.PairingRequired,
            $"The device accepts updates only over an encrypted, bonded link (ATT 0x{attError:X2}); this computer is not paired with it. " +
            "Pair once, then run the update again: on Linux `bluetoothctl` then `pair <address>` (and `trust <address>`); on Windows Settings > Bluetooth & devices > Add device. " +
            "If pairing fails, remove the old bond on both sides and pair again."),
        NotAnAppImage => new(OtaErrorCode.ImageRejected,
            "The device refused the data as not an ESP app image (ATT 0x85); it keeps its firmware."),
        _ => new(OtaErrorCode.TransportError,
            $"The device refused a write with ATT error 0x{attError:X2} ({Describe(attError)}); it aborted any update in progress."),
    };

    private static string Describe(byte attError) => attError switch
    {
        InvalidAttributeValueLength => "a packet longer than the negotiated size",
        ValueNotAllowed => "a packet size it cannot buffer",
        WrongState => "not allowed in its current state",
        UnknownOpcode => "an opcode it does not know",
        _ => "unexpected",
    };
}
