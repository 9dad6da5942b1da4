/*
 * Internal state shared by the IDF port files. Everything here runs in the
 * NimBLE host task except ble_ota_init()/ble_ota_deinit() (caller's task) and
 * the restart timer (esp_timer task, which only calls esp_restart()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_app_desc.h"
#include "esp_ota_ops.h"
#include "esp_partition.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/ringbuf.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "mbedtls/sha256.h"

#include "nimble/nimble_npl.h"

#include "ble_ota.h"
#include "ble_ota_adv.h" /* BLE_OTA_NAME_MAX */
#include "ble_ota_app_check.h"
#include "ble_ota_core.h"
#include "ble_ota_delta.h"

/* First bytes of an app image: esp_image_header_t (24), the first
 * esp_image_segment_header_t (8), then that segment starts with esp_app_desc_t. */
#define BLE_OTA_IMAGE_HEADER_LEN     24u
#define BLE_OTA_SEGMENT_HEADER_LEN   8u
#define BLE_OTA_APP_DESC_OFFSET      (BLE_OTA_IMAGE_HEADER_LEN + BLE_OTA_SEGMENT_HEADER_LEN)
#define BLE_OTA_IMAGE_PREFIX_LEN     (BLE_OTA_APP_DESC_OFFSET + sizeof(esp_app_desc_t))

typedef struct {
    ble_ota_config_t cfg;             /* resolved: no zero/NULL defaults left */
    char name[BLE_OTA_NAME_MAX + 1];
    ble_ota_core_t core;

    /* flash session (flash_begin .. flash_end/flash_abort) */
    const esp_partition_t *update_part;
    esp_ota_handle_t ota_handle;
    bool session_open;                /* between flash_begin and flash_end/flash_abort */
    bool ota_open;                    /* ota_handle is open (sequential: from the first bytes on) */
    uint32_t written;
    uint32_t erased;                  /* slot bytes erased ahead of the data (ble_ota_erase_next) */
    uint8_t *rx_buf;                  /* max_packet_size bytes, only during a session */
    uint8_t *prefix;                  /* first bytes of the image, for the version log */
    size_t prefix_len;
    ble_ota_app_check_t app_check;    /* is the image an app for this chip (fed before esp_ota_write) */

    /* v2 receive stream (ble_ota_stream.c): ring buffer drained by the writer task */
    RingbufHandle_t ring;
    TaskHandle_t writer;
    SemaphoreHandle_t writer_exited;
    volatile bool writer_stop;
    volatile ble_ota_err_t writer_err; /* sticky, set by the writer, read by the host task */
    volatile uint32_t pushed;         /* stream bytes put in the ring (host task) */
    volatile uint32_t consumed;       /* stream bytes the writer finished (writer task) */
    ble_ota_stream_encoding_t encoding;
    ble_ota_delta_t *delta;           /* the patch applier, only during a delta update (ble_ota_delta.h) */
    void *inflater;                   /* tinfl_decompressor, CONFIG_BLE_OTA_COMPRESSION only */
    uint8_t *dict;                    /* tinfl's 8 KB wrapping output buffer (DEFLATE_DICT_SIZE), CONFIG_BLE_OTA_COMPRESSION only */
    size_t dict_ofs;
    bool inflate_done;
    mbedtls_sha256_context *image_sha; /* SHA-256 of the bytes handed to esp_ota_write, only during a v2 update */
    struct ble_npl_event room_event;  /* the writer freed ring space: run ble_ota_core_on_stream_room in the host task */

    /* GATT / GAP */
    uint8_t own_addr_type;
    uint16_t subscribed[CONFIG_BT_NIMBLE_MAX_CONNECTIONS]; /* conn handles subscribed to Control, 0xFFFF = free */

    ble_ota_device_info_t info;       /* for the Info characteristic, filled at init */
    const esp_partition_t *running_part; /* the base a delta patch reads (ble_ota_base_read) */

    esp_timer_handle_t restart_timer;
    SemaphoreHandle_t ready;          /* given once advertising runs */
} ble_ota_ctx_t;

extern ble_ota_ctx_t *g_ble_ota;

/* ble_ota_flash.c: the core's port table over esp_ota_* */
extern const ble_ota_port_t g_ble_ota_port;

/* ble_ota_flash.c: opens the esp_ota session (erasing sector by sector as writes arrive when
 * sequential is true, else as CONFIG_BLE_OTA_SEQUENTIAL_ERASE says) */
ble_ota_err_t ble_ota_flash_open(ble_ota_ctx_t *o, uint32_t image_size, bool sequential, uint32_t *capacity);
/* esp_ota_write of image bytes (plus the incoming-version log); on error the session is released */
ble_ota_err_t ble_ota_flash_append(ble_ota_ctx_t *o, const uint8_t *data, size_t len);

/* ble_ota_stream.c: the v2 port hooks and their cleanup (called from session_release) */
ble_ota_err_t ble_ota_stream_begin(void *ctx, uint32_t image_size, ble_ota_stream_encoding_t encoding, uint32_t *capacity);
ble_ota_err_t ble_ota_stream_push(void *ctx, const uint8_t *data, size_t len);
ble_ota_err_t ble_ota_stream_finish(void *ctx, uint8_t sha256[BLE_OTA_SHA256_LEN], uint32_t *image_len);
uint32_t ble_ota_stream_room(void *ctx);
/* The writer's "ring has room" event, run by the NimBLE host task (o->room_event, set up in ble_ota_init). */
void ble_ota_stream_room_event(struct ble_npl_event *ev);
void ble_ota_stream_release(ble_ota_ctx_t *o);

/* ble_ota_done_task.c: runs job(o, arg) in a task with CONFIG_BLE_OTA_DONE_STACK_SIZE bytes of stack and waits
 * for it, so DONE's image verification never runs on the NimBLE host task's stack. BLE_OTA_ERR_NO_MEM when the
 * task cannot be created (the job did not run). */
typedef ble_ota_err_t (*ble_ota_done_job_t)(ble_ota_ctx_t *o, void *arg);
ble_ota_err_t ble_ota_run_done_job(ble_ota_ctx_t *o, ble_ota_done_job_t job, void *arg);

/* ble_ota.c: Info's fields, and the running image's length and SHA-256 (the base of delta patches) */
void ble_ota_device_info_fill(ble_ota_ctx_t *o);

/* ble_ota_flash.c: esp_partition_read of the running image, for the delta applier */
ble_ota_err_t ble_ota_base_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len);

/* ble_ota_gatt.c */
int ble_ota_gatt_register(void);
uint16_t ble_ota_gatt_control_handle(void);
void ble_ota_gatt_set_subscribed(uint16_t conn, bool on);
bool ble_ota_gatt_is_subscribed(uint16_t conn);

/* ble_ota_gap.c */
void ble_ota_gap_on_sync(void);
void ble_ota_gap_on_reset(int reason);
int ble_ota_gap_advertise(void);
