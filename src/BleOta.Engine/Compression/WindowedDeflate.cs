using System.Runtime.InteropServices;
using static BleOta.Engine.Compression.DeflateFormat;

namespace BleOta.Engine.Compression;

/// <summary>
/// Raw deflate (RFC 1951) whose back-references reach at most <see cref="WindowSize"/> bytes, so an inflater with an
/// 8 KB window decodes it: BleOta's firmware inflates with the ROM's tinfl into an 8 KB buffer to keep an update within
/// its 32 KB of RAM (docs/protocol.md). .NET's DeflateStream always uses 32 KB and cannot be told otherwise.
/// Each block of up to 16,383 symbols (as zlib's deflate makes them) goes as dynamic Huffman, fixed Huffman or stored,
/// whichever is smallest.
/// </summary>
public static class WindowedDeflate
{
    /// <summary>The farthest a back-reference reaches, in bytes.</summary>
    public const int WindowSize = 8192;

    private const int SymbolsPerBlock = 16383;
    private const int MaxStoredLength = 65535;
    private const int MaxCodeBits = 15;
    private const int MaxCodeLengthBits = 7;
    private const int EndOfBlock = 256;

    // RFC 1951, 3.2.6.
    private static readonly int[] FixedLiteralLengths = Enumerable.Range(0, 288).Select(s => s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8).ToArray();
    private static readonly int[] FixedDistanceLengths = Enumerable.Repeat(5, 30).ToArray();

    public static byte[] Compress(ReadOnlySpan<byte> input)
    {
        var data = input.ToArray();
        var tokens = CollectionsMarshal.AsSpan(new LazyMatcher(data).Match());
        var bits = new BitWriter();
        int start = 0;
        int rawStart = 0;
        do
        {
            var block = tokens.Slice(start, Math.Min(SymbolsPerBlock, tokens.Length - start));
            int rawLength = 0;
            foreach (var token in block)
            {
                rawLength += token.IsLiteral ? 1 : token.LengthOrLiteral;
            }

            start += block.Length;
            WriteBlock(bits, block, data.AsSpan(rawStart, rawLength), last: start == tokens.Length);
            rawStart += rawLength;
        }
        while (start < tokens.Length);

        return bits.ToArray();
    }

    private static void WriteBlock(BitWriter bits, ReadOnlySpan<Lz77Token> block, ReadOnlySpan<byte> raw, bool last)
    {
        var literalFrequencies = new int[286];
        var distanceFrequencies = new int[30];
        long extraBits = 0;
        foreach (var token in block)
        {
            if (token.IsLiteral)
            {
                literalFrequencies[token.LengthOrLiteral]++;
                continue;
            }

            int length = LengthCode(token.LengthOrLiteral);
            int distance = DistanceCode(token.Distance);
            literalFrequencies[257 + length]++;
            distanceFrequencies[distance]++;
            extraBits += LengthExtra[length] + DistanceExtra[distance];
        }

        literalFrequencies[EndOfBlock]++;

        var dynamic = DynamicHeader.For(literalFrequencies, distanceFrequencies);
        long dynamicBits = 3 + dynamic.Bits + Cost(literalFrequencies, dynamic.LiteralLengths) + Cost(distanceFrequencies, dynamic.DistanceLengths) + extraBits;
        long fixedBits = 3 + Cost(literalFrequencies, FixedLiteralLengths) + Cost(distanceFrequencies, FixedDistanceLengths) + extraBits;
        long storedBits = StoredBits(bits.BitCount, raw.Length);

        if (storedBits <= Math.Min(dynamicBits, fixedBits))
        {
            WriteStored(bits, raw, last);
        }
        else if (fixedBits <= dynamicBits)
        {
            bits.Write(last ? 1u : 0u, 1);
            bits.Write(1, 2);
            WriteSymbols(bits, block, FixedLiteralLengths, FixedDistanceLengths);
        }
        else
        {
            bits.Write(last ? 1u : 0u, 1);
            bits.Write(2, 2);
            dynamic.Write(bits);
            WriteSymbols(bits, block, dynamic.LiteralLengths, dynamic.DistanceLengths);
        }
    }

    private static long Cost(int[] frequencies, int[] lengths)
    {
        long total = 0;
        for (int i = 0; i < frequencies.Length; i++)
        {
            total += (long)frequencies[i] * lengths[i];
        }

        return total;
    }

    /// <summary>Stored blocks of at most 65,535 bytes each: header bits, padding to a byte, LEN and NLEN, the bytes.</summary>
    private static long StoredBits(long at, int length)
    {
        long end = at;
        do
        {
            end = ((end + 3 + 7) & ~7L) + 32 + 8L * Math.Min(length, MaxStoredLength);
            length -= MaxStoredLength;
        }
        while (length > 0);

        return end - at;
    }

    private static void WriteStored(BitWriter bits, ReadOnlySpan<byte> raw, bool last)
    {
        do
        {
            var chunk = raw[..Math.Min(raw.Length, MaxStoredLength)];
            raw = raw[chunk.Length..];
            bits.Write(last && raw.IsEmpty ? 1u : 0u, 1);
            bits.Write(0, 2);
            bits.AlignToByte();
            bits.Write((uint)chunk.Length, 16);
            bits.Write((uint)~chunk.Length, 16);
            bits.WriteBytes(chunk);
        }
        while (!raw.IsEmpty);
    }

