namespace BleOta.Engine.Delta;

/// <summary>
/// Target bytes [<see cref="TargetStart"/>, + <see cref="Length"/>) made from the base bytes at
/// <see cref="BaseStart"/>, each plus an add byte (zero where they are equal). Target bytes no copy covers are
/// inserted as they are.
/// </summary>
internal readonly record struct DeltaCopy(int TargetStart, int BaseStart, int Length)
{
    public int TargetEnd => TargetStart + Length;

    public int BaseEnd => BaseStart + Length;
}
