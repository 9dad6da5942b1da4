/*
 * BleOta demo app: starts BLE OTA with a self-test hook. Flash it once over
 * USB; after that, update it over BLE (Invoke-Esp32Ota, or the original
 * Python client).
 */
#include <inttypes.h>
#include <stdbool.h>

#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "nvs_flash.h"

#include "ble_ota.h"

static const char *TAG = "app";

/*
 * Runs on the first boot of a freshly updated image, after BLE is up.
 * Return false to roll back. Check here whatever your product needs to be
 * healthy (sensors answer, configuration loads...); keep it bounded in time.
 */
static bool app_self_test(void *arg)
{
    (void)arg;
    size_t free_heap = xPortGetFreeHeapSize();
    ESP_LOGI(TAG, "self-test: %u bytes of heap free", (unsigned)free_heap);
    return free_heap > 16 * 1024;
}

static void on_update_started(void *user_ctx)
{
    ESP_LOGI(TAG, "OTA started");
}

static void on_progress(const ble_ota_progress_t *p, void *user_ctx)
{
    uint32_t rate = p->elapsed_ms ? (uint32_t)((uint64_t)p->bytes_received * 1000u / p->elapsed_ms) : 0;
    ESP_LOGI(TAG, "OTA %" PRIu32 " bytes, %" PRIu32 " B/s", p->bytes_received, rate);
}

static void on_update_finished(const ble_ota_result_t *r, void *user_ctx)
{
    if (r->err == ESP_OK) {
        ESP_LOGI(TAG, "OTA done (%" PRIu32 " bytes), restarting", r->bytes_received);
    } else {
        ESP_LOGW(TAG, "OTA failed: %s (%s)", esp_err_to_name(r->err), r->reason);
    }
}

void app_main(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    ESP_ERROR_CHECK(err);

    ble_ota_config_t cfg = {
        .device_name = NULL, /* CONFIG_BLE_OTA_DEVICE_NAME */
        .self_test = app_self_test,
        .callbacks = {
            .on_update_started = on_update_started,
            .on_progress = on_progress,
            .on_update_finished = on_update_finished,
        },
    };
    ESP_ERROR_CHECK(ble_ota_init(&cfg));
    ESP_LOGI(TAG, "ready for BLE OTA");

    while (true) {
        vTaskDelay(pdMS_TO_TICKS(10000));
        if (!ble_ota_is_updating()) {
            ESP_LOGI(TAG, "alive, up %" PRIu64 " s", (uint64_t)(esp_timer_get_time() / 1000000));
        }
    }
}
