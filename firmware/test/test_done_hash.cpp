// What DONE's SHA-256 check vouches for on the simulated device (port/ble_ota_stream.c, hash_stored_image, mirrored
// in the host port): the hash of the bytes handed to esp_ota_write stands for the stored image only when the
// image's own appended SHA-256 covers every byte, which esp_ota_end then checks; otherwise the slot is read back.
// Whichever catches it, a byte the flash stored wrong never reaches the boot slot.
#include <gtest/gtest.h>

#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "bo_image.h"
#include "esp_image_builder.hpp"
#include "v2_device.hpp"

using namespace bo_test;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kHashAppendedOffset = 23;  // esp_image_header_t.hash_appended

// Where the last segment's data ends: the zero padding before the checksum byte starts there.
size_t SegmentsEnd(const Bytes &image)
{
    size_t pos = kHeaderLen;
    for (unsigned s = 0; s < image[1]; s++) {
        uint32_t len = image[pos + 4] | image[pos + 5] << 8 | image[pos + 6] << 16 | static_cast<uint32_t>(image[pos + 7]) << 24;
        pos += kSegHeaderLen + len;
    }
    return pos;
}

class DoneHash : public V2Device {
protected:
    Bytes with_hash = BuildAppImage(AppImageSpec{"2.0.0", "done_hash", "v5.3.2", 0, true, 20000, {12000, 4096}, 3, true});
    Bytes without_hash = BuildAppImage(AppImageSpec{"2.0.0", "done_hash", "v5.3.2", 0, false, 20000, {12000, 4096}, 3, true});

    // A whole v2 update of `image` announced as `announced`; returns DONE's answer.
    Bytes Update(const Bytes &image, const Bytes &announced, bool deflate = false)
    {
        Bytes stream = deflate ? Deflate(image) : image;
        EXPECT_EQ(Control(Request(announced, stream, deflate)), 0);
        EXPECT_EQ(Notes().back()[0], BLE_OTA_OP_REQUEST_ACK);
        for (uint32_t off = 0; off < stream.size(); off += kPayload) {
            EXPECT_EQ(Packet(stream, off), 0);
        }
        EXPECT_EQ(Control({BLE_OTA_OP_DONE, BLE_OTA_V2}), 0);
        auto notes = Notes();
        return notes.empty() ? Bytes{} : notes.back();
    }
    Bytes Update(const Bytes &image) { return Update(image, image); }

    // The update slot as stored, first `len` bytes.
    Bytes Stored(size_t len)
    {
        Bytes out(len);
        EXPECT_EQ(bo_host_read_slot(h, 1, 0, out.data(), static_cast<uint32_t>(len)), static_cast<int32_t>(len));
        return out;
    }

    void ExpectRefusedAndFactoryBoots(const Bytes &done, uint8_t why)
    {
        ASSERT_FALSE(done.empty());
        EXPECT_EQ(done[0], BLE_OTA_OP_DONE_NAK);
        EXPECT_EQ(done[1], why) << "error " << int(done[1]);
        EXPECT_EQ(bo_host_boot_slot(h), 0) << "the boot slot never changed";
        EXPECT_EQ(bo_host_restart_pending(h), 0);
        EXPECT_EQ(bo_host_reboot(h), 0);
    }
};

TEST_F(DoneHash, AnImageWithItsHashAppendedIsNotReadBackAndBootsByteForByte)
{
    ASSERT_EQ(with_hash[kHashAppendedOffset], 1);
    Bytes done = Update(with_hash);
    ASSERT_EQ(done[0], BLE_OTA_OP_DONE_ACK) << "error " << int(done[1]);
    EXPECT_EQ(bo_host_done_readback_bytes(h), 0);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), with_hash);
}

TEST_F(DoneHash, ACompressedImageIsHashedAsInflatedNotReadBack)
{
    Bytes done = Update(with_hash, with_hash, true);
    ASSERT_EQ(done[0], BLE_OTA_OP_DONE_ACK) << "error " << int(done[1]);
    EXPECT_EQ(bo_host_done_readback_bytes(h), 0);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), with_hash);
}

