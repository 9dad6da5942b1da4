/*
 * A delta patch writer for the host tests and the fuzzer: the blocks are the
 * caller's choice (no matching), the adds are computed from base and target.
 * A second, independent encoder of the format the C# engine's DeltaWriter
 * writes (docs/protocol.md, "Delta patches"), so the C applier is checked
 * against two encoders and docs/delta-vectors.txt.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One block: copy_len bytes from the base (with adds), then insert_len target bytes, then move the base offset. */
typedef struct {
    uint32_t copy_len;
    uint32_t insert_len;
    int32_t seek; /* ignored after the last block */
} bo_delta_block_t;

/*
 * Writes the patch that turns base into target with these blocks into out.
 * Returns its length, or 0 if cap is too small or the blocks do not make the
 * target exactly (or read outside the base).
 */
size_t bo_delta_write(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                      const bo_delta_block_t *blocks, size_t n_blocks, uint8_t *out, size_t cap);

/* The simplest patch: copy min(base, target) bytes from base offset 0 with adds, insert the rest. */
size_t bo_delta_write_simple(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                             uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif
