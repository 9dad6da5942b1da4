using System.Management.Automation;
using BleOta.Engine.Image;

namespace BleOta;

/// <summary>
/// Reads ESP32 app images and shows what a device would get: chip, project, version, IDF version, size, SHA-256
/// and whether the bootloader would accept it. Damaged files are shown as invalid (with the reason), not as errors,
/// so a folder can be checked at a glance before flashing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "Esp32Image", DefaultParameterSetName = PathSet)]
[OutputType(typeof(FirmwareImageInfo))]
public sealed class GetEsp32Image : PSCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private ImageResolver? _images;

    /// <summary>The firmware files to read; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>The firmware files, taken exactly as written; bound from Get-ChildItem output.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    protected override void BeginProcessing() => _images = new ImageResolver(this);

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var image in _images!.Read(literal ? LiteralPath! : Path!, literal))
        {
            foreach (var diagnostic in image.Diagnostics)
            {
                WriteDebug($"{image.Path}: {diagnostic}");
            }

            // PSPath, as providers add it to files: piped to Invoke-Esp32Ota, the image binds to -LiteralPath.
            var info = PSObject.AsPSObject(FirmwareImageInfo.From(image));
            info.Properties.Add(new PSNoteProperty("PSPath", image.Path));
            WriteObject(info);
        }
    }
}
