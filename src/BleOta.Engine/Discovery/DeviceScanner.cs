using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Discovery;

/// <summary>
/// Scans a transport (or several adapters at once) for a while and yields each device once: as soon as its
/// advertisement and scan response are both known (<see cref="ScanMerger"/>), or when the scan ends with what was seen
/// of it. A device several adapters hear is yielded once, on the adapter that reported it first. The scan runs for its
/// whole window however slowly the caller takes the devices (a confirmation prompt downstream may wait minutes): what
/// it finds is kept until the caller asks, so no device found in the window is dropped.
/// </summary>
public static class DeviceScanner
{
    public static IAsyncEnumerable<Esp32Device> ScanAsync(IBleTransport transport, ScanFilter filter, TimeSpan timeout, CancellationToken cancellationToken) =>
        ScanAsync([transport], filter, timeout, cancellationToken);

    public static async IAsyncEnumerable<Esp32Device> ScanAsync(
        IReadOnlyList<IBleTransport> transports, ScanFilter filter, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var found = Channel.CreateUnbounded<Esp32Device>(new UnboundedChannelOptions { SingleReader = true });
        using var scanWindow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var scanning = Task.Run(() => ScanIntoAsync(transports, filter, found.Writer, scanWindow, timeout, cancellationToken), CancellationToken.None);
        try
        {
            await foreach (var device in found.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return device;
            }
        }
        finally
        {
            scanWindow.Cancel();
            await scanning.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes each device as it completes until the window closes, then the rest; a transport failure closes the
    /// window for every transport and completes the channel with it. The window opens when the scan starts.
    /// </summary>
    private static async Task ScanIntoAsync(
        IReadOnlyList<IBleTransport> transports, ScanFilter filter, ChannelWriter<Esp32Device> found, CancellationTokenSource scanWindow, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var merger = new ScanMerger(filter);
        var window = scanWindow.Token;

        async Task ScanOneAsync(IBleTransport transport)
        {
            try
            {
                await foreach (var advertisement in transport.ScanAsync(filter, window).WithCancellation(window).ConfigureAwait(false))
                {
                    lock (merger)
                    {
                        if (merger.Add(advertisement) is { } device)
                        {
                            found.TryWrite(device);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // the scan window closed: a normal end
            }
            catch
            {
                scanWindow.Cancel(); // one adapter failed: the others stop too, and the failure is reported
                throw;
            }
        }

        try
        {
            scanWindow.CancelAfter(timeout);
            await Task.WhenAll(transports.Select(ScanOneAsync)).ConfigureAwait(false);
            foreach (var device in merger.Remaining())
            {
                found.TryWrite(device);
            }

            found.TryComplete();
        }
        catch (Exception ex)
        {
            found.TryComplete(ex);
        }
    }
}
