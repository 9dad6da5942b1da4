/*
 * ble_ota_init()/ble_ota_deinit(): NimBLE host start, service registration,
 * and the mark-valid / rollback decision for the running image.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader_common.h"
#include "esp_app_desc.h"
#include "esp_image_format.h"
#include "esp_check.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "host/ble_hs.h"
#include "nimble/nimble_port.h"
#include "nimble/nimble_port_freertos.h"
#include "services/gap/ble_svc_gap.h"
#include "services/gatt/ble_svc_gatt.h"
#include "sdkconfig.h"
#if CONFIG_SECURE_BOOT || CONFIG_SECURE_SIGNED_APPS_NO_SECURE_BOOT
#include "esp_secure_boot.h"
#endif

#include "ble_ota.h"
#include "ble_ota_priv.h"

#if CONFIG_BLE_OTA_REQUIRE_ENCRYPTION
void ble_store_config_init(void); /* NimBLE's bond store; it has no public header */
#endif

static const char *TAG = "ble_ota";

ble_ota_ctx_t *g_ble_ota;

static void restart_cb(void *arg)
{
    esp_restart();
}

static void host_task(void *param)
{
    nimble_port_run(); /* returns after nimble_port_stop() */
    nimble_port_freertos_deinit();
}

static void on_sync(void)
{
    ble_ota_gap_on_sync();
}

static void on_reset(int reason)
{
    ble_ota_gap_on_reset(reason);
}

/* Fills zero/NULL fields from Kconfig and checks ranges. */
static esp_err_t resolve_config(const ble_ota_config_t *in, ble_ota_ctx_t *o)
{
    ble_ota_config_t c;
    if (in != NULL) {
        c = *in;
    } else {
        memset(&c, 0, sizeof(c));
    }
    const char *name = c.device_name != NULL ? c.device_name : CONFIG_BLE_OTA_DEVICE_NAME;
    /* A longer name would not fit the advertising packets and advertising would never start. */
    ESP_RETURN_ON_FALSE(strlen(name) <= BLE_OTA_NAME_MAX, ESP_ERR_INVALID_ARG, TAG,
                        "device name \"%s\" is %u bytes; at most %u fit the advertising packets", name,
                        (unsigned)strlen(name), (unsigned)BLE_OTA_NAME_MAX);
    memcpy(o->name, name, strlen(name) + 1);
    c.device_name = o->name;
    if (c.max_packet_size == 0) {
        c.max_packet_size = CONFIG_BLE_OTA_MAX_PACKET_SIZE;
    }
    ESP_RETURN_ON_FALSE(c.max_packet_size >= 20 && c.max_packet_size <= BLE_OTA_ATT_MAX_ATTR_LEN,
                        ESP_ERR_INVALID_ARG, TAG, "max_packet_size %u outside 20..512", c.max_packet_size);
    if (c.restart_delay_ms == 0) {
        c.restart_delay_ms = CONFIG_BLE_OTA_RESTART_DELAY_MS;
    }
    if (c.progress_interval_ms == 0) {
        c.progress_interval_ms = CONFIG_BLE_OTA_PROGRESS_INTERVAL_MS;
    }
    if (c.ready_timeout_ms == 0) {
        c.ready_timeout_ms = CONFIG_BLE_OTA_READY_TIMEOUT_MS;
    }
    o->cfg = c;
    return ESP_OK;
}

/* Copies at most dst_size - 1 characters and always NUL-terminates. */
static void copy_field(char *dst, size_t dst_size, const char *src, size_t src_size)
{
    size_t i = 0;
    for (; i + 1 < dst_size && i < src_size && src[i] != '\0'; i++) {
        dst[i] = src[i];
    }
    dst[i] = '\0';
}

/*
 * Bytes of the running image as its .bin file holds them: esp_image_get_metadata's image_len (header,
 * segments, checksum padding, appended SHA-256), plus the signature block a signed app carries after it, sized
 * as process_appended_hash_and_sig() in bootloader_support/src/esp_image_format.c sizes it. 0 if unreadable.
 */
#if CONFIG_BLE_OTA_DELTA
static uint32_t running_image_len(const esp_partition_t *running)
{
    const esp_partition_pos_t pos = { .offset = running->address, .size = running->size };
    esp_image_metadata_t meta;
    if (esp_image_get_metadata(&pos, &meta) != ESP_OK) {
        return 0;
    }
    uint32_t len = meta.image_len;
#if CONFIG_SECURE_BOOT || CONFIG_SECURE_SIGNED_APPS_NO_SECURE_BOOT
#if CONFIG_SECURE_SIGNED_APPS_ECDSA_SCHEME
    len += sizeof(esp_secure_boot_sig_block_t);
#else
    len = ((len + 4095u) & ~4095u) + sizeof(ets_secure_boot_signature_t);
#endif
#endif
    return len <= running->size ? len : 0;
}
#endif

