/*
 * Streaming "is this an app for this device" check; see ble_ota_app_check.h.
 */
#include "ble_ota_app_check.h"

#include <string.h>

#define IMAGE_MAGIC        0xE9u       /* esp_image_header_t.magic (ESP_IMAGE_HEADER_MAGIC) */
#define HEADER_LEN         BLE_OTA_APP_CHECK_HEADER_LEN /* sizeof(esp_image_header_t) */
#define HEADER_OFF_CHIP_ID 12u         /* esp_image_header_t.chip_id, u16 */
#define HEADER_OFF_HASH_APPENDED 23u   /* esp_image_header_t.hash_appended, u8 */
#define APPENDED_HASH_LEN  32u         /* the SHA-256 after the checksum block */
#define SEG_HEADER_LEN     8u          /* esp_image_segment_header_t: load_addr u32, data_len u32 */
#define MAX_SEGMENTS       16u         /* ESP_IMAGE_MAX_SEGMENTS */
#define SEG_LEN_LIMIT      0x1000000u  /* esp_image_format.c: a segment is shorter than 16 MB */
#define APP_DESC_MAGIC     0xABCD5432u /* ESP_APP_DESC_MAGIC_WORD */
#define APP_DESC_LEN       256u        /* sizeof(esp_app_desc_t) */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool in_range(uint32_t addr, uint32_t low, uint32_t high)
{
    return addr >= low && addr < high;
}

void ble_ota_app_check_init(ble_ota_app_check_t *check, const ble_ota_app_rules_t *rules)
{
    memset(check, 0, sizeof(*check));
    check->rules = *rules;
    check->next_seg_hdr = HEADER_LEN;
    check->verdict = BLE_OTA_OK;
}

static ble_ota_err_t judge_header(const ble_ota_app_check_t *c)
{
    uint16_t chip = (uint16_t)(c->hdr[HEADER_OFF_CHIP_ID] | (c->hdr[HEADER_OFF_CHIP_ID + 1] << 8));
    if (chip != c->rules.chip_id) {
        return BLE_OTA_ERR_WRONG_CHIP;
    }
    if (c->segments == 0 || c->segments > MAX_SEGMENTS) {
        return BLE_OTA_ERR_IMAGE_INVALID;
    }
    return BLE_OTA_OK;
}

/* A whole segment header has arrived: where does the segment go, and where does the next header start? */
static ble_ota_err_t judge_segment(ble_ota_app_check_t *c)
{
    uint32_t load = get32(c->seg_hdr);
    uint32_t len = get32(c->seg_hdr + 4);
    if ((len & 3u) != 0 || len >= SEG_LEN_LIMIT) {
        return BLE_OTA_ERR_IMAGE_INVALID;
    }
    if (c->seg_index == 0) {
        /* An app keeps its descriptor in flash-mapped data; a bootloader or RAM-only image loads to RAM. */
        if (!in_range(load, c->rules.drom_low, c->rules.drom_high) || len < APP_DESC_LEN) {
            return BLE_OTA_ERR_NOT_APP;
        }
        c->seg0_data = c->pos;
    } else if (in_range(load, c->rules.irom_low, c->rules.irom_high)) {
        c->code_mapped = true;
    }
    c->next_seg_hdr = c->pos + len;
    c->seg_index++;
    return BLE_OTA_OK;
}

ble_ota_err_t ble_ota_app_check_feed(ble_ota_app_check_t *check, const uint8_t *data, size_t len)
{
    ble_ota_app_check_t *c = check;
    size_t i = 0;
    while (i < len && c->verdict == BLE_OTA_OK) {
        uint32_t pos = c->pos;
        if (pos < HEADER_LEN) {
            c->hdr[pos] = data[i++];
            c->pos++;
            if (pos == 0 && c->hdr[0] != IMAGE_MAGIC) {
                c->verdict = BLE_OTA_ERR_IMAGE_INVALID; /* as esp_ota_write's first-byte check */
            } else if (c->pos == HEADER_LEN) {
                c->segments = c->hdr[1];
                c->verdict = judge_header(c);
            }
        } else if (c->seg_index < c->segments && pos >= c->next_seg_hdr) {
            c->seg_hdr[pos - c->next_seg_hdr] = data[i++];
            c->pos++;
            if (c->pos == c->next_seg_hdr + SEG_HEADER_LEN) {
                c->verdict = judge_segment(c);
            }
        } else if (c->seg_index == 1 && pos < c->seg0_data + sizeof(c->desc)) {
            c->desc[pos - c->seg0_data] = data[i++];
            c->pos++;
            if (c->pos == c->seg0_data + sizeof(c->desc) && get32(c->desc) != APP_DESC_MAGIC) {
                c->verdict = BLE_OTA_ERR_NOT_APP;
            }
        } else {
            /* Segment data (or what follows the last segment): skip to the next header. */
            size_t skip = len - i;
            if (c->seg_index < c->segments && (size_t)(c->next_seg_hdr - pos) < skip) {
                skip = c->next_seg_hdr - pos;
            }
            i += skip;
            c->pos += (uint32_t)skip;
        }
    }
    return c->verdict;
}

ble_ota_err_t ble_ota_app_check_finish(const ble_ota_app_check_t *check)
{
    const ble_ota_app_check_t *c = check;
    if (c->verdict != BLE_OTA_OK) {
        return c->verdict;
    }
    if (c->pos < HEADER_LEN || c->seg_index < c->segments || c->pos < c->seg0_data + sizeof(c->desc)) {
        return BLE_OTA_ERR_IMAGE_INVALID; /* it stopped before its last segment header */
    }
    return c->code_mapped ? BLE_OTA_OK : BLE_OTA_ERR_NOT_APP;
}

bool ble_ota_app_check_digest_covers(const ble_ota_app_check_t *check, const uint8_t *stored_header)
{
    const ble_ota_app_check_t *c = check;
    if (ble_ota_app_check_finish(c) != BLE_OTA_OK || c->hdr[HEADER_OFF_HASH_APPENDED] == 0 ||
        memcmp(stored_header, c->hdr, HEADER_LEN) != 0) {
        return false;
    }
    /* esp_image_format.c, process_checksum: zero padding after the last segment, then the checksum byte ending a
     * 16-byte block; process_appended_hash_and_sig: the hash follows. next_seg_hdr is the last segment's end. */
    uint32_t checksum_end = (c->next_seg_hdr + 1u + 15u) & ~(uint32_t)15u;
    return c->pos == checksum_end + APPENDED_HASH_LEN;
}
