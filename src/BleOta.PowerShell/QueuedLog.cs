using System.Collections.Concurrent;
using System.Management.Automation;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// One update's log lines, collected from its worker task and written on the pipeline thread as Verbose, Debug and
/// Warning records, each led by the device so parallel updates stay readable.
/// </summary>
internal sealed class QueuedLog(string device) : IOtaLog
{
    private enum Level
    {
        Verbose,
        Debug,
        Warning,
    }

    private readonly ConcurrentQueue<(Level Level, string Message)> _lines = new();

    public void Verbose(string message) => _lines.Enqueue((Level.Verbose, message));

    public void Debug(string message) => _lines.Enqueue((Level.Debug, message));

    public void Warning(string message) => _lines.Enqueue((Level.Warning, message));

    /// <summary>Writes what was logged since the last call. Call only on the pipeline thread.</summary>
    public void WriteTo(Cmdlet cmdlet)
    {
        while (_lines.TryDequeue(out var line))
        {
            string text = $"{device}: {line.Message}";
            switch (line.Level)
            {
                case Level.Verbose:
                    DebugSafeStreams.Verbose(cmdlet, text);
                    break;
                case Level.Debug:
                    cmdlet.WriteDebug(text);
                    break;
                default:
                    DebugSafeStreams.Warning(cmdlet, text);
                    break;
            }
        }
    }
}
