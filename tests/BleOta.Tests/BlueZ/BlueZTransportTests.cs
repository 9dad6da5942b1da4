using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.BlueZ;
using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// The real BlueZ transport over real D-Bus: a private dbus-daemon, a fake bluetoothd exporting org.bluez,
/// and behind it the firmware's C core (libble_ota_host). Updates run the whole way through.
/// </summary>
public sealed class BlueZTransportTests : IDisposable
{
    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(10)) };
    private readonly PrivateBus _bus;
    private readonly HostFirmwareTransport _firmware = new();
    private readonly BlueZTransport _transport;
    private FakeBluetoothd? _bluetoothd;

    public BlueZTransportTests()
    {
        _bus = PrivateBus.Start();
        _transport = new BlueZTransport(_bus.Address);
    }

    public void Dispose()
    {
        _transport.Dispose();
        _bluetoothd?.Dispose();
        _firmware.Dispose();
        _bus.Dispose();
    }

    private async Task<FakeBluetoothd> StartBluetoothd(FakeAdapter adapter = FakeAdapter.PoweredOn) =>
        _bluetoothd = await FakeBluetoothd.StartAsync(_bus.Address, _firmware, adapter);

    /// <summary>A device running the real core; skips (or fails under BLEOTA_REQUIRE_HOST_FIRMWARE) without the library.</summary>
    private HostFirmwareDevice AddDevice(int maxMtu = 517, bool hasInfo = true)
    {
        if (!HostFirmwareLibrary.TryLoad(out string? reason))
        {
            if (Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_HOST_FIRMWARE") == "1")
            {
                throw new InvalidOperationException($"The firmware host library is required but could not be loaded: {reason}");
            }

            Skip.If(true, reason);
        }

        return _firmware.AddDevice(maxMtu: maxMtu, hasInfo: hasInfo);
    }

    private async Task<Esp32Device> FindFirst()
    {
        using var window = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var device in DeviceScanner.ScanAsync(_transport, ScanFilter.OtaService, TimeSpan.FromSeconds(10), window.Token))
        {
            return device;
        }

        throw new InvalidOperationException("The scan found nothing.");
    }

    private static Task<OtaResult> Update(Esp32Device device, byte[] image, OtaProtocolVersion protocol = OtaProtocolVersion.V1)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        return updater.RunAsync(updater.CreateSession(device, FirmwareImage.Parse(image)), Options with { Protocol = protocol }, null, CancellationToken.None);
    }

    [SkippableFact]
    public async Task A_scan_finds_the_device_with_name_rssi_and_the_ota_service()
    {
        var firmware = AddDevice();
        var bluetoothd = await StartBluetoothd();

        var found = await FindFirst();

        Assert.Equal((firmware.Address, firmware.Name, firmware.Rssi), (found.Address, found.Name, found.Rssi));
        Assert.True(found.AdvertisesOta);
        Assert.Same(_transport, found.Transport);
        Assert.Contains("org.bluez.Adapter1.SetDiscoveryFilter", bluetoothd.Calls);
        Assert.Contains("org.bluez.Adapter1.StopDiscovery", bluetoothd.Calls);
    }

    [SkippableFact]
    public async Task A_device_that_advertises_no_service_is_found_by_its_name_and_updated_with_v1()
    {
        var firmware = AddDevice(hasInfo: false);
        var bluetoothd = await StartBluetoothd();

        var found = await FindFirst();
        var result = await Update(found, TestImages.Build(version: "8.8.0"), OtaProtocolVersion.Auto);

        Assert.Empty(bluetoothd.DiscoveryUuids); // a service filter would have hidden it
        Assert.Equal((firmware.Address, "esp32", false), (found.Address, found.Name, found.AdvertisesOta));
        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V1), (result.Status, result.Protocol));
        Assert.Equal("8.8.0", firmware.RunningVersion);
    }

    [SkippableTheory]
    [InlineData(23)]
    [InlineData(517)]
    public async Task A_v1_update_runs_through_bluez_and_dbus_into_the_real_core_and_the_new_image_boots(int mtu)
    {
        var firmware = AddDevice(mtu);
        var bluetoothd = await StartBluetoothd();
        string? factory = firmware.RunningVersion;
        var image = TestImages.Build(version: "7.3.1", size: 60_000);

        var result = await Update(await FindFirst(), image);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal((factory, "7.3.1"), (result.VersionBefore, result.VersionAfter));
        Assert.Equal(V1Client.PacketCount(image.Length, V1Client.PacketSizeFor(mtu)), result.Packets);
        Assert.Equal("7.3.1", firmware.RunningVersion);
        Assert.Equal(image, firmware.ReadRunningImage()![..image.Length]);
        Assert.Equal(2, firmware.BootCount);
        Assert.Contains("org.bluez.GattCharacteristic1.StartNotify", bluetoothd.Calls);
        Assert.Equal(result.Packets + 3, bluetoothd.Calls.Count(c => c == "org.bluez.GattCharacteristic1.WriteValue")); // size, REQUEST, data, DONE
    }

    [SkippableFact]
    public async Task The_link_reports_the_mtu_bluetoothd_negotiated_and_how_it_writes()
    {
        AddDevice(247);
        await StartBluetoothd();
        var device = await FindFirst();

        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);
        int mtu = await connection.RequestMtuAsync(517, CancellationToken.None);

        Assert.Equal(247, mtu);
        Assert.Contains("ATT MTU 247", connection.DescribeLink());
        Assert.Contains("WriteValue type=request", connection.DescribeLink());
        Assert.Contains("hci0", _transport.Describe());
    }

    [SkippableFact]
    public async Task The_link_reports_the_disconnect_when_bluetoothd_says_connected_is_false()
    {
        var firmware = AddDevice();
        await StartBluetoothd();
        var device = await FindFirst();
        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);
        var dropped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Disconnected += (_, e) => dropped.TrySetResult(e.Reason);

        firmware.Reboot();

        Assert.Equal("the device disconnected", await dropped.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(connection.IsConnected);
    }

    [SkippableFact]
    public async Task A_flash_fault_in_the_core_comes_back_through_bluez_as_an_att_error_and_the_old_firmware_stays()
    {
        var firmware = AddDevice();
        await StartBluetoothd();
        string? before = firmware.RunningVersion;
        firmware.FailFlashWriteAt(20_000);

        var result = await Update(await FindFirst(), TestImages.Build(size: 50_000));

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.FlashFailed), (result.Status, result.ErrorCode));
        firmware.Reboot();
        Assert.Equal(before, firmware.RunningVersion);
    }

    [SkippableTheory]
    [InlineData(true, "socket")]
    [InlineData(false, "command")]
    public async Task A_v2_update_streams_without_response_through_bluez_into_the_real_core_and_the_new_image_boots(bool acquireWrite, string path)
    {
        var firmware = AddDevice(247);
        var bluetoothd = await StartBluetoothd();
        bluetoothd.AcquireWriteSupported = acquireWrite;
        var image = TestImages.Build(version: "8.0.2", size: 80_000);

        var result = await Update(await FindFirst(), image, OtaProtocolVersion.Auto); // the core's Info offers v2

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (result.Status, result.Protocol));
        Assert.Equal("8.0.2", firmware.RunningVersion);
        Assert.Equal(image, firmware.ReadRunningImage()![..image.Length]);
        Assert.NotEmpty(bluetoothd.WithoutResponsePackets);
        Assert.All(bluetoothd.WithoutResponsePackets, p => Assert.Equal(path, p.Path));
        Assert.Equal(0, firmware.NorViolations);
    }

    [SkippableTheory]
    [InlineData(true, "socket")]
    [InlineData(false, "command")]
    public async Task Writes_without_response_go_through_the_acquired_socket_or_else_as_write_commands(bool acquireWrite, string path)
    {
        AddDevice(247);
        var bluetoothd = await StartBluetoothd();
        bluetoothd.AcquireWriteSupported = acquireWrite;
        var device = await FindFirst();
        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(517, CancellationToken.None);
        byte[][] packets = [[1, 2, 3], [.. Enumerable.Repeat((byte)0xA5, 244)], [9]];

        foreach (var packet in packets)
        {
            await connection.WriteAsync(OtaUuids.Data, packet, WriteType.WithoutResponse, CancellationToken.None);
        }

        // The fake reads its end of the socket on its own task: wait (bounded) until it has them all.
        await WaitFor(() => bluetoothd.WithoutResponsePackets.Count >= packets.Length);
        Assert.Equal(packets, bluetoothd.WithoutResponsePackets.Select(p => p.Packet));
        Assert.All(bluetoothd.WithoutResponsePackets, p => Assert.Equal(path, p.Path));
        Assert.Contains(acquireWrite ? "AcquireWrite socket (MTU 247)" : "WriteValue type=command", connection.DescribeLink());
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, limit.Token);
        }
    }

    [SkippableFact]
    public async Task Connecting_to_an_address_bluez_has_not_seen_says_to_scan_first()
    {
        await StartBluetoothd();

        var error = await Assert.ThrowsAsync<BleTransportException>(() => _transport.ConnectAsync("24:0A:C4:99:99:99", CancellationToken.None));

        Assert.Contains("Scan for it first", error.Message);
    }

    [SkippableFact]
    public async Task Without_bluetoothd_on_the_bus_the_error_says_to_start_bluetooth()
    {
        var error = await Assert.ThrowsAsync<BleTransportException>(FindFirst);

        Assert.Equal(BlueZErrors.NotRunningHint, error.Message);
    }

    [SkippableTheory]
    [InlineData(FakeAdapter.Missing, "No Bluetooth adapter found")]
    [InlineData(FakeAdapter.PoweredOff, "hci0 is powered off. Turn it on with 'bluetoothctl power on'")]
    [InlineData(FakeAdapter.AccessDenied, "Add your user to the bluetooth group")]
    public async Task A_scan_that_cannot_start_says_what_to_do(FakeAdapter adapter, string advice)
    {
        await StartBluetoothd(adapter);

        var error = await Assert.ThrowsAsync<BleTransportException>(FindFirst);

        Assert.Contains(advice, error.Message);
    }

    [SkippableFact]
    public async Task A_bus_that_cannot_be_reached_is_named_in_the_error()
    {
        using var transport = new BlueZTransport("unix:path=/nonexistent/bleota-test-bus");

        var error = await Assert.ThrowsAsync<BleTransportException>(() => transport.ConnectAsync("24:0A:C4:00:00:01", CancellationToken.None));

        Assert.Contains("Cannot reach the D-Bus system bus", error.Message);
    }
}
