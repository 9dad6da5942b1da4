using System.Diagnostics;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Tests.Support;

namespace BleOta.Tests.Simulator;

/// <summary>
/// The adapter's scheduler: simulated time moves only while every client waits on it, so runs give the same
/// figures every time, and the adapter makes one connection at a time.
/// </summary>
public class SimulatedAdapterTests
{
    [Fact]
    public async Task A_delay_on_a_links_clock_passes_in_simulated_time_only()
    {
        var fleet = new Fleet();
        var device = fleet.Add();
        await using var link = await fleet.Transport.ConnectAsync(device.Address, CancellationToken.None);
        var before = fleet.Transport.Adapter.Now;
        var wall = Stopwatch.StartNew();

        await Task.Delay(TimeSpan.FromMinutes(10), link.Clock);

        Assert.Equal(TimeSpan.FromMinutes(10), fleet.Transport.Adapter.Now - before);
        Assert.True(wall.Elapsed < TimeSpan.FromMinutes(1), $"took {wall.Elapsed} of wall time");
    }

    [Fact]
    public async Task The_adapter_makes_one_connection_at_a_time()
    {
        var fleet = new Fleet();
        var devices = new[] { fleet.Add(), fleet.Add() };
        var connectTime = devices[0].Options.Profile.ConnectTime;
        var adapter = fleet.Transport.Adapter;
        var connected = new TimeSpan[2];
        Task[] connecting;
        using (adapter.Hold())
        {
            connecting = devices.Select((d, i) => Task.Run(async () =>
            {
                await using var link = await fleet.Transport.ConnectAsync(d.Address, CancellationToken.None);
                connected[i] = adapter.Now;
                await Task.Delay(TimeSpan.FromSeconds(1), link.Clock); // both stay connected until the other is
            })).ToArray();
            SpinWait.SpinUntil(() => adapter.Clients == 2);
        }

        await Task.WhenAll(connecting);

        Assert.Equal([connectTime, connectTime * 2], connected.Order());
    }

    [Fact]
    public async Task Updates_of_several_devices_on_one_adapter_give_the_same_figures_every_run()
    {
        var first = await UpdateTogether();
        var second = await UpdateTogether();

        Assert.Equal(first, second);
    }

    /// <summary>Three devices on one adapter updated at once; each update's duration in simulated time.</summary>
    private static async Task<TimeSpan[]> UpdateTogether()
    {
        var fleet = new Fleet();
        var devices = Enumerable.Range(0, 3).Select(_ => fleet.Add()).ToList();
        var image = FirmwareImage.Parse(TestImages.Build(size: 60_000));
        Task<OtaResult>[] updates;
        using (fleet.Transport.Adapter.Hold())
        {
            updates = devices.Select(d => Task.Run(() =>
            {
                var updater = new OtaUpdater(new OtaSessionRegistry());
                return updater.RunAsync(updater.CreateSession(fleet.Target(d), image), OtaOptions.Default, null, CancellationToken.None);
            })).ToArray();
            SpinWait.SpinUntil(() => fleet.Transport.Adapter.Clients == devices.Count);
        }

        var results = await Task.WhenAll(updates);
        Assert.All(results, r => Assert.Equal(OtaStatus.Succeeded, r.Status));
        return results.Select(r => r.Duration).ToArray();
    }
}
