using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;

namespace BleOta.Bench;

/// <summary>
/// One profile's row: what each protocol and firmware build achieved on it, in simulated time, and BleOta
/// (<c>-Protocol Auto</c>, which picks v1) against the tutorial's firmware.
/// </summary>
internal sealed record ProfileRow(LinkProfile Profile, OtaResult V1, OtaResult Before, OtaResult After, OtaResult? Compressed, OtaResult Tutorial, TimeSpan Interval)
{
    public static double Rate(OtaResult run) => run.Bytes / 1000.0 / run.Duration.TotalSeconds;

    /// <summary>Image bytes per second of the compressed run: more than went on air.</summary>
    public double? EffectiveCompressedKBps(int imageBytes) => Compressed is { } c ? imageBytes / 1000.0 / c.Duration.TotalSeconds : null;
}

/// <summary>Runs every protocol and both firmware builds over each link profile, in simulated time (speed 0).</summary>
internal static class ProfileBench
{
    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(60)) };

    /// <summary>
    /// The firmware before this model: each 4 KB sector erased as the data reaches it, no connection request,
    /// the 16 KB ring, every image read back at DONE, no compression.
    /// </summary>
    public static SimulatedDeviceOptions Before(LinkProfile profile) =>
        new() { Profile = profile, EraseMode = EraseMode.Sectors, RequestedInterval = TimeSpan.Zero, RingBytes = 16 * 1024, ReadsImageBackAtDone = true, Compression = false };

    /// <summary>
    /// The firmware as built for the profile's module: the Kconfig defaults, plus CONFIG_SPI_FLASH_AUTO_SUSPEND
    /// where the chip and its flash part support it (never a default: on another part it may crash the chip).
    /// </summary>
    public static SimulatedDeviceOptions After(LinkProfile profile) =>
        new() { Profile = profile, AutoSuspend = profile.ChipSupportsAutoSuspend && profile.Flash.SupportsSuspend };

    /// <summary>What the device needs anyway to erase (64 KB blocks) and program an image, by the profile's flash part.</summary>
    public static TimeSpan FlashTime(LinkProfile profile, int imageBytes) =>
        new FlashWork(profile.Flash, EraseMode.Blocks, SimulatedDevice.DefaultSlotSize)
            .Append(imageBytes).Aggregate(TimeSpan.Zero, (sum, op) => sum + op.Duration);

    public static ProfileRow Run(LinkProfile profile, byte[] image, byte[] realisticImage)
    {
        var v1 = Update(After(profile), image, OtaProtocolVersion.V1, out _);
        var before = Update(Before(profile), image, OtaProtocolVersion.V2, out _);
        // The random image does not compress, so the default build (compression on) gets it as it is.
        var after = Update(After(profile), image, OtaProtocolVersion.V2, out var interval);
        var compressed = Update(After(profile), realisticImage, OtaProtocolVersion.V2, out _);
        var tutorial = Update(new SimulatedDeviceOptions { Profile = profile, Firmware = SimulatedFirmware.Tutorial }, image, OtaProtocolVersion.Auto, out _);
        return new ProfileRow(profile, v1, before, after, compressed, tutorial, interval);
    }

    /// <summary>One update of a fresh simulated device; throws if it does not succeed.</summary>
    public static OtaResult Update(SimulatedDeviceOptions options, byte[] image, OtaProtocolVersion protocol, out TimeSpan interval)
    {
        var transport = new SimulatedTransport(speed: 0);
        var device = transport.Add(new SimulatedDevice("BE:4C:00:00:00:01", "bench", SampleImages.Factory, options));
        interval = options.Profile.IntervalFor(device.RequestedInterval);
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, device.AdvertisedServices, transport));
        var session = updater.CreateSession(target, FirmwareImage.Parse(image, "bench.bin"));
        var result = updater.RunAsync(session, Options with { Protocol = protocol }, null, CancellationToken.None).GetAwaiter().GetResult();
        return result.Status == OtaStatus.Succeeded
            ? result
            : throw new InvalidOperationException($"{protocol} on {options.Profile.Name} ({options.Firmware}) failed: {result.Error}");
    }
}
