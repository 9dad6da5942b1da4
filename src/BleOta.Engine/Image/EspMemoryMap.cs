namespace BleOta.Engine.Image;

/// <summary>
/// Where a chip maps flash into its address space, and where its bootloader sits in flash. An app runs its code and
/// read-only data from flash through the cache, so an app image has segments loaded at flash-mapped (IROM/DROM)
/// addresses; a bootloader, or an app built to run from RAM only, has none, because the ROM copies every segment into
/// internal RAM. The figures are esptool's: <c>IROM_MAP_START/END</c>, <c>DROM_MAP_START/END</c> and
/// <c>BOOTLOADER_FLASH_OFFSET</c> of each chip class in <c>esptool/targets/&lt;chip&gt;.py</c> (inherited where a class
/// does not override them: ESP32-H2 and ESP32-C61 take ESP32-C6's, ESP32-C2 ESP32-C3's, ESP32-S2 ESP32's offset).
/// <see cref="Dram"/> and <see cref="Iram"/> are an address inside the chip's DRAM and IRAM regions of the same files'
/// <c>MEMORY_MAP</c>, where the image builder puts RAM segments.
/// </summary>
public sealed record EspMemoryMap(uint IromStart, uint IromEnd, uint DromStart, uint DromEnd, int BootloaderOffset, uint Dram, uint Iram)
{
    /// <summary>Where ESP-IDF puts the partition table (<c>CONFIG_PARTITION_TABLE_OFFSET</c>, default 0x8000).</summary>
    public const int PartitionTableOffset = 0x8000;

    /// <summary>Where ESP-IDF's default partition tables put the first app (<c>factory</c> or <c>ota_0</c>).</summary>
    public const int FirstAppOffset = 0x10000;

    /// <summary>The map of <paramref name="chip"/>, or null for a chip this version does not know.</summary>
    public static EspMemoryMap? For(EspChip chip) => chip switch
    {
        EspChip.Esp32 => new(0x400D0000, 0x40400000, 0x3F400000, 0x3F800000, 0x1000, 0x3FFB0000, 0x40080000),
        EspChip.Esp32S2 => new(0x40080000, 0x40B80000, 0x3F000000, 0x3F3F0000, 0x1000, 0x3FFB0000, 0x40020000),
        EspChip.Esp32S3 => new(0x42000000, 0x44000000, 0x3C000000, 0x3E000000, 0x0, 0x3FC88000, 0x40370000),
        EspChip.Esp32C2 => new(0x42000000, 0x42400000, 0x3C000000, 0x3C400000, 0x0, 0x3FCA0000, 0x4037C000),
        EspChip.Esp32C3 => new(0x42000000, 0x42800000, 0x3C000000, 0x3C800000, 0x0, 0x3FC80000, 0x4037C000),
        EspChip.Esp32C6 or EspChip.Esp32H2 or EspChip.Esp32C61 => new(0x42000000, 0x42800000, 0x42800000, 0x43000000, 0x0, 0x40800000, 0x40810000),
        EspChip.Esp32C5 => new(0x42000000, 0x44000000, 0x42000000, 0x44000000, 0x2000, 0x40800000, 0x40810000),
        EspChip.Esp32P4 => new(0x40000000, 0x4C000000, 0x40000000, 0x4C000000, 0x2000, 0x4FF00000, 0x4FF10000),
        _ => null,
    };

    /// <summary>True when code or data at <paramref name="address"/> is read from flash through the cache (esptool's <c>is_flash_addr</c>).</summary>
    public bool IsFlashMapped(uint address) =>
        (address >= IromStart && address < IromEnd) || (address >= DromStart && address < DromEnd);
}
