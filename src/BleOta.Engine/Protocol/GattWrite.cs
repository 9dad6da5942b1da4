using BleOta.Engine.Transport;

namespace BleOta.Engine.Protocol;

/// <summary>One GATT write as both protocol clients need it: bounded by a timeout, failures as update errors.</summary>
internal static class GattWrite
{
    public static async Task SendAsync(IBleConnection connection, Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, OtaTimeouts timeouts, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeouts.Write);
        try
        {
            await connection.WriteAsync(characteristic, value, writeType, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OtaException(OtaErrorCode.AckTimeout, $"The device did not acknowledge a write within {timeouts.Write.TotalSeconds:0.#} s.");
        }
        catch (BleAttException ex)
        {
            throw OtaAttError.ToException(ex.AttError);
        }
        catch (BleTransportException ex) when (!connection.IsConnected)
        {
            throw new OtaException(OtaErrorCode.Disconnected, "The device disconnected during the update; it keeps its current firmware.", ex);
        }
        catch (BleTransportException ex)
        {
            throw new OtaException(OtaErrorCode.TransportError, $"A write to the device failed: {ex.Message}", ex);
        }
    }
}
