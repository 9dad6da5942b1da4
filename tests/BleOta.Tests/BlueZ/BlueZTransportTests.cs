using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using BleOta.Transport.BlueZ;
using BleOta.Transport.HostFirmware;
using Microsoft.Extensions.Time.Testing;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// The real BlueZ transport over real D-Bus: a private dbus-daemon, a fake bluetoothd exporting org.bluez as a
/// given bluez release does, and behind it the firmware's C core (libble_ota_host). Updates run the whole way through.
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
        _transport = new BlueZTransport(_bus.Address) { RediscoveryTimeout = TimeSpan.FromSeconds(1) };
    }

    public void Dispose()
    {
        _transport.Dispose();
        _bluetoothd?.Dispose();
        _firmware.Dispose();
        _bus.Dispose();
    }

    private async Task<FakeBluetoothd> StartBluetoothd(FakeAdapter adapter = FakeAdapter.PoweredOn, string? release = null, TimeProvider? clock = null, bool splitScanResponses = false, int adapters = 1) =>
        _bluetoothd = await FakeBluetoothd.StartAsync(_bus.Address, _firmware, adapter, release is null ? null : new FakeBluezRelease(Version.Parse(release)), clock, splitScanResponses, adapters);

    /// <summary>A device running the real core; skips (or fails under BLEOTA_REQUIRE_HOST_FIRMWARE) without the library.</summary>
    private HostFirmwareDevice AddDevice(int maxMtu = 517, bool hasInfo = true, string address = "24:0A:C4:00:00:01")
    {
        if (!HostFirmwareLibrary.TryLoad(out string? reason))
        {
            if (Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_HOST_FIRMWARE") == "1")
            {
                throw new InvalidOperationException($"The firmware host library is required but could not be loaded: {reason}");
            }

            Skip.If(true, reason);
        }

        return _firmware.AddDevice(address, maxMtu: maxMtu, hasInfo: hasInfo);
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

    private static async Task WaitFor(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, limit.Token);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)] // the kernel could not merge them: the name comes in a report of its own
    public async Task A_scan_finds_the_device_with_name_rssi_and_the_ota_service(bool splitScanResponses)
    {
        var firmware = AddDevice();
        var bluetoothd = await StartBluetoothd(splitScanResponses: splitScanResponses);

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

    [SkippableFact]
    public async Task Two_scans_at_once_share_one_discovery_as_bluetoothd_allows_one_per_client()
    {
        var firmware = AddDevice();
        var bluetoothd = await StartBluetoothd();
        using var window = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var first = _transport.ScanAsync(ScanFilter.OtaService, window.Token).GetAsyncEnumerator(window.Token);
        Assert.True(await first.MoveNextAsync()); // the first scan's discovery runs
        var second = _transport.ScanAsync(ScanFilter.OtaService, window.Token).GetAsyncEnumerator(window.Token);
        Assert.True(await second.MoveNextAsync()); // a second StartDiscovery would be answered InProgress
        Assert.Equal((firmware.Address, firmware.Address), (first.Current.Address, second.Current.Address));
        await first.DisposeAsync();
        Assert.DoesNotContain("org.bluez.Adapter1.StopDiscovery", bluetoothd.Calls); // the second scan still runs
        await second.DisposeAsync();

        Assert.Equal(1, bluetoothd.Calls.Count(c => c == "org.bluez.Adapter1.StartDiscovery"));
        Assert.Equal(1, bluetoothd.Calls.Count(c => c == "org.bluez.Adapter1.StopDiscovery"));
    }

    [SkippableTheory]
    [InlineData(23, "5.66")]
    [InlineData(517, "5.66")]
    [InlineData(517, "5.53")] // no MTU property: the MTU comes from AcquireWrite, whose socket is given back for v1's writes
    public async Task A_v1_update_runs_through_bluez_and_dbus_into_the_real_core_and_the_new_image_boots(int mtu, string release)
    {
        var firmware = AddDevice(mtu);
        var bluetoothd = await StartBluetoothd(release: release);
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

    [SkippableTheory]
    [InlineData("5.66", "from the MTU property")]
    [InlineData("5.55", "from the AcquireWrite reply")] // Debian 11, Raspberry Pi OS bullseye
    [InlineData("5.50", "from the AcquireWrite reply")]
    public async Task The_link_reports_the_mtu_bluetoothd_negotiated_whichever_release_and_how_it_writes(string release, string source)
    {
        AddDevice(247);
        await StartBluetoothd(release: release);
        var device = await FindFirst();

        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);
        int mtu = await connection.RequestMtuAsync(517, CancellationToken.None);

        Assert.Equal(247, mtu);
        Assert.Contains("ATT MTU 247", connection.DescribeLink());
        Assert.Contains(source, connection.DescribeLink());
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
    [InlineData(OtaProtocolVersion.V1)]
    [InlineData(OtaProtocolVersion.Auto)]
    public async Task A_device_that_requires_encryption_refuses_through_bluetoothd_as_not_paired_and_the_user_is_told_to_pair(OtaProtocolVersion protocol)
    {
        var firmware = AddDevice();
        await StartBluetoothd();
        firmware.RequireEncryption(); // the core answers ATT 0x0F; bluetoothd says NotPermitted "Not paired"

        var result = await Update(await FindFirst(), TestImages.Build(size: 20_000), protocol);

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.PairingRequired), (result.Status, result.ErrorCode));
        Assert.Contains("bluetoothctl", result.Error);
        Assert.Equal(0, firmware.BytesReceived);
    }

    [SkippableFact]
    public async Task A_malformed_write_the_core_refuses_as_invalid_length_comes_back_as_att_0x0d()
    {
        AddDevice();
        await StartBluetoothd();
        var device = await FindFirst();
        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);

        // A v2 REQUEST cut short: bluetoothd words the core's 0x0D as InvalidArguments "Invalid Length".
        var error = await Assert.ThrowsAsync<BleAttException>(() => connection.WriteAsync(OtaUuids.Control, new byte[] { 0x01, 0x02, 0x00 }, WriteType.WithResponse, CancellationToken.None));

        Assert.Equal(OtaAttError.InvalidAttributeValueLength, error.AttError);
        Assert.Contains("Invalid Length", error.Message);
        Assert.True(connection.IsConnected);
    }

    [SkippableTheory]
    [InlineData("5.66")]
    [InlineData("5.55")]
    [InlineData("5.50")]
    public async Task A_v2_update_streams_full_size_packets_through_the_acquired_socket_into_the_real_core_and_the_new_image_boots(string release)
    {
        var firmware = AddDevice(247);
        var bluetoothd = await StartBluetoothd(release: release);
        var image = TestImages.Build(version: "8.0.2", size: 80_000);

        var result = await Update(await FindFirst(), image, OtaProtocolVersion.Auto); // the core's Info offers v2

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (result.Status, result.Protocol));
        Assert.Equal("8.0.2", firmware.RunningVersion);
        Assert.Equal(image, firmware.ReadRunningImage()![..image.Length]);
        Assert.NotEmpty(bluetoothd.WithoutResponsePackets);
        Assert.All(bluetoothd.WithoutResponsePackets, p => Assert.Equal("socket", p.Path));
        Assert.Equal(247 - 3, bluetoothd.WithoutResponsePackets.Max(p => p.Packet.Length)); // not 20 bytes: the MTU was learnt
        Assert.Equal(0, firmware.NorViolations);
    }

    [SkippableTheory]
    [InlineData("5.66", "socket")]
    [InlineData("5.47", "request")] // no AcquireWrite without -E, and WriteValue's type is ignored: a write request
    public async Task Writes_without_response_go_through_the_acquired_socket_or_else_through_write_value(string release, string path)
    {
        AddDevice(247);
        var bluetoothd = await StartBluetoothd(release: release);
        var device = await FindFirst();
        await using var connection = await _transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(517, CancellationToken.None);
        byte[][] packets = [[0x14, 0x00], [0xF4, 0x00], [0x10, 0x00]]; // packet-size writes, which the idle core accepts either way

        foreach (var packet in packets)
        {
            await connection.WriteAsync(OtaUuids.Data, packet, WriteType.WithoutResponse, CancellationToken.None);
        }

        // The fake reads its end of the socket on its own task: wait (bounded) until it has them all.
        await WaitFor(() => bluetoothd.WithoutResponsePackets.Count >= packets.Length);
        Assert.Equal(packets, bluetoothd.WithoutResponsePackets.Select(p => p.Packet));
        Assert.All(bluetoothd.WithoutResponsePackets, p => Assert.Equal(path, p.Path));
        Assert.Contains(path == "socket" ? "AcquireWrite socket (MTU 247)" : "WriteValue type=command (BlueZ before 5.51 sends that as a write request)", connection.DescribeLink());
    }

    [SkippableFact]
    public async Task A_v2_update_whose_write_socket_bluetoothd_shuts_on_a_dropped_link_reconnects_and_resumes()
    {
        var firmware = AddDevice(247);
        var bluetoothd = await StartBluetoothd();
        bluetoothd.DropLinkAfterSocketPackets = 100;
        var image = TestImages.Build(version: "8.1.0", size: 80_000);

        var result = await Update(await FindFirst(), image, OtaProtocolVersion.Auto);

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (result.Status, result.Protocol));
        Assert.Equal(2, bluetoothd.Calls.Count(c => c == "org.bluez.Device1.Connect"));
        Assert.True(bluetoothd.WithoutResponsePackets.Sum(p => p.Packet.Length - V2Messages.DataHeaderLength) < image.Length * 2, "started over instead of resuming");
        Assert.Equal("8.1.0", firmware.RunningVersion);
        Assert.Equal(image, firmware.ReadRunningImage()![..image.Length]);
    }

    [SkippableFact]
    public async Task A_write_request_the_dropped_link_cut_off_is_a_link_loss_not_att_error_0x0e_and_the_update_resumes()
    {
        var firmware = AddDevice(247);
        var bluetoothd = await StartBluetoothd();
        bluetoothd.DropLinkDuringWriteOf = V2Messages.Done; // bluetoothd answers it Failed "Operation failed with ATT error: 0x0e"
        var image = TestImages.Build(version: "8.2.0", size: 30_000);

        var result = await Update(await FindFirst(), image, OtaProtocolVersion.Auto);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal(2, bluetoothd.Calls.Count(c => c == "org.bluez.Device1.Connect"));
        Assert.Equal("8.2.0", firmware.RunningVersion);
    }

    [SkippableFact]
    public async Task An_address_bluetoothd_forgot_after_its_temporary_timeout_is_found_by_a_short_scan_and_updated()
    {
        var firmware = AddDevice();
        var clock = new FakeTimeProvider();
        var bluetoothd = await StartBluetoothd(clock: clock);
        var scanned = await FindFirst();
        Assert.True(bluetoothd.Knows(firmware.Address));

        clock.Advance(bluetoothd.TemporaryTimeout + TimeSpan.FromSeconds(1)); // a runbook reaches the device later
        Assert.False(bluetoothd.Knows(firmware.Address));
        int before = bluetoothd.Calls.Count;
        var result = await Update(new Esp32Device(scanned.Address, null, 0, _transport), TestImages.Build(version: "9.0.0", size: 20_000));

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        var calls = bluetoothd.Calls.Skip(before).ToList();
        Assert.True(calls.IndexOf("org.bluez.Adapter1.StartDiscovery") is >= 0 and var start
            && calls.IndexOf("org.bluez.Device1.Connect") > start, string.Join(", ", calls));
        Assert.Equal("9.0.0", firmware.RunningVersion);
    }

    [SkippableFact]
    public async Task Connecting_to_an_address_that_does_not_advertise_says_why_bluez_does_not_know_it()
    {
        await StartBluetoothd();

        var error = await Assert.ThrowsAsync<BleTransportException>(() => _transport.ConnectAsync("24:0A:C4:99:99:99", CancellationToken.None));

        Assert.Contains("did not advertise within", error.Message);
        Assert.Contains("TemporaryTimeout", error.Message);
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

    [SkippableFact]
    public async Task Two_adapters_scanning_together_list_each_device_once_on_an_adapter_that_heard_it_and_connect_through_that_one()
    {
        var nearHci0 = AddDevice(address: "24:0A:C4:00:00:01");
        var nearHci1 = AddDevice(address: "24:0A:C4:00:00:02");
        var nearBoth = AddDevice(address: "24:0A:C4:00:00:03");
        var bluetoothd = await StartBluetoothd(adapters: 2);
        bluetoothd.InRange = (adapter, address) => address == nearBoth.Address || (adapter == "/org/bluez/hci0") == (address == nearHci0.Address);
        using var hci0 = new BlueZTransport(_bus.Address, "hci0");
        using var hci1 = new BlueZTransport(_bus.Address, "hci1");

        var found = new List<Esp32Device>();
        await foreach (var device in DeviceScanner.ScanAsync([hci0, hci1], ScanFilter.OtaService, TimeSpan.FromSeconds(1), CancellationToken.None))
        {
            found.Add(device);
        }

        Assert.Equal(new[] { nearHci0.Address, nearHci1.Address, nearBoth.Address }.Order(), found.Select(d => d.Address).Order());
        Assert.Equal(("hci0", hci0), (found.Single(d => d.Address == nearHci0.Address).Adapter, found.Single(d => d.Address == nearHci0.Address).Transport));
        Assert.Equal(("hci1", hci1), (found.Single(d => d.Address == nearHci1.Address).Adapter, found.Single(d => d.Address == nearHci1.Address).Transport));
        var shared = found.Single(d => d.Address == nearBoth.Address);
        Assert.Contains(shared.Adapter, new[] { "hci0", "hci1" });
        Assert.Same(shared.Adapter == "hci0" ? hci0 : hci1, shared.Transport);

        var result = await Update(shared, TestImages.Build(version: "3.1.0", size: 20_000));

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal([BlueZNames.DevicePath($"/org/bluez/{shared.Adapter}", shared.Address)], bluetoothd.ConnectCalls);
        Assert.Equal("3.1.0", nearBoth.RunningVersion);
    }

    [SkippableFact]
    public async Task The_adapters_are_listed_as_bluetoothd_names_them_and_an_adapter_it_lacks_is_refused_naming_those_it_has()
    {
        await StartBluetoothd(adapters: 2);
        using var hci7 = new BlueZTransport(_bus.Address, "hci7");

        var adapters = await _transport.AdaptersAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<BleTransportException>(() => hci7.ConnectAsync("24:0A:C4:00:00:01", CancellationToken.None));

        Assert.Equal([new BleAdapter("hci0", "00:1A:7D:DA:71:13", true), new BleAdapter("hci1", "00:1A:7D:DA:71:14", true)], adapters);
        Assert.Equal(BleTransportFailure.RadioUnavailable, error.Failure);
        Assert.Equal("There is no Bluetooth adapter hci7. BlueZ lists hci0 (00:1A:7D:DA:71:13), hci1 (00:1A:7D:DA:71:14) ('bluetoothctl list' shows them too): give one of those, or leave -Adapter out to use the first.", error.Message);
    }
}
