// The core on the simulated device (NOR flash, two slots, boot record,
// bootloader and rollback model) through the ble_ota_host ABI: full updates
// and every failure, always asking "does the device still boot?".
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "bo_sha256.h"
#include "esp_image_builder.hpp"

using bo_test::AppImageSpec;
using bo_test::BuildAppImage;

namespace {

constexpr uint32_t kPartition = 256 * 1024;

class Device : public ::testing::Test {
protected:
    bo_host_t *h = nullptr;
    int32_t conn = -1;

    void SetUp() override
    {
        h = bo_host_create(kPartition);
        ASSERT_NE(h, nullptr);
    }
    void TearDown() override { bo_host_destroy(h); }

    void Connect(uint16_t mtu = 247, bool subscribe = true)
    {
        conn = bo_host_connect(h, mtu);
        ASSERT_GE(conn, 1);
        if (subscribe) {
            ASSERT_EQ(bo_host_subscribe(h, conn, 1), 1);
        }
    }
    int32_t WriteControl(uint8_t op) { return bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1); }
    int32_t WriteData(const uint8_t *d, size_t n) { return bo_host_write(h, conn, BO_HOST_CHAR_DATA, d, static_cast<uint32_t>(n)); }
    int32_t WritePacketSize(uint16_t n)
    {
        uint8_t le[2] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)};
        return WriteData(le, 2);
    }
    // Next notification byte, or -1 if none queued.
    int TakeNote()
    {
        uint8_t b[8];
        int32_t from = 0;
        int32_t n = bo_host_take_notification(h, &from, b, sizeof(b));
        if (n <= 0) {
            return -1;
        }
        EXPECT_EQ(n, 1);
        EXPECT_EQ(from, conn);
        return b[0];
    }
    int ReadControl()
    {
        uint8_t b[4];
        int32_t n = bo_host_read(h, conn, BO_HOST_CHAR_CONTROL, b, sizeof(b));
        EXPECT_EQ(n, 1);
        return n == 1 ? b[0] : -1;
    }
    // The v1 client sequence up to and including the REQUEST_ACK.
    void Begin(uint16_t packet)
    {
        ASSERT_EQ(WritePacketSize(packet), 0);
        ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
        ASSERT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_ACK);
    }
    // Sends img[from, to) in packet-size chunks; returns the first non-zero ATT status or 0.
    int32_t SendRange(const std::vector<uint8_t> &img, uint16_t packet, size_t from, size_t to)
    {
        for (size_t off = from; off < to; off += packet) {
            size_t n = std::min<size_t>(packet, to - off);
            int32_t st = WriteData(img.data() + off, n);
            if (st != 0) {
                return st;
            }
        }
        return 0;
    }
    // A whole v1 update; returns the notification after DONE (-1 if none).
    int FullUpdate(const std::vector<uint8_t> &img, uint16_t mtu)
    {
        Connect(mtu);
        uint16_t packet = static_cast<uint16_t>(std::min(mtu - 3, 512));
        Begin(packet);
        EXPECT_EQ(SendRange(img, packet, 0, img.size()), 0);
        EXPECT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
        return TakeNote();
    }
    std::string RunningVersion()
    {
        char v[40] = {};
        EXPECT_GE(bo_host_running_version(h, v, sizeof(v)), 0);
        return v;
    }
    std::vector<uint8_t> RunningImage()
    {
        std::vector<uint8_t> out(kPartition);
        int32_t n = bo_host_read_running_image(h, out.data(), static_cast<uint32_t>(out.size()));
        EXPECT_GT(n, 0);
        out.resize(n > 0 ? n : 0);
        return out;
    }
    // The invariant every test ends with: a reboot finds valid firmware.
    void ExpectBootsVersion(const std::string &version)
    {
        int32_t slot = bo_host_reboot(h);
        ASSERT_GE(slot, 0) << "device has no bootable firmware";
        EXPECT_EQ(bo_host_slot_image_valid(h, slot), 1);
        EXPECT_EQ(RunningVersion(), version);
        EXPECT_EQ(bo_host_nor_violations(h), 0);
    }
};

AppImageSpec Spec(const std::string &version, size_t payload = 20000)
{
    AppImageSpec s;
    s.version = version;
    s.app_payload = payload;
    return s;
}

}  // namespace

