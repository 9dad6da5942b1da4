using System.Management.Automation;
using BleOta.Engine.Discovery;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// Asks devices what they run (project, version, IDF version, chip, the protocols they speak, slot size) without
/// changing anything on them. Several devices are asked at once, up to -ThrottleLimit per adapter; results come in input order.
/// </summary>
[Cmdlet(VerbsCommon.Get, "Esp32DeviceInfo", DefaultParameterSetName = DeviceSet)]
[OutputType(typeof(Esp32DeviceInfo))]
public sealed class GetEsp32DeviceInfo : PSCmdlet, IDisposable
{
    private const string DeviceSet = "Device";
    private const string AddressSet = "Address";
    private const string NameSet = "Name";
    private const int DefaultScanSeconds = 5;

    private readonly CancellationTokenSource _cancel = new();
    private readonly List<(Esp32Device Device, Task<Esp32DeviceInfo> Read)> _reads = [];
    private AdapterSlots? _slots;
    private RadioChoice? _radios;
    private int _written;

    /// <summary>The devices to ask, as Find-Esp32Device emits them.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = DeviceSet)]
    [ValidateNotNull]
    public Esp32Device[]? Device { get; set; }

    /// <summary>Addresses of the devices to ask; bound from the Address of piped objects.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = AddressSet)]
    [ValidateNotNullOrEmpty]
    [ValidateBluetoothAddress]
    [ArgumentCompleter(typeof(ScannedDeviceCompleter))]
    public string[]? Address { get; set; }

    /// <summary>Names of the devices to ask, found with a scan; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ScannedDeviceCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The radio that reaches devices given by -Address or -Name; default: $env:BLEOTA_TRANSPORT, else the platform's.</summary>
    [Parameter(ParameterSetName = AddressSet)]
    [Parameter(ParameterSetName = NameSet)]
    public RadioTransport Transport { get; set; }

    /// <summary>The BlueZ adapters to reach devices given by -Address or -Name through (hci0, hci1); default: the first.</summary>
    [Parameter(ParameterSetName = AddressSet)]
    [Parameter(ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(AdapterCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Adapter { get; set; }

    /// <summary>Seconds to wait for each device to connect (and, with -Name, for the scan).</summary>
    [Parameter]
    [ValidateRange(1, 600)]
    public int TimeoutSec { get; set; }

    /// <summary>How many devices to ask at once through each adapter.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    protected override void BeginProcessing() => _slots = new AdapterSlots(ThrottleLimit);

    protected override void ProcessRecord()
    {
        var resolver = new DeviceResolver(this);
        var devices = ParameterSetName switch
        {
            AddressSet => resolver.ByAddress(Address!, Radios()),
            NameSet => resolver.ByName(Name!, TimeSpan.FromSeconds(TimeoutSec > 0 ? TimeoutSec : DefaultScanSeconds), _cancel.Token, Radios()),
            _ => [.. Device!],
        };
        var timeouts = TimeoutSec > 0 ? OtaTimeouts.All(TimeSpan.FromSeconds(TimeoutSec)) : OtaTimeouts.Default;
        foreach (var device in devices)
        {
            _reads.Add((device, ReadAsync(device, timeouts)));
        }

        WriteReady(wait: false);
    }

    protected override void EndProcessing() => WriteReady(wait: true);

    protected override void StopProcessing() => _cancel.Cancel();

    public void Dispose()
    {
        _cancel.Cancel();
        if (Task.WaitAll([.. _reads.Select(r => (Task)r.Read)], TimeSpan.FromSeconds(10)))
        {
            _slots?.Dispose();
            _cancel.Dispose();
        }
    }

    /// <summary>Chosen once: -Address from the pipeline takes the adapters in turn.</summary>
    private RadioChoice Radios() => _radios ??= RadioChoice.For(this, Transport, Adapter);

    private async Task<Esp32DeviceInfo> ReadAsync(Esp32Device device, OtaTimeouts timeouts)
    {
        var slots = _slots!.For(device.Transport); // on the pipeline thread: this runs synchronously up to the first await
        await slots.WaitAsync(_cancel.Token).ConfigureAwait(false);
        try
        {
            return await DeviceInspector.ReadAsync(device, timeouts, _cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Writes the answers in input order, one error per device that could not be asked; with <paramref name="wait"/>, all of them.</summary>
    private void WriteReady(bool wait)
    {
        for (; _written < _reads.Count; _written++)
        {
            var (device, read) = _reads[_written];
            if (!wait && !read.IsCompleted)
            {
                return;
            }

            try
            {
                WriteObject(read.GetAwaiter().GetResult());
            }
            catch (OtaException ex)
            {
                var (id, category) = ErrorIds.For(ex.Code);
                WriteError(new ErrorRecord(new OtaException(ex.Code, $"{device}: {ex.Message}", ex), id, category, device));
            }
            catch (OperationCanceledException)
            {
                return; // Ctrl+C: PowerShell stops the pipeline itself
            }
        }
    }
}
