using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BleOta.Engine.Image;

/// <summary>
/// Writes the merged flash image <c>esptool merge_bin</c> (and <c>idf.py merge-bin</c>) makes for writing a whole
/// device at offset 0: 0xFF up to the chip's bootloader offset, the bootloader, 0xFF up to the partition table at
/// 0x8000, the table, 0xFF up to 0x10000 and the app (<c>merge_bin</c> in esptool's <c>cmds.py</c>: each file at its
/// flash address, gaps padded with 0xFF from <c>target_offset</c>, 0 by default). The tests use it to check such a
/// file is refused.
/// </summary>
public static class EspFlashImageBuilder
{
    private const int PartitionTableSize = 0xC00;

    /// <summary>Bootloader at the chip's bootloader offset, the partition table at 0x8000, the app at 0x10000.</summary>
    /// <param name="chip">The chip, which decides where the bootloader goes.</param>
    /// <param name="bootloader">The bootloader image.</param>
    /// <param name="app">The app image.</param>
    /// <param name="startOffset">The flash address the file starts at (<c>merge_bin --target-offset</c>).</param>
    public static byte[] Merge(EspChip chip, byte[] bootloader, byte[] app, int startOffset = 0)
    {
        var map = EspMemoryMap.For(chip) ?? throw new ArgumentException($"No memory map for {chip.ToDisplayName()}.");
        var table = PartitionTable(appSlotSize: 0x1E0000);
        var merged = new byte[EspMemoryMap.FirstAppOffset + app.Length - startOffset];
        merged.AsSpan().Fill(0xFF);
        bootloader.CopyTo(merged, map.BootloaderOffset - startOffset);
        table.CopyTo(merged, EspMemoryMap.PartitionTableOffset - startOffset);
        app.CopyTo(merged, EspMemoryMap.FirstAppOffset - startOffset);
        return merged;
    }

    /// <summary>
    /// The binary partition table of firmware/partitions.csv as ESP-IDF's gen_esp32part.py writes it: one 32-byte
    /// entry per partition (magic AA 50, type, subtype, offset, size, 16-byte name, flags), an MD5 entry (EB EB,
    /// 14 bytes 0xFF, the MD5 of the entries), 0xFF to 0xC00.
    /// </summary>
    private static byte[] PartitionTable(int appSlotSize)
    {
        (string Name, byte Type, byte Subtype, int Offset, int Size)[] partitions =
        [
            ("nvs", 0x01, 0x02, 0x9000, 0x4000),
            ("otadata", 0x01, 0x00, 0xD000, 0x2000),
            ("phy_init", 0x01, 0x01, 0xF000, 0x1000),
            ("ota_0", 0x00, 0x10, EspMemoryMap.FirstAppOffset, appSlotSize),
            ("ota_1", 0x00, 0x11, EspMemoryMap.FirstAppOffset + appSlotSize, appSlotSize),
        ];
        var table = new byte[PartitionTableSize];
        table.AsSpan().Fill(0xFF);
        int at = 0;
        foreach (var (name, type, subtype, offset, size) in partitions)
        {
            var entry = table.AsSpan(at, 32);
            ImageFormat.PartitionEntryMagic.CopyTo(entry);
            entry[2] = type;
            entry[3] = subtype;
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], (uint)offset);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)size);
            entry.Slice(12, 16).Clear();
            ImageFormat.WriteCString(entry.Slice(12, 16), name);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[28..], 0);
            at += 32;
        }

        table[at] = table[at + 1] = 0xEB;
        MD5.HashData(table.AsSpan(0, at)).CopyTo(table, at + 16);
        return table;
    }
}
