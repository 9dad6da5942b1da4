using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>
/// The one LE discovery this transport runs on an adapter, shared by every scan and every device lookup in the
/// process: bluetoothd allows each D-Bus client a single discovery (src/adapter.c start_discovery answers a
/// second StartDiscovery with InProgress), so concurrent users join the running one and the last to leave stops it.
/// The filter is only <c>Transport=le</c>: with a UUID filter bluetoothd drops a scan response that arrives apart
/// from its advertisement (is_filter_match sees no UUID in it), and with it the device's name; UUIDs are matched
/// in code instead.
/// </summary>
internal sealed class BlueZDiscovery(BlueZBus bus, string adapterPath)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _users;

    public string AdapterPath { get; } = adapterPath;

    /// <summary>Joins (starting it if needed) the adapter's discovery; disposing the result leaves it.</summary>
    public async Task<IAsyncDisposable> JoinAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_users == 0)
            {
                await bus.CallAsync(AdapterPath, BlueZNames.Adapter, "SetDiscoveryFilter", "a{sv}", (ref MessageWriter w) =>
                    w.WriteDictionary(new Dictionary<string, VariantValue> { ["Transport"] = "le" })).ConfigureAwait(false);
                await bus.CallAsync(AdapterPath, BlueZNames.Adapter, "StartDiscovery").ConfigureAwait(false);
            }

            _users++;
            return new Membership(this);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask LeaveAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (--_users == 0)
            {
                await bus.CallAsync(AdapterPath, BlueZNames.Adapter, "StopDiscovery").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is DBusErrorReplyException or DBusConnectionException)
        {
            // Discovery already stopped (adapter reset or powered off, bluetoothd gone): nothing to undo.
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed class Membership(BlueZDiscovery discovery) : IAsyncDisposable
    {
        private int _left;

        public ValueTask DisposeAsync() => Interlocked.Exchange(ref _left, 1) == 0 ? discovery.LeaveAsync() : ValueTask.CompletedTask;
    }
}
