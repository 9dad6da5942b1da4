using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

/// <summary>What one update did: one per device, emitted by <c>Invoke-Esp32Ota -PassThru</c>.</summary>
public sealed record OtaResult(
    Guid SessionId,
    string Device,
    string Address,
    OtaStatus Status,
    OtaProtocolVersion Protocol,
    string? VersionBefore,
    string? VersionAfter,
    long Bytes,
    int Packets,
    TimeSpan Duration,
    string? ImagePath,
    OtaErrorCode? ErrorCode,
    string? Error)
{
    /// <summary>True when -Verify saw the device run the new version after restarting; null when it was not checked.</summary>
    public bool? Verified { get; init; }

    /// <summary>What went on air for the image: the whole image, compressed, or a delta patch.</summary>
    public OtaTransfer Transfer { get; init; }

    /// <summary>Bytes written to OTA Data: packet headers, resends and probes included, over every reconnect.</summary>
    public long BytesOnAir { get; init; }

    /// <summary>Image bytes per second over the whole session, on the link's clock.</summary>
    public double KBytesPerSecond => Duration.TotalSeconds <= 0 ? 0 : Bytes / 1024.0 / Duration.TotalSeconds;
}