    private static void WriteSymbols(BitWriter bits, ReadOnlySpan<Lz77Token> block, int[] literalLengths, int[] distanceLengths)
    {
        var literalCodes = HuffmanCode.Codes(literalLengths);
        var distanceCodes = HuffmanCode.Codes(distanceLengths);
        foreach (var token in block)
        {
            if (token.IsLiteral)
            {
                bits.WriteCode(literalCodes[token.LengthOrLiteral], literalLengths[token.LengthOrLiteral]);
                continue;
            }

            int length = LengthCode(token.LengthOrLiteral);
            bits.WriteCode(literalCodes[257 + length], literalLengths[257 + length]);
            bits.Write((uint)(token.LengthOrLiteral - LengthBase[length]), LengthExtra[length]);
            int distance = DistanceCode(token.Distance);
            bits.WriteCode(distanceCodes[distance], distanceLengths[distance]);
            bits.Write((uint)(token.Distance - DistanceBase[distance]), DistanceExtra[distance]);
        }

        bits.WriteCode(literalCodes[EndOfBlock], literalLengths[EndOfBlock]);
    }

    private static int LengthCode(int length) => Code(LengthBase, length);

    private static int DistanceCode(int distance) => Code(DistanceBase, distance);

    /// <summary>The last code whose base is at most <paramref name="value"/>.</summary>
    private static int Code(ReadOnlySpan<int> bases, int value)
    {
        int index = bases.BinarySearch(value);
        return index >= 0 ? index : ~index - 1;
    }

    /// <summary>A dynamic block's code lengths and how they are sent (RFC 1951, 3.2.7).</summary>
    private sealed record DynamicHeader(int[] LiteralLengths, int[] DistanceLengths, int LiteralCount, int DistanceCount,
        int[] CodeLengthLengths, int CodeLengthCount, List<(int Symbol, int Extra, int ExtraBits)> Run, long Bits)
    {
        public static DynamicHeader For(int[] literalFrequencies, int[] distanceFrequencies)
        {
            var literalLengths = HuffmanCode.Lengths(literalFrequencies, MaxCodeBits);
            var distanceLengths = HuffmanCode.Lengths(distanceFrequencies, MaxCodeBits);
            int literalCount = Math.Max(257, Array.FindLastIndex(literalLengths, l => l > 0) + 1);
            int distanceCount = Math.Max(1, Array.FindLastIndex(distanceLengths, l => l > 0) + 1);
            var run = RunLengths([.. literalLengths[..literalCount], .. distanceLengths[..distanceCount]]);

            var codeLengthFrequencies = new int[19];
            foreach (var (symbol, _, _) in run)
            {
                codeLengthFrequencies[symbol]++;
            }

            var codeLengthLengths = HuffmanCode.Lengths(codeLengthFrequencies, MaxCodeLengthBits);
            int codeLengthCount = CodeLengthOrder.Length;
            while (codeLengthCount > 4 && codeLengthLengths[CodeLengthOrder[codeLengthCount - 1]] == 0)
            {
                codeLengthCount--;
            }

            long bits = 5 + 5 + 4 + 3L * codeLengthCount;
            foreach (var (symbol, _, extraBits) in run)
            {
                bits += codeLengthLengths[symbol] + extraBits;
            }

            return new DynamicHeader(literalLengths, distanceLengths, literalCount, distanceCount, codeLengthLengths, codeLengthCount, run, bits);
        }

        public void Write(BitWriter bits)
        {
            bits.Write((uint)(LiteralCount - 257), 5);
            bits.Write((uint)(DistanceCount - 1), 5);
            bits.Write((uint)(CodeLengthCount - 4), 4);
            for (int i = 0; i < CodeLengthCount; i++)
            {
                bits.Write((uint)CodeLengthLengths[CodeLengthOrder[i]], 3);
            }

            var codes = HuffmanCode.Codes(CodeLengthLengths);
            foreach (var (symbol, extra, extraBits) in Run)
            {
                bits.WriteCode(codes[symbol], CodeLengthLengths[symbol]);
                bits.Write((uint)extra, extraBits);
            }
        }

        /// <summary>Code lengths as symbols 0-15, 16 (repeat the previous 3-6 times), 17 and 18 (3-10 and 11-138 zeros).</summary>
        private static List<(int Symbol, int Extra, int ExtraBits)> RunLengths(int[] lengths)
        {
            var run = new List<(int, int, int)>();
            int previous = -1;
            for (int i = 0; i < lengths.Length;)
            {
                int value = lengths[i];
                int same = 1;
                while (i + same < lengths.Length && lengths[i + same] == value)
                {
                    same++;
                }

                if (value == 0 && same >= 3)
                {
                    same = Math.Min(same, 138);
                    run.Add(same >= 11 ? (18, same - 11, 7) : (17, same - 3, 3));
                }
                else if (value != 0 && value == previous && same >= 3)
                {
                    same = Math.Min(same, 6);
                    run.Add((16, same - 3, 2));
                }
                else
                {
                    same = 1;
                    run.Add((value, 0, 0));
                }

                i += same;
                previous = value;
            }

            return run;
        }
    }
}
