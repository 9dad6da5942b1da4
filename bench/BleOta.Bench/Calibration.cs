using BleOta.Engine.Session;
using BleOta.Transport.Simulated;

namespace BleOta.Bench;

/// <summary>A published measurement, and what the model gives for the same setup.</summary>
internal sealed record CalibrationRow(string Setup, string Source, string Published, string Model, string Use);

/// <summary>
/// The model against every published figure link-model.md cites: each setup rebuilt as a profile and run through
/// the simulated link (or, for a stream the link does not model, its air-time formula).
/// </summary>
internal static class Calibration
{
    public static IReadOnlyList<CalibrationRow> Rows(OtaResult seedV1, IReadOnlyList<ProfileRow> rows)
    {
        // ESP-IDF's NimBLE throughput_app: two classic ESP32, 7.5 ms, event length 7.5 ms, MTU 512, 500-byte writes.
        var esp32Central = LinkProfile.Esp32OneMegDle with
        {
            ConnectionInterval = TimeSpan.FromMilliseconds(7.5), EventGuard = TimeSpan.Zero, ClientMaxMtu = 512, FirmwareMtu = 512,
        };
        // esp-idf issue 18736: Linux writes 244-byte values (MTU 247) at 15 ms.
        var linux247 = LinkProfile.Esp32OneMegDle with { ConnectionInterval = TimeSpan.FromMilliseconds(15), ClientMaxMtu = 247, FirmwareMtu = 247 };
        // ble50_throughput: ESP32-C3/S3 notify 495-byte values at a 130 ms interval, MTU 517.
        var ble50 = LinkProfile.Esp32OneMegDle with { EventGuard = TimeSpan.Zero };
        var interval130 = TimeSpan.FromMilliseconds(130);
        var interval7 = TimeSpan.FromMilliseconds(7.5);
        var best = rows.Where(r => r.Profile.Phy == BlePhy.Le1M && r.Profile != LinkProfile.SeedMacOS).Max(r => ProfileRow.Rate(r.After));

        return
        [
            new("NimBLE throughput_app, ESP32 to ESP32, 1M, 7.5 ms, 500-byte writes without response, no flash",
                "[throughput]", "~62.5 kB/s (500 kbit/s)", $"{KBps(StreamWrites(esp32Central, 500))} kB/s", "check"),
            new("Linux to ESP32, Bluedroid, 1M, 15 ms, MTU 247", "[18736]", "~83 kB/s",
                $"{KBps(StreamWrites(linux247 with { HostTimePerWrite = TimeSpan.Zero }, 244))} kB/s (air only)", "fits the central's event guard"),
            new("Linux to ESP32, NimBLE defaults, 1M, 15 ms, MTU 247", "[18736]", "at most 60 kB/s",
                $"{KBps(StreamWrites(linux247, 244))} kB/s", "fits the NimBLE host's time per write"),
            new("ESP32-C3/S3 notifications, 1M, 130 ms, 495-byte values (Bluedroid)", "[ble50]", "97.1 kB/s",
                $"{ble50.AirBytesPerSecond(495, interval130) / 1000:0.0} kB/s (air)", "check"),
            new("ESP32-C3/S3 notifications, 2M, 130 ms, 495-byte values (Bluedroid)", "[ble50]", "175.2 kB/s",
                $"{(ble50 with { Phy = BlePhy.Le2M }).AirBytesPerSecond(495, interval130) / 1000:0.0} kB/s (air)", "check"),
            new("NimBLE L2CAP CoC, ESP32-C6, 7.5 ms, 2048-byte SDUs, 1M / 2M", "[coc]", "~92.6 / ~164 kB/s",
                $"{ble50.AirBytesPerSecond(2048, interval7) / 1000:0.0} / {(ble50 with { Phy = BlePhy.Le2M }).AirBytesPerSecond(2048, interval7) / 1000:0.0} kB/s (air)",
                "check: the host is not the limit with large SDUs"),
            new("Fastest published ESP32 BLE OTA component (simple_ble_ota, NimBLE, IDF 5.4+)", "[simple]", "40+ kB/s",
                $"{best:0.0} kB/s (BleOta v2, best 1M profile)", "comparison"),
            new("The seed: its Python client on a Mac, v1, 500 kB", "[seed]", "~90 s (5.5 kB/s)",
                $"{seedV1.Duration.TotalSeconds:0.0} s ({ProfileRow.Rate(seedV1):0.0} kB/s)", "v1 calibration, ±30 %"),
        ];

        static string KBps(double bytesPerSecond) => (bytesPerSecond / 1000).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Writes without response of <paramref name="valueBytes"/> streamed through a simulated link to a device
    /// that does nothing with them but its host's work (OTA Data refuses them while idle: no flash), timed from
    /// the first write to the answer of a request sent behind the last one.
    /// </summary>
    public static double StreamWrites(LinkProfile profile, int valueBytes, int writes = 2000)
    {
        var transport = new SimulatedTransport(speed: 0);
        var device = transport.Add(new SimulatedDevice("CA:11:B0:00:00:01", "calibration", SampleImages.Factory,
            new SimulatedDeviceOptions { Profile = profile, RequestedInterval = TimeSpan.Zero }));
        return LinkRate.StreamWritesAsync(transport, device, valueBytes, writes).GetAwaiter().GetResult();
    }
}
