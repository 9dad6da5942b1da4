using System.Collections.Concurrent;
using System.Management.Automation;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// Runs updates in parallel, at most <c>ThrottleLimit</c> at once per adapter (<see cref="AdapterSlots"/>), while everything PowerShell sees
/// (progress, results, errors) is written by <see cref="Drain"/> on the pipeline thread, the only thread
/// where <c>Write*</c> is allowed. However the pipeline ends, every session it queued ends too, with the reason.
/// </summary>
internal sealed class UpdateQueue(PSCmdlet cmdlet, OtaUpdater updater, OtaOptions options, int throttleLimit) : IDisposable
{
    private const int ParentActivityId = 1;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How long Dispose waits for stopped sessions to close their links and record their end.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    private readonly AdapterSlots _slots = new(throttleLimit);
    private readonly List<Running> _running = [];
    private readonly List<Task> _workers = [];
    private readonly ConcurrentQueue<OtaSession> _sessions = new(); // every session queued, for CancelAll from any thread
    private readonly ConcurrentQueue<Running> _finished = new();
    private readonly AutoResetEvent _changed = new(false);
    private readonly FleetSummary _summary = new();
    private int _queued;
    private int _done;

    public bool PassThru { get; init; }

    public void Enqueue(OtaSession session)
    {
        if (_queued == 0)
        {
            _summary.Started();
        }

        var running = new Running(session, ParentActivityId + 1 + _queued++);
        _running.Add(running);
        _sessions.Enqueue(session);
        // Asked for here, on the pipeline thread, so each adapter's devices get their slots in input order (SemaphoreSlim
        // serves its waiters first come, first served); asked for inside the task, the order would be the thread pool's.
        var slots = _slots.For(session.Device.Transport);
        var slot = slots.WaitAsync(session.CancellationToken);
        _workers.Add(Task.Run(() => RunAsync(running, slots, slot), CancellationToken.None)); // its end is reported through _finished
    }

    /// <summary>Stops every session this queue still runs or holds, for <paramref name="reason"/>. Safe from any thread (Ctrl+C).</summary>
    public void CancelAll(string reason)
    {
        foreach (var session in _sessions)
        {
            session.Cancel(reason);
        }
    }

    /// <summary>Writes what happened since the last call; with <paramref name="untilIdle"/>, keeps at it until every update ended.</summary>
    public void Drain(bool untilIdle)
    {
        while (true)
        {
            foreach (var running in _running)
            {
                running.Log.WriteTo(cmdlet);
            }

            while (_finished.TryDequeue(out var finished))
            {
                finished.Log.WriteTo(cmdlet);
                _running.Remove(finished);
                _done++;
                WriteOutcome(finished);
            }

            WriteProgress();
            if (!untilIdle || _running.Count == 0)
            {
                break;
            }

            _changed.WaitOne(ProgressInterval);
        }

        if (untilIdle && _queued > 0)
        {
            cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, ParentActivity, "Done") { RecordType = ProgressRecordType.Completed });
            cmdlet.WriteInformation(new HostInformationMessage { Message = _summary.Line()! }, ["PSHOST", "BleOta"]);
        }
    }

    private string ParentActivity => $"Updating {_queued} device{(_queued == 1 ? "" : "s")}";

    private async Task RunAsync(Running running, SemaphoreSlim slots, Task slotTaken)
    {
        bool slot = false;
        try
        {
            await slotTaken.ConfigureAwait(false);
            slot = true;
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting for a slot: RunAsync below ends the session as cancelled without connecting.
        }

        try
        {
            running.Result = await updater.RunAsync(running.Session, options with { Log = running.Log }, null, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (slot)
            {
                slots.Release();
            }

            _finished.Enqueue(running);
            _changed.Set();
        }
    }

    private void WriteOutcome(Running finished)
    {
        cmdlet.WriteProgress(new ProgressRecord(finished.ActivityId, Activity(finished), "Finished")
        {
            ParentActivityId = ParentActivityId,
            RecordType = ProgressRecordType.Completed,
        });

        var result = finished.Result!;
        _summary.Add(result);
        if (result.Status == OtaStatus.Failed)
        {
            var code = result.ErrorCode ?? OtaErrorCode.TransportError;
            var (id, category) = ErrorIds.For(code);
            try
            {
                cmdlet.WriteError(new ErrorRecord(new OtaException(code, $"{finished.Session.Device}: {result.Error}"), id, category, finished.Session.Device));
            }
            catch (PipelineStoppedException)
            {
                // The error action is Stop (the runtime throws this for it): the other devices end with this reason.
                CancelAll($"Stopped because {finished.Session.Device} failed ({id}) and its error stopped the pipeline (-ErrorAction Stop)");
                throw;
            }
        }

        if (PassThru)
        {
            cmdlet.WriteObject(OtaUpdateResult.From(result));
        }
    }

    private void WriteProgress()
    {
        if (_queued == 0)
        {
            return;
        }

        // The parent bar averages every queued device: finished ones count as complete.
        int percentSum = _done * 100;
        foreach (var running in _running)
        {
            var snapshot = running.Session.Snapshot();
            percentSum += snapshot.PercentComplete;
            if (snapshot != running.LastReported)
            {
                running.LastReported = snapshot;
                cmdlet.WriteProgress(ProgressFormatter.ForSession(snapshot, running.ActivityId, Activity(running), ParentActivityId));
            }
        }

        cmdlet.WriteProgress(new ProgressRecord(ParentActivityId, ParentActivity, $"{_done} of {_queued} finished, {_running.Count} running or waiting")
        {
            PercentComplete = percentSum / _queued,
        });
    }

    private static string Activity(Running running) => $"Updating {running.Session.Device}";

    /// <summary>
    /// The pipeline is over, finished or not: sessions still running or waiting are stopped (a reason given earlier,
    /// such as Ctrl+C, stands) and given time to close their links, so none is left behind as running or queued.
    /// </summary>
    public void Dispose()
    {
        CancelAll("Stopped because the pipeline ended before this update did (another command in it stopped early or failed)");
        if (Task.WaitAll([.. _workers], StopGrace))
        {
            _changed.Dispose();
            _slots.Dispose();
        }
    }

    private sealed class Running(OtaSession session, int activityId)
    {
        public OtaSession Session { get; } = session;

        public int ActivityId { get; } = activityId;

        public OtaResult? Result { get; set; }

        public OtaProgress? LastReported { get; set; }

        public QueuedLog Log { get; } = new(session.Device.ToString());
    }
}
