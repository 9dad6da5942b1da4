using System.Management.Automation;
using BleOta.Engine.Delta;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// Updates the firmware of ESP32 devices over BLE: devices from the pipeline, by address (also bound from the Address
/// of piped objects: CSV rows, results, deserialized devices) or by name, the image from -Path or -LiteralPath (also
/// bound from Get-ChildItem and Get-Esp32Image), several devices in parallel up to -ThrottleLimit.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "Esp32Ota", DefaultParameterSetName = DevicePathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(OtaUpdateResult))]
public sealed class InvokeEsp32Ota : PSCmdlet, IDisposable
{
    private const string DevicePathSet = "DevicePath";
    private const string DeviceLiteralPathSet = "DeviceLiteralPath";
    private const string AddressPathSet = "AddressPath";
    private const string AddressLiteralPathSet = "AddressLiteralPath";
    private const string NamePathSet = "NamePath";
    private const string NameLiteralPathSet = "NameLiteralPath";
    private const int DefaultScanSeconds = 5;

    private readonly HashSet<string> _queuedAddresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly OtaUpdater _updater = new();
    private CancellationTokenSource? _cancel;
    private ImageResolver? _images;
    private List<Esp32Device>? _namedDevices;
    private RadioChoice? _radios;
    private UpdateQueue? _queue;

