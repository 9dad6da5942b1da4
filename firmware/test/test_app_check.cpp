// The device refuses what is not an app for its chip: core/ble_ota_app_check.c on its own, then on the
// simulated ESP32-C3 through v1 and v2, with each kind of non-app file an admin might pick by mistake.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ble_ota_app_check.h"
#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "bo_sha256.h"
#include "esp_image_builder.hpp"

using namespace bo_test;

namespace {

using Bytes = std::vector<uint8_t>;

// soc/esp32c3/include/soc/soc.h: SOC_DROM_LOW/HIGH, SOC_IROM_LOW/HIGH; what the ESP-IDF port passes.
constexpr ble_ota_app_rules_t kEsp32C3Rules = {0x0005, 0x3C000000u, 0x3C800000u, 0x42000000u, 0x42800000u};

Bytes Bootloader() { return BuildAppImage(Esp32C3Bootloader()); }
Bytes App(const std::string &version = "1.0.0") { return BuildAppImage(Esp32C3App(version)); }
Bytes Merged() { return BuildMergedFlashImage(Bootloader(), App()); }

struct Verdict {
    ble_ota_err_t feed;    // first refusal of the feed, or OK
    size_t refused_after;  // bytes fed when it came
    ble_ota_err_t finish;
};

Verdict Check(const Bytes &image, size_t chunk, const ble_ota_app_rules_t &rules = kEsp32C3Rules)
{
    ble_ota_app_check_t c;
    ble_ota_app_check_init(&c, &rules);
    Verdict v{BLE_OTA_OK, 0, BLE_OTA_OK};
    for (size_t off = 0; off < image.size(); off += chunk) {
        size_t n = std::min(chunk, image.size() - off);
        ble_ota_err_t e = ble_ota_app_check_feed(&c, image.data() + off, n);
        if (e != BLE_OTA_OK) {
            v.feed = e;
            v.refused_after = off + n;
            break;
        }
    }
    v.finish = ble_ota_app_check_finish(&c);
    return v;
}

// ble_ota_app_check_digest_covers after `image` is fed in chunks, with flash holding `stored_header` (the image's own
// header when empty).
bool DigestCovers(const Bytes &image, size_t chunk, Bytes stored_header = {})
{
    ble_ota_app_check_t c;
    ble_ota_app_check_init(&c, &kEsp32C3Rules);
    for (size_t off = 0; off < image.size(); off += chunk) {
        (void)ble_ota_app_check_feed(&c, image.data() + off, std::min(chunk, image.size() - off));
    }
    if (stored_header.empty()) {
        stored_header.assign(image.begin(), image.begin() + BLE_OTA_APP_CHECK_HEADER_LEN);
    }
    return ble_ota_app_check_digest_covers(&c, stored_header.data());
}

constexpr size_t kHashAppendedOffset = 23; // esp_image_header_t.hash_appended

// Bytes fed when the chunk that completes the first `at` bytes of an image of `size` bytes has gone in.
size_t FedWhenByteArrives(size_t at, size_t chunk, size_t size) { return std::min((at + chunk - 1) / chunk * chunk, size); }

class AppCheckChunks : public ::testing::TestWithParam<size_t> {};

}  // namespace

TEST_P(AppCheckChunks, AnAppForTheChipPasses)
{
    Verdict v = Check(App(), GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_OK);
    EXPECT_EQ(v.finish, BLE_OTA_OK);
}

TEST_P(AppCheckChunks, ABootloaderIsRefusedAtItsFirstSegmentHeader)
{
    Bytes image = Bootloader();
    Verdict v = Check(image, GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_ERR_NOT_APP);
    EXPECT_EQ(v.refused_after, FedWhenByteArrives(32, GetParam(), image.size())) << "judged at the first segment header";
    EXPECT_EQ(v.finish, BLE_OTA_ERR_NOT_APP);
}

TEST_P(AppCheckChunks, AMergedFlashImageIsRefusedLikeTheBootloaderItStartsWith)
{
    Bytes image = Merged();
    Verdict v = Check(image, GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_ERR_NOT_APP);
    EXPECT_EQ(v.refused_after, FedWhenByteArrives(32, GetParam(), image.size()));
}

TEST_P(AppCheckChunks, ARamOnlyImageIsRefusedEvenWithAnAppDescriptor)
{
    Verdict v = Check(BuildAppImage(Esp32C3RamOnly()), GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_ERR_NOT_APP);
    EXPECT_EQ(v.finish, BLE_OTA_ERR_NOT_APP);
}

