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

        var target = new MemoryStream((int)targetSize);
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
        var error = applier.Feed(patch);
        if (error == DeltaApplyError.None)
        {
            error = applier.Finish();
        }

        return error == DeltaApplyError.None ? target.ToArray() : throw new InvalidDataException($"The patch does not apply to this base ({error}).");
    }
}
