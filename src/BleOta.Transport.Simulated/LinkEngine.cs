using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>What a client sends over ATT, and whether it waits for an answer.</summary>
internal enum AttKind
{
    WriteCommand,
    WriteRequest,
    ReadRequest,
    MtuRequest,
    SubscribeRequest,
}

/// <summary>One ATT PDU from the client, and the answer it waits for when it is a request.</summary>
internal sealed class AttItem(AttKind kind, Guid characteristic, byte[] value)
{
    public AttKind Kind { get; } = kind;

    public Guid Characteristic { get; } = characteristic;

    public byte[] Value { get; } = value;

    public int Fragments { get; set; }

    public TaskCompletionSource<byte[]>? Answer { get; init; }
}

/// <summary>
/// One link as it happens in time (docs/link-model.md): connection events at the link's interval in the
/// adapter's share of it, the central's PDUs acknowledged by the device's controller while it has a free RX
/// buffer, the NimBLE host taking each complete ATT PDU for its per-write time, the firmware's flash work (v1
/// in the host task, v2 in its writer task behind the receive ring) stalling the CPU, controller task and host
/// with it unless the flash is auto-suspended, and the device's notifications and answers going out in its
/// next turn to transmit. The protocol's decisions are the device's firmware model's (<see cref="IFirmwareModel"/>),
/// made when the host gets to each PDU.
/// </summary>
internal sealed class LinkEngine
{
    private readonly SimulatedAdapter _adapter;
    private readonly SimulatedDevice _device;
    private readonly SimulatedConnection _connection;
    private readonly LinkProfile _profile;
    private readonly TimeSpan _anchor0;
    private readonly bool _suspends;
    private readonly LinkedList<(AttItem Item, int Payload, bool Last)> _central = new();
    private readonly Queue<(int Payload, Action? Delivered)> _peripheral = new();
    private readonly Queue<(AttItem Item, bool Last)> _controllerRx = new();
    private readonly Queue<AttItem> _hostQueue = new();
    /// <summary>Stream bytes the writer takes at a time from a ring holding a deflate stream or delta patch (EXPANDING_CHUNK).</summary>
    private const int ExpandingChunk = 256;

    private readonly LinkedList<(int StreamBytes, int ImageBytes, long BaseReadBytes)> _ring = new();
    private readonly HashSet<TaskCompletionSource<byte[]>> _answers = [];
    private int _hostAcl;
    private int _ringBytes;
    private double _imageCarry;
    private HostJob? _job;
    private TimeSpan _lastProcess;
    private TimeSpan _stallUntil;
    private TimeSpan _restartAt = TimeSpan.MaxValue;
    private TimeSpan _resetAt = TimeSpan.MaxValue;
    private TimeSpan _lostAt = TimeSpan.MaxValue;
    private string _restartReason = "";
    private bool _hostHalted;
    private bool _eventOpen;
    private TimeSpan _eventAnchor = TimeSpan.MinValue;
    private TimeSpan _eventEnd;
    private int _eventDataPackets;
    private TimeSpan _exchangeEnd = TimeSpan.MaxValue;
    private (AttItem Item, int Payload, bool Last)? _airCentral;
    private bool _airAccepted;
    private (int Payload, Action? Delivered)? _airDevice;
    private Queue<FlashOp>? _writerOps;
    private TimeSpan _writerOpEnd = TimeSpan.MaxValue;
    private (int StreamBytes, int ImageBytes) _writerChunk;
    private bool _dropped;

    public LinkEngine(SimulatedAdapter adapter, SimulatedDevice device, SimulatedConnection connection, TimeSpan start)
    {
        _adapter = adapter;
        _device = device;
        _connection = connection;
        _profile = device.Options.Profile;
        Interval = _profile.IntervalFor(device.RequestedInterval);
        _anchor0 = start;
        _lastProcess = start;
        _suspends = _profile.ChipSupportsAutoSuspend && _profile.Flash.SupportsSuspend && device.Options.AutoSuspend;
        if (_device.Model is BleOtaFirmwareModel streaming)
        {
            // port/ble_ota_stream.c, ble_ota_stream_begin: delta and compressed updates take smaller rings.
            streaming.StreamRoom = bytes => _ringBytes + bytes
                <= (streaming.IsDelta ? _device.Options.DeltaRingBytes
                    : streaming.IsDeflate ? _device.Options.DeflateRingBytes
                    : _device.Options.EffectiveRingBytes);
        }

        NextEventTime = TimeSpan.MaxValue;
    }

