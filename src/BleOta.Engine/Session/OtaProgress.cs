namespace BleOta.Engine.Session;

/// <summary>A snapshot of one session: what <c>Get-OtaProgress</c> shows and Write-Progress renders.</summary>
public sealed record OtaProgress(
    Guid SessionId,
    string Device,
    string Address,
    OtaState State,
    long BytesSent,
    long TotalBytes,
    int PacketsSent,
    int TotalPackets,
    TimeSpan Elapsed,
    string? ImagePath,
    string? ImageVersion,
    DateTimeOffset StartedAt,
    string? Error)
{
    public bool IsFinished => State is OtaState.Succeeded or OtaState.Failed or OtaState.Cancelled or OtaState.Skipped;

    public int PercentComplete => TotalBytes == 0 ? 0 : (int)Math.Min(100, BytesSent * 100 / TotalBytes);

    /// <summary>Payload bytes per second since the transfer started, on the link's clock.</summary>
    public double BytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : BytesSent / Elapsed.TotalSeconds;

    public double KBytesPerSecond => BytesPerSecond / 1024;

    /// <summary>Time left at the current rate; null until there is a rate to go by.</summary>
    public TimeSpan? Eta => BytesPerSecond <= 0 || IsFinished ? null : TimeSpan.FromSeconds((TotalBytes - BytesSent) / BytesPerSecond);
}
