/*
 * BLE OTA: firmware update over Bluetooth LE (NimBLE peripheral), wire
 * protocol v1 (compatible with the original esp32 BLE OTA Python/Bleak client)
 * and v2 (docs/protocol.md: windowed write-without-response streaming, resume,
 * SHA-256 check, optional deflate).
 *
 * One call, ble_ota_init(), brings up NimBLE, the OTA GATT service and
 * advertising, and then decides whether the running image may stay: on the
 * first boot after an update (rollback state PENDING_VERIFY) it is marked
 * valid only if BLE came up and the app's self_test hook returned true;
 * otherwise the device rolls back to the previous image and reboots.
 *
 * The component owns the NimBLE host (there is one per chip), so there is a
 * single instance and no handle.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Progress of a running update. */
typedef struct {
    uint32_t bytes_received;  /*!< image bytes written to flash so far */
    uint32_t packets;         /*!< data packets written so far */
    uint32_t partition_size;  /*!< size of the partition being written */
    uint32_t elapsed_ms;      /*!< time since the REQUEST was accepted */
} ble_ota_progress_t;

/** How an update ended. */
typedef struct {
    esp_err_t err;            /*!< ESP_OK: image valid, boot partition set, restart follows.
                                   ESP_ERR_OTA_VALIDATE_FAILED: image rejected (not an app for this chip:
                                   reason BLE_OTA_ERR_NOT_APP or BLE_OTA_ERR_WRONG_CHIP; v2 also: SHA-256 or
                                   size differs from the announced one, corrupt deflate stream); ESP_ERR_INVALID_SIZE:
                                   larger than the partition; ESP_ERR_FLASH_OP_FAIL: flash write failed;
                                   ESP_ERR_INVALID_STATE: client disconnected (v1), aborted, restarted or
                                   broke the protocol; ESP_FAIL: other */
    const char *reason;       /*!< stable name of the protocol-level cause, e.g. "BLE_OTA_ERR_DISCONNECTED" */
    uint32_t bytes_received;  /*!< image bytes written before the end */
} ble_ota_result_t;

/**
 * Event callbacks. All are optional (NULL).
 *
 * @note They run in the NimBLE host task, between GATT operations: keep them
 *       short and never block. Do not call NimBLE APIs that wait for the host.
 */
typedef struct {
    void (*on_update_started)(void *user_ctx);                                  /*!< REQUEST accepted, flash session open */
    void (*on_progress)(const ble_ota_progress_t *progress, void *user_ctx);    /*!< at most every progress_interval_ms */
    void (*on_update_finished)(const ble_ota_result_t *result, void *user_ctx); /*!< success (restart follows) or failure */
} ble_ota_callbacks_t;

/** Configuration for ble_ota_init(). Zero / NULL fields take the Kconfig default. */
typedef struct {
    const char *device_name;       /*!< GAP device name (copied), at most 26 bytes (it must fit the advertising
                                        packets with the flags, the service UUID and the TX power);
                                        NULL: CONFIG_BLE_OTA_DEVICE_NAME */
    uint16_t max_packet_size;      /*!< largest data packet accepted (receive buffer), 20..512;
                                        0: CONFIG_BLE_OTA_MAX_PACKET_SIZE */
    uint32_t restart_delay_ms;     /*!< delay between DONE_ACK and esp_restart(); 0: CONFIG_BLE_OTA_RESTART_DELAY_MS */
    uint32_t progress_interval_ms; /*!< minimum time between on_progress calls; 0: CONFIG_BLE_OTA_PROGRESS_INTERVAL_MS */
    uint32_t ready_timeout_ms;     /*!< how long ble_ota_init() waits for the BLE host to sync;
                                        0: CONFIG_BLE_OTA_READY_TIMEOUT_MS */
    bool (*self_test)(void *arg);  /*!< app health check, run once BLE is up on the first boot of a new image
                                        (rollback state PENDING_VERIFY). true: mark the image valid; false: roll
                                        back and reboot. NULL: BLE coming up is the whole test. Runs in the task
                                        that called ble_ota_init() and may block. */
    void *self_test_arg;           /*!< passed to self_test */
    ble_ota_callbacks_t callbacks; /*!< event callbacks */
    void *user_ctx;                /*!< passed to the callbacks */
} ble_ota_config_t;

/**
 * Start BLE OTA: NimBLE host, GAP/GATT services, the OTA service, advertising
 * (device name, plus the 128-bit OTA service UUID when
 * CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID is set), then the mark-valid /
 * rollback decision described at the top of this file.
 *
 * Call once, after nvs_flash_init().
 *
 * @param cfg configuration, or NULL for all Kconfig defaults
 * @return
 *      - ESP_OK: running; the running image is valid (or was just marked valid)
 *      - ESP_ERR_INVALID_ARG: cfg->max_packet_size outside 20..512, or cfg->device_name longer than 26 bytes
 *      - ESP_ERR_INVALID_STATE: already initialised
 *      - ESP_ERR_NO_MEM: out of memory
 *      - ESP_ERR_NOT_FOUND: the partition table has no OTA update partition
 *      - ESP_ERR_TIMEOUT: the BLE host did not sync within ready_timeout_ms (the image is not marked
 *        valid; if it was PENDING_VERIFY the device has already rolled back and rebooted instead)
 *      - ESP_FAIL: the self-test failed on an image that cannot roll back (no previous valid image)
 *      - other codes from nimble_port_init() or from NimBLE GATT registration (as ESP_FAIL)
 */
esp_err_t ble_ota_init(const ble_ota_config_t *cfg);

/**
 * Stop BLE OTA: abort any running update (the boot partition is untouched),
 * stop advertising and the NimBLE host, free everything.
 *
 * @return
 *      - ESP_OK: stopped
 *      - ESP_ERR_INVALID_STATE: not initialised
 *      - other codes from nimble_port_stop() / nimble_port_deinit()
 */
esp_err_t ble_ota_deinit(void);

/**
 * true while an update is being received (between REQUEST_ACK and DONE_ACK/NAK or abort), including a
 * protocol v2 update whose client disconnected and may resume it (until a different REQUEST or a restart).
 */
bool ble_ota_is_updating(void);

#ifdef __cplusplus
}
#endif
