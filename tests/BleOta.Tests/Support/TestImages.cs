using System.Buffers.Binary;
using BleOta.Engine.Image;

namespace BleOta.Tests.Support;

/// <summary>Images built on the spot, so every test says exactly what it sends.</summary>
internal static class TestImages
{
    public static byte[] Build(string version = "2.0.0", int size = 40_000, EspChip chip = EspChip.Esp32, bool appendSha256 = true, int seed = 7) =>
        new EspAppImageBuilder { Version = version, ProjectName = "test-app", Size = size, Chip = chip, AppendSha256 = appendSha256, Seed = seed }.Build();

    /// <summary>An image whose segments hold 4 bits of entropy per byte, so deflate roughly halves it, as it does real code.</summary>
    public static byte[] BuildCompressible(string version = "2.0.0", int size = 100_000, int seed = 1) =>
        new EspAppImageBuilder
        {
            Version = version, ProjectName = "test-app", Size = size, Seed = seed,
            Fill = static (random, bytes) =>
            {
                for (int i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = (byte)(0x40 + random.Next(16));
                }
            },
        }.Build();

    /// <summary>
    /// A code-like image and its relink after 12 bytes were inserted at 60 %: 3-byte instruction words with a 32-bit
    /// pointer to a later or earlier word every 48 bytes; pointers to anything after the insertion grow by 12.
    /// </summary>
    public static (byte[] Base, byte[] Target) Relinked(int size, int seed = 5)
    {
        const uint LoadAddress = 0x400D0020;
        var random = new Random(seed);
        int words = size / 3;
        var code = new byte[words * 3];
        random.NextBytes(code);
        for (int i = 0; i < code.Length; i += 3)
        {
            code[i] = (byte)(code[i] & 0x0F); // a few opcodes, as compilers use
        }

        var pointers = new List<(int At, int To)>();
        for (int at = 0; at + 4 <= code.Length; at += 48)
        {
            pointers.Add((at, random.Next(code.Length / 4) * 4));
        }

        int insertAt = code.Length * 6 / 10 / 48 * 48 + 24;
        byte[] Link(bool inserted)
        {
            int shift(int offset) => inserted && offset >= insertAt ? offset + 12 : offset;
            var segment = new byte[code.Length + (inserted ? 12 : 0)];
            code.AsSpan(0, insertAt).CopyTo(segment);
            code.AsSpan(insertAt).CopyTo(segment.AsSpan(shift(insertAt)));
            if (inserted)
            {
                random.NextBytes(segment.AsSpan(insertAt, 12));
            }

            foreach (var (at, to) in pointers)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(segment.AsSpan(shift(at)), LoadAddress + (uint)shift(to));
            }

            return segment;
        }

        var rodata = new byte[4096];
        new Random(seed + 1).NextBytes(rodata);
        byte[] Image(bool inserted) => new EspAppImageBuilder
        {
            Version = inserted ? "1.0.1" : "1.0.0",
            Segments = [rodata, new byte[256], new byte[256], Pad(Link(inserted))],
        }.Build();

        return (Image(false), Image(true));
    }

    private static byte[] Pad(byte[] segment) => segment.Length % 4 == 0 ? segment : [.. segment, .. new byte[4 - segment.Length % 4]];

    public static string WriteTemp(byte[] bytes, string name = "app.bin")
    {
        string directory = Path.Combine(Path.GetTempPath(), "bleota-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
