using System.Security.Cryptography;
using BleOta.Engine.Delta;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Delta;

/// <summary>
/// Delta updates end to end: the device names its running image in Info, the client finds it (cache or
/// -BaseImage), sends a patch when it pays and the whole image otherwise, on the simulator and on the firmware's
/// C core. Every test ends with the image the device boots.
/// </summary>
public sealed class DeltaUpdateTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bleota-tests", "delta-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingLog _log = new();
    private readonly (byte[] Base, byte[] Target) _pair = TestImages.Relinked(300_000);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private BaseImageCache Cache => new(Path.Combine(_root, "cache"));

    private OtaOptions Options => OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(5)), ImageCache = Cache, Log = _log };

    private static Task<OtaResult> Update(Esp32Device target, byte[] image, OtaOptions options)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        return updater.RunAsync(updater.CreateSession(target, FirmwareImage.Parse(image, "next.bin")), options, null, CancellationToken.None);
    }

    private static Task<OtaResult> Update(Fleet fleet, SimulatedDevice device, byte[] image, OtaOptions options) => Update(fleet.Target(device), image, options);

    private static bool Runs(SimulatedDevice device, byte[] image) => device.Flash.RunningImageBytes() is { } bytes && bytes.AsSpan().SequenceEqual(image);

    [Fact]
    public async Task A_device_running_an_image_sent_before_gets_a_patch_and_boots_the_new_image()
    {
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);
        Assert.True(Cache.Add(_pair.Base, out _));

        var result = await Update(fleet, device, _pair.Target, Options);

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Delta), (result.Status, result.Transfer));
        Assert.True(result.BytesOnAir < _pair.Target.Length * 0.05, $"{result.BytesOnAir:N0} bytes on air for a {_pair.Target.Length:N0}-byte image");
        Assert.True(Runs(device, _pair.Target));
        Assert.Contains(_log.Verbose, line => line.StartsWith("Sending a delta patch against the image the device runs (cached in", StringComparison.Ordinal));
        Assert.NotNull(Cache.TryGet(SHA256.HashData(_pair.Target), out _)); // the next update patches against it
    }

    [Fact]
    public async Task Without_the_running_image_the_whole_image_goes_and_the_verbose_stream_says_why()
    {
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);

        var result = await Update(fleet, device, _pair.Target, Options);

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Full), (result.Status, result.Transfer));
        Assert.True(result.BytesOnAir >= _pair.Target.Length);
        Assert.Contains(_log.Verbose, line => line.Contains("is not among -BaseImage or in the image cache", StringComparison.Ordinal));
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task Delta_off_sends_the_whole_image_though_the_base_is_at_hand()
    {
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);
        Cache.Add(_pair.Base, out _);

        var result = await Update(fleet, device, _pair.Target, Options with { Delta = DeltaMode.Off });

        Assert.Equal(OtaTransfer.Full, result.Transfer);
        Assert.Equal(_pair.Target.Length, result.Bytes);
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task A_device_built_without_delta_gets_the_whole_image()
    {
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base, delta: false);
        Cache.Add(_pair.Base, out _);

        var result = await Update(fleet, device, _pair.Target, Options);

        Assert.Equal(OtaTransfer.Full, result.Transfer);
        Assert.Contains(_log.Verbose, line => line.Contains("does not take delta patches", StringComparison.Ordinal));
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task A_patch_that_is_not_clearly_smaller_than_the_compressed_image_is_not_sent()
    {
        var fleet = new Fleet();
        var unrelated = TestImages.BuildCompressible(version: "0.9.0", size: 100_000);
        var device = fleet.Add(runs: unrelated, compression: true);
        Cache.Add(unrelated, out _);
        var next = TestImages.BuildCompressible(version: "3.0.0", size: 100_000, seed: 99);

        var result = await Update(fleet, device, next, Options);

        Assert.Equal(OtaTransfer.Compressed, result.Transfer);
        Assert.Contains(_log.Verbose, line => line.Contains("not clearly smaller than the compressed image", StringComparison.Ordinal));
        Assert.True(Runs(device, next));
    }

    [Fact]
    public async Task A_folder_of_past_builds_is_searched_for_the_running_image()
    {
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);
        string builds = Path.Combine(_root, "builds");
        foreach (var (folder, image) in new[] { ("0.9.0", TestImages.Build(version: "0.9.0")), ("1.0.0", _pair.Base), ("1.0.0-rc1", TestImages.Build(version: "1.0.0-rc1")) })
        {
            Directory.CreateDirectory(Path.Combine(builds, folder));
            File.WriteAllBytes(Path.Combine(builds, folder, "app.bin"), image);
        }

        var result = await Update(fleet, device, _pair.Target, Options with { BaseImages = [builds] });

        Assert.Equal(OtaTransfer.Delta, result.Transfer);
        Assert.Contains(_log.Verbose, line => line.Contains(Path.Combine(builds, "1.0.0", "app.bin"), StringComparison.Ordinal));
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task A_patch_the_device_refuses_for_its_base_is_followed_by_the_whole_image()
    {
        // Info names an image this computer has (as if another client changed the device since): the device says BaseMismatch.
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);
        var named = (byte[])_pair.Base.Clone();
        named[1000] ^= 1; // an image this computer sent once, nearly the same
        Cache.Add(named, out _);
        var target = Esp32Device.FromAdvertisement(new Engine.Transport.BleAdvertisement(device.Address, device.Name, device.Rssi, [OtaUuids.Service],
            new StaleInfoTransport(fleet.Transport, SHA256.HashData(named))));

        var result = await Update(target, _pair.Target, Options);

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Full), (result.Status, result.Transfer));
        Assert.Contains(_log.Verbose, line => line.Contains("refused the patch", StringComparison.Ordinal));
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task A_lost_link_resumes_the_patch_from_the_devices_offset()
    {
        var fleet = new Fleet();
        var device = fleet.Add(new DeviceFaults { DisconnectAfterBytes = 120_000, DisconnectTimes = 1 }, runs: _pair.Base);
        Cache.Add(_pair.Base, out _);

        var result = await Update(fleet, device, _pair.Target, Options);

        Assert.True(result.Status == OtaStatus.Succeeded, result.Error);
        Assert.Equal(OtaTransfer.Delta, result.Transfer);
        Assert.Contains(_log.Verbose, line => line.Contains("reconnecting to resume", StringComparison.Ordinal));
        Assert.True(Runs(device, _pair.Target));
    }

    [Fact]
    public async Task A_lost_DONE_ACK_is_recognised_after_the_reconnect_and_nothing_is_sent_again()
    {
        // The device applies the patch, answers DONE_ACK (lost on the way) and restarts; the client reconnects.
        var fleet = new Fleet();
        var device = fleet.Add(runs: _pair.Base);
        Cache.Add(_pair.Base, out _);
        var lossy = new FaultyTransport(fleet.Transport, new LinkFault(LinkFaultKind.DropNotification, UpdatePhase.Done));
        var target = Esp32Device.FromAdvertisement(new Engine.Transport.BleAdvertisement(device.Address, device.Name, device.Rssi, [OtaUuids.Service], lossy));

        var result = await Update(target, _pair.Target, Options);

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Delta), (result.Status, result.Transfer));
        Assert.Contains(_log.Verbose, line => line.StartsWith("The device already runs the new image", StringComparison.Ordinal));
        Assert.Equal(2, device.BootCount); // one restart: the image was not sent a second time
        Assert.True(Runs(device, _pair.Target));
    }

    [SkippableFact]
    public async Task The_firmware_core_rebuilds_the_image_from_the_generators_patch()
    {
        Skip.IfNot(HostFirmwareSupport.IsAvailable(), HostFirmwareSupport.NotBuilt);
        using var transport = new HostFirmwareTransport();
        var device = transport.AddDevice();
        device.InstallImage(0, _pair.Base);
        Assert.Equal(0, device.Reboot());
        Cache.Add(_pair.Base, out _);

        var result = await Update(new Esp32Device(device.Address, device.Name, device.Rssi, transport), _pair.Target, Options);

        Assert.Equal((OtaStatus.Succeeded, OtaTransfer.Delta), (result.Status, result.Transfer));
        Assert.True(result.BytesOnAir < _pair.Target.Length * 0.05);
        Assert.Equal(_pair.Target, device.ReadRunningImage());
        Assert.Equal(0, device.NorViolations);
    }
}
