// Erase planning and link requests (core/ble_ota_flash_plan.c): what the port
// erases before each write, and what it asks the central for.
#include <gtest/gtest.h>

#include <vector>

#include "ble_ota_flash_plan.h"

namespace {

constexpr uint32_t kSlot = 0x1E0000; // partitions.csv: 30 blocks

std::vector<ble_ota_erase_t> Plan(uint32_t erased, uint32_t end, uint32_t slot)
{
    std::vector<ble_ota_erase_t> ranges;
    ble_ota_erase_t r;
    while (ble_ota_erase_next(erased, end, slot, &r)) {
        EXPECT_EQ(r.offset, erased) << "ranges follow each other";
        ranges.push_back(r);
        erased += r.size;
    }
    return ranges;
}

} // namespace

TEST(FlashPlan, TheFirstByteNeedsTheWholeFirstBlock)
{
    auto plan = Plan(0, 1, kSlot);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].size, BLE_OTA_ERASE_BLOCK);
}

TEST(FlashPlan, NothingIsErasedTwiceAndNothingAheadOfTheNextBlock)
{
    EXPECT_TRUE(Plan(BLE_OTA_ERASE_BLOCK, BLE_OTA_ERASE_BLOCK, kSlot).empty()) << "data up to the erased end needs nothing";
    auto plan = Plan(BLE_OTA_ERASE_BLOCK, BLE_OTA_ERASE_BLOCK + 1, kSlot);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].offset, BLE_OTA_ERASE_BLOCK);
    EXPECT_EQ(plan[0].size, BLE_OTA_ERASE_BLOCK);
}

TEST(FlashPlan, AWholeSlotIsThirtyBlockErasesNotFourHundredAndEightySectors)
{
    auto plan = Plan(0, kSlot, kSlot);
    EXPECT_EQ(plan.size(), kSlot / BLE_OTA_ERASE_BLOCK);
}

TEST(FlashPlan, WhereABlockWouldRunPastTheSlotTheRestGoesSectorBySector)
{
    constexpr uint32_t slot = BLE_OTA_ERASE_BLOCK + 3 * BLE_OTA_ERASE_SECTOR;
    auto plan = Plan(0, slot, slot);
    ASSERT_EQ(plan.size(), 4u);
    EXPECT_EQ(plan[0].size, BLE_OTA_ERASE_BLOCK);
    for (size_t i = 1; i < plan.size(); i++) {
        EXPECT_EQ(plan[i].size, BLE_OTA_ERASE_SECTOR);
    }
    EXPECT_TRUE(Plan(slot, slot + 1, slot).empty()) << "never past the slot";
}

TEST(FlashPlan, OffABlockBoundaryItErasesSectorsUntilItIsBackOnOne)
{
    auto plan = Plan(BLE_OTA_ERASE_BLOCK - BLE_OTA_ERASE_SECTOR, BLE_OTA_ERASE_BLOCK + 1, kSlot);
    ASSERT_EQ(plan.size(), 2u);
    EXPECT_EQ(plan[0].size, BLE_OTA_ERASE_SECTOR);
    EXPECT_EQ(plan[1].size, BLE_OTA_ERASE_BLOCK);
}

TEST(LinkRequest, ZeroAsksForNothing)
{
    ble_ota_conn_request_t r;
    EXPECT_FALSE(ble_ota_conn_request(0, &r));
}

TEST(LinkRequest, IntervalsGoOnTheSpecsGridAndWithinItsRange)
{
    ble_ota_conn_request_t r;
    ASSERT_TRUE(ble_ota_conn_request(15, &r));
    EXPECT_EQ(r.itvl, 12) << "15 ms = 12 x 1.25 ms";
    ASSERT_TRUE(ble_ota_conn_request(16, &r));
    EXPECT_EQ(r.itvl, 13) << "rounded up, never shorter than asked";
    ASSERT_TRUE(ble_ota_conn_request(1, &r));
    EXPECT_EQ(r.itvl, 6) << "7.5 ms is the shortest";
    ASSERT_TRUE(ble_ota_conn_request(10000, &r));
    EXPECT_EQ(r.itvl, 3200) << "4 s is the longest";
}

TEST(LinkRequest, TheSupervisionTimeoutIsAtLeastFourSecondsAndMoreThanTwiceTheInterval)
{
    for (uint32_t ms : {15u, 1000u, 4000u}) {
        ble_ota_conn_request_t r;
        ASSERT_TRUE(ble_ota_conn_request(ms, &r));
        EXPECT_GE(r.supervision_timeout, 400) << ms;
        EXPECT_GT(r.supervision_timeout * 10.0, 2 * r.itvl * 1.25) << ms;
    }
}
