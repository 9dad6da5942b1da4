using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace BleOta.Engine.Image;

/// <summary>
/// Writes byte-exact ESP images without an ESP toolchain: header, segments, checksum byte, appended SHA-256 and a
/// description. By default an app as <c>idf.py build</c> writes it; <see cref="Kind"/> also gives the images that are
/// not apps (a bootloader, an app that runs from RAM only), which the tests use to check they are refused. The
/// simulator boots these images, the demo sends them, the tests damage them.
/// </summary>
public sealed class EspAppImageBuilder
{
    public EspChip Chip { get; set; } = EspChip.Esp32;

    /// <summary><see cref="ImageKind.App"/>, <see cref="ImageKind.Bootloader"/> or <see cref="ImageKind.RamOnlyApp"/>.</summary>
    public ImageKind Kind { get; set; } = ImageKind.App;

    public string Version { get; set; } = "1.0.0";

    public string ProjectName { get; set; } = "app";

    public string IdfVersion { get; set; } = "v5.3.2";

    public string CompileDate { get; set; } = "Nov 26 2026";

    public string CompileTime { get; set; } = "12:00:00";

    public bool AppendSha256 { get; set; } = true;

    /// <summary>
    /// Bootloader only: write the <c>esp_bootloader_desc_t</c> that ESP-IDF v5.2 and later put at the start of the
    /// bootloader's first DRAM segment. Older bootloaders have none.
    /// </summary>
    public bool BootloaderDescription { get; set; }

    /// <summary>Sign the image for Secure Boot v2 the way <c>espsecure sign_data --version 2</c> does (see <see cref="SignSecureBootV2"/>).</summary>
    public bool SecureBootV2 { get; set; }

    /// <summary>Roughly how large the file should be; the segments are filled to reach it.</summary>
    public int Size { get; set; } = 64 * 1024;

    /// <summary>Seeds the filler bytes, so equal settings give equal files.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Fills segment bytes; the default is seeded pseudo-random bytes.</summary>
    public Action<Random, byte[]> Fill { get; set; } = static (random, bytes) => random.NextBytes(bytes);

    /// <summary>
    /// An app's segments' exact contents in load-address order (DROM, DRAM, IRAM, IROM), each a multiple of 4 bytes;
    /// the app description is written over the first 256 bytes of the first. When set, Size and Fill are not used.
    /// </summary>
    public IReadOnlyList<byte[]>? Segments { get; set; }

