using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// A radio whose peripherals are <see cref="SimulatedDevice"/>s. It serves CI, the demo and the benchmarks.
/// </summary>
public sealed class SimulatedTransport(double speed = 1, string adapter = "hci0") : IBleTransport
{
    private readonly ConcurrentDictionary<string, SimulatedDevice> _devices = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The fleet <c>Find-Esp32Device -Simulated</c> draws from: devices keep their firmware for the whole process.</summary>
    public static SimulatedTransport Shared { get; } = new();

    public string Name => "Simulated";

    public string? AdapterName => Adapter.Name;

    /// <summary>The radio its links share: one clock, and its air time divided between them.</summary>
    public SimulatedAdapter Adapter { get; } = new(adapter, speed);

    /// <summary>Simulated seconds per real second; 0 runs without waiting.</summary>
    public double Speed
    {
        get => Adapter.Speed;
        set => Adapter.Speed = value;
    }

    public IReadOnlyList<SimulatedDevice> Devices => _devices.Values.OrderBy(d => d.Address, StringComparer.Ordinal).ToList();

    public SimulatedDevice Add(SimulatedDevice device)
    {
        if (!_devices.TryAdd(device.Address, device))
        {
            throw new ArgumentException($"A simulated device with address {device.Address} already exists.");
        }

        device.Adapter = Adapter;
        return device;
    }

    /// <summary>
    /// Makes sure devices 1..count running <paramref name="options"/>' firmware exist and returns them: BleOta's
    /// named esp32-sim-01 ..., the tutorial's all named "esp32" as its gap.h names every device. With a
    /// <paramref name="profile"/>, every device of the fleet is put on it (existing ones keep their firmware).
    /// </summary>
    public IReadOnlyList<SimulatedDevice> EnsureDevices(int count, SimulatedDeviceOptions? options = null, LinkProfile? profile = null)
    {
        bool tutorial = options?.Firmware == SimulatedFirmware.Tutorial;
        var devices = new List<SimulatedDevice>(count);
        for (int number = 1; number <= count; number++)
        {
            string address = $"5A:1D:{(tutorial ? "7E" : "0E")}:00:{number >> 8:X2}:{number & 0xFF:X2}";
            string name = tutorial ? ScanFilter.TutorialName : $"esp32-sim-{number:D2}";
            devices.Add(_devices.GetOrAdd(address, a => new SimulatedDevice(a, name, SampleImages.Factory, options) { Adapter = Adapter }));
        }

        if (profile is not null)
        {
            foreach (var device in _devices.Values)
            {
                device.UseProfile(profile);
            }
        }

        return devices;
    }

    public string? KnownName(string address) => _devices.TryGetValue(address, out var device) ? device.Name : null;

    public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var clock = new SimulatedClock(Speed);
        foreach (var device in Devices)
        {
            // Devices advertise every 100 ms or so; a scan meets them one after another.
            await clock.AdvanceAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            if (!device.IsBricked && device.Connection is null)
            {
                yield return new BleAdvertisement(device.Address, device.Name, device.Rssi, device.AdvertisedServices, this);
            }
        }
    }

    /// <summary>
    /// Connects once the device advertises (after any reboot it is going through) and the connection and GATT
    /// discovery are done, on the adapter's clock.
    /// </summary>
    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        if (!_devices.TryGetValue(address, out var device))
        {
            throw new BleTransportException($"No device with address {address} is in range.", failure: BleTransportFailure.DeviceNotFound);
        }

        var actor = Adapter.Register(address);
        var connected = new TaskCompletionSource<IBleConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (Adapter.Gate)
        {
            TimeSpan booting;
            lock (device.Gate)
            {
                booting = device.BootTimeLeft(Adapter.Now);
            }

            actor.Connecting = new PendingConnect(address, Adapter.Now + booting, device.Options.Profile.ConnectTime, () =>
            {
                try
                {
                    connected.TrySetResult(Open(device, actor));
                }
                catch (BleTransportException ex)
                {
                    connected.TrySetException(ex);
                }
            });
        }

        using var cancel = cancellationToken.Register(() =>
        {
            if (connected.TrySetCanceled(cancellationToken))
            {
                lock (Adapter.Gate)
                {
                    actor.Connecting = null;
                }

                Adapter.Unregister(actor);
            }
        });
        Adapter.Blocked(actor);
        try
        {
            return await connected.Task.ConfigureAwait(false);
        }
        catch (BleTransportException)
        {
            Adapter.Unregister(actor);
            throw;
        }
    }

    private SimulatedConnection Open(SimulatedDevice device, LinkActor actor)
    {
        lock (device.Gate)
        {
            if (device.IsBricked)
            {
                throw new BleTransportException($"{device.Name} does not answer: it has no bootable firmware.", failure: BleTransportFailure.DeviceNotFound);
            }

            if (device.Connection is not null)
            {
                throw new BleTransportException($"{device.Name} is already connected to another client.", failure: BleTransportFailure.DeviceInUse);
            }
        }

        return new SimulatedConnection(device, Adapter, actor);
    }
}
