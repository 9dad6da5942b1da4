using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// What a simulated link carries by itself, with no flash work: the measurement the bench's calibration compares with
/// published throughput figures and the link model's tests check.
/// </summary>
public static class LinkRate
{
    /// <summary>
    /// Bytes per second of <paramref name="writes"/> writes without response of <paramref name="valueBytes"/> each, which
    /// OTA Data refuses while idle (the device's host work, no flash), timed on the link's clock from the first write
    /// to the answer of a request sent behind the last one.
    /// </summary>
    public static async Task<double> StreamWritesAsync(SimulatedTransport transport, SimulatedDevice device, int valueBytes, int writes)
    {
        await using var link = await transport.ConnectAsync(device.Address, CancellationToken.None).ConfigureAwait(false);
        await link.RequestMtuAsync(valueBytes + 3, CancellationToken.None).ConfigureAwait(false);
        var value = new byte[valueBytes];
        long start = link.Clock.GetTimestamp();
        for (int i = 0; i < writes; i++)
        {
            await link.WriteAsync(OtaUuids.Data, value, WriteType.WithoutResponse, CancellationToken.None).ConfigureAwait(false);
        }

        await link.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Nop }, WriteType.WithResponse, CancellationToken.None).ConfigureAwait(false);
        return (double)valueBytes * writes / link.Clock.GetElapsedTime(start).TotalSeconds;
    }
}
