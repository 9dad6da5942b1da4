namespace BleOta.Engine.Simulator;

/// <summary>
/// The timing of one simulated BLE link and the device's flash. Figures and their sources are in
/// docs/link-model.md; every simulated duration is derived from these, nothing is tuned per result.
/// </summary>
public sealed record LinkProfile
{
    public required string Name { get; init; }

    /// <summary>Time between connection events, set by the central (client OS).</summary>
    public TimeSpan ConnectionInterval { get; init; } = TimeSpan.FromMilliseconds(15);

    /// <summary>Largest ATT MTU the client's OS will negotiate.</summary>
    public int ClientMaxMtu { get; init; } = 517;

    /// <summary>
    /// Connection events from one acknowledged write to the client's next one: the request goes out in one
    /// event, the response comes back in the next, and the client's stack sends the next request the event after.
    /// </summary>
    public int EventsPerAcknowledgedWrite { get; init; } = 2;

    /// <summary>Unacknowledged writes the client's stack fits into one connection event.</summary>
    public int PacketsPerConnectionEvent { get; init; } = 4;

    /// <summary>Flash programming rate of the device's SPI flash.</summary>
    public double FlashWriteBytesPerSecond { get; init; } = 350_000;

    /// <summary>Time to erase one 4 KB sector.</summary>
    public TimeSpan SectorEraseTime { get; init; } = TimeSpan.FromMilliseconds(45);

    /// <summary>Connection setup plus GATT discovery.</summary>
    public TimeSpan ConnectTime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Time from the device's reset to advertising again.</summary>
    public TimeSpan RebootTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A Linux or Windows laptop talking to a classic ESP32 with BleOta firmware.</summary>
    public static LinkProfile Default { get; } = new() { Name = "default" };

    public static IReadOnlyList<LinkProfile> All { get; } = [Default];

    public static LinkProfile Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"There is no link profile named '{name}'. Profiles: {string.Join(", ", All.Select(p => p.Name))}.", nameof(name));

    /// <summary>
    /// One acknowledged write: the request goes out in a connection event, the response in the first event
    /// after the device has finished with it (at the earliest the next one), and the client's stack sends its
    /// next request in a following event.
    /// </summary>
    public TimeSpan AcknowledgedWriteTime(TimeSpan deviceBusy)
    {
        long responseEvents = Math.Max(1, (long)Math.Ceiling(deviceBusy.Ticks / (double)ConnectionInterval.Ticks));
        return ConnectionInterval * (responseEvents + EventsPerAcknowledgedWrite - 1);
    }
}
