namespace BleOta.Engine.Session;

/// <summary>What an update put on air for the image.</summary>
public enum OtaTransfer
{
    /// <summary>The image as it is (protocol v1, or v2 without compression).</summary>
    Full = 0,

    /// <summary>The image deflate-compressed (v2, a device built with compression).</summary>
    Compressed = 1,

    /// <summary>A delta patch against the image the device ran (v2).</summary>
    Delta = 2,
}
