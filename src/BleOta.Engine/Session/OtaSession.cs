using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

/// <summary>
/// The live state of one update of one device. Written by the worker, read from any thread as snapshots, and
/// stopped from any thread with <see cref="Cancel"/>.
/// </summary>
public sealed class OtaSession
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _cancel = new();
    private TimeProvider _clock = TimeProvider.System;
    private long _transferStarted;
    private OtaProgress _snapshot;

    internal OtaSession(Esp32Device device, FirmwareImage image)
    {
        Id = Guid.NewGuid();
        Device = device;
        Image = image;
        _snapshot = new OtaProgress(Id, device.Name, device.Address, OtaState.Queued, 0, image.Length, 0, 0,
            TimeSpan.Zero, image.Path, image.Version, DateTimeOffset.Now, null);
    }

    public Guid Id { get; }

    public Esp32Device Device { get; }

    public FirmwareImage Image { get; }

    /// <summary>Cancelled by <see cref="Cancel"/>; the update links it with its caller's token.</summary>
    public CancellationToken CancellationToken => _cancel.Token;

    /// <summary>Why the session was stopped, as given to <see cref="Cancel"/>; null while nobody stopped it.</summary>
    public string? CancelReason { get; private set; }

    /// <summary>
    /// Stops this session, whoever runs it: the update aborts and the device keeps its firmware; a session still
    /// waiting for its turn never starts. False when the session had already ended.
    /// </summary>
    public bool Cancel(string reason)
    {
        lock (_gate)
        {
            if (_snapshot.IsFinished)
            {
                return false;
            }

            CancelReason ??= reason;
        }

        _cancel.Cancel();
        return true;
    }

    public OtaProgress Snapshot()
    {
        lock (_gate)
        {
            return _snapshot;
        }
    }

    internal void SetState(OtaState state, string? error = null) =>
        Update(s => s with { State = state, Error = error ?? s.Error });

    /// <summary>Starts the transfer clock: speed and ETA are measured from here, on the link's own clock.</summary>
    internal void BeginTransfer(TimeProvider clock, int totalPackets)
    {
        lock (_gate)
        {
            _clock = clock;
            _transferStarted = clock.GetTimestamp();
        }

        Update(s => s with { State = OtaState.Transferring, TotalPackets = totalPackets });
    }

    internal void ReportTransfer(TransferProgress progress) =>
        Update(s => s with
        {
            State = progress.PacketsSent == progress.TotalPackets ? OtaState.Finishing : OtaState.Transferring,
            BytesSent = progress.BytesSent,
            TotalBytes = progress.TotalBytes,
            PacketsSent = progress.PacketsSent,
            TotalPackets = progress.TotalPackets,
        });

    internal TimeSpan TransferElapsed()
    {
        lock (_gate)
        {
            return _transferStarted == 0 ? TimeSpan.Zero : _clock.GetElapsedTime(_transferStarted);
        }
    }

    private void Update(Func<OtaProgress, OtaProgress> change)
    {
        lock (_gate)
        {
            _snapshot = change(_snapshot) with { Elapsed = _transferStarted == 0 ? TimeSpan.Zero : _clock.GetElapsedTime(_transferStarted) };
        }
    }
}
