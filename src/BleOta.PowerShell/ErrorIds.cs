using System.Management.Automation;
using BleOta.Engine.Protocol;

namespace BleOta;

/// <summary>
/// Every ErrorId the cmdlets write, in one place. They are part of the module's contract: scripts match on
/// <c>FullyQualifiedErrorId</c>, and tests/Pester pins them.
/// </summary>
internal static class ErrorIds
{
    public const string ImageNotFound = nameof(ImageNotFound);
    public const string ImagePathIsDirectory = nameof(ImagePathIsDirectory);
    public const string ImageEmpty = nameof(ImageEmpty);
    public const string ImageNotEsp = nameof(ImageNotEsp);
    public const string ImageNotApp = nameof(ImageNotApp);
    public const string ImageDamaged = nameof(ImageDamaged);
    public const string ImageUnreadable = nameof(ImageUnreadable);
    public const string DeviceAlreadyQueued = nameof(DeviceAlreadyQueued);
    public const string TransportUnavailable = nameof(TransportUnavailable);
    public const string UnknownLinkProfile = nameof(UnknownLinkProfile);

    /// <summary>The ErrorId and category of an engine failure.</summary>
    public static (string Id, ErrorCategory Category) For(OtaErrorCode code) => code switch
    {
        OtaErrorCode.DeviceNotFound => ("DeviceNotFound", ErrorCategory.ObjectNotFound),
        OtaErrorCode.NotAnOtaDevice => ("NotAnOtaDevice", ErrorCategory.InvalidOperation),
        OtaErrorCode.ImageWrongChip => ("ImageWrongChip", ErrorCategory.InvalidData),
        OtaErrorCode.ImageNotAnApp => ("ImageNotAnApp", ErrorCategory.InvalidData),
        OtaErrorCode.ImageTooLarge => ("ImageTooLarge", ErrorCategory.LimitsExceeded),
        OtaErrorCode.RequestRejected => ("DeviceRejectedRequest", ErrorCategory.ResourceUnavailable),
        OtaErrorCode.ImageRejected => ("DeviceRejectedImage", ErrorCategory.InvalidResult),
        OtaErrorCode.FlashFailed => ("DeviceFlashFailed", ErrorCategory.WriteError),
        OtaErrorCode.DeviceBusy => ("DeviceBusy", ErrorCategory.ResourceBusy),
        OtaErrorCode.PairingRequired => ("DevicePairingRequired", ErrorCategory.SecurityError),
        OtaErrorCode.AckTimeout => ("AckTimeout", ErrorCategory.OperationTimeout),
        OtaErrorCode.Disconnected => ("DeviceDisconnected", ErrorCategory.ConnectionError),
        OtaErrorCode.TransportError => ("TransportError", ErrorCategory.ConnectionError),
        OtaErrorCode.RestartTimeout => ("RestartTimeout", ErrorCategory.OperationTimeout),
        OtaErrorCode.RolledBack => ("DeviceRolledBack", ErrorCategory.InvalidResult),
        OtaErrorCode.ProtocolNotSupported => ("ProtocolNotSupported", ErrorCategory.NotImplemented),
        _ => (code.ToString(), ErrorCategory.NotSpecified),
    };
}