TEST_P(AppCheckChunks, AnImageWithoutCodeInFlashIsRefusedAtTheEnd)
{
    Verdict v = Check(BuildAppImage(Esp32C3NoFlashCode()), GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_OK) << "only the last segment header can tell";
    EXPECT_EQ(v.finish, BLE_OTA_ERR_NOT_APP);
}

TEST_P(AppCheckChunks, AnotherChipsAppIsRefusedAtItsHeader)
{
    Bytes image = BuildAppImage(); // an ESP32 app
    Verdict v = Check(image, GetParam());
    EXPECT_EQ(v.feed, BLE_OTA_ERR_WRONG_CHIP);
    EXPECT_EQ(v.refused_after, FedWhenByteArrives(24, GetParam(), image.size()));
}

TEST_P(AppCheckChunks, AnAppThatEndsWithItsAppendedHashIsCoveredByIt)
{
    Bytes image = App();
    ASSERT_EQ(image[kHashAppendedOffset], 1);
    EXPECT_TRUE(DigestCovers(image, GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Chunks, AppCheckChunks, ::testing::Values(1, 7, 20, 36, 244, 509, 1 << 20));

TEST(AppCheck, AnAppWithoutItsDescriptorIsRefusedAt36Bytes)
{
    Bytes image = App();
    image[kAppDescOffset] ^= 0xFF; // the magic word of esp_app_desc_t
    Verdict v = Check(image, 1);
    EXPECT_EQ(v.feed, BLE_OTA_ERR_NOT_APP);
    EXPECT_EQ(v.refused_after, BLE_OTA_APP_CHECK_PREFIX_LEN);
}

TEST(AppCheck, NotAnEspImageIsInvalidAtTheFirstByte)
{
    Bytes image = App();
    image[0] = 0x00;
    Verdict v = Check(image, 1);
    EXPECT_EQ(v.feed, BLE_OTA_ERR_IMAGE_INVALID);
    EXPECT_EQ(v.refused_after, 1u);
}

TEST(AppCheck, AnImageCutBeforeItsLastSegmentHeaderIsInvalid)
{
    Bytes image = App();
    image.resize(1000); // inside segment 1's data: segments 2 and 3 never arrive
    EXPECT_EQ(Check(image, 100).finish, BLE_OTA_ERR_IMAGE_INVALID);
}

TEST(AppCheck, EveryChipInTheHostTableAcceptsItsOwnAppsOnly)
{
    // ESP32's ranges differ from the C3's: the same C3 app is an ESP32-style image only in its chip id.
    constexpr ble_ota_app_rules_t kEsp32Rules = {0x0000, 0x3F400000u, 0x3F800000u, 0x400D0000u, 0x40400000u};
    EXPECT_EQ(Check(BuildAppImage(), 64, kEsp32Rules).finish, BLE_OTA_OK);
    AppImageSpec c3_at_esp32_addresses = Esp32C3App();
    c3_at_esp32_addresses.chip_id = 0x0000;
    EXPECT_EQ(Check(BuildAppImage(c3_at_esp32_addresses), 64, kEsp32Rules).feed, BLE_OTA_ERR_NOT_APP);
}

// ---- on the simulated ESP32-C3, through the core ------------------------------------------------------

namespace {

constexpr uint32_t kPartition = 256 * 1024;
constexpr uint16_t kMtu = 247;
constexpr uint16_t kPacket = kMtu - 3;

// A simulated ESP32-C3 running a C3 app, "0.0.0-factory".
bo_host_t *NewEsp32C3()
{
    bo_host_t *h = bo_host_create(kPartition);
    if (h != nullptr) {
        Bytes factory = App("0.0.0-factory");
        EXPECT_EQ(bo_host_set_chip_id(h, kChipEsp32C3), 0);
        EXPECT_EQ(bo_host_install_image(h, 0, factory.data(), static_cast<uint32_t>(factory.size())), 0);
        EXPECT_EQ(bo_host_reboot(h), 0);
    }
    return h;
}

class NonAppOnDevice : public ::testing::TestWithParam<int> {
protected:
    bo_host_t *h = nullptr;
    int32_t conn = -1;

    void SetUp() override
    {
        h = NewEsp32C3();
        ASSERT_NE(h, nullptr);
        conn = bo_host_connect(h, kMtu);
        ASSERT_GE(conn, 1);
        ASSERT_EQ(bo_host_subscribe(h, conn, 1), 1);
    }
    void TearDown() override { bo_host_destroy(h); }

    Bytes Image() const
    {
        switch (GetParam()) {
        case 0: return Bootloader();
        case 1: return BuildAppImage(Esp32C3RamOnly());
        case 2: return Merged();
        default: return BuildAppImage(); // an ESP32 app
        }
    }
    ble_ota_err_t Expected() const { return GetParam() == 3 ? BLE_OTA_ERR_WRONG_CHIP : BLE_OTA_ERR_NOT_APP; }

    int32_t Write(int which, const uint8_t *d, size_t n) { return bo_host_write(h, conn, which, d, static_cast<uint32_t>(n)); }
    Bytes LastNote()
    {
        Bytes last;
        uint8_t b[32];
        int32_t n;
        while ((n = bo_host_take_notification(h, nullptr, b, sizeof(b))) > 0) {
            last.assign(b, b + n);
        }
        return last;
    }
    void ExpectFactoryStillBoots()
    {
        EXPECT_EQ(bo_host_boot_slot(h), 0) << "the boot slot must not change";
        ASSERT_EQ(bo_host_reboot(h), 0);
        char v[40] = {};
        ASSERT_GE(bo_host_running_version(h, v, sizeof(v)), 0);
        EXPECT_STREQ(v, "0.0.0-factory");
        EXPECT_EQ(bo_host_nor_violations(h), 0);
    }
};

}  // namespace

TEST_P(NonAppOnDevice, V1RefusesTheFirstPacketBeforeFlashIsTouchedAndEndsInDoneNak)
{
    uint8_t request = BLE_OTA_OP_REQUEST;
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &request, 1), 0);
    ASSERT_EQ(LastNote(), Bytes{BLE_OTA_OP_REQUEST_ACK});
    Bytes image = Image();

    // As for any image the device cannot take: every write is answered, the rest dropped (docs/protocol.md).
    for (size_t off = 0; off < image.size(); off += kPacket) {
        ASSERT_EQ(Write(BO_HOST_CHAR_DATA, image.data() + off, std::min<size_t>(kPacket, image.size() - off)), 0);
        ASSERT_EQ(bo_host_last_error(h), Expected()) << "refused at the first packet";
    }
    EXPECT_EQ(bo_host_erase_count(h), 0) << "nothing erased or written";
    uint8_t done = BLE_OTA_OP_DONE;
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &done, 1), 0);
    EXPECT_EQ(LastNote(), Bytes{BLE_OTA_OP_DONE_NAK});
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectFactoryStillBoots();
}

