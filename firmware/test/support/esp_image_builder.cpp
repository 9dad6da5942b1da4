#include "esp_image_builder.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

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

    // ESP32 app: DROM (the app descriptor), IROM, DRAM, IRAM (soc/esp32/include/soc/soc.h ranges).
    static const uint32_t kEsp32AppAddrs[] = {0x3F400020u, 0x400D0020u, 0x3FFB0000u, 0x40080000u};
    uint32_t rnd = spec.fill_seed ? spec.fill_seed : 1;
    uint8_t checksum = 0xEF;
    for (size_t s = 0; s < seg_lens.size(); s++) {
        size_t at = img.size();
        img.resize(at + kSegHeaderLen + seg_lens[s], 0);
        Put32(img, at, spec.load_addrs.empty() ? kEsp32AppAddrs[s % 4] : spec.load_addrs[s % spec.load_addrs.size()]);
        Put32(img, at + 4, static_cast<uint32_t>(seg_lens[s]));
        size_t data = at + kSegHeaderLen;
        size_t first = 0;
        if (s == 0 && !spec.app_desc) {
            // esp_bootloader_desc_t starts with its magic byte 0x50 (ESP_BOOTLOADER_DESC_MAGIC_BYTE)
            img[data] = 0x50;
            first = 1;
        } else if (s == 0) {
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

AppImageSpec Esp32C3App(const std::string &version)
{
    AppImageSpec spec;
    spec.version = version;
    spec.chip_id = kChipEsp32C3;
    spec.load_addrs = {0x3C060020u, 0x3FC93C00u, 0x40380000u, 0x42000020u};
    spec.extra_segments = {2048, 4096, 8192};
    return spec;
}

AppImageSpec Esp32C3Bootloader()
{
    AppImageSpec spec;
    spec.chip_id = kChipEsp32C3;
    spec.app_desc = false;
    spec.load_addrs = {0x3FCD5820u, 0x403CC710u, 0x403CE710u};
    spec.app_payload = 5888;
    spec.extra_segments = {2968, 12288};
    return spec;
}

AppImageSpec Esp32C3RamOnly()
{
    AppImageSpec spec;
    spec.chip_id = kChipEsp32C3;
    spec.load_addrs = {0x3FC93C00u, 0x40380000u};
    spec.extra_segments = {8192};
    return spec;
}

AppImageSpec Esp32C3NoFlashCode()
{
    AppImageSpec spec;
    spec.chip_id = kChipEsp32C3;
    spec.load_addrs = {0x3C060020u, 0x3FC93C00u, 0x40380000u};
    spec.extra_segments = {2048, 4096};
    return spec;
}

std::vector<uint8_t> BuildMergedFlashImage(const std::vector<uint8_t> &bootloader, const std::vector<uint8_t> &app)
{
    constexpr size_t kPartitionTable = 0x8000;
    constexpr size_t kApp = 0x10000;
    std::vector<uint8_t> out(kApp, 0xFF);
    std::copy(bootloader.begin(), bootloader.end(), out.begin());
    // First entry of the partition table (esp_partition_info_t): magic 0x50AA, data/nvs at 0x9000, 16 KB.
    const uint8_t nvs[] = {0xAA, 0x50, 0x01, 0x02, 0x00, 0x90, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 'n', 'v', 's'};
    std::copy(std::begin(nvs), std::end(nvs), out.begin() + kPartitionTable);
    out.insert(out.end(), app.begin(), app.end());
    return out;
}

}  // namespace bo_test
