namespace BleOta.Engine.Protocol;

/// <summary>The one-byte values written to and notified on OTA Control.</summary>
public enum OtaOpcode : byte
{
    Nop = 0x00,
    Request = 0x01,
    RequestAck = 0x02,
    RequestNak = 0x03,
    Done = 0x04,
    DoneAck = 0x05,
    DoneNak = 0x06,
}
