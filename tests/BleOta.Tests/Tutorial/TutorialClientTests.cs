using BleOta.Engine.Image;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Tutorial;

/// <summary>
/// The tutorial's unmodified Python client (modelled by <see cref="TutorialClient"/>) against BleOta's firmware as
/// configured by default (firmware/sdkconfig.defaults, the component's Kconfig): the real C core in the loop and
/// the simulated device, at every MTU a central may negotiate, with good and bad images.
/// </summary>
public sealed class TutorialClientTests : IDisposable
{
    private readonly HostFirmwareTransport? _core;

    public TutorialClientTests()
    {
        if (HostFirmwareSupport.IsAvailable())
        {
            _core = new HostFirmwareTransport();
        }
    }

    public void Dispose() => _core?.Dispose();

    /// <summary>
    /// What Bleak's mtu_size reports: 23 on Linux, 185 on macOS, 247 (common on Android and Windows), and 517, what
    /// a central asks for at most, which lands on the largest MTU the firmware's preferred MTU allows.
    /// </summary>
    public static TheoryData<int, BleakVersion> CentralMtus()
    {
        var data = new TheoryData<int, BleakVersion>();
        foreach (int mtu in new[] { 23, 185, 247, 517 })
        {
            data.Add(mtu, BleakVersion.Before021);
            data.Add(mtu, BleakVersion.Since021);
        }

        return data;
    }

    public static TheoryData<string> BadImages() => ["wrong chip", "truncated", "corrupted", "not an image"];

    private static byte[] Bad(string kind)
    {
        var image = TestImages.Build(version: "6.6.6", size: 30_000);
        switch (kind)
        {
            case "wrong chip":
                return TestImages.Build(version: "6.6.6", size: 30_000, chip: EspChip.Esp32S3);
            case "truncated":
                return image[..^700];
            case "corrupted":
                image[15_000] ^= 0x10;
                return image;
            default:
                image[0] = 0x00;
                return image;
        }
    }

    private HostFirmwareDevice CoreDevice()
    {
        Skip.If(_core is null, HostFirmwareSupport.NotBuilt);
        return _core!.AddDevice(name: FirmwareDefaults.DeviceName, maxMtu: FirmwareDefaults.PreferredMtu);
    }

    private static (SimulatedTransport Transport, SimulatedDevice Device) SimulatedDevice()
    {
        var transport = new SimulatedTransport(speed: 0);
        var options = new SimulatedDeviceOptions { DeviceMtu = FirmwareDefaults.PreferredMtu };
        return (transport, transport.Add(new SimulatedDevice("7E:57:70:00:00:01", FirmwareDefaults.DeviceName, SampleImages.Factory, options)));
    }

    [SkippableTheory]
    [MemberData(nameof(CentralMtus))]
    public async Task It_updates_the_firmware_core_at_every_mtu(int mtu, BleakVersion bleak)
    {
        var device = CoreDevice();
        var image = TestImages.Build(version: "3.1.0", size: 60_000);

        var run = await new TutorialClient(_core!, mtu, bleak).SendOtaAsync(image);

        Assert.True(run.Outcome == TutorialClientOutcome.Succeeded, string.Join(Environment.NewLine, run.Output));
        Assert.Equal(Math.Min(mtu, FirmwareDefaults.PreferredMtu) - 3, run.PacketSize);
        device.Reboot();
        Assert.Equal(image, device.ReadRunningImage());
    }

    [Theory]
    [MemberData(nameof(CentralMtus))]
    public async Task It_updates_the_simulated_firmware_at_every_mtu(int mtu, BleakVersion bleak)
    {
        var (transport, device) = SimulatedDevice();
        var image = TestImages.Build(version: "3.2.0", size: 60_000);

        var run = await new TutorialClient(transport, mtu, bleak).SendOtaAsync(image);

        Assert.True(run.Outcome == TutorialClientOutcome.Succeeded, string.Join(Environment.NewLine, run.Output));
        Assert.Equal(Math.Min(mtu, FirmwareDefaults.PreferredMtu) - 3, run.PacketSize);
        Assert.Equal("3.2.0", device.RunningVersion);
        Assert.Equal(image, device.Flash.RunningImage!.Bytes[..image.Length]);
    }

    [SkippableTheory]
    [MemberData(nameof(BadImages))]
    public async Task A_bad_image_ends_in_ota_failed_and_the_core_boots_its_old_image(string kind)
    {
        var device = CoreDevice();
        string? before = device.RunningVersion;

        var run = await new TutorialClient(_core!, 517).SendOtaAsync(Bad(kind));

        Assert.True(run.Outcome == TutorialClientOutcome.Failed, string.Join(Environment.NewLine, run.Output));
        Assert.Equal("OTA failed.", run.Output[^1]);
        Assert.Equal(HostCoreState.Idle, device.CoreState);
        device.Reboot();
        Assert.Equal(before, device.RunningVersion);
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public async Task A_bad_image_ends_in_ota_failed_and_the_simulated_device_boots_its_old_image(string kind)
    {
        var (transport, device) = SimulatedDevice();

        var run = await new TutorialClient(transport, 185).SendOtaAsync(Bad(kind));

        Assert.True(run.Outcome == TutorialClientOutcome.Failed, string.Join(Environment.NewLine, run.Output));
        device.PowerCycle();
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [SkippableFact]
    public async Task It_finds_only_a_device_named_exactly_esp32()
    {
        Skip.If(_core is null, HostFirmwareSupport.NotBuilt);
        using var renamed = new HostFirmwareTransport();
        renamed.AddDevice(name: "esp32-ota");

        var run = await new TutorialClient(renamed, 247).SendOtaAsync(TestImages.Build());

        Assert.Equal(TutorialClientOutcome.NotFound, run.Outcome);
        Assert.Equal("ESP32 has not been found.", run.Output[^1]);
    }

    [Theory]
    [InlineData(BleakVersion.Before021, TutorialClientOutcome.Succeeded)]
    [InlineData(BleakVersion.Since021, TutorialClientOutcome.Crashed)]
    public async Task Against_its_own_firmware_a_current_bleak_crashes_after_the_update_took(BleakVersion bleak, TutorialClientOutcome outcome)
    {
        var transport = new SimulatedTransport(speed: 0);
        var device = transport.EnsureDevices(1, new SimulatedDeviceOptions { Firmware = SimulatedFirmware.Tutorial })[0];

        var run = await new TutorialClient(transport, 185, bleak).SendOtaAsync(TestImages.Build(version: "3.3.0"));

        // DONE written with response waits for an answer the firmware never sends: it restarts inside the handler.
        Assert.True(run.Outcome == outcome, string.Join(Environment.NewLine, run.Output));
        Assert.Equal("ESP32: OTA done acknowledged.", run.Output[^(outcome == TutorialClientOutcome.Succeeded ? 2 : 1)]);
        Assert.Equal(outcome == TutorialClientOutcome.Crashed, run.Error is BleTransportException);
        Assert.Equal("3.3.0", device.RunningVersion);
    }
}
