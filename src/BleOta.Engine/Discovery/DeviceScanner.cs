using System.Runtime.CompilerServices;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Discovery;

/// <summary>Scans a transport for a while and yields each device once, as soon as it is first seen.</summary>
public static class DeviceScanner
{
    public static async IAsyncEnumerable<Esp32Device> ScanAsync(
        IBleTransport transport, ScanFilter filter, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var scanWindow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        scanWindow.CancelAfter(timeout);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var advertisements = transport.ScanAsync(filter, scanWindow.Token).GetAsyncEnumerator(scanWindow.Token);
        try
        {
            while (true)
            {
                try
                {
                    if (!await advertisements.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    yield break; // the scan window closed: a normal end
                }

                var advertisement = advertisements.Current;
                if (filter.Matches(advertisement) && seen.Add(advertisement.Address))
                {
                    yield return Esp32Device.FromAdvertisement(advertisement);
                }
            }
        }
        finally
        {
            await advertisements.DisposeAsync().ConfigureAwait(false);
        }
    }
}
