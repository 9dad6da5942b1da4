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

    /// <summary>
    /// Secure Boot v2 signs an image by padding it to a 4 KB boundary and appending one 4 KB sector of signature blocks,
    /// each starting with the magic byte 0xE7 and the scheme (0x02 RSA, 0x03 ECDSA): espsecure's
    /// <c>sign_secure_boot_v2</c>, <c>SIG_BLOCK_MAGIC</c>, <c>SECTOR_SIZE</c> and <c>SIG_BLOCK_SIZE</c>.
    /// </summary>
    public const int SignatureSectorSize = 4096;
    public const int SignatureBlockSize = 1216;
    public const byte SignatureBlockMagic = 0xE7;
    public const byte SignatureSchemeRsa = 0x02;
    public const byte SignatureSchemeEcdsa = 0x03;

    /// <summary>A partition table entry starts with these bytes (ESP-IDF gen_esp32part.py, <c>PartitionDefinition.MAGIC_BYTES</c>).</summary>
    public static ReadOnlySpan<byte> PartitionEntryMagic => [0xAA, 0x50];

    /// <summary>The checksum byte is placed so that it ends on a 16-byte boundary.</summary>
    public static int ChecksumPosition(int endOfSegments) => endOfSegments + (15 - endOfSegments % 16);

    public static string ReadCString(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    public static void WriteCString(Span<byte> field, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length >= field.Length)
        {
            throw new ArgumentException($"'{value}' does not fit a {field.Length}-byte field with its terminator.");
        }

        bytes.CopyTo(field);
    }
}
