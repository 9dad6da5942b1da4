using System.IO.Compression;
using System.Text;
using BleOta.Engine.Compression;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Compression;

/// <summary>
/// The 8 KB-window deflate encoder: any inflater reads its streams back byte for byte, and the firmware's 8 KB
/// wrapping buffer (tinfl, modelled by <see cref="RomInflater"/>) does too, because no back-reference reaches further.
/// </summary>
public class WindowedDeflateTests
{
    public static TheoryData<string> Inputs => [.. Samples.Keys];

    private static readonly Dictionary<string, byte[]> Samples = new()
    {
        ["empty"] = [],
        ["one byte"] = [0x5A],
        ["random 100 KB"] = Random(100_000, 1),
        ["zeros 200 KB"] = new byte[200_000],
        ["a 3 KB pattern repeated"] = Repeat(Random(3_000, 2), 40),
        ["a 12 KB pattern repeated (out of reach)"] = Repeat(Random(12_000, 3), 6),
        ["stored block limit - 1"] = Random(65_534, 4),
        ["stored block limit"] = Random(65_535, 5),
        ["stored block limit + 1"] = Random(65_536, 6),
        ["firmware-like"] = FirmwareLike(300_000),
        ["text then random then zeros"] = [.. FirmwareLike(40_000), .. Random(40_000, 7), .. new byte[40_000]],
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void System_IO_Compression_inflates_it_to_the_input(string input)
    {
        var data = Samples[input];
        var stream = WindowedDeflate.Compress(data);
        using var inflater = new DeflateStream(new MemoryStream(stream), CompressionMode.Decompress);
        var output = new MemoryStream();
        inflater.CopyTo(output);
        Assert.Equal(data, output.ToArray());
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void An_8_KB_wrapping_inflater_reads_it_and_no_reference_reaches_further(string input)
    {
        var data = Samples[input];
        var stream = WindowedDeflate.Compress(data);
        var inflater = new RomInflater(8192);
        var output = new List<byte>();
        int taken = inflater.Inflate(stream, output.Add);
        Assert.Equal(data, output);
        Assert.Equal(stream.Length, taken);
        Assert.InRange(inflater.MaxDistance, 0, WindowedDeflate.WindowSize);
    }

    [Fact]
    public void Incompressible_data_goes_stored_at_5_bytes_per_block_of_16_383()
    {
        var data = Random(200_000, 8);
        Assert.InRange(WindowedDeflate.Compress(data).Length, data.Length, data.Length + 5 * (data.Length / 16_383 + 1));
    }

    [Fact]
    public void Reuses_whatever_lies_within_8_KB()
    {
        var data = Repeat(Random(8_000, 9), 10);
        Assert.InRange(WindowedDeflate.Compress(data).Length, 8_000, 9_000);
    }

    [Fact]
    public void DeflateStream_reaches_further_back_than_8_KB_and_an_8_KB_buffer_then_decodes_wrong_bytes()
    {
        // Why the firmware needs our encoder: a 32 KB-window stream of a 12 KB period refers 12 KB back.
        var data = Samples["a 12 KB pattern repeated (out of reach)"];
        var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(data);
        }

        var inflater = new RomInflater(8192);
        var decoded = new List<byte>();
        inflater.Inflate(output.ToArray(), decoded.Add);
        Assert.True(inflater.MaxDistance > 8192);
        Assert.Equal(data.Length, decoded.Count);
        Assert.NotEqual(data, decoded);
    }

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Repeat(byte[] pattern, int times) => Enumerable.Repeat(pattern, times).SelectMany(p => p).ToArray();

    /// <summary>Log strings from a small vocabulary interleaved with little-endian tables, as an app's rodata is.</summary>
    private static byte[] FirmwareLike(int length)
    {
        string[] words = ["ble", "ota", "gatt", "write", "failed", "flash", "erase", "image", "version", "event", "%d", "%s", "0x%08x"];
        var random = new Random(10);
        var bytes = new List<byte>(length);
        while (bytes.Count < length)
        {
            var line = string.Join(' ', Enumerable.Range(0, random.Next(2, 8)).Select(_ => words[random.Next(words.Length)]));
            bytes.AddRange(Encoding.ASCII.GetBytes(line));
            bytes.Add(0);
            for (int i = random.Next(0, 6); i > 0; i--)
            {
                bytes.AddRange(BitConverter.GetBytes(0x3C000000u + (uint)random.Next(0, 0x10000) * 4));
            }
        }

        return bytes.GetRange(0, length).ToArray();
    }
}
