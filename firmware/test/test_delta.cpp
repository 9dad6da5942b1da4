// The delta patch applier (core/ble_ota_delta.c) on its own: the shared vectors of docs/delta-vectors.txt
// (written by the C# engine), patches from the test writer (support/bo_delta_writer.c), every way a patch can be
// damaged, and the bounds it must keep whatever it is fed.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ble_ota_delta.h"
#include "bo_delta_writer.h"
#include "protocol_vectors.hpp"

using bo_test::Vector;

namespace {

using Bytes = std::vector<uint8_t>;

// The applier's callbacks over a base in memory, recording what it asks for.
struct Sink {
    Bytes base;
    Bytes written;
    uint32_t lowest_read = UINT32_MAX;
    uint64_t highest_read_end = 0;
    ble_ota_err_t read_result = BLE_OTA_OK;
    ble_ota_err_t write_result = BLE_OTA_OK;

    static ble_ota_err_t Read(void *ctx, uint32_t offset, uint8_t *buf, size_t len)
    {
        auto *s = static_cast<Sink *>(ctx);
        s->lowest_read = std::min(s->lowest_read, offset);
        s->highest_read_end = std::max<uint64_t>(s->highest_read_end, static_cast<uint64_t>(offset) + len);
        if (s->read_result != BLE_OTA_OK) {
            return s->read_result;
        }
        if (static_cast<uint64_t>(offset) + len > s->base.size()) {
            ADD_FAILURE() << "read of " << len << " bytes at " << offset << " past a base of " << s->base.size();
            return BLE_OTA_ERR_FLASH;
        }
        std::memcpy(buf, s->base.data() + offset, len);
        return BLE_OTA_OK;
    }
    static ble_ota_err_t Write(void *ctx, const uint8_t *data, size_t len)
    {
        auto *s = static_cast<Sink *>(ctx);
        if (s->write_result != BLE_OTA_OK) {
            return s->write_result;
        }
        s->written.insert(s->written.end(), data, data + len);
        return BLE_OTA_OK;
    }
};

// Applies a patch fed in chunks of `chunk` bytes; returns the first error, or finish()'s verdict.
ble_ota_err_t Apply(Sink &sink, const Bytes &patch, uint32_t target_size, size_t chunk = SIZE_MAX)
{
    static ble_ota_delta_t d; // 7.5 KB
    ble_ota_delta_init(&d, target_size, static_cast<uint32_t>(sink.base.size()), Sink::Read, Sink::Write, &sink);
    for (size_t at = 0; at < patch.size(); at += chunk) {
        size_t n = std::min(chunk, patch.size() - at);
        ble_ota_err_t err = ble_ota_delta_feed(&d, patch.data() + at, n);
        if (err != BLE_OTA_OK) {
            return err;
        }
    }
    ble_ota_err_t err = ble_ota_delta_finish(&d);
    EXPECT_EQ(ble_ota_delta_written(&d), sink.written.size());
    return err;
}

Bytes Write(const Bytes &base, const Bytes &target, const std::vector<bo_delta_block_t> &blocks)
{
    Bytes out(target.size() * 2 + 256);
    size_t n = bo_delta_write(base.data(), base.size(), target.data(), target.size(), blocks.data(), blocks.size(),
                              out.data(), out.size());
    EXPECT_GT(n, 0u) << "the blocks do not make the target";
    out.resize(n);
    return out;
}

Bytes Random(size_t n, uint32_t seed)
{
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto &x : b) {
        x = static_cast<uint8_t>(rng());
    }
    return b;
}

class DeltaVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(DeltaVectors, ApplyToTheirTargetWhole)
{
    Sink sink{Vector("delta." + GetParam() + ".base")};
    Bytes target = Vector("delta." + GetParam() + ".target");
    ASSERT_EQ(Apply(sink, Vector("delta." + GetParam() + ".patch"), static_cast<uint32_t>(target.size())), BLE_OTA_OK);
    EXPECT_EQ(sink.written, target);
}

TEST_P(DeltaVectors, ApplyToTheirTargetOneByteAtATime)
{
    Sink sink{Vector("delta." + GetParam() + ".base")};
    Bytes target = Vector("delta." + GetParam() + ".target");
    ASSERT_EQ(Apply(sink, Vector("delta." + GetParam() + ".patch"), static_cast<uint32_t>(target.size()), 1), BLE_OTA_OK);
    EXPECT_EQ(sink.written, target);
}

TEST_P(DeltaVectors, TheTestWriterWritesThemByteForByte)
{
    // The C# engine chose these blocks; the C test writer, given the same blocks, must write the same bytes.
    Bytes base = Vector("delta." + GetParam() + ".base");
    Bytes target = Vector("delta." + GetParam() + ".target");
    Bytes patch = Vector("delta." + GetParam() + ".patch");
    std::vector<bo_delta_block_t> blocks;
    if (GetParam() == "identical") {
        blocks = {{64, 0, 0}};
    } else if (GetParam() == "shifted") {
        blocks = {{60, 5, 0}, {100, 0, 0}};
    } else {
        blocks = {{0, 4, 48}, {48, 0, -96}, {40, 0, 0}};
    }
    EXPECT_EQ(Write(base, target, blocks), patch);
}

INSTANTIATE_TEST_SUITE_P(All, DeltaVectors, ::testing::Values("identical", "shifted", "moved"));

TEST(Delta, StateFitsTheStatedEightKilobytes)
{
    // docs/protocol.md states the applier's RAM: its models, stage, base window and output buffer.
    EXPECT_LE(sizeof(ble_ota_delta_t), 8u * 1024u);
}

