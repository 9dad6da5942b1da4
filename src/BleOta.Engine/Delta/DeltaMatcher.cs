using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BleOta.Engine.Delta;

/// <summary>
/// Chooses the copies of a patch: where the target can be made from the base, and with which alignment. Built for
/// what compilers do to an app between two builds: code after an insertion moves as a whole (one alignment covers
/// it), and inside it only relative branches and calls that cross the insertion and absolute addresses in literal
/// pools and pointer tables change, by a few bytes here and there (a copy with adds covers them).
/// <list type="number">
/// <item>Every 8-byte window of the base goes into a hash table with chains, most recent first.</item>
/// <item>Walking the target, the current alignment is kept while it pays: it is extended byte by byte, scoring
/// +1 per equal byte and -2 per differing one (an add costs more than a literal), up to where the score peaked.</item>
/// <item>Where it stops paying, the longest exact match for the bytes ahead is looked up (a new alignment, with a
/// longer minimum when it is far from the current one), extended backwards over bytes not yet covered, and kept.</item>
/// </list>
/// </summary>
internal sealed class DeltaMatcher
{
    private const int Window = 8;
    private const int HashBits = 20;
    private const int MaxChain = 48;
    private const int NearMinMatch = 8;
    private const int FarMinMatch = 16;
    private const int NearAlignment = 4096;
    private const int GiveUpBelowPeak = 24;
    private const int ExactProbeLimit = 1 << 16;

    private readonly byte[] _base;
    private readonly int[] _head;
    private readonly int[] _chain;

    public DeltaMatcher(byte[] baseImage)
    {
        _base = baseImage;
        _head = new int[1 << HashBits];
        Array.Fill(_head, -1);
        _chain = new int[Math.Max(0, baseImage.Length - Window + 1)];
        var span = baseImage.AsSpan();
        for (int i = 0; i < _chain.Length; i++)
        {
            uint h = Hash(span, i);
            _chain[i] = _head[h];
            _head[h] = i;
        }
    }

    public List<DeltaCopy> Match(ReadOnlySpan<byte> target)
    {
        var copies = new List<DeltaCopy>();
        int covered = 0;        // target bytes before this are in a copy or decided to be inserted
        long alignment = 0;     // base offset - target offset of the current alignment
        bool aligned = false;
        int t = 0;
        while (t < target.Length)
        {
            if (aligned)
            {
                int length = ExtendForward(target, t, alignment);
                if (length > 0)
                {
                    Add(copies, new DeltaCopy(t, (int)(t + alignment), length));
                    t += length;
                    covered = t;
                    continue;
                }
            }

            if (t + Window <= target.Length && FindMatch(target, t, aligned ? alignment : 0, out int basePos))
            {
                alignment = basePos - (long)t;
                aligned = true;
                int back = ExtendBackward(target, t, alignment, t - covered);
                t -= back;
                continue; // the forward extension from here makes the copy
            }

            t++;
        }

        return copies;
    }

    /// <summary>Appends a copy, merging it into the previous one when it continues it.</summary>
    private static void Add(List<DeltaCopy> copies, DeltaCopy copy)
    {
        if (copies.Count > 0 && copies[^1] is var last && last.TargetEnd == copy.TargetStart && last.BaseEnd == copy.BaseStart)
        {
            copies[^1] = last with { Length = last.Length + copy.Length };
            return;
        }

        copies.Add(copy);
    }

    /// <summary>How far the alignment pays from target offset t: where +1 per equal and -2 per differing byte peaked.</summary>
    private int ExtendForward(ReadOnlySpan<byte> target, int t, long alignment)
    {
        long b = t + alignment;
        if (b < 0 || b >= _base.Length)
        {
            return 0;
        }

        int limit = (int)Math.Min(target.Length - t, _base.Length - b);
        var from = _base.AsSpan((int)b, limit);
        var to = target.Slice(t, limit);
        int score = 0;
        int best = 0;
        int bestLength = 0;
        int i = 0;
        while (i < limit)
        {
            int equal = from[i..].CommonPrefixLength(to[i..]);
            if (equal > 0)
            {
                i += equal;
                score += equal;
                if (score > best)
                {
                    best = score;
                    bestLength = i;
                }

                continue;
            }

            score -= 2;
            i++;
            if (score < best - GiveUpBelowPeak)
            {
                break;
            }
        }

        return bestLength;
    }

    /// <summary>Bytes before target offset t (at most <paramref name="room"/>) the alignment pays for, scored as forwards.</summary>
    private int ExtendBackward(ReadOnlySpan<byte> target, int t, long alignment, int room)
    {
        int limit = (int)Math.Min(room, t + alignment);
        int score = 0;
        int best = 0;
        int bestLength = 0;
        for (int i = 1; i <= limit; i++)
        {
            score += _base[t + alignment - i] == target[t - i] ? 1 : -2;
            if (score > best)
            {
                best = score;
                bestLength = i;
            }
            else if (score < best - GiveUpBelowPeak)
            {
                break;
            }
        }

        return bestLength;
    }

    /// <summary>
    /// The base offset of the longest exact match for the target bytes at t, preferring alignments near the current
    /// one; a far one must be longer to be worth the move.
    /// </summary>
    private bool FindMatch(ReadOnlySpan<byte> target, int t, long alignment, out int basePos)
    {
        basePos = -1;
        int bestScore = 0;
        var ahead = target[t..];
        int probes = 0;
        for (int candidate = _head[Hash(target, t)]; candidate >= 0 && probes < MaxChain; candidate = _chain[candidate], probes++)
        {
            int length = _base.AsSpan(candidate, Math.Min(_base.Length - candidate, ExactProbeLimit)).CommonPrefixLength(ahead);
            bool near = Math.Abs(candidate - t - alignment) <= NearAlignment;
            if (length < (near ? NearMinMatch : FarMinMatch))
            {
                continue;
            }

            int score = near ? length + FarMinMatch - NearMinMatch : length;
            if (score > bestScore)
            {
                bestScore = score;
                basePos = candidate;
            }
        }

        return basePos >= 0;
    }

    private static uint Hash(ReadOnlySpan<byte> data, int at) =>
        (uint)((BinaryPrimitives.ReadUInt64LittleEndian(data[at..]) * 0x9E3779B97F4A7C15UL) >> (64 - HashBits));
}
