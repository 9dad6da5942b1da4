using System.Text;

namespace BleOta.Engine.Image;

/// <summary>Layout constants of the ESP app image format (<c>esp_image_header_t</c> and friends).</summary>
internal static class ImageFormat
{
    public const byte Magic = 0xE9;
    public const int HeaderSize = 24;
    public const int SegmentHeaderSize = 8;
    public const byte ChecksumSeed = 0xEF;
    public const int Sha256Size = 32;
    public const int MaxSegments = 16;

    // Offsets inside esp_image_header_t.
    public const int SegmentCountOffset = 1;
    public const int EntryAddressOffset = 4;
    public const int ChipIdOffset = 12;
    public const int MinChipRevFullOffset = 15;
    public const int HashAppendedOffset = 23;

    /// <summary>The checksum byte is placed so that it ends on a 16-byte boundary.</summary>
    public static int ChecksumPosition(int endOfSegments) => endOfSegments + (15 - endOfSegments % 16);

    public static string ReadCString(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }
}
