/*
 * Is the image an app for this device? Refuses what esp_ota_end() would accept and the bootloader cannot run
 * as an app: an esptool-made bootloader, a RAM-only image, a merged flash image that starts with the
 * bootloader, an app for another chip.
 *
 * An ESP-IDF app image (esp_image_header_t, then segments of esp_image_segment_header_t + data) has:
 *  - the chip id of the device in its header (esp_image_header_t.chip_id);
 *  - segment 0 mapped from flash as data (DROM), starting with an esp_app_desc_t (magic 0xABCD5432):
 *    ESP-IDF places .flash.appdesc first (bootloader_support/src/esp_image_format.c: "The esp_app_desc_t
 *    structure is located in DROM and is always in segment #0");
 *  - a later segment mapped from flash as code (IROM).
 * A bootloader's segments are all in IRAM/DRAM and its first starts with esp_bootloader_desc_t (0x50); so are
 * a RAM-only image's, without any descriptor.
 *
 * The ports feed the image bytes in order as they are written (after inflating), so the header and segment 0
 * (the first 36 bytes) are judged before anything past them reaches flash, and the rest as the segment headers
 * stream by. Plain C, no IDF dependency: the ESP-IDF port fills the rules from soc/soc.h of its target, the
 * host port from a table of the same values.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble_ota_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What makes an image an app for this device. */
typedef struct {
    uint16_t chip_id;   /*!< esp_chip_id_t of the device (CONFIG_IDF_FIRMWARE_CHIP_ID) */
    uint32_t drom_low;  /*!< flash-mapped data: [SOC_DROM_LOW, SOC_DROM_HIGH) */
    uint32_t drom_high;
    uint32_t irom_low;  /*!< flash-mapped code: [SOC_IROM_LOW, SOC_IROM_HIGH) */
    uint32_t irom_high;
} ble_ota_app_rules_t;

/** Image bytes the header and the start of segment 0 take: the first verdict comes with them. */
#define BLE_OTA_APP_CHECK_PREFIX_LEN 36u

/** Bytes of the image header (esp_image_header_t), which ble_ota_app_check_digest_covers compares with flash. */
#define BLE_OTA_APP_CHECK_HEADER_LEN 24u

/** Streaming check of one image. Private fields: use the functions below. */
typedef struct {
    ble_ota_app_rules_t rules;
    uint32_t pos;                /*!< image bytes seen */
    uint8_t hdr[BLE_OTA_APP_CHECK_HEADER_LEN]; /*!< esp_image_header_t */
    uint8_t seg_hdr[8];          /*!< the segment header being read */
    uint8_t segments;            /*!< segment count from the header */
    uint8_t seg_index;           /*!< segment whose header comes next (or is being read) */
    uint32_t next_seg_hdr;       /*!< image offset of that header */
    uint32_t seg0_data;          /*!< image offset of segment 0's data (the app descriptor) */
    uint8_t desc[4];             /*!< first bytes of segment 0's data */
    bool code_mapped;            /*!< a segment after the first is in IROM */
    ble_ota_err_t verdict;       /*!< sticky: the first refusal */
} ble_ota_app_check_t;

void ble_ota_app_check_init(ble_ota_app_check_t *check, const ble_ota_app_rules_t *rules);

/**
 * The next len image bytes, in order. Returns BLE_OTA_OK while nothing is wrong so far; otherwise, and for
 * every later call: BLE_OTA_ERR_IMAGE_INVALID (first byte not 0xE9, or a header no ESP image has),
 * BLE_OTA_ERR_WRONG_CHIP (another chip's image), BLE_OTA_ERR_NOT_APP (not an app: see above).
 */
ble_ota_err_t ble_ota_app_check_feed(ble_ota_app_check_t *check, const uint8_t *data, size_t len);

/**
 * After the last byte: BLE_OTA_OK for an app; the feed's refusal if there was one; BLE_OTA_ERR_IMAGE_INVALID
 * if the image stopped before its last segment header; BLE_OTA_ERR_NOT_APP if no segment after the first is
 * mapped as code.
 */
ble_ota_err_t ble_ota_app_check_finish(const ble_ota_app_check_t *check);

/**
 * After the last byte: true when esp_ota_end's check of the stored image against its own appended SHA-256 covers
 * every byte fed, so that a hash of those bytes is as good as one read back from flash. That is when the image is
 * an app (ble_ota_app_check_finish), its header asks for the hash (esp_image_header_t.hash_appended not 0:
 * esp_image_verify then hashes everything before the hash, padding and checksum byte included, and compares) and
 * the bytes end with that hash: nothing after it, such as a signature sector, which esp_image_verify checks only
 * in a secure-boot build and then not all of it.
 *
 * stored_header: the first BLE_OTA_APP_CHECK_HEADER_LEN bytes as read back from flash. esp_image_verify reads the
 * header from flash, and a hash_appended byte damaged there would turn its hash check off.
 */
bool ble_ota_app_check_digest_covers(const ble_ota_app_check_t *check, const uint8_t *stored_header);

#ifdef __cplusplus
}
#endif
