namespace BleOta.Engine.Protocol;

/// <summary>How long a client waits for each answer before it gives up on the device.</summary>
public sealed record OtaTimeouts
{
    /// <summary>Connect and GATT discovery.</summary>
    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>REQUEST to REQUEST_ACK: the device opens its OTA partition (it may erase first).</summary>
    public TimeSpan Request { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>One acknowledged write.</summary>
    public TimeSpan Write { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>DONE to DONE_ACK: the device hashes and validates the whole image.</summary>
    public TimeSpan Done { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>DONE_ACK to the device advertising again from its new firmware (-Verify): reset, boot, self-test.</summary>
    public TimeSpan Restart { get; init; } = TimeSpan.FromSeconds(30);

    public static OtaTimeouts Default { get; } = new();

    /// <summary>Every timeout set to the same value, as <c>-TimeoutSec</c> asks.</summary>
    public static OtaTimeouts All(TimeSpan timeout) =>
        new() { Connect = timeout, Request = timeout, Write = timeout, Done = timeout, Restart = timeout };
}
