namespace BleOta.Engine.Transport;

/// <summary>What kind of failure a transport met, so each can be reported with its own advice.</summary>
public enum BleTransportFailure
{
    /// <summary>Anything else: a GATT step failed, the link dropped.</summary>
    Other,

    /// <summary>No device with the address answered: off, out of range, or not advertising.</summary>
    DeviceNotFound,

    /// <summary>The device is connected to another client, so it takes no new connection.</summary>
    DeviceInUse,

    /// <summary>The radio cannot work: no adapter, powered off, the Bluetooth stack not running, access denied.</summary>
    RadioUnavailable,
}

/// <summary>The transport could not do what was asked: no adapter, device gone, GATT error.</summary>
public class BleTransportException(string message, Exception? inner = null, BleTransportFailure failure = BleTransportFailure.Other) : Exception(message, inner)
{
    public BleTransportFailure Failure { get; } = failure;
}

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
