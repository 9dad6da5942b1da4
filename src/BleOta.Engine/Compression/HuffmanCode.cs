namespace BleOta.Engine.Compression;

/// <summary>Canonical Huffman codes of deflate (RFC 1951, 3.2.2) with a longest code length.</summary>
internal static class HuffmanCode
{
    /// <summary>
    /// Code lengths for <paramref name="frequencies"/>, none longer than <paramref name="maxBits"/>. At least two
    /// symbols get a code (symbols 0 and 1 stand in when fewer are used), so the code is always complete, which every
    /// inflater accepts (zlib's deflate does the same for the same reason).
    /// </summary>
    public static int[] Lengths(ReadOnlySpan<int> frequencies, int maxBits)
    {
        var weights = new long[frequencies.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = frequencies[i];
        }

        for (int i = 0; weights.Count(w => w > 0) < 2; i++)
        {
            weights[i] = Math.Max(weights[i], 1);
        }

        var lengths = HuffmanLengths(weights);
        LimitLengths(lengths, weights, maxBits);
        return lengths;
    }

    /// <summary>The canonical codes for <paramref name="lengths"/> (RFC 1951, 3.2.2).</summary>
    public static uint[] Codes(int[] lengths)
    {
        int maxBits = lengths.Max();
        var count = new int[maxBits + 1];
        foreach (int length in lengths)
        {
            count[length]++;
        }

        count[0] = 0;
        var next = new uint[maxBits + 2];
        uint code = 0;
        for (int bits = 1; bits <= maxBits; bits++)
        {
            code = (code + (uint)count[bits - 1]) << 1;
            next[bits] = code;
        }

        var codes = new uint[lengths.Length];
        for (int symbol = 0; symbol < lengths.Length; symbol++)
        {
            if (lengths[symbol] > 0)
            {
                codes[symbol] = next[lengths[symbol]]++;
            }
        }

        return codes;
    }

    /// <summary>Plain Huffman: merge the two lightest trees until one is left; a symbol's length is its depth.</summary>
    private static int[] HuffmanLengths(long[] weights)
    {
        int symbols = weights.Length;
        var parent = new int[2 * symbols];
        var queue = new PriorityQueue<int, (long Weight, int Order)>();
        for (int i = 0; i < symbols; i++)
        {
            if (weights[i] > 0)
            {
                queue.Enqueue(i, (weights[i], i));
            }
        }

        int nextNode = symbols;
        while (queue.Count > 1)
        {
            queue.TryDequeue(out int a, out var wa);
            queue.TryDequeue(out int b, out var wb);
            parent[a] = parent[b] = nextNode;
            queue.Enqueue(nextNode, (wa.Weight + wb.Weight, nextNode));
            nextNode++;
        }

        int root = nextNode - 1;
        var depth = new int[nextNode];
        for (int node = root - 1; node >= 0; node--)
        {
            // Parents are made after their children, so a parent's depth is known when its child is reached.
            depth[node] = node >= symbols || weights[node] > 0 ? depth[parent[node]] + 1 : 0;
        }

        return depth[..symbols];
    }

    /// <summary>
    /// Caps every length at <paramref name="maxBits"/>, then lengthens the rarest symbols' codes until the lengths
    /// fit a prefix code again (Kraft: the sum of 2^-length at most 1). Rarely needed, and close to optimal when it is.
    /// </summary>
    private static void LimitLengths(int[] lengths, long[] weights, int maxBits)
    {
        if (lengths.Max() <= maxBits)
        {
            return;
        }

        long capacity = 1L << maxBits;
        long used = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] > maxBits)
            {
                lengths[i] = maxBits;
            }

            used += lengths[i] > 0 ? capacity >> lengths[i] : 0;
        }

        var rarestFirst = Enumerable.Range(0, lengths.Length).Where(i => lengths[i] > 0).OrderBy(i => weights[i]).ToArray();
        while (used > capacity)
        {
            foreach (int symbol in rarestFirst)
            {
                if (lengths[symbol] < maxBits)
                {
                    used -= capacity >> (lengths[symbol] + 1);
                    lengths[symbol]++;
                    break;
                }
            }
        }
    }
}
