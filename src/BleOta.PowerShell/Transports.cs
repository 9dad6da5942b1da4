using System.Management.Automation;
using BleOta.Engine.Simulator;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>Chooses the transport a cmdlet talks through.</summary>
internal static class Transports
{
    /// <summary>
    /// The simulated fleet, set to run at <paramref name="speed"/>, holding at least <paramref name="count"/> devices,
    /// and on <paramref name="profile"/> when one is given (else each device keeps the profile it has).
    /// </summary>
    public static SimulatedTransport Simulated(int count, double speed, LinkProfile? profile = null)
    {
        var transport = SimulatedTransport.Shared;
        transport.Speed = speed;
        transport.EnsureDevices(count, profile: profile);
        return transport;
    }

    /// <summary>
    /// The platform's radio. Real radios (WinRT, BlueZ) are not part of this build yet, so this explains
    /// what to use instead rather than failing somewhere deeper.
    /// </summary>
    public static IBleTransport Radio() =>
        throw new PlatformNotSupportedException(
            "This build of BleOta has no Bluetooth radio transport for this platform yet. Use -Simulated to work with simulated devices.");

    /// <summary>The transport that knows this address: a simulated device if one has it, else the radio.</summary>
    public static IBleTransport ForAddress(string address) =>
        SimulatedTransport.Shared.Devices.Any(d => string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase))
            ? SimulatedTransport.Shared
            : Radio();

    /// <summary>The transport to scan for devices whose name matches: the simulated fleet if one of its devices does, else the radio.</summary>
    public static IBleTransport ForName(WildcardPattern name) =>
        SimulatedTransport.Shared.Devices.Any(d => name.IsMatch(d.Name)) ? SimulatedTransport.Shared : Radio();
}