TEST(Delta, RandomBlocksRoundTripWhateverTheChunking)
{
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; trial++) {
        Bytes base = Random(1 + rng() % 3000, rng());
        Bytes target;
        std::vector<bo_delta_block_t> blocks;
        int64_t b = 0;
        for (int k = 0, n = 1 + static_cast<int>(rng() % 6); k < n; k++) {
            uint32_t copy = static_cast<uint32_t>(std::min<int64_t>(rng() % 700, static_cast<int64_t>(base.size()) - b));
            uint32_t insert = rng() % 50;
            if (copy == 0 && insert == 0) {
                insert = 1;
            }
            for (uint32_t i = 0; i < copy; i++) {
                target.push_back(static_cast<uint8_t>(base[b + i] + (rng() % 20 == 0 ? rng() : 0)));
            }
            b += copy;
            for (uint32_t i = 0; i < insert; i++) {
                target.push_back(static_cast<uint8_t>(rng()));
            }
            int32_t seek = static_cast<int32_t>(rng() % (base.size() + 1)) - static_cast<int32_t>(b);
            blocks.push_back({copy, insert, seek});
            b += seek;
        }
        Bytes patch = Write(base, target, blocks);
        Sink sink{base};
        ASSERT_EQ(Apply(sink, patch, static_cast<uint32_t>(target.size()), 1 + rng() % 300), BLE_OTA_OK) << trial;
        ASSERT_EQ(sink.written, target) << trial;
    }
}

TEST(Delta, ARequestForAnotherImageSizeFailsAtTheHeader)
{
    Sink sink{Vector("delta.shifted.base")};
    Bytes patch = Vector("delta.shifted.patch");
    EXPECT_EQ(Apply(sink, patch, 1000), BLE_OTA_ERR_DELTA);
    EXPECT_TRUE(sink.written.empty());
    EXPECT_EQ(sink.lowest_read, UINT32_MAX) << "nothing read";
}

TEST(Delta, AHeaderThatIsNotVersionOneOrNamesALargerBaseFails)
{
    Bytes base = Vector("delta.shifted.base");
    Bytes target = Vector("delta.shifted.target");
    for (size_t at : {0u, 1u, 2u, 3u}) {
        Bytes patch = Vector("delta.shifted.patch");
        patch[at] ^= 0x40;
        Sink sink{base};
        EXPECT_EQ(Apply(sink, patch, static_cast<uint32_t>(target.size())), BLE_OTA_ERR_DELTA) << at;
    }
    Sink smaller{Bytes(base.begin(), base.end() - 1)}; // the running image is shorter than the patch's base
    EXPECT_EQ(Apply(smaller, Vector("delta.shifted.patch"), static_cast<uint32_t>(target.size())), BLE_OTA_ERR_DELTA);
}

TEST(Delta, ATruncatedPatchIsNeverFinished)
{
    Bytes patch = Vector("delta.shifted.patch");
    Bytes target = Vector("delta.shifted.target");
    for (size_t cut = 1; cut < patch.size(); cut++) {
        Sink sink{Vector("delta.shifted.base")};
        Bytes part(patch.begin(), patch.end() - cut);
        EXPECT_EQ(Apply(sink, part, static_cast<uint32_t>(target.size())), BLE_OTA_ERR_DELTA) << cut;
        EXPECT_LT(sink.written.size(), target.size()) << cut;
    }
}

TEST(Delta, BytesAfterTheEndOfThePatchFail)
{
    Bytes patch = Vector("delta.shifted.patch");
    patch.push_back(0);
    Sink sink{Vector("delta.shifted.base")};
    EXPECT_EQ(Apply(sink, patch, static_cast<uint32_t>(Vector("delta.shifted.target").size())), BLE_OTA_ERR_DELTA);
}

TEST(Delta, ABaseReadOrTargetWriteFailureStopsItWithThatError)
{
    Bytes target = Vector("delta.shifted.target");
    Sink unreadable{Vector("delta.shifted.base")};
    unreadable.read_result = BLE_OTA_ERR_FLASH;
    EXPECT_EQ(Apply(unreadable, Vector("delta.shifted.patch"), static_cast<uint32_t>(target.size())), BLE_OTA_ERR_FLASH);
    Sink unwritable{Vector("delta.shifted.base")};
    unwritable.write_result = BLE_OTA_ERR_FLASH;
    EXPECT_EQ(Apply(unwritable, Vector("delta.shifted.patch"), static_cast<uint32_t>(target.size())), BLE_OTA_ERR_FLASH);
}

TEST(Delta, DamagedPatchesStayInsideTheBaseAndTheTarget)
{
    // Whatever the damage, the applier reads only the base that exists and writes at most the announced image;
    // what it writes may be wrong, which the SHA-256 check at DONE catches.
    Bytes base = Random(4000, 5);
    Bytes target = base;
    target.insert(target.begin() + 1000, 300, 0x5A);
    for (size_t i = 2000; i < target.size(); i += 97) {
        target[i] ^= 0x10;
    }
    Bytes good = Write(base, target, {{1000, 300, 0}, {3000, 0, 0}});
    std::mt19937 rng(3);
    for (int trial = 0; trial < 3000; trial++) {
        Bytes patch = good;
        for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; flips--) {
            patch[16 + rng() % (patch.size() - 16)] = static_cast<uint8_t>(rng());
        }
        Sink sink{base};
        ble_ota_err_t err = Apply(sink, patch, static_cast<uint32_t>(target.size()), 1 + rng() % 64);
        EXPECT_LE(sink.written.size(), target.size());
        EXPECT_LE(sink.highest_read_end, base.size());
        if (err == BLE_OTA_OK) {
            EXPECT_EQ(sink.written.size(), target.size()) << "finished means the whole image";
        }
    }
}

}  // namespace
