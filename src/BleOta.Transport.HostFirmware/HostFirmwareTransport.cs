using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BleOta.Engine.Transport;

namespace BleOta.Transport.HostFirmware;

/// <summary>
/// Firmware in the loop: a transport whose peripherals are <see cref="HostFirmwareDevice"/>s, i.e. the
/// firmware's real C protocol core on a simulated ESP32 (libble_ota_host, built by firmware/test/run.sh).
/// Links have no timing model: every operation completes at once on the system clock.
/// </summary>
public sealed class HostFirmwareTransport : IBleTransport, IDisposable
{
    private readonly ConcurrentDictionary<string, HostFirmwareDevice> _devices = new(StringComparer.OrdinalIgnoreCase);

    public string Name => "HostFirmware";

    public IReadOnlyList<HostFirmwareDevice> Devices => _devices.Values.OrderBy(d => d.Address, StringComparer.Ordinal).ToList();

    /// <summary>Adds a device (see <see cref="HostFirmwareDevice"/> for the parameters) and returns it.</summary>
    public HostFirmwareDevice AddDevice(string address = "24:0A:C4:00:00:01", string name = "esp32",
        uint partitionSize = HostFirmwareDevice.DefaultPartitionSize, int maxMtu = HostFirmwareDevice.DefaultMaxMtu, bool hasInfo = true)
    {
        var device = new HostFirmwareDevice(address, name, partitionSize, maxMtu, hasInfo);
        if (!_devices.TryAdd(address, device))
        {
            device.Dispose();
            throw new ArgumentException($"A device with address {address} already exists.", nameof(address));
        }

        return device;
    }

    public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var device in Devices)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (device.IsBricked || device.Connection is not null)
            {
                continue; // a bricked device does not advertise; a connected one stops advertising
            }

            // The firmware advertises the OTA service UUID (CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID) unless it has no
            // Info; like the radios, this transport leaves matching to the engine.
            yield return new BleAdvertisement(device.Address, device.Name, device.Rssi, device.AdvertisedServices, this);
            await Task.Yield();
        }
    }

    public Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_devices.TryGetValue(address, out var device))
        {
            throw new BleTransportException($"No device with address {address} is in range.");
        }

        return Task.FromResult<IBleConnection>(HostFirmwareConnection.Open(device));
    }

    public void Dispose()
    {
        foreach (var device in _devices.Values)
        {
            device.Dispose();
        }

        _devices.Clear();
    }
}
