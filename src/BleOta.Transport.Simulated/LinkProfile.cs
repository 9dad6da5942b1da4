namespace BleOta.Transport.Simulated;

/// <summary>The LE physical layer a link runs on.</summary>
public enum BlePhy
{
    /// <summary>LE 1M: 1 Msym/s, one byte takes 8 µs, 1-byte preamble. Every BLE chip has it.</summary>
    Le1M,

    /// <summary>LE 2M: 2 Msym/s, one byte takes 4 µs, 2-byte preamble (ESP32-S3/C3/C6, not the classic ESP32).</summary>
    Le2M,
}

/// <summary>
/// The timing of one simulated BLE link, the client OS's habits and the device's flash. Every figure has its
/// published source in docs/link-model.md; every simulated duration is derived from these, nothing is tuned
/// per result.
/// </summary>
public sealed record LinkProfile
{
    /// <summary>Interframe space between two packets of a connection event (Core spec Vol 6 Part B 4.1.1).</summary>
    public static readonly TimeSpan InterFrameSpace = TimeSpan.FromTicks(1_500); // 150 µs

    /// <summary>L2CAP basic header in front of every ATT PDU.</summary>
    public const int L2capHeaderBytes = 4;

    /// <summary>ATT opcode and handle in front of a written value.</summary>
    public const int AttWriteHeaderBytes = 3;

    public required string Name { get; init; }

    /// <summary>One line saying which setup this is.</summary>
    public string Description { get; init; } = "";

    /// <summary>Time between connection events, set by the central (client OS).</summary>
    public TimeSpan ConnectionInterval { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Largest ATT MTU the client's OS negotiates.</summary>
    public int ClientMaxMtu { get; init; } = 517;

    /// <summary>
    /// False when the client's OS negotiates the MTU on its own and an app can only read the result
    /// (Windows' GattSession.MaxPduSize): the MTU is then the OS's, whatever the app prefers.
    /// </summary>
    public bool ClientChoosesMtu { get; init; } = true;

    /// <summary>The ATT MTU the device's firmware accepts (CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU, 515 in firmware/sdkconfig.defaults).</summary>
    public int FirmwareMtu { get; init; } = 515;

    /// <summary>LL data length both controllers agreed on (27 without data length extension, 251 with it).</summary>
    public int LinkLayerPayload { get; init; } = 251;

    public BlePhy Phy { get; init; } = BlePhy.Le1M;

    /// <summary>Most packets the central's controller puts into one connection event; null when only air time limits it.</summary>
    public int? MaxPacketsPerEvent { get; init; }

    /// <summary>
    /// Payload bytes per second the receiving stack (controller, host, GATT callback) can take from
    /// unacknowledged writes, however much air time there is; null when only air time limits it.
    /// </summary>
    public double? StackBytesPerSecond { get; init; }

    /// <summary>
    /// Bytes the firmware's receive ring buffer holds between the radio and its flash-writer task. When flash
    /// falls behind and the buffer is full, the radio stalls.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = 16 * 1024;

    /// <summary>Connection events from one acknowledged write to the client's next one, with nothing slow on the device.</summary>
    public int EventsPerAcknowledgedWrite { get; init; } = 2;

    /// <summary>Time from the device queueing a notification to the client having it: the next connection event.</summary>
    public TimeSpan NotificationLatency => ConnectionInterval;

    /// <summary>Flash page-programming rate of the device's SPI flash.</summary>
    public double FlashWriteBytesPerSecond { get; init; } = 640_000;

    /// <summary>Time to erase one 4 KB sector.</summary>
    public TimeSpan SectorEraseTime { get; init; } = TimeSpan.FromMilliseconds(45);

    /// <summary>Connection setup plus GATT discovery.</summary>
    public TimeSpan ConnectTime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// How long the central waits for a silent peer before it declares the link lost (Linux's default LE
    /// supervision timeout, net/bluetooth/hci_core.c: le_supv_timeout 0x002a, 420 ms).
    /// </summary>
    public TimeSpan SupervisionTimeout { get; init; } = TimeSpan.FromMilliseconds(420);

    /// <summary>Time from the device's reset to advertising again.</summary>
    public TimeSpan RebootTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The seed's setup: a Mac running the seed's Python client against the seed firmware (MTU 256) on a classic ESP32.</summary>
    public static LinkProfile SeedMacOS { get; } = new()
    {
        Name = "seed-macos",
        Description = "macOS central, classic ESP32 at 1M PHY, firmware MTU 256 (the seed's setup)",
        ConnectionInterval = TimeSpan.FromMilliseconds(15),
        ClientMaxMtu = 527,
        FirmwareMtu = 256,
        StackBytesPerSecond = 62_500,
    };

    /// <summary>A Linux (BlueZ) central and a classic ESP32 with data length extension at 1M PHY.</summary>
    public static LinkProfile Esp32OneMegDle { get; } = new()
    {
        Name = "esp32-1m-dle",
        Description = "Linux (BlueZ) central, classic ESP32 at 1M PHY, DLE 251, MTU 515",
        StackBytesPerSecond = 62_500,
    };

    /// <summary>A Linux (BlueZ) central and an ESP32-S3 at 2M PHY.</summary>
    public static LinkProfile Esp32S3TwoMeg { get; } = new()
    {
        Name = "esp32s3-2m",
        Description = "Linux (BlueZ) central, ESP32-S3 at 2M PHY, DLE 251, MTU 515",
        Phy = BlePhy.Le2M,
    };

    /// <summary>A Windows central: the OS negotiates the MTU itself and apps cannot change it.</summary>
    public static LinkProfile WindowsDefault { get; } = new()
    {
        Name = "windows-default",
        Description = "Windows central (OS-chosen MTU), classic ESP32 at 1M PHY, DLE 251",
        ClientMaxMtu = 527,
        ClientChoosesMtu = false,
        StackBytesPerSecond = 62_500,
    };

    /// <summary>The profile simulated devices use unless told otherwise.</summary>
    public static LinkProfile Default => Esp32OneMegDle;

    public static IReadOnlyList<LinkProfile> All { get; } = [SeedMacOS, Esp32OneMegDle, Esp32S3TwoMeg, WindowsDefault];

    public static LinkProfile Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"There is no link profile named '{name}'. Profiles: {string.Join(", ", All.Select(p => p.Name))}.", nameof(name));

