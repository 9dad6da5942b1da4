using System.Security.Cryptography;
using BleOta.Engine.Protocol;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

/// <summary>The simulated BleOta firmware answers bad input as the firmware's C core does (firmware/README.md).</summary>
public class BleOtaFirmwareModelTests
{
    private static (BleOtaFirmwareModel Server, SimulatedFlash Flash) NewServer(int slotSize = SimulatedDevice.DefaultSlotSize)
    {
        var flash = new SimulatedFlash(slotSize, SampleImages.Factory);
        var server = new BleOtaFirmwareModel(flash, DeviceFaults.None, maxPacketSize: 512);
        server.OnConnect(517);
        return (server, flash);
    }

    private static void Start(BleOtaFirmwareModel server)
    {
        Assert.Equal(OtaAttError.None, server.OnDataWrite([0x00, 0x02]));
        Assert.Equal(OtaAttError.None, server.OnControlWrite([(byte)OtaOpcode.Request]));
        Assert.Equal(new byte[] { (byte)OtaOpcode.RequestAck }, server.Notifications.Dequeue());
    }

    [Fact]
    public void Data_before_request_is_refused_as_wrong_state()
    {
        var (server, flash) = NewServer();
        Assert.Equal(OtaAttError.WrongState, server.OnDataWrite(new byte[100]));
        Assert.False(flash.IsUpdating);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(513)]
    public void A_packet_size_it_cannot_buffer_is_refused(int size)
    {
        var (server, _) = NewServer();
        Assert.Equal(OtaAttError.ValueNotAllowed, server.OnDataWrite([(byte)size, (byte)(size >> 8)]));
    }

    [Fact]
    public void A_packet_longer_than_announced_aborts_the_update()
    {
        var (server, flash) = NewServer();
        Start(server);
        var packet = new byte[513];
        packet[0] = 0xE9;
        Assert.Equal(OtaAttError.InvalidAttributeValueLength, server.OnDataWrite(packet));
        Assert.False(flash.IsUpdating);
    }

    [Fact]
    public void Data_that_is_not_an_app_image_is_dropped_and_done_answers_done_nak()
    {
        var (server, flash) = NewServer();
        Start(server);
        Assert.Equal(OtaAttError.None, server.OnDataWrite(new byte[512]));
        Assert.False(flash.IsUpdating); // the slot is released at once
        var image = new byte[512];
        image[0] = 0xE9;
        Assert.Equal(OtaAttError.None, server.OnDataWrite(image));
        Assert.Equal(0, flash.Written);
        Assert.Equal(OtaAttError.None, server.OnControlWrite([(byte)OtaOpcode.Done]));
        Assert.Equal(new byte[] { (byte)OtaOpcode.DoneNak }, server.Notifications.Dequeue());
        Assert.Equal(RestartAfterWrite.None, server.Restart);
    }

    [Fact]
    public void An_image_growing_past_the_slot_is_never_written_past_it_and_done_answers_done_nak()
    {
        var (server, flash) = NewServer(slotSize: 256 * 1024);
        Start(server);
        var packet = new byte[512];
        packet[0] = 0xE9;
        for (int i = 0; i <= 512; i++)
        {
            Assert.Equal(OtaAttError.None, server.OnDataWrite(packet));
            packet[0] = 0;
            Assert.InRange(flash.Written, 0, 256 * 1024);
        }

        Assert.False(flash.IsUpdating);
        Assert.Equal(OtaAttError.None, server.OnControlWrite([(byte)OtaOpcode.Done]));
        Assert.Equal(new byte[] { (byte)OtaOpcode.DoneNak }, server.Notifications.Dequeue());
    }

    [Fact]
    public void Done_while_idle_is_refused_without_a_notification()
    {
        var (server, _) = NewServer();
        Assert.Equal(OtaAttError.WrongState, server.OnControlWrite([(byte)OtaOpcode.Done]));
        Assert.Empty(server.Notifications);
    }

    [Fact]
    public void Done_before_any_data_is_nakked_and_aborts()
    {
        var (server, flash) = NewServer();
        Start(server);
        Assert.Equal(OtaAttError.None, server.OnControlWrite([(byte)OtaOpcode.Done]));
        Assert.Equal(new byte[] { (byte)OtaOpcode.DoneNak }, server.Notifications.Dequeue());
        Assert.False(flash.IsUpdating);
    }

    [Fact]
    public void A_second_request_starts_over_cleanly()
    {
        var (server, flash) = NewServer();
        Start(server);
        var packet = new byte[512];
        packet[0] = 0xE9;
        server.OnDataWrite(packet);
        Assert.Equal(OtaAttError.None, server.OnControlWrite([(byte)OtaOpcode.Request]));
        Assert.Equal(new byte[] { (byte)OtaOpcode.RequestAck }, server.Notifications.Dequeue());
        Assert.Equal(0, flash.Written);
    }

    [Fact]
    public void An_unknown_opcode_is_refused()
    {
        var (server, _) = NewServer();
        Assert.Equal(OtaAttError.UnknownOpcode, server.OnControlWrite([0x42]));
    }

