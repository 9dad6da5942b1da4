using System.Diagnostics;
using System.Globalization;
using System.Text;
using BleOta.Engine.Delta;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;

namespace BleOta.Bench;

/// <summary>A realistic pair of builds: the app a device runs and the next build of it.</summary>
internal sealed record DeltaPair(string Name, byte[] Base, byte[] Target)
{
    /// <summary>The three pairs of the benchmark, from one app of about <paramref name="size"/> bytes (seeded).</summary>
    public static IReadOnlyList<DeltaPair> Realistic(int size)
    {
        var app = RealisticApp.Create(size);
        var running = app.Link();
        return
        [
            new("one-line change", running, app.WithOneLineChange("1.0.1").Link()),
            new("new feature", running, app.WithNewFeature("1.1.0").Link()),
            new("ESP-IDF patch release", running, app.WithIdfUpdate("1.0.1", "v5.3.2").Link()),
        ];
    }
}

/// <summary>One pair on one profile: the whole image (raw and compressed v2) against a patch.</summary>
internal sealed record DeltaRow(LinkProfile Profile, DeltaPair Pair, OtaResult Full, OtaResult Compressed, OtaResult Delta)
{
    /// <summary>What the device needs anyway to erase (64 KB blocks) and program the new image, by the profile's flash part.</summary>
    public TimeSpan FlashTime => ProfileBench.FlashTime(Profile, Pair.Target.Length);
}

/// <summary>Delta updates of realistic pairs over each link profile, in simulated time (speed 0).</summary>
internal static class DeltaBench
{
    /// <summary>The app of the target: a one-line change to a 1 MB app.</summary>
    public const int AppSize = 1_000_000;

