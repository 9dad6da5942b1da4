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
};

// A valid image for the spec. Segment lengths are rounded up to 4 bytes.
std::vector<uint8_t> BuildAppImage(const AppImageSpec &spec = AppImageSpec());

// Offsets inside a built image.
constexpr size_t kHeaderLen = 24;
constexpr size_t kSegHeaderLen = 8;
constexpr size_t kAppDescOffset = kHeaderLen + kSegHeaderLen;   // esp_app_desc_t
constexpr size_t kAppDescVersionOffset = kAppDescOffset + 16;

// Position of the checksum byte for an image whose segments end at `end_of_segments`.
size_t ChecksumOffset(size_t end_of_segments);

}  // namespace bo_test