TEST(HostAbi, VersionAndBadArguments)
{
    EXPECT_EQ(bo_host_abi_version(), BO_HOST_ABI_VERSION);
    EXPECT_EQ(bo_host_create(1000), nullptr);
    EXPECT_EQ(bo_host_create(64 * 1024 + 1), nullptr);
    EXPECT_EQ(bo_host_connect(nullptr, 23), BO_HOST_E_ARG);
    bo_host_t *h = bo_host_create(64 * 1024);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(bo_host_connect(h, 22), BO_HOST_E_ARG);
    EXPECT_EQ(bo_host_connect(h, 518), BO_HOST_E_ARG);
    uint8_t b = 1;
    EXPECT_EQ(bo_host_write(h, 77, BO_HOST_CHAR_CONTROL, &b, 1), BO_HOST_E_NOT_CONNECTED);
    int32_t c = bo_host_connect(h, 23);
    EXPECT_EQ(bo_host_write(h, c, 7, &b, 1), BO_HOST_E_ARG);
    bo_host_destroy(h);
}

TEST_F(Device, StartsOnValidFactoryImageInSlot0)
{
    EXPECT_EQ(bo_host_running_slot(h), 0);
    EXPECT_EQ(bo_host_slot_state(h, 0), BO_HOST_IMG_VALID);
    EXPECT_EQ(bo_host_slot_image_valid(h, 1), 0);
    EXPECT_EQ(RunningVersion(), "0.0.0-factory");
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
}

TEST_F(Device, DataIsNotReadableAndControlReadsLastValue)
{
    Connect();
    uint8_t b[4];
    EXPECT_EQ(bo_host_read(h, conn, BO_HOST_CHAR_DATA, b, 4), -(0x100 + 0x02));
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_NOP);
    Begin(244);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_REQUEST_ACK);
}

TEST_F(Device, NotificationsOnlyReachSubscribedCentrals)
{
    Connect(247, /*subscribe=*/false);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
    EXPECT_EQ(TakeNote(), -1);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_REQUEST_ACK) << "a polling client still sees the answer";
}

// Expected Info value, built field by field at the offsets of the C# engine's DeviceInfo.
std::vector<uint8_t> ExpectedInfo(uint16_t chip, uint32_t slot, uint16_t max_packet, const std::string &version,
                                  const std::string &project, const std::string &idf, const std::vector<uint8_t> &running)
{
    std::vector<uint8_t> v(144, 0);
    v[0] = 1;  // format
    v[1] = 2;  // highest protocol version: the host device offers v2
    v[2] = static_cast<uint8_t>(chip);
    v[3] = static_cast<uint8_t>(chip >> 8);
    for (int i = 0; i < 4; i++) {
        v[4 + i] = static_cast<uint8_t>(slot >> (8 * i));
    }
    v[8] = static_cast<uint8_t>(max_packet);
    v[9] = static_cast<uint8_t>(max_packet >> 8);
    v[10] = 16;  // window (default)
    v[11] = 0;
    v[12] = 0x1A;  // features: resume | delta | deflate within 8 KB (bit 4; never bit 0, the 32 KB window)
    std::memcpy(&v[16], version.data(), std::min<size_t>(version.size(), 31));
    std::memcpy(&v[48], project.data(), std::min<size_t>(project.size(), 31));
    std::memcpy(&v[80], idf.data(), std::min<size_t>(idf.size(), 31));
    bo_sha256(running.data(), running.size(), &v[112]);  // SHA-256 of the running image, the whole file
    return v;
}


std::vector<uint8_t> ReadInfo(bo_host_t *h, int32_t conn)
{
    std::vector<uint8_t> out(200, 0xAA);
    int32_t n = bo_host_read(h, conn, BO_HOST_CHAR_INFO, out.data(), static_cast<uint32_t>(out.size()));
    EXPECT_EQ(n, 144);
    out.resize(n > 0 ? n : 0);
    return out;
}

TEST_F(Device, InfoOfTheFactoryImageIsByteExact)
{
    auto factory = RunningImage();
    Connect(23, /*subscribe=*/false);  // the whole value whatever the MTU: the ATT layer does read-long
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0x0000, kPartition, 512, "0.0.0-factory", "ble_ota_host", "v5.3.2", factory));
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_NOP) << "reading Info changes nothing";
}

