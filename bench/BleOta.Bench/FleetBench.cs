using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;

namespace BleOta.Bench;

/// <summary>One fleet run: devices updated together through their adapters, in waves of at most the throttle limit.</summary>
internal sealed record FleetRow(OtaProtocolVersion Protocol, int Devices, int Adapters, int ThrottleLimit, TimeSpan Total, double PerDeviceKBps, double AggregateKBps);

/// <summary>
/// Updates of several simulated devices sharing one adapter's air time (or two adapters', hci0 and hci1, the devices
/// split evenly between them), at most the throttle limit at once per adapter, in waves: the next wave starts when the
/// last of the previous one is done. This is what one <c>Invoke-Esp32Ota -Adapter hci0, hci1 -ThrottleLimit N</c> does,
/// as its limit counts per adapter, except that it starts the next device as soon as one is done; identical devices of
/// a wave finish within a connection time of each other, so the difference is small. Each wave starts at one simulated
/// instant, so the figures are the same on every run.
/// </summary>
internal static class FleetBench
{
    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(120)) };

    public static FleetRow Run(LinkProfile profile, byte[] image, OtaProtocolVersion protocol, int devices, int adapters, int throttleLimit)
    {
        var transports = Enumerable.Range(0, adapters).Select(a => new SimulatedTransport(speed: 0, adapter: $"hci{a}")).ToList();
        var results = new List<OtaResult>();
        int perAdapter = devices / adapters;
        for (int first = 0; first < perAdapter; first += throttleLimit)
        {
            int wave = Math.Min(throttleLimit, perAdapter - first);
            var holds = transports.Select(t => t.Adapter.Hold()).ToList();
            var runs = new List<Task<OtaResult>>();
            foreach (var (transport, a) in transports.Select((t, a) => (t, a)))
            {
                for (int i = first; i < first + wave; i++)
                {
                    var device = transport.Add(new SimulatedDevice($"F1:EE:70:00:{a:X2}:{i:X2}", $"fleet-{a}-{i}", SampleImages.Factory, ProfileBench.After(profile)));
                    var updater = new OtaUpdater(new OtaSessionRegistry());
                    var target = Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, [OtaUuids.Service], transport));
                    var session = updater.CreateSession(target, FirmwareImage.Parse(image, "fleet.bin"));
                    runs.Add(Task.Run(() => updater.RunAsync(session, Options with { Protocol = protocol }, null, CancellationToken.None)));
                }
            }

            // The wave starts once every update in it waits on its adapter (its connection attempt).
            while (transports.Any(t => t.Adapter.Clients < wave))
            {
                Thread.Sleep(1);
            }

            holds.ForEach(h => h.Dispose());
            results.AddRange(Task.WhenAll(runs).GetAwaiter().GetResult());
        }

        var failed = results.FirstOrDefault(r => r.Status != OtaStatus.Succeeded);
        if (failed is not null)
        {
            throw new InvalidOperationException($"A fleet update failed: {failed.Error}");
        }

        var total = transports.Max(t => t.Adapter.Now);
        return new FleetRow(protocol, devices, adapters, throttleLimit, total,
            results.Average(r => r.Bytes / 1000.0 / r.Duration.TotalSeconds), devices * (double)image.Length / 1000 / total.TotalSeconds);
    }
}