    /// <summary>The largest app the generator must be quick for: a full 4 MB flash's worth.</summary>
    public const int LargeAppSize = 4 * 1024 * 1024;

    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(60)) };

    /// <summary>Runs every pair over every profile and writes the benchmark's delta section.</summary>
    public static void AppendSection(StringBuilder md)
    {
        var pairs = DeltaPair.Realistic(AppSize);
        var rows = LinkProfile.All.SelectMany(profile => pairs.Select(pair => Run(profile, pair))).ToList();
        var large = DeltaPair.Realistic(LargeAppSize)[0];
        var (largeWall, largePatch) = Generate(large);
        var inv = CultureInfo.InvariantCulture;

        md.AppendLine("## Delta updates");
        md.AppendLine();
        md.AppendLine($"Pairs of builds from `RealisticApp` (bench/BleOta.Bench/RealisticApp.cs): a {AppSize:N0}-byte app modelled as the");
        md.AppendLine("compiler and linker lay it out (functions with literal pools, PC-relative `CALL8`, `L32R` and branches, absolute");
        md.AppendLine("addresses of functions and strings in literal pools and pointer tables), changed and linked again, so everything");
        md.AppendLine("after a change moves and every reference across it is rewritten. One-line change: a log line in one app function");
        md.AppendLine("(a string, a literal, three instructions, its registers reallocated). New feature: a module of ten new functions");
        md.AppendLine("called from four existing ones. ESP-IDF patch release: a quarter of the IDF functions edited, new ones added, and");
        md.AppendLine("the prebuilt libraries (about 7 % of the app) replaced entirely. Seeded (42).");
        md.AppendLine();
        md.AppendLine("| pair | image bytes | patch bytes | patch / image | deflate / image | patch made in (wall, this machine) |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var pair in pairs)
        {
            var (wall, patch) = Generate(pair);
            md.AppendLine(string.Create(inv, $"| {pair.Name} | {pair.Target.Length:N0} | {patch.Length:N0} | {100.0 * patch.Length / pair.Target.Length:0.00} % | {100 * RealisticImage.WindowedDeflateRatio(pair.Target):0} % | {wall.TotalMilliseconds:N0} ms |"));
        }

        md.AppendLine();
        md.AppendLine("End to end, simulated: from REQUEST to DONE_ACK (the device's flash work and its final check included; connecting and");
        md.AppendLine("reading Info, the same for every column, are not). \"Flash\" is what the device needs anyway to erase and program");
        md.AppendLine("the new image at the profile's flash rate; the delta column adds the base reads (link-model.md). \"On air\" counts");
        md.AppendLine("every byte written to OTA Data, packet headers and resends included. Both work with the default build: a compressed");
        md.AppendLine("update takes 31.6 KB of RAM, a delta update 28.5 KB.");
        md.AppendLine();
        md.AppendLine("| profile | pair | v2 s | v2 compressed s | delta s | flash s | delta / flash | delta on air | on air / image |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in rows)
        {
            md.AppendLine(string.Create(inv, $"| {row.Profile.Name} | {row.Pair.Name} | {row.Full.Duration.TotalSeconds:0.0} | {row.Compressed.Duration.TotalSeconds:0.0} | {row.Delta.Duration.TotalSeconds:0.0} | {row.FlashTime.TotalSeconds:0.0} | {row.Delta.Duration / row.FlashTime:0.00}x | {row.Delta.BytesOnAir:N0} | {100.0 * row.Delta.BytesOnAir / row.Pair.Target.Length:0.00} % |"));
        }

        var oneLine = rows.Where(r => r.Pair == pairs[0]).ToList();
        double worstShare = oneLine.Max(r => 100.0 * r.Delta.BytesOnAir / r.Pair.Target.Length);
        var worst = oneLine.MaxBy(r => r.Delta.Duration / r.FlashTime)!;
        double worstRatio = worst.Delta.Duration / worst.FlashTime;
        var over = oneLine.Where(r => r.Delta.Duration / r.FlashTime > 1.2).Select(r => r.Profile.Name).ToList();
        double largeShare = 100.0 * largePatch.Length / large.Target.Length;
        md.AppendLine();
        md.AppendLine(string.Create(inv, $"Targets (issue #15): a one-line change to a 1 MB app under 5 % of its size on air (here {worstShare:0.00} % at most);"));
        md.AppendLine(string.Create(inv, $"end to end within 1.2 times the device's own time to erase and program the new image (here {worstRatio:0.000}x at most,"));
        string overList = string.Join(", ", over);
        md.AppendLine(over.Count == 0 ? "met on every profile)." : $"over it on {overList}).");
        md.AppendLine(string.Create(inv, $"Making the one-line patch of a {large.Target.Length:N0}-byte app takes {largeWall.TotalMilliseconds:N0} ms on this machine ({largePatch.Length:N0} bytes, {largeShare:0.00} %)."));
        md.AppendLine();
    }

    public static DeltaRow Run(LinkProfile profile, DeltaPair pair)
    {
        string cacheDirectory = Path.Combine(Path.GetTempPath(), "bleota-bench", Guid.NewGuid().ToString("N"));
        try
        {
            var cache = new BaseImageCache(cacheDirectory);
            cache.Add(pair.Base, out _);
            return new DeltaRow(profile, pair,
                Update(profile, pair, compression: false, Options with { Delta = DeltaMode.Off }),
                Update(profile, pair, compression: true, Options with { Delta = DeltaMode.Off }),
                Update(profile, pair, compression: false, Options with { ImageCache = cache }));
        }
        finally
        {
            Directory.Delete(cacheDirectory, recursive: true);
        }
    }

    /// <summary>Wall time to make each pair's patch on this machine (fastest of 3), and the patch.</summary>
    public static (TimeSpan Wall, byte[] Patch) Generate(DeltaPair pair)
    {
        byte[] patch = [];
        var best = TimeSpan.MaxValue;
        for (int run = 0; run < 3; run++)
        {
            var started = Stopwatch.GetTimestamp();
            patch = DeltaPatch.Create(pair.Base, pair.Target);
            var wall = Stopwatch.GetElapsedTime(started);
            best = wall < best ? wall : best;
        }

        return (best, patch);
    }

    private static OtaResult Update(LinkProfile profile, DeltaPair pair, bool compression, OtaOptions options)
    {
        var transport = new SimulatedTransport(speed: 0);
        var device = transport.Add(new SimulatedDevice("BE:4C:00:00:0D:01", "bench", pair.Base,
            ProfileBench.After(profile) with { Compression = compression }));
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, device.AdvertisedServices, transport));
        var result = updater.RunAsync(updater.CreateSession(target, FirmwareImage.Parse(pair.Target, "bench.bin")), options, null, CancellationToken.None).GetAwaiter().GetResult();
        return result.Status == OtaStatus.Succeeded && device.Flash.RunningImageBytes() is { } running && running.AsSpan().SequenceEqual(pair.Target)
            ? result
            : throw new InvalidOperationException($"{pair.Name} on {profile.Name} ({result.Transfer}) failed: {result.Error}");
    }
}
