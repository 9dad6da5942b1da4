using System.Buffers.Binary;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Simulator;

/// <summary>ATT error codes the OTA server answers with (Bluetooth Core Vol 3 Part F 3.4.1.1).</summary>
internal static class AttError
{
    public const byte None = 0x00;
    public const byte WriteNotPermitted = 0x03;
    public const byte InvalidAttributeValueLength = 0x0D;
    public const byte Unlikely = 0x0E;
}

/// <summary>
/// The device side of protocol v1: the same state machine as the firmware's C core
/// (firmware/components/ble_ota/core), driven by GATT writes, answering through notifications.
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
            flash.Abort();
            _state = State.Idle;
        }
    }

    public byte OnControlWrite(ReadOnlySpan<byte> value)
    {
        Busy = TimeSpan.Zero;
        if (value.Length != 1)
        {
            return AttError.InvalidAttributeValueLength;
        }

        switch ((OtaOpcode)value[0])
        {
            case OtaOpcode.Request:
                HandleRequest();
                break;
            case OtaOpcode.Done:
                HandleDone();
                break;
            default:
                ControlValue = value[0];
                break;
        }

        return AttError.None;
    }

    public byte OnDataWrite(ReadOnlySpan<byte> value)
    {
        Busy = TimeSpan.Zero;
        if (_state == State.Idle)
        {
            // While idle the only data write is the packet size that precedes REQUEST.
            if (value.Length != 2)
            {
                return AttError.WriteNotPermitted;
            }

            _packetSize = BinaryPrimitives.ReadUInt16LittleEndian(value);
            return AttError.None;
        }

        if (value.Length == 0 || value.Length > _packetSize)
        {
            return AttError.InvalidAttributeValueLength;
        }

        if (!flash.Write(value, out var busy))
        {
            flash.Abort();
            _state = State.Idle;
            return AttError.Unlikely;
        }

        Busy = busy;
        return AttError.None;
    }

    private void HandleRequest()
    {
        if (_state == State.Updating)
        {
            flash.Abort(); // a second REQUEST starts over rather than leaving a half-open update
        }

        if (faults.IgnoreRequest)
        {
            return;
        }

        bool sizeOk = _packetSize > 0 && _packetSize <= Math.Min(maxPacketSize, _negotiatedPayload);
        if (faults.RejectRequest || !sizeOk)
        {
            _state = State.Idle;
            Notify(OtaOpcode.RequestNak);
            return;
        }

        Busy = flash.Begin();
        _state = State.Updating;
        Notify(OtaOpcode.RequestAck);
    }

    private void HandleDone()
    {
        if (faults.IgnoreDone)
        {
            return;
        }

        if (_state != State.Updating || flash.Written == 0)
        {
            flash.Abort();
            _state = State.Idle;
            Notify(OtaOpcode.DoneNak);
            return;
        }

        _state = State.Idle;
        string? problem = flash.End(out var busy);
        Busy = busy;
        Notify(problem is null ? OtaOpcode.DoneAck : OtaOpcode.DoneNak);
        RestartPending = problem is null;
    }

    private void Notify(OtaOpcode opcode)
    {
        ControlValue = (byte)opcode;
        Notifications.Enqueue([(byte)opcode]);
    }
}
