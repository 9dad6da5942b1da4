namespace BleOta.Tests.Transport;

/// <summary>Which radio the cmdlets use: -Transport, then BLEOTA_TRANSPORT, then the platform.</summary>
public sealed class TransportSelectionTests
{
    [Theory]
    [InlineData(RadioTransport.Auto, null, true, false, RadioTransport.WinRT)]
    [InlineData(RadioTransport.Auto, null, false, true, RadioTransport.BlueZ)]
    [InlineData(RadioTransport.Auto, "winrt", false, true, RadioTransport.WinRT)]
    [InlineData(RadioTransport.Auto, " BlueZ ", true, false, RadioTransport.BlueZ)]
    [InlineData(RadioTransport.Auto, "Auto", false, true, RadioTransport.BlueZ)]
    [InlineData(RadioTransport.BlueZ, "WinRT", true, false, RadioTransport.BlueZ)]
    public void The_parameter_beats_the_environment_variable_which_beats_the_platform(
        RadioTransport requested, string? environment, bool windows, bool linux, RadioTransport expected)
    {
        Assert.Equal(expected, Transports.Resolve(requested, environment, windows, linux));
    }

    [Fact]
    public void A_wrong_environment_variable_is_named_with_the_values_it_takes()
    {
        var error = Assert.Throws<PlatformNotSupportedException>(() => Transports.Resolve(RadioTransport.Auto, "bluetooth", false, true));

        Assert.Equal("The environment variable BLEOTA_TRANSPORT is 'bluetooth'. Set it to Auto, BlueZ or WinRT, or remove it.", error.Message);
    }

    [Fact]
    public void A_platform_without_a_radio_transport_points_to_the_simulator()
    {
        var error = Assert.Throws<PlatformNotSupportedException>(() => Transports.Resolve(RadioTransport.Auto, null, false, false));

        Assert.Contains("-Simulated", error.Message);
    }
}
