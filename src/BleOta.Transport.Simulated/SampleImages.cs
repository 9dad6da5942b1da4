using BleOta.Engine.Image;

namespace BleOta.Transport.Simulated;

/// <summary>Images the simulator ships with: what a simulated device runs before anyone updates it.</summary>
public static class SampleImages
{
    private static readonly Lazy<byte[]> FactoryImage = new(() => new EspAppImageBuilder
    {
        ProjectName = "bleota-demo",
        Version = "1.0.0",
        Size = 180 * 1024,
    }.Build());

    /// <summary>An ESP32 app "bleota-demo" 1.0.0, as flashed by cable at the factory.</summary>
    public static byte[] Factory => FactoryImage.Value;
}
