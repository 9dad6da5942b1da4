using System.Runtime.CompilerServices;
using BleOta.Engine.Discovery;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Discovery;

/// <summary>DeviceScanner over a watcher that reports advertisement and scan response apart, as Windows does, and over a caller slower than the scan.</summary>
public sealed class DeviceScannerTests
{
    private static readonly Guid Other = Guid.Parse("0000180d-0000-1000-8000-00805f9b34fb"); // heart rate

    private static async Task<List<Esp32Device>> Scan(IBleTransport transport, ScanFilter filter)
    {
        var found = new List<Esp32Device>();
        await foreach (var device in DeviceScanner.ScanAsync(transport, filter, TimeSpan.FromSeconds(30), CancellationToken.None))
        {
            found.Add(device);
        }

        return found;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Names_that_come_in_the_scan_response_are_found_and_each_device_comes_once(int seed)
    {
        var watcher = new WindowsWatcherFake(
        [
            Advertiser.OtaFirmware("24:0A:C4:00:00:01", "pump-1"),
            Advertiser.OtaFirmware("24:0A:C4:00:00:02", "pump-2"),
            new Advertiser("C0:FF:EE:00:00:01", [Other], null, [], "chest-strap"),
        ], seed);

        var found = await Scan(watcher, ScanFilter.OtaService);

        Assert.Equal(["pump-1", "pump-2"], found.Select(d => d.Name).Order());
        Assert.All(found, d => Assert.True(d.AdvertisesOta));
    }

    [Fact]
    public async Task A_device_is_emitted_once_its_scan_response_arrived_not_at_its_first_packet()
    {
        var watcher = new WindowsWatcherFake([Advertiser.OtaFirmware("24:0A:C4:00:00:01", "pump-1")], seed: 7, rounds: 1);
        var merger = new ScanMerger(ScanFilter.OtaService);
        var emitted = new List<Esp32Device?>();

        await foreach (var packet in watcher.ScanAsync(ScanFilter.OtaService, CancellationToken.None))
        {
            emitted.Add(merger.Add(packet));
        }

        Assert.Null(emitted[0]); // the advertisement: the UUID, no name yet
        Assert.Equal("pump-1", emitted[1]?.Name);
        Assert.Empty(merger.Remaining());
    }

    [Fact]
    public async Task A_device_whose_scan_response_never_arrives_is_still_found_when_the_scan_ends()
    {
        var watcher = new WindowsWatcherFake([Advertiser.OtaFirmware("24:0A:C4:00:00:01", "pump-1")], seed: 4, scanResponseLoss: 1);

        var found = Assert.Single(await Scan(watcher, ScanFilter.OtaService));

        Assert.Equal(("24:0A:C4:00:00:01", "24:0A:C4:00:00:01"), (found.Address, found.Name)); // named by its address
        Assert.True(found.AdvertisesOta);
    }

    [Fact]
    public async Task The_service_is_matched_in_whichever_part_carries_it()
    {
        // Name in the advertisement, the UUID in the scan response: a filter in the OS would have passed only the response.
        var watcher = new WindowsWatcherFake([new Advertiser("24:0A:C4:00:00:03", [], "valve-3", [OtaUuids.Service], null)], seed: 5);

        var found = Assert.Single(await Scan(watcher, ScanFilter.OtaService));

        Assert.Equal("valve-3", found.Name);
        Assert.True(found.AdvertisesOta);
    }

    [Fact]
    public async Task Without_a_filter_every_advertiser_is_found_with_its_name()
    {
        var watcher = new WindowsWatcherFake(
        [
            Advertiser.OtaFirmware("24:0A:C4:00:00:01", "pump-1"),
            new Advertiser("C0:FF:EE:00:00:01", [Other], null, [], "chest-strap"),
        ], seed: 9);

        var found = await Scan(watcher, new ScanFilter());

        Assert.Equal([("chest-strap", false), ("pump-1", true)], found.Select(d => (d.Name, d.AdvertisesOta)).OrderBy(d => d.Name));
    }

    [Fact]
    public async Task Every_device_found_in_the_window_is_yielded_however_long_the_caller_takes_for_each()
    {
        var transport = new ScriptedTransport(Enumerable.Range(1, 6).Select(n => $"AA:00:00:00:00:0{n}").ToArray());
        var yielded = new List<string>();

        await foreach (var device in DeviceScanner.ScanAsync(transport, ScanFilter.OtaService, TimeSpan.FromSeconds(2), CancellationToken.None))
        {
            yielded.Add(device.Address);
            await Task.Delay(yielded.Count == 1 ? 2500 : 0); // the caller is held up past the window (an admin answering a prompt)
        }

        Assert.Equal(transport.Addresses, yielded);
    }

    [Fact]
    public async Task A_transport_failure_surfaces_as_itself()
    {
        var transport = new ScriptedTransport(["AA:00:00:00:00:01"], new BleTransportException("radio off", failure: BleTransportFailure.RadioUnavailable));

        var error = await Assert.ThrowsAsync<BleTransportException>(async () =>
        {
            await foreach (var _ in DeviceScanner.ScanAsync(transport, ScanFilter.OtaService, TimeSpan.FromSeconds(5), CancellationToken.None))
            {
            }
        });

        Assert.Equal(BleTransportFailure.RadioUnavailable, error.Failure);
    }

    /// <summary>
    /// Advertises the given addresses one after another, each as a packet delivered asynchronously that ends the scan
    /// when it is cancelled (as a radio's watcher does), then fails if told to, then waits for the window.
    /// </summary>
    private sealed class ScriptedTransport(string[] addresses, Exception? failAfter = null) : IBleTransport
    {
        public string[] Addresses { get; } = addresses;

        public string Name => "Scripted";

        public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (string address in Addresses)
            {
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                yield return new BleAdvertisement(address, address, -50, [OtaUuids.Service], this);
            }

            if (failAfter is not null)
            {
                throw failAfter;
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        public Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
