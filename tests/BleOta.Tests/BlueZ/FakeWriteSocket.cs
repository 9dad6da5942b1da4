using System.Net.Sockets;
using System.Runtime.InteropServices;
using BleOta.Engine.Transport;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// bluetoothd's end of an AcquireWrite socket (bluez src/gatt-client.c create_sock): a SOCK_SEQPACKET pair whose
/// other end goes to the client; each packet read from it (sock_read, into a 512-byte buffer) is sent as one ATT
/// Write Command. The client closing its end releases the characteristic (sock_hup, destroy_sock: WriteAcquired
/// turns false); the link dropping shuts it from this side (btd_gatt_client_disconnected, io_shutdown), so the
/// client's next send fails.
/// </summary>
internal sealed class FakeWriteSocket : IDisposable
{
    private readonly Socket _ours;
    private int _shut;

    private FakeWriteSocket(Socket ours) => _ours = ours;

    /// <summary>A new pair: this end, and the client's end to pass in the AcquireWrite reply.</summary>
    public static FakeWriteSocket Create(out SafeSocketHandle theirs)
    {
        var ends = new int[2];
        if (socketpair(1 /* AF_UNIX */, 5 /* SOCK_SEQPACKET */, 0, ends) != 0)
        {
            throw new BleTransportException($"socketpair failed ({Marshal.GetLastPInvokeError()})");
        }

        theirs = new SafeSocketHandle(ends[1], ownsHandle: true);
        return new FakeWriteSocket(new Socket(new SafeSocketHandle(ends[0], ownsHandle: true)));
    }

    /// <summary>Reads packets until the client closes its end (then <paramref name="released"/>) or the link shuts it.</summary>
    public void Start(Action<byte[]> packet, Action released) => _ = Task.Run(async () =>
    {
        var buffer = new byte[512];
        try
        {
            int n;
            while ((n = await _ours.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                packet(buffer[..n]);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return; // shut by the link's end
        }

        if (Volatile.Read(ref _shut) == 0)
        {
            released();
        }

        Dispose();
    });

    /// <summary>The link dropped: bluetoothd shuts its end, so the client's sends fail from now on.</summary>
    public void Shut()
    {
        Interlocked.Exchange(ref _shut, 1);
        Dispose();
    }

    public void Dispose() => _ours.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int socketpair(int domain, int type, int protocol, int[] sv);
}
