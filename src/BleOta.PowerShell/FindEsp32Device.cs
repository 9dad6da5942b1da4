using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>
/// Scans for ESP32 devices that can be updated and streams each as it is found: devices that advertise the OTA
/// service, and devices named exactly "esp32", the name the tutorial's firmware advertises without any service.
/// </summary>
[Cmdlet(VerbsCommon.Find, "Esp32Device", DefaultParameterSetName = RadioSet)]
[OutputType(typeof(Esp32Device))]
public sealed class FindEsp32Device : PSCmdlet, IDisposable
{
    private const string RadioSet = "Radio";
    private const string SimulatedSet = "Simulated";
    private const string SimulatedTutorialSet = "SimulatedTutorial";
    private CancellationTokenSource? _cancel;

    /// <summary>Device names to keep; wildcards allowed.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ScannedDeviceCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>How long to scan, in seconds.</summary>
    [Parameter]
    [Alias("Timeout")]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 5;

    /// <summary>Also list devices that do not advertise the OTA service.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    /// <summary>Scan a fleet of this many simulated devices running BleOta's firmware instead of a radio.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SimulatedSet)]
    [ValidateRange(1, 1024)]
    public int Simulated { get; set; }

    /// <summary>Add this many simulated devices running the tutorial's firmware (v1 only, named "esp32") to the fleet.</summary>
    [Parameter(ParameterSetName = SimulatedSet)]
    [Parameter(Mandatory = true, ParameterSetName = SimulatedTutorialSet)]
    [ValidateRange(1, 1024)]
    public int SimulatedTutorial { get; set; }

    /// <summary>Simulated seconds per real second (1 = real time); 0 runs without waiting.</summary>
    [Parameter(ParameterSetName = SimulatedSet)]
    [Parameter(ParameterSetName = SimulatedTutorialSet)]
    [ValidateRange(0.0, 1_000_000.0)]
    public double SimulationSpeed { get; set; } = 1;

    /// <summary>The simulated link's profile (client OS, chip, PHY, flash); see docs/link-model.md.</summary>
    [Parameter(ParameterSetName = SimulatedSet)]
    [Parameter(ParameterSetName = SimulatedTutorialSet)]
    [ArgumentCompleter(typeof(LinkProfileCompleter))]
    [ValidateNotNullOrEmpty]
    public string? LinkProfile { get; set; }

    /// <summary>The radio to scan with; default: $env:BLEOTA_TRANSPORT, else WinRT on Windows and BlueZ on Linux.</summary>
    [Parameter(ParameterSetName = RadioSet)]
    public RadioTransport Transport { get; set; }

    /// <summary>The BlueZ adapters to scan with (hci0, hci1: bluetoothctl list); default: the first. Each device is listed once, on the adapter that reported it first.</summary>
    [Parameter(ParameterSetName = RadioSet)]
    [ArgumentCompleter(typeof(AdapterCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Adapter { get; set; }

    protected override void BeginProcessing() => _cancel = new CancellationTokenSource();

    protected override void EndProcessing()
    {
        IReadOnlyList<IBleTransport> transports;
        try
        {
            transports = ParameterSetName == RadioSet
                ? RadioChoice.For(this, Transport, Adapter).Radios
                : [Transports.Simulated(Simulated, SimulatedTutorial, SimulationSpeed, ResolveProfile())];
        }
        catch (PlatformNotSupportedException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.NotImplemented, null));
            return;
        }

        var patterns = (Name ?? []).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var filter = All ? new ScanFilter() : ScanFilter.OtaService;
        DebugSafeStreams.Verbose(this, $"Scanning {DeviceResolver.Describe(transports)} for {TimeoutSec} s.");
        var seen = new List<Esp32Device>();
        try
        {
            foreach (var device in DeviceResolver.Scan(transports, filter, TimeSpan.FromSeconds(TimeoutSec), _cancel!.Token))
            {
                if (seen.Count == 0)
                {
                    DescribeTransports(transports); // a transport knows its adapter once the scan is under way
                }

                seen.Add(device);
                if (patterns.Count == 0 || patterns.Any(p => p.IsMatch(device.Name)))
                {
                    WriteObject(device);
                }
                else
                {
                    WriteDebug($"Skipped {device}: its name matches no -Name pattern.");
                }
            }
        }
        catch (BleTransportException ex)
        {
            // The radio cannot scan (no adapter, powered off, bluetoothd not running): the message says what to do.
            ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.TransportUnavailable, ErrorCategory.ResourceUnavailable, transports[0].Name));
        }

        if (seen.Count == 0)
        {
            DescribeTransports(transports);
        }

        ScanHistory.Record(seen);
        DebugSafeStreams.Verbose(this, $"The scan saw {seen.Count} device{(seen.Count == 1 ? "" : "s")}; Tab completes -Name and -Address from them.");
    }

    protected override void StopProcessing() => _cancel?.Cancel();

    private void DescribeTransports(IReadOnlyList<IBleTransport> transports)
    {
        foreach (var transport in transports)
        {
            DebugSafeStreams.Verbose(this, transport.Describe());
        }
    }

    private LinkProfile? ResolveProfile()
    {
        if (LinkProfile is null)
        {
            return null;
        }

        try
        {
            return global::BleOta.Transport.Simulated.LinkProfile.Get(LinkProfile);
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(ex.Message, nameof(LinkProfile)), ErrorIds.UnknownLinkProfile, ErrorCategory.InvalidArgument, LinkProfile));
            return null;
        }
    }

    public void Dispose() => _cancel?.Dispose();
}
