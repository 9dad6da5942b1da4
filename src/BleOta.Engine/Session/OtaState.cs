namespace BleOta.Engine.Session;

public enum OtaState
{
    Queued,
    Connecting,
    Negotiating,
    Transferring,
    Finishing,

    /// <summary>-Verify: waiting for the device to restart and report the version it runs.</summary>
    Verifying,
    Succeeded,
    Failed,
    Cancelled,

    /// <summary>-SkipIfCurrent: the device already ran the image's version; nothing was sent.</summary>
    Skipped,
}

/// <summary>How an update ended.</summary>
public enum OtaStatus
{
    Succeeded,
    Failed,
    Cancelled,

    /// <summary>The device already ran the image's project and version (-SkipIfCurrent); nothing was sent.</summary>
    Skipped,
}
