using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;

namespace BleOta.Tests.Protocol;

public class V1ClientTests
{
    private static readonly OtaTimeouts Short = OtaTimeouts.All(TimeSpan.FromMilliseconds(300));

    [Theory]
    [InlineData(23, 20)]
    [InlineData(185, 182)]
    [InlineData(256, 253)]
    [InlineData(515, 512)]
    [InlineData(517, 512)]
    public async Task Speaks_the_seed_protocol_byte_for_byte(int mtu, int packetSize)
    {
        var image = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray();
        var connection = new RecordingConnection(mtu);

        await new V1Client(Short).SendAsync(connection, image, null, CancellationToken.None);

        var log = connection.Log;
        Assert.Equal(("write", OtaUuids.Data), (log[0].Operation, log[0].Characteristic));
        Assert.Equal(new[] { (byte)(packetSize & 0xFF), (byte)(packetSize >> 8) }, log[0].Value);
        Assert.Equal(("subscribe", OtaUuids.Control), (log[1].Operation, log[1].Characteristic));
        Assert.Equal(new byte[] { 0x01 }, log[2].Value);
        Assert.Equal(OtaUuids.Control, log[2].Characteristic);

        var chunks = log.Skip(3).Take(log.Count - 4).ToList();
        Assert.All(chunks, c => Assert.Equal((OtaUuids.Data, WriteType.WithResponse), (c.Characteristic, c.Type!.Value)));
        Assert.Equal((3000 + packetSize - 1) / packetSize, chunks.Count);
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(packetSize, c.Value.Length));
        Assert.Equal(image, chunks.SelectMany(c => c.Value).ToArray());

        Assert.Equal(OtaUuids.Control, log[^1].Characteristic);
        Assert.Equal(new byte[] { 0x04 }, log[^1].Value);
        Assert.All(log.Where(l => l.Operation == "write"), l => Assert.Equal(WriteType.WithResponse, l.Type));
    }

    [Fact]
    public async Task Reports_progress_per_acknowledged_packet()
    {
        var reports = new List<TransferProgress>();
        var connection = new RecordingConnection(23);

        await new V1Client(Short).SendAsync(connection, new byte[45], new SyncProgress<TransferProgress>(reports.Add), CancellationToken.None);

        Assert.Equal([new(20, 45, 1, 3), new(40, 45, 2, 3), new(45, 45, 3, 3)], reports);
    }

    [Fact]
    public async Task A_request_nak_fails_before_any_image_byte_is_sent()
    {
        var connection = new RecordingConnection(100);
        connection.Replies[OtaOpcode.Request] = OtaOpcode.RequestNak;

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(Short).SendAsync(connection, new byte[500], null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.RequestRejected, error.Code);
        Assert.Equal(3, connection.Log.Count);
    }

    [Fact]
    public async Task A_done_nak_reports_the_image_rejected()
    {
        var connection = new RecordingConnection(100);
        connection.Replies[OtaOpcode.Done] = OtaOpcode.DoneNak;

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(Short).SendAsync(connection, new byte[500], null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.ImageRejected, error.Code);
        Assert.Contains("keeps its current firmware", error.Message);
    }

    [Theory]
    [InlineData(OtaOpcode.Request, "REQUEST_ACK")]
    [InlineData(OtaOpcode.Done, "DONE_ACK")]
    public async Task Silence_times_out_with_what_was_awaited(OtaOpcode silentAfter, string awaited)
    {
        var connection = new RecordingConnection(100);
        connection.Replies.Remove(silentAfter);

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(Short).SendAsync(connection, new byte[500], null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.AckTimeout, error.Code);
        Assert.Contains(awaited, error.Message);
    }

    [Fact]
    public async Task A_disconnect_while_waiting_fails_at_once_not_after_the_timeout()
    {
        var connection = new RecordingConnection(100);
        connection.Replies.Remove(OtaOpcode.Request);
        var slow = OtaTimeouts.All(TimeSpan.FromMinutes(5));

        var send = new V1Client(slow).SendAsync(connection, new byte[500], null, CancellationToken.None);
        connection.Drop();
        var error = await Assert.ThrowsAsync<OtaException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(OtaErrorCode.Disconnected, error.Code);
    }

    [Theory]
    [InlineData(OtaOpcode.Request, "0.2")] // a device that erases its whole slot before it answers REQUEST
    [InlineData(OtaOpcode.Done, "0.3")] // the tutorial's firmware validates the image before it answers DONE
    public async Task A_control_write_the_device_answers_after_flash_work_waits_that_steps_timeout(OtaOpcode unanswered, string seconds)
    {
        var timeouts = new OtaTimeouts { Write = TimeSpan.FromMilliseconds(100), Request = TimeSpan.FromMilliseconds(200), Done = TimeSpan.FromMilliseconds(300) };
        var connection = new RecordingConnection(100) { UnansweredWrites = { unanswered } };

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(timeouts).SendAsync(connection, new byte[500], null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.AckTimeout, error.Code);
        Assert.Contains($"within {seconds} s", error.Message);
    }
}
