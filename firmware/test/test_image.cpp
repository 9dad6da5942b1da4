// The image builder and the host's esp_image_verify model agree, and every
// kind of damage is caught.
#include <gtest/gtest.h>

#include "bo_image.h"
#include "esp_image_builder.hpp"

using bo_test::AppImageSpec;
using bo_test::BuildAppImage;

namespace {

bo_image_result_t Verify(const std::vector<uint8_t> &img, uint16_t chip = BO_CHIP_ESP32,
                         bo_image_info_t *info = nullptr)
{
    return bo_image_verify(img.data(), img.size(), chip, info);
}

}  // namespace

TEST(ImageBuilder, BuildsAValidImageWithAppDescriptor)
{
    AppImageSpec spec;
    spec.version = "2.3.4";
    spec.project_name = "blinky";
    auto img = BuildAppImage(spec);
    bo_image_info_t info;
    ASSERT_EQ(Verify(img, BO_CHIP_ESP32, &info), BO_IMAGE_OK);
    EXPECT_EQ(info.image_len, img.size());
    EXPECT_EQ(info.segment_count, 3);
    EXPECT_EQ(info.hash_appended, 1);
    EXPECT_TRUE(info.has_app_desc);
    EXPECT_STREQ(info.version, "2.3.4");
    EXPECT_STREQ(info.project_name, "blinky");
    EXPECT_EQ(img[0], 0xE9);
    EXPECT_EQ((img.size() - 32) % 16, 0u) << "checksum must end a 16-byte block";
}

TEST(ImageBuilder, WithoutHashEndsOnChecksum)
{
    AppImageSpec spec;
    spec.hash_appended = false;
    auto img = BuildAppImage(spec);
    bo_image_info_t info;
    ASSERT_EQ(Verify(img, BO_CHIP_ESP32, &info), BO_IMAGE_OK);
    EXPECT_EQ(img.size() % 16, 0u);
    EXPECT_EQ(info.image_len, img.size());
}

TEST(ImageBuilder, ExtraTrailingBytesAreIgnored)
{
    auto img = BuildAppImage();
    img.resize(img.size() + 4096, 0xFF); // a flash slot is bigger than the image
    EXPECT_EQ(Verify(img), BO_IMAGE_OK);
}

TEST(ImageVerify, MinimalCImageIsValid)
{
    uint8_t buf[512];
    size_t n = bo_image_build_minimal(buf, sizeof(buf), "9.9.9", "mini", "v5.3.2");
    ASSERT_GT(n, 0u);
    bo_image_info_t info;
    ASSERT_EQ(bo_image_verify(buf, n, BO_CHIP_ESP32, &info), BO_IMAGE_OK);
    EXPECT_STREQ(info.version, "9.9.9");
    EXPECT_STREQ(info.project_name, "mini");
    EXPECT_STREQ(info.idf_ver, "v5.3.2");
    EXPECT_EQ(bo_image_build_minimal(buf, 100, "x", "y", "z"), 0u);
}

TEST(ImageVerify, BadMagic)
{
    auto img = BuildAppImage();
    img[0] = 0xE8;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_MAGIC);
}

TEST(ImageVerify, SegmentCountZeroOrAboveSixteen)
{
    auto img = BuildAppImage();
    img[1] = 0;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_SEGMENTS);
    img[1] = 17;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_SEGMENTS);
}

TEST(ImageVerify, SegmentLengthBeyondImage)
{
    auto img = BuildAppImage();
    img[bo_test::kHeaderLen + 4 + 2] = 0x7F; // first segment data_len now huge
    EXPECT_EQ(Verify(img), BO_IMAGE_E_TRUNCATED);
}

TEST(ImageVerify, UnalignedSegmentLength)
{
    auto img = BuildAppImage();
    img[bo_test::kHeaderLen + 4] += 1;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_SEG_ALIGN);
}

TEST(ImageVerify, WrongChip)
{
    AppImageSpec spec;
    spec.chip_id = 9; // ESP32-S3
    auto img = BuildAppImage(spec);
    EXPECT_EQ(Verify(img, BO_CHIP_ESP32), BO_IMAGE_E_CHIP);
    EXPECT_EQ(Verify(img, 9), BO_IMAGE_OK);
    EXPECT_EQ(Verify(img, BO_CHIP_ANY), BO_IMAGE_OK);
}

TEST(ImageVerify, FlippedDataByteFailsChecksumFirst)
{
    auto img = BuildAppImage();
    img[1000] ^= 0x01;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_CHECKSUM); // XOR checksum is checked first
}

TEST(ImageVerify, FlippedByteAndChecksumFailsHash)
{
    auto img = BuildAppImage();
    size_t ck = img.size() - 33;
    img[1000] ^= 0x01;
    img[ck] ^= 0x01; // checksum fixed up, the SHA-256 still catches it
    EXPECT_EQ(Verify(img), BO_IMAGE_E_HASH);
}

TEST(ImageVerify, FlippedDataByteWithoutHashFailsChecksum)
{
    AppImageSpec spec;
    spec.hash_appended = false;
    auto img = BuildAppImage(spec);
    img[500] ^= 0x80;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_CHECKSUM);
}

TEST(ImageVerify, TruncatedAnywhereIsInvalid)
{
    auto img = BuildAppImage();
    for (size_t cut : {size_t(0), size_t(10), size_t(24), size_t(100), img.size() / 2, img.size() - 33, img.size() - 1}) {
        std::vector<uint8_t> part(img.begin(), img.begin() + cut);
        EXPECT_NE(Verify(part), BO_IMAGE_OK) << "cut at " << cut;
    }
}

TEST(ImageVerify, CorruptedHashIsInvalid)
{
    auto img = BuildAppImage();
    img.back() ^= 0xFF;
    EXPECT_EQ(Verify(img), BO_IMAGE_E_HASH);
}
