#include "esp_image_builder.hpp"

#include <cstring>

#include "bo_sha256.h"

namespace bo_test {
namespace {

void Put32(std::vector<uint8_t> &v, size_t at, uint32_t x)
{
    for (int i = 0; i < 4; i++) {
        v[at + i] = static_cast<uint8_t>(x >> (8 * i));
    }
}

void Put16(std::vector<uint8_t> &v, size_t at, uint16_t x)
{
    v[at] = static_cast<uint8_t>(x);
    v[at + 1] = static_cast<uint8_t>(x >> 8);
}

void PutStr(std::vector<uint8_t> &v, size_t at, const std::string &s, size_t field)
{
    std::memcpy(&v[at], s.data(), s.size() < field - 1 ? s.size() : field - 1);
}

size_t Align4(size_t n)
{
    return (n + 3) & ~static_cast<size_t>(3);
}

// xorshift32: deterministic filler that is not all one value.
uint32_t Next(uint32_t &s)
{
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

}  // namespace

size_t ChecksumOffset(size_t end_of_segments)
{
    return end_of_segments + (15 - end_of_segments % 16);
}

std::vector<uint8_t> BuildAppImage(const AppImageSpec &spec)
{
    std::vector<size_t> seg_lens;
    seg_lens.push_back(Align4(256 + spec.app_payload));
    for (size_t n : spec.extra_segments) {
        seg_lens.push_back(Align4(n));
    }

    std::vector<uint8_t> img(kHeaderLen, 0);
    // esp_image_header_t
    img[0] = 0xE9;                                      // magic
    img[1] = static_cast<uint8_t>(seg_lens.size());     // segment_count
    img[2] = 0x02;                                      // spi_mode: DIO
    img[3] = 0x20;                                      // spi_speed 40 MHz (low nibble 0), spi_size 4 MB (high nibble 2)
    Put32(img, 4, 0x40081000u);                         // entry_addr
    img[8] = 0xEE;                                      // wp_pin: disabled
    // spi_pin_drv[3] at 9..11 stay 0
    Put16(img, 12, spec.chip_id);                       // chip_id
    img[14] = 0;                                        // min_chip_rev (legacy)
    Put16(img, 15, 0);                                  // min_chip_rev_full
    Put16(img, 17, 0xFFFF);                             // max_chip_rev_full
    // reserved[4] at 19..22 stay 0
    img[23] = spec.hash_appended ? 1 : 0;               // hash_appended

    static const uint32_t kLoadAddrs[] = {0x3F400020u, 0x3FFB0000u, 0x40080000u, 0x400D0020u};
    uint32_t rnd = spec.fill_seed ? spec.fill_seed : 1;
    uint8_t checksum = 0xEF;
    for (size_t s = 0; s < seg_lens.size(); s++) {
        size_t at = img.size();
        img.resize(at + kSegHeaderLen + seg_lens[s], 0);
        Put32(img, at, kLoadAddrs[s % 4]);
        Put32(img, at + 4, static_cast<uint32_t>(seg_lens[s]));
        size_t data = at + kSegHeaderLen;
        size_t first = 0;
        if (s == 0) {
            // esp_app_desc_t (256 bytes)
            Put32(img, data + 0, 0xABCD5432u);          // magic_word
            Put32(img, data + 4, 0);                    // secure_version
            PutStr(img, data + 16, spec.version, 32);   // version[32]
            PutStr(img, data + 48, spec.project_name, 32); // project_name[32]
            PutStr(img, data + 80, "12:00:00", 16);     // time[16]
            PutStr(img, data + 96, "Jan  1 2026", 16);  // date[16]
            PutStr(img, data + 112, spec.idf_ver, 32);  // idf_ver[32]
            for (size_t i = 0; i < 32; i++) {           // app_elf_sha256[32]
                img[data + 144 + i] = static_cast<uint8_t>(Next(rnd));
            }
            img[data + 180] = 16;                       // mmu_page_size (log2 of 64 KB)
            first = 256;
        }
        for (size_t i = first; i < seg_lens[s]; i++) {
            uint32_t r = Next(rnd);
            img[data + i] = static_cast<uint8_t>(spec.compressible ? 0x40 + r % 16 : r);
        }
        for (size_t i = 0; i < seg_lens[s]; i++) {
            checksum ^= img[data + i];
        }
    }
    size_t ck = ChecksumOffset(img.size());
    img.resize(ck + 1, 0);
    img[ck] = checksum;
    if (spec.hash_appended) {
        uint8_t digest[32];
        bo_sha256(img.data(), img.size(), digest);
        img.insert(img.end(), digest, digest + 32);
    }
    return img;
}

}  // namespace bo_test
