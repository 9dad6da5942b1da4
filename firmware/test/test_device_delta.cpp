// Delta updates on the simulated device through the ble_ota_host ABI: the core's delta REQUEST, the host port's
// writer running the applier against the running slot, and the SHA-256 check before the boot slot changes. Every
// test ends with "which firmware boots?".
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "bo_delta_writer.h"
#include "bo_sha256.h"
#include "esp_image_builder.hpp"
#include "v2_device.hpp"

using bo_test::AppImageSpec;
using bo_test::BuildAppImage;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes Sha(const Bytes &b)
{
    Bytes out(32);
    bo_sha256(b.data(), b.size(), out.data());
    return out;
}

Bytes DeltaRequest(const Bytes &image, const Bytes &patch, const Bytes &base_sha, uint8_t flags = BLE_OTA_V2_FLAG_DELTA)
{
    Bytes r(BLE_OTA_V2_REQUEST_DELTA_LEN, 0);
    r[0] = BLE_OTA_OP_REQUEST;
    r[1] = BLE_OTA_V2;
    r[2] = flags;
    for (int i = 0; i < 4; i++) {
        r[3 + i] = static_cast<uint8_t>(image.size() >> (8 * i));
        r[7 + i] = static_cast<uint8_t>(patch.size() >> (8 * i));
    }
    bo_sha256(image.data(), image.size(), &r[11]);
    std::memcpy(&r[43], base_sha.data(), 32);
    return r;
}

class DeviceDelta : public bo_test::V2Device {
protected:
    // The running image (installed by cable) and the next build. The test writer's patch copies the whole base
    // with an add wherever the builds differ: here nearly everywhere, so the patch spans many packets.
    Bytes base = BuildAppImage(AppImageSpec{"1.0.0", "delta_app", "v5.3.2", 0, true, 30000, {20000, 4096}, 9, true});
    Bytes target = BuildAppImage(AppImageSpec{"1.0.1", "delta_app", "v5.3.2", 0, true, 30000, {20000, 4096}, 10, true});
    Bytes patch;

    void SetUp() override
    {
        V2Device::SetUp();
        ASSERT_EQ(bo_host_install_image(h, 0, base.data(), static_cast<uint32_t>(base.size())), 0);
        ASSERT_EQ(bo_host_reboot(h), 0);
        patch = Patch(base, target);
        Connect();
    }

    static Bytes Patch(const Bytes &from, const Bytes &to)
    {
        Bytes out(to.size() * 2 + 256);
        size_t n = bo_delta_write_simple(from.data(), from.size(), to.data(), to.size(), out.data(), out.size());
        EXPECT_GT(n, 0u);
        out.resize(n);
        return out;
    }
    Bytes Request(const Bytes &stream) { return DeltaRequest(target, stream, Sha(base)); }
    // Sends the stream from `from` to `to`, then DONE when it reached the end; returns the last notification.
    Bytes Send(const Bytes &stream, uint32_t from = 0, uint32_t to = UINT32_MAX)
    {
        to = std::min<uint32_t>(to, static_cast<uint32_t>(stream.size()));
        for (uint32_t off = from; off < to; off += kPayload) {
            Packet(stream, off); // written without response: the verdict comes by notification
        }
        if (to == stream.size()) {
            Control({BLE_OTA_OP_DONE, BLE_OTA_V2});
        }
        auto notes = Notes();
        return notes.empty() ? Bytes{} : notes.back();
    }
    Bytes InfoSha()
    {
        Bytes info(BLE_OTA_INFO_LEN);
        EXPECT_EQ(bo_host_read(h, conn, BO_HOST_CHAR_INFO, info.data(), static_cast<uint32_t>(info.size())),
                  static_cast<int32_t>(BLE_OTA_INFO_LEN));
        return Bytes(info.begin() + BLE_OTA_INFO_OFF_IMAGE_SHA256, info.end());
    }
    void ExpectRuns(const Bytes &image)
    {
        bo_host_reboot(h);
        EXPECT_EQ(RunningImage(), image);
        EXPECT_EQ(bo_host_nor_violations(h), 0);
    }
};

