using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BleOta.Engine.Image;

/// <summary>
/// An ESP app image (what <c>idf.py build</c> writes as <c>build/&lt;project&gt;.bin</c>), parsed and checked the way
/// the bootloader checks it, so a damaged or foreign file is refused before a byte goes on air. Files that are ESP
/// images but not apps (a bootloader, an app that runs from RAM only, a merged flash image) are told apart and refused.
/// </summary>
public sealed class FirmwareImage
{
    private FirmwareImage(byte[] bytes, string? path)
    {
        Bytes = bytes;
        Path = path;
    }

    /// <summary>The file this image was read from, if any.</summary>
    public string? Path { get; }

    /// <summary>The whole file, as it will be sent.</summary>
    public byte[] Bytes { get; }

    public int Length => Bytes.Length;

    public EspChip Chip { get; private set; } = EspChip.Invalid;

    public uint EntryAddress { get; private set; }

    public IReadOnlyList<ImageSegment> Segments { get; private set; } = [];

    /// <summary>What the file is; only an <see cref="ImageKind.App"/> goes to an OTA slot.</summary>
    public ImageKind Kind { get; private set; }

    /// <summary>The description compiled into the app; null when no segment starts with one.</summary>
    public AppDescription? App { get; private set; }

    /// <summary>The description compiled into a bootloader (ESP-IDF v5.2 and later).</summary>
    public BootloaderDescription? Bootloader { get; private set; }

    /// <summary>True when a Secure Boot v2 signature sector follows the image.</summary>
    public bool SecureBootV2Signed { get; private set; }

    /// <summary>The header asks for a SHA-256 after the checksum (any value but 0, as esp_image_format.c reads it).</summary>
    public bool HashAppended { get; private set; }

    /// <summary>
    /// Where the appended SHA-256 ends, 0 without one: esp_image_verify (run by <c>esp_ota_end</c>) checks every byte
    /// before it against that hash, and nothing after it (a signature sector) unless the device verifies signatures.
    /// </summary>
    public int HashedImageEnd { get; private set; }

    /// <summary>
    /// The bytes the image occupies, its appended hash and a Secure Boot v2 signature sector included: less than
    /// <see cref="Length"/> when it was read from a flash slot (esp_image_get_metadata's image_len, plus the
    /// signature block as the bootloader counts it); 0 when the image is too damaged to say.
    /// </summary>
    public int ImageLength { get; private set; }

    /// <summary>SHA-256 of the whole file: what the v2 protocol announces and the device checks.</summary>
    public byte[] FileSha256 { get; private set; } = [];

    public IReadOnlyList<ImageDiagnostic> Diagnostics => _diagnostics;

    private readonly List<ImageDiagnostic> _diagnostics = [];

    /// <summary>True when nothing in the image would make the bootloader refuse it.</summary>
    public bool IsValid => !_diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    public string? Version => App?.Version;

    public static FirmwareImage Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses and checks an image; problems land in <see cref="Diagnostics"/> rather than exceptions.</summary>
    public static FirmwareImage Parse(byte[] bytes, string? path = null)
    {
        var image = new FirmwareImage(bytes, path);
        image.Check();
        return image;
    }

    private void Check()
    {
        FileSha256 = SHA256.HashData(Bytes);
        var data = Bytes.AsSpan();
        if (data.Length == 0)
        {
            Error(ImageProblem.Empty, 0, "The file is empty.");
            return;
        }

        if (data[0] != ImageFormat.Magic)
        {
            if (MergedImageBootloaderOffset(data) is { } bootloaderAt)
            {
                Kind = ImageKind.MergedFlashImage;
                Error(ImageProblem.MergedFlashImage, bootloaderAt,
                    $"This is a merged flash image for esptool write_flash at 0x0: it starts with erased flash and has a bootloader at 0x{bootloaderAt:X}, and the app further on.");
                return;
            }

            Error(ImageProblem.BadMagic, 0, $"This is not an ESP app image: it starts with 0x{data[0]:X2}, not the magic byte 0xE9.");
            return;
        }

        if (data.Length < ImageFormat.HeaderSize)
        {
            Error(ImageProblem.Truncated, data.Length, $"The file ends after {data.Length} bytes, inside the 24-byte image header.");
            return;
        }

        int segmentCount = data[ImageFormat.SegmentCountOffset];
        EntryAddress = BinaryPrimitives.ReadUInt32LittleEndian(data[ImageFormat.EntryAddressOffset..]);
        Chip = (EspChip)BinaryPrimitives.ReadUInt16LittleEndian(data[ImageFormat.ChipIdOffset..]);
        HashAppended = data[ImageFormat.HashAppendedOffset] != 0;
        if (!Enum.IsDefined(Chip) || Chip == EspChip.Invalid)
        {
            Error(ImageProblem.UnknownChip, ImageFormat.ChipIdOffset, $"The header names an unknown chip ({Chip.ToDisplayName()}).");
        }

        if (segmentCount == 0 || segmentCount > ImageFormat.MaxSegments)
        {
            Error(ImageProblem.BadSegment, ImageFormat.SegmentCountOffset, $"The header declares {segmentCount} segments; an app image has 1 to {ImageFormat.MaxSegments}.");
            return;
        }

        if (!ReadSegments(data, segmentCount, out int end))
        {
            return;
        }

        CheckChecksum(data, end, out int checksumEnd);
        if (HashAppended && checksumEnd <= data.Length)
        {
            CheckAppendedHash(data, checksumEnd);
        }

        int imageEnd = checksumEnd + (HashAppended ? ImageFormat.Sha256Size : 0);
        HashedImageEnd = HashAppended ? imageEnd : 0;
        ImageLength = SignatureSectorEnd(data, imageEnd);
        if (EspMemoryMap.For(Chip) is { } map)
        {
            Classify(data, map, imageEnd);
        }
    }

