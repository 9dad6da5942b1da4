using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

/// <summary>
/// The profiles' figures against their sources: the Core spec's air times, Espressif's published throughput, the
/// seed's 90 s for 500 kB (docs/link-model.md). All in simulated time; nothing here times the machine.
/// </summary>
public class LinkProfileTests
{
    [Theory]
    [InlineData(BlePhy.Le1M, 251, 2088)] // Core spec: 1M, 251-byte payload without MIC
    [InlineData(BlePhy.Le1M, 27, 296)]
    [InlineData(BlePhy.Le1M, 0, 80)]     // the empty PDU that acknowledges
    [InlineData(BlePhy.Le2M, 251, 1048)]
    [InlineData(BlePhy.Le2M, 0, 44)]
    public void Pdu_air_time_matches_the_core_specification(BlePhy phy, int payload, int microseconds)
    {
        var profile = LinkProfile.Default with { Phy = phy };

        Assert.Equal(TimeSpan.FromMicroseconds(microseconds), profile.PduAirTime(payload));
    }

    [Theory]
    [InlineData(BlePhy.Le1M, 97.1)]  // ESP-IDF ble50_throughput README, ESP32-C3/S3 notifications, 1M
    [InlineData(BlePhy.Le2M, 175.2)] // the same at 2M
    public void The_air_model_gives_espressifs_published_throughput_within_3_percent(BlePhy phy, double kilobytesPerSecond)
    {
        // The example's setup: 495-byte values (two whole 251-byte PDUs), a 130 ms interval, an ESP32 central.
        var profile = LinkProfile.Default with { Phy = phy, EventGuard = TimeSpan.Zero };

        double modelled = profile.AirBytesPerSecond(495, TimeSpan.FromMilliseconds(130)) / 1000;

        Assert.InRange(modelled, kilobytesPerSecond * 0.97, kilobytesPerSecond * 1.03);
    }

    [Fact]
    public void A_write_of_495_bytes_fills_two_pdus_where_512_bytes_needs_a_third()
    {
        var profile = LinkProfile.Default;

        Assert.Equal([251, 251], profile.Fragments(V2Client.WholePduWrite));
        Assert.Equal([251, 251, 17], profile.Fragments(512));
        Assert.True(profile.AirBytesPerSecond(V2Client.WholePduWrite, profile.ConnectionInterval) > profile.AirBytesPerSecond(512, profile.ConnectionInterval));
    }

    [Fact]
    public void The_central_grants_what_the_device_asks_but_never_below_its_own_shortest_interval()
    {
        var linux = LinkProfile.Esp32OneMegDle;
        var windows = LinkProfile.WindowsDefault;

        Assert.Equal(linux.ConnectionInterval, linux.IntervalFor(null));
        Assert.Equal(TimeSpan.FromMilliseconds(15), linux.IntervalFor(TimeSpan.FromMilliseconds(15)));
        Assert.Equal(TimeSpan.FromMilliseconds(7.5), linux.IntervalFor(TimeSpan.FromMilliseconds(5)));
        Assert.Equal(TimeSpan.FromMilliseconds(15), windows.IntervalFor(TimeSpan.FromMilliseconds(7.5)));
    }

    [Fact]
    public void The_v1_client_on_the_seeds_setup_takes_the_seeds_90_seconds_for_500_kB_within_30_percent()
    {
        var fleet = new Fleet();
        var device = fleet.Add(firmware: SimulatedFirmware.Tutorial, profile: LinkProfile.SeedMacOS);
        var image = TestImages.Build(size: 500_000);

        var result = Update(fleet, device, image, OtaProtocolVersion.V1);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal(253, V1Client.PacketSizeFor(LinkProfile.SeedMacOS.NegotiatedMtu(517, device.DeviceMtu)));
        Assert.InRange(result.Duration.TotalSeconds, 90 * 0.7, 90 * 1.3);
    }

    [Fact]
    public async Task Windows_keeps_its_own_mtu_whatever_the_client_prefers()
    {
        var fleet = new Fleet();
        var windows = fleet.Add(profile: LinkProfile.WindowsDefault);
        var linux = fleet.Add(profile: LinkProfile.Esp32OneMegDle);

        Assert.Equal(515, await NegotiateAsync(fleet, windows, 185)); // the OS asks 527; the firmware takes 515
        Assert.Equal(185, await NegotiateAsync(fleet, linux, 185));
    }

    [Fact]
    public void A_device_moved_to_another_profile_updates_with_that_profiles_packet_size()
    {
        var fleet = new Fleet();
        var device = fleet.Add(profile: LinkProfile.SeedMacOS);
        var image = TestImages.Build(size: 20_000);

        device.UseProfile(LinkProfile.Esp32OneMegDle);
        var result = Update(fleet, device, image, OtaProtocolVersion.V1);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal(V1Client.PacketCount(image.Length, 512), result.Packets);
    }

    [Fact]
    public void An_unknown_profile_name_lists_the_profiles()
    {
        var error = Assert.Throws<ArgumentException>(() => LinkProfile.Get("android"));

        Assert.Contains("'android'", error.Message);
        Assert.All(LinkProfile.All, p => Assert.Contains(p.Name, error.Message));
    }

    private static OtaResult Update(Fleet fleet, SimulatedDevice device, byte[] image, OtaProtocolVersion protocol)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(image, "calibration.bin"));
        var options = OtaOptions.Default with { Protocol = protocol, Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(10)) };
        return updater.RunAsync(session, options, null, CancellationToken.None).GetAwaiter().GetResult();
    }

    private static async Task<int> NegotiateAsync(Fleet fleet, SimulatedDevice device, int preferred)
    {
        await using var connection = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        return await connection.RequestMtuAsync(preferred, CancellationToken.None);
    }
}