TEST_F(Device, InfoBeforeAndAfterAnUpdate)
{
    auto factory = RunningImage();
    Connect();
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0, kPartition, 512, "0.0.0-factory", "ble_ota_host", "v5.3.2", factory));

    AppImageSpec spec = Spec("2.7.1-rc.3");
    spec.project_name = "my_sensor";
    spec.idf_ver = "v5.5.5-dirty";
    auto img = BuildAppImage(spec);
    uint16_t packet = 244;
    Begin(packet);
    size_t half = img.size() / 2 / packet * packet;
    ASSERT_EQ(SendRange(img, packet, 0, half), 0);
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0, kPartition, 512, "0.0.0-factory", "ble_ota_host", "v5.3.2", factory))
        << "mid-update Info still describes the running image";
    ASSERT_EQ(SendRange(img, packet, half, img.size()), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    ASSERT_EQ(TakeNote(), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0, kPartition, 512, "0.0.0-factory", "ble_ota_host", "v5.3.2", factory))
        << "the new version runs only after the restart";

    ASSERT_EQ(bo_host_reboot(h), 1);
    Connect();
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0, kPartition, 512, "2.7.1-rc.3", "my_sensor", "v5.5.5-dirty", img));
    ExpectBootsVersion("2.7.1-rc.3");
}

TEST_F(Device, InfoReportsChipIdMaxPacketAndSlotSize)
{
    auto factory = RunningImage();
    ASSERT_EQ(bo_host_set_chip_id(h, 0x0009), 0);
    ASSERT_EQ(bo_host_set_max_packet_size(h, 180), 0);
    Connect();
    // The factory image says ESP32; Info reports the chip the firmware is built for.
    EXPECT_EQ(ReadInfo(h, conn), ExpectedInfo(0x0009, kPartition, 180, "0.0.0-factory", "ble_ota_host", "v5.3.2", factory));

    bo_host_t *big = bo_host_create(0x1E0000);
    ASSERT_NE(big, nullptr);
    int32_t c = bo_host_connect(big, 517);
    auto info = ReadInfo(big, c);
    ASSERT_EQ(info.size(), 144u);
    EXPECT_EQ(info[4] | (info[5] << 8) | (info[6] << 16) | (static_cast<uint32_t>(info[7]) << 24), 0x1E0000u);
    bo_host_destroy(big);
}

TEST_F(Device, InfoIsReadOnlyAndNeedsTheWholeBuffer)
{
    Connect();
    uint8_t small[143];
    EXPECT_EQ(bo_host_read(h, conn, BO_HOST_CHAR_INFO, small, sizeof(small)), BO_HOST_E_TOO_SMALL);
    uint8_t b = 1;
    EXPECT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_INFO, &b, 1), 0x03) << "ATT write not permitted";
    EXPECT_EQ(bo_host_read(h, conn, 3, small, sizeof(small)), BO_HOST_E_ARG);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
}

class DeviceMtu : public Device, public ::testing::WithParamInterface<uint16_t> {};

TEST_P(DeviceMtu, FullUpdateMakesTheNewSlotBoot)
{
    auto img = BuildAppImage(Spec("1.2.3"));
    EXPECT_EQ(FullUpdate(img, GetParam()), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_restart_pending(h), 1);
    EXPECT_EQ(bo_host_restart_delay_ms(h), 500);
    EXPECT_EQ(bo_host_boot_slot(h), 1);
    EXPECT_EQ(bo_host_slot_state(h, 1), BO_HOST_IMG_NEW);
    EXPECT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(bo_host_slot_state(h, 1), BO_HOST_IMG_VALID) << "self-test passed -> marked valid";
    EXPECT_EQ(RunningImage(), img) << "byte for byte, no padding";
    EXPECT_EQ(bo_host_is_connected(h, conn), 0) << "the restart dropped the link";
    ExpectBootsVersion("1.2.3");
}

INSTANTIATE_TEST_SUITE_P(Mtus, DeviceMtu, ::testing::Values(23, 185, 247, 515, 517));