    /// <summary>
    /// Tells an app from the ESP images that are not one. An app has segments mapped from flash and its
    /// <c>esp_app_desc_t</c> at the start of the first (the DROM segment <c>.flash.appdesc</c>, which esptool's
    /// <c>elf2image</c> writes first and <c>esp_ota_get_partition_description</c> reads there). An image without a
    /// flash-mapped segment runs from RAM only: a bootloader, or an app built with <c>CONFIG_APP_BUILD_TYPE_RAM</c>;
    /// followed by a partition table or more data, it is the start of a merged flash image.
    /// </summary>
    private void Classify(ReadOnlySpan<byte> data, EspMemoryMap map, int imageEnd)
    {
        var first = Segments[0];
        if (Segments.Any(s => map.IsFlashMapped(s.LoadAddress)))
        {
            Kind = ImageKind.App;
            App = map.IsFlashMapped(first.LoadAddress) ? AppDescription.TryParse(data.Slice(first.FileOffset, first.Length)) : null;
            if (App is null)
            {
                Error(ImageProblem.NoAppDescription, first.FileOffset,
                    "Its first segment does not start with the esp_app_desc_t (magic 0xABCD5432) that every ESP-IDF app has, so it is not an ESP-IDF app image.");
            }

            return;
        }

        int end = SignatureSectorEnd(data, imageEnd);
        SecureBootV2Signed = end > imageEnd;
        Bootloader = BootloaderDescription.TryParse(data.Slice(first.FileOffset, first.Length));
        foreach (var segment in Segments)
        {
            App ??= AppDescription.TryParse(data.Slice(segment.FileOffset, segment.Length));
        }

        int tableAt = EspMemoryMap.PartitionTableOffset - map.BootloaderOffset;
        bool partitionTableFollows = data.Length >= tableAt + 2 && data.Slice(tableAt, 2).SequenceEqual(ImageFormat.PartitionEntryMagic);
        if (partitionTableFollows || data[end..].ContainsAnyExcept((byte)0xFF))
        {
            Kind = ImageKind.MergedFlashImage;
            Error(ImageProblem.MergedFlashImage, partitionTableFollows ? tableAt : end, partitionTableFollows
                ? $"This is a merged flash image: it starts with a bootloader, the partition table follows at file offset 0x{tableAt:X} (flash 0x{EspMemoryMap.PartitionTableOffset:X}) and the app after it."
                : $"This is a merged flash image or a flash dump: it starts with a bootloader that ends at 0x{end:X}, and {data.Length - end:N0} more bytes follow.");
            return;
        }

        string signed = SecureBootV2Signed ? ", signed for Secure Boot v2" : "";
        (Kind, var problem, string message) = (Bootloader, App) switch
        {
            ({ } boot, _) => (ImageKind.Bootloader, ImageProblem.Bootloader,
                $"This is an ESP-IDF bootloader (bootloader.bin, IDF {boot.IdfVersion}{signed}), not an app: every segment loads into RAM, and an OTA update replaces only the app."),
            (null, { } app) => (ImageKind.RamOnlyApp, ImageProblem.RamOnlyApp,
                $"This is {app.ProjectName} {app.Version} built to run from RAM only (CONFIG_APP_BUILD_TYPE_RAM): no segment is mapped from flash, so no bootloader boots it from an OTA slot."),
            _ => (ImageKind.Bootloader, ImageProblem.Bootloader,
                $"This is a bootloader (or another image that runs from RAM only{signed}), not an app: no segment is mapped from flash, and an OTA update replaces only the app."),
        };
        Error(problem, first.FileOffset, message);
    }

