using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

/// <summary>
/// Asks a device what it runs without changing anything: connect, read its Info (BleOta firmware) or note that it has
/// none (the tutorial's firmware), disconnect. Nothing is written to the device.
/// </summary>
public static class DeviceInspector
{
    /// <exception cref="OtaException">The device could not be reached, or it has no OTA service.</exception>
    public static async Task<Esp32DeviceInfo> ReadAsync(Esp32Device device, OtaTimeouts timeouts, CancellationToken cancellationToken)
    {
        await using var link = await DeviceLink.ConnectAsync(device, timeouts.Connect, (why, inner) => DeviceLink.ConnectFailure(device, why, inner), cancellationToken)
            .ConfigureAwait(false);
        DeviceLink.RequireOtaService(link);
        if (!link.HasCharacteristic(OtaUuids.Info))
        {
            return new Esp32DeviceInfo(device.Name, device.Address, "Tutorial", null, null, null, null, "V1", null, null);
        }

        var info = await DeviceLink.ReadInfoAsync(link, cancellationToken).ConfigureAwait(false);
        var protocols = OtaUpdater.SupportedProtocols.Where(p => (int)p <= info.HighestProtocol);
        return new Esp32DeviceInfo(device.Name, device.Address, "BleOta", info.ProjectName, info.RunningVersion, info.IdfVersion, info.Chip.ToDisplayName(),
            string.Join(", ", protocols), info.SlotSize, info.Features.ToString(),
            info.RunningImageSha256 is { } sha ? Convert.ToHexString(sha).ToLowerInvariant() : null);
    }
}
