using System.Security.Cryptography;
using BleOta.Engine.Compression;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Protocol;

/// <summary>
/// Protocol v2 (docs/protocol.md): announce size and SHA-256, stream offset-tagged packets without response
/// within the device's window, go back to the last acknowledged offset whenever the device asks or an
/// acknowledgement is overdue, and resume from the offset the device reports (the device is the truth).
/// </summary>
public sealed class V2Client(OtaTimeouts timeouts, TransferCounter? counter = null)
{
    /// <summary>Resends the device asks for in a row (OFFSET) without the acknowledged offset moving before the update is given up; a full ring is not counted.</summary>
    public const int MaxResendsWithoutProgress = 16;

    /// <summary>Acknowledgement waits in a row that run out without a word from the device before the update is given up.</summary>
    public const int MaxSilentAckTimeouts = 4;

    /// <summary>The first wait after the device said its ring was full; each full ring in a row doubles it, up to <see cref="RingFullMaxBackoff"/>.</summary>
    public static readonly TimeSpan RingFullBackoff = TimeSpan.FromMilliseconds(50);

    public static readonly TimeSpan RingFullMaxBackoff = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// How fast a device is assumed to write a patched image at the least (a 4 KB sector erased and programmed in
    /// about 50 ms typically, worst case several times that): the time a patch's last ring of bytes may take.
    /// </summary>
    public const double SlowestPatchedBytesPerSecond = 40_000;

    /// <summary>The write that fills two LL PDUs of the 251-byte data length exactly: 495 bytes plus ATT and L2CAP headers.</summary>
    public const int WholePduWrite = 2 * 251 - 3 - 4;

    /// <summary>
    /// Payload bytes per packet: the write size the link and the device allow, less the offset, but no more than
    /// fills whole LL PDUs at the usual data length: a 512-byte write needs a third, nearly empty PDU and its
    /// exchange (docs/link-model.md), a 495-byte one does not.
    /// </summary>
    public static int PayloadSizeFor(int mtu, int deviceMaxPacket)
    {
        int write = Math.Min(Math.Min(mtu - 3, deviceMaxPacket), V1Client.SeedMaxPacketSize);
        return (write > WholePduWrite ? WholePduWrite : write) - V2Messages.DataHeaderLength;
    }

    public static int PacketCount(long streamLength, int payload) => (int)((streamLength + payload - 1) / payload);

    /// <summary>
    /// Raw deflate (RFC 1951) reaching at most 8 KB back: what the firmware's tinfl inflates into its 8 KB buffer
    /// (Info feature bit 4), and what a device with a 32 KB window (bit 0) reads as well.
    /// </summary>
    public static byte[] Compress(ReadOnlySpan<byte> image) => WindowedDeflate.Compress(image);

    /// <summary>The bytes that go on air for this image: compressed when asked.</summary>
    public static byte[] StreamFor(ReadOnlyMemory<byte> image, bool compress) => compress ? Compress(image.Span) : image.ToArray();