TEST_F(Device, TwoUpdatesInARowAlternateSlots)
{
    auto a = BuildAppImage(Spec("2.0.0"));
    auto b = BuildAppImage(Spec("3.0.0", 70000));
    EXPECT_EQ(FullUpdate(a, 247), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_reboot(h), 1);
    EXPECT_EQ(FullUpdate(b, 247), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_reboot(h), 0);
    EXPECT_EQ(RunningImage(), b);
    ExpectBootsVersion("3.0.0");
}

TEST_F(Device, SameVersionIsNotRefused)
{
    auto a = BuildAppImage(Spec("0.0.0-factory"));
    EXPECT_EQ(FullUpdate(a, 247), BLE_OTA_OP_DONE_ACK);
}

TEST_F(Device, UpdateOverAStalePartialImageErasesFirst)
{
    auto junk = BuildAppImage(Spec("junk", 60000));
    Connect();
    Begin(244);
    ASSERT_EQ(SendRange(junk, 244, 0, 40000), 0);
    ASSERT_EQ(bo_host_disconnect(h, conn), 0);
    auto good = BuildAppImage(Spec("4.0.0", 50000));
    EXPECT_EQ(FullUpdate(good, 247), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_nor_violations(h), 0);
    ExpectBootsVersion("4.0.0");
}

TEST_F(Device, CorruptedImageGetsDoneNakAndOldSlotBoots)
{
    auto img = BuildAppImage(Spec("6.6.6"));
    img[5000] ^= 0x40;
    EXPECT_EQ(FullUpdate(img, 247), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_restart_pending(h), 0);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_IMAGE_INVALID);
    EXPECT_EQ(bo_host_boot_slot(h), 0);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, CorruptedHashGetsDoneNak)
{
    auto img = BuildAppImage(Spec("6.6.7"));
    img[img.size() - 1] ^= 0x01;
    EXPECT_EQ(FullUpdate(img, 185), BLE_OTA_OP_DONE_NAK);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, TruncatedImageGetsDoneNak)
{
    auto img = BuildAppImage(Spec("7.0.0"));
    Connect();
    Begin(244);
    ASSERT_EQ(SendRange(img, 244, 0, img.size() - 100), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_NAK);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, WrongChipImageIsRefusedAtItsHeaderAndEndsInDoneNak)
{
    AppImageSpec s = Spec("s3-build");
    s.chip_id = 9;
    std::vector<uint8_t> img = BuildAppImage(s);
    Connect();
    Begin(244);
    EXPECT_EQ(SendRange(img, 244, 0, img.size()), 0) << "every packet is taken, as the tutorial's firmware does";
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_WRONG_CHIP);
    EXPECT_EQ(bo_host_erase_count(h), 0) << "refused at its header: the slot was never touched";
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_NAK);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, NotAnImageEndsInDoneNakAndTheOldImageBoots)
{
    Connect();
    Begin(244);
    std::vector<uint8_t> junk(2000, 0x42);
    EXPECT_EQ(SendRange(junk, 244, 0, junk.size()), 0) << "every packet is taken, as the tutorial's firmware does";
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_IMAGE_INVALID);
    EXPECT_EQ(bo_host_erase_count(h), 0) << "esp_ota_write refused the first byte: the slot was never touched";
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(bo_host_restart_pending(h), 0);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, DoneBeforeAnyDataNaks)
{
    Connect();
    Begin(244);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_NO_DATA);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, DoneWhileIdleIsAnAttError)
{
    Connect();
    EXPECT_EQ(WriteControl(BLE_OTA_OP_DONE), BLE_OTA_ATT_ERR_INVALID_STATE);
    EXPECT_EQ(TakeNote(), -1);
}

TEST_F(Device, DataBeforeRequestIsAnAttError)
{
    Connect();
    auto img = BuildAppImage();
    EXPECT_EQ(WriteData(img.data(), 244), BLE_OTA_ATT_ERR_INVALID_STATE);
    EXPECT_EQ(WriteData(img.data(), 1), BLE_OTA_ATT_ERR_INVALID_STATE);
    EXPECT_EQ(bo_host_erase_count(h), 0) << "nothing touched flash";
}