    /// <summary>The connection interval the central granted.</summary>
    public TimeSpan Interval { get; }

    /// <summary>What happens on the device side, as it happens: for tests that watch the model's mechanics.</summary>
    public event Action<LinkTrace>? Traced;

    /// <summary>When this link next has something to do; <see cref="TimeSpan.MaxValue"/> when it waits for the client.</summary>
    public TimeSpan NextEventTime { get; private set; }

    private bool Stalled => _stallUntil > _lastProcess;

    /// <summary>The client hands an ATT PDU to its stack: it goes out at the link's next chance.</summary>
    public void Send(AttItem item)
    {
        if (_dropped)
        {
            item.Answer?.TrySetException(new BleTransportException($"The link to {_connection.Address} is down."));
            return;
        }

        if (item.Answer is { } answer)
        {
            _answers.Add(answer);
        }

        var fragments = _profile.Fragments(item.Value.Length).ToList();
        item.Fragments = fragments.Count;
        for (int i = 0; i < fragments.Count; i++)
        {
            _central.AddLast((item, fragments[i], i == fragments.Count - 1));
        }

        Schedule(_adapter.Now);
    }

    /// <summary>Runs everything due at <paramref name="now"/>.</summary>
    public void Process(TimeSpan now)
    {
        if (_dropped)
        {
            return;
        }

        if (_job is { Phase: JobPhase.Cpu } cpu && !Stalled)
        {
            cpu.CpuLeft -= now - _lastProcess;
        }

        _lastProcess = now;
        if (now >= _restartAt)
        {
            // esp_restart(): the device is gone mid-link, without a word; the central notices when its supervision
            // timeout runs out (esp_restart terminates no connection).
            _restartAt = TimeSpan.MaxValue;
            _resetAt = now;
            _lostAt = now + _profile.SupervisionTimeout;
        }

        if (now >= _lostAt)
        {
            var resetAt = _resetAt;
            _lostAt = _resetAt = TimeSpan.MaxValue;
            _connection.DeviceRestarts(resetAt, _restartReason);
            return;
        }

        if (_resetAt != TimeSpan.MaxValue)
        {
            NextEventTime = _lostAt;
            return;
        }

        bool changed = true;
        while (changed && !_dropped)
        {
            changed = FinishWriterOp(now) | FinishExchange(now) | HandOff() | AdvanceJob(now) | StartJob(now) | StartWriter(now) | RunAir(now);
        }

        Schedule(now);
    }

    /// <summary>
    /// The link ends: queued PDUs are lost, waiting answers fail, the firmware's writer finishes what it holds.
    /// Returns when the device restarts if it accepted an image and its restart delay is still running: it
    /// restarts then, connected or not.
    /// </summary>
    public TimeSpan? Drop()
    {
        if (_dropped)
        {
            return null;
        }

        _dropped = true;
        NextEventTime = TimeSpan.MaxValue;
        // Requests not answered yet never will be, wherever they are: queued, on the device, or their answer on its way.
        var failure = new BleTransportException($"The link to {_connection.Address} is down.");
        foreach (var answer in _answers)
        {
            answer.TrySetException(failure);
        }

        _answers.Clear();

        foreach (var (stream, image, _) in _ring)
        {
            _device.FlashWork?.Append(image);
        }

        _central.Clear();
        _ring.Clear();
        _ringBytes = 0;
        var restart = _resetAt != TimeSpan.MaxValue ? _resetAt : _restartAt;
        _restartAt = _resetAt = _lostAt = TimeSpan.MaxValue;
        return restart == TimeSpan.MaxValue ? null : restart;
    }

