namespace BleOta.Tests.Support;

/// <summary>IProgress that reports on the caller's thread, so a test sees every report in order.</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
