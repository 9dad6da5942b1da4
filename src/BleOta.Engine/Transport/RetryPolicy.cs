namespace BleOta.Engine.Transport;

/// <summary>
/// Retries an operation that radios fail transiently (a connect the controller aborted, a GATT session
/// that was not ready yet) with a growing pause between attempts. Whether a failure is transient is the
/// transport's call; everything else fails at once.
/// </summary>
public sealed class RetryPolicy
{
    /// <param name="attempts">Tries in all, at least 1.</param>
    /// <param name="firstDelay">Pause after the first failure; each later pause doubles, up to <paramref name="maxDelay"/>.</param>
    /// <param name="maxDelay">The longest pause.</param>
    public RetryPolicy(int attempts, TimeSpan firstDelay, TimeSpan maxDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(firstDelay.Ticks, nameof(firstDelay));
        Attempts = attempts;
        FirstDelay = firstDelay;
        MaxDelay = maxDelay < firstDelay ? firstDelay : maxDelay;
    }

    /// <summary>Three tries, 250 ms then 500 ms apart: enough for a controller that dropped a connect attempt.</summary>
    public static RetryPolicy Connect { get; } = new(3, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2));

    public int Attempts { get; }

    public TimeSpan FirstDelay { get; }

    public TimeSpan MaxDelay { get; }

    /// <summary>The pause after failed attempt number <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        double ticks = FirstDelay.Ticks * Math.Pow(2, Math.Max(0, attempt - 1));
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> until it succeeds, fails with an error <paramref name="isTransient"/>
    /// rejects, or runs out of attempts; then the last error is thrown as it was.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<int, CancellationToken, Task<T>> operation, Func<Exception, bool> isTransient,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(attempt, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && isTransient(ex))
            {
                await Task.Delay(DelayAfter(attempt), clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
