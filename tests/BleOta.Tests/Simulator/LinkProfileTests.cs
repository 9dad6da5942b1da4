using System.Buffers.Binary;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

/// <summary>
/// The link model against published figures: the Core spec's air times, the seed's 90 s for 500 kB, and each
/// profile's documented capacity (docs/link-model.md). All in simulated time; nothing here times the machine.
/// </summary>
public class LinkProfileTests
{
    public static TheoryData<string> ProfileNames() => [.. LinkProfile.All.Select(p => p.Name)];

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

    [Theory]
    [InlineData("seed-macos", 62.5)]    // the ESP32's NimBLE stack limit
    [InlineData("esp32-1m-dle", 62.5)]  // the ESP32's NimBLE stack limit
    [InlineData("esp32s3-2m", 79.7)]    // flash: 45 ms erase + 6.4 ms programming per 4 KB
    [InlineData("windows-default", 62.5)]
    public void Each_profile_has_its_documented_capacity(string name, double kilobytesPerSecond)
    {
        Assert.Equal(kilobytesPerSecond, LinkProfile.Get(name).CapacityBytesPerSecond() / 1000, precision: 1);
    }

    [Theory]
    [MemberData(nameof(ProfileNames))]
    public async Task A_stream_of_unacknowledged_writes_runs_at_the_profiles_capacity(string name)
    {
        var profile = LinkProfile.Get(name);
        var image = TestImages.Build(size: 400_000);
        var (connection, device) = await OpenUpdatingLink(profile);
        await using var link = connection;
        int packet = connection.Mtu - 3;

        var started = connection.Clock.GetTimestamp();
        for (int offset = 0; offset < image.Length; offset += packet)
        {
            var chunk = image.AsMemory(offset, Math.Min(packet, image.Length - offset));
            await connection.WriteAsync(OtaUuids.Data, chunk, WriteType.WithoutResponse, CancellationToken.None);
        }

        // The last buffer-full is still being written when the radio is done: the stream may beat capacity by that much.
        double rate = image.Length / connection.Clock.GetElapsedTime(started).TotalSeconds;
        double capacity = profile.CapacityBytesPerSecond(packet);
        Assert.Equal(image.Length, device.Flash.Written);
        Assert.InRange(rate, capacity * 0.97, capacity * (1.01 + profile.ReceiveBufferBytes / (double)image.Length));
    }

    [Fact]
    public async Task A_full_receive_buffer_stalls_the_radio_until_flash_catches_up()
    {
        // On a 2M link the air outruns the flash: a stream fills the buffer, then goes at flash speed.
        var profile = LinkProfile.Esp32S3TwoMeg;
        Assert.True(profile.LinkBytesPerSecond(512) > 1.5 * profile.FlashBytesPerSecond);
        var (connection, device) = await OpenUpdatingLink(profile);
        await using var link = connection;
        var image = TestImages.Build(size: 200_000);

        var started = connection.Clock.GetTimestamp();
        int sent = 0;
        var early = TimeSpan.Zero;
        for (int offset = 0; offset < image.Length; offset += 512)
        {
            var chunk = image.AsMemory(offset, Math.Min(512, image.Length - offset));
            await connection.WriteAsync(OtaUuids.Data, chunk, WriteType.WithoutResponse, CancellationToken.None);
            sent += chunk.Length;
            if (sent <= profile.ReceiveBufferBytes / 2)
            {
                early = connection.Clock.GetElapsedTime(started);
            }
        }

        Assert.InRange(profile.ReceiveBufferBytes / 2 / early.TotalSeconds, profile.LinkBytesPerSecond(512) * 0.8, double.MaxValue);
        Assert.InRange(image.Length / connection.Clock.GetElapsedTime(started).TotalSeconds, 0, profile.FlashBytesPerSecond * 1.1);
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
    public async Task An_acknowledged_write_pays_two_connection_events_and_a_sector_erase_rounds_up_to_whole_events()
    {
        var profile = LinkProfile.Esp32OneMegDle;
        var (connection, device) = await OpenUpdatingLink(profile);
        await using var link = connection;
        var image = TestImages.Build(size: 8192);

        var first = await TimedWrite(connection, image.AsMemory(0, 512));  // enters sector 0: erase
        var second = await TimedWrite(connection, image.AsMemory(512, 512));

        Assert.Equal(profile.ConnectionInterval * 2, second);
        long eraseEvents = (long)Math.Ceiling((profile.SectorEraseTime + TimeSpan.FromSeconds(512 / profile.FlashWriteBytesPerSecond)) / profile.ConnectionInterval);
        Assert.Equal(profile.ConnectionInterval * (eraseEvents + 1), first);
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

    /// <summary>A link at the largest MTU to a BleOta device on <paramref name="profile"/>, with an update open for MTU - 3 packets.</summary>
    private static async Task<(IBleConnection Connection, SimulatedDevice Device)> OpenUpdatingLink(LinkProfile profile)
    {
        var fleet = new Fleet();
        var device = fleet.Add(profile: profile);
        var connection = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(517, CancellationToken.None);
        var size = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(size, (ushort)(connection.Mtu - 3));
        await connection.WriteAsync(OtaUuids.Data, size, WriteType.WithResponse, CancellationToken.None);
        await connection.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Request }, WriteType.WithResponse, CancellationToken.None);
        return (connection, device);
    }

    private static async Task<TimeSpan> TimedWrite(IBleConnection connection, ReadOnlyMemory<byte> value)
    {
        var before = connection.Clock.GetTimestamp();
        await connection.WriteAsync(OtaUuids.Data, value, WriteType.WithResponse, CancellationToken.None);
        return connection.Clock.GetElapsedTime(before);
    }
}
