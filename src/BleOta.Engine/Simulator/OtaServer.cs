using System.Buffers.Binary;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Simulator;

/// <summary>
/// The device side of protocol v1, making the same decisions as the firmware's C core
/// (firmware/components/ble_ota/core; the table of answers is in firmware/README.md),
/// driven by GATT writes and answering through ATT errors and Control notifications.
/// </summary>
internal sealed class OtaServer(SimulatedFlash flash, DeviceFaults faults, int maxPacketSize)
{
    private enum State
    {
        Idle,
        Updating,
    }

    private State _state = State.Idle;
    private int _packetSize;
    private int _negotiatedPayload = 20;

    public byte ControlValue { get; private set; } = (byte)OtaOpcode.Nop;

    /// <summary>Set when DONE_ACK went out: the device restarts into the new image.</summary>
    public bool RestartPending { get; private set; }

    /// <summary>Notifications to send on OTA Control, in order.</summary>
    public Queue<byte[]> Notifications { get; } = new();

    /// <summary>Time the device spent on the last write, charged by the link.</summary>
    public TimeSpan Busy { get; private set; }

    public void OnConnect(int mtu)
    {
        _negotiatedPayload = mtu - 3;
        RestartPending = false;
    }

    public void OnDisconnect()
    {
        if (_state == State.Updating)
        {
            Abort();
        }
    }

    public byte OnControlWrite(ReadOnlySpan<byte> value)
    {
        Busy = TimeSpan.Zero;
        if (value.Length != 1)
        {
            return OtaAttError.InvalidAttributeValueLength;
        }

        switch ((OtaOpcode)value[0])
        {
            case OtaOpcode.Request:
                HandleRequest();
                return OtaAttError.None;
            case OtaOpcode.Done:
                return HandleDone();
            case OtaOpcode.Nop:
                ControlValue = value[0];
                return OtaAttError.None;
            default:
                return OtaAttError.UnknownOpcode;
        }
    }

    public byte OnDataWrite(ReadOnlySpan<byte> value)
    {
        Busy = TimeSpan.Zero;
        if (_state == State.Idle)
        {
            // While idle the only data write is the packet size that precedes REQUEST.
            if (value.Length != 2)
            {
                return OtaAttError.WrongState;
            }

            int size = BinaryPrimitives.ReadUInt16LittleEndian(value);
            if (size == 0 || size > maxPacketSize)
            {
                return OtaAttError.ValueNotAllowed;
            }

            _packetSize = size;
            return OtaAttError.None;
        }

        if (value.Length == 0)
        {
            return OtaAttError.InvalidAttributeValueLength; // nothing written; the update goes on
        }

        byte refusal = value.Length > Math.Min(_packetSize, _negotiatedPayload) ? OtaAttError.InvalidAttributeValueLength
            : flash.Written + value.Length > flash.SlotSize ? OtaAttError.ImageTooLarge
            : flash.Written == 0 && value[0] != 0xE9 ? OtaAttError.NotAnAppImage
            : OtaAttError.None;
        var busy = TimeSpan.Zero;
        if (refusal == OtaAttError.None && !flash.Write(value, out busy))
        {
            refusal = OtaAttError.FlashFailed;
        }

        if (refusal != OtaAttError.None)
        {
            Abort(); // an image with a hole in it can never be finished
            return refusal;
        }

        Busy = busy;
        return OtaAttError.None;
    }

    private void HandleRequest()
    {
        if (_state == State.Updating)
        {
            Abort(); // a second REQUEST starts over rather than leaving a half-open update
        }

        if (faults.IgnoreRequest)
        {
            return;
        }

        if (faults.RejectRequest || _packetSize == 0)
        {
            Notify(OtaOpcode.RequestNak);
            return;
        }

        Busy = flash.Begin();
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

        if (flash.Written == 0)
        {
            Abort();
            Notify(OtaOpcode.DoneNak);
            return OtaAttError.None;
        }

        _state = State.Idle;
        string? problem = flash.End(out var busy);
        Busy = busy;
        Notify(problem is null ? OtaOpcode.DoneAck : OtaOpcode.DoneNak);
        RestartPending = problem is null;
        return OtaAttError.None;
    }

    private void Abort()
    {
        flash.Abort();
        _state = State.Idle;
        ControlValue = (byte)OtaOpcode.DoneNak;
    }

    private void Notify(OtaOpcode opcode)
    {
        ControlValue = (byte)opcode;
        Notifications.Enqueue([(byte)opcode]);
    }
}
