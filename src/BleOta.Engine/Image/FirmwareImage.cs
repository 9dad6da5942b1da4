using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BleOta.Engine.Image;

/// <summary>
/// An ESP app image (what <c>idf.py build</c> writes as <c>app.bin</c>), parsed and checked the way the
/// bootloader checks it, so a damaged or foreign file is refused before a byte goes on air.
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

    /// <summary>The description compiled into the app; null when the first segment does not start with one.</summary>
    public AppDescription? App { get; private set; }

    public bool HashAppended { get; private set; }

    /// <summary>
    /// The bytes the image occupies, its appended hash included: less than <see cref="Length"/> when it was read
    /// from a flash slot (esp_image_get_metadata's image_len); 0 when the image is too damaged to say.
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
        HashAppended = data[ImageFormat.HashAppendedOffset] == 1;
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

        ImageLength = Math.Min(data.Length, checksumEnd + (HashAppended ? ImageFormat.Sha256Size : 0));

        App = AppDescription.TryParse(data.Slice(Segments[0].FileOffset, Segments[0].Length));
        if (App is null)
        {
            Warn(ImageProblem.NoAppDescription, Segments[0].FileOffset, "The first segment does not start with an esp_app_desc_t, so the image's version is unknown.");
        }
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

    private void Warn(ImageProblem problem, long offset, string message) =>
        _diagnostics.Add(new ImageDiagnostic(DiagnosticSeverity.Warning, problem, offset, message));
}
