using BleOta.Engine.Protocol;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Protocol;

/// <summary>The v2 client against the simulator's v2 server over a lossy, late-notifying link.</summary>
public class V2ClientTests
{
    // Short enough that a lost acknowledgement is noticed quickly; a late one on a busy machine only costs a resend.
    private static readonly OtaTimeouts Short = OtaTimeouts.All(TimeSpan.FromSeconds(5)) with { Write = TimeSpan.FromMilliseconds(500) };

    private static (SimulatedFlash Flash, BleOtaFirmwareModel Server) Device(int window, bool compression = false)
    {
        var flash = new SimulatedFlash(SimulatedDevice.DefaultSlotSize, SampleImages.Factory);
        return (flash, new BleOtaFirmwareModel(flash, DeviceFaults.None, 514, window, compression));
    }

    private static Task Send(V2FaultConnection connection, byte[] image, bool compress = false)
    {
        var stream = V2Client.StreamFor(image, compress);
        return new V2Client(Short).SendAsync(connection, image, stream, compress, 514, null, CancellationToken.None);
    }

    private static void AssertBoots(SimulatedFlash flash, BleOtaFirmwareModel server, byte[] image)
    {
        Assert.Equal(RestartAfterWrite.AfterResponse, server.Restart);
        flash.Reboot();
        Assert.Equal(image, flash.RunningImage!.Bytes[..image.Length]);
    }

    [Theory]
    [InlineData(1, 247)]
    [InlineData(4, 185)]
    [InlineData(16, 517)]
    [InlineData(32, 247)]
    public async Task Never_has_more_than_the_window_in_flight_and_the_image_arrives_byte_identical(int window, int mtu)
    {
        var (flash, server) = Device(window);
        var connection = new V2FaultConnection(server, mtu);
        var image = TestImages.Build(size: 60_000);

        await Send(connection, image);

        // Never past the bound, and pipelined: the device acknowledges every half window, so at least that many fly.
        Assert.InRange(connection.MaxInFlight, Math.Max(1, window / 2), window);
        AssertBoots(flash, server, image);
    }

    [Fact]
    public async Task Lost_packets_are_resent_from_the_offset_the_device_names()
    {
        var (flash, server) = Device(16);
        var connection = new V2FaultConnection(server, 247) { LoseDataWrites = { 5, 40, 41 } };
        var image = TestImages.Build(size: 40_000);

        await Send(connection, image);

        uint lost = connection.DataOffsets[5];
        Assert.True(connection.DataOffsets.Count(o => o == lost) >= 2, "the lost packet was never resent");
        Assert.True(connection.MaxInFlight <= 16);
        AssertBoots(flash, server, image);
    }

    [Fact]
    public async Task A_lost_acknowledgement_times_out_and_resends_from_the_last_acknowledged_offset()
    {
        var (flash, server) = Device(8);
        // Notification 0 is REQUEST_ACK; 1 the first DATA_ACK (after 4 packets); lose the next two.
        var connection = new V2FaultConnection(server, 247) { LoseNotifications = { 2, 3 } };
        var image = TestImages.Build(size: 30_000);

        await Send(connection, image);

        var offsets = connection.DataOffsets;
        Assert.Contains(offsets.Select((o, i) => (o, i)), p => offsets.Take(p.i).Contains(p.o)); // something was resent
        Assert.True(connection.MaxInFlight <= 8);
        AssertBoots(flash, server, image);
    }

    [Fact]
    public async Task After_a_drop_it_resumes_from_the_offset_the_device_reports()
    {
        var (flash, server) = Device(16);
        var image = TestImages.Build(size: 80_000);
        var first = new V2FaultConnection(server, 247) { DropAfterDataWrites = 100 };

        var error = await Assert.ThrowsAsync<OtaException>(() => Send(first, image));
        Assert.Equal(OtaErrorCode.Disconnected, error.Code);
        Assert.True(flash.IsUpdating, "a v2 update waits for its resume");

        var second = new V2FaultConnection(server, 247);
        await Send(second, image);

        Assert.True(second.DataOffsets[0] > 0, "did not start over");
        Assert.True(second.DataPayloadBytes < image.Length);
        AssertBoots(flash, server, image);
    }

