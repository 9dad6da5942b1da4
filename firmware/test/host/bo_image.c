#include "bo_image.h"

#include <string.h>

#include "bo_sha256.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Header field offsets (esp_image_header_t). */
enum {
    HDR_MAGIC = 0,
    HDR_SEGMENT_COUNT = 1,
    HDR_SPI_MODE = 2,
    HDR_SPI_SPEED_SIZE = 3,
    HDR_ENTRY = 4,
    HDR_WP_PIN = 8,
    HDR_CHIP_ID = 12,
    HDR_HASH_APPENDED = 23,
};

/* esp_app_desc_t offsets. */
enum {
    DESC_MAGIC = 0,
    DESC_VERSION = 16,
    DESC_PROJECT = 48,
    DESC_IDF_VER = 112,
};

const char *bo_image_result_name(bo_image_result_t r)
{
    switch (r) {
    case BO_IMAGE_OK:          return "ok";
    case BO_IMAGE_E_TRUNCATED: return "truncated";
    case BO_IMAGE_E_MAGIC:     return "bad magic";
    case BO_IMAGE_E_SEGMENTS:  return "bad segment count";
    case BO_IMAGE_E_SEG_ALIGN: return "unaligned segment length";
    case BO_IMAGE_E_CHIP:      return "wrong chip id";
    case BO_IMAGE_E_CHECKSUM:  return "checksum mismatch";
    case BO_IMAGE_E_HASH:      return "SHA-256 mismatch";
    }
    return "?";
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i] != 0; i++) {
        dst[i] = (char)src[i];
    }
    dst[i] = 0;
}

bo_image_result_t bo_image_verify(const uint8_t *img, size_t len, uint16_t expected_chip,
                                  bo_image_info_t *info)
{
    bo_image_info_t local;
    if (info == NULL) {
        info = &local;
    }
    memset(info, 0, sizeof(*info));
    if (len < 1) {
        return BO_IMAGE_E_TRUNCATED;
    }
    if (img[HDR_MAGIC] != BO_IMAGE_MAGIC) {
        return BO_IMAGE_E_MAGIC;
    }
    if (len < BO_IMAGE_HEADER_LEN) {
        return BO_IMAGE_E_TRUNCATED;
    }
    info->segment_count = img[HDR_SEGMENT_COUNT];
    info->chip_id = (uint16_t)(img[HDR_CHIP_ID] | (img[HDR_CHIP_ID + 1] << 8));
    info->hash_appended = img[HDR_HASH_APPENDED];
    if (info->segment_count == 0 || info->segment_count > BO_IMAGE_MAX_SEGMENTS) {
        return BO_IMAGE_E_SEGMENTS;
    }
    if (expected_chip != BO_CHIP_ANY && info->chip_id != expected_chip) {
        return BO_IMAGE_E_CHIP;
    }

    size_t pos = BO_IMAGE_HEADER_LEN;
    uint8_t checksum = BO_IMAGE_CHECKSUM_SEED;
    for (unsigned s = 0; s < info->segment_count; s++) {
        if (len - pos < BO_IMAGE_SEG_HEADER_LEN) {
            return BO_IMAGE_E_TRUNCATED;
        }
        uint32_t data_len = rd32(img + pos + 4);
        pos += BO_IMAGE_SEG_HEADER_LEN;
        if (data_len % 4u != 0) {
            return BO_IMAGE_E_SEG_ALIGN;
        }
        if (data_len > len - pos) {
            return BO_IMAGE_E_TRUNCATED;
        }
        if (s == 0 && data_len >= BO_APP_DESC_LEN && rd32(img + pos + DESC_MAGIC) == BO_APP_DESC_MAGIC) {
            info->has_app_desc = 1;
            copy_str(info->version, img + pos + DESC_VERSION, 32);
            copy_str(info->project_name, img + pos + DESC_PROJECT, 32);
            copy_str(info->idf_ver, img + pos + DESC_IDF_VER, 32);
        }
        for (uint32_t i = 0; i < data_len; i++) {
            checksum ^= img[pos + i];
        }
        pos += data_len;
    }
    /* Zero padding so that the checksum byte is the last byte of a 16-byte block. */
    size_t ck_pos = pos + (15u - pos % 16u);
    if (ck_pos >= len) {
        return BO_IMAGE_E_TRUNCATED;
    }
    if (img[ck_pos] != checksum) {
        return BO_IMAGE_E_CHECKSUM;
    }
    size_t end = ck_pos + 1;
    if (info->hash_appended != 0) { /* esp_image_format.c: any value but 0 appends the hash */
        if (len - end < 32) {
            return BO_IMAGE_E_TRUNCATED;
        }
        uint8_t digest[32];
        bo_sha256(img, end, digest);
        if (memcmp(digest, img + end, 32) != 0) {
            return BO_IMAGE_E_HASH;
        }
        end += 32;
    }
    info->image_len = (uint32_t)end;
    return BO_IMAGE_OK;
}

