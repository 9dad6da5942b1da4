namespace BleOta.Engine.Delta;

/// <summary>Makes and applies BleOta delta patches (docs/protocol.md, "Delta patches").</summary>
public static class DeltaPatch
{
    /// <summary>A patch that turns <paramref name="baseImage"/> into <paramref name="target"/>.</summary>
    public static byte[] Create(byte[] baseImage, byte[] target)
    {
        var copies = new DeltaMatcher(baseImage).Match(target);
        return DeltaWriter.Write(baseImage, target, copies);
    }

    /// <summary>Applies a whole patch in memory; throws <see cref="InvalidDataException"/> when it does not apply to this base.</summary>
    public static byte[] Apply(byte[] baseImage, ReadOnlySpan<byte> patch)
    {
        if (!DeltaFormat.TryReadHeader(patch, out _, out uint targetSize, out _))
        {
            throw new InvalidDataException("Not a BleOta delta patch (version 1).");
        }

        var target = Apply(baseImage, patch, targetSize, patch.Length, out var error);
        return error == DeltaApplyError.None ? target : throw new InvalidDataException($"The patch does not apply to this base ({error}).");
    }

    /// <summary>
    /// Streams <paramref name="patch"/> through an applier in pieces of <paramref name="chunk"/> bytes, expecting an
    /// image of <paramref name="targetSize"/> bytes; what it wrote, and the first error.
    /// </summary>
    internal static byte[] Apply(byte[] baseImage, ReadOnlySpan<byte> patch, uint targetSize, int chunk, out DeltaApplyError error)
    {
        var target = new MemoryStream();
        var applier = new DeltaApplier(targetSize, (uint)baseImage.Length,
            (offset, buffer) =>
            {
                baseImage.AsMemory((int)offset, buffer.Length).CopyTo(buffer);
                return true;
            },
            bytes =>
            {
                target.Write(bytes.Span);
                return true;
            });
        error = DeltaApplyError.None;
        for (int at = 0; at < patch.Length && error == DeltaApplyError.None; at += chunk)
        {
            error = applier.Feed(patch.Slice(at, Math.Min(chunk, patch.Length - at)));
        }

        error = error == DeltaApplyError.None ? applier.Finish() : error;
        return target.ToArray();
    }
}
