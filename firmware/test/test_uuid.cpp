// The UUID byte lists NimBLE gets (BLE_UUID128_INIT: least significant byte
// first) must be exactly the canonical strings reversed.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "ble_ota_proto.h"

namespace {

std::array<uint8_t, 16> ParseUuidBigEndian(const std::string &s)
{
    std::array<uint8_t, 16> out{};
    std::string hex;
    for (char c : s) {
        if (c != '-') {
            hex += c;
        }
    }
    EXPECT_EQ(hex.size(), 32u) << s;
    for (size_t i = 0; i < 16; i++) {
        out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    }
    return out;
}

void ExpectLittleEndianOf(const uint8_t (&le)[16], const std::string &str)
{
    auto be = ParseUuidBigEndian(str);
    for (size_t i = 0; i < 16; i++) {
        EXPECT_EQ(le[i], be[15 - i]) << str << " byte " << i;
    }
}

}  // namespace

TEST(Uuid, ServiceBytesAreReversedString)
{
    const uint8_t le[16] = {BLE_OTA_SVC_UUID128_LE};
    ExpectLittleEndianOf(le, BLE_OTA_SVC_UUID_STR);
}

TEST(Uuid, ControlBytesAreReversedString)
{
    const uint8_t le[16] = {BLE_OTA_CHR_CONTROL_UUID128_LE};
    ExpectLittleEndianOf(le, BLE_OTA_CHR_CONTROL_UUID_STR);
}

TEST(Uuid, DataBytesAreReversedString)
{
    const uint8_t le[16] = {BLE_OTA_CHR_DATA_UUID128_LE};
    ExpectLittleEndianOf(le, BLE_OTA_CHR_DATA_UUID_STR);
}

TEST(Uuid, InfoBytesAreReversedString)
{
    const uint8_t le[16] = {BLE_OTA_CHR_INFO_UUID128_LE};
    ExpectLittleEndianOf(le, BLE_OTA_CHR_INFO_UUID_STR);
    // The C# engine's OtaUuids.Info.
    EXPECT_EQ(std::string(BLE_OTA_CHR_INFO_UUID_STR), "5b8e2f3a-7c41-4d9e-a6b2-0f1c3d5e7a90");
}

TEST(InfoLayout, OffsetsMatchTheEngineDeviceInfo)
{
    EXPECT_EQ(BLE_OTA_INFO_LEN, 144u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_FORMAT, 0u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_PROTOCOL, 1u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_CHIP_ID, 2u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_SLOT_SIZE, 4u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_MAX_PACKET, 8u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_WINDOW, 10u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_FEATURES, 12u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_VERSION, 16u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_PROJECT, 48u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_IDF_VERSION, 80u);
    EXPECT_EQ(BLE_OTA_INFO_OFF_IMAGE_SHA256, BLE_OTA_INFO_OFF_IDF_VERSION + BLE_OTA_INFO_STR_LEN);
    EXPECT_EQ(BLE_OTA_INFO_OFF_IMAGE_SHA256 + BLE_OTA_SHA256_LEN, BLE_OTA_INFO_LEN);
    EXPECT_EQ(BLE_OTA_INFO_FEATURE_DELTA, 8u);
    EXPECT_EQ(BLE_OTA_INFO_FORMAT, 1u);
    EXPECT_EQ(BLE_OTA_INFO_PROTOCOL_V1, 1u);
    EXPECT_EQ(BLE_OTA_INFO_PROTOCOL_V2, 2u);
    EXPECT_EQ(BLE_OTA_INFO_WINDOW_V1, 1u);
    EXPECT_EQ(BLE_OTA_INFO_FEATURE_COMPRESSION, 1u);
    EXPECT_EQ(BLE_OTA_INFO_FEATURE_RESUME, 2u);
    EXPECT_EQ(BLE_OTA_INFO_FEATURE_ENCRYPTED_LINK_REQ, 4u);
    EXPECT_EQ(BLE_OTA_INFO_FEATURE_DEFLATE_8K, 16u);
    EXPECT_EQ(BLE_OTA_DEFLATE_WINDOW, 8192u);
}

TEST(Uuid, ServiceIsTheOnAir144aNotTheSeedComment244a)
{
    EXPECT_EQ(std::string(BLE_OTA_SVC_UUID_STR), "d6f1d96d-594c-4c53-b1c6-144a1dfde6d8");
    const uint8_t le[16] = {BLE_OTA_SVC_UUID128_LE};
    // "144a" is bytes 10..11 of the big-endian form, i.e. le[5], le[4] on air.
    EXPECT_EQ(le[5], 0x14);
    EXPECT_EQ(le[4], 0x4a);
}

TEST(Uuid, StringsMatchTheSeedProtocol)
{
    EXPECT_EQ(std::string(BLE_OTA_CHR_CONTROL_UUID_STR), "7ad671aa-21c0-46a4-b722-270e3ae3d830");
    EXPECT_EQ(std::string(BLE_OTA_CHR_DATA_UUID_STR), "23408888-1f40-4cd8-9b89-ca8d45f8a5b0");
}

TEST(Opcodes, MatchTheSeedProtocol)
{
    EXPECT_EQ(BLE_OTA_OP_NOP, 0x00);
    EXPECT_EQ(BLE_OTA_OP_REQUEST, 0x01);
    EXPECT_EQ(BLE_OTA_OP_REQUEST_ACK, 0x02);
    EXPECT_EQ(BLE_OTA_OP_REQUEST_NAK, 0x03);
    EXPECT_EQ(BLE_OTA_OP_DONE, 0x04);
    EXPECT_EQ(BLE_OTA_OP_DONE_ACK, 0x05);
    EXPECT_EQ(BLE_OTA_OP_DONE_NAK, 0x06);
}
