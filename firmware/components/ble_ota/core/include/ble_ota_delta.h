/*
 * BLE OTA delta patch applier: plain C99, no IDF dependency (also built on the host).
 *
 * Applies a BleOta delta patch (docs/protocol.md, "Delta patches") as it streams in:
 * the patch arrives in chunks of any size, the base (the running image) is read
 * through a callback at the offsets the patch names, and the new image leaves
 * through a write callback strictly in order, so it can go straight to
 * esp_ota_write. State is one fixed-size struct (sizeof(ble_ota_delta_t),
 * about 7.5 KB: the adaptive models 6.5 KB, a 128-byte input stage, a 256-byte
 * base read-ahead and a 512-byte output buffer); nothing is allocated.
 *
 * The C# engine's DeltaApplier (src/BleOta.Engine/Delta) is the same machine
 * step for step; the test vectors in docs/delta-vectors.txt pin both.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble_ota_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BLE_OTA_DELTA_HEADER_LEN      16u
#define BLE_OTA_DELTA_VERSION         1u
#define BLE_OTA_DELTA_STEP_MARGIN     40u  /*!< most body bytes one decoding step reads */
#define BLE_OTA_DELTA_STAGE_LEN       128u
#define BLE_OTA_DELTA_BASE_WINDOW     256u
#define BLE_OTA_DELTA_OUT_CHUNK       512u

#define BLE_OTA_DELTA_LITERAL_CONTEXTS 8u  /*!< top 3 bits of the byte before */
#define BLE_OTA_DELTA_ADD_CONTEXTS     4u  /*!< target offset mod 4 */
#define BLE_OTA_DELTA_NUMBER_KINDS     4u
#define BLE_OTA_DELTA_NUMBER_TREE      64u /*!< 6-bit tree: bit length of value + 1 */

/** Reads len base bytes at offset into buf (the whole len). */
typedef ble_ota_err_t (*ble_ota_delta_read_fn)(void *ctx, uint32_t offset, uint8_t *buf, size_t len);
/** Takes the next len bytes of the new image. */
typedef ble_ota_err_t (*ble_ota_delta_write_fn)(void *ctx, const uint8_t *data, size_t len);

/** Applier state. Private: use the functions below. */
typedef struct {
    ble_ota_delta_read_fn read_base;
    ble_ota_delta_write_fn write_target;
    void *ctx;
    ble_ota_err_t err;            /*!< first failure, sticky */
    uint8_t step;
    uint8_t previous;             /*!< last target byte (literal context) */
    uint8_t header[BLE_OTA_DELTA_HEADER_LEN];
    uint8_t header_fill;
    uint32_t expected_target;     /*!< image size the REQUEST announced */
    uint32_t base_limit;          /*!< bytes of base that exist */
    uint32_t target_size;
    uint32_t body_size;
    uint32_t body_received;
    uint32_t body_consumed;
    uint32_t produced;
    uint32_t written;
    uint32_t base_pos;
    uint32_t window_start;
    uint32_t window_len;
    uint32_t copy_len;
    uint32_t copy_left;
    uint32_t zeros_left;
    uint32_t insert_left;
    uint32_t range;
    uint32_t code;
    bool overrun;
    uint16_t stage_pos;
    uint16_t stage_end;
    uint16_t out_fill;
    uint16_t literal[BLE_OTA_DELTA_LITERAL_CONTEXTS * 256u];
    uint16_t add[BLE_OTA_DELTA_ADD_CONTEXTS * 256u];
    uint16_t numbers[BLE_OTA_DELTA_NUMBER_KINDS * BLE_OTA_DELTA_NUMBER_TREE];
    uint8_t stage[BLE_OTA_DELTA_STAGE_LEN];
    uint8_t base_window[BLE_OTA_DELTA_BASE_WINDOW];
    uint8_t out[BLE_OTA_DELTA_OUT_CHUNK];
} ble_ota_delta_t;

/**
 * Starts applying a patch. expected_target is the image size the REQUEST
 * announced (the patch header must name it); base_limit is how many base bytes
 * exist (the running image's length): the header's base size must not exceed
 * it and no copy reads past it.
 */
void ble_ota_delta_init(ble_ota_delta_t *d, uint32_t expected_target, uint32_t base_limit,
                        ble_ota_delta_read_fn read_base, ble_ota_delta_write_fn write_target, void *ctx);

/**
 * Takes the next len patch bytes and applies as much as they allow (reading
 * the base and writing the target through the callbacks). Returns BLE_OTA_OK,
 * BLE_OTA_ERR_DELTA (not a patch for this image, damaged, or bytes past its
 * end) or the error a callback returned. Errors are sticky.
 */
ble_ota_err_t ble_ota_delta_feed(ble_ota_delta_t *d, const uint8_t *data, size_t len);

/** After the last byte: BLE_OTA_OK only if the whole image was written and the whole patch read. */
ble_ota_err_t ble_ota_delta_finish(ble_ota_delta_t *d);

/** Image bytes handed to write_target so far. */
uint32_t ble_ota_delta_written(const ble_ota_delta_t *d);

#ifdef __cplusplus
}
#endif
