/* Small SHA-256 (FIPS 180-4) for the host build: image hashes in the
 * simulated esp_image_verify. Not constant-time; test use only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t h[8];
    uint64_t total;   /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;      /* bytes in block */
} bo_sha256_t;

void bo_sha256_init(bo_sha256_t *s);
void bo_sha256_update(bo_sha256_t *s, const void *data, size_t len);
void bo_sha256_final(bo_sha256_t *s, uint8_t digest[32]);
/* One shot. */
void bo_sha256(const void *data, size_t len, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif
