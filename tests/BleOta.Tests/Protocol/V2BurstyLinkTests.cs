using BleOta.Engine.Protocol;
using BleOta.Tests.Support;
using BleOta.Transport.Simulated;

namespace BleOta.Tests.Protocol;

/// <summary>
/// v2 over a link that sends writes the way Windows does, in bursts of 2 to 5 with 1 to 2 s stalls
/// (MicrosoftDocs/winrt-api issue 2423), with BleOta's default timeouts: the window must get through without
/// answering the stalls with resends that only queue behind the packets still held.
/// </summary>
public sealed class V2BurstyLinkTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task The_window_gets_through_bursts_and_stalls_without_a_resend_storm(int seed)
    {
        var flash = new SimulatedFlash(SimulatedDevice.DefaultSlotSize, SampleImages.Factory);
        var server = new BleOtaFirmwareModel(flash, DeviceFaults.None, 512, 16, false);
        var link = new BurstyWindowsLink(server, 247, seed);
        var image = TestImages.Build(size: 60_000);

        await new V2Client(OtaTimeouts.Default).SendAsync(link, image, image, false, 514, null, CancellationToken.None);

        Assert.Equal(RestartAfterWrite.AfterResponse, server.Restart);
        flash.Reboot();
        Assert.Equal(image, flash.RunningImage!.Bytes[..image.Length]);
        int needed = V2Client.PacketCount(image.Length, V2Client.PayloadSizeFor(247, 514));
        Assert.True(link.ResentPackets <= needed / 10, $"{link.ResentPackets} of {link.DataPackets} packets were resends ({needed} needed, {link.Elapsed.TotalSeconds:0} s on the link)");
    }
}
