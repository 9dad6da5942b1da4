using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Engine.Session;
using BleOta.Tests.Support;
using BleOta.Transport.BlueZ;
using BleOta.Transport.HostFirmware;
using Microsoft.Extensions.Time.Testing;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// The cmdlets over the BlueZ radio as a Linux user runs them: -Transport BlueZ loads the BlueZ assembly,
/// which talks to the fake bluetoothd on a private bus (BLEOTA_BLUEZ_BUS), behind which runs the C core.
/// The module keeps one BlueZ transport per adapter and process, bound to the bus it first met, so each test runs a
/// story, one with the default adapter and one with adapters named.
/// </summary>
public sealed class BlueZCmdletTests
{
    /// <summary>Skips where BlueZ cannot be (not Linux) or the firmware's host library is missing, unless BLEOTA_REQUIRE_HOST_FIRMWARE says it must be there.</summary>
    private static void SkipUnlessTheFirmwareCanRunBehindBlueZ()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "BlueZ is Linux only.");
        if (!HostFirmwareLibrary.TryLoad(out string? reason))
        {
            Assert.False(Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_HOST_FIRMWARE") == "1", reason);
            Skip.If(true, reason);
        }
    }

    private static async Task<string> TempImage(string version, int size)
    {
        string image = Path.Combine(Path.GetTempPath(), $"bleota-bluez-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(image, TestImages.Build(version: version, size: size));
        return image;
    }

    [SkippableFact]
    public async Task Find_and_invoke_over_bluez_update_the_device_then_a_runbook_updates_it_by_address_after_bluez_forgot_it_and_the_link_dropped()
    {
        SkipUnlessTheFirmwareCanRunBehindBlueZ();
        using var bus = PrivateBus.Start();
        using var firmware = new HostFirmwareTransport();

        var device = firmware.AddDevice(maxMtu: 247);
        var clock = new FakeTimeProvider();
        using var bluetoothd = await FakeBluetoothd.StartAsync(bus.Address, firmware, clock: clock);
        string image = await TempImage("4.2.0", 40_000);
        Environment.SetEnvironmentVariable(BlueZTransport.BusEnvironmentVariable, bus.Address);
        try
        {
            using var host = new ModuleHost();
            host.Set("image", image);
            var (output, streams) = host.Run(
                "Find-Esp32Device -Transport BlueZ -TimeoutSec 2 -Verbose | Select-Object -First 1 | Invoke-Esp32Ota -Path $image -Force -PassThru -Verbose");

            Assert.Empty(streams.Error);
            var result = (OtaUpdateResult)Assert.Single(output).BaseObject;
            Assert.Equal(("Succeeded", "4.2.0"), (result.Status, device.RunningVersion));
            var verbose = streams.Verbose.Select(v => v.Message).ToList();
            Assert.Contains(verbose, m => m.Contains("BlueZ adapter hci0", StringComparison.Ordinal));
            Assert.Contains(verbose, m => m.Contains("ATT MTU 247", StringComparison.Ordinal) && m.Contains("WriteValue type=request", StringComparison.Ordinal));

            // Later a runbook passes only the address: bluetoothd has forgotten the device, and the link drops mid-update.
            clock.Advance(bluetoothd.TemporaryTimeout + TimeSpan.FromSeconds(1));
            Assert.False(bluetoothd.Knows(device.Address));
            bluetoothd.DropLinkAfterSocketPackets = 60;
            await File.WriteAllBytesAsync(image, TestImages.Build(version: "4.3.0", size: 40_000));
            host.Set("address", device.Address);
            // The whole image (-Delta Off): a patch against the 4.2.0 sent above would be too short for the link to drop.
            (output, streams) = host.Run("Invoke-Esp32Ota -Address $address -Transport BlueZ -Path $image -Delta Off -Force -PassThru -Verbose");

            Assert.Empty(streams.Error);
            result = (OtaUpdateResult)Assert.Single(output).BaseObject;
            Assert.Equal(("Succeeded", "4.3.0"), (result.Status, device.RunningVersion));
            Assert.Contains(streams.Verbose, v => v.Message.Contains("reconnecting to resume", StringComparison.Ordinal));
            (output, _) = host.Run("Get-OtaProgress | Where-Object Address -eq $address");
            Assert.All(output.Select(o => (OtaProgress)o.BaseObject), p => Assert.True(p.IsFinished, $"{p.State}: Get-OtaProgress shows a session still running"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(BlueZTransport.BusEnvironmentVariable, null);
            File.Delete(image);
        }
    }

    [SkippableFact]
    public async Task With_two_adapters_find_lists_each_device_on_its_adapter_and_invoke_and_get_info_connect_through_it()
    {
        SkipUnlessTheFirmwareCanRunBehindBlueZ();
        using var bus = PrivateBus.Start();
        using var firmware = new HostFirmwareTransport();

        var nearHci0 = firmware.AddDevice("24:0A:C4:00:01:01", "esp32-left");
        var nearHci1 = firmware.AddDevice("24:0A:C4:00:01:02", "esp32-right");
        using var bluetoothd = await FakeBluetoothd.StartAsync(bus.Address, firmware, adapters: 2);
        bluetoothd.InRange = (adapter, address) => (adapter == "/org/bluez/hci0") == (address == nearHci0.Address);
        string image = await TempImage("5.1.0", 20_000);
        Environment.SetEnvironmentVariable(BlueZTransport.BusEnvironmentVariable, bus.Address);
        try
        {
            using var host = new ModuleHost();
            host.Set("image", image);

            var (completions, _) = host.Run("$line = 'Find-Esp32Device -Transport BlueZ -Adapter '; (TabExpansion2 $line $line.Length).CompletionMatches");
            Assert.Equal(["hci0", "hci1"], completions.Select(c => ((CompletionResult)c.BaseObject).CompletionText));
            Assert.Contains("00:1A:7D:DA:71:14", ((CompletionResult)completions[1].BaseObject).ToolTip);

            var (found, streams) = host.Run("$found = Find-Esp32Device -Transport BlueZ -Adapter hci0, hci1 -TimeoutSec 1; $found");
            Assert.Empty(streams.Error);
            Assert.Equal([(nearHci0.Address, "hci0"), (nearHci1.Address, "hci1")],
                found.Select(o => (Esp32Device)o.BaseObject).Select(d => (d.Address, d.Adapter!)).OrderBy(d => d.Address));

            var (results, updateStreams) = host.Run("$found | Invoke-Esp32Ota -Path $image -Force -PassThru");
            Assert.Empty(updateStreams.Error);
            Assert.All(results, r => Assert.Equal("Succeeded", ((OtaUpdateResult)r.BaseObject).Status));
            Assert.Equal(["/org/bluez/hci0/dev_24_0A_C4_00_01_01", "/org/bluez/hci1/dev_24_0A_C4_00_01_02"], bluetoothd.ConnectCalls.Order());

            // By address: the adapter the last scan heard it on, of those named.
            host.Set("address", nearHci1.Address);
            var (info, infoStreams) = host.Run("Get-Esp32DeviceInfo -Address $address -Transport BlueZ -Adapter hci0, hci1");
            Assert.Empty(infoStreams.Error);
            Assert.Equal("5.1.0", ((Esp32DeviceInfo)Assert.Single(info).BaseObject).Version);
            Assert.Equal("/org/bluez/hci1/dev_24_0A_C4_00_01_02", bluetoothd.ConnectCalls[^1]);

            var (_, wrong) = host.Run("Find-Esp32Device -Transport BlueZ -Adapter hci1, hci7 -TimeoutSec 1");
            var error = Assert.Single(wrong.Error);
            Assert.Equal(("AdapterNotFound,BleOta.FindEsp32Device", ErrorCategory.ObjectNotFound), (error.FullyQualifiedErrorId, error.CategoryInfo.Category));
            Assert.Equal("There is no Bluetooth adapter hci7. BlueZ lists hci0 (00:1A:7D:DA:71:13), hci1 (00:1A:7D:DA:71:14) ('bluetoothctl list' shows them too): give one of those, or leave -Adapter out to use the first.",
                error.Exception.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(BlueZTransport.BusEnvironmentVariable, null);
            File.Delete(image);
        }
    }
}
