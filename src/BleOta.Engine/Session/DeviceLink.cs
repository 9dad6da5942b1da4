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

    /// <summary>
    /// Why connecting to <paramref name="device"/> failed, with the advice that fits: a device that is not there, one
    /// held by another client, or this computer's radio.
    /// </summary>
    public static OtaException ConnectFailure(Esp32Device device, string why, Exception? inner) => (inner as BleTransportException)?.Failure switch
    {
        BleTransportFailure.RadioUnavailable => new OtaException(OtaErrorCode.RadioUnavailable,
            $"Could not connect to {device}: this computer's Bluetooth radio is not usable. {why}", inner),
        BleTransportFailure.DeviceInUse => new OtaException(OtaErrorCode.DeviceInUse,
            $"Could not connect to {device}: {why} Disconnect it there (a phone app, another gateway or BleOta session), then try again.", inner),
        _ => new OtaException(OtaErrorCode.DeviceNotFound,
            $"Could not connect to {device} ({why.TrimEnd('.')}). Check that it is powered, in range and advertising (Find-Esp32Device lists what answers), then try again.", inner),
    };

    /// <summary>Refuses a peripheral without the OTA service: it cannot be updated over the air at all.</summary>
    public static void RequireOtaService(IBleConnection connection)
    {
        if (!connection.HasCharacteristic(OtaUuids.Control) || !connection.HasCharacteristic(OtaUuids.Data))
        {
            throw new OtaException(OtaErrorCode.NotAnOtaDevice, $"{connection.Address} has no OTA service ({OtaUuids.Service}). Flash it once by cable with firmware that includes the ble_ota component.");
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
