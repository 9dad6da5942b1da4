using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

public class SimulatedUpdateTests
{
    private static readonly OtaOptions Fast = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(2)) };

    private static Task<OtaResult> Update(Fleet fleet, SimulatedDevice device, byte[] image, OtaOptions? options = null)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(image, "test.bin"));
        return updater.RunAsync(session, options ?? Fast, null, CancellationToken.None);
    }

    [Fact]
    public async Task A_good_update_boots_the_new_image_and_reports_both_versions()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var image = TestImages.Build(version: "2.0.0", size: 120_000);

        var result = await Update(fleet, device, image);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal(("1.0.0", "2.0.0"), (result.VersionBefore, result.VersionAfter));
        Assert.Equal(image.Length, result.Bytes);
        Assert.Equal("2.0.0", device.RunningVersion);
        Assert.Equal(1, device.Flash.RunningSlot);
        Assert.Equal(SlotState.Valid, device.Flash.StateOf(1));
        Assert.Equal(2, device.BootCount);
    }

    [Fact]
    public async Task Seed_firmware_is_updated_with_512_byte_packets_and_no_info()
    {
        var fleet = new Fleet();
        var device = fleet.Add(firmware: SimulatedFirmware.Tutorial, deviceMtu: 517);
        var image = TestImages.Build(size: 20_000);

        var result = await Update(fleet, device, image);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Null(result.VersionBefore);
        Assert.Equal((image.Length + 511) / 512, result.Packets);
        Assert.Equal("2.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task Two_updates_in_a_row_alternate_slots()
    {
        var fleet = new Fleet();
        var device = fleet.Add();

        await Update(fleet, device, TestImages.Build(version: "2.0.0"));
        var second = await Update(fleet, device, TestImages.Build(version: "3.0.0"));

        Assert.Equal(("2.0.0", "3.0.0"), (second.VersionBefore, second.VersionAfter));
        Assert.Equal(0, device.Flash.RunningSlot);
    }

    [Fact]
    public async Task A_device_that_naks_the_request_keeps_its_firmware()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { RejectRequest = true });

        var result = await Update(fleet, device, TestImages.Build());

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.RequestRejected), (result.Status, result.ErrorCode));
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task A_silent_device_times_out()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { IgnoreRequest = true });
        var options = Fast with { Timeouts = OtaTimeouts.All(TimeSpan.FromMilliseconds(200)) };

        var result = await Update(fleet, device, TestImages.Build(), options);

        Assert.Equal(OtaErrorCode.AckTimeout, result.ErrorCode);
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20_000)]
    [InlineData(39_000)]
    public async Task A_link_lost_mid_v1_transfer_leaves_the_old_firmware_running_and_the_device_free(int after)
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { DisconnectAfterBytes = after });

        var result = await Update(fleet, device, TestImages.Build(size: 40_000), Fast with { Protocol = OtaProtocolVersion.V1 });

        Assert.Equal(OtaErrorCode.Disconnected, result.ErrorCode);
        Assert.False(device.Flash.IsUpdating);
        device.Restart();
        Assert.Equal("1.0.0", device.RunningVersion);
        Assert.False(device.IsBricked);
    }

    [Theory]
    [InlineData(OtaProtocolVersion.V1, "ATT 0x82")]
    [InlineData(OtaProtocolVersion.V2, "v2 error 9 Flash")]
    public async Task A_flash_write_failure_aborts_and_the_old_image_boots(OtaProtocolVersion protocol, string reason)
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { FailFlashWriteAt = 10_000 });

        var result = await Update(fleet, device, TestImages.Build(size: 40_000), Fast with { Protocol = protocol });

        Assert.Equal(OtaStatus.Failed, result.Status);
        Assert.Equal(OtaErrorCode.FlashFailed, result.ErrorCode);
        Assert.Contains(reason, result.Error);
        Assert.False(device.Flash.IsUpdating);
        device.Restart();
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task A_damaged_image_that_reaches_the_device_gets_done_nak_and_changes_nothing()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var bytes = TestImages.Build();
        bytes[5000] ^= 0x01;
        var connection = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(517, CancellationToken.None);

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(OtaTimeouts.Default).SendAsync(connection, bytes, null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.ImageRejected, error.Code);
        await connection.DisposeAsync();
        device.Restart();
        Assert.Equal("1.0.0", device.RunningVersion);
        Assert.Equal(SlotState.Invalid, device.Flash.StateOf(1));
    }

    [Fact]
    public async Task An_image_whose_self_test_fails_is_rolled_back()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { SelfTestFails = true });

        var result = await Update(fleet, device, TestImages.Build(version: "2.0.0"));

        Assert.Equal(OtaStatus.Succeeded, result.Status); // the transfer worked; only -Verify can see the rollback
        Assert.Equal("1.0.0", device.RunningVersion);
        Assert.Equal(SlotState.Aborted, device.Flash.StateOf(1));
    }

    [Fact]
    public async Task Verify_reconnects_after_the_restart_and_confirms_the_running_version()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var log = new RecordingLog();

        var result = await Update(fleet, device, TestImages.Build(version: "2.0.0"), Fast with { Verify = true, Log = log });

        Assert.Equal((OtaStatus.Succeeded, true, "2.0.0"), (result.Status, result.Verified, result.VersionAfter));
        Assert.Contains(log.Verbose, line => line == "Verified: the device runs 2.0.0 after restarting.");
        Assert.Contains(log.Debug, line => line.StartsWith("After the restart the device reports test-app 2.0.0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Verify_catches_a_rollback_to_another_build_of_the_same_version_by_the_image_hash()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { SelfTestFails = true }, runs: TestImages.Build(version: "2.0.0", seed: 1));

        var result = await Update(fleet, device, TestImages.Build(version: "2.0.0", seed: 2), Fast with { Verify = true });

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.RolledBack, false), (result.Status, result.ErrorCode, result.Verified));
        Assert.Contains("runs 2.0.0 of another build, not 2.0.0", result.Error);
    }

    [Fact]
    public async Task Verify_reports_a_rollback_as_a_failure_and_the_device_keeps_booting()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { SelfTestFails = true });

        var result = await Update(fleet, device, TestImages.Build(version: "2.0.0"), Fast with { Verify = true });

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.RolledBack, false), (result.Status, result.ErrorCode, result.Verified));
        Assert.Equal(("1.0.0", "1.0.0"), (result.VersionBefore, result.VersionAfter));
        Assert.Contains("runs 1.0.0, not 2.0.0", result.Error);
        Assert.False(device.IsBricked);
    }

    [Fact]
    public async Task Verify_warns_instead_of_checking_a_device_without_info()
    {
        var fleet = new Fleet();
        var device = fleet.Add(firmware: SimulatedFirmware.Tutorial);
        var log = new RecordingLog();

        var result = await Update(fleet, device, TestImages.Build(version: "2.0.0"), Fast with { Verify = true, Log = log });

        Assert.Equal((OtaStatus.Succeeded, (bool?)null), (result.Status, result.Verified));
        Assert.Single(log.Warning, line => line.StartsWith("-Verify cannot check this device", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_restarted_device_is_reachable_only_after_its_reboot_time()
    {
        var fleet = new Fleet();
        var profile = LinkProfile.Default with { RebootTime = TimeSpan.FromSeconds(3) };
        var device = fleet.Add(profile: profile);
        await Update(fleet, device, TestImages.Build(version: "2.0.0"));
        var adapter = fleet.Transport.Adapter;
        var acknowledged = adapter.Now; // DONE_ACK's answer arrived; the firmware's restart timer runs from just before it

        var afterReboot = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        var waited = adapter.Now - acknowledged;
        await afterReboot.DisposeAsync();
        var booted = adapter.Now;
        await using var later = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);

        var boot = profile.RebootTime + profile.ConnectTime;
        Assert.InRange(waited, boot, boot + device.Model.RestartDelay);
        Assert.Equal(profile.ConnectTime, adapter.Now - booted);
    }

    [Fact]
    public async Task An_image_for_another_chip_is_refused_before_the_request()
    {
        var fleet = new Fleet();
        var device = fleet.Add();

        var result = await Update(fleet, device, TestImages.Build(chip: EspChip.Esp32S3));

        Assert.Equal(OtaErrorCode.ImageWrongChip, result.ErrorCode);
        Assert.Contains("ESP32-S3", result.Error);
        Assert.Equal(0, result.Bytes);
    }

    [Fact]
    public async Task An_image_larger_than_the_slot_is_refused_before_the_request()
    {
        var fleet = new Fleet();
        var device = fleet.Add(slotSize: 256 * 1024);

        var result = await Update(fleet, device, TestImages.Build(size: 300_000));

        Assert.Equal(OtaErrorCode.ImageTooLarge, result.ErrorCode);
        Assert.Equal(0, result.Bytes);
    }

    [Fact]
    public async Task Cancelling_mid_transfer_leaves_the_device_free_and_on_its_old_firmware()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(TestImages.Build(size: 200_000)));
        using var cancel = new CancellationTokenSource();
        var progress = new SyncProgress<OtaProgress>(p =>
        {
            if (p.PacketsSent >= 50)
            {
                cancel.Cancel();
            }
        });

        var result = await updater.RunAsync(session, Fast, progress, cancel.Token);

        Assert.Equal(OtaStatus.Cancelled, result.Status);
        Assert.Null(device.Connection);
        Assert.False(device.Flash.IsUpdating);
        Assert.Equal(OtaStatus.Succeeded, (await Update(fleet, device, TestImages.Build(version: "4.0.0"))).Status);
    }

    [Fact]
    public async Task Simulated_time_charges_two_connection_events_per_acknowledged_packet()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var image = TestImages.Build(size: 100_000);

        var result = await Update(fleet, device, image, Fast with { Protocol = OtaProtocolVersion.V1 });

        // Lower bound from the link alone: each 512-byte packet costs two connection events.
        var linkOnly = device.Options.Profile.ConnectionInterval * 2 * result.Packets;
        Assert.InRange(result.Duration, linkOnly, linkOnly * 1.6);
    }

    [Fact]
    public async Task Auto_uses_v2_on_BleOta_firmware_and_v1_on_seed_firmware()
    {
        var fleet = new Fleet();
        var bleota = fleet.Add();
        var seed = fleet.Add(firmware: SimulatedFirmware.Tutorial);
        var image = TestImages.Build(version: "6.0.0", size: 50_000);

        var onBleOta = await Update(fleet, bleota, image);
        var onSeed = await Update(fleet, seed, image);

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (onBleOta.Status, onBleOta.Protocol));
        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V1), (onSeed.Status, onSeed.Protocol));
        Assert.Equal(("6.0.0", "6.0.0"), (bleota.RunningVersion, seed.RunningVersion));
    }

    [Fact]
    public async Task V2_on_seed_firmware_fails_with_a_reason_before_sending_anything()
    {
        var fleet = new Fleet();
        var seed = fleet.Add(firmware: SimulatedFirmware.Tutorial);

        var result = await Update(fleet, seed, TestImages.Build(), Fast with { Protocol = OtaProtocolVersion.V2 });

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.ProtocolNotSupported), (result.Status, result.ErrorCode));
        Assert.Contains("speaks only protocol v1", result.Error);
        Assert.Equal(0, result.Bytes);
        Assert.False(seed.Flash.IsUpdating);
    }

    [Fact]
    public async Task V2_sends_the_image_compressed_when_the_device_offers_it_and_it_boots_identical()
    {
        var fleet = new Fleet();
        var device = fleet.Add(compression: true);
        var image = TestImages.BuildCompressible(version: "7.0.0", size: 150_000);

        var result = await Update(fleet, device, image);

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (result.Status, result.Protocol));
        Assert.True(result.Bytes < image.Length * 3 / 4, $"{result.Bytes} bytes on air for a {image.Length}-byte image");
        Assert.Equal(image, device.Flash.RunningImage!.Bytes[..image.Length]);
    }

    [Fact]
    public async Task A_device_with_the_default_build_gets_a_compressible_image_compressed_and_a_barely_compressible_one_as_it_is()
    {
        var fleet = new Fleet();
        var device = fleet.Transport.Add(new SimulatedDevice("11:4B:00:00:0C:01", "default-build", SampleImages.Factory, new SimulatedDeviceOptions()));
        Assert.True(device.Info()!.Features.HasFlag(DeviceFeatures.Deflate8K), "CONFIG_BLE_OTA_COMPRESSION is on by default");
        Assert.False(device.Info()!.Features.HasFlag(DeviceFeatures.Compression), "bit 0 would invite 32 KB-window streams");
        var compressible = TestImages.BuildCompressible(version: "7.1.0", size: 150_000);

        var result = await Update(fleet, device, compressible, Fast with { Delta = DeltaMode.Off });

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Compressed), (result.Status, result.Transfer));
        Assert.True(result.Bytes < compressible.Length * 3 / 4, $"{result.Bytes} bytes on air for a {compressible.Length}-byte image");
        Assert.Equal(compressible, device.Flash.RunningImage!.Bytes[..compressible.Length]);

        // An image that deflates to more than 90 % goes as it is: half the ring is not worth a few percent.
        var barely = TestImages.Build(version: "7.2.0", size: 150_000);
        Assert.True(V2Client.Compress(barely).Length > barely.Length * 0.9);
        var plain = await Update(fleet, device, barely, Fast with { Delta = DeltaMode.Off });
        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Full, barely.Length), (plain.Status, plain.Transfer, (int)plain.Bytes));
    }

    [Fact]
    public async Task V2_needs_less_simulated_time_than_v1_for_the_same_image()
    {
        var fleet = new Fleet();
        var image = TestImages.Build(size: 200_000);

        var v1 = await Update(fleet, fleet.Add(), image, Fast with { Protocol = OtaProtocolVersion.V1 });
        var v2 = await Update(fleet, fleet.Add(), image, Fast with { Protocol = OtaProtocolVersion.V2 });

        Assert.Equal((OtaStatus.Succeeded, OtaStatus.Succeeded), (v1.Status, v2.Status));
        Assert.True(v2.Duration < v1.Duration, $"v2 {v2.Duration} vs v1 {v1.Duration}");
    }

    [Fact]
    public async Task A_v2_update_whose_link_drops_once_reconnects_and_resumes_from_the_devices_offset()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { DisconnectAfterBytes = 40_000, DisconnectTimes = 1 });
        var image = TestImages.Build(version: "2.5.0", size: 120_000);
        var log = new RecordingLog();

        var result = await Update(fleet, device, image, Fast with { Protocol = OtaProtocolVersion.V2, Log = log });

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal("2.5.0", device.RunningVersion);
        Assert.Equal(2, device.BootCount); // one update, resumed: the device never restarted in between
        Assert.Contains(log.Verbose, l => l.Contains("reconnecting to resume (1 of 3)"));
    }

    [Fact]
    public async Task A_v2_update_gives_up_after_its_reconnects_and_the_old_firmware_keeps_running()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { DisconnectAfterBytes = 40_000 }); // out of range for good

        var result = await Update(fleet, device, TestImages.Build(size: 120_000), Fast with { Protocol = OtaProtocolVersion.V2, MaxReconnects = 2 });

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.Disconnected), (result.Status, result.ErrorCode));
        Assert.Equal(3, device.DisconnectFaultsFired);
        device.Restart();
        Assert.Equal("1.0.0", device.RunningVersion);
    }
}