TEST_P(NonAppOnDevice, V2EndsWithDoneNakAndItsCode)
{
    Bytes image = Image();
    Bytes req(BLE_OTA_V2_REQUEST_LEN, 0);
    req[0] = BLE_OTA_OP_REQUEST;
    req[1] = BLE_OTA_V2;
    for (int i = 0; i < 4; i++) {
        req[3 + i] = req[7 + i] = static_cast<uint8_t>(image.size() >> (8 * i));
    }
    bo_sha256(image.data(), image.size(), &req[11]);
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, req.data(), req.size()), 0);
    ASSERT_EQ(LastNote()[0], BLE_OTA_OP_REQUEST_ACK);

    Bytes packet(4 + kPacket - 4);
    std::memcpy(&packet[4], image.data(), packet.size() - 4); // offset 0
    (void)Write(BO_HOST_CHAR_DATA, packet.data(), packet.size());

    Bytes nak = LastNote();
    ASSERT_EQ(nak.size(), BLE_OTA_V2_NOTIFY_LEN);
    EXPECT_EQ(nak[0], BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(nak[1], Expected());
    EXPECT_EQ(bo_host_erase_count(h), 0) << "nothing erased or written";
    ExpectFactoryStillBoots();
}

TEST_P(NonAppOnDevice, AnAppAfterTheRefusalStillUpdates)
{
    uint8_t request = BLE_OTA_OP_REQUEST;
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &request, 1), 0);
    Bytes image = Image();
    ASSERT_EQ(Write(BO_HOST_CHAR_DATA, image.data(), kPacket), 0);
    uint8_t done = BLE_OTA_OP_DONE;
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &done, 1), 0);
    ASSERT_EQ(LastNote(), Bytes{BLE_OTA_OP_DONE_NAK});

    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &request, 1), 0);
    ASSERT_EQ(LastNote(), Bytes{BLE_OTA_OP_REQUEST_ACK});
    Bytes app = App("2.0.0");
    for (size_t off = 0; off < app.size(); off += kPacket) {
        ASSERT_EQ(Write(BO_HOST_CHAR_DATA, app.data() + off, std::min<size_t>(kPacket, app.size() - off)), 0);
    }
    ASSERT_EQ(Write(BO_HOST_CHAR_CONTROL, &done, 1), 0);
    EXPECT_EQ(LastNote(), Bytes{BLE_OTA_OP_DONE_ACK});
    ASSERT_EQ(bo_host_reboot(h), 1);
}

