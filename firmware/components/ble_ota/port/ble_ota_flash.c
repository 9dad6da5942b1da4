/*
 * Port callbacks of the protocol core on ESP-IDF: esp_ota_* for flash,
 * NimBLE notifications, an esp_timer for the restart.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "esp_check.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "soc/soc.h"        /* SOC_DROM_LOW... of the target */
#include "spi_flash_mmap.h" /* ESP_ERR_FLASH_OP_FAIL */
#include "esp_timer.h"
#include "host/ble_gatt.h"
#include "host/ble_hs_mbuf.h"

#include "ble_ota_flash_plan.h"
#include "ble_ota_priv.h"

static const char *TAG = "ble_ota";

/* What an app for this chip looks like: the build target's chip id and flash-mapped ranges, the ones
 * bootloader_support's esp_image_format.c maps segments by (should_map). */
static const ble_ota_app_rules_t k_app_rules = {
    .chip_id = CONFIG_IDF_FIRMWARE_CHIP_ID,
    .drom_low = SOC_DROM_LOW,
    .drom_high = SOC_DROM_HIGH,
    .irom_low = SOC_IROM_LOW,
    .irom_high = SOC_IROM_HIGH,
};

static ble_ota_err_t to_core_err(esp_err_t err)
{
    switch (err) {
    case ESP_OK:                      return BLE_OTA_OK;
    case ESP_ERR_NO_MEM:              return BLE_OTA_ERR_NO_MEM;
    case ESP_ERR_NOT_FOUND:           return BLE_OTA_ERR_NO_PARTITION;
    case ESP_ERR_INVALID_SIZE:        return BLE_OTA_ERR_IMAGE_TOO_LARGE;
    case ESP_ERR_OTA_VALIDATE_FAILED: return BLE_OTA_ERR_IMAGE_INVALID;
    case ESP_ERR_OTA_ROLLBACK_INVALID_STATE: return BLE_OTA_ERR_INVALID_STATE;
    default:                          return BLE_OTA_ERR_FLASH;
    }
}

/* Frees everything a session holds. Safe to call twice. */
static void session_release(ble_ota_ctx_t *o)
{
    ble_ota_stream_release(o); /* stops the writer before the handle goes */
    if (o->ota_open) {
        esp_ota_abort(o->ota_handle);
        o->ota_open = false;
    }
    o->session_open = false;
    free(o->rx_buf);
    o->rx_buf = NULL;
    free(o->prefix);
    o->prefix = NULL;
    o->prefix_len = 0;
    o->update_part = NULL;
}

/* Logs the incoming app next to the running one. Never refuses anything:
 * same version or a version that failed before is a warning only. */
static void log_incoming_app(const ble_ota_ctx_t *o)
{
    esp_app_desc_t incoming;
    memcpy(&incoming, o->prefix + BLE_OTA_APP_DESC_OFFSET, sizeof(incoming));
    if (incoming.magic_word != ESP_APP_DESC_MAGIC_WORD) {
        ESP_LOGW(TAG, "incoming image has no app descriptor");
        return;
    }
    const esp_app_desc_t *running = esp_app_get_description();
    ESP_LOGI(TAG, "incoming: %.32s %.32s (IDF %.32s); running: %.32s %.32s",
             incoming.project_name, incoming.version, incoming.idf_ver, running->project_name, running->version);
    if (strncmp(incoming.version, running->version, sizeof(incoming.version)) == 0) {
        ESP_LOGW(TAG, "incoming version equals the running one (allowed)");
    }
    const esp_partition_t *invalid = esp_ota_get_last_invalid_partition();
    esp_app_desc_t invalid_desc;
    if (invalid != NULL && esp_ota_get_partition_description(invalid, &invalid_desc) == ESP_OK &&
        strncmp(incoming.version, invalid_desc.version, sizeof(incoming.version)) == 0) {
        ESP_LOGW(TAG, "incoming version %.32s was rolled back before (allowed)", incoming.version);
    }
}

