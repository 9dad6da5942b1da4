using BleOta.Engine.Discovery;
using BleOta.Tests.Support;

namespace BleOta.Tests.Cmdlets;

public sealed class FindEsp32DeviceTests : IDisposable
{
    private readonly ModuleHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public void Simulated_finds_that_many_devices_offering_ota()
    {
        var (output, streams) = _host.Run("Find-Esp32Device -Simulated 3 -SimulationSpeed 0");

        Assert.Empty(streams.Error);
        var devices = output.Select(o => (Esp32Device)o.BaseObject).ToList();
        Assert.True(devices.Count >= 3);
        Assert.Contains(devices, d => d.Name == "esp32-sim-03");
        Assert.All(devices, d => Assert.True(d.AdvertisesOta));
    }

    [Fact]
    public void Name_filters_with_wildcards()
    {
        var (output, _) = _host.Run("Find-Esp32Device -Simulated 3 -SimulationSpeed 0 -Name '*-02'");

        Assert.Equal("esp32-sim-02", ((Esp32Device)Assert.Single(output).BaseObject).Name);
    }

    [Fact]
    public void Without_a_radio_transport_the_error_says_what_to_use()
    {
        var (output, _) = _host.Run("try { Find-Esp32Device -ErrorAction Stop } catch { $_ }");

        var error = (System.Management.Automation.ErrorRecord)Assert.Single(output).BaseObject;
        Assert.Equal("TransportUnavailable,BleOta.FindEsp32Device", error.FullyQualifiedErrorId);
        Assert.Contains("-Simulated", error.Exception.Message);
    }
}