    [Fact]
    public void A_v2_acknowledgement_waits_until_the_ring_has_room_for_a_whole_window()
    {
        bool room = true;
        var (server, image) = StartedV2Update(window: 4, bytes => bytes <= 512 || room); // every packet fits; a window of them only while room

        Send(server, image, 0, 2); // half a window: acknowledged at once
        Assert.Equal(new V2Notification(OtaOpcode.DataAck, V2Error.Ok, 4, 2 * 400), Next(server));

        room = false;
        Send(server, image, 2, 2);
        Assert.Empty(server.Notifications);
        Assert.True(server.HoldsAck);
        server.OnStreamRoom(); // the writer freed some, not enough
        Assert.Empty(server.Notifications);

        room = true;
        server.OnStreamRoom();
        Assert.Equal(new V2Notification(OtaOpcode.DataAck, V2Error.Ok, 4, 4 * 400), Next(server));
        Assert.False(server.HoldsAck);
    }

    [Fact]
    public void Every_packet_a_full_ring_refuses_is_answered_and_the_first_one_taken_after_is_acknowledged_at_once()
    {
        // As ble_ota_core.c data_v2: RING_FULL answered every time, so a client can probe with one packet, and that
        // probe (ack_next) acknowledged as soon as the writer has room, not after half a window more.
        bool full = false;
        var (server, image) = StartedV2Update(window: 8, _ => !full);

        Send(server, image, 0, 1);
        Assert.Empty(server.Notifications); // one packet of a window of 8: no acknowledgement yet
        full = true;
        Send(server, image, 1, 1);
        Assert.Equal(new V2Notification(OtaOpcode.DataAck, V2Error.RingFull, 8, 400), Next(server));
        Send(server, image, 1, 1); // the client's probe, still too early
        Assert.Equal(new V2Notification(OtaOpcode.DataAck, V2Error.RingFull, 8, 400), Next(server));

        full = false;
        Send(server, image, 1, 1); // the probe the writer has room for
        Assert.Equal(new V2Notification(OtaOpcode.DataAck, V2Error.Ok, 8, 2 * 400), Next(server));
    }

    [Theory]
    [InlineData(true, 0, 2, false)] // the image's appended SHA-256 covers every byte: esp_ota_end and set_boot read it, no read-back
    [InlineData(false, 0, 3, false)] // no appended hash: the slot is read back first
    [InlineData(true, 4096, 3, false)] // bytes after the hash, where a signature sector goes: read back too
    [InlineData(true, 0, 3, true)] // the firmware before: every image read back
    public void A_v2_done_reads_the_image_back_only_when_its_appended_hash_does_not_cover_every_byte(bool appendSha256, int trailing, int passes, bool before)
    {
        var flash = new SimulatedFlash(SimulatedDevice.DefaultSlotSize, SampleImages.Factory);
        var server = new BleOtaFirmwareModel(flash, DeviceFaults.None, maxPacketSize: 512, window: 16, readsImageBackAtDone: before);
        server.OnConnect(517);
        byte[] image = [.. TestImages.Build(size: 20_000, appendSha256: appendSha256), .. new byte[trailing]];
        server.OnControlWrite(new V2Request(false, (uint)image.Length, (uint)image.Length, SHA256.HashData(image)).ToBytes());
        for (int at = 0; at < image.Length; at += 400)
        {
            var packet = V2Messages.DataPacket((uint)at, image.AsSpan(at, Math.Min(400, image.Length - at)));
            Assert.Equal(OtaAttError.None, server.OnDataWrite(packet));
        }

        server.Notifications.Clear();
        Assert.Equal(OtaAttError.None, server.OnControlWrite(V2Messages.Done));

        Assert.Equal(OtaOpcode.DoneAck, Next(server).Opcode);
        Assert.Equal((long)passes * image.Length, server.LastWork.HashedBytes);
    }

    /// <summary>v2 data packets of 400 bytes, <paramref name="count"/> of them from packet <paramref name="first"/>.</summary>
    /// <summary>A v2 firmware model that has answered the REQUEST for a 20,000-byte image, its ring's room asked of <paramref name="room"/>.</summary>
    private static (BleOtaFirmwareModel Server, byte[] Image) StartedV2Update(int window, Func<int, bool> room)
    {
        var flash = new SimulatedFlash(SimulatedDevice.DefaultSlotSize, SampleImages.Factory);
        var server = new BleOtaFirmwareModel(flash, DeviceFaults.None, maxPacketSize: 512, window: window) { StreamRoom = room };
        server.OnConnect(517);
        var image = TestImages.Build(size: 20_000);
        server.OnControlWrite(new V2Request(false, (uint)image.Length, (uint)image.Length, SHA256.HashData(image)).ToBytes());
        server.Notifications.Clear();
        return (server, image);
    }

    private static void Send(BleOtaFirmwareModel server, byte[] image, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            Assert.Equal(OtaAttError.None, server.OnDataWrite(V2Messages.DataPacket((uint)(i * 400), image.AsSpan(i * 400, 400))));
        }
    }

    private static V2Notification Next(BleOtaFirmwareModel server)
    {
        Assert.True(V2Notification.TryParse(server.Notifications.Dequeue(), out var notification));
        return notification;
    }
}
