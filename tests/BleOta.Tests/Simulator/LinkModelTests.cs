using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

/// <summary>
/// The link model's mechanics (docs/link-model.md): flash work stalls the device's CPU and with it the host and
/// its acknowledgements unless the flash is auto-suspended, the controller then holds only its RX buffers and
/// acknowledges nothing more, a stream runs at the lower of its air and its host, acknowledged writes cost whole
/// connection events. All in simulated time.
/// </summary>
public class LinkModelTests
{
    [Fact]
    public void Flash_erases_stall_the_host_and_hold_back_acknowledgements_unless_the_flash_is_auto_suspended()
    {
        // Plain updates: a compressed one's 8 KB ring cannot hold a block erase's worth of packets even with suspend.
        var stalled = Watch(LinkProfile.Esp32OneMegDle, new SimulatedDeviceOptions { Compression = false });
        var suspended = Watch(LinkProfile.Esp32S3TwoMegSuspend, new SimulatedDeviceOptions { AutoSuspend = true, Compression = false });
        var blockErase = LinkProfile.Esp32OneMegDle.Flash.BlockErase;

        // Without suspend every 64 KB block erase stops the CPU, and no acknowledgement comes while it lasts.
        Assert.Contains(stalled.Traces, t => t.Kind == LinkTraceKind.Stall && t.Duration == blockErase);
        Assert.True(stalled.LongestSilence >= blockErase, $"longest gap between acknowledgements {stalled.LongestSilence}");

        // With it the CPU never stops: acknowledgements keep coming while the writer task waits for the erase.
        Assert.DoesNotContain(suspended.Traces, t => t.Kind == LinkTraceKind.Stall);
        Assert.True(suspended.LongestSilence < blockErase, $"longest gap between acknowledgements {suspended.LongestSilence}");
    }

    [Fact]
    public void The_writer_hashing_what_it_writes_takes_its_time_but_never_stalls_the_host()
    {
        // A SHA accelerator ten times slower: the writer takes longer, the flash stalls stay what they were.
        var profile = LinkProfile.Esp32OneMegDle;
        var slowSha = profile with { ShaBytesPerSecond = profile.ShaBytesPerSecond / 10 };
        var usual = Watch(profile, new SimulatedDeviceOptions());
        var slow = Watch(slowSha, new SimulatedDeviceOptions());

        var extraHashing = TimeSpan.FromSeconds(usual.ImageLength / slowSha.ShaBytesPerSecond - usual.ImageLength / profile.ShaBytesPerSecond);
        Assert.True(slow.Duration - usual.Duration > extraHashing / 2, $"{usual.Duration} then {slow.Duration}");
        // Equal but for how the writer's chunks split the 64-byte program commands (a few ms).
        Assert.InRange((slow.Stalled - usual.Stalled).Duration(), TimeSpan.Zero, extraHashing / 10);
    }

    [Fact]
    public void While_the_cpu_is_stalled_the_controller_fills_its_rx_buffers_and_then_stops_acknowledging()
    {
        var profile = LinkProfile.Esp32OneMegDle;
        var run = Watch(profile, new SimulatedDeviceOptions());

        var erases = run.Traces.Where(t => t.Kind == LinkTraceKind.Stall && t.Duration >= profile.Flash.BlockErase).ToList();
        Assert.NotEmpty(erases);
        foreach (var erase in erases)
        {
            var end = erase.At + erase.Duration;
            int acknowledgedDuring = run.Traces.Count(t => t.Kind == LinkTraceKind.PduAcknowledged && t.At > erase.At && t.At < end);
            Assert.InRange(acknowledgedDuring, 0, profile.ControllerRxPdus);
            Assert.Contains(run.Traces, t => t.Kind == LinkTraceKind.PduAcknowledged && t.At >= end); // and it resumes
        }

        Assert.All(run.Traces.Where(t => t.Kind == LinkTraceKind.PduAcknowledged), t => Assert.InRange(t.Held, 1, profile.ControllerRxPdus));
    }

    [Theory]
    [InlineData("esp32-1m-dle")] // air-bound: 1M at the 30 ms BlueZ gives
    [InlineData("esp32s3-2m")]   // host-bound: 2M carries more than the NimBLE host takes
    public void A_stream_runs_at_the_lower_of_its_air_rate_and_its_host_rate(string name)
    {
        var profile = LinkProfile.Get(name);
        int write = V2Client.WholePduWrite;
        double expected = Math.Min(profile.AirBytesPerSecond(write, profile.ConnectionInterval), profile.HostBytesPerSecond(write));

        double rate = StreamRate(profile, write, writes: 1000);

        Assert.InRange(rate, expected * 0.97, expected * 1.01);
    }

