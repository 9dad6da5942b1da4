namespace BleOta.Engine.Compression;

/// <summary>A literal byte (<see cref="Distance"/> 0) or a back-reference of 3 to 258 bytes.</summary>
internal readonly record struct Lz77Token(ushort LengthOrLiteral, ushort Distance)
{
    public bool IsLiteral => Distance == 0;
}

/// <summary>
/// LZ77 with hash chains and lazy matching, as zlib's deflate at its highest level works (its deflate_slow): a match
/// found at one byte is kept only when the next byte does not start a longer one. Back-references reach at most
/// <see cref="WindowedDeflate.WindowSize"/> bytes.
/// </summary>
internal sealed class LazyMatcher(byte[] input)
{
    public const int MinMatch = 3;
    public const int MaxMatch = 258;

    private const int HashBits = 15;
    private const int MaxChain = 4096;   // candidates tried per position
    private const int GoodMatch = 32;    // with a match this long already, try a quarter of them
    private const int NiceMatch = MaxMatch;

    // Each position's predecessor on its hash chain, kept for the last two windows only (as zlib's prev[]): a chain
    // is never followed further back than one window, and an entry is overwritten only by a position two windows on.
    private const int PreviousMask = 2 * WindowedDeflate.WindowSize - 1;

    private readonly int[] _head = Enumerable.Repeat(-1, 1 << HashBits).ToArray();
    private readonly int[] _previous = new int[PreviousMask + 1];
    private int _nextToInsert;

    public List<Lz77Token> Match()
    {
        ReadOnlySpan<byte> data = input;
        var tokens = new List<Lz77Token>(data.Length / 2);
        int position = 0;
        while (position < data.Length)
        {
            (int length, int distance) = Longest(data, Insert(data, position), position, 0);
            // Lazy step: look one byte further while this match is short of the nice length.
            while (length >= MinMatch && length < NiceMatch && position + 1 < data.Length)
            {
                (int nextLength, int nextDistance) = Longest(data, Insert(data, position + 1), position + 1, length);
                if (nextLength <= length)
                {
                    break;
                }

                tokens.Add(new Lz77Token(data[position], 0)); // the longer match starts one byte later
                position++;
                (length, distance) = (nextLength, nextDistance);
            }

            if (length < MinMatch)
            {
                tokens.Add(new Lz77Token(data[position], 0));
                position++;
                continue;
            }

            tokens.Add(new Lz77Token((ushort)length, (ushort)distance));
            for (int i = 1; i < length; i++)
            {
                Insert(data, position + i);
            }

            position += length;
        }

        return tokens;
    }

    /// <summary>
    /// Adds <paramref name="position"/> to its hash chain (once: positions come in order, the last one sometimes
    /// twice) and returns the chain's entry before it, the nearest earlier position with the same hash, or -1.
    /// </summary>
    private int Insert(ReadOnlySpan<byte> data, int position)
    {
        if (position + MinMatch > data.Length)
        {
            return -1;
        }

        if (position >= _nextToInsert)
        {
            int hash = Hash(data, position);
            _previous[position & PreviousMask] = _head[hash];
            _head[hash] = position;
            _nextToInsert = position + 1;
        }

        return _previous[position & PreviousMask];
    }

    private static int Hash(ReadOnlySpan<byte> data, int position) =>
        ((data[position] << 10) ^ (data[position + 1] << 5) ^ data[position + 2]) & ((1 << HashBits) - 1);

    /// <summary>The longest match for <paramref name="position"/> along its chain, if longer than <paramref name="atLeast"/>.</summary>
    private (int Length, int Distance) Longest(ReadOnlySpan<byte> data, int candidate, int position, int atLeast)
    {
        int limit = Math.Max(position - WindowedDeflate.WindowSize, 0);
        int maxLength = Math.Min(MaxMatch, data.Length - position);
        int best = Math.Max(atLeast, MinMatch - 1);
        int bestDistance = 0;
        int chain = atLeast >= GoodMatch ? MaxChain / 4 : MaxChain;
        if (maxLength <= best)
        {
            return (0, 0);
        }

        for (; candidate >= limit && chain-- > 0; candidate = _previous[candidate & PreviousMask])
        {
            if (data[candidate + best] != data[position + best])
            {
                continue;
            }

            int length = data.Slice(candidate, maxLength).CommonPrefixLength(data.Slice(position, maxLength));
            if (length > best)
            {
                best = length;
                bestDistance = position - candidate;
                if (length >= Math.Min(NiceMatch, maxLength))
                {
                    break;
                }
            }
        }

        // zlib drops 3-byte matches more than 4 KB back (TOO_FAR); within 8 KB they still pay on firmware images.
        return bestDistance == 0 ? (0, 0) : (best, bestDistance);
    }
}
