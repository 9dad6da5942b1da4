namespace BleOta.Engine.Image;

/// <summary>
/// The <c>esp_app_desc_t</c> an ESP-IDF build places at the start of the first segment: what the app calls itself.
/// </summary>
public sealed record AppDescription(
    string Version,
    string ProjectName,
    string IdfVersion,
    string CompileDate,
    string CompileTime,
    uint SecureVersion,
    byte[] ElfSha256)
{
    public const uint MagicWord = 0xABCD5432;
    public const int Size = 256;

    internal static AppDescription? TryParse(ReadOnlySpan<byte> data)
    {
        if (data.Length < Size || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data) != MagicWord)
        {
            return null;
        }

        return new AppDescription(
            Version: ImageFormat.ReadCString(data.Slice(16, 32)),
            ProjectName: ImageFormat.ReadCString(data.Slice(48, 32)),
            CompileTime: ImageFormat.ReadCString(data.Slice(80, 16)),
            CompileDate: ImageFormat.ReadCString(data.Slice(96, 16)),
            IdfVersion: ImageFormat.ReadCString(data.Slice(112, 32)),
            SecureVersion: System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[4..]),
            ElfSha256: data.Slice(144, 32).ToArray());
    }

    public bool Equals(AppDescription? other) =>
        other is not null && Version == other.Version && ProjectName == other.ProjectName && IdfVersion == other.IdfVersion
        && CompileDate == other.CompileDate && CompileTime == other.CompileTime && SecureVersion == other.SecureVersion
        && ElfSha256.AsSpan().SequenceEqual(other.ElfSha256);

    public override int GetHashCode() => HashCode.Combine(Version, ProjectName, IdfVersion, SecureVersion);
}
