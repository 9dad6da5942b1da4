using System.Buffers.Binary;
using System.Text;
using BleOta.Engine.Image;

namespace BleOta.Engine.Protocol;

/// <summary>
/// What a BleOta device says about itself on the Info characteristic (layout in docs/protocol.md).
/// Seed firmware has no Info characteristic; then nothing is known before the update. Firmware before delta
/// updates sends the first 112 bytes only: <see cref="RunningImageSha256"/> is then null.
/// </summary>
public sealed record DeviceInfo(
    int HighestProtocol,
    EspChip Chip,
    uint SlotSize,
    int MaxPacketPayload,
    int Window,
    DeviceFeatures Features,
    string RunningVersion,
    string ProjectName,
    string IdfVersion)
{
    public const byte FormatVersion = 1;

    /// <summary>The whole value as this BleOta writes and reads it.</summary>
    public const int Size = 144;

    /// <summary>The value of firmware before delta updates: everything up to the running image's SHA-256.</summary>
    public const int SizeWithoutImageHash = 112;

    /// <summary>SHA-256 of the image the device runs, all its bytes as flashed; null when the device does not say.</summary>
    public byte[]? RunningImageSha256 { get; init; }

    public static DeviceInfo Parse(ReadOnlySpan<byte> value)
    {
        if (value.Length < SizeWithoutImageHash || value[0] != FormatVersion)
        {
            throw new FormatException($"The device's Info value is {value.Length} bytes with format {(value.Length > 0 ? value[0] : 0)}; BleOta reads format {FormatVersion} of {SizeWithoutImageHash} bytes or more. Update BleOta.");
        }

        var imageSha = value.Length >= Size ? value.Slice(SizeWithoutImageHash, 32).ToArray() : null;

        return new DeviceInfo(
            HighestProtocol: value[1],
            Chip: (EspChip)BinaryPrimitives.ReadUInt16LittleEndian(value[2..]),
            SlotSize: BinaryPrimitives.ReadUInt32LittleEndian(value[4..]),
            MaxPacketPayload: BinaryPrimitives.ReadUInt16LittleEndian(value[8..]),
            Window: BinaryPrimitives.ReadUInt16LittleEndian(value[10..]),
            Features: (DeviceFeatures)BinaryPrimitives.ReadUInt32LittleEndian(value[12..]),
            RunningVersion: ImageFormat.ReadCString(value.Slice(16, 32)),
            ProjectName: ImageFormat.ReadCString(value.Slice(48, 32)),
            IdfVersion: ImageFormat.ReadCString(value.Slice(80, 32)))
        {
            // All zero: the device could not hash its image (it then offers no delta either).
            RunningImageSha256 = imageSha is null || imageSha.All(b => b == 0) ? null : imageSha,
        };
    }

    public byte[] ToBytes()
    {
        var value = new byte[Size];
        value[0] = FormatVersion;
        value[1] = (byte)HighestProtocol;
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(2), (ushort)Chip);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4), SlotSize);
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(8), (ushort)MaxPacketPayload);
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(10), (ushort)Window);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(12), (uint)Features);
        WriteField(value.AsSpan(16, 32), RunningVersion);
        WriteField(value.AsSpan(48, 32), ProjectName);
        WriteField(value.AsSpan(80, 32), IdfVersion);
        RunningImageSha256?.CopyTo(value, SizeWithoutImageHash);
        return value;
    }

    private static void WriteField(Span<byte> field, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        bytes.AsSpan(0, Math.Min(bytes.Length, field.Length - 1)).CopyTo(field);
    }
}

[Flags]
public enum DeviceFeatures : uint
{
    None = 0,
    /// <summary>The device inflates deflate streams reaching up to 32 KB back (BleOta firmware before bit 4).</summary>
    Compression = 1 << 0,
    Resume = 1 << 1,
    EncryptedLinkRequired = 1 << 2,

    /// <summary>The device rebuilds an image from the one it runs and a BleOta delta patch (v2 REQUEST flag 2).</summary>
    Delta = 1 << 3,

    /// <summary>
    /// The device inflates deflate streams whose back-references reach at most 8 KB (its inflater's buffer); bit 0
    /// stays clear so clients that know only <see cref="Compression"/> never send it a 32 KB-window stream.
    /// </summary>
    Deflate8K = 1 << 4,
}
