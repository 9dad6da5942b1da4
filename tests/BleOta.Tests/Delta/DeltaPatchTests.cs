using BleOta.Engine.Delta;
using BleOta.Tests.Support;

namespace BleOta.Tests.Delta;

/// <summary>
/// The delta format on the C# side: docs/delta-vectors.txt (which the firmware's CTest reads too), patches the
/// generator makes for the way a relink changes an app, and what the applier does with damaged patches.
/// </summary>
public sealed class DeltaPatchTests
{
    public static TheoryData<string> Vectors => new() { "identical", "shifted", "moved" };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void The_shared_vectors_apply_to_their_target(string name)
    {
        var patched = DeltaPatch.Apply(ProtocolVectors.Get($"delta.{name}.base"), ProtocolVectors.Get($"delta.{name}.patch"));

        Assert.Equal(ProtocolVectors.Get($"delta.{name}.target"), patched);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void The_generator_makes_a_patch_that_rebuilds_each_vector_target(string name)
    {
        var baseImage = ProtocolVectors.Get($"delta.{name}.base");
        var target = ProtocolVectors.Get($"delta.{name}.target");

        Assert.Equal(target, DeltaPatch.Apply(baseImage, DeltaPatch.Create(baseImage, target)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(40)]
    [InlineData(508)]
    public void A_patch_applies_whatever_the_size_of_the_pieces_it_arrives_in(int chunk)
    {
        var (baseImage, target) = TestImages.Relinked(60_000, seed: 3);
        var patch = DeltaPatch.Create(baseImage, target);

        Assert.Equal(target, ApplyInChunks(baseImage, patch, chunk, out var error));
        Assert.Equal(DeltaApplyError.None, error);
    }

    [Fact]
    public void Random_edits_round_trip()
    {
        var random = new Random(17);
        for (int trial = 0; trial < 60; trial++)
        {
            var baseImage = new byte[random.Next(1, 20_000)];
            random.NextBytes(baseImage);
            var target = new List<byte>();
            while (target.Count < baseImage.Length)
            {
                if (random.Next(3) == 0)
                {
                    var fresh = new byte[random.Next(1, 200)];
                    random.NextBytes(fresh);
                    target.AddRange(fresh);
                }
                else
                {
                    int from = random.Next(baseImage.Length);
                    target.AddRange(baseImage.Skip(from).Take(random.Next(1, 3000)).Select(b => random.Next(50) == 0 ? (byte)(b + 1) : b));
                }
            }

            var targetBytes = target.ToArray();
            Assert.Equal(targetBytes, DeltaPatch.Apply(baseImage, DeltaPatch.Create(baseImage, targetBytes)));
        }
    }

    [Fact]
    public void Code_moved_by_an_insertion_costs_a_few_percent_of_the_image()
    {
        // 12 bytes inserted at 60 %: everything after moves, and every pointer to it changes.
        var (baseImage, target) = TestImages.Relinked(400_000, seed: 5);

        var patch = DeltaPatch.Create(baseImage, target);

        Assert.True(patch.Length < target.Length * 0.05, $"patch {patch.Length:N0} bytes for a {target.Length:N0}-byte image");
        Assert.Equal(target, DeltaPatch.Apply(baseImage, patch));
    }

    [Fact]
    public void An_unchanged_image_is_a_patch_of_a_few_dozen_bytes()
    {
        var image = TestImages.Build(size: 200_000);

        Assert.True(DeltaPatch.Create(image, image).Length < 40);
    }

    [Fact]
    public void An_unrelated_image_still_round_trips()
    {
        var baseImage = TestImages.Build(size: 30_000, seed: 1);
        var target = TestImages.Build(size: 35_000, seed: 2);

        Assert.Equal(target, DeltaPatch.Apply(baseImage, DeltaPatch.Create(baseImage, target)));
    }

    [Fact]
    public void A_patch_for_another_image_size_or_a_larger_base_fails_at_its_header()
    {
        var baseImage = ProtocolVectors.Get("delta.shifted.base");
        var patch = ProtocolVectors.Get("delta.shifted.patch");
        var target = ProtocolVectors.Get("delta.shifted.target");

        Assert.Equal(DeltaApplyError.BadHeader, ApplyError(baseImage, patch, (uint)target.Length + 1));
        Assert.Equal(DeltaApplyError.BadHeader, ApplyError(baseImage[..^1], patch, (uint)target.Length));
        var wrongMagic = (byte[])patch.Clone();
        wrongMagic[0] = (byte)'X';
        Assert.Equal(DeltaApplyError.BadHeader, ApplyError(baseImage, wrongMagic, (uint)target.Length));
    }

    [Fact]
    public void A_truncated_or_overlong_patch_is_never_finished()
    {
        var baseImage = ProtocolVectors.Get("delta.moved.base");
        var patch = ProtocolVectors.Get("delta.moved.patch");
        uint size = (uint)ProtocolVectors.Get("delta.moved.target").Length;

        for (int cut = 1; cut < patch.Length; cut++)
        {
            Assert.NotEqual(DeltaApplyError.None, ApplyError(baseImage, patch[..^cut], size));
        }

        Assert.Equal(DeltaApplyError.Corrupt, ApplyError(baseImage, [.. patch, 0], size));
        Assert.Throws<InvalidDataException>(() => DeltaPatch.Apply(baseImage, patch[..^1]));
    }

    [Fact]
    public void Damaged_patches_read_only_the_base_and_write_at_most_the_image()
    {
        var (baseImage, target) = TestImages.Relinked(20_000, seed: 9);
        var good = DeltaPatch.Create(baseImage, target);
        var random = new Random(4);
        for (int trial = 0; trial < 500; trial++)
        {
            var patch = (byte[])good.Clone();
            patch[random.Next(DeltaFormat.HeaderLength, patch.Length)] ^= (byte)(1 << random.Next(8));
            long written = 0;
            var applier = new DeltaApplier((uint)target.Length, (uint)baseImage.Length,
                (offset, buffer) =>
                {
                    Assert.True(offset + buffer.Length <= baseImage.Length, "a read past the base");
                    baseImage.AsMemory((int)offset, buffer.Length).CopyTo(buffer);
                    return true;
                },
                bytes =>
                {
                    written += bytes.Length;
                    return true;
                });
            var error = applier.Feed(patch);
            error = error == DeltaApplyError.None ? applier.Finish() : error;

            Assert.True(written <= target.Length);
            Assert.True(error != DeltaApplyError.None || written == target.Length);
        }
    }

    private static byte[] ApplyInChunks(byte[] baseImage, byte[] patch, int chunk, out DeltaApplyError error) =>
        DeltaPatch.Apply(baseImage, patch, DeltaFormat.TryReadHeader(patch, out _, out uint size, out _) ? size : 0, chunk, out error);

    private static DeltaApplyError ApplyError(byte[] baseImage, byte[] patch, uint targetSize)
    {
        DeltaPatch.Apply(baseImage, patch, targetSize, Math.Max(1, patch.Length), out var error);
        return error;
    }
}
