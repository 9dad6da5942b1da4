using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using BleOta.Engine.Image;

namespace BleOta.Bench;

/// <summary>
/// An ESP32 app image whose segments have the byte statistics of real firmware rather than random bytes, so a
/// compressing protocol meets what it would meet in the field. Seeded, so every run sends the same bytes.
/// Code segments (IRAM, flash text) are Xtensa-like instruction streams: 3-byte and 2-byte (density) words
/// drawn with a Zipf distribution from a fixed vocabulary, as compilers reuse a few hundred encodings, with
/// 32-bit literal pools of addresses in the app's own ranges. Data segments (flash rodata, DRAM data) are
/// NUL-terminated log and format strings from a word list, tables of small 32-bit integers and pointers,
/// and zero-filled runs as zero-initialised arrays leave them.
/// </summary>
internal static class RealisticImage
{
    /// <summary>The words log strings are made of.</summary>
    internal static readonly string[] Words =
    [
        "ble", "ota", "gatt", "conn", "handle", "mtu", "write", "read", "notify", "failed", "error", "start", "done",
        "update", "partition", "flash", "erase", "sector", "image", "version", "wifi", "event", "task", "queue",
        "timeout", "status", "init", "config", "buffer", "length", "invalid", "state", "nvs", "key", "value", "boot",
    ];

    public static byte[] Build(int size, int seed = 42)
    {
        int segment = 0;
        return new EspAppImageBuilder
        {
            ProjectName = "bench-app",
            Version = "2.0.0",
            Size = size,
            Seed = seed,
            // The builder fills its segments in load-address order: rodata, DRAM data, IRAM, flash text.
            Fill = (random, bytes) =>
            {
                if (segment++ < 2)
                {
                    FillData(random, bytes);
                }
                else
                {
                    FillCode(random, bytes);
                }
            },
        }.Build();
    }

    /// <summary>Compressed size over original size with DEFLATE at its best level, for the docs.</summary>
    /// <summary>Compressed / original with BleOta's 8 KB-window encoder, what the client sends.</summary>
    public static double WindowedDeflateRatio(ReadOnlySpan<byte> bytes) =>
        BleOta.Engine.Compression.WindowedDeflate.Compress(bytes).Length / (double)bytes.Length;

    public static double DeflateRatio(ReadOnlySpan<byte> bytes)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(bytes);
        }

        return output.Length / (double)bytes.Length;
    }

    private static void FillCode(Random random, byte[] bytes)
    {
        var vocabulary = new byte[512][];
        for (int i = 0; i < vocabulary.Length; i++)
        {
            vocabulary[i] = new byte[random.Next(4) == 0 ? 2 : 3];
            random.NextBytes(vocabulary[i]);
        }

        int at = 0;
        while (at < bytes.Length)
        {
            if (random.Next(16) == 0)
            {
                // A literal pool: a few addresses into the app's own text and rodata.
                for (int n = random.Next(1, 5); n > 0 && at + 4 <= bytes.Length; n--, at += 4)
                {
                    uint address = (random.Next(2) == 0 ? 0x400D0000u : 0x3F400000u) + (uint)random.Next(0x60000) * 4;
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), address);
                }

                continue;
            }

            var word = vocabulary[Zipf(random, vocabulary.Length)];
            for (int k = 0; k < word.Length && at < bytes.Length; k++)
            {
                // Register and immediate fields vary around the shared opcode.
                bytes[at++] = k == word.Length - 1 && random.Next(3) == 0 ? (byte)random.Next(256) : word[k];
            }
        }
    }

    private static void FillData(Random random, byte[] bytes)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            int kind = random.Next(10);
            if (kind < 5)
            {
                var text = new StringBuilder();
                for (int n = random.Next(2, 8); n > 0; n--)
                {
                    text.Append(Words[Zipf(random, Words.Length)]).Append(random.Next(5) == 0 ? ": %d " : " ");
                }

                at += Copy(Encoding.ASCII.GetBytes(text.Append('\n').Append('\0').ToString()), bytes, at);
            }
            else if (kind < 8)
            {
                for (int n = random.Next(4, 32); n > 0 && at + 4 <= bytes.Length; n--, at += 4)
                {
                    uint value = random.Next(3) == 0 ? 0x3FFB0000u + (uint)random.Next(0x4000) * 4 : (uint)random.Next(1024);
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
                }
            }
            else
            {
                at += Math.Min(random.Next(16, 256), bytes.Length - at); // already zero
            }
        }
    }

    private static int Copy(byte[] source, byte[] target, int at)
    {
        int count = Math.Min(source.Length, target.Length - at);
        source.AsSpan(0, count).CopyTo(target.AsSpan(at));
        return count;
    }

    /// <summary>An index in [0, count) with probability falling as 1 / (rank + 1).</summary>
    internal static int Zipf(Random random, int count)
    {
        double harmonic = Math.Log(count) + 0.5772;
        double target = random.NextDouble() * harmonic;
        double sum = 0;
        for (int rank = 0; rank < count; rank++)
        {
            sum += 1.0 / (rank + 1);
            if (sum >= target)
            {
                return rank;
            }
        }

        return count - 1;
    }
}
