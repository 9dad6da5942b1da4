using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>
/// A transport whose devices' Info names another running image than the one they run: what a client sees when
/// another client updated the device between its Info read and its REQUEST. Everything else goes through.
/// </summary>
internal sealed class StaleInfoTransport(IBleTransport inner, byte[] namedImageSha256) : IBleTransport
{
    public string Name => inner.Name;

    public IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, CancellationToken cancellationToken) => inner.ScanAsync(filter, cancellationToken);

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken) =>
        new Connection(await inner.ConnectAsync(address, cancellationToken).ConfigureAwait(false), namedImageSha256);

    private sealed class Connection(IBleConnection inner, byte[] namedImageSha256) : IBleConnection
    {
        public event EventHandler<BleDisconnectedEventArgs>? Disconnected
        {
            add => inner.Disconnected += value;
            remove => inner.Disconnected -= value;
        }

        public string Address => inner.Address;

        public bool IsConnected => inner.IsConnected;

        public int Mtu => inner.Mtu;

        public TimeProvider Clock => inner.Clock;

        public Task<int> RequestMtuAsync(int preferredMtu, CancellationToken cancellationToken) => inner.RequestMtuAsync(preferredMtu, cancellationToken);

        public bool HasCharacteristic(Guid characteristic) => inner.HasCharacteristic(characteristic);

        public async Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
        {
            var value = await inner.ReadAsync(characteristic, cancellationToken).ConfigureAwait(false);
            if (characteristic == OtaUuids.Info)
            {
                namedImageSha256.CopyTo(value, DeviceInfo.SizeWithoutImageHash);
            }

            return value;
        }

        public Task WriteAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken) =>
            inner.WriteAsync(characteristic, value, writeType, cancellationToken);

        public Task SubscribeAsync(Guid characteristic, Action<byte[]> onNotification, CancellationToken cancellationToken) =>
            inner.SubscribeAsync(characteristic, onNotification, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
