namespace BleOta.Engine.Session;

/// <summary>
/// Where an update explains itself as it goes. The engine knows nothing of PowerShell: the cmdlets queue these
/// lines and write them as Verbose, Debug and Warning records on the pipeline thread.
/// </summary>
public interface IOtaLog
{
    /// <summary>A step an admin follows with -Verbose: connecting, what the device runs, what is sent.</summary>
    void Verbose(string message);

    /// <summary>Detail for diagnosing a device: link figures, raw Info fields, protocol decisions.</summary>
    void Debug(string message);

    /// <summary>Something the user asked for that could not be done, while the update itself goes on.</summary>
    void Warning(string message);
}

/// <summary>A log that drops everything, for callers that do not listen.</summary>
public sealed class NullOtaLog : IOtaLog
{
    public static NullOtaLog Instance { get; } = new();

    public void Verbose(string message)
    {
    }

    public void Debug(string message)
    {
    }

    public void Warning(string message)
    {
    }
}
