using System.Collections.Concurrent;
using System.Management.Automation;
using System.Reflection;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>
/// Chooses the transport a cmdlet talks through. Radios live in their own assemblies (BleOta.Transport.BlueZ.dll
/// beside this one, BleOta.Transport.WinRT.dll in the BleOta.WinRT module, see <see cref="RadioAssemblies"/>) and only
/// the one asked for is loaded, so a Linux session never touches WinRT and a Windows session never touches D-Bus.
/// </summary>
internal static class Transports
{
    /// <summary>Environment variable that picks the radio when -Transport is not given (runbooks): Auto, BlueZ or WinRT.</summary>
    public const string EnvironmentVariable = "BLEOTA_TRANSPORT";

    private static readonly ConcurrentDictionary<RadioTransport, Lazy<IBleTransport>> Radios = new();

    /// <summary>
    /// The simulated fleet, set to run at <paramref name="speed"/>, holding at least <paramref name="count"/> devices
    /// with BleOta's firmware and <paramref name="tutorialCount"/> with the tutorial's, and on <paramref name="profile"/>
    /// when one is given (else each device keeps the profile it has).
    /// </summary>
    public static SimulatedTransport Simulated(int count, int tutorialCount, double speed, LinkProfile? profile = null)
    {
        var transport = SimulatedTransport.Shared;
        transport.Speed = speed;
        transport.EnsureDevices(count);
        transport.EnsureDevices(tutorialCount, new SimulatedDeviceOptions { Firmware = SimulatedFirmware.Tutorial }, profile);
        return transport;
    }

    /// <summary>
    /// The radio: <paramref name="requested"/>, else <see cref="EnvironmentVariable"/>, else the platform's own.
    /// One instance per kind and process, as the devices a scan returns keep using it.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The radio cannot run here; the message says what to use instead.</exception>
    public static IBleTransport Radio(RadioTransport requested = RadioTransport.Auto)
    {
        var kind = Resolve(requested, Environment.GetEnvironmentVariable(EnvironmentVariable), OperatingSystem.IsWindows(), OperatingSystem.IsLinux());
        var radio = Radios.GetOrAdd(kind, k => new Lazy<IBleTransport>(() => Load(k)));
        try
        {
            return radio.Value;
        }
        catch (PlatformNotSupportedException)
        {
            Radios.TryRemove(kind, out _); // let a later call try again (e.g. after fixing the setup)
            throw;
        }
    }

    /// <summary>The transport that knows this address: a simulated device if one has it, else the radio.</summary>
    public static IBleTransport ForAddress(string address, RadioTransport requested = RadioTransport.Auto) =>
        SimulatedTransport.Shared.Devices.Any(d => string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase))
            ? SimulatedTransport.Shared
            : Radio(requested);

    /// <summary>The transport to scan for devices whose name matches: the simulated fleet if one of its devices does, else the radio.</summary>
    public static IBleTransport ForName(WildcardPattern name, RadioTransport requested = RadioTransport.Auto) =>
        SimulatedTransport.Shared.Devices.Any(d => name.IsMatch(d.Name)) ? SimulatedTransport.Shared : Radio(requested);

    /// <summary>Applies the precedence -Transport, then the environment variable, then the platform.</summary>
    internal static RadioTransport Resolve(RadioTransport requested, string? environment, bool isWindows, bool isLinux)
    {
        if (requested == RadioTransport.Auto && !string.IsNullOrWhiteSpace(environment))
        {
            if (!Enum.TryParse(environment.Trim(), ignoreCase: true, out requested) || !Enum.IsDefined(requested))
            {
                throw new PlatformNotSupportedException(
                    $"The environment variable {EnvironmentVariable} is '{environment}'. Set it to Auto, BlueZ or WinRT, or remove it.");
            }
        }

        if (requested != RadioTransport.Auto)
        {
            return requested;
        }

        return isWindows ? RadioTransport.WinRT
            : isLinux ? RadioTransport.BlueZ
            : throw new PlatformNotSupportedException("BleOta has Bluetooth radio transports for Windows (WinRT) and Linux (BlueZ) only. Use -Simulated to work with simulated devices.");
    }

    private static IBleTransport Load(RadioTransport kind)
    {
        if (kind == RadioTransport.WinRT && !OperatingSystem.IsWindowsVersionAtLeast(10, 0, 19041))
        {
            throw new PlatformNotSupportedException("The WinRT transport needs Windows 10 version 2004 (build 19041) or later. On Linux use -Transport BlueZ; anywhere, -Simulated.");
        }

        if (kind == RadioTransport.BlueZ && !OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The BlueZ transport needs Linux with bluetoothd. On Windows use -Transport WinRT; anywhere, -Simulated.");
        }

        string moduleDirectory = Path.GetDirectoryName(typeof(Transports).Assembly.Location)!;
        string file = RadioAssemblies.Find(kind, moduleDirectory, Environment.GetEnvironmentVariable("PSModulePath"))
            ?? throw new PlatformNotSupportedException(kind == RadioTransport.WinRT
                ? $"The Windows radio is a module of its own: install it beside BleOta with 'Install-PSResource {RadioAssemblies.ModuleName(kind)}' (or build with ./build.ps1 Build), or use -Simulated."
                : $"This build of BleOta has no {kind} transport ({RadioAssemblies.FileName(kind)} is missing from {moduleDirectory}). Reinstall BleOta or rebuild with ./build.ps1 Build, or use -Simulated.");

        string typeName = kind == RadioTransport.WinRT ? "BleOta.Transport.WinRT.WinRtTransport" : "BleOta.Transport.BlueZ.BlueZTransport";
        var type = Assembly.LoadFrom(file).GetType(typeName, throwOnError: true)!;
        return (IBleTransport)Activator.CreateInstance(type)!;
    }
}
