// Builds ESP32 application images (the .bin idf.py writes) for the host tests.
//
// Layout (ESP-IDF app image format):
//   esp_image_header_t (24 bytes) | segments {load_addr u32, data_len u32, data}
//   | zero padding | checksum byte (XOR of all segment data, seed 0xEF, placed
//   so that it ends a 16-byte block) | optional SHA-256 of everything before it.
// The first segment starts with a 256-byte esp_app_desc_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bo_test {

struct AppImageSpec {
    std::string version = "1.0.0";
    std::string project_name = "ble_ota_demo";
    std::string idf_ver = "v5.3.2";
    uint16_t chip_id = 0;            // 0 = ESP32, 9 = ESP32-S3, 5 = ESP32-C3, 13 = ESP32-C6
    bool hash_appended = true;
    size_t app_payload = 4096;       // bytes after the app descriptor in segment 0
    std::vector<size_t> extra_segments = {8192, 1024}; // data lengths of further segments
    uint32_t fill_seed = 1;          // pseudo-random contents
    bool compressible = false;       // contents of 4 bits of entropy per byte, so deflate halves them like code
    std::vector<uint32_t> load_addrs;  // segment i loads at load_addrs[i % size]; empty: an ESP32 app's
                                       // (DROM, IROM, DRAM, IRAM)
    bool app_desc = true;            // segment 0 starts with esp_app_desc_t; false: with esp_bootloader_desc_t
};

// A valid image for the spec. Segment lengths are rounded up to 4 bytes.
std::vector<uint8_t> BuildAppImage(const AppImageSpec &spec = AppImageSpec());

// Real ESP32-C3 layouts, read with esptool.py image_info from ESP-IDF v5.3.2 builds of firmware/: the app
// (DROM 0x3C060020 with the app descriptor, DRAM 0x3FC93C00, IRAM 0x40380000, IROM 0x42000020) and the
// bootloader (DRAM 0x3FCD5820, IRAM 0x403CC710, IRAM 0x403CE710).
constexpr uint16_t kChipEsp32C3 = 5;
AppImageSpec Esp32C3App(const std::string &version = "1.0.0");
AppImageSpec Esp32C3Bootloader();
// A RAM-only image (esptool elf2image --ram-only-header of a RAM-linked ELF): DRAM and IRAM segments only,
// even with an app descriptor in segment 0.
AppImageSpec Esp32C3RamOnly();
// An app descriptor in flash-mapped data, but no code mapped from flash.
AppImageSpec Esp32C3NoFlashCode();

// What esptool.py merge_bin writes for an ESP32-C3 (bootloader at 0x0): the bootloader, 0xFF up to the
// partition table at 0x8000, 0xFF up to the app at 0x10000, the app.
std::vector<uint8_t> BuildMergedFlashImage(const std::vector<uint8_t> &bootloader, const std::vector<uint8_t> &app);

// Offsets inside a built image.
constexpr size_t kHeaderLen = 24;
constexpr size_t kSegHeaderLen = 8;
constexpr size_t kAppDescOffset = kHeaderLen + kSegHeaderLen;   // esp_app_desc_t
constexpr size_t kAppDescVersionOffset = kAppDescOffset + 16;

// Position of the checksum byte for an image whose segments end at `end_of_segments`.
size_t ChecksumOffset(size_t end_of_segments);

}  // namespace bo_test
