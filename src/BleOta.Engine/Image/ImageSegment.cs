namespace BleOta.Engine.Image;

/// <summary>One segment: where it loads, how long it is, and where its data starts in the file.</summary>
public sealed record ImageSegment(uint LoadAddress, int Length, int FileOffset);
