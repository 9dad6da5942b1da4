namespace BleOta.Engine.Transport;

/// <summary>
/// Waits for an OS that negotiates the ATT MTU by itself (Windows, BlueZ) to report the result. Right after
/// connecting the OS still reports the default 23; the negotiated value arrives in a change event shortly
/// after, or never when the peer keeps 23. This returns the first value above 23, or the current value once
/// <c>settle</c> has passed without one.
/// </summary>
public static class MtuWaiter
{
    /// <summary>The ATT default every link starts with.</summary>
    public const int DefaultMtu = 23;

    /// <param name="current">Reads the MTU the OS reports now.</param>
    /// <param name="subscribe">Attaches a handler to the OS's change event and returns what detaches it.</param>
    /// <param name="settle">How long to wait for a change before taking the current value.</param>
    /// <param name="clock">The clock the wait runs on.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    public static async Task<int> WaitAsync(Func<int> current, Func<Action, IDisposable> subscribe, TimeSpan settle,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (subscribe(() => changed.TrySetResult()))
        {
            // Checked after subscribing, so a change between the two cannot be missed.
            while (current() <= DefaultMtu)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(settle, clock, timeout.Token);
                if (await Task.WhenAny(changed.Task, delay).ConfigureAwait(false) == delay)
                {
                    await delay.ConfigureAwait(false); // throws when the caller cancelled
                    return current();
                }

                timeout.Cancel();
                changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return current();
        }
    }
}
