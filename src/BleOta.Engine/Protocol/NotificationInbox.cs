using System.Threading.Channels;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Protocol;

/// <summary>
/// Collects notifications from one characteristic so a client can await the next one with a timeout,
/// and fails the wait at once when the link drops instead of waiting out the timeout.
/// </summary>
internal sealed class NotificationInbox : IDisposable
{
    private readonly Channel<byte[]> _channel = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IBleConnection _connection;

    private NotificationInbox(IBleConnection connection)
    {
        _connection = connection;
        _connection.Disconnected += OnDisconnected;
    }

    public static async Task<NotificationInbox> SubscribeAsync(IBleConnection connection, Guid characteristic, CancellationToken cancellationToken)
    {
        var inbox = new NotificationInbox(connection);
        try
        {
            await connection.SubscribeAsync(characteristic, value => inbox._channel.Writer.TryWrite(value), cancellationToken).ConfigureAwait(false);
            return inbox;
        }
        catch
        {
            inbox.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the next notification; <paramref name="what"/> names it in the timeout message. The timeout runs
    /// on the link's clock, and only when there is nothing to read yet, so a simulated link knows its client waits.
    /// </summary>
    public async Task<byte[]> ReceiveAsync(TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_channel.Reader.TryRead(out var ready))
        {
            return ready;
        }

        using var timeoutSource = new CancellationTokenSource(timeout, _connection.Clock);
        using var waitSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            return await _channel.Reader.ReadAsync(waitSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OtaException(OtaErrorCode.AckTimeout,
                $"The device did not send {what} within {timeout.TotalSeconds:0.#} s.");
        }
        catch (ChannelClosedException)
        {
            throw new OtaException(OtaErrorCode.Disconnected, $"The device disconnected while BleOta was waiting for {what}.");
        }
    }

    private void OnDisconnected(object? sender, BleDisconnectedEventArgs e) => _channel.Writer.TryComplete();

    public void Dispose() => _connection.Disconnected -= OnDisconnected;
}
