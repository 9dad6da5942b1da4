using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Tutorial;

/// <summary>
/// BleOta's engine against devices running the tutorial's firmware (the simulated model of esp/main/gatt_svr.c
/// and gap.c), and against the firmware's C core presented without Info, as such devices are.
/// </summary>
public sealed class TutorialFirmwareTests
{
    private static readonly OtaOptions Fast = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(2)) };

    private static (SimulatedTransport Transport, SimulatedDevice Device) TutorialDevice(DeviceFaults? faults = null, int slotSize = SimulatedDevice.DefaultSlotSize)
    {
        var transport = new SimulatedTransport(speed: 0);
        var options = new SimulatedDeviceOptions { Firmware = SimulatedFirmware.Tutorial, Faults = faults ?? DeviceFaults.None, SlotSize = slotSize };
        return (transport, transport.Add(new SimulatedDevice("7E:57:7E:00:00:01", ScanFilter.TutorialName, SampleImages.Factory, options)));
    }

    private static async Task<OtaResult> Update(IBleTransport transport, string address, byte[] image, OtaOptions? options = null)
    {
        var devices = await Scan(transport);
        var target = devices.Single(d => d.Address == address);
        var updater = new OtaUpdater(new OtaSessionRegistry());
        return await updater.RunAsync(updater.CreateSession(target, FirmwareImage.Parse(image, "app.bin")), options ?? Fast, null, CancellationToken.None);
    }

    private static async Task<List<Esp32Device>> Scan(IBleTransport transport)
    {
        var found = new List<Esp32Device>();
        await foreach (var device in DeviceScanner.ScanAsync(transport, ScanFilter.OtaService, TimeSpan.FromSeconds(5), CancellationToken.None))
        {
            found.Add(device);
        }

        return found;
    }

    [Fact]
    public async Task A_scan_for_ota_devices_finds_it_by_its_name_alone()
    {
        var (transport, device) = TutorialDevice();
        transport.Add(new SimulatedDevice("7E:57:7E:00:00:02", "thermostat", SampleImages.Factory,
            new SimulatedDeviceOptions { Firmware = SimulatedFirmware.Tutorial }));

        var found = await Scan(transport);

        Assert.Empty(device.AdvertisedServices);
        var only = Assert.Single(found);
        Assert.Equal((device.Address, "esp32", false), (only.Address, only.Name, only.AdvertisesOta));
    }

    [Fact]
    public async Task Auto_updates_it_with_v1_and_reports_success_although_the_done_write_is_never_answered()
    {
        var (transport, device) = TutorialDevice();
        var image = TestImages.Build(version: "4.0.0", size: 50_000);
        var log = new RecordingLog();

        var result = await Update(transport, device.Address, image, Fast with { Log = log });

        Assert.True(result.Status == OtaStatus.Succeeded, result.Error);
        Assert.Equal((OtaProtocolVersion.V1, (string?)null, "4.0.0"), (result.Protocol, result.VersionBefore, result.VersionAfter));
        Assert.Equal(V1Client.PacketCount(image.Length, TutorialFirmwareModel.PreferredMtu - 3), result.Packets);
        Assert.Contains(log.Verbose, line => line.Contains("no Info characteristic (tutorial firmware)", StringComparison.Ordinal));
        Assert.Equal("4.0.0", device.RunningVersion);
        Assert.Equal(2, device.BootCount);
    }

    [Fact]
    public async Task A_short_last_packet_is_padded_with_stale_bytes_that_the_image_check_ignores()
    {
        var (transport, device) = TutorialDevice();
        var image = TestImages.Build(version: "4.1.0", size: 50_000);
        Assert.NotEqual(0, image.Length % (TutorialFirmwareModel.PreferredMtu - 3));

        await Update(transport, device.Address, image);

        // The last packet overwrote only the start of the 512-byte buffer; the rest of its 253 bytes are the packet before's.
        int packets = V1Client.PacketCount(image.Length, 253), last = image.Length - (packets - 1) * 253;
        var slot = device.Flash.RunningImage!.Bytes;
        Assert.Equal(image, slot[..image.Length]);
        Assert.Equal(image[((packets - 2) * 253 + last)..((packets - 1) * 253)], slot[image.Length..(packets * 253)]);
        Assert.Equal("4.1.0", device.RunningVersion);
    }

    [Theory]
    [InlineData("wrong chip")]
    [InlineData("too large")]
    public async Task What_it_cannot_check_before_sending_ends_in_done_nak_and_a_failure(string kind)
    {
        var (transport, device) = TutorialDevice(slotSize: 192 * 1024); // the factory image is 180 KB
        var image = kind == "wrong chip" ? TestImages.Build(chip: EspChip.Esp32C3) : TestImages.Build(size: 200 * 1024);

        var result = await Update(transport, device.Address, image);

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.ImageRejected), (result.Status, result.ErrorCode));
        Assert.Equal(image.Length, result.Bytes); // no Info: the engine could not refuse it up front
        device.PowerCycle();
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task A_failing_esp_ota_begin_is_answered_with_request_nak()
    {
        var (transport, device) = TutorialDevice(new DeviceFaults { RejectRequest = true });

        var result = await Update(transport, device.Address, TestImages.Build());

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.RequestRejected), (result.Status, result.ErrorCode));
        Assert.Equal(0, result.Bytes);
    }

    [Fact]
    public async Task A_flash_write_error_is_ignored_until_the_image_check_at_done()
    {
        var (transport, device) = TutorialDevice(new DeviceFaults { FailFlashWriteAt = 10_000 });

        var result = await Update(transport, device.Address, TestImages.Build(size: 30_000));

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.ImageRejected), (result.Status, result.ErrorCode));
        device.PowerCycle();
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task A_link_lost_before_any_answer_fails_and_the_device_keeps_its_firmware()
    {
        var (transport, device) = TutorialDevice(new DeviceFaults { DisconnectAfterBytes = 20_000, DisconnectTimes = 1 });

        var result = await Update(transport, device.Address, TestImages.Build(version: "5.0.0", size: 40_000));

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.Disconnected), (result.Status, result.ErrorCode));
        Assert.True(device.Flash.IsUpdating); // gap.c aborts nothing on a disconnect: the handle stays open
        Assert.Equal(OtaStatus.Succeeded, (await Update(transport, device.Address, TestImages.Build(version: "5.0.1"))).Status);
        Assert.Equal("5.0.1", device.RunningVersion);
    }

    [Fact]
    public async Task Its_gatt_table_has_device_information_and_no_info()
    {
        var (transport, device) = TutorialDevice();
        await using var connection = await transport.ConnectAsync(device.Address, CancellationToken.None);

        Assert.False(connection.HasCharacteristic(OtaUuids.Info));
        Assert.Equal("Company 42"u8.ToArray(), await connection.ReadAsync(TutorialFirmwareModel.ManufacturerName, CancellationToken.None));
        Assert.Equal("ESP32"u8.ToArray(), await connection.ReadAsync(TutorialFirmwareModel.ModelNumber, CancellationToken.None));
        Assert.Equal(TutorialFirmwareModel.PreferredMtu, await connection.RequestMtuAsync(517, CancellationToken.None));
    }

    [Fact]
    public async Task A_control_write_of_the_wrong_length_is_refused_but_acts_on_the_stored_value()
    {
        var (transport, device) = TutorialDevice();
        await using var connection = await transport.ConnectAsync(device.Address, CancellationToken.None);
        var notes = new List<byte[]>();
        await connection.SubscribeAsync(OtaUuids.Control, notes.Add, CancellationToken.None);
        await connection.WriteAsync(OtaUuids.Data, new byte[] { 100, 0 }, WriteType.WithResponse, CancellationToken.None);
        await connection.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Request }, WriteType.WithResponse, CancellationToken.None);

        var error = await Assert.ThrowsAsync<BleAttException>(() => connection.WriteAsync(OtaUuids.Control, new byte[] { 0x04, 0x02 }, WriteType.WithResponse, CancellationToken.None));

        Assert.Equal(OtaAttError.InvalidAttributeValueLength, error.AttError);
        Assert.Equal([[(byte)OtaOpcode.RequestAck]], notes); // the stored REQUEST_ACK is no opcode it acts on
        Assert.Equal(new[] { (byte)OtaOpcode.RequestAck }, await connection.ReadAsync(OtaUuids.Control, CancellationToken.None));
    }

    [SkippableFact]
    public async Task The_firmware_core_without_info_is_updated_with_v1_and_found_by_name()
    {
        Skip.IfNot(HostFirmwareSupport.IsAvailable(), HostFirmwareSupport.NotBuilt);
        using var transport = new HostFirmwareTransport();
        var device = transport.AddDevice(hasInfo: false);

        var result = await Update(transport, device.Address, TestImages.Build(version: "6.0.0"), Fast with { Verify = true });

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V1, (bool?)null), (result.Status, result.Protocol, result.Verified));
        Assert.Equal("6.0.0", device.RunningVersion);
    }
}
