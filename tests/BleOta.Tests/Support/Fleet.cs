using BleOta.Engine.Discovery;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>A private simulated fleet per test, running without waiting, so tests never share devices.</summary>
internal sealed class Fleet
{
    private int _next;

    public SimulatedTransport Transport { get; } = new(speed: 0);

    public SimulatedDevice Add(DeviceFaults? faults = null, SimulatedFirmware firmware = SimulatedFirmware.BleOta, int? slotSize = null, int? deviceMtu = null, LinkProfile? profile = null, bool compression = false)
    {
        int number = Interlocked.Increment(ref _next);
        var options = new SimulatedDeviceOptions
        {
            Faults = faults ?? DeviceFaults.None,
            Firmware = firmware,
            SlotSize = slotSize ?? SimulatedDevice.DefaultSlotSize,
            DeviceMtu = deviceMtu,
            Profile = profile ?? LinkProfile.Default,
            Compression = compression,
        };
        return Transport.Add(new SimulatedDevice($"7E:57:00:00:00:{number:X2}", $"test-{number:D2}", SampleImages.Factory, options));
    }

    public Esp32Device Target(SimulatedDevice device) =>
        Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, [Engine.Protocol.OtaUuids.Service], Transport));
}
