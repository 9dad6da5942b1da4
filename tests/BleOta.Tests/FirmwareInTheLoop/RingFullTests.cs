using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.FirmwareInTheLoop;

/// <summary>
/// A device whose flash writer stalls while packets keep coming (long erases, or a delta patch that expands into
/// much flash work): its ring fills and it answers RING_FULL. The client must wait and probe with single packets
/// rather than resend its whole window each time, and finish once the writer moves again.
/// </summary>
public sealed class RingFullTests
{
    private const int Window = 16;

    [SkippableFact]
    public async Task A_stalled_writer_gets_one_probe_per_wait_and_the_update_finishes_when_it_moves_again()
    {
        Skip.IfNot(HostFirmwareSupport.IsAvailable(), HostFirmwareSupport.NotBuilt);
        using var transport = new HostFirmwareTransport();
        var device = transport.AddDevice();
        device.SetRingSize(4096); // 8 packets
        device.SetWriterPaused(true);
        await using var link = await transport.ConnectAsync(device.Address, CancellationToken.None);
        await link.RequestMtuAsync(517, CancellationToken.None);
        var connection = new StallingDevice(link, () => device.SetWriterPaused(false), ringFullsBeforeTheWriterMoves: 4);
        var image = TestImages.Build(size: 60_000);

        await new V2Client(OtaTimeouts.All(TimeSpan.FromSeconds(5))).SendAsync(connection, image, image, false, 512, null, CancellationToken.None);

        Assert.Equal(4, connection.RingFulls);
        Assert.True(connection.WritesWhileFull <= Window + connection.RingFulls,
            $"{connection.WritesWhileFull} packets sent into a full ring for {connection.RingFulls} RING_FULLs: the client resent its window instead of probing");
        Assert.Equal(image, device.ReadRunningImage()); // DONE_ACK came, and the device restarted into it
    }

    /// <summary>Counts the RING_FULLs the device sends and the packets written while its ring is full; restarts its writer after a few.</summary>
    private sealed class StallingDevice(IBleConnection inner, Action restartWriter, int ringFullsBeforeTheWriterMoves) : ForwardingConnection(inner)
    {
        private bool _stalled;

        public int RingFulls { get; private set; }

        public int WritesWhileFull { get; private set; }

        public override Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
        {
            if (characteristic == OtaUuids.Data && _stalled)
            {
                WritesWhileFull++;
            }

            return base.WriteAsync(characteristic, value, writeType, cancellationToken);
        }

        public override Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken) =>
            base.SubscribeAsync(characteristic, value =>
            {
                if (V2Notification.TryParse(value, out var note) && note.Error == V2Error.RingFull && ++RingFulls == ringFullsBeforeTheWriterMoves)
                {
                    restartWriter();
                    _stalled = false;
                }
                else if (RingFulls > 0 && RingFulls < ringFullsBeforeTheWriterMoves)
                {
                    _stalled = true;
                }

                onNotification(value);
            }, cancellationToken);
    }
}
