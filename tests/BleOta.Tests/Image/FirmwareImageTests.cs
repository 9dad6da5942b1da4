using System.Buffers.Binary;
using System.Security.Cryptography;
using BleOta.Engine.Image;
using BleOta.Tests.Support;

namespace BleOta.Tests.Image;

public class FirmwareImageTests
{
    [Fact]
    public void A_built_image_parses_with_its_description_and_no_problems()
    {
        var image = FirmwareImage.Parse(TestImages.Build(version: "3.1.4", size: 50_000));

        Assert.True(image.IsValid, string.Join("; ", image.Diagnostics));
        Assert.Empty(image.Diagnostics);
        Assert.Equal(EspChip.Esp32, image.Chip);
        Assert.Equal("3.1.4", image.Version);
        Assert.Equal("test-app", image.App!.ProjectName);
        Assert.Equal("v5.3.2", image.App.IdfVersion);
        Assert.Equal(4, image.Segments.Count);
        Assert.True(image.HashAppended);
        Assert.Equal(0, image.Length % 16);
    }

    [Fact]
    public void The_builder_writes_the_layout_the_bootloader_reads()
    {
        var bytes = TestImages.Build(size: 10_000);

        Assert.Equal(0xE9, bytes[0]);
        Assert.Equal(4, bytes[1]);
        int position = 24;
        byte checksum = 0xEF;
        for (int segment = 0; segment < 4; segment++)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 4));
            foreach (byte b in bytes.AsSpan(position + 8, length))
            {
                checksum ^= b;
            }

            position += 8 + length;
        }

        int checksumAt = position + (15 - position % 16);
        Assert.Equal(checksum, bytes[checksumAt]);
        Assert.Equal(SHA256.HashData(bytes.AsSpan(0, checksumAt + 1)), bytes.AsSpan(checksumAt + 1, 32).ToArray());
        Assert.Equal(checksumAt + 1 + 32, bytes.Length);
        Assert.Equal(0xABCD5432u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32)));
    }

    [Theory]
    [InlineData(EspChip.Esp32S3)]
    [InlineData(EspChip.Esp32C3)]
    [InlineData(EspChip.Esp32C6)]
    public void The_chip_comes_from_the_header(EspChip chip)
    {
        Assert.Equal(chip, FirmwareImage.Parse(TestImages.Build(chip: chip)).Chip);
    }

    [Fact]
    public void An_image_without_an_appended_hash_is_valid_when_its_checksum_is()
    {
        var image = FirmwareImage.Parse(TestImages.Build(appendSha256: false));
        Assert.True(image.IsValid);
        Assert.False(image.HashAppended);
        Assert.Equal(0, image.HashedImageEnd);
    }

    [Fact]
    public void The_appended_hash_ends_the_part_esp_ota_end_checks_and_any_flag_but_zero_asks_for_it()
    {
        var bytes = TestImages.Build(size: 10_000);
        byte[] trailed = [.. bytes, .. new byte[100]];
        Assert.Equal(bytes.Length, FirmwareImage.Parse(trailed).HashedImageEnd);

        // esp_image_format.c reads esp_image_header_t.hash_appended as a boolean: 2 asks for the hash, and a damaged
        // image with that flag is refused for it.
        bytes[ImageFormat.HashAppendedOffset] = 2;
        bytes[^34] ^= 0x01; // the padding just before the checksum byte, which only the hash covers
        var flagged = FirmwareImage.Parse(bytes);
        Assert.True(flagged.HashAppended);
        Assert.Contains(flagged.Diagnostics, d => d.Problem == ImageProblem.HashMismatch);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        Assert.Equal(ImageProblem.Empty, SingleError([]));
    }

    [Fact]
    public void A_file_without_the_magic_byte_is_not_an_esp_image()
    {
        Assert.Equal(ImageProblem.BadMagic, SingleError("hello, this is a text file"u8.ToArray()));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(30)]
    [InlineData(5_000)]
    public void A_truncated_image_is_refused(int keep)
    {
        var bytes = TestImages.Build(size: 20_000)[..keep];
        Assert.Equal(ImageProblem.Truncated, SingleError(bytes));
    }

    [Fact]
    public void An_image_cut_inside_its_appended_hash_is_truncated()
    {
        var bytes = TestImages.Build();
        Assert.Equal(ImageProblem.Truncated, SingleError(bytes[..^10]));
    }

    [Fact]
    public void A_flipped_bit_in_a_segment_fails_the_checksum()
    {
        var bytes = TestImages.Build();
        bytes[1000] ^= 0x10;
        var image = FirmwareImage.Parse(bytes);
        Assert.Contains(image.Diagnostics, d => d.Problem == ImageProblem.ChecksumMismatch);
        Assert.False(image.IsValid);
    }

    [Fact]
    public void A_damaged_hash_is_caught_even_when_the_checksum_matches()
    {
        var bytes = TestImages.Build();
        bytes[^1] ^= 0xFF;
        Assert.Equal(ImageProblem.HashMismatch, SingleError(bytes));
    }

    [Fact]
    public void A_segment_count_of_zero_is_refused()
    {
        var bytes = TestImages.Build();
        bytes[1] = 0;
        Assert.Equal(ImageProblem.BadSegment, SingleError(bytes));
    }

    [Fact]
    public void Equal_settings_build_equal_files()
    {
        Assert.Equal(TestImages.Build(seed: 3), TestImages.Build(seed: 3));
        Assert.NotEqual(TestImages.Build(seed: 3), TestImages.Build(seed: 4));
    }

    public static TheoryData<EspChip> Chips() => [.. Enum.GetValues<EspChip>().Where(c => c != EspChip.Invalid)];

    [Theory]
    [MemberData(nameof(Chips))]
    public void An_app_for_every_chip_has_flash_mapped_segments_and_is_valid(EspChip chip)
    {
        var image = FirmwareImage.Parse(TestImages.Build(chip: chip));

        Assert.True(image.IsValid, string.Join("; ", image.Diagnostics));
        Assert.Equal(ImageKind.App, image.Kind);
        var map = EspMemoryMap.For(chip)!;
        Assert.True(map.IsFlashMapped(image.Segments[0].LoadAddress));
        Assert.Contains(image.Segments, s => !map.IsFlashMapped(s.LoadAddress));
    }

    [Theory]
    [MemberData(nameof(Chips))]
    public void A_bootloader_for_every_chip_is_refused_as_a_bootloader(EspChip chip)
    {
        var image = FirmwareImage.Parse(new EspAppImageBuilder { Chip = chip, Kind = ImageKind.Bootloader, BootloaderDescription = true, IdfVersion = "v5.2.1", Size = 20_000 }.Build());

        Assert.Equal(ImageProblem.Bootloader, SingleError(image.Bytes));
        Assert.Equal(ImageKind.Bootloader, image.Kind);
        Assert.Equal("v5.2.1", image.Bootloader!.IdfVersion);
    }

    [Fact]
    public void A_legacy_bootloader_without_description_or_hash_is_refused_as_a_bootloader()
    {
        var image = FirmwareImage.Parse(new EspAppImageBuilder { Kind = ImageKind.Bootloader, AppendSha256 = false, Size = 24_000 }.Build());

        Assert.Equal(ImageProblem.Bootloader, SingleError(image.Bytes));
        Assert.Null(image.Bootloader);
        Assert.Contains("not an app: no segment is mapped from flash", image.Diagnostics[0].Message);
    }

    [Fact]
    public void A_bootloader_signed_for_secure_boot_v2_is_refused_and_said_to_be_signed()
    {
        var bytes = new EspAppImageBuilder { Chip = EspChip.Esp32C3, Kind = ImageKind.Bootloader, BootloaderDescription = true, IdfVersion = "v5.2.1", SecureBootV2 = true, Size = 20_000 }.Build();
        var image = FirmwareImage.Parse(bytes);

        Assert.Equal(0, bytes.Length % 4096);
        Assert.Equal(0xE7, bytes[^4096]);
        Assert.Equal(ImageProblem.Bootloader, SingleError(bytes));
        Assert.True(image.SecureBootV2Signed);
        Assert.Contains("IDF v5.2.1, signed for Secure Boot v2", image.Diagnostics[0].Message);
    }

    [Fact]
    public void A_signed_app_is_a_valid_app()
    {
        var image = FirmwareImage.Parse(new EspAppImageBuilder { Chip = EspChip.Esp32S3, SecureBootV2 = true, Size = 30_000 }.Build());

        Assert.True(image.IsValid, string.Join("; ", image.Diagnostics));
        Assert.Equal(ImageKind.App, image.Kind);
    }

    [Fact]
    public void An_app_built_to_run_from_ram_is_refused_with_its_name_and_version()
    {
        var image = FirmwareImage.Parse(new EspAppImageBuilder { Kind = ImageKind.RamOnlyApp, ProjectName = "ram-app", Version = "0.9.0", Size = 30_000 }.Build());

        Assert.Equal(ImageProblem.RamOnlyApp, SingleError(image.Bytes));
        Assert.Equal(ImageKind.RamOnlyApp, image.Kind);
        Assert.Contains("ram-app 0.9.0 built to run from RAM only", image.Diagnostics[0].Message);
    }

    [Theory]
    [InlineData(EspChip.Esp32, 0)]        // 0x1000 bytes of 0xFF, then the bootloader
    [InlineData(EspChip.Esp32, 0x1000)]   // merge_bin --target-offset 0x1000: starts with the bootloader
    [InlineData(EspChip.Esp32C3, 0)]      // bootloader at 0x0
    [InlineData(EspChip.Esp32S3, 0)]
    [InlineData(EspChip.Esp32P4, 0)]      // 0x2000 bytes of 0xFF, then the bootloader
    public void A_merged_flash_image_is_refused_as_one(EspChip chip, int startOffset)
    {
        var bootloader = new EspAppImageBuilder { Chip = chip, Kind = ImageKind.Bootloader, BootloaderDescription = true, Size = 20_000 }.Build();
        var app = TestImages.Build(chip: chip);
        var image = FirmwareImage.Parse(EspFlashImageBuilder.Merge(chip, bootloader, app, startOffset));

        Assert.Equal(ImageProblem.MergedFlashImage, SingleError(image.Bytes));
        Assert.Equal(ImageKind.MergedFlashImage, image.Kind);
        Assert.Contains("merged flash image", image.Diagnostics[0].Message);
    }

    [Fact]
    public void A_bootloader_followed_by_other_data_is_refused_as_a_merged_image()
    {
        var bootloader = new EspAppImageBuilder { Kind = ImageKind.Bootloader, Size = 20_000 }.Build();
        var image = FirmwareImage.Parse([.. bootloader, .. TestImages.Build()]);

        Assert.Equal(ImageProblem.MergedFlashImage, SingleError(image.Bytes));
    }

    [Fact]
    public void An_app_whose_first_segment_has_no_app_description_is_refused()
    {
        var bytes = TestImages.Build();
        bytes[32] ^= 0xFF; // the magic word of esp_app_desc_t, at the start of the first segment
        var image = FirmwareImage.Parse(Reseal(bytes));

        Assert.Equal(ImageProblem.NoAppDescription, SingleError(image.Bytes));
    }

    /// <summary>Recomputes the checksum byte and the appended SHA-256 after a change to the segments.</summary>
    private static byte[] Reseal(byte[] bytes)
    {
        var parsed = FirmwareImage.Parse(bytes);
        byte checksum = 0xEF;
        int end = 0;
        foreach (var segment in parsed.Segments)
        {
            foreach (byte b in bytes.AsSpan(segment.FileOffset, segment.Length))
            {
                checksum ^= b;
            }

            end = segment.FileOffset + segment.Length;
        }

        int checksumAt = end + (15 - end % 16);
        bytes[checksumAt] = checksum;
        SHA256.HashData(bytes.AsSpan(0, checksumAt + 1)).CopyTo(bytes, checksumAt + 1);
        return bytes;
    }

    private static ImageProblem SingleError(byte[] bytes)
    {
        var image = FirmwareImage.Parse(bytes);
        Assert.False(image.IsValid);
        return Assert.Single(image.Diagnostics, d => d.Severity == DiagnosticSeverity.Error).Problem;
    }
}
