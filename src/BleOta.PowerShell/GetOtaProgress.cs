using System.Management.Automation;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>Shows the OTA sessions of this process, running and recent, from any runspace or thread job.</summary>
[Cmdlet(VerbsCommon.Get, "OtaProgress", DefaultParameterSetName = AllSet)]
[OutputType(typeof(OtaProgress))]
public sealed class GetOtaProgress : PSCmdlet, IDisposable
{
    private const string AllSet = "All";
    private const string IdSet = "Id";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private readonly ManualResetEventSlim _stopped = new();

    /// <summary>Only the sessions of devices whose name or address matches; wildcards allowed.</summary>
    [Parameter(Position = 0, ParameterSetName = AllSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SessionDeviceCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Device { get; set; }

    /// <summary>Only these sessions.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
    [Alias("SessionId")]
    public Guid[]? Id { get; set; }

    /// <summary>Only sessions that are still running.</summary>
    [Parameter]
    public SwitchParameter Running { get; set; }

    /// <summary>Keep streaming a snapshot whenever a session changes state, until all of them have ended.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        var patterns = (Device ?? []).Select(d => new WildcardPattern(d, WildcardOptions.IgnoreCase)).ToList();
        bool Matches(OtaProgress s) =>
            (Id is null || Id.Contains(s.SessionId))
            && (patterns.Count == 0 || patterns.Any(p => p.IsMatch(s.Device) || p.IsMatch(s.Address)))
            && (!Running || !s.IsFinished);

        var selected = OtaSessionRegistry.Shared.Snapshots().Where(Matches).ToList();
        WriteObject(selected, enumerateCollection: true);
        if (!Wait)
        {
            return;
        }

        var last = selected.ToDictionary(s => s.SessionId);
        while (last.Values.Any(s => !s.IsFinished) && !_stopped.Wait(PollInterval))
        {
            foreach (var snapshot in OtaSessionRegistry.Shared.Snapshots().Where(s => last.ContainsKey(s.SessionId)))
            {
                if (last[snapshot.SessionId].State != snapshot.State)
                {
                    last[snapshot.SessionId] = snapshot;
                    WriteObject(snapshot);
                }
            }
        }
    }

    protected override void StopProcessing() => _stopped.Set();

    public void Dispose() => _stopped.Dispose();
}
