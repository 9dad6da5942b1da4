using System.Runtime.CompilerServices;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Discovery;

/// <summary>An advertiser as the watcher sees it: what its advertisement and its scan response carry.</summary>
internal sealed record Advertiser(string Address, Guid[] AdvertisedUuids, string? AdvertisedName, Guid[] ResponseUuids, string? ResponseName, int Rssi = -60)
{
    /// <summary>Our firmware with CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID: flags and the 128-bit UUID, the name in the scan response (port/ble_ota_gap.c).</summary>
    public static Advertiser OtaFirmware(string address, string name) => new(address, [Engine.Protocol.OtaUuids.Service], null, [], name);
}

/// <summary>
/// A scan-level stand-in for Windows' BluetoothLEAdvertisementWatcher in active mode, shaped as the WinRT
/// transport hands its packets on: one Received event per packet (MicrosoftDocs/winrt-api
/// BluetoothLEAdvertisementType: ConnectableUndirected for ADV_IND, ScanResponse for SCAN_RSP), so an active scan
/// delivers an advertiser in two parts (noble-winrt PR 29), and the parts of several advertisers interleave. A
/// scan response may be lost (the scan request or its answer collided), and an advertiser is heard once per round
/// of the scan window. The order and the losses come from a seed.
/// </summary>
internal sealed class WindowsWatcherFake(IReadOnlyList<Advertiser> advertisers, int seed, int rounds = 3, double scanResponseLoss = 0) : IBleTransport
{
    public string Name => "WinRT (fake watcher)";

    public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        for (int round = 0; round < rounds; round++)
        {
            // Each scan response follows its own advertisement, with other advertisers' packets between them.
            var heard = advertisers.OrderBy(_ => random.Next()).ToList();
            var answered = heard.Where(_ => random.NextDouble() >= scanResponseLoss).OrderBy(_ => random.Next()).ToList();
            foreach (var packet in heard.Select(d => Packet(d, AdvertisingPdu.ConnectableUndirected)).Concat(answered.Select(d => Packet(d, AdvertisingPdu.ScanResponse))))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return packet;
                await Task.Yield();
            }
        }
    }

    public Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The fake watcher only scans.");

    private BleAdvertisement Packet(Advertiser device, AdvertisingPdu pdu) => pdu == AdvertisingPdu.ScanResponse
        ? BleAdvertisement.FromPacket(device.Address, device.ResponseName, device.Rssi, device.ResponseUuids, pdu, false, this)
        : BleAdvertisement.FromPacket(device.Address, device.AdvertisedName, device.Rssi, device.AdvertisedUuids, pdu, false, this);
}