    [Fact]
    public async Task A_compressed_stream_carries_fewer_bytes_and_inflates_to_the_identical_image()
    {
        var (flash, server) = Device(16, compression: true);
        var connection = new V2FaultConnection(server, 517);
        var image = TestImages.BuildCompressible(size: 100_000);

        await Send(connection, image, compress: true);

        Assert.True(connection.DataPayloadBytes < image.Length, $"{connection.DataPayloadBytes} bytes on air for {image.Length}");
        AssertBoots(flash, server, image);
    }

    [Fact]
    public async Task A_deflate_stream_reaching_further_than_8_KB_back_is_refused_at_DONE_as_the_device_refuses_it()
    {
        // 12 KB of random bytes three times over: DeflateStream's 32 KB window refers 12 KB back, which the firmware's
        // 8 KB tinfl buffer decodes to other bytes, so the SHA-256 at DONE does not match.
        var (flash, server) = Device(16, compression: true);
        var connection = new V2FaultConnection(server, 517);
        var image = TestImages.Build(size: 100_000);
        var noise = new byte[12 * 1024];
        new Random(3).NextBytes(noise);
        for (int copy = 0; copy < 3; copy++)
        {
            noise.CopyTo(image, 30_000 + copy * noise.Length);
        }

        var output = new MemoryStream();
        using (var deflate = new System.IO.Compression.DeflateStream(output, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(image);
        }

        var error = await Assert.ThrowsAsync<OtaException>(() =>
            new V2Client(Short).SendAsync(connection, image, output.ToArray(), true, 514, null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.ImageRejected, error.Code);
        Assert.Contains("ShaMismatch", error.Message);
        Assert.False(flash.IsUpdating);
        Assert.Equal(RestartAfterWrite.None, server.Restart);

        // The same bytes from BleOta's 8 KB encoder pass the SHA-256 check; only esp_ota_end's checksum, which the
        // overwritten bytes break, refuses them.
        var (_, server2) = Device(16, compression: true);
        var ours = await Assert.ThrowsAsync<OtaException>(() => Send(new V2FaultConnection(server2, 517), image, compress: true));
        Assert.Contains("ImageInvalid", ours.Message);
    }

    [Fact]
    public async Task Compression_to_a_device_without_it_is_refused_with_the_device_code()
    {
        var (flash, server) = Device(16, compression: false);
        var connection = new V2FaultConnection(server, 517);

        var error = await Assert.ThrowsAsync<OtaException>(() => Send(connection, TestImages.Build(), compress: true));

        Assert.Equal(OtaErrorCode.ProtocolNotSupported, error.Code);
        Assert.Contains("v2 error 22 Unsupported", error.Message);
        Assert.False(flash.IsUpdating);
    }

    [Theory]
    [InlineData(OtaOpcode.Request, "0.2")] // the device opens (and may erase) its slot before it answers REQUEST
    [InlineData(OtaOpcode.Done, "0.3")] // the device drains its writer and hashes the image before it answers DONE
    public async Task A_control_write_the_device_answers_after_flash_work_waits_that_steps_timeout(OtaOpcode unanswered, string seconds)
    {
        var (_, server) = Device(16);
        var connection = new V2FaultConnection(server, 247) { UnansweredWrites = { unanswered } };
        var timeouts = new OtaTimeouts { Write = TimeSpan.FromMilliseconds(100), Request = TimeSpan.FromMilliseconds(200), Done = TimeSpan.FromMilliseconds(300) };
        var image = TestImages.Build(size: 20_000);

        var error = await Assert.ThrowsAsync<OtaException>(() =>
            new V2Client(timeouts).SendAsync(connection, image, image, false, 514, null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.AckTimeout, error.Code);
        Assert.Contains($"within {seconds} s", error.Message);
    }

    [Fact]
    public async Task A_write_path_the_os_shut_while_the_link_still_looks_up_is_a_resumable_link_loss()
    {
        var (flash, server) = Device(16);
        var image = TestImages.Build(size: 60_000);
        var first = new V2FaultConnection(server, 247) { ShutWritePathAfterDataWrites = 50 };

        var error = await Assert.ThrowsAsync<OtaException>(() => Send(first, image));
        Assert.Equal(OtaErrorCode.Disconnected, error.Code);
        Assert.True(first.IsConnected, "the link itself still looked up");

        await Send(new V2FaultConnection(server, 247), image); // what OtaUpdater does next: reconnect and resume
        AssertBoots(flash, server, image);
    }
}
