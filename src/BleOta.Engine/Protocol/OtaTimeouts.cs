namespace BleOta.Engine.Protocol;

/// <summary>How long a client waits for each answer before it gives up on the device.</summary>
public sealed record OtaTimeouts
{
    /// <summary>Connect and GATT discovery.</summary>
    public TimeSpan Connect { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The REQUEST write and its REQUEST_ACK: the device opens its OTA slot, and a device that does not erase as
    /// data arrives (BLE_OTA_SEQUENTIAL_ERASE off) erases the whole slot first, up to about 25 s for 1.9 MB
    /// (firmware/README.md). 30 s is ATT's transaction timeout (Core 5.3 Vol 3 Part F 3.3.3): an OS drops a link
    /// whose write stays unanswered that long, so waiting longer gains nothing.
    /// </summary>
    public TimeSpan Request { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>One acknowledged write; also the shortest wait for a v2 data acknowledgement.</summary>
    public TimeSpan Write { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The DONE write and its DONE_ACK: the device hashes and validates the whole image before it answers either.</summary>
    public TimeSpan Done { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>DONE_ACK to the device advertising again from its new firmware (-Verify): reset, boot, self-test.</summary>
    public TimeSpan Restart { get; init; } = TimeSpan.FromSeconds(30);

    public static OtaTimeouts Default { get; } = new();

    /// <summary>Every timeout set to the same value, as <c>-TimeoutSec</c> asks.</summary>
    public static OtaTimeouts All(TimeSpan timeout) =>
        new() { Connect = timeout, Request = timeout, Write = timeout, Done = timeout, Restart = timeout };
}
