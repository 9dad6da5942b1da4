namespace BleOta.Engine.Image;

/// <summary>The <c>chip_id</c> field of an ESP app image header (<c>esp_chip_id_t</c>).</summary>
public enum EspChip : ushort
{
    Esp32 = 0x0000,
    Esp32S2 = 0x0002,
    Esp32C3 = 0x0005,
    Esp32S3 = 0x0009,
    Esp32C2 = 0x000C,
    Esp32C6 = 0x000D,
    Esp32H2 = 0x0010,
    Esp32P4 = 0x0012,
    Esp32C61 = 0x0014,
    Esp32C5 = 0x0017,
    Invalid = 0xFFFF,
}

public static class EspChipNames
{
    /// <summary>The name Espressif uses ("ESP32-S3"), or the raw id for a chip this version does not know.</summary>
    public static string ToDisplayName(this EspChip chip) => chip switch
    {
        EspChip.Esp32 => "ESP32",
        EspChip.Esp32S2 => "ESP32-S2",
        EspChip.Esp32C3 => "ESP32-C3",
        EspChip.Esp32S3 => "ESP32-S3",
        EspChip.Esp32C2 => "ESP32-C2",
        EspChip.Esp32C6 => "ESP32-C6",
        EspChip.Esp32H2 => "ESP32-H2",
        EspChip.Esp32P4 => "ESP32-P4",
        EspChip.Esp32C61 => "ESP32-C61",
        EspChip.Esp32C5 => "ESP32-C5",
        _ => $"chip id 0x{(ushort)chip:X4}",
    };
}