TEST_F(DeviceDelta, InfoNamesTheRunningImageAndOffersDelta)
{
    EXPECT_EQ(InfoSha(), Sha(base));
    Bytes info(BLE_OTA_INFO_LEN);
    bo_host_read(h, conn, BO_HOST_CHAR_INFO, info.data(), static_cast<uint32_t>(info.size()));
    EXPECT_NE(info[BLE_OTA_INFO_OFF_FEATURES] & BLE_OTA_INFO_FEATURE_DELTA, 0);
}

TEST_F(DeviceDelta, APatchRebuildsTheNewImageWhichBootsAndInfoThenNamesIt)
{
    ASSERT_EQ(Control(Request(patch)), 0);
    ASSERT_EQ(Notes().back()[0], BLE_OTA_OP_REQUEST_ACK);
    Bytes last = Send(patch);
    ASSERT_EQ(last[0], BLE_OTA_OP_DONE_ACK) << "error " << int(last[1]);
    EXPECT_EQ(Offset(last), patch.size()) << "DONE_ACK counts stream (patch) bytes";
    EXPECT_EQ(bo_host_done_readback_bytes(h), 0) << "the patched output was hashed as it was written";
    ExpectRuns(target);
    Connect();
    EXPECT_EQ(InfoSha(), Sha(target));
}

