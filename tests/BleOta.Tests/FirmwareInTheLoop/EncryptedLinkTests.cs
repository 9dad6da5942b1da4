using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.FirmwareInTheLoop;

/// <summary>CONFIG_BLE_OTA_REQUIRE_ENCRYPTION against the real core: an unpaired client is told how to pair; a bonded one updates.</summary>
public sealed class EncryptedLinkTests : IDisposable
{
    private readonly HostFirmwareTransport? _transport;

    public EncryptedLinkTests()
    {
        if (HostFirmwareSupport.IsAvailable())
        {
            _transport = new HostFirmwareTransport();
        }
    }

    public void Dispose() => _transport?.Dispose();

    private async Task<OtaResult> Update(HostFirmwareDevice device)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = new Esp32Device(device.Address, device.Name, device.Rssi, _transport!);
        var session = updater.CreateSession(target, FirmwareImage.Parse(TestImages.Build(version: "5.0.0", size: 20_000)));
        return await updater.RunAsync(session, OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(5)) }, null, CancellationToken.None);
    }

    [SkippableFact]
    public async Task An_unpaired_client_is_refused_and_told_how_to_pair()
    {
        Skip.If(_transport is null, HostFirmwareSupport.NotBuilt);
        var device = _transport!.AddDevice();
        device.RequireEncryption();

        var result = await Update(device);

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.PairingRequired), (result.Status, result.ErrorCode));
        Assert.Contains("bluetoothctl", result.Error);
        Assert.Contains("Bluetooth & devices", result.Error);
        Assert.Equal(0, device.BytesReceived);
        Assert.Equal("0.0.0-factory", device.RunningVersion);
    }

    [SkippableFact]
    public async Task A_bonded_client_updates()
    {
        Skip.If(_transport is null, HostFirmwareSupport.NotBuilt);
        var device = _transport!.AddDevice();
        device.RequireEncryption();
        device.Bonded = true;

        var result = await Update(device);

        Assert.Equal(OtaStatus.Succeeded, result.Status);
        Assert.Equal("5.0.0", device.RunningVersion);
    }
}
