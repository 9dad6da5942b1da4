using System.Buffers.Binary;
using System.Security.Cryptography;
using BleOta.Engine.Delta;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Transport.Simulated;

/// <summary>
/// BleOta's firmware: the device side of protocols v1 and v2, making the same decisions as the firmware's C core
/// (firmware/components/ble_ota/core; the table of answers is in firmware/README.md, the v2 rules in
/// docs/protocol.md), driven by GATT writes and answering through ATT errors and Control notifications.
/// A v2 model (window > 0) keeps a v2 update across a disconnect so the same REQUEST resumes it, and with
/// <paramref name="delta"/> applies delta patches against the running image as they stream in (the C core's
/// applier, in C#: <see cref="DeltaApplier"/>). <paramref name="info"/> is the Info characteristic's value when it is read.
/// With <paramref name="readsImageBackAtDone"/> it is the firmware before DONE trusted the image's appended SHA-256.
/// </summary>
internal sealed class BleOtaFirmwareModel(SimulatedFlash flash, DeviceFaults faults, int maxPacketSize, int window = 0, bool compression = false, Func<DeviceInfo>? info = null, bool delta = false,
    bool readsImageBackAtDone = false)
    : IFirmwareModel
{
    private enum State
    {
        Idle,
        Updating,
    }

    private State _state = State.Idle;
    private int _packetSize;
    private int _negotiatedPayload = 20;
    private V2Session? _v2;
    private bool _v2OwnerGone;
    private bool _rejected;

    /// <summary>The service table of port/ble_ota_gatt.c.</summary>
    public IReadOnlyCollection<Guid> Characteristics { get; } = [OtaUuids.Control, OtaUuids.Data, OtaUuids.Info];

    /// <summary>The OTA service UUID (CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID, on by default; port/ble_ota_gap.c).</summary>
    public IReadOnlyList<Guid> AdvertisedServices { get; } = [OtaUuids.Service];

    public byte ControlValue { get; private set; } = (byte)OtaOpcode.Nop;

    public RestartAfterWrite Restart { get; private set; }

    /// <summary>CONFIG_BLE_OTA_RESTART_DELAY_MS (500 by default, firmware/components/ble_ota/Kconfig): DONE_ACK to esp_restart(), by an esp_timer.</summary>
    public TimeSpan RestartDelay { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Notifications to send on OTA Control, in order.</summary>
    public Queue<byte[]> Notifications { get; } = new();

    /// <summary>The flash work the firmware's port did for the last write, for the link's timing model.</summary>
    public FirmwareWork LastWork { get; private set; }

    /// <summary>Whether the port's receive ring takes this many more stream bytes (<c>stream_push</c>); RING_FULL when not.</summary>
    public Func<int, bool>? StreamRoom { get; set; }

    /// <summary>True while a v2 update is open: its data goes through the ring to the writer task.</summary>
    public bool IsStreaming => _v2 is not null;

    /// <summary>Stream bytes the v2 update has accepted so far.</summary>
    public long StreamOffset => _v2?.Expected ?? 0;

    /// <summary>True while a delta patch streams in: the port gives it a smaller ring.</summary>
    public bool IsDelta => _v2?.Patch is not null;

    /// <summary>True while a deflate stream comes in: the port gives it a smaller ring too.</summary>
    public bool IsDeflate => _v2?.Request.Deflate == true;

    /// <summary>tinfl's wrapping output buffer (port/ble_ota_stream.c, DEFLATE_DICT_SIZE).</summary>
    public const int DeflateBufferBytes = 8192;

    /// <summary>Bytes of the running image a delta patch has read so far (its base), for the link's model.</summary>
    public long BaseBytesRead => _v2?.Patch?.BaseBytesRead ?? 0;

    /// <summary>The v2 writer hashes the image bytes it writes, for DONE (port/ble_ota_stream.c, write_image).</summary>
    public bool HashesAsItWrites => !readsImageBackAtDone;

    /// <summary>Image bytes the writer produces per stream byte (above 1 for a deflate or delta stream).</summary>
    public double ImageBytesPerStreamByte => _v2 is { } v2 ? v2.Request.ImageSize / (double)v2.Request.StreamSize : 1;

    public void OnConnect(int mtu)
    {
        _negotiatedPayload = mtu - 3;
        Restart = RestartAfterWrite.None;
    }

    public byte[] Read(Guid characteristic) =>
        characteristic == OtaUuids.Info ? (info ?? throw new InvalidOperationException("This model was built without an Info value."))().ToBytes()
        : characteristic == OtaUuids.Control ? [ControlValue]
        : throw new BleAttException(0x02, "OTA Data cannot be read.");

    public void OnDisconnect()
    {
        if (_state == State.Updating && _v2 is null)
        {
            Abort();
        }

        _v2OwnerGone = _v2 is not null; // v2 keeps its session for a resume
    }

    public byte OnControlWrite(ReadOnlySpan<byte> value)
    {
        LastWork = default;
        if (value.Length >= 2 && window > 0)
        {
            return OnControlWriteV2(value);
        }

        if (value.Length != 1)
        {
            return OtaAttError.InvalidAttributeValueLength;
        }

        switch ((OtaOpcode)value[0])
        {
            case OtaOpcode.Request:
                HandleRequest();
                return OtaAttError.None;
            case OtaOpcode.Done when _v2 is null:
                return HandleDone();
            case OtaOpcode.Done:
                return OtaAttError.WrongState;
            case OtaOpcode.Nop:
                ControlValue = value[0];
                return OtaAttError.None;
            default:
                return OtaAttError.UnknownOpcode;
        }
    }

    public byte OnDataWrite(ReadOnlySpan<byte> value)
    {
        LastWork = default;
        if (_state == State.Idle)
        {
            // While idle the only data write is the packet size that precedes REQUEST.
            return value.Length == 2 ? AcceptPacketSize(value) : OtaAttError.WrongState;
        }

        if (_v2 is not null && _v2OwnerGone && value.Length == 2)
        {
            // A v2 session kept for resume must not lock out a v1 client: its REQUEST drops the session.
            return AcceptPacketSize(value);
        }

        if (_v2 is not null)
        {
            return OnDataV2(value);
        }

        if (value.Length == 0)
        {
            return OtaAttError.InvalidAttributeValueLength; // nothing written; the update goes on
        }

        if (value.Length > Math.Min(_packetSize, _negotiatedPayload))
        {
            Abort(); // an image with a hole in it can never be finished
            return OtaAttError.InvalidAttributeValueLength;
        }

        if (_rejected)
        {
            return OtaAttError.None; // the core's v1_reject: the rest of a refused image is dropped
        }

        var error = WriteFlash(value);
        if (error is V2Error.ImageTooLarge or V2Error.ImageInvalid)
        {
            // The core answers an unacceptable image at DONE, with DONE_NAK, as the tutorial's firmware does.
            flash.Abort();
            _rejected = true;
            return OtaAttError.None;
        }

        if (error != V2Error.Ok)
        {
            Abort();
            return OtaAttError.FlashFailed;
        }

        return OtaAttError.None;
    }

    private byte AcceptPacketSize(ReadOnlySpan<byte> value)
    {
        int size = BinaryPrimitives.ReadUInt16LittleEndian(value);
        if (size == 0 || size > maxPacketSize)
        {
            return OtaAttError.ValueNotAllowed;
        }

        _packetSize = size;
        return OtaAttError.None;
    }

    private void HandleRequest()
    {
        if (_state == State.Updating)
        {
            Abort(); // a second REQUEST (or a v1 REQUEST after a v2 one) starts over
        }

        if (faults.IgnoreRequest)
        {
            return;
        }

        if (faults.RejectRequest || _packetSize == 0 || !flash.Begin())
        {
            Notify(OtaOpcode.RequestNak);
            return;
        }

        LastWork = new FirmwareWork(OpenedSlot: true);
        _state = State.Updating;
        Notify(OtaOpcode.RequestAck);
    }

    private byte HandleDone()
    {
        if (_state == State.Idle)
        {
            return OtaAttError.WrongState;
        }

        if (faults.IgnoreDone)
        {
            return OtaAttError.None;
        }

        if (_rejected || flash.Written == 0)
        {
            Abort();
            Notify(OtaOpcode.DoneNak);
            return OtaAttError.None;
        }

        _state = State.Idle;
        // esp_ota_end reads the image back to verify it; esp_ota_set_boot_partition verifies it once more.
        LastWork = new FirmwareWork(HashedBytes: 2L * flash.Written);
        string? problem = flash.End();
        Notify(problem is null ? OtaOpcode.DoneAck : OtaOpcode.DoneNak);
        Restart = problem is null ? RestartAfterWrite.AfterResponse : RestartAfterWrite.None;
        return OtaAttError.None;
    }

    private void Abort()
    {
        flash.Abort();
        _state = State.Idle;
        _v2 = null;
        _rejected = false;
        ControlValue = (byte)OtaOpcode.DoneNak;
    }

    // ---- protocol v2 (the C core's op_request_v2, data_v2, op_done_v2, op_abort_v2) ----

    /// <summary>A v2 update: what was announced, where the stream stands, and the image so far.</summary>
    private sealed class V2Session(V2Request request)
    {
        public V2Request Request { get; } = request;

        public uint Expected { get; set; }

        public int SinceAck { get; set; }

        public bool AckHeld { get; set; }

        public bool ResendAsked { get; set; }

        /// <summary>The first packet the writer has room for after a full ring is acknowledged at once (ble_ota_core.c, ack_next).</summary>
        public bool AckNext { get; set; }

        /// <summary>Compressed streams are inflated at DONE (the device's writer inflates as it goes).</summary>
        public MemoryStream Compressed { get; } = new();

        public IncrementalHash Sha { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public long ImageBytes { get; set; }

        /// <summary>The applier of a delta stream, reading the running image, writing the update slot.</summary>
        public DeltaApplier? Patch { get; set; }

        /// <summary>Why the applier's last flash write failed.</summary>
        public V2Error WriteError { get; set; }
    }

    private byte OnControlWriteV2(ReadOnlySpan<byte> value)
    {
        if (value.Length > V2Request.DeltaLength || value[1] != V2Request.Version)
        {
            return OtaAttError.InvalidAttributeValueLength;
        }

        switch ((OtaOpcode)value[0])
        {
            case OtaOpcode.Request:
                if (V2Request.TryParse(value, out byte flags) is not { } request)
                {
                    return OtaAttError.InvalidAttributeValueLength; // 43 bytes, or 75 with the delta flag
                }

                HandleRequestV2(request, flags);
                return OtaAttError.None;
            case OtaOpcode.Done:
                return value.Length != 2 ? OtaAttError.InvalidAttributeValueLength : HandleDoneV2();
            case OtaOpcode.Abort:
                if (value.Length != 2)
                {
                    return OtaAttError.InvalidAttributeValueLength;
                }

                if (_state == State.Updating)
                {
                    Abort();
                }

                NotifyV2(OtaOpcode.AbortAck, V2Error.Ok, 0);
                return OtaAttError.None;
            default:
                return OtaAttError.UnknownOpcode;
        }
    }

    private void HandleRequestV2(V2Request request, byte flags)
    {
        _v2OwnerGone = false; // whatever happens next, this client now speaks for the session
        if (_state == State.Updating)
        {
            if (_v2 is not null && _v2.Request.Equals(request))
            {
                _v2.SinceAck = 0;
                _v2.ResendAsked = false;
                _v2.AckNext = false;
                _v2.AckHeld = false; // the REQUEST_ACK's offset tells the client everything accepted
                NotifyV2(OtaOpcode.RequestAck, V2Error.Ok, _v2.Expected); // resume: the device's offset is the truth
                return;
            }

            Abort();
        }

        if (faults.IgnoreRequest)
        {
            return;
        }

        var running = request.BaseSha256 is null ? null : flash.RunningImageBytes();
        bool isDelta = request.BaseSha256 is not null;
        V2Error refusal = (flags & ~(V2Request.FlagDeflate | V2Request.FlagDelta)) != 0 || (request.Deflate && isDelta)
                || request.ImageSize == 0 || request.StreamSize == 0
                || (!request.Deflate && !isDelta && request.StreamSize != request.ImageSize) ? V2Error.ValueNotAllowed
            : (request.Deflate && !compression) || (isDelta && (!delta || running is null)) ? V2Error.Unsupported
            : isDelta && !SHA256.HashData(running!).AsSpan().SequenceEqual(request.BaseSha256) ? V2Error.BaseMismatch
            : request.ImageSize > flash.SlotSize ? V2Error.ImageTooLarge
            : faults.RejectRequest || !flash.Begin() ? V2Error.NoPartition
            : V2Error.Ok;
        if (refusal != V2Error.Ok)
        {
            NotifyV2(OtaOpcode.RequestNak, refusal, 0);
            return;
        }

        LastWork = new FirmwareWork(OpenedSlot: true);
        _state = State.Updating;
        _v2 = new V2Session(request);
        if (isDelta)
        {
            _v2.Patch = NewApplier(_v2, running!);
        }

        NotifyV2(OtaOpcode.RequestAck, V2Error.Ok, 0);
    }

    /// <summary>As the port's writer: the applier reads the running image and writes what it makes to the update slot.</summary>
    private DeltaApplier NewApplier(V2Session v2, byte[] running) => new(v2.Request.ImageSize, (uint)running.Length,
        (offset, buffer) =>
        {
            running.AsMemory((int)offset, buffer.Length).CopyTo(buffer);
            return true;
        },
        bytes =>
        {
            v2.WriteError = WriteImage(v2, bytes.Span);
            return v2.WriteError == V2Error.Ok;
        });

    private byte OnDataV2(ReadOnlySpan<byte> value)
    {
        var v2 = _v2!;
        if (value.Length <= V2Messages.DataHeaderLength)
        {
            return OtaAttError.InvalidAttributeValueLength; // harmless
        }

        if (value.Length > Math.Min(_negotiatedPayload, maxPacketSize))
        {
            FailV2(V2Error.InvalidLength);
            return OtaAttError.InvalidAttributeValueLength;
        }

        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(value);
        var payload = value[V2Messages.DataHeaderLength..];
        if ((ulong)offset + (ulong)payload.Length > v2.Request.StreamSize)
        {
            FailV2(V2Error.SizeMismatch);
            return OtaAttError.None;
        }

        if (offset > v2.Expected)
        {
            AskResend(V2Error.Offset); // a packet was lost
            return OtaAttError.None;
        }

        int skip = (int)(v2.Expected - offset);
        if (skip >= payload.Length)
        {
            AskResend(V2Error.Ok); // a duplicate: the client missed an acknowledgement
            return OtaAttError.None;
        }

        var fresh = payload[skip..];
        if (StreamRoom?.Invoke(fresh.Length) == false)
        {
            // The writer is behind: resend from here a moment later. Answered every time (ble_ota_core.c, data_v2), so
            // a client waiting on a full ring can probe with one packet.
            v2.ResendAsked = false;
            AskResend(V2Error.RingFull);
            return OtaAttError.None;
        }

        var error = Push(v2, fresh);
        if (error != V2Error.Ok)
        {
            FailV2(error);
            return OtaAttError.None;
        }

        v2.Expected += (uint)fresh.Length;
        v2.ResendAsked = false;
        bool ackNow = v2.AckNext; // the client's probe after a full ring
        v2.AckNext = false;
        if (++v2.SinceAck >= Math.Max(1, window / 2) || v2.Expected == v2.Request.StreamSize || ackNow)
        {
            // An acknowledgement lets the client send a whole window more: held until the ring has room for it.
            v2.AckHeld = v2.Expected != v2.Request.StreamSize && !RoomForWindow();
            if (!v2.AckHeld)
            {
                v2.SinceAck = 0;
                NotifyV2(OtaOpcode.DataAck, V2Error.Ok, v2.Expected);
            }
        }

        return OtaAttError.None;
    }

    /// <summary>True while an acknowledgement waits for the writer to free ring space.</summary>
    public bool HoldsAck => _v2 is { AckHeld: true };

    /// <summary>The writer freed ring space (the port's event to the host task): send the held acknowledgement if it now fits.</summary>
    public void OnStreamRoom()
    {
        if (_v2 is { AckHeld: true } v2 && RoomForWindow())
        {
            v2.AckHeld = false;
            v2.SinceAck = 0;
            NotifyV2(OtaOpcode.DataAck, V2Error.Ok, v2.Expected);
        }
    }

    /// <summary>Room in the ring for a window of full packets (<c>stream_room</c> against the window's payload).</summary>
    private bool RoomForWindow() =>
        StreamRoom?.Invoke(window * (Math.Min(_negotiatedPayload, maxPacketSize) - V2Messages.DataHeaderLength)) != false;

    /// <summary>
    /// The writer: raw bytes go to flash now; a deflate stream is kept and inflated at DONE. When the firmware's
    /// writer task does that work is the link's timing model's business (it works from <see cref="StreamOffset"/>).
    /// </summary>
    private V2Error Push(V2Session v2, ReadOnlySpan<byte> bytes)
    {
        if (v2.Patch is { } patch)
        {
            // The patch is applied as it arrives; the link's model times its flash writes and base reads in the writer.
            var result = patch.Feed(bytes);
            return result switch
            {
                DeltaApplyError.None => V2Error.Ok,
                DeltaApplyError.Io => v2.WriteError,
                _ => V2Error.Delta,
            };
        }

        if (v2.Request.Deflate)
        {
            v2.Compressed.Write(bytes);
            return V2Error.Ok;
        }

        return WriteImage(v2, bytes);
    }

    private V2Error WriteImage(V2Session v2, ReadOnlySpan<byte> bytes)
    {
        var error = WriteFlash(bytes);
        if (error == V2Error.Ok)
        {
            v2.Sha.AppendData(bytes);
            v2.ImageBytes += bytes.Length;
        }

        return error;
    }

    /// <summary><c>esp_ota_write</c>'s checks (first byte 0xE9, room in the slot), then the write.</summary>
    private V2Error WriteFlash(ReadOnlySpan<byte> bytes)
    {
        return flash.Written + bytes.Length > flash.SlotSize ? V2Error.ImageTooLarge
            : flash.Written == 0 && bytes[0] != 0xE9 ? V2Error.ImageInvalid
            : flash.Write(bytes) ? V2Error.Ok
            : V2Error.Flash;
    }

    private void AskResend(V2Error why)
    {
        if (!_v2!.ResendAsked)
        {
            _v2.ResendAsked = true;
            _v2.AckNext = why == V2Error.RingFull;
            NotifyV2(OtaOpcode.DataAck, why, _v2.Expected);
        }
    }

    private byte HandleDoneV2()
    {
        if (_v2 is not { } v2)
        {
            return OtaAttError.WrongState;
        }

        if (faults.IgnoreDone)
        {
            return OtaAttError.None;
        }

        if (v2.Expected != v2.Request.StreamSize)
        {
            NotifyV2(OtaOpcode.DoneNak, V2Error.NoData, v2.Expected);
            return OtaAttError.None;
        }

        var error = v2.Request.Deflate ? Inflate(v2)
            : v2.Patch is { } patch && patch.Finish() != DeltaApplyError.None ? V2Error.Delta
            : V2Error.Ok;
        if (error == V2Error.Ok && v2.ImageBytes != v2.Request.ImageSize)
        {
            error = V2Error.SizeMismatch;
        }

        if (error == V2Error.Ok && !v2.Sha.GetHashAndReset().AsSpan().SequenceEqual(v2.Request.Sha256))
        {
            error = V2Error.ShaMismatch;
        }

        if (error != V2Error.Ok)
        {
            FailV2(error); // checked before the boot slot could change
            return OtaAttError.None;
        }

        _state = State.Idle;
        _v2 = null;
        // stream_finish waits for the writer, whose hash of what it wrote stands for the slot when esp_ota_end's check
        // against the image's appended SHA-256 covers every byte; otherwise it reads the slot back to hash it
        // (port/ble_ota_stream.c, hash_stored_image). esp_ota_end and esp_ota_set_boot_partition each read it once
        // more to verify it.
        LastWork = new FirmwareWork(FinishedStream: true, HashedBytes: (HashesAsItWrites && AppendedHashCoversAll() ? 2L : 3L) * flash.Written);
        string? problem = flash.End();
        NotifyV2(problem is null ? OtaOpcode.DoneAck : OtaOpcode.DoneNak, problem is null ? V2Error.Ok : V2Error.ImageInvalid, v2.Request.StreamSize);
        Restart = problem is null ? RestartAfterWrite.AfterResponse : RestartAfterWrite.None;
        return OtaAttError.None;
    }

    /// <summary>
    /// The port's choice (ble_ota_app_check_digest_covers): an app whose header asks for an appended SHA-256 and whose
    /// written bytes end with it. This flash stores what it is given, so its header reads back as written.
    /// </summary>
    private bool AppendedHashCoversAll()
    {
        var written = flash.WrittenImage();
        return written.Kind == ImageKind.App && written.HashAppended && written.HashedImageEnd == flash.Written;
    }

    /// <summary>
    /// port/ble_ota_stream.c, inflate_chunk: the ROM's tinfl decodes into its 8 KB wrapping buffer (<see cref="RomInflater"/>),
    /// so a reference further back than 8 KB gives wrong bytes and the SHA-256 check refuses the image; a malformed
    /// stream, or bytes after its end, is INFLATE. Each piece goes to flash and into the hash as it comes.
    /// </summary>
    private V2Error Inflate(V2Session v2)
    {
        var piece = new byte[4096];
        int filled = 0;
        var error = V2Error.Ok;
        int taken;
        try
        {
            taken = new RomInflater(DeflateBufferBytes).Inflate(v2.Compressed.ToArray(), value =>
            {
                piece[filled++] = value;
                if (filled == piece.Length)
                {
                    error = error == V2Error.Ok ? WriteImage(v2, piece) : error;
                    filled = 0;
                }
            });
        }
        catch (InvalidDataException)
        {
            return V2Error.Inflate;
        }

        error = error == V2Error.Ok && filled > 0 ? WriteImage(v2, piece.AsSpan(0, filled)) : error;
        return error != V2Error.Ok ? error : taken < v2.Compressed.Length ? V2Error.Inflate : V2Error.Ok;
    }

    private void FailV2(V2Error why)
    {
        uint at = _v2?.Expected ?? 0;
        Abort();
        NotifyV2(OtaOpcode.DoneNak, why, at);
    }

    private void NotifyV2(OtaOpcode opcode, V2Error error, uint offset)
    {
        ControlValue = (byte)opcode;
        Notifications.Enqueue(new V2Notification(opcode, error, window, offset).ToBytes());
    }

    private void Notify(OtaOpcode opcode)
    {
        ControlValue = (byte)opcode;
        Notifications.Enqueue([(byte)opcode]);
    }
}
