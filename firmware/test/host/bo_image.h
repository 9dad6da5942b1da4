/*
 * ESP app image checks for the host build, modelled on what esp_ota_end() /
 * esp_image_verify() check on the device: header magic, chip id, segment
 * count, every segment inside the image and 4-byte aligned, the XOR checksum
 * byte and, when the header says so, the appended SHA-256.
 * Not checked (the device does): segment load addresses against the memory
 * map, chip revision range, secure boot signatures.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BO_IMAGE_MAGIC           0xE9u
#define BO_IMAGE_HEADER_LEN      24u
#define BO_IMAGE_SEG_HEADER_LEN  8u
#define BO_IMAGE_MAX_SEGMENTS    16u
#define BO_IMAGE_CHECKSUM_SEED   0xEFu
#define BO_APP_DESC_MAGIC        0xABCD5432u
#define BO_APP_DESC_LEN          256u
#define BO_CHIP_ESP32            0x0000u
#define BO_CHIP_ANY              0xFFFFu

typedef enum {
    BO_IMAGE_OK = 0,
    BO_IMAGE_E_TRUNCATED,     /* shorter than its header/segments/checksum/hash say */
    BO_IMAGE_E_MAGIC,         /* first byte is not 0xE9 */
    BO_IMAGE_E_SEGMENTS,      /* segment count 0 or above 16 */
    BO_IMAGE_E_SEG_ALIGN,     /* segment length not a multiple of 4 */
    BO_IMAGE_E_CHIP,          /* chip id is not the expected one */
    BO_IMAGE_E_CHECKSUM,      /* XOR checksum byte mismatch */
    BO_IMAGE_E_HASH,          /* appended SHA-256 mismatch */
} bo_image_result_t;

typedef struct {
    uint32_t image_len;      /* bytes the image occupies, hash included */
    uint8_t segment_count;
    uint16_t chip_id;
    uint8_t hash_appended;
    int has_app_desc;        /* first segment starts with an esp_app_desc_t */
    char version[33];
    char project_name[33];
    char idf_ver[33];
} bo_image_info_t;

/* Checks img[0..len). len may exceed the image (a flash slot). info may be NULL. */
bo_image_result_t bo_image_verify(const uint8_t *img, size_t len, uint16_t expected_chip,
                                  bo_image_info_t *info);

const char *bo_image_result_name(bo_image_result_t r);

/*
 * Builds a minimal valid ESP32 app image (an esp_app_desc_t with the given
 * version/project/idf_ver, any of them may be NULL, in flash-mapped data, a
 * short flash-mapped code segment, checksum, SHA-256) into out. Returns its
 * length, or 0 if cap is too small (512 bytes always suffice).
 */
size_t bo_image_build_minimal(uint8_t *out, size_t cap, const char *version, const char *project,
                              const char *idf_ver);

#ifdef __cplusplus
}
#endif
