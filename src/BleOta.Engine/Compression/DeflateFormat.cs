namespace BleOta.Engine.Compression;

/// <summary>
/// The fixed tables of raw deflate (RFC 1951, 3.2.5 and 3.2.7), shared by the encoder and the simulator's model of the
/// firmware's inflater.
/// </summary>
public static class DeflateFormat
{
    /// <summary>The shortest match of each length code (257 + index).</summary>
    public static ReadOnlySpan<int> LengthBase => [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];

    /// <summary>Extra bits after each length code.</summary>
    public static ReadOnlySpan<int> LengthExtra => [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

    /// <summary>The shortest distance of each distance code.</summary>
    public static ReadOnlySpan<int> DistanceBase => [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];

    /// <summary>Extra bits after each distance code.</summary>
    public static ReadOnlySpan<int> DistanceExtra => [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

    /// <summary>The order in which a dynamic block sends its code length code lengths.</summary>
    public static ReadOnlySpan<int> CodeLengthOrder => [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
}
