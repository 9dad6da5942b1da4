using System.Buffers.Binary;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Protocol;

/// <summary>
/// The seed protocol, byte for byte, so firmware built from the tutorial keeps updating:
/// packet size to Data, subscribe to Control, REQUEST, acknowledged chunks, DONE. The answer to DONE is its
/// notification, whatever happens to the DONE write and the link afterwards.
/// </summary>
public sealed class V1Client(OtaTimeouts timeouts, TransferCounter? counter = null)
{
    /// <summary>The seed firmware stores each packet in a 512-byte buffer; a larger write is refused.</summary>
    public const int SeedMaxPacketSize = 512;

    /// <summary>The chunk size the seed client uses on a link with this MTU.</summary>
    public static int PacketSizeFor(int mtu) => Math.Min(mtu - 3, SeedMaxPacketSize);

    public static int PacketCount(long imageLength, int packetSize) => (int)((imageLength + packetSize - 1) / packetSize);

    public async Task SendAsync(IBleConnection connection, ReadOnlyMemory<byte> image, IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        int packetSize = PacketSizeFor(connection.Mtu);
        int totalPackets = PacketCount(image.Length, packetSize);

        var sizeBytes = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(sizeBytes, (ushort)packetSize);
        await WriteAsync(connection, OtaUuids.Data, sizeBytes, timeouts.Write, cancellationToken).ConfigureAwait(false);
        counter?.Add(sizeBytes.Length);

        using var control = await NotificationInbox.SubscribeAsync(connection, OtaUuids.Control, cancellationToken).ConfigureAwait(false);

        // The device answers REQUEST only once its slot is open, which may mean erasing all of it first.
        await WriteAsync(connection, OtaUuids.Control, new byte[] { (byte)OtaOpcode.Request }, timeouts.Request, cancellationToken).ConfigureAwait(false);
        var reply = await ReceiveOpcodeAsync(control, timeouts.Request, "REQUEST_ACK", OtaOpcode.RequestAck, OtaOpcode.RequestNak, cancellationToken).ConfigureAwait(false);
        if (reply == OtaOpcode.RequestNak)
        {
            throw new OtaException(OtaErrorCode.RequestRejected,
                "The device refused the update request (REQUEST_NAK): it could not open its OTA partition. Check its log; restart it and try again.");
        }

        for (int packet = 0; packet < totalPackets; packet++)
        {
            int offset = packet * packetSize;
            var chunk = image.Slice(offset, Math.Min(packetSize, image.Length - offset));
            await WriteAsync(connection, OtaUuids.Data, chunk, timeouts.Write, cancellationToken).ConfigureAwait(false);
            counter?.Add(chunk.Length);
            progress?.Report(new TransferProgress(offset + chunk.Length, image.Length, packet + 1, totalPackets));
        }

        OtaException? doneUnanswered = null;
        try
        {
            await WriteAsync(connection, OtaUuids.Control, new byte[] { (byte)OtaOpcode.Done }, timeouts.Done, cancellationToken).ConfigureAwait(false);
        }
        catch (OtaException ex) when (ex.Code == OtaErrorCode.AckTimeout || ex.InnerException is BleTransportException)
        {
            // No write response, and no ATT error either (that would be the device's answer): the tutorial's firmware
            // notifies DONE_ACK, then restarts inside its write handler (gatt_svr.c, update_ota_control), so the link
            // drops instead. Its DONE_ACK, if it came, is already in the inbox.
            doneUnanswered = ex;
        }

        try
        {
            reply = await ReceiveOpcodeAsync(control, timeouts.Done, "DONE_ACK", OtaOpcode.DoneAck, OtaOpcode.DoneNak, cancellationToken).ConfigureAwait(false);
        }
        catch (OtaException ex) when (ex.Code is OtaErrorCode.Disconnected or OtaErrorCode.AckTimeout)
        {
            // The whole image is on the device: it may have accepted it and restarted before its answer got out.
            throw new OtaException(ex.Code,
                $"{ex.Message} The whole image was sent, so the device may have accepted it and restarted: it runs either its old firmware or the new one, never a partial image. Scan again to see its version.", doneUnanswered ?? ex);
        }

        if (reply == OtaOpcode.DoneNak)
        {
            throw new OtaException(OtaErrorCode.ImageRejected,
                "The device rejected the image after receiving it (DONE_NAK): it failed the device's validation (damaged in transit, wrong chip, or unsigned where signatures are required), or the device could not make it the boot image. The device keeps its current firmware; send the image again.");
        }
    }

    private static Task WriteAsync(IBleConnection connection, Guid characteristic, ReadOnlyMemory<byte> value, TimeSpan timeout, CancellationToken cancellationToken) =>
        GattWriter.SendAsync(connection, characteristic, value, WriteType.WithResponse, timeout, cancellationToken);

    private static async Task<OtaOpcode> ReceiveOpcodeAsync(NotificationInbox inbox, TimeSpan timeout, string what, OtaOpcode ack, OtaOpcode nak, CancellationToken cancellationToken)
    {
        // The seed notifies only ACK/NAK here, but a NOP or a stale value must not be taken for an answer.
        while (true)
        {
            var value = await inbox.ReceiveAsync(timeout, what, cancellationToken).ConfigureAwait(false);
            if (value.Length == 1 && (value[0] == (byte)ack || value[0] == (byte)nak))
            {
                return (OtaOpcode)value[0];
            }
        }
    }
}