    /// <summary>Sends <paramref name="stream"/> (the image, its deflate stream, or a delta patch when <paramref name="baseSha256"/> names the image it was made against) and waits for DONE_ACK.</summary>
    public async Task SendAsync(IBleConnection connection, ReadOnlyMemory<byte> image, ReadOnlyMemory<byte> stream, bool compressed, int deviceMaxPacket, IProgress<TransferProgress>? progress, CancellationToken cancellationToken, byte[]? baseSha256 = null)
    {
        var request = new V2Request(compressed, (uint)image.Length, (uint)stream.Length, SHA256.HashData(image.Span)) { BaseSha256 = baseSha256 };
        int payload = PayloadSizeFor(connection.Mtu, deviceMaxPacket);
        // A patch's last ring of bytes can stand for much of the image: the device may write for a while yet.
        var writerBudget = baseSha256 is null ? timeouts.Done : timeouts.Done + TimeSpan.FromSeconds(image.Length / SlowestPatchedBytesPerSecond);

        using var control = await NotificationInbox.SubscribeAsync(connection, OtaUuids.Control, cancellationToken).ConfigureAwait(false);
        try
        {
            // The device answers REQUEST once its slot is open (erased first unless it erases as data arrives).
            await GattWriter.SendAsync(connection, OtaUuids.Control, request.ToBytes(), WriteType.WithResponse, timeouts.Request, cancellationToken).ConfigureAwait(false);
            var reply = await ReceiveAsync(control, timeouts.Request, "REQUEST_ACK", cancellationToken, OtaOpcode.RequestAck, OtaOpcode.RequestNak).ConfigureAwait(false);
            if (reply.Opcode == OtaOpcode.RequestNak)
            {
                throw V2Messages.ToException(reply.Error, "at REQUEST");
            }

            using var transfer = new Transfer(connection, control, stream, payload, Math.Max(1, reply.Window), progress, timeouts, writerBudget, counter);
            await transfer.RunAsync(reply.Offset, cancellationToken).ConfigureAwait(false);

            // The device answers DONE only after it drained its writer and hashed what it wrote: the DONE timeout,
            // longer for a patch.
            await GattWriter.SendAsync(connection, OtaUuids.Control, V2Messages.Done, WriteType.WithResponse, writerBudget, cancellationToken).ConfigureAwait(false);
            reply = await ReceiveAsync(control, writerBudget, "DONE_ACK", cancellationToken, OtaOpcode.DoneAck, OtaOpcode.DoneNak).ConfigureAwait(false);
            if (reply.Opcode == OtaOpcode.DoneNak)
            {
                throw V2Messages.ToException(reply.Error, "at DONE");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped: free the device now rather than leave its update waiting for a resume.
            await TryAbortAsync(connection, control).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>ABORT, best effort within the write timeout: the link may already be gone, and dropping it aborts too.</summary>
    private async Task TryAbortAsync(IBleConnection connection, NotificationInbox control)
    {
        using var timeout = new CancellationTokenSource(timeouts.Write);
        try
        {
            await GattWriter.SendAsync(connection, OtaUuids.Control, V2Messages.Abort, WriteType.WithResponse, timeouts.Write, timeout.Token).ConfigureAwait(false);
            await ReceiveAsync(control, timeouts.Write, "ABORT_ACK", timeout.Token, OtaOpcode.AbortAck).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OtaException or OperationCanceledException or BleTransportException)
        {
            // Nothing more to do: without ABORT the device keeps the partial image only until a new REQUEST or a restart.
        }
    }

    private static async Task<V2Notification> ReceiveAsync(NotificationInbox inbox, TimeSpan timeout, string what, CancellationToken cancellationToken, params OtaOpcode[] expected)
    {
        while (true)
        {
            var value = await inbox.ReceiveAsync(timeout, what, cancellationToken).ConfigureAwait(false);
            if (V2Notification.TryParse(value, out var notification) && expected.Contains(notification.Opcode))
            {
                return notification;
            }
        }
    }

    /// <summary>
    /// The data phase: a window of packets in flight, acknowledged by offset. A full ring is back-pressure, not loss:
    /// the client waits (longer each time in a row), then probes with one packet, which the device acknowledges at
    /// once when it takes it, and gives up only when the device takes nothing for <paramref name="writerBudget"/>.
    /// </summary>
    private sealed class Transfer(IBleConnection connection, NotificationInbox control, ReadOnlyMemory<byte> stream, int payload, int window, IProgress<TransferProgress>? progress, OtaTimeouts timeouts, TimeSpan writerBudget, TransferCounter? counter) : IDisposable
    {
        // Reused for every packet: a transport consumes the value before its write completes.
        private readonly byte[] _packet = new byte[V2Messages.DataHeaderLength + payload];
        private readonly GattWriter _writer = new(connection, timeouts.Write);
        private readonly AckTimer _ackTimer = new(timeouts.Write);
        private readonly Queue<(uint End, long SentAt)> _inFlight = new(); // packets sent and not yet acknowledged; SentAt -1: a resend
        private readonly int _totalPackets = PacketCount(stream.Length, payload);
        private uint _acked;
        private uint _next;
        private uint _highestSent; // packets ending at or below it were sent before: their acknowledgements time nothing
        private bool _probing;          // after a full ring: one packet at a time until the device takes one
        private long? _ringFullSince;   // since when the device takes nothing because its ring is full; null while it takes packets
        private TimeSpan _backoff;

        public async Task RunAsync(uint resumeAt, CancellationToken cancellationToken)
        {
            uint total = (uint)stream.Length;
            _acked = _next = _highestSent = resumeAt;
            Report();
            int resends = 0;
            int silentTimeouts = 0;
            while (_acked < total)
            {
                while (_inFlight.Count < (_probing ? 1 : window) && _next < total)
                {
                    int n = (int)Math.Min((uint)payload, total - _next);
                    int length = V2Messages.WriteDataPacket(_packet, _next, stream.Span.Slice((int)_next, n));
                    await _writer.SendAsync(OtaUuids.Data, _packet.AsMemory(0, length), WriteType.WithoutResponse, cancellationToken).ConfigureAwait(false);
                    counter?.Add(length);
                    _next += (uint)n;
                    _inFlight.Enqueue((_next, _next > _highestSent ? connection.Clock.GetTimestamp() : -1));
                    _highestSent = Math.Max(_highestSent, _next);
                }

                V2Notification note;
                try
                {
                    note = await ReceiveAsync(control, _ackTimer.Timeout, "DATA_ACK", cancellationToken, OtaOpcode.DataAck, OtaOpcode.DoneNak).ConfigureAwait(false);
                }
                catch (OtaException ex) when (ex.Code == OtaErrorCode.AckTimeout && ++silentTimeouts < MaxSilentAckTimeouts)
                {
                    _ackTimer.Expired();
                    ResendFrom(_acked); // packets or their acknowledgement were lost
                    continue;
                }

                silentTimeouts = 0;
                if (note.Opcode == OtaOpcode.DoneNak)
                {
                    throw V2Messages.ToException(note.Error, "while receiving");
                }

                if (note.Error == V2Error.Ok)
                {
                    if (note.Offset > _acked)
                    {
                        _acked = note.Offset;
                        resends = 0;
                        _probing = false;
                        _ringFullSince = null;
                        Report();
                    }

                    Acknowledge();
                    if (_next < _acked)
                    {
                        ResendFrom(_acked); // the device is ahead of us (a resumed or duplicated stream)
                    }

                    continue;
                }

                if (note.Offset > _acked)
                {
                    // The device took packets before it asked: that is progress.
                    _acked = note.Offset;
                    resends = 0;
                    _ringFullSince = null;
                    Report();
                }

                if (note.Error == V2Error.RingFull)
                {
                    await WaitForRingAsync(cancellationToken).ConfigureAwait(false);
                }
                else if (++resends > MaxResendsWithoutProgress)
                {
                    throw new OtaException(OtaErrorCode.AckTimeout,
                        $"The device kept asking to resend from offset {note.Offset} ({note.Error}); the link loses too many packets. Move closer and retry.");
                }

                ResendFrom(_acked); // the device's offset is the truth; a stale one never goes back
            }
        }

        /// <summary>The device's writer is behind (flash erases, or a patch it is applying): wait, then probe.</summary>
        private async Task WaitForRingAsync(CancellationToken cancellationToken)
        {
            if (_ringFullSince is null)
            {
                _ringFullSince = connection.Clock.GetTimestamp();
                _backoff = RingFullBackoff;
            }
            else if (connection.Clock.GetElapsedTime(_ringFullSince.Value) > writerBudget)
            {
                throw new OtaException(OtaErrorCode.AckTimeout,
                    $"The device's receive buffer stayed full for {writerBudget.TotalSeconds:0} s: it stopped writing its flash. It keeps its current firmware; restart it and retry.");
            }
            else
            {
                _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, RingFullMaxBackoff.Ticks));
            }

            await Task.Delay(_backoff, connection.Clock, cancellationToken).ConfigureAwait(false);
            _probing = true;
        }

        /// <summary>Drops the acknowledged packets, timing the round trip of the newest one that was sent only once.</summary>
        private void Acknowledge()
        {
            long sentAt = -1;
            while (_inFlight.Count > 0 && _inFlight.Peek().End <= _acked)
            {
                sentAt = _inFlight.Dequeue().SentAt;
            }

            if (sentAt >= 0)
            {
                _ackTimer.Measured(connection.Clock.GetElapsedTime(sentAt));
            }
        }

        private void ResendFrom(uint offset)
        {
            _next = offset;
            _inFlight.Clear();
        }

        public void Dispose() => _writer.Dispose();

        private void Report() => progress?.Report(new TransferProgress(_acked, stream.Length, PacketCount(_acked, payload), _totalPackets));
    }
}
