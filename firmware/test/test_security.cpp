// CONFIG_BLE_OTA_REQUIRE_ENCRYPTION in the core: only Info is served to a
// link that is not encrypted; once the central has paired, updates work.
#include <gtest/gtest.h>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "esp_image_builder.hpp"

namespace {

class Security : public ::testing::Test {
protected:
    bo_host_t *h = nullptr;
    int32_t conn = -1;

    void SetUp() override
    {
        h = bo_host_create(256 * 1024);
        ASSERT_NE(h, nullptr);
        ASSERT_EQ(bo_host_set_require_encryption(h, 1), 0);
        conn = bo_host_connect(h, 247);
        ASSERT_GE(conn, 1);
        ASSERT_EQ(bo_host_subscribe(h, conn, 1), 1);
    }
    void TearDown() override { bo_host_destroy(h); }

    int32_t WriteControl(uint8_t op) { return bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, &op, 1); }
    int32_t WritePacketSize(uint16_t n)
    {
        uint8_t le[2] = {static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)};
        return bo_host_write(h, conn, BO_HOST_CHAR_DATA, le, 2);
    }
};

TEST_F(Security, UnencryptedWritesAreRefusedWithInsufficientEncryption)
{
    EXPECT_EQ(WritePacketSize(244), BLE_OTA_ATT_ERR_INSUFFICIENT_ENC);
    EXPECT_EQ(WriteControl(BLE_OTA_OP_REQUEST), BLE_OTA_ATT_ERR_INSUFFICIENT_ENC);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_IDLE);
    uint8_t note[4];
    EXPECT_EQ(bo_host_take_notification(h, nullptr, note, sizeof(note)), 0);
}

TEST_F(Security, InfoStaysReadableAndSaysEncryptionIsRequired)
{
    uint8_t info[BLE_OTA_INFO_LEN];
    ASSERT_EQ(bo_host_read(h, conn, BO_HOST_CHAR_INFO, info, sizeof(info)), static_cast<int32_t>(BLE_OTA_INFO_LEN));
    EXPECT_TRUE(info[BLE_OTA_INFO_OFF_FEATURES] & BLE_OTA_INFO_FEATURE_ENCRYPTED_LINK_REQ);
}

TEST_F(Security, AnEncryptedLinkUpdatesAndANewConnectionStartsUnencrypted)
{
    ASSERT_EQ(bo_host_set_encrypted(h, conn, 1), 0);
    EXPECT_EQ(WritePacketSize(244), 0);
    EXPECT_EQ(WriteControl(BLE_OTA_OP_REQUEST), 0);
    EXPECT_EQ(bo_host_state(h), BO_HOST_STATE_RECEIVING);

    ASSERT_EQ(bo_host_disconnect(h, conn), 0);
    conn = bo_host_connect(h, 247);
    EXPECT_EQ(WritePacketSize(244), BLE_OTA_ATT_ERR_INSUFFICIENT_ENC);
}

TEST_F(Security, WithoutTheOptionNothingChanges)
{
    ASSERT_EQ(bo_host_set_require_encryption(h, 0), 0);
    EXPECT_EQ(WritePacketSize(244), 0);
    uint8_t info[BLE_OTA_INFO_LEN];
    ASSERT_EQ(bo_host_read(h, conn, BO_HOST_CHAR_INFO, info, sizeof(info)), static_cast<int32_t>(BLE_OTA_INFO_LEN));
    EXPECT_FALSE(info[BLE_OTA_INFO_OFF_FEATURES] & BLE_OTA_INFO_FEATURE_ENCRYPTED_LINK_REQ);
}

} // namespace