ble_ota_err_t ble_ota_flash_open(ble_ota_ctx_t *o, uint32_t image_size, bool sequential, uint32_t *capacity)
{
    esp_err_t ret = ESP_OK;

    session_release(o);
    o->update_part = esp_ota_get_next_update_partition(NULL);
    ESP_GOTO_ON_FALSE(o->update_part != NULL, ESP_ERR_NOT_FOUND, err, TAG, "no OTA update partition");
    ESP_GOTO_ON_FALSE(image_size <= o->update_part->size, ESP_ERR_INVALID_SIZE, err, TAG,
                      "image of %" PRIu32 " bytes does not fit %s (%" PRIu32 ")", image_size,
                      o->update_part->label, o->update_part->size);
    o->rx_buf = malloc(o->cfg.max_packet_size);
    o->prefix = malloc(BLE_OTA_IMAGE_PREFIX_LEN);
    ESP_GOTO_ON_FALSE(o->rx_buf != NULL && o->prefix != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory for buffers");

    /* Sequential: nothing is erased until the first bytes are judged an app (ble_ota_flash_append opens
     * the handle then, with the first 64 KB block's size, so esp_ota_begin erases that block and no more and
     * esp_ota_write erases nothing; the next blocks are erased ahead of the data). esp_ota_begin is asked here
     * only for its refusals (the running partition, a running app still pending verification): with
     * OTA_WITH_SEQUENTIAL_WRITES it erases nothing, and its handle is given back at once.
     * Otherwise esp_ota_begin erases the whole partition now. */
    ESP_GOTO_ON_ERROR(esp_ota_begin(o->update_part, sequential ? OTA_WITH_SEQUENTIAL_WRITES : OTA_SIZE_UNKNOWN,
                                    &o->ota_handle),
                      err, TAG, "esp_ota_begin on %s failed", o->update_part->label);
    if (sequential) {
        esp_ota_abort(o->ota_handle);
    }
    o->ota_open = !sequential;
    o->session_open = true;
    o->written = 0;
    o->erased = sequential ? 0 : o->update_part->size;
    ble_ota_app_check_init(&o->app_check, &k_app_rules);
    *capacity = o->update_part->size;
    ESP_LOGI(TAG, "update started: writing %s at 0x%" PRIx32 " (%" PRIu32 " bytes)", o->update_part->label,
             o->update_part->address, o->update_part->size);
    return BLE_OTA_OK;

err:
    session_release(o); /* esp_ota_abort if the handle was opened, buffers freed */
    return to_core_err(ret);
}

/* A Kconfig bool that is off is absent from sdkconfig.h: test it, never use it as a value. */
#if CONFIG_BLE_OTA_SEQUENTIAL_ERASE
#define V1_SEQUENTIAL_ERASE true
#else
#define V1_SEQUENTIAL_ERASE false
#endif

static ble_ota_err_t port_flash_begin(void *ctx, uint32_t image_size, uint32_t *capacity)
{
    return ble_ota_flash_open((ble_ota_ctx_t *)ctx, image_size, V1_SEQUENTIAL_ERASE, capacity);
}

ble_ota_err_t ble_ota_flash_append(ble_ota_ctx_t *o, const uint8_t *data, size_t len)
{
    esp_err_t ret = ESP_OK;

    ESP_GOTO_ON_FALSE(o->session_open, ESP_ERR_INVALID_STATE, err, TAG, "write without a session");
    /* Judged before they are written: a bootloader or another chip's image is refused at its header. */
    ble_ota_err_t verdict = ble_ota_app_check_feed(&o->app_check, data, len);
    if (verdict != BLE_OTA_OK) {
        ESP_LOGE(TAG, "refusing the image at offset %" PRIu32 ": %s", o->written, ble_ota_err_name(verdict));
        return verdict;
    }
    /* Erase ahead: a whole block before the data enters it (one stall per 64 KB, not sixteen). */
    ble_ota_erase_t range;
    if (!o->ota_open && len > 0) {
        (void)ble_ota_erase_next(0, 1, o->update_part->size, &range);
        ESP_GOTO_ON_ERROR(esp_ota_begin(o->update_part, range.size, &o->ota_handle), err, TAG,
                          "esp_ota_begin on %s failed", o->update_part->label);
        o->ota_open = true;
        o->erased = range.size;
    }
    while (ble_ota_erase_next(o->erased, o->written + (uint32_t)len, o->update_part->size, &range)) {
        ESP_GOTO_ON_ERROR(esp_partition_erase_range(o->update_part, range.offset, range.size), err, TAG,
                          "erasing %" PRIu32 " bytes at 0x%" PRIx32 " failed", range.size, range.offset);
        o->erased += range.size;
    }
    /* Exactly the bytes received: never pad a short packet. */
    ESP_GOTO_ON_ERROR(esp_ota_write(o->ota_handle, data, len), err, TAG,
                      "esp_ota_write of %u bytes at offset %" PRIu32 " failed", (unsigned)len, o->written);
    if (o->prefix_len < BLE_OTA_IMAGE_PREFIX_LEN) {
        size_t take = BLE_OTA_IMAGE_PREFIX_LEN - o->prefix_len;
        take = take < len ? take : len;
        memcpy(o->prefix + o->prefix_len, data, take);
        o->prefix_len += take;
        if (o->prefix_len == BLE_OTA_IMAGE_PREFIX_LEN) {
            log_incoming_app(o);
        }
    }
    o->written += (uint32_t)len;
    return BLE_OTA_OK;

err:
    /* The caller releases the session: the v2 writer task must not stop itself. */
    return ret == ESP_ERR_INVALID_STATE ? BLE_OTA_ERR_INVALID_STATE : to_core_err(ret);
}

/* In the DONE task: esp_ota_end verifies the image, esp_ota_set_boot_partition verifies it again and switches. */
static ble_ota_err_t verify_and_switch(ble_ota_ctx_t *o, void *arg)
{
    (void)arg;
    esp_err_t ret = ESP_OK;
    ble_ota_err_t result = BLE_OTA_ERR_IMAGE_INVALID;
    if (!o->ota_open) {
        ESP_LOGE(TAG, "nothing was written");
        return result;
    }
    o->ota_open = false; /* esp_ota_end frees the handle whatever it finds */
    ESP_GOTO_ON_ERROR(esp_ota_end(o->ota_handle), err, TAG, "image rejected after %" PRIu32 " bytes", o->written);
    result = BLE_OTA_ERR_SET_BOOT;
    ESP_GOTO_ON_ERROR(esp_ota_set_boot_partition(o->update_part), err, TAG, "esp_ota_set_boot_partition failed");
    return BLE_OTA_OK;

err:
    (void)ret;
    return result;
}

static ble_ota_err_t port_flash_end(void *ctx)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    if (!o->session_open) {
        ESP_LOGE(TAG, "end without a session");
        return BLE_OTA_ERR_INVALID_STATE;
    }
    ble_ota_stream_release(o); /* v2: the writer has drained (stream_finish); stop it before the handle closes */
    ble_ota_err_t result = ble_ota_app_check_finish(&o->app_check);
    if (result != BLE_OTA_OK) {
        ESP_LOGE(TAG, "refusing the image at DONE: %s", ble_ota_err_name(result));
    } else {
        result = ble_ota_run_done_job(o, verify_and_switch, NULL);
    }
    if (result == BLE_OTA_OK) {
        ESP_LOGI(TAG, "image of %" PRIu32 " bytes valid, %s will boot next", o->written, o->update_part->label);
    }
    session_release(o); /* esp_ota_abort if the handle is still open: the boot partition stays */
    return result;
}

