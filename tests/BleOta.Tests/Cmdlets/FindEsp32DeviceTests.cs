using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Transport.Simulated;
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
    public void The_other_platforms_radio_is_refused_with_what_to_use_instead()
    {
        string other = OperatingSystem.IsWindows() ? "BlueZ" : "WinRT";
        var (output, _) = _host.Run($"try {{ Find-Esp32Device -Transport {other} -ErrorAction Stop }} catch {{ $_ }}");

        var error = (System.Management.Automation.ErrorRecord)Assert.Single(output).BaseObject;
        Assert.Equal("TransportUnavailable,BleOta.FindEsp32Device", error.FullyQualifiedErrorId);
        Assert.Contains("-Simulated", error.Exception.Message);
    }

    [Fact]
    public void LinkProfile_puts_the_simulated_fleet_on_that_profile_and_keeps_its_firmware()
    {
        try
        {
            var (_, streams) = _host.Run("Find-Esp32Device -Simulated 2 -SimulationSpeed 0 -LinkProfile seed-macos");

            Assert.Empty(streams.Error);
            Assert.All(SimulatedTransport.Shared.Devices, d => Assert.Same(LinkProfile.SeedMacOS, d.Options.Profile));
            Assert.All(SimulatedTransport.Shared.Devices, d => Assert.Equal(256, d.DeviceMtu));
            Assert.All(SimulatedTransport.Shared.Devices, d => Assert.False(d.IsBricked));
        }
        finally
        {
            _host.Run($"Find-Esp32Device -Simulated 1 -SimulationSpeed 0 -LinkProfile {LinkProfile.Default.Name}");
        }
    }

    [Fact]
    public void An_unknown_LinkProfile_fails_with_UnknownLinkProfile_and_lists_the_profiles()
    {
        var (output, _) = _host.Run("try { Find-Esp32Device -Simulated 1 -SimulationSpeed 0 -LinkProfile android -ErrorAction Stop } catch { $_ }");

        var error = (ErrorRecord)Assert.Single(output).BaseObject;
        Assert.Equal("UnknownLinkProfile,BleOta.FindEsp32Device", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.All(LinkProfile.All, p => Assert.Contains(p.Name, error.Exception.Message));
    }

    [Fact]
    public void LinkProfile_completes_to_the_profile_names()
    {
        var (output, _) = _host.Run("(TabExpansion2 -inputScript 'Find-Esp32Device -Simulated 1 -LinkProfile esp' -cursorColumn 46).CompletionMatches.CompletionText");

        Assert.Equal(["esp32-1m-dle", "esp32s3-2m", "esp32s3-2m-suspend"], output.Select(o => o.ToString()));
    }
}
