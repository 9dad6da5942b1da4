using System.Collections.Concurrent;
using System.Management.Automation;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>
/// Runs updates in parallel, at most <c>ThrottleLimit</c> at once, while everything PowerShell sees
/// (progress, results, errors) is written by <see cref="Drain"/> on the pipeline thread, the only thread
/// where <c>Write*</c> is allowed.
/// </summary>
internal sealed class UpdateQueue(PSCmdlet cmdlet, OtaUpdater updater, OtaOptions options, int throttleLimit, CancellationToken cancellationToken) : IDisposable
{
    private const int ParentActivityId = 1;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    private readonly SemaphoreSlim _slots = new(throttleLimit, throttleLimit);
    private readonly List<Running> _running = [];
    private readonly ConcurrentQueue<Running> _finished = new();
    private readonly AutoResetEvent _changed = new(false);
    private int _queued;
    private int _done;

    public bool PassThru { get; init; }

    public void Enqueue(OtaSession session)
    {
        var running = new Running(session, ParentActivityId + 1 + _queued++);
        _running.Add(running);
        _ = Task.Run(() => RunAsync(running), CancellationToken.None); // its end is reported through _finished
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
        }
    }

    private string ParentActivity => $"Updating {_queued} device{(_queued == 1 ? "" : "s")}";

    private async Task RunAsync(Running running)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                running.Result = await updater.RunAsync(running.Session, options with { Log = running.Log }, null, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException)
        {
            OtaUpdater.CancelQueued(running.Session); // cancelled while waiting for a slot: nothing was sent
        }
        finally
        {
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

        if (finished.Result is not { } result)
        {
            return;
        }

        if (result.Status == OtaStatus.Failed)
        {
            var (id, category) = ErrorIds.For(result.ErrorCode ?? OtaErrorCode.TransportError);
            var exception = new OtaException(result.ErrorCode ?? OtaErrorCode.TransportError, $"{finished.Session.Device}: {result.Error}");
            cmdlet.WriteError(new ErrorRecord(exception, id, category, finished.Session.Device));
        }

        if (PassThru)
        {
            cmdlet.WriteObject(result);
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

    public void Dispose()
    {
        _changed.Dispose();
        _slots.Dispose();
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
