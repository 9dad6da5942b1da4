using static BleOta.Engine.Compression.DeflateFormat;

namespace BleOta.Transport.Simulated;

/// <summary>
/// The ROM's tinfl as BleOta's firmware runs it (port/ble_ota_stream.c, inflate_chunk): raw deflate decoded into a
/// power-of-two output buffer that wraps, <see cref="BufferSize"/> bytes (8 KB in the firmware). tinfl_decompress
/// without TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF (miniz 1.x, whose declarations ESP-IDF ships in
/// components/esp_rom/include/miniz.h) masks every back-reference with the buffer size and never checks how far it
/// reaches, so a distance beyond the buffer copies whatever the buffer holds there: wrong bytes, which the image's
/// SHA-256 refuses at DONE. A malformed stream (bad block type, stored length, over-subscribed or incomplete code,
/// bad symbol) fails as tinfl's TINFL_STATUS_FAILED does.
/// </summary>
internal sealed class RomInflater(int bufferSize)
{
    public int BufferSize => bufferSize;

    /// <summary>The farthest back-reference seen, in bytes.</summary>
    public int MaxDistance { get; private set; }

    /// <summary>
    /// Decodes a whole stream, handing each output byte to <paramref name="output"/>; returns the bytes the stream took
    /// (fewer than given when bytes follow its end). Throws <see cref="InvalidDataException"/> where tinfl fails.
    /// </summary>
    public int Inflate(ReadOnlySpan<byte> stream, Action<byte> output)
    {
        var window = new byte[bufferSize];
        long written = 0;
        var bits = new BitReader(stream);
        bool last;
        do
        {
            last = bits.Read(1) == 1;
            int type = bits.Read(2);
            if (type == 0)
            {
                bits.AlignToByte();
                int length = bits.Read(16);
                if ((length ^ 0xFFFF) != bits.Read(16))
                {
                    throw new InvalidDataException("stored block length check failed");
                }

                for (int i = 0; i < length; i++)
                {
                    Put((byte)bits.Read(8));
                }

                continue;
            }

            if (type == 3)
            {
                throw new InvalidDataException("reserved block type");
            }

            var (literals, distances) = type == 1 ? FixedCodes() : DynamicCodes(ref bits);
            for (int symbol = literals.Decode(ref bits); symbol != 256; symbol = literals.Decode(ref bits))
            {
                if (symbol < 256)
                {
                    Put((byte)symbol);
                    continue;
                }

                symbol -= 257;
                if (symbol >= LengthBase.Length)
                {
                    throw new InvalidDataException("bad length symbol");
                }

                int count = LengthBase[symbol] + bits.Read(LengthExtra[symbol]);
                int code = distances.Decode(ref bits);
                if (code >= DistanceBase.Length)
                {
                    throw new InvalidDataException("bad distance symbol");
                }

                int distance = DistanceBase[code] + bits.Read(DistanceExtra[code]);
                MaxDistance = Math.Max(MaxDistance, distance);
                for (int i = 0; i < count; i++)
                {
                    Put(window[(written - distance) & (bufferSize - 1)]); // masked, as tinfl does: never out of the buffer
                }
            }
        }
        while (!last);

        return bits.BytesRead;

        void Put(byte value)
        {
            window[written++ & (bufferSize - 1)] = value;
            output(value);
        }
    }

    private static (Code Literals, Code Distances) FixedCodes()
    {
        var literal = Enumerable.Range(0, 288).Select(s => s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8).ToArray();
        return (new Code(literal), new Code(Enumerable.Repeat(5, 32).ToArray()));
    }

    private static (Code Literals, Code Distances) DynamicCodes(ref BitReader bits)
    {
        int literalCount = bits.Read(5) + 257;
        int distanceCount = bits.Read(5) + 1;
        int codeLengthCount = bits.Read(4) + 4;
        var codeLengthLengths = new int[19];
        for (int i = 0; i < codeLengthCount; i++)
        {
            codeLengthLengths[CodeLengthOrder[i]] = bits.Read(3);
        }

        var codeLengths = new Code(codeLengthLengths);
        var lengths = new int[literalCount + distanceCount];
        for (int i = 0; i < lengths.Length;)
        {
            int symbol = codeLengths.Decode(ref bits);
            if (symbol < 16)
            {
                lengths[i++] = symbol;
                continue;
            }

            if (symbol == 16 && i == 0)
            {
                throw new InvalidDataException("repeat with no length before it");
            }

            int repeat = symbol == 16 ? 3 + bits.Read(2) : symbol == 17 ? 3 + bits.Read(3) : 11 + bits.Read(7);
            if (i + repeat > lengths.Length)
            {
                throw new InvalidDataException("code lengths overrun");
            }

            int value = symbol == 16 ? lengths[i - 1] : 0;
            lengths.AsSpan(i, repeat).Fill(value);
            i += repeat;
        }

        return (new Code(lengths[..literalCount]), new Code(lengths[literalCount..]));
    }

    /// <summary>A canonical Huffman code decoded bit by bit from its count of codes per length.</summary>
    private sealed class Code
    {
        private readonly int[] _countPerLength = new int[16];
        private readonly int[] _symbolsByCode;

        public Code(int[] lengths)
        {
            foreach (int length in lengths)
            {
                _countPerLength[length]++;
            }

            // tinfl refuses a code that does not fill the code space exactly, unless it has at most one symbol.
            int used = lengths.Length - _countPerLength[0];
            long space = 0;
            for (int length = 1; length <= 15; length++)
            {
                space += (long)_countPerLength[length] << (15 - length);
            }

            if (used > 1 && space != 1 << 15)
            {
                throw new InvalidDataException("over-subscribed or incomplete code");
            }

            _symbolsByCode = Enumerable.Range(0, lengths.Length).Where(s => lengths[s] > 0).OrderBy(s => lengths[s]).ThenBy(s => s).ToArray();
        }

        public int Decode(ref BitReader bits)
        {
            int code = 0;
            int first = 0;
            int index = 0;
            for (int length = 1; length <= 15; length++)
            {
                code |= bits.Read(1);
                int count = _countPerLength[length];
                if (code - first < count)
                {
                    return _symbolsByCode[index + code - first];
                }

                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }

            throw new InvalidDataException("no symbol for this code");
        }
    }

    /// <summary>Deflate's bit order: least significant bit of each byte first; a stream that runs out fails.</summary>
    private ref struct BitReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private long _bit;

        public int Read(int count)
        {
            int value = 0;
            for (int i = 0; i < count; i++, _bit++)
            {
                if (_bit >> 3 >= _bytes.Length)
                {
                    throw new InvalidDataException("the stream ends early");
                }

                value |= ((_bytes[(int)(_bit >> 3)] >> (int)(_bit & 7)) & 1) << i;
            }

            return value;
        }

        public readonly int BytesRead => (int)((_bit + 7) >> 3);

        public void AlignToByte() => _bit = (_bit + 7) & ~7L;
    }
}