size_t bo_image_build_minimal(uint8_t *out, size_t cap, const char *version, const char *project,
                              const char *idf_ver)
{
    /* Segment 0: the esp_app_desc_t, mapped as data (DROM); segment 1: code mapped from flash (IROM), as every
     * ESP-IDF app has. ESP32 addresses (soc/esp32/include/soc/soc.h). */
    const size_t desc_len = BO_APP_DESC_LEN;
    const size_t code_len = 16u;
    size_t pos = BO_IMAGE_HEADER_LEN + 2u * BO_IMAGE_SEG_HEADER_LEN + desc_len + code_len;
    size_t ck_pos = pos + (15u - pos % 16u);
    size_t total = ck_pos + 1 + 32;
    if (out == NULL || cap < total) {
        return 0;
    }
    memset(out, 0, total);
    out[HDR_MAGIC] = BO_IMAGE_MAGIC;
    out[HDR_SEGMENT_COUNT] = 2;
    out[HDR_SPI_MODE] = 2;          /* DIO */
    out[HDR_SPI_SPEED_SIZE] = 0x20; /* 40 MHz, 4 MB */
    wr32(out + HDR_ENTRY, 0x400D0020u);
    out[HDR_WP_PIN] = 0xEE;
    out[HDR_HASH_APPENDED] = 1;

    uint8_t *seg = out + BO_IMAGE_HEADER_LEN;
    wr32(seg, 0x3F400020u);            /* DROM load address */
    wr32(seg + 4, (uint32_t)desc_len);
    uint8_t *desc = seg + BO_IMAGE_SEG_HEADER_LEN;
    wr32(desc + DESC_MAGIC, BO_APP_DESC_MAGIC);
    if (version != NULL) {
        strncpy((char *)desc + DESC_VERSION, version, 31);
    }
    if (project != NULL) {
        strncpy((char *)desc + DESC_PROJECT, project, 31);
    }
    if (idf_ver != NULL) {
        strncpy((char *)desc + DESC_IDF_VER, idf_ver, 31);
    }
    uint8_t *code_seg = desc + desc_len;
    wr32(code_seg, 0x400D0020u);       /* IROM load address */
    wr32(code_seg + 4, (uint32_t)code_len);
    uint8_t *code = code_seg + BO_IMAGE_SEG_HEADER_LEN;
    memset(code, 0x13, code_len);      /* RISC-V/Xtensa filler; only its checksum matters here */
    uint8_t checksum = BO_IMAGE_CHECKSUM_SEED;
    for (size_t i = 0; i < desc_len; i++) {
        checksum ^= desc[i];
    }
    for (size_t i = 0; i < code_len; i++) {
        checksum ^= code[i];
    }
    out[ck_pos] = checksum;
    bo_sha256(out, ck_pos + 1, out + ck_pos + 1);
    return total;
}