TEST_F(Device, PacketLargerThanNegotiatedIsRefusedAndAborts)
{
    auto img = BuildAppImage();
    Connect(247);
    Begin(100);
    ASSERT_EQ(WriteData(img.data(), 100), 0);
    EXPECT_EQ(WriteData(img.data() + 100, 101), BLE_OTA_ATT_ERR_INVALID_ATTR_LEN);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, PacketSizeAboveReceiveBufferIsRefused)
{
    ASSERT_EQ(bo_host_set_max_packet_size(h, 256), 0);
    Connect(517);
    EXPECT_EQ(WritePacketSize(257), BLE_OTA_ATT_ERR_VALUE_NOT_ALLOWED);
    EXPECT_EQ(WritePacketSize(0), BLE_OTA_ATT_ERR_VALUE_NOT_ALLOWED);
    EXPECT_EQ(WritePacketSize(256), 0);
}

TEST_F(Device, WriteLongerThanAnAttributeIsRefusedAndAborts)
{
    // NimBLE passes a 513-byte Write Command on to the callback (MTU 517 allows 514): the core refuses it.
    auto img = BuildAppImage();
    Connect(517);
    Begin(512);
    ASSERT_EQ(WriteData(img.data(), 512), 0);
    std::vector<uint8_t> big(513, 0xE9);
    EXPECT_EQ(WriteData(big.data(), big.size()), BLE_OTA_ATT_ERR_INVALID_ATTR_LEN);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, ImageLargerThanThePartitionEndsInDoneNak)
{
    auto img = BuildAppImage(Spec("huge", kPartition)); // bigger than the slot
    Connect(515);
    Begin(512);
    EXPECT_EQ(SendRange(img, 512, 0, img.size()), 0);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_IMAGE_TOO_LARGE);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, FlashWriteFailureNaksAbortsAndARetrySucceeds)
{
    auto img = BuildAppImage(Spec("8.0.0"));
    ASSERT_EQ(bo_host_fail_write_at(h, 10000), 0);
    Connect();
    Begin(244);
    EXPECT_EQ(SendRange(img, 244, 0, img.size()), BLE_OTA_ATT_ERR_FLASH);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_FLASH);
    EXPECT_EQ(WriteControl(BLE_OTA_OP_DONE), BLE_OTA_ATT_ERR_INVALID_STATE);
    // same connection, start again from the beginning
    ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
    ASSERT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_ACK);
    ASSERT_EQ(SendRange(img, 244, 0, img.size()), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_ACK);
    ExpectBootsVersion("8.0.0");
}

TEST_F(Device, EraseFailureNaksAndAborts)
{
    auto img = BuildAppImage(Spec("8.1.0"));
    ASSERT_EQ(bo_host_fail_erase_at(h, 8192), 0); // in the first block, erased with the first packet
    Connect();
    Begin(244);
    EXPECT_EQ(SendRange(img, 244, 0, img.size()), BLE_OTA_ATT_ERR_FLASH);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, AnEraseFailureInALaterBlockNaksAndAbortsToo)
{
    auto img = BuildAppImage(Spec("8.1.1", 100000));
    ASSERT_EQ(bo_host_fail_erase_at(h, 65536 + 8192), 0); // in the second block, erased when the data reaches it
    Connect();
    Begin(244);
    EXPECT_EQ(SendRange(img, 244, 0, img.size()), BLE_OTA_ATT_ERR_FLASH);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, TheSlotIsErasedAhead64KbAtATimeAndNeverTwice)
{
    auto img = BuildAppImage(Spec("8.2.0", 140000));
    Connect();
    Begin(244);
    EXPECT_EQ(bo_host_erase_count(h), 0) << "REQUEST erases nothing before the image's header is judged";
    ASSERT_EQ(SendRange(img, 244, 0, 244), 0);
    EXPECT_EQ(bo_host_erase_count(h), 16) << "the first packet erased the first block";
    ASSERT_EQ(SendRange(img, 244, 244, 65536 - 65536 % 244), 0);
    EXPECT_EQ(bo_host_erase_count(h), 16) << "nothing more within it";
    ASSERT_EQ(SendRange(img, 244, 65536 - 65536 % 244, 65536 + 244), 0);
    EXPECT_EQ(bo_host_erase_count(h), 32) << "the next block before the data entered it";
    ASSERT_EQ(SendRange(img, 244, 65536 + 244, img.size()), 0);
    EXPECT_EQ(bo_host_erase_count(h), 48) << "a 140 KB image is three blocks";
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_nor_violations(h), 0);
    ExpectBootsVersion("8.2.0");
}

