/*
 * DONE's heavy work off the NimBLE host task's stack.
 *
 * DONE arrives in a GATT access callback, on the host task, whose stack is CONFIG_BT_NIMBLE_HOST_TASK_STACK_SIZE
 * (4096 bytes by default in ESP-IDF 5.x). What DONE does is deep: the v2 image's SHA-256 (finishing the
 * writer's hash, or reading the image back from flash: ble_ota_stream.c), esp_ota_end (esp_image_verify over
 * the whole image, plus mbedtls signature verification with signed images) and esp_ota_set_boot_partition
 * (which verifies the image once more). So it runs in a short-lived
 * task with a stack of its own, CONFIG_BLE_OTA_DONE_STACK_SIZE, while the host task waits for it; the host's
 * stack then only carries the callback. The task logs how much of its stack the work used, so the size can
 * be checked on real silicon with the project's own security options.
 */
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"

#include "ble_ota_priv.h"

static const char *TAG = "ble_ota";

typedef struct {
    ble_ota_done_job_t job;
    ble_ota_ctx_t *o;
    void *arg;
    ble_ota_err_t result;
    SemaphoreHandle_t finished;
} done_run_t;

static void done_task(void *arg)
{
    done_run_t *run = (done_run_t *)arg;
    run->result = run->job(run->o, run->arg);
    /* ESP-IDF's FreeRTOS counts stack in bytes. */
    ESP_LOGI(TAG, "DONE work used %u of %u stack bytes",
             (unsigned)(CONFIG_BLE_OTA_DONE_STACK_SIZE - uxTaskGetStackHighWaterMark(NULL)),
             (unsigned)CONFIG_BLE_OTA_DONE_STACK_SIZE);
    xSemaphoreGive(run->finished); /* run lives on the waiting task's stack: not touched after this */
    vTaskDelete(NULL);
}

ble_ota_err_t ble_ota_run_done_job(ble_ota_ctx_t *o, ble_ota_done_job_t job, void *arg)
{
    done_run_t run = {
        .job = job,
        .o = o,
        .arg = arg,
        .result = BLE_OTA_ERR_INTERNAL,
        .finished = xSemaphoreCreateBinary(),
    };
    if (run.finished == NULL) {
        return BLE_OTA_ERR_NO_MEM;
    }
    /* The caller's priority: the host task only waits, and nothing else should overtake the work. */
    if (xTaskCreate(done_task, "ble_ota_done", CONFIG_BLE_OTA_DONE_STACK_SIZE, &run, uxTaskPriorityGet(NULL), NULL) !=
        pdPASS) {
        vSemaphoreDelete(run.finished);
        ESP_LOGE(TAG, "no memory for the DONE task (%d bytes of stack)", CONFIG_BLE_OTA_DONE_STACK_SIZE);
        return BLE_OTA_ERR_NO_MEM;
    }
    (void)xSemaphoreTake(run.finished, portMAX_DELAY);
    vSemaphoreDelete(run.finished);
    return run.result;
}