    private void Schedule(TimeSpan now)
    {
        if (_dropped)
        {
            return;
        }

        if (_resetAt != TimeSpan.MaxValue)
        {
            NextEventTime = _lostAt; // the device has reset: nothing happens on the link until the central notices
            return;
        }

        var next = _restartAt;
        next = Min(next, _writerOpEnd);
        next = Min(next, _exchangeEnd);
        if (_stallUntil > now)
        {
            next = Min(next, _stallUntil);
        }

        if (_job is { } job)
        {
            next = Min(next, job.Phase switch
            {
                JobPhase.Cpu when !Stalled => Max(now, _lastProcess + job.CpuLeft), // CpuLeft counts from the last Process
                JobPhase.Busy => job.BusyUntil,
                _ => TimeSpan.MaxValue,
            });
        }

        if (_exchangeEnd == TimeSpan.MaxValue)
        {
            if (_eventOpen)
            {
                next = Min(next, CanExchange() ? now : _eventEnd);
            }
            else if (_central.Count > 0 || _peripheral.Count > 0)
            {
                next = Min(next, NextAnchor(now));
            }
        }

        NextEventTime = next;
    }

    // ---- the air ----

    private bool CanExchange() =>
        (_central.Count > 0 && _controllerRx.Count < _profile.ControllerRxPdus && UnderPacketCap()) || _peripheral.Count > 0;

    private bool UnderPacketCap() => _profile.MaxPacketsPerEvent is not { } cap || _eventDataPackets < cap;

    private TimeSpan NextAnchor(TimeSpan now)
    {
        var after = _eventAnchor == TimeSpan.MinValue ? now : (now > _eventAnchor + Interval ? now : _eventAnchor + Interval);
        long n = (long)Math.Ceiling((after - _anchor0).Ticks / (double)Interval.Ticks);
        return _anchor0 + Interval * Math.Max(0, n);
    }

    private bool RunAir(TimeSpan now)
    {
        if (_exchangeEnd != TimeSpan.MaxValue)
        {
            return false;
        }

        if (!_eventOpen)
        {
            if ((_central.Count == 0 && _peripheral.Count == 0) || NextAnchor(now) != now)
            {
                return false;
            }

            // A connection event: this link's equal share of the interval among the adapter's open links.
            _eventOpen = true;
            _eventAnchor = now;
            _eventEnd = now + Interval / _adapter.OpenLinks - _profile.EventGuard + LinkProfile.InterFrameSpace;
            _eventDataPackets = 0;
        }

        if (now >= _eventEnd || (!CanExchange() && _central.Count == 0))
        {
            _eventOpen = false; // nothing more to say, or the slot is used up
            return true;
        }

        if (!CanExchange())
        {
            return false; // the controller's RX buffers are full: the central's PDUs are not acknowledged until one frees
        }

        bool send = _central.Count > 0 && _controllerRx.Count < _profile.ControllerRxPdus && UnderPacketCap();
        var central = send ? _central.First!.Value : ((AttItem, int, bool)?)null;
        var device = _peripheral.Count > 0 ? _peripheral.Peek() : ((int, Action?)?)null;
        int centralPayload = central?.Item2 ?? (_central.Count > 0 ? _central.First!.Value.Payload : 0);
        var duration = _profile.ExchangeTime(centralPayload, device?.Item1 ?? 0);
        if (now + duration > _eventEnd && (_eventDataPackets > 0 || now > _eventAnchor))
        {
            _eventOpen = false;
            return true;
        }

        _airCentral = central;
        _airAccepted = send;
        _airDevice = device;
        _exchangeEnd = now + duration;
        return true;
    }

    private bool FinishExchange(TimeSpan now)
    {
        if (_exchangeEnd > now)
        {
            return false;
        }

        _exchangeEnd = TimeSpan.MaxValue;
        if (_airAccepted && _airCentral is { } central)
        {
            _central.RemoveFirst();
            _controllerRx.Enqueue((central.Item, central.Last));
            Traced?.Invoke(new LinkTrace(now, LinkTraceKind.PduAcknowledged, _controllerRx.Count));
            _eventDataPackets++;
        }

        if (_airDevice is { } device)
        {
            _peripheral.Dequeue();
            device.Delivered?.Invoke();
        }

        _airCentral = null;
        _airDevice = null;
        _airAccepted = false;
        return true;
    }

    // ---- the device: controller task, NimBLE host, writer ----

    /// <summary>The controller task passes received PDUs to the host's ACL buffers, unless flash work stalls the CPU.</summary>
    private bool HandOff()
    {
        bool moved = false;
        while (!Stalled && _controllerRx.Count > 0 && _hostAcl < _profile.HostAclBuffers)
        {
            var (item, last) = _controllerRx.Dequeue();
            _hostAcl++;
            if (last)
            {
                _hostQueue.Enqueue(item);
            }

            moved = true;
        }

        return moved;
    }

