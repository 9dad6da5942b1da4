namespace BleOta.Transport.Simulated;

/// <summary>
/// The typical timings of a SPI NOR flash part from its datasheet's AC characteristics (docs/link-model.md
/// cites each), and whether it can suspend an erase or program so the CPU keeps reading code from it.
/// </summary>
public sealed record FlashChip
{
    public required string Name { get; init; }

    /// <summary>4 KB sector erase (tSE).</summary>
    public required TimeSpan SectorErase { get; init; }

    /// <summary>64 KB block erase (tBE2).</summary>
    public required TimeSpan BlockErase { get; init; }

    /// <summary>Programming the first byte of a page-program command (tBP1).</summary>
    public required TimeSpan FirstByteProgram { get; init; }

    /// <summary>Programming each further byte of the same command (tBP2).</summary>
    public required TimeSpan AdditionalByteProgram { get; init; }

    /// <summary>A whole 256-byte page (tPP): the ceiling of one program command.</summary>
    public required TimeSpan PageProgram { get; init; }

    /// <summary>
    /// True for parts ESP-IDF can auto-suspend (its list: XM25QxxC, GD25QxxE, FM25Q32): with
    /// CONFIG_SPI_FLASH_AUTO_SUSPEND the caches stay on while it erases or programs.
    /// </summary>
    public bool SupportsSuspend { get; init; }

    /// <summary>Winbond W25Q32JV, the 4 MB part on many ESP32 modules; it is not on IDF's auto-suspend list.</summary>
    public static FlashChip W25Q32JV { get; } = new()
    {
        Name = "W25Q32JV",
        SectorErase = TimeSpan.FromMilliseconds(45),
        BlockErase = TimeSpan.FromMilliseconds(150),
        FirstByteProgram = TimeSpan.FromMicroseconds(30),
        AdditionalByteProgram = TimeSpan.FromTicks(25), // 2.5 µs
        PageProgram = TimeSpan.FromMicroseconds(400),
    };

    /// <summary>The W25Q32JV at its datasheet maxima (worn cells, temperature): for the worst case.</summary>
    public static FlashChip W25Q32JVMaximum { get; } = W25Q32JV with
    {
        Name = "W25Q32JV (maximum times)",
        SectorErase = TimeSpan.FromMilliseconds(400),
        BlockErase = TimeSpan.FromMilliseconds(2000),
        FirstByteProgram = TimeSpan.FromMicroseconds(50),
        AdditionalByteProgram = TimeSpan.FromMicroseconds(12),
        PageProgram = TimeSpan.FromMilliseconds(3),
    };

    /// <summary>
    /// A part on IDF's auto-suspend list (GD25QxxE class). Its figures are taken as the W25Q32JV's: the model
    /// charges the same erase and program work, only without stalling the CPU.
    /// </summary>
    public static FlashChip SuspendCapable { get; } = W25Q32JV with { Name = "GD25QxxE-class (suspend)", SupportsSuspend = true };

    /// <summary>
    /// One program command of <paramref name="bytes"/> within a page: tBP1 + tBP2 × (bytes − 1), at most tPP
    /// (the datasheet's formula for a partial page).
    /// </summary>
    public TimeSpan ProgramCommand(int bytes)
    {
        var time = FirstByteProgram + AdditionalByteProgram * Math.Max(0, bytes - 1);
        return time < PageProgram ? time : PageProgram;
    }
}
