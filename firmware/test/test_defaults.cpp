// The firmware as configured by default (sdkconfig.defaults, the component's
// Kconfig) against what the tutorial's unmodified Python client does
// (michael-angerer/esp32_ble_ota, ble_client/main.py): it looks for a device
// named exactly "esp32" (_search_for_esp32) and sends mtu_size - 3 as its
// packet size, uncapped (send_ota). The C# tests drive a full model of that
// client; these pin the two defaults it depends on.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "esp_image_builder.hpp"

namespace {

std::string ReadFile(const std::string &path)
{
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << path;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

int PreferredMtu()
{
    std::smatch m;
    std::string text = ReadFile(BLEOTA_FIRMWARE_DIR "/sdkconfig.defaults");
    if (!std::regex_search(text, m, std::regex(R"re(CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU=(\d+))re"))) {
        ADD_FAILURE() << "sdkconfig.defaults sets no preferred ATT MTU";
        return 0;
    }
    return std::stoi(m[1]);
}

// The tutorial client's sequence with its packet size of MTU - 3, uncapped; returns the DONE answer.
int TutorialClientUpdate(uint16_t mtu, const std::vector<uint8_t> &image)
{
    bo_host_t *h = bo_host_create(256 * 1024);
    int32_t conn = bo_host_connect(h, mtu);
    EXPECT_EQ(bo_host_subscribe(h, conn, 1), 1);
    uint16_t packet = static_cast<uint16_t>(mtu - 3);
    uint8_t size[2] = {static_cast<uint8_t>(packet), static_cast<uint8_t>(packet >> 8)};
    EXPECT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_DATA, size, 2), 0) << "packet size " << packet;
    uint8_t op = BLE_OTA_OP_REQUEST;
    EXPECT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1), 0);
    for (size_t off = 0; off < image.size(); off += packet) {
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(packet, image.size() - off));
        EXPECT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_DATA, image.data() + off, n), 0) << "at " << off;
    }
    op = BLE_OTA_OP_DONE;
    EXPECT_EQ(bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1), 0);
    uint8_t notes[2][8];
    EXPECT_EQ(bo_host_take_notification(h, nullptr, notes[0], sizeof(notes[0])), 1);
    int32_t n = bo_host_take_notification(h, nullptr, notes[1], sizeof(notes[1]));
    bo_host_destroy(h);
    return n == 1 ? notes[1][0] : -1;
}

}  // namespace

TEST(Defaults, TheDeviceNameIsTheOneTheTutorialsClientLooksFor)
{
    std::smatch m;
    std::string kconfig = ReadFile(BLEOTA_FIRMWARE_DIR "/components/ble_ota/Kconfig");
    ASSERT_TRUE(std::regex_search(kconfig, m, std::regex(R"re(config BLE_OTA_DEVICE_NAME[^]*?default "([^"]*)")re")));
    EXPECT_EQ(m[1], "esp32");
}

TEST(Defaults, ThePreferredMtuKeepsEveryPacketALegalAttributeValue)
{
    int mtu = PreferredMtu();
    EXPECT_LE(mtu - static_cast<int>(BLE_OTA_ATT_WRITE_OVERHEAD), static_cast<int>(BLE_OTA_ATT_MAX_ATTR_LEN))
        << "a central reaching this MTU makes the tutorial's client send packets of MTU - 3 bytes";
    EXPECT_GE(mtu, 247) << "keep the MTU large: every v1 packet is one round trip";
}

class TutorialClientMtu : public ::testing::TestWithParam<int> {};

TEST_P(TutorialClientMtu, UpdatesTheFirmwareWithItsUncappedPacketSize)
{
    int mtu = GetParam() == 0 ? PreferredMtu() : GetParam();
    bo_test::AppImageSpec spec;
    spec.version = "2.0.0";
    spec.app_payload = 30000;
    EXPECT_EQ(TutorialClientUpdate(static_cast<uint16_t>(mtu), bo_test::BuildAppImage(spec)), BLE_OTA_OP_DONE_ACK);
}

// Linux (BlueZ reports 23 to Bleak), macOS, a common Android/Windows value, and the largest the defaults allow (0).
INSTANTIATE_TEST_SUITE_P(CentralMtus, TutorialClientMtu, ::testing::Values(23, 185, 247, 0));
