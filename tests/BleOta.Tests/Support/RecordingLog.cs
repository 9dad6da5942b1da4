using System.Collections.Concurrent;
using BleOta.Engine.Session;

namespace BleOta.Tests.Support;

/// <summary>Keeps what an update logged, per level, for tests to read.</summary>
internal sealed class RecordingLog : IOtaLog
{
    public ConcurrentQueue<string> Verbose { get; } = new();

    public ConcurrentQueue<string> Debug { get; } = new();

    public ConcurrentQueue<string> Warning { get; } = new();

    void IOtaLog.Verbose(string message) => Verbose.Enqueue(message);

    void IOtaLog.Debug(string message) => Debug.Enqueue(message);

    void IOtaLog.Warning(string message) => Warning.Enqueue(message);
}
