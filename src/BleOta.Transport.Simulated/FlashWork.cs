namespace BleOta.Transport.Simulated;

/// <summary>How firmware erases its OTA slot while an image arrives.</summary>
public enum EraseMode
{
    /// <summary>
    /// Each 4 KB sector when the data first enters it: <c>esp_ota_begin(OTA_WITH_SEQUENTIAL_WRITES)</c> and
    /// <c>esp_ota_write</c>'s own erasing (esp-idf components/app_update/esp_ota_ops.c). The tutorial's firmware,
    /// and BleOta's before it erased ahead in blocks.
    /// </summary>
    Sectors,

    /// <summary>
    /// Each 64 KB block before the data enters it, the first one with the first bytes once they are judged an
    /// app (port/ble_ota_flash.c, ble_ota_flash_append, with CONFIG_BLE_OTA_SEQUENTIAL_ERASE): one block erase
    /// instead of sixteen sector erases.
    /// </summary>
    Blocks,
}

/// <summary>
/// What one step of the firmware's flash work costs. An erase, programming or a read stalls the CPU unless the flash
/// is auto-suspended; <paramref name="IsHash"/> is the writer hashing what it wrote, on the CPU and the SHA
/// accelerator, which never stalls anything.
/// </summary>
public readonly record struct FlashOp(bool IsErase, TimeSpan Duration, bool IsRead = false, bool IsHash = false);

/// <summary>
/// The flash work of one update in the order the firmware issues it, timed from the part's datasheet figures:
/// erases as <see cref="EraseMode"/> says, then <c>esp_flash_write</c>'s programming in slices of at most
/// 64 bytes that never cross a 256-byte page (SPI_FLASH_HAL_MAX_WRITE_BYTES, memspi_host_write_data_slicer in
/// esp-idf components/spi_flash). Timing only: <see cref="SimulatedFlash"/> keeps the bits.
/// </summary>
public sealed class FlashWork(FlashChip chip, EraseMode mode, int slotSize, double slowdown = 1)
{
    public const int SectorSize = 4096;
    public const int BlockSize = 64 * 1024;
    public const int PageSize = 256;
    public const int MaxProgramBytes = 64;

    /// <summary>
    /// <c>esp_partition_read</c> of the running image (the base of a delta patch): SPI1 moves 64 bytes per
    /// transaction (SOC_SPI_MAXIMUM_BUFFER_SIZE, esp32 soc_caps.h) in 280 clocks at ESP-IDF's default 40 MHz DIO
    /// (8 command, 12 address, 4 dummy, 256 data), 9.1 MB/s on the wire; half of it is charged for the driver's
    /// work around each transaction.
    /// </summary>
    public const double PartitionReadBytesPerSecond = 4_500_000;

    private int _erasedUpTo;
    private int _written;

    /// <summary>The next <paramref name="length"/> image bytes (one <c>esp_ota_write</c>): the erases they need first, then their programming.</summary>
    public IReadOnlyList<FlashOp> Append(int length)
    {
        var ops = new List<FlashOp>();
        if (length <= 0)
        {
            return ops;
        }

        int offset = _written;
        _written += length;
        EraseUpTo(offset + length, ops);
        var program = TimeSpan.Zero;
        for (int at = offset, end = offset + length; at < end;)
        {
            int slice = Math.Min(Math.Min(MaxProgramBytes, PageSize - at % PageSize), end - at);
            program += chip.ProgramCommand(slice);
            at += slice;
        }

        ops.Add(new FlashOp(false, program * slowdown));
        return ops;
    }

    /// <summary>
    /// Reading <paramref name="bytes"/> of the running partition (a delta patch's base) through SPI1: the caches
    /// are off meanwhile unless CONFIG_SPI_FLASH_AUTO_SUSPEND (spi_flash_os_func_app.c, spi1_start).
    /// </summary>
    public FlashOp Read(long bytes) => new(false, TimeSpan.FromSeconds(bytes * slowdown / PartitionReadBytesPerSecond), IsRead: true);

    private void EraseUpTo(int end, List<FlashOp> ops)
    {
        int unit = mode == EraseMode.Blocks ? BlockSize : SectorSize;
        while (_erasedUpTo < end && _erasedUpTo < slotSize)
        {
            // A block that would run past the slot is erased sector by sector, as esp_partition_erase_range does.
            bool whole = unit == BlockSize && _erasedUpTo + BlockSize <= slotSize;
            ops.Add(new FlashOp(true, (whole ? chip.BlockErase : chip.SectorErase) * slowdown));
            _erasedUpTo += whole ? BlockSize : SectorSize;
        }
    }
}
