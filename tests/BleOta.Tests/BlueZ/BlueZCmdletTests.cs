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
/// The module keeps one BlueZ transport per process, bound to the bus it first met, so one test runs the story.
/// </summary>
public sealed class BlueZCmdletTests
{
    [SkippableFact]
    public async Task Find_and_invoke_over_bluez_update_the_device_then_a_runbook_updates_it_by_address_after_bluez_forgot_it_and_the_link_dropped()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "BlueZ is Linux only.");
        using var bus = PrivateBus.Start();
        using var firmware = new HostFirmwareTransport();
        if (!HostFirmwareLibrary.TryLoad(out string? reason))
        {
            Assert.False(Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_HOST_FIRMWARE") == "1", reason);
            Skip.If(true, reason);
        }

        var device = firmware.AddDevice(maxMtu: 247);
        var clock = new FakeTimeProvider();
        using var bluetoothd = await FakeBluetoothd.StartAsync(bus.Address, firmware, clock: clock);
        string image = Path.Combine(Path.GetTempPath(), $"bleota-bluez-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(image, TestImages.Build(version: "4.2.0", size: 40_000));
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
}
