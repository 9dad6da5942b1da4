using BleOta.Engine.Transport;

namespace BleOta.Engine.Protocol;

/// <summary>
/// GATT writes as both protocol clients need them: each bounded by its timeout, failures turned into update
/// errors, a lost link into the resumable <see cref="OtaErrorCode.Disconnected"/>. One writer serves a whole
/// transfer, so the timeout source is reset per write rather than a linked source and a timer allocated for
/// every packet.
/// </summary>
/// <param name="connection">The link written to.</param>
/// <param name="timeout">
/// How long one write may take: the write timeout for data, longer for writes the device answers only after
/// flash work (REQUEST erases, DONE verifies the whole image).
/// </param>
internal sealed class GattWriter(IBleConnection connection, TimeSpan timeout) : IDisposable
{
    private CancellationTokenSource? _timeout;
    private CancellationToken _linkedTo;

    /// <summary>One write on its own, for the few control messages.</summary>
    public static async Task SendAsync(IBleConnection connection, Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var writer = new GattWriter(connection, timeout);
        await writer.SendAsync(characteristic, value, writeType, cancellationToken).ConfigureAwait(false);
    }

    public async Task SendAsync(Guid characteristic, ReadOnlyMemory<byte> value, WriteType writeType, CancellationToken cancellationToken)
    {
        var timeoutSource = TimeoutFor(cancellationToken);
        try
        {
            await connection.WriteAsync(characteristic, value, writeType, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OtaException(OtaErrorCode.AckTimeout, $"The device did not acknowledge a write within {timeout.TotalSeconds:0.#} s.");
        }
        catch (BleAttException ex)
        {
            throw OtaAttError.ToException(ex.AttError);
        }
        catch (BleTransportException ex) when (ex is BleLinkLostException || !connection.IsConnected)
        {
            throw new OtaException(OtaErrorCode.Disconnected, $"The link to the device was lost during the update ({ex.Message}); it keeps its current firmware.", ex);
        }
        catch (BleTransportException ex)
        {
            throw new OtaException(OtaErrorCode.TransportError, $"A write to the device failed: {ex.Message}", ex);
        }
    }

    private CancellationTokenSource TimeoutFor(CancellationToken cancellationToken)
    {
        // TryReset stops the previous write's timer; it fails only once the source has fired.
        if (_timeout is null || _linkedTo != cancellationToken || !_timeout.TryReset())
        {
            _timeout?.Dispose();
            _timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _linkedTo = cancellationToken;
        }

        _timeout.CancelAfter(timeout);
        return _timeout;
    }

    public void Dispose() => _timeout?.Dispose();
}
