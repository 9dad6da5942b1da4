using BleOta.Transport.Simulated;

namespace BleOta.Tests.Simulator;

/// <summary>The firmware's flash work, timed from the part's datasheet as ESP-IDF issues it.</summary>
public class FlashWorkTests
{
    private static readonly FlashChip Chip = FlashChip.W25Q32JV;

    [Fact]
    public void Blocks_mode_erases_each_64_kb_block_before_the_data_enters_it_the_first_with_the_first_bytes()
    {
        var work = new FlashWork(Chip, EraseMode.Blocks, SimulatedDevice.DefaultSlotSize);

        Assert.Single(work.Append(100), op => op.IsErase && op.Duration == Chip.BlockErase);
        Assert.DoesNotContain(work.Append(FlashWork.BlockSize - 100), op => op.IsErase);
        Assert.Single(work.Append(1), op => op.IsErase && op.Duration == Chip.BlockErase);
    }

    [Fact]
    public void Sectors_mode_erases_each_4_kb_sector_as_the_data_reaches_it_as_esp_ota_write_does()
    {
        var work = new FlashWork(Chip, EraseMode.Sectors, SimulatedDevice.DefaultSlotSize);

        Assert.Equal(16, work.Append(FlashWork.BlockSize).Count(op => op.IsErase && op.Duration == Chip.SectorErase));
    }

    [Fact]
    public void A_block_that_would_run_past_the_slot_is_erased_sector_by_sector()
    {
        var work = new FlashWork(Chip, EraseMode.Blocks, slotSize: FlashWork.BlockSize + 2 * FlashWork.SectorSize);
        work.Append(FlashWork.BlockSize);

        Assert.Equal(2, work.Append(2 * FlashWork.SectorSize).Count(op => op.IsErase && op.Duration == Chip.SectorErase));
    }

    [Fact]
    public void Programming_goes_in_64_byte_commands_that_never_cross_a_256_byte_page()
    {
        var work = new FlashWork(Chip, EraseMode.Blocks, SimulatedDevice.DefaultSlotSize);
        work.Append(200); // the next write starts 56 bytes before a page boundary

        var program = work.Append(128).Single();

        // 56 bytes to the page's end, then 64, then the last 8: three commands.
        Assert.Equal(Chip.ProgramCommand(56) + Chip.ProgramCommand(64) + Chip.ProgramCommand(8), program.Duration);
    }

    [Fact]
    public void A_command_costs_the_first_byte_and_each_further_byte_but_never_more_than_a_whole_page()
    {
        Assert.Equal(Chip.FirstByteProgram + Chip.AdditionalByteProgram * 63, Chip.ProgramCommand(64));
        Assert.Equal(Chip.PageProgram, Chip.ProgramCommand(256));
    }

    [Fact]
    public void A_slow_part_multiplies_every_operation()
    {
        var work = new FlashWork(Chip, EraseMode.Blocks, SimulatedDevice.DefaultSlotSize, slowdown: 20);

        var ops = work.Append(64);

        Assert.Equal([new FlashOp(true, Chip.BlockErase * 20), new FlashOp(false, Chip.ProgramCommand(64) * 20)], ops);
    }
}
