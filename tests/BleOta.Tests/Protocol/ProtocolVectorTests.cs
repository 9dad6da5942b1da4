using BleOta.Engine.Protocol;
using BleOta.Tests.Support;

namespace BleOta.Tests.Protocol;

/// <summary>The C# side of docs/protocol-vectors.txt: what the client encodes and how it reads the device.</summary>
public class ProtocolVectorTests
{
    private static readonly byte[] Sha = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    public static TheoryData<string, V2Request> Requests => new()
    {
        { "request.raw", new V2Request(false, 74565, 74565, Sha) },
        { "request.deflate", new V2Request(true, 1_048_576, 524_288, Sha) },
    };

    public static TheoryData<string, V2Notification> Notifications => new()
    {
        { "request_ack.start", new(OtaOpcode.RequestAck, V2Error.Ok, 16, 0) },
        { "request_ack.resume", new(OtaOpcode.RequestAck, V2Error.Ok, 16, 4096) },
        { "request_nak.busy", new(OtaOpcode.RequestNak, V2Error.Busy, 16, 0) },
        { "request_nak.unsupported", new(OtaOpcode.RequestNak, V2Error.Unsupported, 16, 0) },
        { "data_ack.ok", new(OtaOpcode.DataAck, V2Error.Ok, 16, 4064) },
        { "data_ack.gap", new(OtaOpcode.DataAck, V2Error.Offset, 16, 2032) },
        { "data_ack.ring_full", new(OtaOpcode.DataAck, V2Error.RingFull, 16, 2032) },
        { "done_ack", new(OtaOpcode.DoneAck, V2Error.Ok, 16, 74565) },
        { "done_nak.sha", new(OtaOpcode.DoneNak, V2Error.ShaMismatch, 16, 74565) },
        { "abort_ack", new(OtaOpcode.AbortAck, V2Error.Ok, 16, 0) },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Requests_encode_and_decode_byte_exact(string name, V2Request request)
    {
        var bytes = ProtocolVectors.Get(name);

        Assert.Equal(bytes, request.ToBytes());
        Assert.Equal(request, V2Request.TryParse(bytes, out _));
    }

    [Theory]
    [MemberData(nameof(Notifications))]
    public void Notifications_encode_and_decode_byte_exact(string name, V2Notification notification)
    {
        var bytes = ProtocolVectors.Get(name);

        Assert.True(V2Notification.TryParse(bytes, out var parsed));
        Assert.Equal(notification, parsed);
        Assert.Equal(bytes, notification.ToBytes());
    }

    [Fact]
    public void Short_messages_and_data_packets_are_byte_exact()
    {
        Assert.Equal(ProtocolVectors.Get("done"), V2Messages.Done);
        Assert.Equal(ProtocolVectors.Get("abort"), V2Messages.Abort);
        Assert.Equal(ProtocolVectors.Get("data.offset504"), V2Messages.DataPacket(504, new byte[] { 0xE9, 0x01, 0x02, 0x03 }));
    }

    [Fact]
    public void One_byte_v1_values_are_never_read_as_v2_notifications()
    {
        Assert.False(V2Notification.TryParse(new byte[] { (byte)OtaOpcode.RequestAck }, out _));
        Assert.Null(V2Request.TryParse(new byte[] { 0x01 }, out _));
    }
}