    /// <summary>The MTU a link settles on when the client asks for <paramref name="preferredMtu"/>.</summary>
    public int NegotiatedMtu(int preferredMtu, int deviceMtu)
    {
        int client = ClientChoosesMtu ? Math.Min(preferredMtu, ClientMaxMtu) : ClientMaxMtu;
        return Math.Max(23, Math.Min(client, deviceMtu));
    }

    /// <summary>Air time of one LL data PDU carrying <paramref name="payload"/> bytes (preamble, access address, header, CRC).</summary>
    public TimeSpan PduAirTime(int payload) => Phy == BlePhy.Le2M
        ? TimeSpan.FromTicks((2 + 4 + 2 + payload + 3) * 40)   // 4 µs per byte
        : TimeSpan.FromTicks((1 + 4 + 2 + payload + 3) * 80);  // 8 µs per byte

    /// <summary>
    /// Air time of one ATT write carrying <paramref name="valueBytes"/>: its L2CAP PDU cut into LL PDUs of the
    /// agreed data length, each answered by the peer's empty PDU, with the interframe space after each.
    /// </summary>
    public TimeSpan WriteAirTime(int valueBytes)
    {
        int remaining = valueBytes + AttWriteHeaderBytes + L2capHeaderBytes;
        var total = TimeSpan.Zero;
        while (remaining > 0)
        {
            int fragment = Math.Min(remaining, LinkLayerPayload);
            total += PduAirTime(fragment) + InterFrameSpace + PduAirTime(0) + InterFrameSpace;
            remaining -= fragment;
        }

        return total;
    }

    /// <summary>Unacknowledged writes of this size that fit into one connection event.</summary>
    public int WritesPerEvent(int valueBytes)
    {
        // The last exchange must end an interframe space before the next event's anchor.
        int fit = (int)((ConnectionInterval - InterFrameSpace).Ticks / WriteAirTime(valueBytes).Ticks);
        return Math.Max(1, MaxPacketsPerEvent is { } cap ? Math.Min(fit, cap) : fit);
    }

    /// <summary>
    /// Link time one unacknowledged write of <paramref name="valueBytes"/> takes in a long stream: its share of a
    /// connection event, or the receiving stack's time for it when the stack is slower than the air.
    /// </summary>
    public TimeSpan UnacknowledgedWriteTime(int valueBytes)
    {
        var air = ConnectionInterval / WritesPerEvent(valueBytes);
        var stack = StackBytesPerSecond is { } rate ? TimeSpan.FromSeconds(valueBytes / rate) : TimeSpan.Zero;
        return air > stack ? air : stack;
    }

    /// <summary>Sustained flash rate for sequential data: every 4 KB sector erased, then programmed.</summary>
    public double FlashBytesPerSecond => SimulatedFlash.SectorSize / (SectorEraseTime.TotalSeconds + SimulatedFlash.SectorSize / FlashWriteBytesPerSecond);

    /// <summary>Radio payload rate for a stream of unacknowledged writes of <paramref name="valueBytes"/>.</summary>
    public double LinkBytesPerSecond(int valueBytes) => valueBytes / UnacknowledgedWriteTime(valueBytes).TotalSeconds;

    /// <summary>Payload rate for unacknowledged writes of <paramref name="valueBytes"/>: the lower of the link and the flash.</summary>
    public double CapacityBytesPerSecond(int valueBytes) => Math.Min(LinkBytesPerSecond(valueBytes), FlashBytesPerSecond);

    /// <summary>The profile's modeled capacity with full-MTU packets (value = MTU - 3).</summary>
    public double CapacityBytesPerSecond() => CapacityBytesPerSecond(NegotiatedMtu(ClientMaxMtu, FirmwareMtu) - AttWriteHeaderBytes);

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