    /// <summary>The devices to update, as Find-Esp32Device emits them.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DevicePathSet)]
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DeviceLiteralPathSet)]
    [ValidateNotNull]
    public Esp32Device[]? Device { get; set; }

    /// <summary>Addresses of the devices to update; bound from the Address of piped objects (CSV rows, results, deserialized devices).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressPathSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressLiteralPathSet)]
    [ValidateNotNullOrEmpty]
    [ValidateBluetoothAddress]
    [ArgumentCompleter(typeof(ScannedDeviceCompleter))]
    public string[]? Address { get; set; }

    /// <summary>Names of the devices to update, found with a scan; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NamePathSet)]
    [Parameter(Mandatory = true, ParameterSetName = NameLiteralPathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ScannedDeviceCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The firmware image (the app .bin from idf.py build); wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = DevicePathSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = AddressPathSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NamePathSet)]
    [Alias("FilePath")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>The firmware image, taken exactly as written; bound from Get-ChildItem and Get-Esp32Image output.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DeviceLiteralPathSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressLiteralPathSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameLiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>The radio that reaches devices given by -Address or -Name; default: $env:BLEOTA_TRANSPORT, else the platform's.</summary>
    [Parameter(ParameterSetName = AddressPathSet)]
    [Parameter(ParameterSetName = AddressLiteralPathSet)]
    [Parameter(ParameterSetName = NamePathSet)]
    [Parameter(ParameterSetName = NameLiteralPathSet)]
    public RadioTransport Transport { get; set; }

    /// <summary>
    /// The BlueZ adapters that reach devices given by -Address or -Name (hci0, hci1); default: the first. An address goes
    /// through the adapter the last scan heard it on, if named, else through each adapter in turn.
    /// </summary>
    [Parameter(ParameterSetName = AddressPathSet)]
    [Parameter(ParameterSetName = AddressLiteralPathSet)]
    [Parameter(ParameterSetName = NamePathSet)]
    [Parameter(ParameterSetName = NameLiteralPathSet)]
    [ArgumentCompleter(typeof(AdapterCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Adapter { get; set; }

    /// <summary>The wire protocol: Auto picks the fastest the device offers.</summary>
    [Parameter]
    public OtaProtocolVersion Protocol { get; set; } = OtaProtocolVersion.Auto;

    /// <summary>After the update, wait for each device to restart and check that it runs the new version.</summary>
    [Parameter]
    public SwitchParameter Verify { get; set; }

    /// <summary>Auto sends a delta patch against the image a device runs when that image is found and the patch is clearly smaller; Off always sends the whole image.</summary>
    [Parameter]
    public DeltaMode Delta { get; set; } = DeltaMode.Auto;

    /// <summary>Images a device may be running, to patch against: files, or folders of past builds (searched for *.bin); wildcards allowed. Images sent before are found without it.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? BaseImage { get; set; }

    /// <summary>Seconds to wait for the device at each step (scan, connect, each answer, the restart) before giving up on it.</summary>
    [Parameter]
    [ValidateRange(1, 600)]
    public int TimeoutSec { get; set; }

    /// <summary>How many devices to update at once through each adapter.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>Leave devices that already run the image's project and version alone (they report Skipped).</summary>
    [Parameter]
    public SwitchParameter SkipIfCurrent { get; set; }

    /// <summary>Emit a result object for every device.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Update without asking for confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void BeginProcessing()
    {
        _cancel = new CancellationTokenSource();
        _images = new ImageResolver(this);
        var options = OtaOptions.Default with
        {
            Protocol = Protocol,
            Verify = Verify,
            SkipIfCurrent = SkipIfCurrent,
            Timeouts = TimeoutSec > 0 ? OtaTimeouts.All(TimeSpan.FromSeconds(TimeoutSec)) : OtaTimeouts.Default,
            Delta = Delta,
            BaseImages = BaseImagePaths(),
            ImageCache = BaseImageCache.ForCurrentUser(),
        };
        _queue = new UpdateQueue(this, _updater, options, ThrottleLimit) { PassThru = PassThru };
    }

    /// <summary>-BaseImage as file system paths; one that names nothing is a warning, as delta is only ever an optimisation.</summary>
    private IReadOnlyList<string> BaseImagePaths()
    {
        var paths = new List<string>();
        foreach (string pattern in BaseImage ?? [])
        {
            try
            {
                paths.AddRange(GetResolvedProviderPathFromPSPath(pattern, out _));
            }
            catch (ItemNotFoundException)
            {
                WriteWarning($"-BaseImage '{pattern}' names no file or folder; it is not used. Updates still send a patch when the device's image was sent from this computer before.");
            }
        }

        return paths;
    }

    protected override void ProcessRecord()
    {
        bool literal = LiteralPath is not null;
        var images = _images!.Resolve(literal ? LiteralPath! : Path!, literal);
        if (images.Count > 1)
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException($"The paths name {images.Count} images; a device takes one. Give one image, or pipe files one per device."),
                ErrorIds.AmbiguousImage, ErrorCategory.InvalidArgument, images.Select(i => i.Path).ToArray()));
        }

        if (images.Count == 1)
        {
            foreach (var device in TargetDevices())
            {
                Queue(device, images[0]);
            }
        }

        _queue!.Drain(untilIdle: false);
    }

    protected override void EndProcessing() => _queue!.Drain(untilIdle: true);

    protected override void StopProcessing()
    {
        _queue?.CancelAll("Stopped by the user (Ctrl+C)");
        _cancel?.Cancel();
    }

    public void Dispose()
    {
        _cancel?.Cancel();
        _queue?.Dispose();
        _cancel?.Dispose();
    }

    private IEnumerable<Esp32Device> TargetDevices()
    {
        if (Device is not null)
        {
            return Device;
        }

        var resolver = new DeviceResolver(this);
        _radios ??= RadioChoice.For(this, Transport, Adapter); // once: -Address from the pipeline takes the adapters in turn
        if (Name is not null)
        {
            // Name is not bound from the pipeline: scan once, however many files arrive.
            return _namedDevices ??= resolver.ByName(Name, TimeSpan.FromSeconds(TimeoutSec > 0 ? TimeoutSec : DefaultScanSeconds), _cancel!.Token, _radios);
        }

        return resolver.ByAddress(Address!, _radios);
    }

    private void Queue(Esp32Device device, FirmwareImage image)
    {
        if (!_queuedAddresses.Add(device.Address))
        {
            WriteError(new ErrorRecord(new ArgumentException($"{device} is already being updated in this pipeline; it was given twice and is updated once."),
                ErrorIds.DeviceAlreadyQueued, ErrorCategory.InvalidArgument, device));
            return;
        }

        string action = $"Replace the firmware with {image.App!.ProjectName} {image.Version} from {image.Path}";
        if (ForceConfirmation.SkipsPrompt(this, Force) || ShouldProcess(device.ToString(), action))
        {
            var session = _updater.CreateSession(device, image);
            WriteDebug($"{device}: session {session.Id} queued; at most {ThrottleLimit} devices are updated at once through {(device.Adapter is null ? "its radio" : $"adapter {device.Adapter}")}.");
            _queue!.Enqueue(session);
        }
        else
        {
            _queuedAddresses.Remove(device.Address);
        }
    }
}