    private bool StartJob(TimeSpan now)
    {
        if (_job is not null || Stalled || _hostHalted || _hostQueue.Count == 0)
        {
            return false;
        }

        var item = _hostQueue.Dequeue();
        _job = new HostJob(item, _profile.HostTime(item.Value.Length));
        return true;
    }

    private bool AdvanceJob(TimeSpan now)
    {
        if (_job is not { } job)
        {
            return false;
        }

        switch (job.Phase)
        {
            case JobPhase.Cpu when job.CpuLeft <= TimeSpan.Zero && !Stalled:
                RunCallback(job, now);
                return true;
            case JobPhase.Busy when job.BusyUntil <= now:
                return NextHostStep(job, now);
            case JobPhase.Drain when _writerOps is null && _ring.Count == 0:
                job.Phase = JobPhase.Busy;
                job.BusyUntil = now + job.AfterDrain;
                job.AfterDrain = TimeSpan.Zero;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The GATT callback: the firmware's decision now, its flash work next, its answer when that is done.</summary>
    private void RunCallback(HostJob job, TimeSpan now)
    {
        var item = job.Item;
        var model = _device.Model;
        var stream = model as BleOtaFirmwareModel; // BleOta's v2 hands its data to a writer task through a ring
        var flash = _device.Flash;
        lock (_device.Gate)
        {
            int writtenBefore = flash.Written;
            long streamBefore = stream?.StreamOffset ?? 0;
            long baseReadBefore = stream?.BaseBytesRead ?? 0;
            bool streaming = stream?.IsStreaming ?? false;
            switch (item.Kind)
            {
                case AttKind.WriteCommand or AttKind.WriteRequest:
                    // A write-encrypted characteristic: the stack refuses before the firmware sees the write (ATT 0x0F).
                    bool unpaired = _device.Options.RequireEncryption && !_device.Bonded;
                    job.Status = unpaired ? OtaAttError.InsufficientEncryption
                        : item.Characteristic == OtaUuids.Control ? model.OnControlWrite(item.Value)
                        : model.OnDataWrite(item.Value);
                    break;
                case AttKind.ReadRequest:
                    try
                    {
                        job.Reply = model.Read(item.Characteristic);
                    }
                    catch (BleAttException refused)
                    {
                        job.Status = refused.AttError;
                        job.Refusal = refused;
                    }

                    break;
                case AttKind.MtuRequest:
                    job.Reply = item.Value;
                    break;
                case AttKind.SubscribeRequest:
                    break;
            }

            job.Notifications.AddRange(model.Notifications);
            model.Notifications.Clear();
            var work = item.Kind is AttKind.WriteCommand or AttKind.WriteRequest ? model.LastWork : default;
            if (work.OpenedSlot)
            {
                _device.FlashWork = new FlashWork(_profile.Flash, _device.EraseMode, flash.SlotSize, _device.FlashSlowdown);
            }

            if (stream is not null && stream.StreamOffset > streamBefore)
            {
                PushRing((int)(stream.StreamOffset - streamBefore), stream.ImageBytesPerStreamByte, stream.BaseBytesRead - baseReadBefore);
            }
            else if (!streaming && stream?.IsStreaming != true && flash.Written > writtenBefore && _device.FlashWork is { } v1)
            {
                job.FlashOps.AddRange(v1.Append(flash.Written - writtenBefore)); // v1: esp_ota_write in the callback
            }

            job.DrainsStream = work.FinishedStream;
            job.AfterDrain = TimeSpan.FromSeconds(work.HashedBytes / _profile.HashBytesPerSecond);
            job.Restart = item.Kind is AttKind.WriteCommand or AttKind.WriteRequest ? model.Restart : RestartAfterWrite.None;
            job.RestartDelay = model.RestartDelay;
        }

        NextHostStep(job, now);
    }

    /// <summary>The host's next piece of work for this PDU: a flash operation, waiting for the writer, hashing, or the answer.</summary>
    private bool NextHostStep(HostJob job, TimeSpan now)
    {
        if (job.FlashOps.Count > 0)
        {
            var op = job.FlashOps[0];
            job.FlashOps.RemoveAt(0);
            job.Phase = JobPhase.Busy;
            job.BusyUntil = now + op.Duration;
            Stall(now, op.Duration);
            return true;
        }

        if (job.DrainsStream)
        {
            job.DrainsStream = false;
            job.Phase = JobPhase.Drain; // stream_finish waits for the writer, then hashes what it wrote
            return true;
        }

        if (job.AfterDrain > TimeSpan.Zero)
        {
            job.Phase = JobPhase.Busy;
            job.BusyUntil = now + job.AfterDrain;
            job.AfterDrain = TimeSpan.Zero;
            return true;
        }

        FinishJob(job);
        return true;
    }

    private void FinishJob(HostJob job)
    {
        _job = null;
        _hostAcl -= job.Item.Fragments;
        foreach (var notification in job.Notifications)
        {
            // Queued in the callback, so ahead of the ATT response (NimBLE's ble_gatts_notify_custom).
            Transmit(OtaNotificationBytes(notification), () => _connection.Deliver(notification));
        }

        if (job.Item.Answer is { } answer)
        {
            byte status = job.Status;
            byte[] reply = job.Reply ?? [];
            var refusal = job.Refusal ?? new BleAttException(status, $"The device refused the write with ATT error 0x{status:X2}.");
            if (job.Restart != RestartAfterWrite.InsideHandler)
            {
                Transmit(reply.Length + 1 + LinkProfile.L2capHeaderBytes + (status != 0 ? 4 : 0), () =>
                {
                    _answers.Remove(answer);
                    if (status != 0)
                    {
                        answer.TrySetException(refusal);
                    }
                    else
                    {
                        answer.TrySetResult(reply);
                    }
                });
            }
        }

        switch (job.Restart)
        {
            case RestartAfterWrite.AfterResponse:
                // BleOta's DONE arms an esp_timer; the host goes on while it runs.
                _restartAt = _adapter.Now + job.RestartDelay;
                _restartReason = "the device restarted into its new firmware";
                break;
            case RestartAfterWrite.InsideHandler:
                // The tutorial's DONE handler sleeps, then resets: the write is never answered, the host does nothing more.
                _hostHalted = true;
                _restartAt = _adapter.Now + job.RestartDelay;
                _restartReason = "the device restarted without answering the write";
                break;
        }

        if (job.Item.Kind is AttKind.WriteCommand or AttKind.WriteRequest)
        {
            _connection.CheckDisconnectFault();
        }
    }

    private static int OtaNotificationBytes(byte[] value) => value.Length + LinkProfile.AttWriteHeaderBytes + LinkProfile.L2capHeaderBytes;

    /// <summary>Queues a device PDU (cut to the data length) for the device's next turn to transmit.</summary>
    private void Transmit(int bytes, Action delivered)
    {
        while (bytes > _profile.LinkLayerPayload)
        {
            _peripheral.Enqueue((_profile.LinkLayerPayload, null));
            bytes -= _profile.LinkLayerPayload;
        }

        _peripheral.Enqueue((bytes, delivered));
    }

    private void PushRing(int streamBytes, double imagePerStreamByte, long baseReadBytes)
    {
        _imageCarry += streamBytes * imagePerStreamByte;
        int image = (int)_imageCarry;
        _imageCarry -= image;
        _ring.AddLast((streamBytes, image, baseReadBytes));
        _ringBytes += streamBytes;
    }

    /// <summary>
    /// The writer task takes what the ring holds, up to its piece size, and writes it: erases first, then programming.
    /// A raw image is taken a ring at a time; a deflate stream or delta patch, which expands, 256 bytes at a time, so
    /// its ring space frees as it is decoded (port/ble_ota_stream.c, writer_task and EXPANDING_CHUNK).
    /// </summary>
    private bool StartWriter(TimeSpan now)
    {
        if (_writerOps is not null || _ring.Count == 0 || _device.FlashWork is not { } work || (Stalled && !_suspends))
        {
            return false;
        }

        bool expands = _device.Model is BleOtaFirmwareModel model && (model.IsDelta || model.IsDeflate);
        int piece = expands ? ExpandingChunk : int.MaxValue;
        int stream = 0, image = 0;
        long baseRead = 0;
        while (_ring.Count > 0 && stream < piece)
        {
            var (s, i, r) = _ring.First!.Value;
            _ring.RemoveFirst();
            if (stream + s > piece)
            {
                // xRingbufferReceiveUpTo hands out part of a packet's bytes; the rest stays for the next piece.
                int taken = piece - stream;
                double share = (double)taken / s;
                var (takenImage, takenBase) = ((int)Math.Round(i * share), (long)Math.Round(r * share));
                _ring.AddFirst((s - taken, i - takenImage, r - takenBase));
                (s, i, r) = (taken, takenImage, takenBase);
            }

            stream += s;
            image += i;
            baseRead += r;
        }

        _writerChunk = (stream, image);
        _writerOps = new Queue<FlashOp>(work.Append(image));
        if (baseRead > 0)
        {
            _writerOps = new Queue<FlashOp>(_writerOps.Prepend(work.Read(baseRead))); // a delta patch reads its base first
        }

        if (_device.Model is BleOtaFirmwareModel { HashesAsItWrites: true })
        {
            // The writer hashes the bytes it hands to esp_ota_write (port/ble_ota_stream.c, write_image).
            _writerOps.Enqueue(new FlashOp(false, TimeSpan.FromSeconds(image / _profile.ShaBytesPerSecond), IsHash: true));
        }

        return StartWriterOp(now);
    }

    private bool StartWriterOp(TimeSpan now)
    {
        if (_writerOps!.Count == 0)
        {
            _writerOps = null;
            _writerOpEnd = TimeSpan.MaxValue;
            _ringBytes -= _writerChunk.StreamBytes; // vRingbufferReturnItem: the space is free again
            ReleaseHeldAck();
            return true;
        }

        var op = _writerOps.Dequeue();
        _writerOpEnd = now + op.Duration;
        if (!op.IsHash)
        {
            Stall(now, op.Duration);
        }

        return true;
    }

    /// <summary>The writer tells the host task the ring has room again; a held acknowledgement goes out.</summary>
    private void ReleaseHeldAck()
    {
        if (_device.Model is not BleOtaFirmwareModel server)
        {
            return;
        }

        lock (_device.Gate)
        {
            if (!server.HoldsAck)
            {
                return;
            }

            server.OnStreamRoom();
            foreach (var notification in server.Notifications)
            {
                Transmit(OtaNotificationBytes(notification), () => _connection.Deliver(notification));
            }

            server.Notifications.Clear();
        }
    }

    private bool FinishWriterOp(TimeSpan now) => _writerOpEnd <= now && StartWriterOp(now);

    /// <summary>
    /// Flash work with the caches off: every task stops, the NimBLE host and the controller task included; only
    /// the controller's interrupt keeps receiving into its RX buffers (ESP-IDF "Concurrency Constraints for Flash
    /// on SPI1"). With CONFIG_SPI_FLASH_AUTO_SUSPEND on a part that supports it, the CPU runs on.
    /// </summary>
    private void Stall(TimeSpan now, TimeSpan duration)
    {
        if (!_suspends && now + duration > _stallUntil)
        {
            Traced?.Invoke(new LinkTrace(now, LinkTraceKind.Stall, 0, duration));
            _stallUntil = now + duration;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private enum JobPhase
    {
        Cpu,
        Busy,
        Drain,
    }

    /// <summary>The host task's work on one ATT PDU.</summary>
    private sealed class HostJob(AttItem item, TimeSpan cpu)
    {
        public AttItem Item { get; } = item;

        public JobPhase Phase { get; set; } = JobPhase.Cpu;

        public TimeSpan CpuLeft { get; set; } = cpu;

        public TimeSpan BusyUntil { get; set; }

        public List<FlashOp> FlashOps { get; } = [];

        public bool DrainsStream { get; set; }

        public TimeSpan AfterDrain { get; set; }

        public List<byte[]> Notifications { get; } = [];

        public byte Status { get; set; }

        public byte[]? Reply { get; set; }

        public RestartAfterWrite Restart { get; set; }

        /// <summary>The firmware's refusal of a read, with its own words.</summary>
        public BleAttException? Refusal { get; set; }

        public TimeSpan RestartDelay { get; set; }
    }
}

internal enum LinkTraceKind
{
    /// <summary>The device's controller acknowledged a PDU of the central's; <see cref="LinkTrace.Held"/> PDUs are in its RX buffers now.</summary>
    PduAcknowledged,

    /// <summary>Flash work stopped the CPU for <see cref="LinkTrace.Duration"/>.</summary>
    Stall,
}

internal readonly record struct LinkTrace(TimeSpan At, LinkTraceKind Kind, int Held, TimeSpan Duration = default);
