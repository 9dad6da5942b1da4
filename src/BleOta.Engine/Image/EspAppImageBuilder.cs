using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace BleOta.Engine.Image;

/// <summary>
/// Writes byte-exact ESP app images without an ESP toolchain: header, segments, checksum byte, appended
/// SHA-256 and an <c>esp_app_desc_t</c>. The simulator boots them, the demo sends them, the tests damage them.
/// </summary>
public sealed class EspAppImageBuilder
{
    // Where ESP-IDF links an esp32 app's segments; the bootloader does not care for our purposes, but real
    // images look like this and so do ours.
    private static readonly uint[] LoadAddresses = [0x3F400020, 0x3FFB0000, 0x40080000, 0x400D0020];

    public EspChip Chip { get; set; } = EspChip.Esp32;

    public string Version { get; set; } = "1.0.0";

    public string ProjectName { get; set; } = "app";

    public string IdfVersion { get; set; } = "v5.3.2";

    public string CompileDate { get; set; } = "Nov 26 2026";

    public string CompileTime { get; set; } = "12:00:00";

    public bool AppendSha256 { get; set; } = true;

    /// <summary>Roughly how large the file should be; the segments are filled to reach it.</summary>
    public int Size { get; set; } = 64 * 1024;

    /// <summary>Seeds the filler bytes, so equal settings give equal files.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Fills segment bytes; the default is seeded pseudo-random bytes.</summary>
    public Action<Random, byte[]> Fill { get; set; } = static (random, bytes) => random.NextBytes(bytes);

    /// <summary>
    /// The segments' exact contents in load-address order (rodata, DRAM, IRAM, flash text), each a multiple of 4
    /// bytes; the app description is written over the first 256 bytes of the first. When set, Size and Fill are not used.
    /// </summary>
    public IReadOnlyList<byte[]>? Segments { get; set; }

    public byte[] Build()
    {
        var segments = Segments is { } given ? given.Select(s => (byte[])s.Clone()).ToList() : SplitPayload();
        AppDescriptionBytes().CopyTo(segments[0], 0);

        using var stream = new MemoryStream(Size + 64);
        stream.Write(Header(segments.Count));
        byte checksum = ImageFormat.ChecksumSeed;
        for (int index = 0; index < segments.Count; index++)
        {
            var segmentHeader = new byte[ImageFormat.SegmentHeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(segmentHeader, LoadAddresses[index]);
            BinaryPrimitives.WriteUInt32LittleEndian(segmentHeader.AsSpan(4), (uint)segments[index].Length);
            stream.Write(segmentHeader);
            stream.Write(segments[index]);
            foreach (byte b in segments[index])
            {
                checksum ^= b;
            }
        }

        int checksumAt = ImageFormat.ChecksumPosition((int)stream.Length);
        stream.Write(new byte[checksumAt - (int)stream.Length]);
        stream.WriteByte(checksum);
        if (AppendSha256)
        {
            stream.Write(SHA256.HashData(stream.GetBuffer().AsSpan(0, (int)stream.Length)));
        }

        return stream.ToArray();
    }

    private List<byte[]> SplitPayload()
    {
        var random = new Random(Seed);
        int overhead = ImageFormat.HeaderSize + LoadAddresses.Length * ImageFormat.SegmentHeaderSize + 16 + (AppendSha256 ? ImageFormat.Sha256Size : 0);
        int payload = Math.Max(AppDescription.Size + LoadAddresses.Length * 4, Size - overhead);
        // Segment lengths are multiples of 4, as the linker emits them.
        int quarter = payload / LoadAddresses.Length / 4 * 4;
        var segments = new List<byte[]>();
        for (int index = 0; index < LoadAddresses.Length; index++)
        {
            int length = index == LoadAddresses.Length - 1 ? (payload - quarter * index) / 4 * 4 : quarter;
            var segment = new byte[length];
            Fill(random, segment);
            segments.Add(segment);
        }

        return segments;
    }

    private byte[] Header(int segmentCount)
    {
        var header = new byte[ImageFormat.HeaderSize];
        header[0] = ImageFormat.Magic;
        header[ImageFormat.SegmentCountOffset] = (byte)segmentCount;
        header[2] = 0x02; // spi_mode DIO
        header[3] = 0x20; // 4 MB flash, 40 MHz
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(ImageFormat.EntryAddressOffset), 0x40081000);
        header[8] = 0xEE; // wp_pin: not used
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(ImageFormat.ChipIdOffset), (ushort)Chip);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(ImageFormat.MinChipRevFullOffset + 2), 0xFFFF); // max_chip_rev_full: any
        header[ImageFormat.HashAppendedOffset] = AppendSha256 ? (byte)1 : (byte)0;
        return header;
    }

    private byte[] AppDescriptionBytes()
    {
        var desc = new byte[AppDescription.Size];
        BinaryPrimitives.WriteUInt32LittleEndian(desc, AppDescription.MagicWord);
        WriteCString(desc.AsSpan(16, 32), Version);
        WriteCString(desc.AsSpan(48, 32), ProjectName);
        WriteCString(desc.AsSpan(80, 16), CompileTime);
        WriteCString(desc.AsSpan(96, 16), CompileDate);
        WriteCString(desc.AsSpan(112, 32), IdfVersion);
        SHA256.HashData(Encoding.UTF8.GetBytes($"{ProjectName}/{Version}/{Seed}")).CopyTo(desc, 144);
        return desc;
    }

    private static void WriteCString(Span<byte> field, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length >= field.Length)
        {
            throw new ArgumentException($"'{value}' does not fit a {field.Length}-byte field with its terminator.");
        }

        bytes.CopyTo(field);
    }
}