    /// <summary>Where a Secure Boot v2 signature sector after the image ends, or <paramref name="imageEnd"/> when there is none.</summary>
    private static int SignatureSectorEnd(ReadOnlySpan<byte> data, int imageEnd)
    {
        int sector = (imageEnd + ImageFormat.SignatureSectorSize - 1) / ImageFormat.SignatureSectorSize * ImageFormat.SignatureSectorSize;
        bool signed = data.Length >= sector + ImageFormat.SignatureSectorSize
            && data[sector] == ImageFormat.SignatureBlockMagic
            && data[sector + 1] is ImageFormat.SignatureSchemeRsa or ImageFormat.SignatureSchemeEcdsa;
        return signed ? sector + ImageFormat.SignatureSectorSize : Math.Min(imageEnd, data.Length);
    }

    /// <summary>
    /// esptool merge_bin pads from flash 0x0 with 0xFF up to the first image; on chips whose bootloader sits at 0x1000
    /// or 0x2000 the file therefore starts with erased flash and the bootloader follows there.
    /// </summary>
    private static int? MergedImageBootloaderOffset(ReadOnlySpan<byte> data)
    {
        foreach (int offset in (ReadOnlySpan<int>)[0x1000, 0x2000])
        {
            if (data.Length > offset && data[offset] == ImageFormat.Magic && !data[..offset].ContainsAnyExcept((byte)0xFF))
            {
                return offset;
            }
        }

        return null;
    }

    private bool ReadSegments(ReadOnlySpan<byte> data, int segmentCount, out int end)
    {
        var segments = new List<ImageSegment>(segmentCount);
        int position = ImageFormat.HeaderSize;
        for (int index = 0; index < segmentCount; index++)
        {
            if (position + ImageFormat.SegmentHeaderSize > data.Length)
            {
                Error(ImageProblem.Truncated, position, $"The file ends inside the header of segment {index} of {segmentCount}: it is truncated.");
                end = position;
                return false;
            }

            uint loadAddress = BinaryPrimitives.ReadUInt32LittleEndian(data[position..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 4)..]);
            int dataStart = position + ImageFormat.SegmentHeaderSize;
            if (length > (uint)(data.Length - dataStart))
            {
                Error(ImageProblem.Truncated, position, $"Segment {index} declares {length} bytes but only {data.Length - dataStart} remain: the image is truncated.");
                end = position;
                return false;
            }

            segments.Add(new ImageSegment(loadAddress, (int)length, dataStart));
            position = dataStart + (int)length;
        }

        Segments = segments;
        end = position;
        return true;
    }

    private void CheckChecksum(ReadOnlySpan<byte> data, int endOfSegments, out int checksumEnd)
    {
        int checksumAt = ImageFormat.ChecksumPosition(endOfSegments);
        checksumEnd = checksumAt + 1;
        if (checksumAt >= data.Length)
        {
            Error(ImageProblem.Truncated, endOfSegments, "The file ends before the checksum byte: it is truncated.");
            return;
        }

        byte checksum = ImageFormat.ChecksumSeed;
        foreach (var segment in Segments)
        {
            foreach (byte b in data.Slice(segment.FileOffset, segment.Length))
            {
                checksum ^= b;
            }
        }

        if (checksum != data[checksumAt])
        {
            Error(ImageProblem.ChecksumMismatch, checksumAt, $"The checksum byte is 0x{data[checksumAt]:X2} but the segments give 0x{checksum:X2}: the image is damaged.");
        }
    }

    private void CheckAppendedHash(ReadOnlySpan<byte> data, int hashedLength)
    {
        if (hashedLength + ImageFormat.Sha256Size > data.Length)
        {
            Error(ImageProblem.Truncated, hashedLength, "The header says a SHA-256 is appended, but the file ends before it: it is truncated.");
            return;
        }

        var actual = SHA256.HashData(data[..hashedLength]);
        if (!actual.AsSpan().SequenceEqual(data.Slice(hashedLength, ImageFormat.Sha256Size)))
        {
            Error(ImageProblem.HashMismatch, hashedLength, "The appended SHA-256 does not match the image: it is damaged.");
        }
    }

    private void Error(ImageProblem problem, long offset, string message) =>
        _diagnostics.Add(new ImageDiagnostic(DiagnosticSeverity.Error, problem, offset, message));
}
