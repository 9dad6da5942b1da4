using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Hardware;

/// <summary>
/// The platform's radio against a real ESP32 (docs/hardware-testing.md). Skipped unless
/// BLEOTA_HARDWARE_ADDRESS names the device, so CI stays green without hardware.
/// </summary>
[Trait("Category", "Hardware")]
public sealed class RadioHardwareTests
{
    private static string Address()
    {
        string? address = Environment.GetEnvironmentVariable("BLEOTA_HARDWARE_ADDRESS");
        Skip.If(string.IsNullOrWhiteSpace(address), "No device configured: set BLEOTA_HARDWARE_ADDRESS to run the hardware tests.");
        return address!;
    }

    [SkippableFact]
    public async Task The_radio_connects_reads_the_devices_info_and_negotiates_a_larger_mtu()
    {
        string address = Address();
        var radio = Transports.Radio();

        await using var connection = await radio.ConnectAsync(address, CancellationToken.None);
        int mtu = await connection.RequestMtuAsync(517, CancellationToken.None);

        Assert.True(connection.HasCharacteristic(OtaUuids.Control) && connection.HasCharacteristic(OtaUuids.Data), "the device must run the ble_ota component");
        Assert.True(mtu > 23, $"the link kept the default MTU: {connection.DescribeLink()}");
        if (connection.HasCharacteristic(OtaUuids.Info))
        {
            Assert.Equal(DeviceInfo.Size, (await connection.ReadAsync(OtaUuids.Info, CancellationToken.None)).Length);
        }
    }

    [SkippableFact]
    public async Task The_link_reports_its_end_when_the_client_disconnects()
    {
        string address = Address();
        var connection = await Transports.Radio().ConnectAsync(address, CancellationToken.None);
        var dropped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Disconnected += (_, e) => dropped.TrySetResult(e.Reason);

        await connection.DisposeAsync();

        Assert.False(connection.IsConnected);
        Assert.False(string.IsNullOrEmpty(await dropped.Task.WaitAsync(TimeSpan.FromSeconds(10))));
    }
}
