namespace BleOta.Engine.Image;

/// <summary>
/// What an admin checks before flashing a file: what <c>Get-Esp32Image</c> emits. A summary, without the bytes,
/// so it is cheap to list many files and to send back from remote gateways.
/// </summary>
public sealed record FirmwareImageInfo(
    string? Path,
    ImageKind Kind,
    EspChip Chip,
    string? ProjectName,
    string? Version,
    string? IdfVersion,
    string? CompileDate,
    string? CompileTime,
    long Size,
    string Sha256,
    bool IsValid,
    IReadOnlyList<ImageDiagnostic> Diagnostics)
{
    /// <summary>The file name without its folder.</summary>
    public string? Name => Path is null ? null : System.IO.Path.GetFileName(Path);

    /// <summary>The chip as Espressif writes it ("ESP32-S3").</summary>
    public string ChipName => Chip == EspChip.Invalid ? "unknown" : Chip.ToDisplayName();

    /// <summary>The first error, or null for a valid image: why the device would refuse it.</summary>
    public string? Problem => Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error)?.Message;

    public static FirmwareImageInfo From(FirmwareImage image) => new(
        image.Path, image.Kind, image.Chip, image.App?.ProjectName, image.Version, image.App?.IdfVersion, image.App?.CompileDate, image.App?.CompileTime,
        image.Length, Convert.ToHexString(image.FileSha256), image.IsValid, image.Diagnostics);
}
