namespace BleOta.Engine.Delta;

/// <summary>
/// Writes a patch from the copies the matcher chose: one block per copy (the copy, the inserted bytes up to the
/// next copy, the move to the next copy's base offset), preceded by a block without copy when the target
/// starts with inserted bytes.
/// </summary>
internal static class DeltaWriter
{
    public static byte[] Write(ReadOnlySpan<byte> baseImage, ReadOnlySpan<byte> target, IReadOnlyList<DeltaCopy> copies)
    {
        var body = new List<byte>(target.Length / 16 + 64);
        var rc = new RangeEncoder(body);
        var model = new DeltaModel();
        int t = 0;
        int basePos = 0;
        int next = 0;
        while (t < target.Length)
        {
            // A block: the copy starting here (if any), then inserted bytes up to the next copy, then the move.
            int copyLength = next < copies.Count && copies[next].TargetStart == t ? copies[next].Length : 0;
            model.EncodeNumber(rc, DeltaNumber.CopyLength, (uint)copyLength);
            if (copyLength > 0)
            {
                EncodeCopy(rc, model, baseImage.Slice(basePos, copyLength), target.Slice(t, copyLength), t);
                t += copyLength;
                basePos += copyLength;
                next++;
            }

            int insertEnd = next < copies.Count ? copies[next].TargetStart : target.Length;
            model.EncodeNumber(rc, DeltaNumber.InsertLength, (uint)(insertEnd - t));
            for (; t < insertEnd; t++)
            {
                model.EncodeLiteral(rc, t == 0 ? (byte)0 : target[t - 1], target[t]);
            }

            if (t < target.Length)
            {
                int seek = copies[next].BaseStart - basePos;
                model.EncodeNumber(rc, DeltaNumber.Seek, DeltaModel.ZigZag(seek));
                basePos += seek;
            }
        }

        rc.Flush();
        var patch = new byte[DeltaFormat.HeaderLength + body.Count];
        DeltaFormat.WriteHeader(patch, (uint)baseImage.Length, (uint)target.Length, (uint)body.Count);
        body.CopyTo(patch, DeltaFormat.HeaderLength);
        return patch;
    }

    /// <summary>The adds of a copy: runs of equal bytes, each followed by the add of the byte that differs.</summary>
    private static void EncodeCopy(RangeEncoder rc, DeltaModel model, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, int targetOffset)
    {
        int i = 0;
        while (i < to.Length)
        {
            int run = from[i..].CommonPrefixLength(to[i..]);
            model.EncodeNumber(rc, DeltaNumber.ZeroRun, (uint)run);
            i += run;
            if (i == to.Length)
            {
                break;
            }

            model.EncodeAdd(rc, targetOffset + i, (byte)(to[i] - from[i]));
            i++;
        }
    }
}
