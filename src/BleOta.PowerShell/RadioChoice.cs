using System.Diagnostics;
using System.Management.Automation;
using BleOta.Engine.Transport;
using BleOta.Transport.Simulated;

namespace BleOta;

/// <summary>
/// The radios a cmdlet reaches devices through: the one -Transport picks (BlueZ's first adapter), or each BlueZ adapter
/// -Adapter names. Simulated devices are reached through the simulator whatever was asked.
/// </summary>
internal sealed class RadioChoice
{
    private static readonly IReadOnlyList<IBleTransport> Simulator = [SimulatedTransport.Shared];
    private readonly RadioTransport _requested;
    private readonly IReadOnlyList<IBleTransport>? _adapters;
    private IReadOnlyList<IBleTransport>? _radios;
    private int _turn;

    private RadioChoice(RadioTransport requested, IReadOnlyList<IBleTransport>? adapters)
    {
        _requested = requested;
        _adapters = adapters;
    }

    /// <summary>The default radio, or the adapters named, checked now so a wrong name fails before anything is scanned.</summary>
    /// <exception cref="AdapterChoiceException">See <see cref="Transports.Adapters"/>.</exception>
    /// <exception cref="PlatformNotSupportedException">The radio cannot run here.</exception>
    /// <exception cref="BleTransportException">BlueZ could not list its adapters.</exception>
    public static RadioChoice For(RadioTransport requested, string[]? adapters) =>
        new(requested, adapters is { Length: > 0 } ? Transports.Adapters(requested, adapters) : null);

    /// <summary><see cref="For(RadioTransport, string[])"/> for a cmdlet: a radio or adapter that cannot be used is a terminating error.</summary>
    public static RadioChoice For(PSCmdlet cmdlet, RadioTransport requested, string[]? adapters)
    {
        try
        {
            return For(requested, adapters);
        }
        catch (AdapterChoiceException ex)
        {
            cmdlet.ThrowTerminatingError(ex.ToErrorRecord());
        }
        catch (PlatformNotSupportedException ex)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.NotImplemented, requested));
        }
        catch (BleTransportException ex)
        {
            // BlueZ could not list its adapters (bluetoothd not running, access denied): the message says what to do.
            cmdlet.ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.ResourceUnavailable, requested));
        }

        throw new UnreachableException(); // ThrowTerminatingError always throws
    }

    /// <summary>What to scan with: every adapter named, else the default radio.</summary>
    /// <exception cref="PlatformNotSupportedException">The default radio cannot run here.</exception>
    public IReadOnlyList<IBleTransport> Radios => _radios ??= _adapters ?? [Transports.Radio(_requested)];

    /// <summary>
    /// The transport for a device given by address: the simulator if it has the device; with several adapters, the one
    /// the last scan heard it on if that is one of them, else each adapter in turn, so a fleet is spread over them.
    /// </summary>
    public IBleTransport ForAddress(string address)
    {
        if (Transports.IsSimulated(address))
        {
            return SimulatedTransport.Shared;
        }

        if (_adapters is null)
        {
            return Radios[0];
        }

        var heardOn = ScanHistory.LastScan
            .Where(d => string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase))
            .Select(d => d.Transport)
            .FirstOrDefault(_adapters.Contains);
        return heardOn ?? _adapters[_turn++ % _adapters.Count];
    }

    /// <summary>What to scan with for devices of this name: the simulator if one of its devices has it, else the radios.</summary>
    public IReadOnlyList<IBleTransport> ForName(WildcardPattern name) => Transports.IsSimulated(name) ? Simulator : Radios;
}