TEST_F(Device, SetBootFailureNaksAndKeepsOldFirmware)
{
    ASSERT_EQ(bo_host_fail_set_boot(h, 1), 0);
    EXPECT_EQ(FullUpdate(BuildAppImage(Spec("9.0.0")), 247), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_SET_BOOT);
    ExpectBootsVersion("0.0.0-factory");
}

TEST_F(Device, NoUpdatePartitionNaksTheRequest)
{
    ASSERT_EQ(bo_host_fail_begin(h, 1), 0);
    Connect();
    ASSERT_EQ(WritePacketSize(244), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(bo_host_last_error(h), BLE_OTA_ERR_NO_PARTITION);
}

TEST_F(Device, SecondRequestMidUpdateStartsOverAndFinishes)
{
    auto img = BuildAppImage(Spec("10.0.0"));
    Connect();
    Begin(244);
    ASSERT_EQ(SendRange(img, 244, 0, 30000), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
    ASSERT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_ACK);
    EXPECT_EQ(bo_host_bytes_received(h), 0);
    ASSERT_EQ(SendRange(img, 244, 0, img.size()), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_ACK);
    ExpectBootsVersion("10.0.0");
}

TEST_F(Device, SecondCentralCannotHijackAnUpdate)
{
    auto img = BuildAppImage(Spec("11.0.0"));
    Connect();
    Begin(244);
    int32_t other = bo_host_connect(h, 185);
    ASSERT_GE(other, 1);
    ASSERT_EQ(bo_host_subscribe(h, other, 1), 1);
    uint8_t req = BLE_OTA_OP_REQUEST;
    EXPECT_EQ(bo_host_write(h, other, BO_HOST_CHAR_CONTROL, &req, 1), 0);
    uint8_t b[4];
    int32_t from = 0;
    ASSERT_EQ(bo_host_take_notification(h, &from, b, 4), 1);
    EXPECT_EQ(from, other);
    EXPECT_EQ(b[0], BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(bo_host_write(h, other, BO_HOST_CHAR_DATA, img.data(), 100), BLE_OTA_ATT_ERR_BUSY);
    ASSERT_EQ(SendRange(img, 244, 0, img.size()), 0);
    ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
    EXPECT_EQ(TakeNote(), BLE_OTA_OP_DONE_ACK);
}

// Disconnect in every phase; the device must always boot valid firmware and
// accept a fresh update afterwards.
enum class Phase { Connected, PacketSizeWritten, RequestAcked, MidData, AllDataNoDone, AfterDoneAck, AfterDoneNak };

std::string PhaseName(const ::testing::TestParamInfo<Phase> &info)
{
    static const char *const kNames[] = {"Connected", "PacketSizeWritten", "RequestAcked", "MidData",
                                         "AllDataNoDone", "AfterDoneAck", "AfterDoneNak"};
    return kNames[static_cast<int>(info.param)];
}

class DeviceDisconnect : public Device, public ::testing::WithParamInterface<Phase> {};

TEST_P(DeviceDisconnect, LeavesABootableDeviceThatAcceptsANewUpdate)
{
    const Phase phase = GetParam();
    auto img = BuildAppImage(Spec("12.0.0"));
    if (phase == Phase::AfterDoneNak) {
        img[3000] ^= 1;
    }
    Connect();
    if (phase >= Phase::PacketSizeWritten) {
        ASSERT_EQ(WritePacketSize(244), 0);
    }
    if (phase >= Phase::RequestAcked) {
        ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
        ASSERT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_ACK);
    }
    if (phase == Phase::MidData) {
        ASSERT_EQ(SendRange(img, 244, 0, img.size() / 2), 0);
    }
    if (phase >= Phase::AllDataNoDone) {
        ASSERT_EQ(SendRange(img, 244, 0, img.size()), 0);
    }
    if (phase >= Phase::AfterDoneAck) {
        ASSERT_EQ(WriteControl(BLE_OTA_OP_DONE), 0);
        ASSERT_EQ(TakeNote(), phase == Phase::AfterDoneAck ? BLE_OTA_OP_DONE_ACK : BLE_OTA_OP_DONE_NAK);
    }
    ASSERT_EQ(bo_host_disconnect(h, conn), 0);

    if (phase == Phase::AfterDoneAck) {
        EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_RESTARTING);
        ExpectBootsVersion("12.0.0"); // the restart still happens, new firmware
        return;
    }
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    // Without a reboot, a new connection can update at once.
    auto fresh = BuildAppImage(Spec("13.0.0"));
    EXPECT_EQ(FullUpdate(fresh, 185), BLE_OTA_OP_DONE_ACK);
    ExpectBootsVersion("13.0.0");
}

