using System.Management.Automation;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// Stops running or waiting update sessions of this process, from any runspace or thread job, without stopping the
/// pipeline that runs them: that Invoke-Esp32Ota goes on with its other devices, and reports the stopped one as
/// Cancelled. The device aborts the update and keeps the firmware it had.
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "OtaSession", DefaultParameterSetName = DeviceSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(OtaProgress))]
public sealed class StopOtaSession : PSCmdlet
{
    private const string DeviceSet = "Device";
    private const string IdSet = "Id";

    /// <summary>Stop the sessions of devices whose name or address matches; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = DeviceSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SessionDeviceCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Device { get; set; }

    /// <summary>Stop these sessions; bound from the SessionId of Get-OtaProgress and Invoke-Esp32Ota output.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [Alias("SessionId")]
    public Guid[]? Id { get; set; }

    /// <summary>Emit each stopped session's snapshot.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var running = OtaSessionRegistry.Shared.Snapshots().Where(s => !s.IsFinished).ToList();
        var wanted = ParameterSetName == IdSet
            ? Id!.Select(id => (Name: id.ToString(), Sessions: running.Where(s => s.SessionId == id).ToList(), Exact: true))
            : Device!.Select(d => (Name: d, Sessions: Matching(running, d), Exact: !WildcardPattern.ContainsWildcardCharacters(d)));
        foreach (var (name, sessions, exact) in wanted)
        {
            if (sessions.Count == 0 && exact)
            {
                WriteError(new ErrorRecord(
                    new ItemNotFoundException($"No running update session matches '{name}': it has ended or never started. Get-OtaProgress -Running lists the sessions that can be stopped."),
                    ErrorIds.SessionNotFound, ErrorCategory.ObjectNotFound, name));
            }

            foreach (var snapshot in sessions)
            {
                Stop(snapshot);
            }
        }
    }

    private static List<OtaProgress> Matching(IEnumerable<OtaProgress> running, string device)
    {
        var pattern = new WildcardPattern(device, WildcardOptions.IgnoreCase);
        return running.Where(s => pattern.IsMatch(s.Device) || pattern.IsMatch(s.Address)).ToList();
    }

    private void Stop(OtaProgress snapshot)
    {
        if (OtaSessionRegistry.Shared.Find(snapshot.SessionId) is not { } session
            || !ShouldProcess($"{snapshot.Device} ({snapshot.Address}), session {snapshot.SessionId}", "Stop the update; the device keeps its current firmware"))
        {
            return;
        }

        if (!session.Cancel($"Stopped with Stop-OtaSession by {Environment.UserName}"))
        {
            DebugSafeStreams.Verbose(this, $"{snapshot.Device}: the session ended before it could be stopped.");
            return;
        }

        if (PassThru)
        {
            WriteObject(session.Snapshot());
        }
    }
}
