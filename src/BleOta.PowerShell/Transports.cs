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

    /// <summary>The radios made so far, per kind and adapter (null: the platform's choice, BlueZ's first adapter).</summary>
    private static readonly ConcurrentDictionary<(RadioTransport Kind, string? Adapter), Lazy<IBleTransport>> Radios = new();

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
    public static IBleTransport Radio(RadioTransport requested = RadioTransport.Auto) => Radio(ResolveHere(requested), adapter: null);

    /// <summary>
    /// One BlueZ transport per adapter <paramref name="names"/> lists (hci0, hci1), after checking that bluetoothd
    /// has each; one instance per adapter and process, as the devices a scan returns keep using theirs.
    /// </summary>
    /// <exception cref="AdapterChoiceException">The radio has no choice of adapter (WinRT), or has no adapter of that name.</exception>
    /// <exception cref="PlatformNotSupportedException">The radio cannot run here.</exception>
    /// <exception cref="BleTransportException">BlueZ could not list its adapters (bluetoothd not running, access denied).</exception>
    public static IReadOnlyList<IBleTransport> Adapters(RadioTransport requested, IReadOnlyList<string> names)
    {
        var kind = ResolveHere(requested);
        RefuseAdapterChoice(kind);
        var present = ListAdapters(kind);
        return names.Select(name => present.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))?.Name
                ?? throw new AdapterChoiceException(BleAdapter.NotFoundMessage(name, present), ErrorIds.AdapterNotFound, ErrorCategory.ObjectNotFound, name))
            .Distinct(StringComparer.Ordinal)
            .Select(name => Radio(kind, name))
            .ToList();
    }

    /// <summary>The adapters the radio of this kind lists, asked afresh (bluetoothd may have gained or lost one since).</summary>
    public static IReadOnlyList<BleAdapter> ListAdapters(RadioTransport kind)
    {
        var probe = Load(kind);
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return ((IBleAdapterList)probe).AdaptersAsync(limit.Token).GetAwaiter().GetResult();
        }
        finally
        {
            (probe as IDisposable)?.Dispose();
        }
    }

    /// <summary>-Adapter names a BlueZ adapter: WinRT always uses Windows' default adapter, so it is refused there.</summary>
    internal static void RefuseAdapterChoice(RadioTransport kind)
    {
        if (kind != RadioTransport.BlueZ)
        {
            throw new AdapterChoiceException(
                $"-Adapter chooses a BlueZ adapter (hci0, hci1, ...), but this command uses the {kind} transport, which always uses the default Bluetooth adapter Windows picks. Remove -Adapter, or use several adapters from Linux with BlueZ.",
                ErrorIds.AdapterNotSupported, ErrorCategory.InvalidArgument, kind);
        }
    }

    /// <summary>Whether a simulated device has this address, so it needs no radio.</summary>
    public static bool IsSimulated(string address) =>
        SimulatedTransport.Shared.Devices.Any(d => string.Equals(d.Address, address, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether the simulated fleet has a device whose name matches, so a scan for it needs no radio.</summary>
    public static bool IsSimulated(WildcardPattern name) => SimulatedTransport.Shared.Devices.Any(d => name.IsMatch(d.Name));

    /// <summary><see cref="Resolve"/> on this machine, with this process's environment.</summary>
    internal static RadioTransport ResolveHere(RadioTransport requested) =>
        Resolve(requested, Environment.GetEnvironmentVariable(EnvironmentVariable), OperatingSystem.IsWindows(), OperatingSystem.IsLinux());

    private static IBleTransport Radio(RadioTransport kind, string? adapter)
    {
        var radio = Radios.GetOrAdd((kind, adapter), key => new Lazy<IBleTransport>(() => Load(key.Kind, key.Adapter)));
        try
        {
            return radio.Value;
        }
        catch (PlatformNotSupportedException)
        {
            Radios.TryRemove((kind, adapter), out _); // let a later call try again (e.g. after fixing the setup)
            throw;
        }
    }

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

    private static IBleTransport Load(RadioTransport kind, string? adapter = null)
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
        // BlueZTransport(busAddress: null, adapter): the system bus (or BLEOTA_BLUEZ_BUS) and that adapter.
        return (IBleTransport)(adapter is null ? Activator.CreateInstance(type) : Activator.CreateInstance(type, null, adapter))!;
    }
}
