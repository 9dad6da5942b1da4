namespace BleOta.Engine.Protocol;

/// <summary>Why an update failed. Stable: the PowerShell layer maps each to an ErrorId.</summary>
public enum OtaErrorCode
{
    /// <summary>No device with the address answered: off, out of range, or not advertising.</summary>
    DeviceNotFound,

    /// <summary>The device is connected to another client (a phone app, another gateway), so it took no connection.</summary>
    DeviceInUse,

    /// <summary>This computer's radio cannot work: no adapter, powered off, Bluetooth stack not running, access denied.</summary>
    RadioUnavailable,

    /// <summary>The device has no OTA service.</summary>
    NotAnOtaDevice,

    /// <summary>The image is for a different chip than the device reports.</summary>
    ImageWrongChip,

    /// <summary>The file is an ESP image but not an app: a bootloader, a RAM-only image or a merged flash image.</summary>
    ImageNotAnApp,

    /// <summary>The image does not fit the device's OTA slot.</summary>
    ImageTooLarge,

    /// <summary>The device answered REQUEST with REQUEST_NAK.</summary>
    RequestRejected,

    /// <summary>The device answered DONE with DONE_NAK: it refused the image and keeps its firmware.</summary>
    ImageRejected,

    /// <summary>The device could not write its flash and aborted.</summary>
    FlashFailed,

    /// <summary>Another client is updating the device.</summary>
    DeviceBusy,

    /// <summary>The device requires an encrypted, bonded link and this computer is not paired with it.</summary>
    PairingRequired,

    /// <summary>No acknowledgement arrived in time.</summary>
    AckTimeout,

    /// <summary>The link dropped mid-update.</summary>
    Disconnected,

    /// <summary>A GATT operation failed.</summary>
    TransportError,

    /// <summary>After DONE_ACK the device did not restart and come back in time (-Verify).</summary>
    RestartTimeout,

    /// <summary>The device came back running its previous firmware: the new image failed its self-test (-Verify).</summary>
    RolledBack,

    /// <summary>The requested protocol version is not offered by the device.</summary>
    ProtocolNotSupported,
}

/// <summary>An update failed for a reason the user can act on.</summary>
public sealed class OtaException(OtaErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public OtaErrorCode Code { get; } = code;

    /// <summary>The v2 error code the device sent in its NAK, when this failure is one.</summary>
    public V2Error? DeviceError { get; init; }
}
