// The advertising layout of ble_ota_adv.h against packets encoded the way NimBLE does it: adv_set_fields() in
// nimble/host/src/ble_hs_adv.c writes each present field as length, type, data, in the order flags, 128-bit
// UUIDs, name, TX power, and fails with BLE_HS_EMSGSIZE when a structure would pass BLE_HS_ADV_MAX_SZ (31).
// The fields are the ones port/ble_ota_gap.c sets in ble_ota_gap_advertise().
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ble_ota_adv.h"
#include "ble_ota_proto.h"

namespace {

struct AdvFields {
    bool flags = false;
    bool uuid128 = false;
    std::string name;  // empty: no name field
    bool tx_power = false;
};

// ble_hs_adv_set_hdr + ble_hs_adv_set_flat_mbuf without an mbuf: nullopt where NimBLE returns BLE_HS_EMSGSIZE.
std::optional<std::vector<uint8_t>> EncodeLikeNimble(const AdvFields &f)
{
    std::vector<uint8_t> out;
    bool fits = true;
    auto put = [&](uint8_t type, const std::vector<uint8_t> &data) {
        if (out.size() + 2 + data.size() > 31) {
            fits = false;
            return;
        }
        out.push_back(static_cast<uint8_t>(data.size() + 1));
        out.push_back(type);
        out.insert(out.end(), data.begin(), data.end());
    };
    if (f.flags) {
        put(0x01, {0x06});  // BLE_HS_ADV_F_DISC_GEN | BLE_HS_ADV_F_BREDR_UNSUP
    }
    if (f.uuid128) {
        put(0x07, {BLE_OTA_SVC_UUID128_LE});
    }
    if (!f.name.empty()) {
        put(0x09, std::vector<uint8_t>(f.name.begin(), f.name.end()));
    }
    if (f.tx_power) {
        put(0x0a, {0x09});  // the controller's advertising TX power, one signed byte
    }
    if (!fits) {
        return std::nullopt;
    }
    return out;
}

// What ble_ota_gap_advertise() asks NimBLE for.
AdvFields Advertisement(const std::string &name, bool with_uuid)
{
    AdvFields f;
    f.flags = true;
    f.uuid128 = with_uuid;
    f.name = with_uuid ? "" : name;
    return f;
}

AdvFields ScanResponse(const std::string &name, bool with_uuid)
{
    AdvFields f;
    f.name = with_uuid ? name : "";
    f.tx_power = true;
    return f;
}

}  // namespace

TEST(AdvLayout, PacketLengthsMatchNimbleEncodingForEveryNameLength)
{
    for (bool with_uuid : {true, false}) {
        for (size_t n = 1; n <= BLE_OTA_NAME_MAX; n++) {
            std::string name(n, 'x');
            auto adv = EncodeLikeNimble(Advertisement(name, with_uuid));
            auto rsp = EncodeLikeNimble(ScanResponse(name, with_uuid));
            ASSERT_TRUE(adv && rsp) << n << " bytes, uuid " << with_uuid;
            EXPECT_EQ(adv->size(), BLE_OTA_ADV_DATA_LEN(n, with_uuid)) << n;
            EXPECT_EQ(rsp->size(), BLE_OTA_SCAN_RSP_LEN(n, with_uuid)) << n;
            EXPECT_TRUE(BLE_OTA_NAME_FITS(n, with_uuid)) << n;
        }
    }
}

TEST(AdvLayout, LongestNameIs26BytesAndOneMoreDoesNotFit)
{
    EXPECT_EQ(BLE_OTA_NAME_MAX, 26u);
    for (bool with_uuid : {true, false}) {
        std::string longest(BLE_OTA_NAME_MAX, 'n');
        EXPECT_TRUE(EncodeLikeNimble(Advertisement(longest, with_uuid)) &&
                    EncodeLikeNimble(ScanResponse(longest, with_uuid)));
        std::string too_long(BLE_OTA_NAME_MAX + 1, 'n');
        bool nimble_takes_it = EncodeLikeNimble(Advertisement(too_long, with_uuid)) &&
                               EncodeLikeNimble(ScanResponse(too_long, with_uuid));
        EXPECT_FALSE(nimble_takes_it) << "uuid " << with_uuid;
        EXPECT_FALSE(BLE_OTA_NAME_FITS(BLE_OTA_NAME_MAX + 1, with_uuid)) << "uuid " << with_uuid;
    }
}

TEST(AdvLayout, NamesOf27To29BytesNoLongerPassTheCheck)
{
    // The old limit (29) let these through; NimBLE then refused the scan response and advertising never started.
    for (size_t n = 27; n <= 29; n++) {
        std::string name(n, 'n');
        EXPECT_FALSE(EncodeLikeNimble(ScanResponse(name, true)).has_value()) << n;
        EXPECT_FALSE(BLE_OTA_NAME_FITS(n, true)) << n;
    }
}