void ble_ota_device_info_fill(ble_ota_ctx_t *o)
{
    ble_ota_device_info_t *out = &o->info;
    memset(out, 0, sizeof(*out));
    /* The chip the build targets: the same id idf.py writes into the image
     * header (esp_image_header_t.chip_id), known at compile time. */
    out->chip_id = (uint16_t)CONFIG_IDF_FIRMWARE_CHIP_ID;
    const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
    out->slot_size = next != NULL ? (uint32_t)next->size : 0u;
    const esp_app_desc_t *app = esp_app_get_description();
    copy_field(out->version, sizeof(out->version), app->version, sizeof(app->version));
    copy_field(out->project_name, sizeof(out->project_name), app->project_name, sizeof(app->project_name));
    copy_field(out->idf_version, sizeof(out->idf_version), app->idf_ver, sizeof(app->idf_ver));

#if CONFIG_BLE_OTA_DELTA
    /* The base of delta patches: what the client must have sent before. Hashed once (about 50 ms per MB). */
    o->running_part = esp_ota_get_running_partition();
    uint32_t len = o->running_part != NULL ? running_image_len(o->running_part) : 0;
    if (len > 0 && bootloader_common_get_sha256_of_partition(o->running_part->address, len, ESP_PARTITION_TYPE_DATA,
                                                             out->image_sha256) == ESP_OK) {
        out->image_len = len;
        ESP_LOGI(TAG, "running image: %" PRIu32 " bytes on %s, SHA-256 %02x%02x%02x%02x...", len,
                 o->running_part->label, out->image_sha256[0], out->image_sha256[1], out->image_sha256[2],
                 out->image_sha256[3]);
    } else {
        ESP_LOGW(TAG, "running image unreadable: delta updates are off until the next update");
    }
#endif
}

/*
 * First boot of a new image (PENDING_VERIFY): keep it only if BLE came up and
 * the app's self-test passed, so a device can always be updated again.
 * Any other state (factory app, already valid, rollback off): nothing to do.
 */
static esp_err_t confirm_running_image(const ble_ota_ctx_t *o, bool ble_up)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    esp_ota_img_states_t state;
    if (running == NULL || esp_ota_get_state_partition(running, &state) != ESP_OK ||
        state != ESP_OTA_IMG_PENDING_VERIFY) {
        return ESP_OK;
    }
    bool ok = ble_up;
    if (ok && o->cfg.self_test != NULL) {
        ESP_LOGI(TAG, "running the app self-test");
        ok = o->cfg.self_test(o->cfg.self_test_arg);
    }
    if (ok) {
        ESP_LOGI(TAG, "new image on %s passed its checks: marking it valid", running->label);
        return esp_ota_mark_app_valid_cancel_rollback();
    }
    ESP_LOGE(TAG, "new image on %s failed (%s): rolling back", running->label,
             ble_up ? "self-test" : "BLE did not come up");
    /* Reboots into the previous image; returns only if there is none. */
    esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();
    ESP_LOGE(TAG, "rollback impossible: %s", esp_err_to_name(err));
    return ESP_FAIL;
}

