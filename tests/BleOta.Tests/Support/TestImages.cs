using BleOta.Engine.Image;

namespace BleOta.Tests.Support;

/// <summary>Images built on the spot, so every test says exactly what it sends.</summary>
internal static class TestImages
{
    public static byte[] Build(string version = "2.0.0", int size = 40_000, EspChip chip = EspChip.Esp32, bool appendSha256 = true, int seed = 7) =>
        new EspAppImageBuilder { Version = version, ProjectName = "test-app", Size = size, Chip = chip, AppendSha256 = appendSha256, Seed = seed }.Build();

    /// <summary>An image whose segments hold 4 bits of entropy per byte, so deflate roughly halves it, as it does real code.</summary>
    public static byte[] BuildCompressible(string version = "2.0.0", int size = 100_000) =>
        new EspAppImageBuilder
        {
            Version = version, ProjectName = "test-app", Size = size,
            Fill = static (random, bytes) =>
            {
                for (int i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = (byte)(0x40 + random.Next(16));
                }
            },
        }.Build();

    public static string WriteTemp(byte[] bytes, string name = "app.bin")
    {
        string directory = Path.Combine(Path.GetTempPath(), "bleota-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
