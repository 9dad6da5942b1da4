namespace BleOta.Engine.Protocol;

/// <summary>
/// The opcodes of OTA Control: v1 writes and notifies them as one byte; v2 messages start with them
/// (docs/protocol.md).
/// </summary>
public enum OtaOpcode : byte
{
    Nop = 0x00,
    Request = 0x01,
    RequestAck = 0x02,
    RequestNak = 0x03,
    Done = 0x04,
    DoneAck = 0x05,
    DoneNak = 0x06,

    /// <summary>v2: drop the update now.</summary>
    Abort = 0x07,

    /// <summary>v2: bytes accepted up to an offset, or resend from it.</summary>
    DataAck = 0x08,

    /// <summary>v2: the update was dropped; the device is idle on its firmware.</summary>
    AbortAck = 0x09,
}
