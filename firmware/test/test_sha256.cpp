// SHA-256 of the host support against FIPS 180-2 / NIST example vectors.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bo_sha256.h"

namespace {

std::string Hex(const uint8_t *d, size_t n)
{
    static const char *k = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += k[d[i] >> 4];
        s += k[d[i] & 15];
    }
    return s;
}

std::string Sha(const std::string &msg)
{
    uint8_t d[32];
    bo_sha256(msg.data(), msg.size(), d);
    return Hex(d, 32);
}

}  // namespace

TEST(Sha256, Empty)
{
    EXPECT_EQ(Sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc)
{
    EXPECT_EQ(Sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage)
{
    EXPECT_EQ(Sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FourBlockMessage)
{
    EXPECT_EQ(Sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionA)
{
    EXPECT_EQ(Sha(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingInOddChunksEqualsOneShot)
{
    std::vector<uint8_t> data(10007);
    for (size_t i = 0; i < data.size(); i++) {
        data[i] = static_cast<uint8_t>(i * 31 + 7);
    }
    uint8_t one[32], streamed[32];
    bo_sha256(data.data(), data.size(), one);
    bo_sha256_t s;
    bo_sha256_init(&s);
    size_t pos = 0, step = 1;
    while (pos < data.size()) {
        size_t n = std::min(step, data.size() - pos);
        bo_sha256_update(&s, data.data() + pos, n);
        pos += n;
        step = step * 3 % 97 + 1;
    }
    bo_sha256_final(&s, streamed);
    EXPECT_EQ(0, std::memcmp(one, streamed, 32));
}
