using System.Buffers.Binary;

namespace BleOta.Engine.Delta;

/// <summary>
/// The fixed parts of BleOta's delta patch format, version 1 (docs/protocol.md, "Delta patches"): a 16-byte
/// header, then a body that the binary adaptive range coder turns into blocks of "copy from the base with adds",
/// "insert new bytes" and "move in the base". The firmware's core/ble_ota_delta.c reads the same constants.
/// </summary>
public static class DeltaFormat
{
    public const byte Magic0 = (byte)'B';
    public const byte Magic1 = (byte)'D';
    public const byte Version = 1;
    public const int HeaderLength = 16;

    // The range coder: 12-bit probabilities of a 0 bit, adapting by 1/32 of the distance after each bit.
    internal const int ProbabilityBits = 12;
    internal const ushort ProbabilityOne = 1 << ProbabilityBits;
    internal const ushort ProbabilityInitial = ProbabilityOne / 2;
    internal const int AdaptShift = 5;
    internal const uint RangeTop = 1u << 24;

    /// <summary>Body bytes the decoder reads before its first decision.</summary>
    internal const int CoderInitBytes = 4;

    // The models: literal bytes by the top 3 bits of the byte before, adds by the target offset's low 2 bits.
    internal const int LiteralContextShift = 5;
    internal const int LiteralContexts = 256 >> LiteralContextShift;
    internal const int AddContexts = 4;
    internal const int NumberTreeBits = 6;
    internal const int NumberKinds = 4;

    /// <summary>Longest the bit length of a number's value + 1 can be: 32 bits, so a number fits 32 bits.</summary>
    internal const int MaxNumberBits = 32;

    /// <summary>Writes the header; the body follows it.</summary>
    public static void WriteHeader(Span<byte> header, uint baseSize, uint targetSize, uint bodySize)
    {
        header[0] = Magic0;
        header[1] = Magic1;
        header[2] = Version;
        header[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], baseSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], targetSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], bodySize);
    }

    /// <summary>Reads a header; false when the bytes are not a version-1 delta patch header.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out uint baseSize, out uint targetSize, out uint bodySize)
    {
        baseSize = targetSize = bodySize = 0;
        if (header.Length < HeaderLength || header[0] != Magic0 || header[1] != Magic1 || header[2] != Version || header[3] != 0)
        {
            return false;
        }

        baseSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        targetSize = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        bodySize = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        return true;
    }
}

/// <summary>The four kinds of number in a patch body; each has its own adaptive model.</summary>
internal enum DeltaNumber
{
    CopyLength = 0,
    InsertLength = 1,
    Seek = 2,
    ZeroRun = 3,
}
