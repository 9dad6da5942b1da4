// Protocol v2 on the simulated device through the ble_ota_host ABI: the host
// port's receive ring, writer, zlib inflater and SHA-256, end to end. Every
// test ends with "which firmware boots?".
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "esp_image_builder.hpp"
#include "v2_device.hpp"

using bo_test::AppImageSpec;
using bo_test::BuildAppImage;
using bo_test::Deflate;
using bo_test::Request;

namespace {

using Bytes = std::vector<uint8_t>;

class DeviceV2 : public bo_test::V2Device {
protected:
    // Compressible like a real app: long runs and repeats, plus the image structure.
    Bytes image = BuildAppImage(AppImageSpec{"3.1.0", "v2_app", "v5.5.5", 0, true, 60000, {30000, 4096}, 7, true});

    // Sends the whole stream from `from`, then DONE; returns the last notification.
    Bytes Finish(const Bytes &stream, uint32_t from = 0)
    {
        for (uint32_t off = from; off < stream.size(); off += kPayload) {
            EXPECT_EQ(Packet(stream, off), 0);
        }
        EXPECT_EQ(Control({BLE_OTA_OP_DONE, BLE_OTA_V2}), 0);
        auto notes = Notes();
        return notes.empty() ? Bytes{} : notes.back();
    }
};

TEST_F(DeviceV2, RawUpdateIsByteIdenticalAndBoots)
{
    ASSERT_EQ(Control(Request(image, image, false)), 0);
    ASSERT_EQ(Notes().back()[0], BLE_OTA_OP_REQUEST_ACK);
    EXPECT_EQ(Finish(image)[0], BLE_OTA_OP_DONE_ACK);
    ASSERT_EQ(bo_host_restart_pending(h), 1);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
    EXPECT_EQ(bo_host_nor_violations(h), 0);
}

TEST_F(DeviceV2, CompressedUpdateInflatesToTheIdenticalImage)
{
    Bytes stream = Deflate(image);
    ASSERT_LT(stream.size(), image.size() * 3 / 4) << "the test image must compress";
    ASSERT_EQ(Control(Request(image, stream, true)), 0);
    ASSERT_EQ(Notes().back()[0], BLE_OTA_OP_REQUEST_ACK);
    Bytes last = Finish(stream);
    ASSERT_EQ(last[0], BLE_OTA_OP_DONE_ACK) << "error " << int(last[1]);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
}

TEST_F(DeviceV2, CorruptDeflateStreamIsNakedAndTheOldFirmwareBoots)
{
    Bytes stream = Deflate(image);
    stream.resize(stream.size() / 2);  // truncated: the inflater never sees the end
    ASSERT_EQ(Control(Request(image, stream, true)), 0);
    Bytes last = Finish(stream);
    EXPECT_EQ(last[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(last[1], BLE_OTA_ERR_INFLATE);
    EXPECT_EQ(bo_host_restart_pending(h), 0);
    EXPECT_EQ(bo_host_reboot(h), 0) << "factory slot still boots";
}

TEST_F(DeviceV2, ADeflateStreamReachingFurtherThan8KBIsRefusedAndTheOldFirmwareBoots)
{
    // 12 KB of incompressible bytes three times over: a 32 KB-window deflater refers 12 KB back, which the device's
    // 8 KB tinfl buffer would decode to wrong bytes (SHA_MISMATCH at DONE) and this port's 8 KB zlib window refuses.
    Bytes far = image;
    Bytes block = BuildAppImage(AppImageSpec{"9.9.9", "noise", "v5.5.5", 0, true, 12 * 1024, {}, 99, false});
    for (size_t copy = 0; copy < 3; copy++) {
        std::copy(block.begin(), block.begin() + 12 * 1024, far.begin() + 40000 + copy * 12 * 1024);
    }
    Bytes stream = Deflate(far, 15);
    ASSERT_LT(stream.size() + 20000, Deflate(far).size()) << "the 32 KB window must have reached 12 KB back";
    ASSERT_EQ(Control(Request(far, stream, true)), 0);
    Notes();
    uint32_t off = 0;
    while (off < stream.size() && Packet(stream, off) == 0) {
        off += kPayload;
    }
    EXPECT_LT(off, stream.size()) << "the update ends at the first reference further back than 8 KB";
    auto notes = Notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back()[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(notes.back()[1], BLE_OTA_ERR_INFLATE);
    EXPECT_EQ(bo_host_restart_pending(h), 0);
    EXPECT_EQ(bo_host_boot_slot(h), 0);
    EXPECT_EQ(bo_host_reboot(h), 0) << "factory slot still boots";
}

TEST_F(DeviceV2, ACompressedUpdateGetsAnEightKBRingBesideTheInflater)
{
    // port/ble_ota_stream.c, DEFLATE_RING_SIZE: the 32 KB budget less the 8 KB dictionary and tinfl's state leaves an
    // 8 KB ring (still a whole window of 16 packets of 508 bytes); a raw update keeps the configured 16 KB.
    Bytes stream = Deflate(image);
    ASSERT_EQ(Control(Request(image, stream, true)), 0);
    Notes();
    ASSERT_EQ(bo_host_set_writer_paused(h, 1), 0);
    uint32_t off = 0;
    for (; off + kPayload <= 8192; off += kPayload) {
        ASSERT_EQ(Packet(stream, off), 0);
    }
    EXPECT_EQ(bo_host_ring_fill(h), static_cast<int32_t>(off));
    Notes();
    ASSERT_EQ(Packet(stream, off), 0);
    auto notes = Notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back()[1], BLE_OTA_ERR_RING_FULL) << "a ring of 8 KB";
    ASSERT_EQ(bo_host_set_writer_paused(h, 0), 0);
    Bytes last = Finish(stream, off);
    ASSERT_EQ(last[0], BLE_OTA_OP_DONE_ACK) << "error " << int(last[1]);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
}

TEST_F(DeviceV2, CompressionOffInKconfigRefusesDeflate)
{
    ASSERT_EQ(bo_host_set_compression(h, 0), 0);
    ASSERT_EQ(Control(Request(image, Deflate(image), true)), 0);
    Bytes nak = Notes().back();
    EXPECT_EQ(nak[0], BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(nak[1], BLE_OTA_ERR_UNSUPPORTED);
}

TEST_F(DeviceV2, ShaMismatchKeepsTheOldFirmware)
{
    Bytes announced = image;
    announced[5000] ^= 0x40;
    ASSERT_EQ(Control(Request(announced, image, false)), 0);
    Bytes last = Finish(image);
    EXPECT_EQ(last[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(last[1], BLE_OTA_ERR_SHA_MISMATCH);
    EXPECT_EQ(bo_host_boot_slot(h), 0);
    EXPECT_EQ(bo_host_reboot(h), 0);
}

TEST_F(DeviceV2, APausedWriterFillsTheRingAndTheClientIsToldToResend)
{
    ASSERT_EQ(bo_host_set_ring_size(h, 4 * kPayload), 0);
    ASSERT_EQ(Control(Request(image, image, false)), 0);
    Notes();
    ASSERT_EQ(bo_host_set_writer_paused(h, 1), 0);
    for (uint32_t i = 0; i < 5; i++) {
        ASSERT_EQ(Packet(image, i * kPayload), 0);
    }
    EXPECT_EQ(bo_host_ring_fill(h), static_cast<int32_t>(4 * kPayload)) << "the GATT side only copies";
    auto notes = Notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back()[1], BLE_OTA_ERR_RING_FULL);
    EXPECT_EQ(Offset(notes.back()), 4 * kPayload);
    ASSERT_EQ(bo_host_set_writer_paused(h, 0), 0);
    EXPECT_EQ(bo_host_ring_fill(h), 0);
    EXPECT_EQ(Finish(image, 4 * kPayload)[0], BLE_OTA_OP_DONE_ACK);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
}

TEST_F(DeviceV2, ABusyWriterHoldsTheAcknowledgementSoTheRingNeverOverflows)
{
    ASSERT_EQ(bo_host_set_ring_size(h, 24 * kPayload), 0);
    ASSERT_EQ(Control(Request(image, image, false)), 0);
    Notes();
    ASSERT_EQ(bo_host_set_writer_paused(h, 1), 0); // the writer is stuck in a block erase
    for (uint32_t i = 0; i < 8; i++) {
        ASSERT_EQ(Packet(image, i * kPayload), 0);
    }
    auto notes = Notes();
    ASSERT_EQ(notes.size(), 1u) << "16 packets of room left: the window may go on";
    EXPECT_EQ(Offset(notes[0]), 8 * kPayload);
    // The client may now send up to a window past that acknowledgement, and every packet fits.
    for (uint32_t i = 8; i < 24; i++) {
        ASSERT_EQ(Packet(image, i * kPayload), 0);
    }
    EXPECT_TRUE(Notes().empty()) << "no acknowledgement the ring could not honour, and no RING_FULL";
    EXPECT_EQ(bo_host_ring_fill(h), static_cast<int32_t>(24 * kPayload));
    ASSERT_EQ(bo_host_set_writer_paused(h, 0), 0); // the erase is done: the writer drains
    notes = Notes();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0][1], BLE_OTA_OK);
    EXPECT_EQ(Offset(notes[0]), 24 * kPayload);
    EXPECT_EQ(Finish(image, 24 * kPayload)[0], BLE_OTA_OP_DONE_ACK);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
}

TEST_F(DeviceV2, DisconnectThenResumeFromTheDeviceOffsetIsByteIdentical)
{
    Bytes stream = Deflate(image);
    ASSERT_EQ(Control(Request(image, stream, true)), 0);
    Notes();
    uint32_t sent = 0;
    for (; sent < stream.size() / 2; sent += kPayload) {
        ASSERT_EQ(Packet(stream, sent), 0);
    }
    ASSERT_EQ(bo_host_disconnect(h, conn), 0);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_RECEIVING);
    Connect();
    ASSERT_EQ(Control(Request(image, stream, true)), 0);
    Bytes ack = Notes().back();
    ASSERT_EQ(ack[0], BLE_OTA_OP_REQUEST_ACK);
    EXPECT_EQ(Offset(ack), sent) << "the device reports what it has";
    EXPECT_EQ(Finish(stream, Offset(ack))[0], BLE_OTA_OP_DONE_ACK);
    ASSERT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(RunningImage(), image);
}

TEST_F(DeviceV2, AbortLeavesTheDeviceIdleOnItsFirmware)
{
    ASSERT_EQ(Control(Request(image, image, false)), 0);
    ASSERT_EQ(Packet(image, 0), 0);
    ASSERT_EQ(Control({BLE_OTA_OP_ABORT, BLE_OTA_V2}), 0);
    EXPECT_EQ(Notes().back()[0], BLE_OTA_OP_ABORT_ACK);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(bo_host_reboot(h), 0);
}

TEST_F(DeviceV2, FlashFailureInTheWriterEndsTheUpdate)
{
    ASSERT_EQ(bo_host_fail_write_at(h, 3 * kPayload + 10), 0);
    ASSERT_EQ(Control(Request(image, image, false)), 0);
    for (uint32_t off = 0; off < 4 * kPayload; off += kPayload) {
        Packet(image, off);
    }
    Bytes last = Notes().back();
    EXPECT_EQ(last[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(last[1], BLE_OTA_ERR_FLASH);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_FLASH);
    EXPECT_EQ(bo_host_reboot(h), 0);
}

}  // namespace
