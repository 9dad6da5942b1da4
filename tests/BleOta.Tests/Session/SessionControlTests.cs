using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Session;

/// <summary>What an update does when it is stopped, skipped or cannot connect, and what the read-only inspection sees.</summary>
public class SessionControlTests
{
    private static readonly OtaOptions Fast = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(2)) };

    [Fact]
    public async Task A_session_cancelled_before_its_turn_ends_with_the_reason_and_never_connects()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(TestImages.Build()));

        Assert.True(session.Cancel("Stopped for the test"));
        var result = await updater.RunAsync(session, Fast, null, CancellationToken.None);

        Assert.Equal(OtaStatus.Cancelled, result.Status);
        Assert.Equal("Stopped for the test; nothing was sent.", result.Error);
        Assert.Equal(OtaState.Cancelled, session.Snapshot().State);
        Assert.Equal(0, device.Flash.Written);
        Assert.False(session.Cancel("again"), "a finished session cannot be cancelled");
    }

    [Fact]
    public async Task Cancelling_a_running_session_aborts_it_and_the_device_keeps_its_firmware()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        fleet.Transport.Speed = 1; // real time, so the transfer is under way when it is cancelled
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var session = updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(TestImages.Build(size: 300_000)));

        var running = updater.RunAsync(session, Fast, null, CancellationToken.None);
        await WaitUntil(() => device.Flash.IsUpdating);
        session.Cancel("Stopped from elsewhere");
        var result = await running;

        Assert.Equal(OtaStatus.Cancelled, result.Status);
        Assert.Equal("Stopped from elsewhere; the device keeps its current firmware.", result.Error);
        Assert.False(device.Flash.IsUpdating);
        device.Restart();
        Assert.Equal("1.0.0", device.RunningVersion);
    }

    [Fact]
    public async Task SkipIfCurrent_leaves_a_device_on_the_image_alone_and_updates_one_that_is_not()
    {
        var fleet = new Fleet();
        var current = fleet.Add();
        var behind = fleet.Add();
        var image = TestImages.Build(version: "3.0.0");
        var options = Fast with { SkipIfCurrent = true };
        Assert.Equal(OtaStatus.Succeeded, (await Update(fleet, current, image, Fast)).Status);
        int written = current.Flash.Written;

        var skipped = await Update(fleet, current, image, options);
        var updated = await Update(fleet, behind, image, options);

        Assert.Equal((OtaStatus.Skipped, "3.0.0", "3.0.0", 0L), (skipped.Status, skipped.VersionBefore, skipped.VersionAfter, skipped.Bytes));
        Assert.Equal(written, current.Flash.Written);
        Assert.Equal(OtaStatus.Succeeded, updated.Status);
        Assert.Equal("3.0.0", behind.RunningVersion);
    }

    [Theory]
    [InlineData(BleTransportFailure.DeviceNotFound, OtaErrorCode.DeviceNotFound, "powered, in range and advertising")]
    [InlineData(BleTransportFailure.DeviceInUse, OtaErrorCode.DeviceInUse, "Disconnect it there")]
    [InlineData(BleTransportFailure.RadioUnavailable, OtaErrorCode.RadioUnavailable, "radio is not usable")]
    [InlineData(BleTransportFailure.Other, OtaErrorCode.DeviceNotFound, "powered, in range and advertising")]
    public void A_connect_failure_gets_the_code_and_advice_of_its_kind(BleTransportFailure failure, OtaErrorCode code, string advice)
    {
        var device = new Fleet().Target(new Fleet().Add());

        var error = DeviceLink.ConnectFailure(device, "the transport says why.", new BleTransportException("the transport says why.", failure: failure));

        Assert.Equal(code, error.Code);
        Assert.Contains(advice, error.Message);
    }

    [Fact]
    public async Task Inspection_reads_what_a_device_runs_and_writes_nothing()
    {
        var fleet = new Fleet();
        var bleOta = fleet.Add();
        var tutorial = fleet.Add(firmware: SimulatedFirmware.Tutorial);

        var info = await DeviceInspector.ReadAsync(fleet.Target(bleOta), Fast.Timeouts, CancellationToken.None);
        var plain = await DeviceInspector.ReadAsync(fleet.Target(tutorial), Fast.Timeouts, CancellationToken.None);

        Assert.Equal(("BleOta", "bleota-demo", "1.0.0", "ESP32", "V1, V2"), (info.Firmware, info.ProjectName, info.Version, info.Chip, info.Protocols));
        Assert.Equal(("Tutorial", null, "V1"), (plain.Firmware, plain.Version, plain.Protocols));
        Assert.Equal((0, 0), (bleOta.Flash.Written, tutorial.Flash.Written));
        Assert.Equal((1, 1), (bleOta.BootCount, tutorial.BootCount));
    }

    [Fact]
    public void An_image_that_is_not_a_valid_app_cannot_open_a_session()
    {
        var fleet = new Fleet();
        var bootloader = FirmwareImage.Parse(new EspAppImageBuilder { Kind = ImageKind.Bootloader, BootloaderDescription = true }.Build(), "bootloader.bin");

        var error = Assert.Throws<ArgumentException>(() => new OtaUpdater(new OtaSessionRegistry()).CreateSession(fleet.Target(fleet.Add()), bootloader));

        Assert.Contains("bootloader.bin is not a valid app image: This is an ESP-IDF bootloader", error.Message);
    }

    private static Task<OtaResult> Update(Fleet fleet, SimulatedDevice device, byte[] image, OtaOptions options)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        return updater.RunAsync(updater.CreateSession(fleet.Target(device), FirmwareImage.Parse(image)), options, null, CancellationToken.None);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(condition(), "the condition never came true");
    }
}
