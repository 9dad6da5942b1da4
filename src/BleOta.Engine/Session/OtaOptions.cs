using BleOta.Engine.Delta;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

public sealed record OtaOptions
{
    public OtaProtocolVersion Protocol { get; init; } = OtaProtocolVersion.Auto;

    public OtaTimeouts Timeouts { get; init; } = OtaTimeouts.Default;

    /// <summary>The ATT MTU asked for; the link may settle lower.</summary>
    public int PreferredMtu { get; init; } = 517;

    /// <summary>After the device acknowledges the image, wait for it to restart and check it runs the new version.</summary>
    public bool Verify { get; init; }

    /// <summary>Leave a device alone when its Info says it already runs the image's project and version.</summary>
    public bool SkipIfCurrent { get; init; }

    /// <summary>Where the update explains what it does.</summary>
    public IOtaLog Log { get; init; } = NullOtaLog.Instance;

    /// <summary>v2: send the image deflate-compressed when the device's Info says it can inflate.</summary>
    public bool AllowCompression { get; init; } = true;

    /// <summary>v2: how many times a dropped link is reconnected to resume from the device's offset before the update fails.</summary>
    public int MaxReconnects { get; init; } = 3;

    /// <summary>v2: send a delta patch against the image the device runs when that image is found and the patch pays (Auto), or never (Off).</summary>
    public DeltaMode Delta { get; init; } = DeltaMode.Auto;

    /// <summary>Where to look for the image a device runs, before the cache: image files, or folders of past builds (searched for *.bin).</summary>
    public IReadOnlyList<string> BaseImages { get; init; } = [];

    /// <summary>Images sent before, by SHA-256: where bases are looked for, and where every image a successful update sent is kept. Null: none.</summary>
    public BaseImageCache? ImageCache { get; init; }

    public static OtaOptions Default { get; } = new();
}
