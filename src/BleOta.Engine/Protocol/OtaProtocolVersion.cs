namespace BleOta.Engine.Protocol;

/// <summary>Which wire protocol a session uses. Auto picks the fastest one the device offers.</summary>
public enum OtaProtocolVersion
{
    Auto = 0,
    V1 = 1,
    V2 = 2,
}
