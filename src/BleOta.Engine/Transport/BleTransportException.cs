namespace BleOta.Engine.Transport;

/// <summary>The transport could not do what was asked: no adapter, device gone, GATT error.</summary>
public class BleTransportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The peripheral rejected a GATT operation with an ATT error code.</summary>
public sealed class BleAttException(byte attError, string message) : BleTransportException(message)
{
    public byte AttError { get; } = attError;
}

/// <summary>
/// The link to the peripheral is gone: it disconnected, or the OS closed the path to it (a write socket, the
/// D-Bus connection). Nothing the device decided: a v2 update resumes after reconnecting.
/// </summary>
public sealed class BleLinkLostException(string message, Exception? inner = null) : BleTransportException(message, inner);
