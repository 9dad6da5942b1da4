using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Session;

/// <summary>The GATT steps an update and its verification share: connect within a time limit, read the device's Info.</summary>
internal static class DeviceLink
{
    /// <summary>Connects, turning a timeout or a refused connection into the failure <paramref name="fail"/> describes.</summary>
    public static async Task<IBleConnection> ConnectAsync(Esp32Device device, TimeSpan timeout, Func<string, Exception?, OtaException> fail, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            return await device.Transport.ConnectAsync(device.Address, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw fail($"within {timeout.TotalSeconds:0.#} s", null);
        }
        catch (BleTransportException ex)
        {
            throw fail(ex.Message, ex);
        }
    }

    public static async Task<DeviceInfo> ReadInfoAsync(IBleConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            return DeviceInfo.Parse(await connection.ReadAsync(OtaUuids.Info, cancellationToken).ConfigureAwait(false));
        }
        catch (BleLinkLostException ex)
        {
            throw new OtaException(OtaErrorCode.Disconnected, $"The link dropped while reading the device's Info: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is FormatException or BleTransportException)
        {
            throw new OtaException(OtaErrorCode.TransportError, $"Could not read the device's Info: {ex.Message}", ex);
        }
    }

    public static string Describe(DeviceInfo info) =>
        $"{info.ProjectName} {info.RunningVersion} on an {info.Chip.ToDisplayName()}, IDF {info.IdfVersion}, OTA slot {info.SlotSize / 1024} KB, protocol up to v{info.HighestProtocol}";
}
