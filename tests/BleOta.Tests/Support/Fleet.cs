using BleOta.Engine.Discovery;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Support;

/// <summary>
/// A private simulated fleet per test, running without waiting, so tests never share devices. Addresses are unique
/// in the whole test run, as the session registry behind Get-OtaProgress is shared by every test.
/// </summary>
internal sealed class Fleet(string adapter = "hci0")
{
    private static int _next;

    public SimulatedTransport Transport { get; } = new(speed: 0, adapter);

    public SimulatedDevice Add(DeviceFaults? faults = null, SimulatedFirmware firmware = SimulatedFirmware.BleOta, int? slotSize = null, int? deviceMtu = null, LinkProfile? profile = null, bool compression = false, byte[]? runs = null, bool delta = true)
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
            Delta = delta,
        };
        return Transport.Add(new SimulatedDevice($"7E:57:00:00:{number >> 8 & 0xFF:X2}:{number & 0xFF:X2}", $"test-{number:D2}", runs ?? SampleImages.Factory, options));
    }

    public Esp32Device Target(SimulatedDevice device) =>
        Esp32Device.FromAdvertisement(new BleAdvertisement(device.Address, device.Name, device.Rssi, [Engine.Protocol.OtaUuids.Service], Transport));
}