    public byte[] Build()
    {
        var random = new Random(Seed);
        var loadAddresses = LoadAddresses();
        int overhead = ImageFormat.HeaderSize + loadAddresses.Length * ImageFormat.SegmentHeaderSize + 16 + (AppendSha256 ? ImageFormat.Sha256Size : 0);
        int payload = Math.Max(AppDescription.Size + loadAddresses.Length * 4, Size - overhead);
        var segments = Segments is { } given ? GivenSegments(given, loadAddresses.Length) : SplitPayload(payload, loadAddresses.Length, random);

        using var stream = new MemoryStream(Size + 64);
        stream.Write(Header(segments.Count, loadAddresses[^1]));
        byte checksum = ImageFormat.ChecksumSeed;
        for (int index = 0; index < segments.Count; index++)
        {
            var segmentHeader = new byte[ImageFormat.SegmentHeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(segmentHeader, loadAddresses[index]);
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

        return SecureBootV2 ? SignSecureBootV2(stream.ToArray(), random) : stream.ToArray();
    }

    /// <summary>
    /// Where the segments load, in the order esptool's <c>elf2image</c> writes them. An app: its DROM segment first
    /// (it starts with <c>.flash.appdesc</c>), DRAM, IRAM, then IROM, the layout <c>esptool image-info</c> shows for
    /// an <c>idf.py build</c> app (ESP-IDF docs, "App Image Format"). A bootloader or a RAM-only app: DRAM first (the
    /// bootloader's starts with <c>.dram0.bootdesc</c>, moved there by <c>elf2image</c>), then IRAM, nothing mapped
    /// from flash. Addresses come from the chip's <see cref="EspMemoryMap"/>.
    /// </summary>
    private uint[] LoadAddresses()
    {
        var map = EspMemoryMap.For(Chip) ?? throw new ArgumentException($"No memory map for {Chip.ToDisplayName()}.");
        // On chips whose IROM and DROM share one range, code goes 1 MB above the data, as each needs its own 64 KB MMU page.
        uint irom = map.IromStart + (map.IromStart == map.DromStart ? 0x100000u : 0u) + 0x20;
        return Kind switch
        {
            ImageKind.App => [map.DromStart + 0x20, map.Dram, map.Iram, irom],
            ImageKind.Bootloader or ImageKind.RamOnlyApp => [map.Dram, map.Iram, map.Iram + 0x8000],
            _ => throw new ArgumentException($"The builder writes apps, bootloaders and RAM-only apps, not {Kind}."),
        };
    }

    private List<byte[]> GivenSegments(IReadOnlyList<byte[]> given, int count)
    {
        if (Kind != ImageKind.App || given.Count != count)
        {
            throw new ArgumentException($"Segments are for an app of {count} segments; {given.Count} were given for a {Kind}.");
        }

        var segments = given.Select(s => (byte[])s.Clone()).ToList();
        AppDescriptionBytes().CopyTo(segments[0], 0);
        return segments;
    }

    private List<byte[]> SplitPayload(int payload, int count, Random random)
    {
        // Segment lengths are multiples of 4, as the linker emits them.
        int share = payload / count / 4 * 4;
        var segments = new List<byte[]>();
        for (int index = 0; index < count; index++)
        {
            int length = index == count - 1 ? (payload - share * index) / 4 * 4 : share;
            var segment = new byte[length];
            Fill(random, segment);
            segments.Add(segment);
        }

        if (Kind == ImageKind.Bootloader)
        {
            // A bootloader's DRAM segment starts with esp_bootloader_desc_t (IDF 5.2+) or with plain data (older ones).
            var description = BootloaderDescription
                ? new BootloaderDescription(1, IdfVersion, $"{CompileDate} {CompileTime}").ToBytes()
                : new byte[BleOta.Engine.Image.BootloaderDescription.Size];
            description.CopyTo(segments[0], 0);
        }
        else
        {
            AppDescriptionBytes().CopyTo(segments[0], 0);
        }

        return segments;
    }

    private byte[] Header(int segmentCount, uint entrySegment)
    {
        var header = new byte[ImageFormat.HeaderSize];
        header[0] = ImageFormat.Magic;
        header[ImageFormat.SegmentCountOffset] = (byte)segmentCount;
        header[2] = 0x02; // spi_mode DIO
        header[3] = 0x20; // 4 MB flash, 40 MHz
        uint entry = Kind == ImageKind.App ? EspMemoryMap.For(Chip)!.Iram + 0x1000 : entrySegment + 0x100;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(ImageFormat.EntryAddressOffset), entry);
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
        ImageFormat.WriteCString(desc.AsSpan(16, 32), Version);
        ImageFormat.WriteCString(desc.AsSpan(48, 32), ProjectName);
        ImageFormat.WriteCString(desc.AsSpan(80, 16), CompileTime);
        ImageFormat.WriteCString(desc.AsSpan(96, 16), CompileDate);
        ImageFormat.WriteCString(desc.AsSpan(112, 32), IdfVersion);
        SHA256.HashData(Encoding.UTF8.GetBytes($"{ProjectName}/{Version}/{Seed}")).CopyTo(desc, 144);
        return desc;
    }

    /// <summary>
    /// espsecure's <c>sign_secure_boot_v2</c>: pad the image with 0xFF to a 4 KB boundary, then append one 4 KB sector
    /// holding an RSA signature block (<c>generate_rsa_signature_block</c>: magic 0xE7, scheme 0x02, two pad bytes, the
    /// SHA-256 of the padded image, the 3072-bit modulus, exponent, R^-1 and M', the signature; then the CRC32 of those
    /// 1196 bytes and 16 zero bytes) and 0xFF after it. The key and signature here are filler: no device checks them.
    /// </summary>
    private static byte[] SignSecureBootV2(byte[] image, Random random)
    {
        int padded = (image.Length + ImageFormat.SignatureSectorSize - 1) / ImageFormat.SignatureSectorSize * ImageFormat.SignatureSectorSize;
        var signed = new byte[padded + ImageFormat.SignatureSectorSize];
        signed.AsSpan().Fill(0xFF);
        image.CopyTo(signed, 0);

        var block = signed.AsSpan(padded, ImageFormat.SignatureBlockSize);
        block[0] = ImageFormat.SignatureBlockMagic;
        block[1] = ImageFormat.SignatureSchemeRsa;
        block[2] = block[3] = 0;
        SHA256.HashData(signed.AsSpan(0, padded)).CopyTo(block[4..]);
        random.NextBytes(block.Slice(36, 1160)); // n, e, rinv, m', signature
        BinaryPrimitives.WriteUInt32LittleEndian(block[1196..], Crc32(block[..1196]));
        block.Slice(1200, 16).Clear();
        return signed;
    }

    /// <summary>The CRC-32 zlib computes (reflected polynomial 0xEDB88320), as espsecure stores it.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }
}
