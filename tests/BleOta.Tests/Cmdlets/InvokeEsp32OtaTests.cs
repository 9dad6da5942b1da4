using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Cmdlets;

public sealed class InvokeEsp32OtaTests : IDisposable
{
    private readonly ModuleHost _host = new();
    private readonly Fleet _fleet = new();

    public void Dispose() => _host.Dispose();

    private Esp32Device[] Devices(params SimulatedDevice[] devices) => devices.Select(_fleet.Target).ToArray();

    [Fact]
    public void Updates_every_piped_device_and_passes_results_through()
    {
        var devices = Devices(_fleet.Add(), _fleet.Add(), _fleet.Add());
        _host.Set("devices", devices);
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "2.1.0", size: 30_000)));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru");

        Assert.Empty(streams.Error);
        var results = output.Select(o => (OtaUpdateResult)o.BaseObject).OrderBy(r => r.Address).ToList();
        Assert.Equal(devices.Select(d => d.Address), results.Select(r => r.Address));
        Assert.All(results, r => Assert.Equal(("Succeeded", "1.0.0", "2.1.0"), (r.Status, r.VersionBefore, r.VersionAfter)));
        Assert.All(_fleet.Transport.Devices, d => Assert.Equal("2.1.0", d.RunningVersion));
    }

    [Fact]
    public void A_device_running_an_image_sent_before_gets_a_patch_and_the_result_says_so()
    {
        var (base_, next) = TestImages.Relinked(200_000, seed: 21);
        var device = _fleet.Add(runs: base_);
        _host.Set("devices", Devices(device));
        _host.Set("base", TestImages.WriteTemp(base_, "1.0.0.bin"));
        _host.Set("image", TestImages.WriteTemp(next));

        // The first update sends the image the device runs, which keeps it (the user's image cache); the second patches.
        _host.Run("$devices | Invoke-Esp32Ota -Path $base -Force -Delta Off");
        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru -Verbose");

        Assert.Empty(streams.Error);
        var result = (OtaUpdateResult)output.Single().BaseObject;
        Assert.Equal(("Succeeded", "Delta"), (result.Status, result.Transfer));
        Assert.True(result.BytesOnAir < next.Length / 20, $"{result.BytesOnAir:N0} bytes on air");
        Assert.Contains(streams.Verbose, v => v.Message.Contains("Sending a delta patch against the image the device runs", StringComparison.Ordinal));
        Assert.Equal(next, device.Flash.RunningImageBytes());
    }

    [Fact]
    public void Delta_off_sends_the_whole_image_and_BaseImage_naming_nothing_is_a_warning()
    {
        var (base_, next) = TestImages.Relinked(100_000, seed: 22);
        var device = _fleet.Add(runs: base_);
        _host.Set("devices", Devices(device));
        _host.Set("base", TestImages.WriteTemp(base_, "1.0.0.bin"));
        _host.Set("image", TestImages.WriteTemp(next));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru -Delta Off -BaseImage $base, ./no-such-build.bin");

        var result = (OtaUpdateResult)output.Single().BaseObject;
        Assert.Equal(("Succeeded", "Full", (long)next.Length), (result.Status, result.Transfer, result.Bytes));
        Assert.True(result.BytesOnAir > next.Length); // every packet's offset header too
        var warning = Assert.Single(streams.Warning);
        Assert.Contains("-BaseImage './no-such-build.bin' names no file or folder; it is not used", warning.Message);
    }

    [Fact]
    public void With_one_slot_devices_are_updated_in_the_order_they_came_down_the_pipeline()
    {
        // Many devices, so that the thread pool runs several queued updates at once and a race for the slot would show.
        var devices = Devices(Enumerable.Range(0, 24).Select(_ => _fleet.Add()).ToArray());
        _host.Set("devices", devices);
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(size: 4_000)));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru -ThrottleLimit 1");

        Assert.Empty(streams.Error);
        // One at a time, a result is written as its update ends: the results' order is the order the updates ran in.
        Assert.Equal(devices.Select(d => d.Address), output.Select(o => ((OtaUpdateResult)o.BaseObject).Address));
    }

    [Fact]
    public void ThrottleLimit_counts_per_adapter_so_each_adapter_updates_that_many_at_once_in_input_order()
    {
        var hci1 = new Fleet("hci1");
        var (left, right) = (new[] { _fleet.Add(), _fleet.Add() }, new[] { hci1.Add(), hci1.Add() });
        _host.Set("devices", new[] { _fleet.Target(left[0]), hci1.Target(right[0]), _fleet.Target(left[1]), hci1.Target(right[1]) });
        string image = TestImages.WriteTemp(TestImages.Build(version: "2.2.0", size: 8_000));
        _host.Set("image", image);
        // Null until the cmdlet has taken the device from the pipeline and queued its session.
        OtaState? StateOf(SimulatedDevice device) => OtaSessionRegistry.Shared.Snapshots().SingleOrDefault(s => s.Address == device.Address && s.ImagePath == image)?.State;

        System.Management.Automation.PowerShell shell;
        IAsyncResult running;
        // Simulated time stands still while held, so no update can end and free its slot: what connects is what got one.
        using (_fleet.Transport.Adapter.Hold())
        using (hci1.Transport.Adapter.Hold())
        {
            shell = _host.Start("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru -ThrottleLimit 1", out running);
            Assert.True(SpinWait.SpinUntil(() => _fleet.Transport.Adapter.Clients == 1 && hci1.Transport.Adapter.Clients == 1
                    && StateOf(left[1]) is not null && StateOf(right[1]) is not null, TimeSpan.FromSeconds(20)),
                $"connecting: hci0 {_fleet.Transport.Adapter.Clients}, hci1 {hci1.Transport.Adapter.Clients}; each adapter should have one update under way and every device queued");
            Assert.Equal((OtaState.Queued, OtaState.Queued), (StateOf(left[1]), StateOf(right[1])));
            Assert.Equal((1, 1), (_fleet.Transport.Adapter.Clients, hci1.Transport.Adapter.Clients)); // the second ones still wait
        }

        using (shell)
        {
            var results = shell.EndInvoke(running).Select(o => (OtaUpdateResult)o.BaseObject).ToList();
            Assert.Empty(shell.Streams.Error);
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));
            // Each adapter took its devices in input order: its first device's result came before its second's.
            var order = results.Select(r => r.Address).ToList();
            Assert.True(order.IndexOf(left[0].Address) < order.IndexOf(left[1].Address) && order.IndexOf(right[0].Address) < order.IndexOf(right[1].Address), string.Join(", ", order));
        }
    }

    [Fact]
    public void Without_PassThru_a_successful_update_writes_nothing()
    {
        _host.Set("devices", Devices(_fleet.Add()));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build()));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force");

        Assert.Empty(output);
        Assert.Empty(streams.Error);
    }

    [Fact]
    public void Progress_shows_the_packet_count_under_a_parent_bar()
    {
        var device = _fleet.Add();
        _host.Set("devices", Devices(device));
        _fleet.Transport.Speed = 1; // real time: v2 takes about a second, so several progress updates are drawn
        var image = TestImages.Build(size: 60_000);
        _host.Set("image", TestImages.WriteTemp(image));

        var (_, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force");

        int packets = V2Client.PacketCount(image.Length, V2Client.PayloadSizeFor(517, device.MaxPacketSize)); // Auto picks v2
        var packetRecords = streams.Progress.Where(p => p.ParentActivityId == 1 && p.StatusDescription.StartsWith("packet ")).ToList();
        Assert.NotEmpty(packetRecords);
        Assert.All(packetRecords, c => Assert.Matches($@"^packet \d+/{packets}, [\d.]+ of [\d.]+ kB, [\d.]+ kB/s$", c.StatusDescription));
        Assert.Contains(packetRecords, c => c.SecondsRemaining > 0 && c.PercentComplete is > 0 and < 100);
        Assert.Contains(streams.Progress, p => p.ActivityId == 1 && p.RecordType == ProgressRecordType.Completed);
        Assert.Contains(streams.Progress, p => p.ActivityId == 1 && p.PercentComplete is > 0 and < 100); // the parent follows the bytes
    }

    [Fact]
    public void A_device_that_naks_gets_an_error_and_the_others_are_still_updated()
    {
        var good1 = _fleet.Add();
        var bad = _fleet.Add(new DeviceFaults { RejectRequest = true });
        var good2 = _fleet.Add();
        _host.Set("devices", Devices(good1, bad, good2));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "5.0.0")));

        var (_, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -ThrottleLimit 1");

        var error = Assert.Single(streams.Error);
        Assert.Equal("DeviceRejectedRequest,BleOta.InvokeEsp32Ota", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
        Assert.Equal(bad.Address, ((Esp32Device)error.TargetObject).Address);
        Assert.Equal(("5.0.0", "1.0.0", "5.0.0"), (good1.RunningVersion, bad.RunningVersion, good2.RunningVersion));
    }

    [Fact]
    public void A_timeout_is_reported_with_its_own_error_id()
    {
        _host.Set("devices", Devices(_fleet.Add(new DeviceFaults { IgnoreDone = true }), _fleet.Add()));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "5.0.0")));

        var (_, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -TimeoutSec 1");

        Assert.Equal("AckTimeout,BleOta.InvokeEsp32Ota", Assert.Single(streams.Error).FullyQualifiedErrorId);
        Assert.Equal("5.0.0", _fleet.Transport.Devices[1].RunningVersion);
    }

    [Theory]
    [InlineData("missing", "ImageNotFound", ErrorCategory.ObjectNotFound)]
    [InlineData("directory", "ImagePathIsDirectory", ErrorCategory.InvalidArgument)]
    [InlineData("empty", "ImageEmpty", ErrorCategory.InvalidData)]
    [InlineData("text", "ImageNotEsp", ErrorCategory.InvalidData)]
    [InlineData("damaged", "ImageDamaged", ErrorCategory.InvalidData)]
    public void A_bad_image_is_one_error_and_nothing_is_sent(string kind, string errorId, ErrorCategory category)
    {
        var device = _fleet.Add();
        _host.Set("devices", Devices(device, _fleet.Add()));
        var damaged = TestImages.Build();
        damaged[3000] ^= 0xFF;
        string path = kind switch
        {
            "missing" => Path.Combine(Path.GetTempPath(), "no-such-dir", "app.bin"),
            "directory" => Path.GetDirectoryName(TestImages.WriteTemp([1]))!,
            "empty" => TestImages.WriteTemp([]),
            "text" => TestImages.WriteTemp("not firmware"u8.ToArray()),
            _ => TestImages.WriteTemp(damaged),
        };
        _host.Set("image", path);

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -LiteralPath $image -Force -PassThru");

        var error = Assert.Single(streams.Error);
        Assert.Equal($"{errorId},BleOta.InvokeEsp32Ota", error.FullyQualifiedErrorId);
        Assert.Equal(category, error.CategoryInfo.Category);
        Assert.Empty(output);
        Assert.Equal(1, device.BootCount);
    }

    [Fact]
    public void Files_from_Get_ChildItem_bind_to_LiteralPath()
    {
        var device = _fleet.Add();
        _host.Set("device", _fleet.Target(device));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "6.0.0")));

        var (output, streams) = _host.Run("Get-ChildItem -LiteralPath $image | Invoke-Esp32Ota -Device $device -Force -PassThru");

        Assert.Empty(streams.Error);
        Assert.Equal("6.0.0", ((OtaUpdateResult)Assert.Single(output).BaseObject).VersionAfter);
        Assert.Equal("6.0.0", device.RunningVersion);
    }

    [Fact]
    public void WhatIf_sends_nothing()
    {
        var device = _fleet.Add();
        _host.Set("devices", Devices(device));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build()));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -WhatIf -PassThru");

        Assert.Empty(output);
        Assert.Empty(streams.Error);
        Assert.Equal(1, device.BootCount);
    }

    [Fact]
    public void The_same_device_twice_is_updated_once_with_an_error_for_the_repeat()
    {
        var device = _fleet.Add();
        var target = _fleet.Target(device);
        _host.Set("devices", new[] { target, target });
        _host.Set("image", TestImages.WriteTemp(TestImages.Build()));

        var (output, streams) = _host.Run("$devices | Invoke-Esp32Ota -Path $image -Force -PassThru");

        Assert.Equal("DeviceAlreadyQueued,BleOta.InvokeEsp32Ota", Assert.Single(streams.Error).FullyQualifiedErrorId);
        Assert.Single(output);
        Assert.Equal(2, device.BootCount);
    }

    [Fact]
    public void Sessions_are_visible_to_Get_OtaProgress_afterwards()
    {
        var device = _fleet.Add();
        _host.Set("devices", Devices(device));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "7.0.0")));

        var (output, _) = _host.Run($"$devices | Invoke-Esp32Ota -Path $image -Force; Get-OtaProgress -Device '{device.Address}'");

        var snapshot = (OtaProgress)Assert.Single(output).BaseObject;
        Assert.Equal((OtaState.Succeeded, 100, "7.0.0"), (snapshot.State, snapshot.PercentComplete, snapshot.ImageVersion));
    }

    [Fact]
    public void Stopping_the_pipeline_cancels_the_update_and_the_device_keeps_its_firmware()
    {
        var device = _fleet.Add();
        _fleet.Transport.Speed = 1; // real time, so the update is mid-transfer when the pipeline stops
        _host.Set("devices", Devices(device));
        _host.Set("image", TestImages.WriteTemp(TestImages.Build(version: "8.0.0", size: 400_000)));

        using var shell = _host.Start("$devices | Invoke-Esp32Ota -Path $image -Force", out _);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!device.Flash.IsUpdating && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        Assert.True(device.Flash.IsUpdating, "the update never started");
        shell.Stop(); // what Ctrl+C does: StopProcessing, then the pipeline ends
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (device.Connection is not null && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        Assert.Null(device.Connection);
        Assert.False(device.Flash.IsUpdating);
        Assert.Equal("1.0.0", device.RunningVersion);
        Assert.Equal(1, device.BootCount);
    }

    [Fact]
    public void Stopping_the_pipeline_ends_the_sessions_still_waiting_for_a_slot()
    {
        var running = _fleet.Add();
        var waiting = _fleet.Add();
        _fleet.Transport.Speed = 1; // real time, so the first update is still running when the pipeline stops
        _host.Set("devices", Devices(running, waiting));
        string image = TestImages.WriteTemp(TestImages.Build(size: 400_000));
        _host.Set("image", image);

        using var shell = _host.Start("$devices | Invoke-Esp32Ota -Path $image -Force -ThrottleLimit 1", out _);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!running.Flash.IsUpdating && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        Assert.True(running.Flash.IsUpdating, "the first update never started");
        shell.Stop();
        OtaProgress Queued() => OtaSessionRegistry.Shared.Snapshots().Single(s => s.Address == waiting.Address && s.ImagePath == image);
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Queued().IsFinished && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }

        Assert.Equal(OtaState.Cancelled, Queued().State); // Get-OtaProgress shows it ended, not waiting forever
        Assert.Equal("1.0.0", waiting.RunningVersion);
    }
}
