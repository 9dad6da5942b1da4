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

    private static ImageProblem SingleError(byte[] bytes)
    {
        var image = FirmwareImage.Parse(bytes);
        Assert.False(image.IsValid);
        return Assert.Single(image.Diagnostics, d => d.Severity == DiagnosticSeverity.Error).Problem;
    }
}