static ble_ota_err_t port_flash_write(void *ctx, const uint8_t *data, size_t len)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    ble_ota_err_t err = ble_ota_flash_append(o, data, len);
    if (err != BLE_OTA_OK) {
        session_release(o);
    }
    return err;
}

static void port_flash_abort(void *ctx)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    if (o->session_open) {
        ESP_LOGW(TAG, "update aborted after %" PRIu32 " bytes; boot partition unchanged", o->written);
    }
    session_release(o);
}

ble_ota_err_t ble_ota_base_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    /* Decrypts transparently when flash encryption is on, as the bootloader reads the image. */
    esp_err_t err = esp_partition_read(o->running_part, offset, buf, len);
    if (err != ESP_OK) {
        ESP_LOGW(TAG, "reading the running image at %" PRIu32 " failed: %s", offset, esp_err_to_name(err));
        return BLE_OTA_ERR_FLASH;
    }
    return BLE_OTA_OK;
}

static ble_ota_err_t port_notify(void *ctx, uint16_t conn, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (!ble_ota_gatt_is_subscribed(conn)) {
        ESP_LOGW(TAG, "conn %u not subscribed to Control; value 0x%02x readable only", conn, data[0]);
        return BLE_OTA_ERR_NOTIFY;
    }
    struct os_mbuf *om = ble_hs_mbuf_from_flat(data, (uint16_t)len);
    if (om == NULL) {
        return BLE_OTA_ERR_NO_MEM;
    }
    /* Queued ahead of the ATT write response of the current request. */
    int rc = ble_gatts_notify_custom(conn, ble_ota_gatt_control_handle(), om);
    if (rc != 0) {
        ESP_LOGW(TAG, "notify failed: %d", rc);
        return BLE_OTA_ERR_NOTIFY;
    }
    return BLE_OTA_OK;
}

