namespace BleOta.Transport.Simulated;

/// <summary>
/// The timing of a device that streams unacknowledged writes into a ring buffer drained by a flash-writer
/// task (timing only; what the packets mean is the server's business). Reception and flash work overlap; the
/// buffer bounds how far the radio may run ahead of the flash. The client learns of freed space through a
/// notification (credit), one notification latency after the writer freed it, so a full buffer stalls the
/// radio until then.
/// </summary>
internal sealed class ReceiveBuffer(LinkProfile profile)
{
    private readonly Queue<(TimeSpan Written, int Bytes)> _held = new();
    private int _heldBytes;
    private TimeSpan _writerFreeAt;

    /// <summary>Flash work still queued at <paramref name="now"/>: a device that must finish it first answers this much later.</summary>
    public TimeSpan Backlog(TimeSpan now) => _writerFreeAt > now ? _writerFreeAt - now : TimeSpan.Zero;

    /// <summary>
    /// One unacknowledged write of <paramref name="bytes"/> sent at <paramref name="now"/> that costs the writer
    /// task <paramref name="flashWork"/>. Returns the link time until it is on the device, stall included.
    /// </summary>
    public TimeSpan Accept(TimeSpan now, int bytes, TimeSpan flashWork)
    {
        var send = now;
        ReleaseCredited(send);
        while (_heldBytes + bytes > profile.ReceiveBufferBytes && _held.Count > 0)
        {
            // Full: the radio waits for the credit that frees the oldest packet.
            var credited = _held.Peek().Written + profile.NotificationLatency;
            if (credited > send)
            {
                send = credited;
            }

            ReleaseCredited(send);
        }

        var arrived = send + profile.UnacknowledgedWriteTime(bytes);
        _writerFreeAt = (_writerFreeAt > arrived ? _writerFreeAt : arrived) + flashWork;
        _held.Enqueue((_writerFreeAt, bytes));
        _heldBytes += bytes;
        return arrived - now;
    }

    private void ReleaseCredited(TimeSpan now)
    {
        while (_held.Count > 0 && _held.Peek().Written + profile.NotificationLatency <= now)
        {
            _heldBytes -= _held.Dequeue().Bytes;
        }
    }
}