esp_err_t ble_ota_init(const ble_ota_config_t *cfg)
{
    esp_err_t ret = ESP_OK;
    bool nimble_up = false;
    ESP_RETURN_ON_FALSE(g_ble_ota == NULL, ESP_ERR_INVALID_STATE, TAG, "already initialised");
    ESP_RETURN_ON_FALSE(esp_ota_get_next_update_partition(NULL) != NULL, ESP_ERR_NOT_FOUND, TAG,
                        "partition table has no OTA update partition");

    ble_ota_ctx_t *o = calloc(1, sizeof(*o));
    ESP_RETURN_ON_FALSE(o != NULL, ESP_ERR_NO_MEM, TAG, "no memory");
    for (size_t i = 0; i < CONFIG_BT_NIMBLE_MAX_CONNECTIONS; i++) {
        o->subscribed[i] = BLE_HS_CONN_HANDLE_NONE;
    }
    ESP_GOTO_ON_ERROR(resolve_config(cfg, o), err, TAG, "bad config");
    ble_ota_device_info_fill(o);

    ble_ota_core_config_t core_cfg = ble_ota_core_config_default();
    core_cfg.max_packet_size = o->cfg.max_packet_size;
    core_cfg.restart_delay_ms = o->cfg.restart_delay_ms;
    core_cfg.progress_interval_ms = o->cfg.progress_interval_ms;
    core_cfg.window = CONFIG_BLE_OTA_WINDOW;
    /* A Kconfig bool that is off is absent from sdkconfig.h: test it, never use it as a value. */
#if CONFIG_BLE_OTA_COMPRESSION
    core_cfg.compression = true;
#endif
#if CONFIG_BLE_OTA_REQUIRE_ENCRYPTION
    core_cfg.require_encryption = true;
#endif
    ESP_GOTO_ON_FALSE(ble_ota_core_init(&o->core, &core_cfg, &g_ble_ota_port, o) == BLE_OTA_OK,
                      ESP_ERR_INVALID_ARG, err, TAG, "core init");

    o->ready = xSemaphoreCreateBinary();
    ESP_GOTO_ON_FALSE(o->ready != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory");
    const esp_timer_create_args_t timer_args = {
        .callback = restart_cb,
        .name = "ble_ota_restart",
    };
    ESP_GOTO_ON_ERROR(esp_timer_create(&timer_args, &o->restart_timer), err, TAG, "restart timer");
    g_ble_ota = o;

    ESP_GOTO_ON_ERROR(nimble_port_init(), err, TAG, "nimble_port_init");
    nimble_up = true;
    ble_npl_event_init(&o->room_event, ble_ota_stream_room_event, o); /* needs the NPL nimble_port_init set up */
    ble_hs_cfg.sync_cb = on_sync;
    ble_hs_cfg.reset_cb = on_reset;
#if CONFIG_BLE_OTA_REQUIRE_ENCRYPTION
    /* LE Secure Connections with bonding, Just Works: the device has no display or keys. */
    ble_hs_cfg.sm_io_cap = BLE_HS_IO_NO_INPUT_OUTPUT;
    ble_hs_cfg.sm_sc = 1;
    ble_hs_cfg.sm_bonding = 1;
    ble_hs_cfg.sm_our_key_dist = BLE_SM_PAIR_KEY_DIST_ENC | BLE_SM_PAIR_KEY_DIST_ID;
    ble_hs_cfg.sm_their_key_dist = BLE_SM_PAIR_KEY_DIST_ENC | BLE_SM_PAIR_KEY_DIST_ID;
    ble_hs_cfg.store_status_cb = ble_store_util_status_rr;
    ble_store_config_init();
#endif
    ble_svc_gap_init();
    ble_svc_gatt_init();
    ESP_GOTO_ON_FALSE(ble_ota_gatt_register() == 0, ESP_FAIL, err, TAG, "GATT registration");
    ESP_GOTO_ON_FALSE(ble_svc_gap_device_name_set(o->name) == 0, ESP_FAIL, err, TAG, "device name");
    nimble_port_freertos_init(host_task);

    bool ble_up = xSemaphoreTake(o->ready, pdMS_TO_TICKS(o->cfg.ready_timeout_ms)) == pdTRUE;
    ESP_RETURN_ON_ERROR(confirm_running_image(o, ble_up), TAG, "running image not confirmed");
    ESP_RETURN_ON_FALSE(ble_up, ESP_ERR_TIMEOUT, TAG, "BLE host did not sync in %u ms",
                        (unsigned)o->cfg.ready_timeout_ms);
    return ESP_OK;

err:
    if (nimble_up) {
        nimble_port_deinit();
    }
    if (o->restart_timer != NULL) {
        esp_timer_delete(o->restart_timer);
    }
    if (o->ready != NULL) {
        vSemaphoreDelete(o->ready);
    }
    g_ble_ota = NULL;
    free(o);
    return ret;
}

esp_err_t ble_ota_deinit(void)
{
    ble_ota_ctx_t *o = g_ble_ota;
    ESP_RETURN_ON_FALSE(o != NULL, ESP_ERR_INVALID_STATE, TAG, "not initialised");
    ESP_RETURN_ON_FALSE(nimble_port_stop() == 0, ESP_FAIL, TAG, "nimble_port_stop");
    /* The host task has ended: no more callbacks. */
    ble_ota_core_deinit(&o->core); /* aborts a running update via flash_abort */
    esp_err_t ret = nimble_port_deinit();
    esp_timer_stop(o->restart_timer);
    esp_timer_delete(o->restart_timer);
    vSemaphoreDelete(o->ready);
    g_ble_ota = NULL;
    free(o);
    return ret;
}

bool ble_ota_is_updating(void)
{
    ble_ota_ctx_t *o = g_ble_ota;
    return o != NULL && ble_ota_core_state(&o->core) == BLE_OTA_STATE_RECEIVING;
}
