using System.Diagnostics;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Transport.HostFirmware;

namespace BleOta.Bench;

/// <summary>What the engine itself costs: an image through the client against the firmware's C core, with no link delay.</summary>
internal sealed record EngineCostResult(OtaProtocolVersion Protocol, long Bytes, int Packets, TimeSpan Wall, long AllocatedBytes)
{
    public double MegabytesPerSecond => Bytes / 1e6 / Wall.TotalSeconds;

    public double BytesAllocatedPerPacket => AllocatedBytes / (double)Packets;
}

internal static class EngineCost
{
    public const int Runs = 3;

    /// <summary>Null, with the reason, when libble_ota_host is not built.</summary>
    public static EngineCostResult? Measure(int imageSize, out string? unavailable)
    {
        if (!HostFirmwareLibrary.TryLoad(out unavailable))
        {
            return null;
        }

        var image = new EspAppImageBuilder { ProjectName = "bench-app", Version = "9.9.9", Size = imageSize, Seed = 9 }.Build();
        uint partition = (uint)((image.Length + 0xFFFF) / 0x10000 * 0x10000);
        Run(new EspAppImageBuilder { Size = 64 * 1024 }.Build(), partition); // warm up the JIT and the native library

        // The fastest of a few runs: on a shared machine the others measure the neighbours.
        EngineCostResult? best = null;
        for (int run = 0; run < Runs; run++)
        {
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            var result = Run(image, partition);
            watch.Stop();
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            if (best is null || watch.Elapsed < best.Wall)
            {
                best = new EngineCostResult(result.Protocol, result.Bytes, result.Packets, watch.Elapsed, allocated);
            }
        }

        return best;
    }

    private static OtaResult Run(byte[] image, uint partition)
    {
        using var transport = new HostFirmwareTransport();
        var device = transport.AddDevice(partitionSize: partition);
        var target = Engine.Discovery.Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, [OtaUuids.Service], transport));
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(target, FirmwareImage.Parse(image, "engine-cost.bin"));
        // The highest protocol the engine and this firmware share; v2 once both speak it.
        var options = OtaOptions.Default with { Protocol = OtaProtocolVersion.Auto };
        var result = updater.RunAsync(session, options, null, CancellationToken.None).GetAwaiter().GetResult();
        return result.Status == OtaStatus.Succeeded ? result : throw new InvalidOperationException($"The engine-cost run failed: {result.Error}");
    }
}
