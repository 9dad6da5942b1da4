using System.Net.Sockets;
using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// The socket <c>GattCharacteristic1.AcquireWrite</c> hands out (bluez src/gatt-client.c, create_sock): each
/// packet sent on it is one ATT Write Command, with no D-Bus round trip, and its reply carries the ATT MTU, the
/// only place BlueZ before 5.62 reports it. While it is held bluetoothd refuses WriteValue on the characteristic
/// ("Write acquired"), and when the link drops bluetoothd shuts it (btd_gatt_client_disconnected) on its own,
/// apart from turning Device1.Connected false.
/// </summary>
internal sealed class BlueZWriteSocket : IDisposable
{
    /// <summary>How long a release waits for bluetoothd to notice the closed socket before WriteValue is tried.</summary>
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(2);

    private readonly BlueZBus _bus;
    private readonly Socket _socket;

    private BlueZWriteSocket(BlueZBus bus, string characteristicPath, Socket socket, int mtu)
    {
        _bus = bus;
        CharacteristicPath = characteristicPath;
        _socket = socket;
        Mtu = mtu;
    }

    public string CharacteristicPath { get; }

    /// <summary>The ATT MTU of the link, as the AcquireWrite reply gave it.</summary>
    public int Mtu { get; }

    /// <summary>Acquires the characteristic's write socket; null where bluetoothd has none to give (the reply says why).</summary>
    public static async Task<BlueZWriteSocket?> AcquireAsync(BlueZBus bus, string characteristicPath)
    {
        try
        {
            var (handle, mtu) = await bus.CallAsync(characteristicPath, BlueZNames.GattCharacteristic, "AcquireWrite", (m, _) =>
            {
                var reader = m.GetBodyReader();
                var fd = reader.ReadHandle<SafeSocketHandle>()!;
                return (fd, (int)reader.ReadUInt16());
            }, "a{sv}", (ref MessageWriter w) => w.WriteDictionary(new Dictionary<string, VariantValue>())).ConfigureAwait(false);
            return new BlueZWriteSocket(bus, characteristicPath, new Socket(handle), mtu);
        }
        catch (DBusErrorReplyException)
        {
            return null; // no AcquireWrite (BlueZ before 5.46, or 5.46-5.47 without --experimental), or not connected
        }
    }

    /// <summary>Sends one packet; a socket bluetoothd shut (the link dropped) is a lost link.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(packet, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new BleLinkLostException($"bluetoothd closed the AcquireWrite socket ({ex.Message}): the link dropped.", ex);
        }
    }

    /// <summary>
    /// Gives the socket back and waits (briefly) until bluetoothd has noticed (WriteAcquired turns false), so
    /// WriteValue on the characteristic is accepted again.
    /// </summary>
    public async Task ReleaseAsync()
    {
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (await _bus.WatchPropertiesAsync(CharacteristicPath, change =>
        {
            if (change.Path == CharacteristicPath && change.Changed.ContainsKey("WriteAcquired") && !change.Changed.Bool("WriteAcquired"))
            {
                released.TrySetResult();
            }
        }).ConfigureAwait(false))
        {
            Dispose();
            await Task.WhenAny(released.Task, Task.Delay(ReleaseWait)).ConfigureAwait(false);
        }
    }

    public void Dispose() => _socket.Dispose();
}
