namespace BleOta.Engine.Delta;

/// <summary>
/// The adaptive models of a patch body and how each symbol is coded, both directions side by side so they stay
/// mirror images. Numbers are coded as the bit length of value + 1 (a 6-bit tree per kind) followed by its
/// remaining bits at probability one half; bytes are 8-bit trees.
/// </summary>
internal sealed class DeltaModel
{
    private readonly ushort[] _literal = NewProbabilities(DeltaFormat.LiteralContexts * 256);
    private readonly ushort[] _add = NewProbabilities(DeltaFormat.AddContexts * 256);
    private readonly ushort[] _numbers = NewProbabilities(DeltaFormat.NumberKinds * (1 << DeltaFormat.NumberTreeBits));

    public static int LiteralContext(byte previous) => previous >> DeltaFormat.LiteralContextShift;

    public static int AddContext(long targetOffset) => (int)(targetOffset & (DeltaFormat.AddContexts - 1));

    public void EncodeNumber(RangeEncoder rc, DeltaNumber kind, uint value)
    {
        ulong v = (ulong)value + 1;
        int bits = 63 - System.Numerics.BitOperations.LeadingZeroCount(v); // 0..32
        EncodeTree(rc, _numbers, (int)kind << DeltaFormat.NumberTreeBits, DeltaFormat.NumberTreeBits, bits);
        rc.EncodeDirect((uint)v, bits); // the bits below the leading 1 (all 32 of them when bits is 32)
    }

    /// <summary>The number, or null when the body names one that cannot be (damaged).</summary>
    public uint? DecodeNumber(RangeDecoder rc, DeltaNumber kind)
    {
        int bits = DecodeTree(rc, _numbers, (int)kind << DeltaFormat.NumberTreeBits, DeltaFormat.NumberTreeBits);
        if (bits > DeltaFormat.MaxNumberBits)
        {
            return null;
        }

        ulong v = (1UL << bits) | rc.DecodeDirect(bits);
        return v - 1 > uint.MaxValue ? null : (uint)(v - 1);
    }

    public void EncodeLiteral(RangeEncoder rc, byte previous, byte value) =>
        EncodeTree(rc, _literal, LiteralContext(previous) << 8, 8, value);

    public byte DecodeLiteral(RangeDecoder rc, byte previous) =>
        (byte)DecodeTree(rc, _literal, LiteralContext(previous) << 8, 8);

    public void EncodeAdd(RangeEncoder rc, long targetOffset, byte add) =>
        EncodeTree(rc, _add, AddContext(targetOffset) << 8, 8, add);

    public byte DecodeAdd(RangeDecoder rc, long targetOffset) =>
        (byte)DecodeTree(rc, _add, AddContext(targetOffset) << 8, 8);

    /// <summary>Zigzag: 0, -1, 1, -2, 2 ... become 0, 1, 2, 3, 4 ..., so small moves either way are small numbers.</summary>
    public static uint ZigZag(int value) => (uint)((value << 1) ^ (value >> 31));

    public static int UnZigZag(uint value) => (int)(value >> 1) ^ -(int)(value & 1);

    private static void EncodeTree(RangeEncoder rc, ushort[] probabilities, int offset, int bits, int value)
    {
        int node = 1;
        for (int i = bits - 1; i >= 0; i--)
        {
            int bit = (value >> i) & 1;
            rc.EncodeBit(ref probabilities[offset + node], bit);
            node = (node << 1) | bit;
        }
    }

    private static int DecodeTree(RangeDecoder rc, ushort[] probabilities, int offset, int bits)
    {
        int node = 1;
        for (int i = 0; i < bits; i++)
        {
            node = (node << 1) | rc.DecodeBit(ref probabilities[offset + node]);
        }

        return node - (1 << bits);
    }

    private static ushort[] NewProbabilities(int count)
    {
        var probabilities = new ushort[count];
        Array.Fill(probabilities, DeltaFormat.ProbabilityInitial);
        return probabilities;
    }
}