INSTANTIATE_TEST_SUITE_P(Phases, DeviceDisconnect,
                         ::testing::Values(Phase::Connected, Phase::PacketSizeWritten, Phase::RequestAcked,
                                           Phase::MidData, Phase::AllDataNoDone, Phase::AfterDoneAck,
                                           Phase::AfterDoneNak),
                         PhaseName);

TEST_F(Device, FailedSelfTestRollsBackToThePreviousSlot)
{
    ASSERT_EQ(bo_host_set_self_test_result(h, 0), 0);
    EXPECT_EQ(FullUpdate(BuildAppImage(Spec("bad-app")), 247), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(bo_host_reboot(h), 0);
    EXPECT_EQ(bo_host_slot_state(h, 1), BO_HOST_IMG_INVALID);
    EXPECT_EQ(RunningVersion(), "0.0.0-factory");
    // and the device takes the next update
    ASSERT_EQ(bo_host_set_self_test_result(h, 1), 0);
    EXPECT_EQ(FullUpdate(BuildAppImage(Spec("good-app")), 247), BLE_OTA_OP_DONE_ACK);
    ExpectBootsVersion("good-app");
}

TEST_F(Device, PowerLossMidUpdateStillBootsOldFirmware)
{
    auto img = BuildAppImage(Spec("14.0.0"));
    Connect();
    Begin(244);
    ASSERT_EQ(SendRange(img, 244, 0, img.size() / 3), 0);
    ExpectBootsVersion("0.0.0-factory"); // reboot without any disconnect event
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
}

// Random walks of client mistakes and faults: the device must never end up
// without bootable firmware, and a clean update must work afterwards.
TEST_F(Device, RandomFaultsNeverBrickTheDevice)
{
    std::mt19937 rng(12345);
    auto img = BuildAppImage(Spec("rand", 30000));
    std::string expected = "0.0.0-factory";
    for (int round = 0; round < 60; round++) {
        uint16_t mtu = static_cast<uint16_t>(23 + rng() % 495);
        uint16_t packet = static_cast<uint16_t>(std::min(mtu - 3, 512));
        int fault = static_cast<int>(rng() % 8);
        size_t cut = rng() % img.size();
        auto sent = img;
        if (fault == 1) {
            sent[cut] ^= static_cast<uint8_t>(1 + rng() % 255);
        }
        if (fault == 2) {
            bo_host_fail_write_at(h, static_cast<int64_t>(cut));
        }
        if (fault == 3) {
            bo_host_fail_erase_at(h, static_cast<int64_t>(cut));
        }
        Connect(mtu);
        ASSERT_EQ(WritePacketSize(packet), 0);
        ASSERT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
        ASSERT_EQ(TakeNote(), BLE_OTA_OP_REQUEST_ACK);
        size_t end = (fault == 4 || fault == 5) ? cut : sent.size();
        int32_t st = SendRange(sent, packet, 0, end);
        if (fault == 5) {
            bo_host_disconnect(h, conn);
        } else if (fault == 6) {
            bo_host_reboot(h); // power loss
        } else {
            WriteControl(BLE_OTA_OP_DONE);
            int note = TakeNote();
            if (st == 0 && note == BLE_OTA_OP_DONE_ACK) {
                expected = "rand";
            }
        }
        bo_host_fail_write_at(h, -1);
        bo_host_fail_erase_at(h, -1);
        int32_t slot = bo_host_reboot(h);
        ASSERT_GE(slot, 0) << "bricked in round " << round << " fault " << fault;
        ASSERT_EQ(RunningVersion(), expected) << "round " << round << " fault " << fault;
        ASSERT_EQ(bo_host_nor_violations(h), 0);
    }
}