static void port_schedule_restart(void *ctx, uint32_t delay_ms)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    ESP_LOGI(TAG, "restarting in %" PRIu32 " ms", delay_ms);
    /* A timer, not a delay in the host task: the DONE_ACK notification and the
     * write response must still go out. */
    if (esp_timer_start_once(o->restart_timer, (uint64_t)delay_ms * 1000u) != ESP_OK) {
        esp_restart();
    }
}

static uint32_t port_now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)(esp_timer_get_time() / 1000);
}

static void port_on_event(void *ctx, const ble_ota_core_event_t *ev)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    const ble_ota_callbacks_t *cb = &o->cfg.callbacks;
    switch (ev->type) {
    case BLE_OTA_CORE_EV_STARTED:
        if (cb->on_update_started != NULL) {
            cb->on_update_started(o->cfg.user_ctx);
        }
        break;
    case BLE_OTA_CORE_EV_PROGRESS:
        if (cb->on_progress != NULL) {
            ble_ota_progress_t p = {
                .bytes_received = ev->bytes,
                .packets = ev->packets,
                .partition_size = ev->capacity,
                .elapsed_ms = ev->elapsed_ms,
            };
            cb->on_progress(&p, o->cfg.user_ctx);
        }
        break;
    case BLE_OTA_CORE_EV_FINISHED: {
        esp_err_t err;
        switch (ev->result) {
        case BLE_OTA_OK:                  err = ESP_OK; break;
        case BLE_OTA_ERR_IMAGE_INVALID:
        case BLE_OTA_ERR_SHA_MISMATCH:
        case BLE_OTA_ERR_SIZE_MISMATCH:
        case BLE_OTA_ERR_INFLATE:
        case BLE_OTA_ERR_DELTA:
        case BLE_OTA_ERR_NOT_APP:
        case BLE_OTA_ERR_WRONG_CHIP:      err = ESP_ERR_OTA_VALIDATE_FAILED; break;
        case BLE_OTA_ERR_IMAGE_TOO_LARGE: err = ESP_ERR_INVALID_SIZE; break;
        case BLE_OTA_ERR_FLASH:           err = ESP_ERR_FLASH_OP_FAIL; break;
        case BLE_OTA_ERR_DISCONNECTED:
        case BLE_OTA_ERR_INVALID_STATE:
        case BLE_OTA_ERR_INVALID_LEN:
        case BLE_OTA_ERR_NO_DATA:
        case BLE_OTA_ERR_ABORTED:         err = ESP_ERR_INVALID_STATE; break;
        default:                          err = ESP_FAIL; break;
        }
        if (ev->result == BLE_OTA_OK) {
            ESP_LOGI(TAG, "update finished: %" PRIu32 " bytes in %" PRIu32 " ms", ev->bytes, ev->elapsed_ms);
        } else {
            ESP_LOGW(TAG, "update failed: %s after %" PRIu32 " bytes", ble_ota_err_name(ev->result), ev->bytes);
        }
        if (cb->on_update_finished != NULL) {
            ble_ota_result_t r = {
                .err = err,
                .reason = ble_ota_err_name(ev->result),
                .bytes_received = ev->bytes,
            };
            cb->on_update_finished(&r, o->cfg.user_ctx);
        }
        break;
    }
    }
}

/* Info: filled once by ble_ota_init() (ble_ota_device_info_fill); the running
 * image, chip and slot cannot change before the next restart. */
static ble_ota_err_t port_device_info(void *ctx, ble_ota_device_info_t *out)
{
    const ble_ota_ctx_t *o = (const ble_ota_ctx_t *)ctx;
    *out = o->info;
    return BLE_OTA_OK;
}

const ble_ota_port_t g_ble_ota_port = {
    .flash_begin = port_flash_begin,
    .flash_write = port_flash_write,
    .flash_end = port_flash_end,
    .flash_abort = port_flash_abort,
    .notify = port_notify,
    .schedule_restart = port_schedule_restart,
    .now_ms = port_now_ms,
    .on_event = port_on_event,
    .device_info = port_device_info,
    .stream_begin = ble_ota_stream_begin,
    .stream_push = ble_ota_stream_push,
    .stream_finish = ble_ota_stream_finish,
#if CONFIG_BLE_OTA_DELTA
    .base_read = ble_ota_base_read,
#endif
    .stream_room = ble_ota_stream_room,
};
