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
