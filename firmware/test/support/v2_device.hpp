// A simulated device (ble_ota_host) and one subscribed central speaking protocol v2 to it: the helpers the v2, DONE
// and delta device tests share.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ble_ota_core.h"
#include "ble_ota_host.h"
#include "bo_sha256.h"

namespace bo_test {

// A raw deflate stream (RFC 1951) of `in`, as the client compresses an image.
// Raw deflate whose references reach at most 2^window_bits bytes back: 8 KB, what a device with Info feature bit 4
// takes (zlib keeps them within 8 KB less its 262-byte lookahead), or 32 KB as a client that knows only bit 0 sends.
inline std::vector<uint8_t> Deflate(const std::vector<uint8_t> &in, int window_bits = 13)
{
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::vector<uint8_t> out(deflateBound(&z, in.size()));
    z.next_in = const_cast<Bytef *>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

// A v2 REQUEST announcing `image` (its size and SHA-256), sent as `stream` (deflate when `deflate`).
inline std::vector<uint8_t> Request(const std::vector<uint8_t> &image, const std::vector<uint8_t> &stream, bool deflate)
{
    std::vector<uint8_t> r(BLE_OTA_V2_REQUEST_LEN, 0);
    r[0] = BLE_OTA_OP_REQUEST;
    r[1] = BLE_OTA_V2;
    r[2] = deflate ? BLE_OTA_V2_FLAG_DEFLATE : 0;
    for (int i = 0; i < 4; i++) {
        r[3 + i] = static_cast<uint8_t>(image.size() >> (8 * i));
        r[7 + i] = static_cast<uint8_t>(stream.size() >> (8 * i));
    }
    bo_sha256(image.data(), image.size(), &r[11]);
    return r;
}

class V2Device : public ::testing::Test {
protected:
    using Bytes = std::vector<uint8_t>;
    static constexpr uint32_t kPartition = 256 * 1024;
    static constexpr uint16_t kMtu = 247;
    static constexpr uint32_t kPayload = kMtu - 3 - 4;

    bo_host_t *h = nullptr;
    int32_t conn = -1;

    void SetUp() override
    {
        h = bo_host_create(kPartition);
        ASSERT_NE(h, nullptr);
        Connect();
    }
    void TearDown() override { bo_host_destroy(h); }

    void Connect()
    {
        conn = bo_host_connect(h, kMtu);
        ASSERT_GE(conn, 1);
        ASSERT_EQ(bo_host_subscribe(h, conn, 1), 1);
    }
    int32_t Control(const Bytes &m) { return bo_host_write(h, conn, BO_HOST_CHAR_CONTROL, m.data(), static_cast<uint32_t>(m.size())); }
    // The data packet at stream offset `off`: the offset, then up to a payload of the stream.
    int32_t Packet(const Bytes &stream, uint32_t off)
    {
        uint32_t n = std::min<uint32_t>(kPayload, static_cast<uint32_t>(stream.size()) - off);
        Bytes p(4 + n);
        for (int i = 0; i < 4; i++) {
            p[i] = static_cast<uint8_t>(off >> (8 * i));
        }
        std::memcpy(&p[4], &stream[off], n);
        return bo_host_write(h, conn, BO_HOST_CHAR_DATA, p.data(), static_cast<uint32_t>(p.size()));
    }
    std::vector<Bytes> Notes()
    {
        std::vector<Bytes> notes;
        uint8_t b[32];
        int32_t n;
        while ((n = bo_host_take_notification(h, nullptr, b, sizeof(b))) > 0) {
            notes.emplace_back(b, b + n);
        }
        return notes;
    }
    static uint32_t Offset(const Bytes &note) { return note[4] | note[5] << 8 | note[6] << 16 | static_cast<uint32_t>(note[7]) << 24; }
    Bytes RunningImage()
    {
        Bytes out(kPartition);
        int32_t n = bo_host_read_running_image(h, out.data(), static_cast<uint32_t>(out.size()));
        out.resize(n > 0 ? n : 0);
        return out;
    }
};

}  // namespace bo_test
