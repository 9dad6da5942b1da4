namespace BleOta.Engine.Session;

public enum OtaState
{
    Queued,
    Connecting,
    Negotiating,
    Transferring,
    Finishing,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>How an update ended.</summary>
public enum OtaStatus
{
    Succeeded,
    Failed,
    Cancelled,
}