std::string KindName(const ::testing::TestParamInfo<int> &info)
{
    static const char *const kNames[] = {"Bootloader", "RamOnly", "MergedFlashImage", "OtherChipApp"};
    return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(Kinds, NonAppOnDevice, ::testing::Values(0, 1, 2, 3), KindName);

TEST(NonAppAtDone, AnImageWithoutFlashCodeGetsDoneNakAndTheBootSlotStays)
{
    bo_host_t *h = NewEsp32C3();
    ASSERT_NE(h, nullptr);
    int32_t conn = bo_host_connect(h, kMtu);
    ASSERT_EQ(bo_host_subscribe(h, conn, 1), 1);
    uint8_t op = BLE_OTA_OP_REQUEST;
    ASSERT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1), 0);
    Bytes image = BuildAppImage(Esp32C3NoFlashCode());
    for (size_t off = 0; off < image.size(); off += kPacket) {
        ASSERT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_DATA, image.data() + off,
                                static_cast<uint32_t>(std::min<size_t>(kPacket, image.size() - off))), 0);
    }
    op = BLE_OTA_OP_DONE;
    ASSERT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1), 0);
    uint8_t note[8];
    int32_t n, last = -1;
    while ((n = bo_host_take_notification(h, nullptr, note, sizeof(note))) > 0) {
        last = note[0];
    }
    EXPECT_EQ(last, BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_NOT_APP);
    EXPECT_EQ(bo_host_boot_slot(h), 0);
    EXPECT_EQ(bo_host_reboot(h), 0);
    bo_host_destroy(h);
}

TEST(AppCheckDigest, WithoutAnAppendedHashNothingIsCovered)
{
    AppImageSpec spec = Esp32C3App();
    spec.hash_appended = false;
    EXPECT_FALSE(DigestCovers(BuildAppImage(spec), 64));
}

TEST(AppCheckDigest, AnyHashAppendedValueButZeroCounts)
{
    // esp_image_format.c tests the byte as a boolean (process_image_header, process_appended_hash_and_sig).
    Bytes image = App();
    image[kHashAppendedOffset] = 2;
    EXPECT_TRUE(DigestCovers(image, 64));
}

TEST(AppCheckDigest, BytesAfterTheHashOrAHashCutShortAreNotCovered)
{
    Bytes signed_like = App();
    signed_like.insert(signed_like.end(), 4096, 0x00); // as a signature sector would follow
    EXPECT_FALSE(DigestCovers(signed_like, 509));
    Bytes one_more = App();
    one_more.push_back(0xFF);
    EXPECT_FALSE(DigestCovers(one_more, 509));
    Bytes short_one = App();
    short_one.pop_back();
    EXPECT_FALSE(DigestCovers(short_one, 509));
}

TEST(AppCheckDigest, AHeaderStoredDifferentlyFromTheOneSentIsNotCovered)
{
    Bytes image = App();
    Bytes stored(image.begin(), image.begin() + BLE_OTA_APP_CHECK_HEADER_LEN);
    stored[kHashAppendedOffset] = 0; // esp_image_verify would then skip the hash
    EXPECT_FALSE(DigestCovers(image, 64, stored));
    stored = Bytes(image.begin(), image.begin() + BLE_OTA_APP_CHECK_HEADER_LEN);
    stored[3] ^= 0x01; // the flash mode and size byte
    EXPECT_FALSE(DigestCovers(image, 64, stored));
}

TEST(AppCheckDigest, WhatIsNotAnAppIsNotCovered)
{
    EXPECT_FALSE(DigestCovers(Bootloader(), 64));
    EXPECT_FALSE(DigestCovers(BuildAppImage(Esp32C3NoFlashCode()), 64));
}
