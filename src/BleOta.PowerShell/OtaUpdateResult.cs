using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// What <c>Invoke-Esp32Ota -PassThru</c> emits for each device: one row of a fleet report. Every property is a
/// string, number, flag or id, in report order, so <c>Export-Csv</c> and <c>ConvertTo-Json</c> give a readable
/// report as they are (an enum would be a number in JSON, a TimeSpan a dozen fields), and <c>ErrorId</c> is the id of
/// the error record the device's failure wrote.
/// </summary>
public sealed class OtaUpdateResult
{
    public required string Device { get; init; }

    public required string Address { get; init; }

    /// <summary>Succeeded, Failed, Cancelled or Skipped (-SkipIfCurrent).</summary>
    public required string Status { get; init; }

    public string? VersionBefore { get; init; }

    public string? VersionAfter { get; init; }

    /// <summary>True when -Verify saw the device run the new version after restarting; null when it was not checked.</summary>
    public bool? Verified { get; init; }

    /// <summary>The ErrorId of the failure (as in FullyQualifiedErrorId), or null.</summary>
    public string? ErrorId { get; init; }

    /// <summary>Why the device failed or was cancelled, or null.</summary>
    public string? Error { get; init; }

    /// <summary>The wire protocol used: V1 or V2.</summary>
    public required string Protocol { get; init; }

    /// <summary>How the image went: Full, Compressed or Delta (a patch against the image the device ran).</summary>
    public required string Transfer { get; init; }

    /// <summary>Bytes of the stream the device acknowledged: the image, its compressed form or the patch (see Transfer).</summary>
    public long Bytes { get; init; }

    /// <summary>Bytes written to the device's OTA Data characteristic: packet headers, resends and probes included.</summary>
    public long BytesOnAir { get; init; }

    public int Packets { get; init; }

    /// <summary>How long the transfer took, on the link's clock.</summary>
    public double Seconds { get; init; }

    public double KBytesPerSecond { get; init; }

    public string? ImagePath { get; init; }

    /// <summary>What <c>Get-OtaProgress -Id</c> and <c>Stop-OtaSession -Id</c> take.</summary>
    public Guid SessionId { get; init; }

    internal static OtaUpdateResult From(OtaResult result) => new()
    {
        Device = result.Device,
        Address = result.Address,
        Status = result.Status.ToString(),
        VersionBefore = result.VersionBefore,
        VersionAfter = result.VersionAfter,
        Verified = result.Verified,
        ErrorId = result.ErrorCode is { } code ? ErrorIds.For(code).Id : null,
        Error = result.Error,
        Protocol = result.Protocol.ToString(),
        Transfer = result.Transfer.ToString(),
        Bytes = result.Bytes,
        BytesOnAir = result.BytesOnAir,
        Packets = result.Packets,
        Seconds = Math.Round(result.Duration.TotalSeconds, 2),
        KBytesPerSecond = Math.Round(result.KBytesPerSecond, 1),
        ImagePath = result.ImagePath,
        SessionId = result.SessionId,
    };
}
