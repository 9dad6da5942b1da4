using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;
using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.Faults;

/// <summary>
/// A device the fault matrix can break from the device's side (flash, restarts) and then ask what it boots.
/// One implementation per device model: the C# simulator and the firmware's C core in the loop.
/// </summary>
internal interface IFaultDevice : IDisposable
{
    IBleTransport Transport { get; }

    string Address { get; }

    string Name { get; }

    /// <summary>False when the device has no timing model, so a slow flash cannot be told from a fast one.</summary>
    bool ModelsFlashTiming { get; }

    /// <summary>Flash fails in this phase: esp_ota_begin (Request), the write covering <paramref name="atByte"/> (Transfer), or setting the boot slot (Done).</summary>
    void FailFlash(UpdatePhase phase, int atByte);

    void SlowFlash();

    /// <summary>Power loss or a crash: the link drops and the bootloader picks the image.</summary>
    void PowerCycle();

    bool IsBricked { get; }

    /// <summary>True when the running slot holds exactly these bytes as a valid image.</summary>
    bool Runs(byte[] image);
}

/// <summary>How to make fresh devices of one kind for the matrix.</summary>
internal interface IFaultDeviceFactory
{
    string Name { get; }

    /// <summary>A new device with OTA slots of <paramref name="slotSize"/> bytes, running its factory image or <paramref name="runs"/> (flashed by cable).</summary>
    IFaultDevice Create(int slotSize, byte[]? runs = null);

    /// <summary>The image every new device runs.</summary>
    byte[] FactoryImage { get; }

    /// <summary>A slot size that takes the factory image but not an image larger than it.</summary>
    int SmallSlotSize { get; }

    int SlotSize { get; }
}

/// <summary>Simulated devices running <paramref name="firmware"/>: BleOta's, or the tutorial's.</summary>
internal sealed class SimulatorFaultDevices(SimulatedFirmware firmware = SimulatedFirmware.BleOta) : IFaultDeviceFactory
{
    public string Name => firmware == SimulatedFirmware.BleOta ? "simulator" : "simulated tutorial firmware";

    public int SlotSize => 256 * 1024;

    public int SmallSlotSize => 192 * 1024; // the factory image is 180 KB

    public byte[] FactoryImage => SampleImages.Factory;

    public IFaultDevice Create(int slotSize, byte[]? runs = null) => new SimulatorFaultDevice(slotSize, firmware, runs ?? SampleImages.Factory);

    private sealed class SimulatorFaultDevice : IFaultDevice
    {
        private readonly SimulatedDevice _device;
        private readonly SimulatedTransport _transport = new(speed: 0);

        public SimulatorFaultDevice(int slotSize, SimulatedFirmware firmware, byte[] runs)
        {
            var options = new SimulatedDeviceOptions { SlotSize = slotSize, Firmware = firmware };
            _device = _transport.Add(new SimulatedDevice("7E:57:FA:00:00:01", "fault-sim", runs, options));
        }

        public IBleTransport Transport => _transport;

        public string Address => _device.Address;

        public string Name => _device.Name;

        public bool ModelsFlashTiming => true;

        public bool IsBricked => _device.IsBricked;

        public void FailFlash(UpdatePhase phase, int atByte)
        {
            switch (phase)
            {
                case UpdatePhase.Request:
                    _device.Flash.FailBegin = true;
                    break;
                case UpdatePhase.Transfer:
                    _device.Flash.FailWriteAtOffset = atByte;
                    break;
                default:
                    _device.Flash.FailSetBoot = true;
                    break;
            }
        }

        public void SlowFlash() => _device.FlashSlowdown = 20;

        public void PowerCycle() => _device.PowerCycle();

        public bool Runs(byte[] image)
        {
            var running = _device.Flash.RunningImage;
            return running is { IsValid: true } && running.Bytes.Length >= image.Length && running.Bytes.AsSpan(0, image.Length).SequenceEqual(image);
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>The firmware's C core in the loop; without Info it stands for a device whose firmware has none.</summary>
internal sealed class HostFirmwareFaultDevices(bool hasInfo = true) : IFaultDeviceFactory
{
    public string Name => hasInfo ? "firmware core" : "firmware core without Info";

    public int SlotSize => 256 * 1024;

    public int SmallSlotSize => 64 * 1024;

    public byte[] FactoryImage => Factory.Value;

    private static readonly Lazy<byte[]> Factory = new(() =>
    {
        using var transport = new HostFirmwareTransport();
        return transport.AddDevice().ReadRunningImage()!;
    });

    public IFaultDevice Create(int slotSize, byte[]? runs = null) => new HostFaultDevice((uint)slotSize, hasInfo, runs);

    private sealed class HostFaultDevice : IFaultDevice
    {
        private readonly HostFirmwareTransport _transport = new();
        private readonly HostFirmwareDevice _device;

        public HostFaultDevice(uint slotSize, bool hasInfo, byte[]? runs)
        {
            _device = _transport.AddDevice("24:0A:C4:FA:00:01", "fault-core", slotSize, hasInfo: hasInfo);
            if (runs is not null)
            {
                _device.InstallImage(0, runs);
                _device.Reboot();
            }
        }

        public IBleTransport Transport => _transport;

        public string Address => _device.Address;

        public string Name => _device.Name;

        public bool ModelsFlashTiming => false;

        public bool IsBricked => _device.IsBricked;

        public void FailFlash(UpdatePhase phase, int atByte)
        {
            switch (phase)
            {
                case UpdatePhase.Request:
                    _device.FailBegin();
                    break;
                case UpdatePhase.Transfer:
                    _device.FailFlashWriteAt(atByte);
                    break;
                default:
                    _device.FailSetBootPartition();
                    break;
            }
        }

        public void SlowFlash() => throw new NotSupportedException("The host device has no clock.");

        public void PowerCycle() => _device.Reboot();

        public bool Runs(byte[] image) => _device.ReadRunningImage() is { } running && running.AsSpan().SequenceEqual(image);

        public void Dispose() => _transport.Dispose();
    }
}
