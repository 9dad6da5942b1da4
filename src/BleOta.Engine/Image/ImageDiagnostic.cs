namespace BleOta.Engine.Image;

public enum DiagnosticSeverity
{
    Warning,
    Error,
}

/// <summary>Stable identifiers for what can be wrong with an image.</summary>
public enum ImageProblem
{
    Empty,
    Truncated,
    BadMagic,
    BadSegment,
    ChecksumMismatch,
    HashMismatch,
    NoAppDescription,
    UnknownChip,

    /// <summary>A bootloader, not an app.</summary>
    Bootloader,

    /// <summary>An app built to run from RAM only, which cannot boot from an OTA slot.</summary>
    RamOnlyApp,

    /// <summary>A merged flash image (bootloader, partition table, app) for writing at flash offset 0.</summary>
    MergedFlashImage,
}

/// <summary>One problem found in an image, with the byte offset it concerns.</summary>
public sealed record ImageDiagnostic(DiagnosticSeverity Severity, ImageProblem Problem, long Offset, string Message)
{
    public override string ToString() => $"{Severity} at 0x{Offset:X}: {Message}";
}
