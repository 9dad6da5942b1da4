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

    private sealed class Connection(IBleConnection inner, byte[] namedImageSha256) : ForwardingConnection(inner)
    {
        public override async Task<byte[]> ReadAsync(Guid characteristic, CancellationToken cancellationToken)
        {
            var value = await base.ReadAsync(characteristic, cancellationToken).ConfigureAwait(false);
            if (characteristic == OtaUuids.Info)
            {
                namedImageSha256.CopyTo(value, DeviceInfo.SizeWithoutImageHash);
            }

            return value;
        }
    }
}
