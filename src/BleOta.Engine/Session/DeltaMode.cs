namespace BleOta.Engine.Session;

/// <summary>Whether an update may send a delta patch against the image the device runs.</summary>
public enum DeltaMode
{
    /// <summary>A patch when the device takes them, its running image is found and the patch is clearly smaller; else the whole image.</summary>
    Auto = 0,

    /// <summary>Always the whole image.</summary>
    Off = 1,
}
