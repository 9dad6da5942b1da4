using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta.Bench;

/// <summary>
/// One profile's row: its modeled capacity, what each protocol BleOta's firmware offers achieved on it, and v1
/// against the tutorial's firmware.
/// </summary>
internal sealed record ProfileRow(LinkProfile Profile, double CapacityKBps, IReadOnlyDictionary<OtaProtocolVersion, OtaResult> Runs, OtaResult? Compressed, OtaResult Tutorial)
{
    public double? KBps(OtaProtocolVersion protocol) => Runs.TryGetValue(protocol, out var run) ? Rate(run) : null;

    public static double Rate(OtaResult run) => run.Bytes / 1000.0 / run.Duration.TotalSeconds;
}

/// <summary>Runs every protocol a simulated device supports over each link profile, in simulated time (speed 0).</summary>
internal static class ProfileBench
{
    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(30)) };

    public static ProfileRow Run(LinkProfile profile, byte[] image, byte[] realisticImage)
    {
        var runs = new Dictionary<OtaProtocolVersion, OtaResult>();
        var info = NewDevice(profile, SimulatedFirmware.BleOta, compression: false, out _).Info()!;
        // Every protocol the device offers: v2 (and its compression) join the table when the simulator serves them.
        for (int version = 1; version <= info.HighestProtocol; version++)
        {
            var protocol = (OtaProtocolVersion)version;
            runs[protocol] = Update(profile, image, protocol);
        }

        // Compression is a firmware build option (CONFIG_BLE_OTA_COMPRESSION, off by default for its RAM): the
        // compressed column is a device built with it, whenever the protocol can carry a compressed stream.
        var compressed = info.HighestProtocol >= (int)OtaProtocolVersion.V2
            ? Update(profile, realisticImage, OtaProtocolVersion.V2, compression: true)
            : null;
        var tutorial = Update(profile, image, OtaProtocolVersion.Auto, firmware: SimulatedFirmware.Tutorial);
        return new ProfileRow(profile, profile.CapacityBytesPerSecond() / 1000, runs, compressed, tutorial);
    }

    /// <summary>One update of a fresh simulated device on <paramref name="profile"/>; throws if it does not succeed.</summary>
    public static OtaResult Update(LinkProfile profile, byte[] image, OtaProtocolVersion protocol, bool compression = false, SimulatedFirmware firmware = SimulatedFirmware.BleOta)
    {
        var device = NewDevice(profile, firmware, compression, out var transport);
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, device.AdvertisedServices, transport));
        var session = updater.CreateSession(target, FirmwareImage.Parse(image, "bench.bin"));
        var result = updater.RunAsync(session, Options with { Protocol = protocol }, null, CancellationToken.None).GetAwaiter().GetResult();
        return result.Status == OtaStatus.Succeeded
            ? result
            : throw new InvalidOperationException($"{protocol} on {profile.Name} failed: {result.Error}");
    }

    private static SimulatedDevice NewDevice(LinkProfile profile, SimulatedFirmware firmware, bool compression, out SimulatedTransport transport)
    {
        transport = new SimulatedTransport(speed: 0);
        var options = new SimulatedDeviceOptions { Profile = profile, Firmware = firmware, Compression = compression };
        return transport.Add(new SimulatedDevice("BE:4C:00:00:00:01", "bench", SampleImages.Factory, options));
    }
}
