using System.Buffers.Binary;

namespace BleOta.Engine.Protocol;

/// <summary>
/// The error byte of every v2 notification: the firmware core's <c>ble_ota_err_t</c> values, which go on air
/// unchanged (docs/protocol.md, "Error codes").
/// </summary>
public enum V2Error : byte
{
    Ok = 0,
    InvalidArgument = 1,
    InvalidState = 2,
    InvalidLength = 3,
    ValueNotAllowed = 4,
    UnknownOpcode = 5,
    Busy = 6,
    NoMemory = 7,
    NoPartition = 8,
    Flash = 9,
    ImageTooLarge = 10,
    NoData = 11,
    ImageInvalid = 12,
    SetBoot = 13,
    Disconnected = 14,
    Notify = 15,
    Internal = 16,
    Offset = 17,
    RingFull = 18,
    ShaMismatch = 19,
    SizeMismatch = 20,
    Inflate = 21,
    Unsupported = 22,
    Aborted = 23,
    InsufficientEncryption = 24,
    NotAnApp = 25,
    WrongChip = 26,
    BaseMismatch = 27,
    Delta = 28,
}

/// <summary>
/// v2 REQUEST: what the client is about to send, so the device can check it before the boot slot changes. A delta
/// REQUEST (<see cref="BaseSha256"/> set) says the stream is a patch against the image with that SHA-256.
/// </summary>
public sealed record V2Request(bool Deflate, uint ImageSize, uint StreamSize, byte[] Sha256)
{
    public const byte Version = 2;
    public const int Length = 43;
    public const int DeltaLength = 75;
    public const byte FlagDeflate = 0x01;
    public const byte FlagDelta = 0x02;

    /// <summary>SHA-256 of the image the patch was made against; null when the stream is not a patch.</summary>
    public byte[]? BaseSha256 { get; init; }

    public byte[] ToBytes()
    {
        var value = new byte[BaseSha256 is null ? Length : DeltaLength];
        value[0] = (byte)OtaOpcode.Request;
        value[1] = Version;
        value[2] = (byte)((Deflate ? FlagDeflate : 0) | (BaseSha256 is null ? 0 : FlagDelta));
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(3), ImageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(7), StreamSize);
        Sha256.CopyTo(value, 11);
        BaseSha256?.CopyTo(value, Length);
        return value;
    }

    /// <summary>Reads a v2 REQUEST; null when the value is not one (wrong length for its flags, opcode or version byte).</summary>
    public static V2Request? TryParse(ReadOnlySpan<byte> value, out byte flags)
    {
        flags = 0;
        if (value.Length < Length || value[0] != (byte)OtaOpcode.Request || value[1] != Version
            || value.Length != ((value[2] & FlagDelta) != 0 ? DeltaLength : Length))
        {
            return null;
        }

        flags = value[2];
        return new V2Request((flags & FlagDeflate) != 0, BinaryPrimitives.ReadUInt32LittleEndian(value[3..]),
            BinaryPrimitives.ReadUInt32LittleEndian(value[7..]), value.Slice(11, 32).ToArray())
        {
            BaseSha256 = (flags & FlagDelta) != 0 ? value.Slice(Length, 32).ToArray() : null,
        };
    }

    public bool Equals(V2Request? other) => other is not null && Deflate == other.Deflate && ImageSize == other.ImageSize
        && StreamSize == other.StreamSize && Sha256.AsSpan().SequenceEqual(other.Sha256)
        && (BaseSha256 is null ? other.BaseSha256 is null : other.BaseSha256 is not null && BaseSha256.AsSpan().SequenceEqual(other.BaseSha256));

    public override int GetHashCode() => HashCode.Combine(Deflate, ImageSize, StreamSize);
}

