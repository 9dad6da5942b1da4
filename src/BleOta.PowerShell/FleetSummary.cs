using System.Diagnostics;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>Counts a fleet run's outcomes for the one line Invoke-Esp32Ota writes at its end.</summary>
internal sealed class FleetSummary
{
    private readonly Stopwatch _clock = new();
    private readonly Dictionary<OtaStatus, int> _counts = [];
    private long _bytes;

    /// <summary>Starts the run's clock at the first device queued.</summary>
    public void Started() => _clock.Start();

    public void Add(OtaResult result)
    {
        _counts[result.Status] = _counts.GetValueOrDefault(result.Status) + 1;
        _bytes += result.Bytes;
    }

    /// <summary>"6 devices in 0:42: 4 updated, 1 skipped, 1 failed; 1.2 MB sent." Null when no device ended.</summary>
    public string? Line()
    {
        int total = _counts.Values.Sum();
        if (total == 0)
        {
            return null;
        }

        int cancelled = _counts.GetValueOrDefault(OtaStatus.Cancelled);
        var elapsed = _clock.Elapsed;
        string data = _bytes >= 1024 * 1024 ? $"{_bytes / (1024.0 * 1024):0.0} MB" : $"{_bytes / 1024.0:0.0} kB";
        return $"{total} device{(total == 1 ? "" : "s")} in {(int)elapsed.TotalMinutes}:{elapsed.Seconds:00}: {_counts.GetValueOrDefault(OtaStatus.Succeeded)} updated, "
            + $"{_counts.GetValueOrDefault(OtaStatus.Skipped)} skipped, {_counts.GetValueOrDefault(OtaStatus.Failed)} failed"
            + (cancelled > 0 ? $", {cancelled} cancelled" : "") + $"; {data} sent.";
    }
}
