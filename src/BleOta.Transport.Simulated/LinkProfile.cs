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
/// One simulated setup: the client's OS and its controller (central), the link they agree on, and the device's
/// chip, Bluetooth stack and flash. Every figure has its published source in docs/link-model.md; every simulated
/// duration is derived from these, and only the two figures the document calls fitted were fitted.
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

    // ---- the central: client OS and its controller ----

    /// <summary>Time between connection events when the device asks for nothing (the central's default).</summary>
    public TimeSpan ConnectionInterval { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>The shortest interval the central grants when the device asks for one (null: it ignores requests).</summary>
    public TimeSpan? ShortestGrantedInterval { get; init; } = TimeSpan.FromMilliseconds(7.5);

    /// <summary>Time at the end of every connection event that the central's controller leaves unused (fitted, link-model.md).</summary>
    public TimeSpan EventGuard { get; init; } = TimeSpan.FromMilliseconds(1.25);

    /// <summary>Largest ATT MTU the client's OS negotiates.</summary>
    public int ClientMaxMtu { get; init; } = 517;

    /// <summary>
    /// False when the client's OS negotiates the MTU on its own and an app can only read the result
    /// (Windows' GattSession.MaxPduSize): the MTU is then the OS's, whatever the app prefers.
    /// </summary>
    public bool ClientChoosesMtu { get; init; } = true;

    /// <summary>Most packets the central's controller puts into one connection event; null when only air time limits it.</summary>
    public int? MaxPacketsPerEvent { get; init; }

    // ---- the link ----

    /// <summary>LL data length both controllers agreed on (27 without data length extension, 251 with it).</summary>
    public int LinkLayerPayload { get; init; } = 251;

    public BlePhy Phy { get; init; } = BlePhy.Le1M;

    // ---- the device: chip, Bluetooth stack, flash ----

    /// <summary>The ATT MTU the device's firmware accepts (CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU, 515 in firmware/sdkconfig.defaults).</summary>
    public int FirmwareMtu { get; init; } = 515;

    /// <summary>LL PDUs the device's controller holds while its CPU is stalled; when they are full it stops acknowledging.</summary>
    public int ControllerRxPdus { get; init; } = 2;

    /// <summary>ACL buffers the NimBLE host receives into (CONFIG_BT_NIMBLE_TRANSPORT_ACL_FROM_LL_COUNT).</summary>
    public int HostAclBuffers { get; init; } = 24;

    /// <summary>The NimBLE host's time for one received ATT write, from the controller to the end of the GATT callback (fitted, link-model.md).</summary>
    public TimeSpan HostTimePerWrite { get; init; } = TimeSpan.FromTicks(40_700); // 4.07 ms

    /// <summary>
    /// The host's time per received byte on top of <see cref="HostTimePerWrite"/>: 0 in every profile; the other
    /// reading of the published NimBLE figure (link-model.md, "Sensitivity") sets it instead.
    /// </summary>
    public TimeSpan HostTimePerByte { get; init; }

    /// <summary>The SPI NOR flash on the module.</summary>
    public FlashChip Flash { get; init; } = FlashChip.W25Q32JV;

    /// <summary>The chip can auto-suspend flash operations (ESP32-S3, C2, C3, C6, H2; not the classic ESP32).</summary>
    public bool ChipSupportsAutoSuspend { get; init; }

    /// <summary>Reading flash through the cache at the chip's default SPI mode and clock (DIO, 2 bits per clock).</summary>
    public double FlashReadBytesPerSecond { get; init; } = 10_000_000;

    /// <summary>The chip's SHA accelerator, at the slowest ESP-IDF's CI accepts.</summary>
    public double ShaBytesPerSecond { get; init; } = 6_550_000;

    /// <summary>One pass reading the written image back and hashing it (read, then hash, block by block).</summary>
    public double HashBytesPerSecond => 1 / (1 / FlashReadBytesPerSecond + 1 / ShaBytesPerSecond);

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
        ShortestGrantedInterval = TimeSpan.FromMilliseconds(15),
        ClientMaxMtu = 527,
        FirmwareMtu = 256,
    };

    /// <summary>A Linux (BlueZ) central and a classic ESP32 with data length extension at 1M PHY.</summary>
    public static LinkProfile Esp32OneMegDle { get; } = new()
    {
        Name = "esp32-1m-dle",
        Description = "Linux (BlueZ) central, classic ESP32 at 1M PHY, DLE 251, MTU 515",
    };

    /// <summary>A Linux (BlueZ) central and an ESP32-S3 at 2M PHY whose flash cannot be suspended.</summary>
    public static LinkProfile Esp32S3TwoMeg { get; } = new()
    {
        Name = "esp32s3-2m",
        Description = "Linux (BlueZ) central, ESP32-S3 at 2M PHY, DLE 251, MTU 515, W25Q32JV flash",
        Phy = BlePhy.Le2M,
        ChipSupportsAutoSuspend = true,
        FlashReadBytesPerSecond = 20_000_000,
        ShaBytesPerSecond = 32_800_000,
    };

    /// <summary>The same ESP32-S3 with a flash part IDF can auto-suspend.</summary>
    public static LinkProfile Esp32S3TwoMegSuspend { get; } = Esp32S3TwoMeg with
    {
        Name = "esp32s3-2m-suspend",
        Description = "Linux (BlueZ) central, ESP32-S3 at 2M PHY, DLE 251, MTU 515, flash IDF can auto-suspend",
        Flash = FlashChip.SuspendCapable,
    };

    /// <summary>A Windows 11 central: the OS negotiates the MTU and the connection parameters itself.</summary>
    public static LinkProfile WindowsDefault { get; } = new()
    {
        Name = "windows-default",
        Description = "Windows 11 central (OS-chosen MTU, 15 ms at best, no 2M), classic ESP32 at 1M PHY, DLE 251",
        ConnectionInterval = TimeSpan.FromMilliseconds(15),
        ShortestGrantedInterval = TimeSpan.FromMilliseconds(15),
        ClientMaxMtu = 527,
        ClientChoosesMtu = false,
    };

    /// <summary>The profile simulated devices use unless told otherwise.</summary>
    public static LinkProfile Default => Esp32OneMegDle;

    public static IReadOnlyList<LinkProfile> All { get; } = [SeedMacOS, Esp32OneMegDle, Esp32S3TwoMeg, Esp32S3TwoMegSuspend, WindowsDefault];

    public static LinkProfile Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"There is no link profile named '{name}'. Profiles: {string.Join(", ", All.Select(p => p.Name))}.", nameof(name));

    /// <summary>The MTU a link settles on when the client asks for <paramref name="preferredMtu"/>.</summary>
    public int NegotiatedMtu(int preferredMtu, int deviceMtu)
    {
        int client = ClientChoosesMtu ? Math.Min(preferredMtu, ClientMaxMtu) : ClientMaxMtu;
        return Math.Max(23, Math.Min(client, deviceMtu));
    }

    /// <summary>The interval the link runs at when the device asks for <paramref name="requested"/> (null: it asks for nothing).</summary>
    public TimeSpan IntervalFor(TimeSpan? requested) =>
        requested is { } asked && ShortestGrantedInterval is { } shortest
            ? (asked > shortest ? asked : shortest)
            : ConnectionInterval;

    /// <summary>Air time of one LL data PDU carrying <paramref name="payload"/> bytes (preamble, access address, header, CRC).</summary>
    public TimeSpan PduAirTime(int payload) => Phy == BlePhy.Le2M
        ? TimeSpan.FromTicks((2 + 4 + 2 + payload + 3) * 40)   // 4 µs per byte
        : TimeSpan.FromTicks((1 + 4 + 2 + payload + 3) * 80);  // 8 µs per byte

    /// <summary>
    /// One exchange of a connection event: the central's PDU of <paramref name="centralPayload"/> bytes, the
    /// interframe space, the device's PDU of <paramref name="devicePayload"/> bytes (0: the empty PDU that
    /// acknowledges), and the interframe space before the next exchange.
    /// </summary>
    public TimeSpan ExchangeTime(int centralPayload, int devicePayload = 0) =>
        PduAirTime(centralPayload) + InterFrameSpace + PduAirTime(devicePayload) + InterFrameSpace;

    /// <summary>The LL PDUs an ATT write of <paramref name="valueBytes"/> is cut into: its L2CAP PDU in pieces of the agreed data length.</summary>
    public IEnumerable<int> Fragments(int valueBytes)
    {
        int remaining = valueBytes + AttWriteHeaderBytes + L2capHeaderBytes;
        while (remaining > 0)
        {
            int fragment = Math.Min(remaining, LinkLayerPayload);
            yield return fragment;
            remaining -= fragment;
        }
    }

    /// <summary>
    /// The air-only rate of a long stream of writes of <paramref name="valueBytes"/> at <paramref name="interval"/>:
    /// whole exchanges packed into each event up to the guard (the last one needs no trailing interframe space),
    /// with the central's packet cap, and PDUs carried over from one event to the next.
    /// </summary>
    public double AirBytesPerSecond(int valueBytes, TimeSpan interval)
    {
        const int Writes = 1000;
        var fragments = Fragments(valueBytes).ToArray();
        var usable = interval - EventGuard + InterFrameSpace;
        int events = 0, sent = 0;
        var lastUsed = TimeSpan.Zero;
        while (sent < fragments.Length * Writes)
        {
            events++;
            lastUsed = TimeSpan.Zero;
            for (int inEvent = 0; sent < fragments.Length * Writes && (MaxPacketsPerEvent is not { } cap || inEvent < cap); inEvent++, sent++)
            {
                var next = ExchangeTime(fragments[sent % fragments.Length]);
                if (lastUsed + next > usable && inEvent > 0)
                {
                    break;
                }

                lastUsed += next;
            }
        }

        // The stream ends with the last exchange of the last event, not at that event's end.
        return valueBytes * (double)Writes / (interval * (events - 1) + lastUsed - InterFrameSpace).TotalSeconds;
    }

    /// <summary>The rate the device's NimBLE host takes writes of <paramref name="valueBytes"/> at, nothing else slowing it.</summary>
    public double HostBytesPerSecond(int valueBytes) => valueBytes / HostTime(valueBytes).TotalSeconds;

    /// <summary>The NimBLE host's work on one received write of <paramref name="valueBytes"/>.</summary>
    public TimeSpan HostTime(int valueBytes) => HostTimePerWrite + HostTimePerByte * valueBytes;
}