TEST_F(DoneHash, AStoredCodeByteGoneWrongIsRefusedBeforeTheBootSlotChanges)
{
    ASSERT_EQ(bo_host_corrupt_stored_at(h, 9000, 0x04), 0);
    ExpectRefusedAndFactoryBoots(Update(with_hash), BLE_OTA_ERR_IMAGE_INVALID);
}

TEST_F(DoneHash, AStoredPaddingByteGoneWrongIsCaughtByTheAppendedHash)
{
    // The checksum byte covers segment data only; the appended hash covers the padding too.
    size_t padding = SegmentsEnd(with_hash);
    ASSERT_LT(padding, ChecksumOffset(padding));
    ASSERT_EQ(bo_host_corrupt_stored_at(h, static_cast<int64_t>(padding), 0x80), 0);
    ExpectRefusedAndFactoryBoots(Update(with_hash), BLE_OTA_ERR_IMAGE_INVALID);
}

TEST_F(DoneHash, AWrongAnnouncedShaIsRefusedWithOrWithoutAnAppendedHash)
{
    for (const Bytes *image : {&with_hash, &without_hash}) {
        Bytes announced = *image;
        announced[5000] ^= 0x40;
        ExpectRefusedAndFactoryBoots(Update(*image, announced), BLE_OTA_ERR_SHA_MISMATCH);
        Connect(); // the reboot dropped the link
    }
}

TEST_F(DoneHash, AnImageWithoutAnAppendedHashIsReadBack)
{
    ASSERT_EQ(without_hash[kHashAppendedOffset], 0);
    Bytes done = Update(without_hash);
    ASSERT_EQ(done[0], BLE_OTA_OP_DONE_ACK) << "error " << int(done[1]);
    EXPECT_EQ(bo_host_done_readback_bytes(h), static_cast<int32_t>(without_hash.size()));
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), without_hash);
}

TEST_F(DoneHash, WithoutAnAppendedHashOnlyTheReadBackCatchesAPaddingByteGoneWrong)
{
    size_t padding = SegmentsEnd(without_hash);
    ASSERT_EQ(bo_host_corrupt_stored_at(h, static_cast<int64_t>(padding), 0x80), 0);
    ExpectRefusedAndFactoryBoots(Update(without_hash), BLE_OTA_ERR_SHA_MISMATCH);
    // esp_ota_end alone would have taken it: its checksum does not cover the padding.
    EXPECT_EQ(bo_image_verify(Stored(without_hash.size()).data(), without_hash.size(), BO_CHIP_ESP32, nullptr),
              BO_IMAGE_OK);
}

TEST_F(DoneHash, AHashAppendedFlagLostInFlashMakesTheDeviceReadBack)
{
    // Stored as 0, the flag turns esp_ota_end's hash check off; the image the device would boot is not the one sent.
    ASSERT_EQ(bo_host_corrupt_stored_at(h, kHashAppendedOffset, 0x01), 0);
    ExpectRefusedAndFactoryBoots(Update(with_hash), BLE_OTA_ERR_SHA_MISMATCH);
    EXPECT_EQ(bo_image_verify(Stored(with_hash.size()).data(), with_hash.size(), BO_CHIP_ESP32, nullptr), BO_IMAGE_OK);
}

TEST_F(DoneHash, BytesAfterTheAppendedHashAreReadBackAndCheckedToo)
{
    // What esp_image_verify leaves unchecked without secure boot, such as a signature sector.
    Bytes trailed = with_hash;
    trailed.insert(trailed.end(), 64, 0xA5);
    Bytes done = Update(trailed);
    ASSERT_EQ(done[0], BLE_OTA_OP_DONE_ACK) << "error " << int(done[1]);
    EXPECT_EQ(bo_host_done_readback_bytes(h), static_cast<int32_t>(trailed.size()));
    ASSERT_EQ(bo_host_reboot(h), 1);
    Connect();

    ASSERT_EQ(bo_host_corrupt_stored_at(h, static_cast<int64_t>(trailed.size() - 10), 0x10), 0);
    Bytes again = Update(trailed);
    ASSERT_FALSE(again.empty());
    EXPECT_EQ(again[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(again[1], BLE_OTA_ERR_SHA_MISMATCH);
    EXPECT_EQ(bo_host_boot_slot(h), 1) << "the slot the first update set still boots";
    EXPECT_EQ(bo_host_reboot(h), 1);
}

}  // namespace