    [Fact]
    public async Task An_acknowledged_write_costs_two_connection_events_and_one_that_erases_a_sector_rounds_up_to_whole_events()
    {
        var fleet = new Fleet();
        var profile = LinkProfile.SeedMacOS;
        var device = fleet.Add(firmware: SimulatedFirmware.Tutorial, profile: profile); // erases each 4 KB sector as data reaches it
        await using var link = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        await link.RequestMtuAsync(256, CancellationToken.None);
        await link.WriteAsync(OtaUuids.Data, new byte[] { 253, 0 }, WriteType.WithResponse, CancellationToken.None);
        await link.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Request }, WriteType.WithResponse, CancellationToken.None);
        var image = TestImages.Build(size: 8192);
        var times = new List<TimeSpan>();
        for (int offset = 0; offset + 253 <= image.Length; offset += 253)
        {
            times.Add(await TimedWrite(link, image.AsMemory(offset, 253)));
        }

        int entersSector1 = 4096 / 253; // the packet that covers byte 4096: sector 1 is erased first
        Assert.All(times.Skip(1).Where((_, i) => i + 1 != entersSector1), t => Assert.Equal(profile.ConnectionInterval * 2, t));
        var erasing = times[entersSector1];
        Assert.True(erasing >= profile.ConnectionInterval * 2 + profile.Flash.SectorErase, $"{erasing}");
        Assert.Equal(0, erasing.Ticks % profile.ConnectionInterval.Ticks);
    }

    [Fact]
    public async Task Links_on_one_adapter_share_its_air_time()
    {
        var profile = LinkProfile.Esp32OneMegDle;
        int write = V2Client.WholePduWrite;
        double alone = StreamRate(profile, write, writes: 400);

        var transport = new SimulatedTransport(speed: 0);
        var devices = Enumerable.Range(1, 2).Select(i => AddDevice(transport, profile, i)).ToList();
        Task<double>[] streams;
        using (transport.Adapter.Hold())
        {
            streams = devices.Select(d => Task.Run(() => LinkRate.StreamWritesAsync(transport, d, write, writes: 400))).ToArray();
            SpinWait.SpinUntil(() => transport.Adapter.Clients == 2);
        }

        var rates = await Task.WhenAll(streams);

        Assert.All(rates, rate => Assert.InRange(rate, alone * 0.4, alone * 0.6));
    }

    private static double StreamRate(LinkProfile profile, int valueBytes, int writes)
    {
        var transport = new SimulatedTransport(speed: 0);
        return LinkRate.StreamWritesAsync(transport, AddDevice(transport, profile, 1), valueBytes, writes).GetAwaiter().GetResult();
    }

    private static SimulatedDevice AddDevice(SimulatedTransport transport, LinkProfile profile, int number, SimulatedDeviceOptions? options = null) =>
        transport.Add(new SimulatedDevice($"11:4B:00:00:00:{number:X2}", $"link-{number}", SampleImages.Factory,
            (options ?? new SimulatedDeviceOptions()) with { Profile = profile, RequestedInterval = TimeSpan.Zero }));

    /// <summary>A v2 update of a 300 KB image, watched: the link's traces and when each acknowledgement reached the client.</summary>
    private static WatchedRun Watch(LinkProfile profile, SimulatedDeviceOptions options)
    {
        var fleet = new Fleet();
        var device = fleet.Transport.Add(new SimulatedDevice("11:4B:00:00:01:01", "watched", SampleImages.Factory, options with { Profile = profile }));
        var run = new WatchedRun();
        var progress = new SyncProgress<OtaProgress>(p =>
        {
            if (device.Connection is SimulatedConnection link && run.Watching != link)
            {
                run.Watching = link;
                link.Engine.Traced += run.Traces.Add;
            }

            if (p.State == OtaState.Transferring && p.BytesSent > run.AcknowledgedBytes)
            {
                run.AcknowledgedBytes = p.BytesSent; // a DATA_ACK moved the client on
                run.Acknowledged.Add(fleet.Transport.Adapter.Now);
            }
        });
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var image = TestImages.Build(size: 300_000);
        run.ImageLength = image.Length;
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(image, "watched.bin"));
        var result = updater.RunAsync(session, OtaOptions.Default with { Protocol = OtaProtocolVersion.V2 }, progress, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(OtaStatus.Succeeded, result.Status);
        run.Duration = result.Duration;
        return run;
    }

    private static async Task<TimeSpan> TimedWrite(IBleConnection connection, ReadOnlyMemory<byte> value)
    {
        var before = connection.Clock.GetTimestamp();
        await connection.WriteAsync(OtaUuids.Data, value, WriteType.WithResponse, CancellationToken.None);
        return connection.Clock.GetElapsedTime(before);
    }

    private sealed class WatchedRun
    {
        public List<LinkTrace> Traces { get; } = [];

        public List<TimeSpan> Acknowledged { get; } = [];

        public SimulatedConnection? Watching { get; set; }

        public long AcknowledgedBytes { get; set; }

        public int ImageLength { get; set; }

        public TimeSpan Duration { get; set; }

        /// <summary>The CPU's time stopped by flash work.</summary>
        public TimeSpan Stalled => Traces.Where(t => t.Kind == LinkTraceKind.Stall).Aggregate(TimeSpan.Zero, (sum, t) => sum + t.Duration);

        public TimeSpan LongestSilence => Acknowledged.Zip(Acknowledged.Skip(1), (a, b) => b - a).Max();
    }
}