/// <summary>Every v2 notification: opcode, error, window, offset (8 bytes).</summary>
public readonly record struct V2Notification(OtaOpcode Opcode, V2Error Error, int Window, uint Offset)
{
    public const int Length = 8;

    public byte[] ToBytes()
    {
        var value = new byte[Length];
        value[0] = (byte)Opcode;
        value[1] = (byte)Error;
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(2), (ushort)Window);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4), Offset);
        return value;
    }

    /// <summary>False for anything else on Control (a v1 one-byte value, a stale or foreign notification).</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out V2Notification notification)
    {
        notification = default;
        if (value.Length != Length)
        {
            return false;
        }

        notification = new V2Notification((OtaOpcode)value[0], (V2Error)value[1],
            BinaryPrimitives.ReadUInt16LittleEndian(value[2..]), BinaryPrimitives.ReadUInt32LittleEndian(value[4..]));
        return true;
    }
}

/// <summary>The short v2 control messages and the data packet layout.</summary>
public static class V2Messages
{
    public const int DataHeaderLength = 4;

    public static byte[] Done => [(byte)OtaOpcode.Done, V2Request.Version];

    public static byte[] Abort => [(byte)OtaOpcode.Abort, V2Request.Version];

    /// <summary>A data packet: the stream offset of its first byte, then the bytes.</summary>
    public static byte[] DataPacket(uint offset, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[DataHeaderLength + payload.Length];
        WriteDataPacket(packet, offset, payload);
        return packet;
    }

    /// <summary>Lays a data packet out in <paramref name="destination"/> and returns its length.</summary>
    public static int WriteDataPacket(Span<byte> destination, uint offset, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, offset);
        payload.CopyTo(destination[DataHeaderLength..]);
        return DataHeaderLength + payload.Length;
    }

    /// <summary>What a v2 NAK means for the user, as an update failure.</summary>
    public static OtaException ToException(V2Error error, string during)
    {
        var (code, message) = Describe(error, during);
        return new OtaException(code, message) { DeviceError = error };
    }

    private static (OtaErrorCode Code, string Message) Describe(V2Error error, string during) => error switch
    {
        V2Error.Busy => (OtaErrorCode.DeviceBusy,
            $"Another client is updating this device (v2 error {(int)error} Busy {during}). Wait for it to finish, or restart the device."),
        V2Error.ImageTooLarge => (OtaErrorCode.ImageTooLarge,
            $"The image is larger than the device's OTA partition (v2 error {(int)error} ImageTooLarge {during}); the device keeps its firmware."),
        V2Error.Flash or V2Error.SetBoot => (OtaErrorCode.FlashFailed,
            $"The device could not write its flash (v2 error {(int)error} {error} {during}) and aborted; it keeps its current firmware. Retry; if it repeats, check the partition table."),
        V2Error.ShaMismatch => (OtaErrorCode.ImageRejected,
            $"The image the device wrote does not match the announced SHA-256 (v2 error {(int)error} ShaMismatch {during}); the boot partition was not changed. Retry the update."),
        V2Error.BaseMismatch => (OtaErrorCode.RequestRejected,
            $"The device does not run the image the patch was made against (v2 error {(int)error} BaseMismatch {during}); it keeps its firmware. Update it with -Delta Off."),
        V2Error.SizeMismatch or V2Error.Inflate or V2Error.Delta or V2Error.ImageInvalid => (OtaErrorCode.ImageRejected,
            $"The device rejected the image (v2 error {(int)error} {error} {during}); it keeps its current firmware."),
        V2Error.NotAnApp => (OtaErrorCode.ImageNotAnApp,
            $"The device refused the file as not an app (v2 error {(int)error} NotAnApp {during}): it is a bootloader, a RAM-only image or a merged flash image " +
            "(one that starts with the bootloader), not the app that idf.py writes as build/<project>.bin. The device keeps its firmware; send the app image."),
        V2Error.WrongChip => (OtaErrorCode.ImageWrongChip,
            $"The device refused the image as built for another chip (v2 error {(int)error} WrongChip {during}); it keeps its firmware. " +
            "Build the app for the device's chip (idf.py set-target) and send that image."),
        V2Error.Unsupported => (OtaErrorCode.ProtocolNotSupported,
            $"The device does not support what BleOta asked for (v2 error {(int)error} Unsupported {during}), e.g. compression. Retry with -Protocol V1."),
        _ => (OtaErrorCode.RequestRejected,
            $"The device refused the update (v2 error {(int)error} {error} {during}). Check its log; restart it and try again."),
    };
}
