using System.Management.Automation;
using BleOta.Engine.Protocol;

namespace BleOta;

/// <summary>
/// Every ErrorId the cmdlets write, in one place. They are part of the module's contract: scripts match on
/// <c>FullyQualifiedErrorId</c>, and tests/Pester pins them. Grouped by what went wrong; a device's failures during
/// an update come from the engine's <see cref="OtaErrorCode"/> through <see cref="For"/>.
/// </summary>
internal static class ErrorIds
{
    // The image file, checked before any device is touched.
    public const string ImageNotFound = nameof(ImageNotFound);
    public const string ImagePathIsDirectory = nameof(ImagePathIsDirectory);
    public const string ImageEmpty = nameof(ImageEmpty);
    public const string ImageNotEsp = nameof(ImageNotEsp);
    public const string ImageNotAnApp = nameof(ImageNotAnApp);
    public const string ImageDamaged = nameof(ImageDamaged);
    public const string ImageUnreadable = nameof(ImageUnreadable);
    public const string AmbiguousImage = nameof(AmbiguousImage);

    // How devices and sessions were named.
    public const string DeviceAlreadyQueued = nameof(DeviceAlreadyQueued);
    public const string SessionNotFound = nameof(SessionNotFound);

    // This computer's radio, and the simulator's settings.
    public const string TransportUnavailable = nameof(TransportUnavailable);
    public const string AdapterNotFound = nameof(AdapterNotFound);
    public const string AdapterNotSupported = nameof(AdapterNotSupported);
    public const string UnknownLinkProfile = nameof(UnknownLinkProfile);

    /// <summary>The ErrorId and category of an engine failure.</summary>
    public static (string Id, ErrorCategory Category) For(OtaErrorCode code) => code switch
    {
        // Reaching the device.
        OtaErrorCode.DeviceNotFound => ("DeviceNotFound", ErrorCategory.ObjectNotFound),
        OtaErrorCode.DeviceInUse => ("DeviceInUse", ErrorCategory.ResourceBusy),
        OtaErrorCode.RadioUnavailable => (TransportUnavailable, ErrorCategory.ResourceUnavailable),
        OtaErrorCode.NotAnOtaDevice => ("NotAnOtaDevice", ErrorCategory.InvalidOperation),
        OtaErrorCode.PairingRequired => ("DevicePairingRequired", ErrorCategory.SecurityError),
        OtaErrorCode.ProtocolNotSupported => ("ProtocolNotSupported", ErrorCategory.NotImplemented),

        // The image against what the device reports.
        OtaErrorCode.ImageWrongChip => ("ImageWrongChip", ErrorCategory.InvalidData),
        OtaErrorCode.ImageNotAnApp => (ImageNotAnApp, ErrorCategory.InvalidData),
        OtaErrorCode.ImageTooLarge => ("ImageTooLarge", ErrorCategory.LimitsExceeded),

        // What the device answered.
        OtaErrorCode.RequestRejected => ("DeviceRejectedRequest", ErrorCategory.ResourceUnavailable),
        OtaErrorCode.ImageRejected => ("DeviceRejectedImage", ErrorCategory.InvalidResult),
        OtaErrorCode.FlashFailed => ("DeviceFlashFailed", ErrorCategory.WriteError),
        OtaErrorCode.DeviceBusy => ("DeviceBusy", ErrorCategory.ResourceBusy),

        // The link during the update.
        OtaErrorCode.AckTimeout => ("AckTimeout", ErrorCategory.OperationTimeout),
        OtaErrorCode.Disconnected => ("DeviceDisconnected", ErrorCategory.ConnectionError),
        OtaErrorCode.TransportError => ("TransportError", ErrorCategory.ConnectionError),

        // After the device took the image (-Verify).
        OtaErrorCode.RestartTimeout => ("RestartTimeout", ErrorCategory.OperationTimeout),
        OtaErrorCode.RolledBack => ("DeviceRolledBack", ErrorCategory.InvalidResult),
        _ => (code.ToString(), ErrorCategory.NotSpecified),
    };
}