TEST_F(DeviceDelta, APatchAgainstAnotherBaseIsRefusedAtRequestWithBaseMismatch)
{
    Bytes other = Sha(target);
    ASSERT_EQ(Control(DeltaRequest(target, patch, other)), 0);
    auto note = Notes().back();
    EXPECT_EQ(note[0], BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(note[1], BLE_OTA_ERR_BASE_MISMATCH);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectRuns(base);
}

TEST_F(DeviceDelta, ADamagedPatchEndsInDoneNakAndTheOldImageKeepsRunning)
{
    for (size_t at : {size_t{20}, patch.size() / 2}) {
        Bytes damaged = patch;
        damaged[at] ^= 0x5A;
        ASSERT_EQ(Control(Request(damaged)), 0);
        ASSERT_EQ(Notes().back()[0], BLE_OTA_OP_REQUEST_ACK);
        Bytes last = Send(damaged);
        EXPECT_EQ(last[0], BLE_OTA_OP_DONE_NAK) << at;
        EXPECT_TRUE(last[1] == BLE_OTA_ERR_DELTA || last[1] == BLE_OTA_ERR_SHA_MISMATCH) << at << ": " << int(last[1]);
        EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
        EXPECT_EQ(bo_host_boot_slot(h), 0) << "the boot slot never changed";
    }
    ExpectRuns(base);
    Connect();
    ASSERT_EQ(Control(Request(patch)), 0) << "a clean patch still goes through";
    ASSERT_EQ(Send(patch)[0], BLE_OTA_OP_DONE_ACK);
    ExpectRuns(target);
}

TEST_F(DeviceDelta, WhateverByteIsDamagedTheDeviceRunsTheOldImageOrExactlyTheNewOne)
{
    // A damaged byte that no decision depends on (the coder's last bytes can be such) still rebuilds the new image,
    // which the SHA-256 check then lets through; any other damage ends in DONE_NAK.
    for (size_t at = 0; at < patch.size(); at += patch.size() / 40 + 1) {
        for (size_t k : {at, patch.size() - 1 - at % 8}) {
            bo_host_destroy(h);
            SetUp();
            Bytes damaged = patch;
            damaged[k] ^= 0x01;
            ASSERT_EQ(Control(Request(damaged)), 0);
            Notes();
            Bytes last = Send(damaged);
            ExpectRuns(last.size() > 0 && last[0] == BLE_OTA_OP_DONE_ACK ? target : base);
        }
    }
}

TEST_F(DeviceDelta, APatchForAnotherImageFailsAtItsFirstPacket)
{
    Bytes other = BuildAppImage(AppImageSpec{"9.9.9", "delta_app", "v5.3.2", 0, true, 31000, {20000, 4096}, 9, true});
    ASSERT_EQ(Control(DeltaRequest(other, patch, Sha(base))), 0); // announces 'other', sends the patch for 'target'
    Notes();
    Packet(patch, 0);
    auto note = Notes().back();
    EXPECT_EQ(note[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(note[1], BLE_OTA_ERR_DELTA);
    ExpectRuns(base);
}

TEST_F(DeviceDelta, AFailingBaseReadAbortsTheUpdate)
{
    ASSERT_EQ(bo_host_fail_base_read_at(h, 1000), 0);
    ASSERT_EQ(Control(Request(patch)), 0);
    Notes();
    Bytes last = Send(patch);
    EXPECT_EQ(last[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(last[1], BLE_OTA_ERR_FLASH);
    ExpectRuns(base);
}

TEST_F(DeviceDelta, ALostLinkResumesThePatchWhereTheDeviceStands)
{
    ASSERT_EQ(Control(Request(patch)), 0);
    Notes();
    uint32_t half = static_cast<uint32_t>(patch.size() / 2 / kPayload * kPayload);
    ASSERT_GT(half, 10 * kPayload);
    Send(patch, 0, half);
    ASSERT_EQ(bo_host_disconnect(h, conn), 0);
    Connect();
    ASSERT_EQ(Control(Request(patch)), 0);
    auto ack = Notes().back();
    ASSERT_EQ(ack[0], BLE_OTA_OP_REQUEST_ACK);
    ASSERT_EQ(Offset(ack), half) << "the device keeps the patch applied so far";
    ASSERT_EQ(Send(patch, half)[0], BLE_OTA_OP_DONE_ACK);
    ExpectRuns(target);
}

TEST_F(DeviceDelta, ARequestNamingAnotherBaseDropsAKeptPatchSession)
{
    ASSERT_EQ(Control(Request(patch)), 0);
    Notes();
    Send(patch, 0, kPayload * 2);
    ASSERT_EQ(bo_host_disconnect(h, conn), 0);
    Connect();
    ASSERT_EQ(Control(DeltaRequest(target, patch, Sha(target))), 0);
    auto nak = Notes().back();
    EXPECT_EQ(nak[0], BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(nak[1], BLE_OTA_ERR_BASE_MISMATCH);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE) << "the kept session is gone, not resumed";
    ExpectRuns(base);
}

TEST_F(DeviceDelta, AFullRingAsksForAResendAndThePatchStillApplies)
{
    ASSERT_EQ(bo_host_set_ring_size(h, 1024), 0);
    ASSERT_EQ(Control(Request(patch)), 0);
    Notes();
    ASSERT_EQ(bo_host_set_writer_paused(h, 1), 0);
    for (uint32_t off = 0; off < 6 * kPayload && off < patch.size(); off += kPayload) {
        Packet(patch, off);
    }
    auto notes = Notes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back()[1], BLE_OTA_ERR_RING_FULL);
    uint32_t resume = Offset(notes.back());
    ASSERT_EQ(bo_host_set_writer_paused(h, 0), 0);
    ASSERT_EQ(Send(patch, resume)[0], BLE_OTA_OP_DONE_ACK);
    ExpectRuns(target);
}

TEST_F(DeviceDelta, RequestLengthMustMatchTheDeltaFlag)
{
    Bytes request = Request(patch);
    Bytes short_delta(request.begin(), request.begin() + BLE_OTA_V2_REQUEST_LEN);
    EXPECT_EQ(Control(short_delta), BLE_OTA_ATT_ERR_INVALID_ATTR_LEN) << "a delta REQUEST names its base";
    Bytes long_raw = request;
    long_raw[2] = 0;
    EXPECT_EQ(Control(long_raw), BLE_OTA_ATT_ERR_INVALID_ATTR_LEN);
    ASSERT_EQ(Control(DeltaRequest(target, patch, Sha(base), BLE_OTA_V2_FLAG_DELTA | BLE_OTA_V2_FLAG_DEFLATE)), 0);
    auto nak = Notes().back();
    EXPECT_EQ(nak[0], BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(nak[1], BLE_OTA_ERR_VALUE_NOT_ALLOWED) << "a patch is not also deflate";
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
}

}  // namespace
