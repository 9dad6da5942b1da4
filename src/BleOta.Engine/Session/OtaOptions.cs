using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

public sealed record OtaOptions
{
    public OtaProtocolVersion Protocol { get; init; } = OtaProtocolVersion.Auto;

    public OtaTimeouts Timeouts { get; init; } = OtaTimeouts.Default;

    /// <summary>The ATT MTU asked for; the link may settle lower.</summary>
    public int PreferredMtu { get; init; } = 517;

    public static OtaOptions Default { get; } = new();
}
