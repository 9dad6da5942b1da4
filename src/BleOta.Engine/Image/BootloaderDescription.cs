using System.Buffers.Binary;

namespace BleOta.Engine.Image;

/// <summary>
/// The <c>esp_bootloader_desc_t</c> that ESP-IDF (v5.2 and later) places at the start of the bootloader's first DRAM
/// segment (<c>components/esp_bootloader_format/include/esp_bootloader_desc.h</c>): what tells a bootloader apart.
/// </summary>
public sealed record BootloaderDescription(uint Version, string IdfVersion, string CompileDateTime)
{
    /// <summary><c>ESP_BOOTLOADER_DESC_MAGIC_BYTE</c>.</summary>
    public const byte MagicByte = 0x50;
    public const int Size = 80;

    internal static BootloaderDescription? TryParse(ReadOnlySpan<byte> data)
    {
        // magic_byte, reserved[3], version, idf_ver[32], date_time[24], reserved2[16].
        if (data.Length < Size || data[0] != MagicByte)
        {
            return null;
        }

        string idfVersion = ImageFormat.ReadCString(data.Slice(8, 32));
        return idfVersion.StartsWith('v')
            ? new BootloaderDescription(BinaryPrimitives.ReadUInt32LittleEndian(data[4..]), idfVersion, ImageFormat.ReadCString(data.Slice(40, 24)))
            : null;
    }

    internal byte[] ToBytes()
    {
        var desc = new byte[Size];
        desc[0] = MagicByte;
        BinaryPrimitives.WriteUInt32LittleEndian(desc.AsSpan(4), Version);
        ImageFormat.WriteCString(desc.AsSpan(8, 32), IdfVersion);
        ImageFormat.WriteCString(desc.AsSpan(40, 24), CompileDateTime);
        return desc;
    }
}
