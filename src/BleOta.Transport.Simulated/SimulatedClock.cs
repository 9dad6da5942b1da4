using System.Diagnostics;

namespace BleOta.Transport.Simulated;

/// <summary>
/// Simulated time for one link. Every modelled delay advances it; when <see cref="Speed"/> is above zero the
/// simulation also waits in real time (Speed 1 = real time, 10 = ten times faster), otherwise it runs as fast
/// as the machine allows. Durations reported from this clock are the device's, however fast the run.
/// </summary>
public sealed class SimulatedClock(double speed) : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly long _wallStart = Stopwatch.GetTimestamp();
    private long _ticks;

    public double Speed { get; } = speed >= 0 ? speed : throw new ArgumentOutOfRangeException(nameof(speed), "Speed is 0 (no waiting) or positive.");

    public TimeSpan Now => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    public override DateTimeOffset GetUtcNow() => Epoch + Now;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Moves simulated time on, pacing against the wall clock when the run is not instant.</summary>
    public async ValueTask AdvanceAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        long now = Interlocked.Add(ref _ticks, duration.Ticks);
        if (Speed <= 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        // Pace against the start, not per step, so rounding in Task.Delay never accumulates.
        var due = TimeSpan.FromTicks((long)(now / Speed)) - Stopwatch.GetElapsedTime(_wallStart);
        if (due > TimeSpan.FromMilliseconds(1))
        {
            await Task.Delay(due, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
