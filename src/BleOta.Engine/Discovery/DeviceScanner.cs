using System.Runtime.CompilerServices;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Discovery;

/// <summary>
/// Scans a transport for a while and yields each device once: as soon as its advertisement and scan response
/// are both known (<see cref="ScanMerger"/>), or when the scan ends with what was seen of it.
/// </summary>
public static class DeviceScanner
{
    public static async IAsyncEnumerable<Esp32Device> ScanAsync(
        IBleTransport transport, ScanFilter filter, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var scanWindow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        scanWindow.CancelAfter(timeout);
        var merger = new ScanMerger(filter);
        var advertisements = transport.ScanAsync(filter, scanWindow.Token).GetAsyncEnumerator(scanWindow.Token);
        try
        {
            while (true)
            {
                try
                {
                    if (!await advertisements.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break; // the scan window closed: a normal end
                }

                if (merger.Add(advertisements.Current) is { } device)
                {
                    yield return device;
                }
            }
        }
        finally
        {
            await advertisements.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var device in merger.Remaining())
        {
            yield return device;
        }
    }
}
