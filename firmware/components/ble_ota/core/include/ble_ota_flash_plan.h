/*
 * How the firmware erases its OTA slot and asks for a link: pure functions,
 * no IDF or NimBLE, so the host tests check them and the ports share them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BLE_OTA_ERASE_SECTOR 4096u  /*!< smallest erasable unit of SPI NOR flash */
#define BLE_OTA_ERASE_BLOCK  65536u /*!< a block erase: ~150 ms, where sixteen sector erases take ~720 ms */

/** A range of the slot to erase, relative to its start. */
typedef struct {
    uint32_t offset;
    uint32_t size;
} ble_ota_erase_t;

/**
 * The next range to erase so that data can be written up to end, when
 * everything below erased is erased already: the whole 64 KB block starting at
 * erased, or one 4 KB sector where a block would run past the slot (or erased
 * is not on a block boundary). False once erased reaches end or the slot's end.
 * Erasing ahead of the data in blocks costs one stall per 64 KB instead of
 * sixteen, and a fifth of the erase time (docs/link-model.md).
 */
bool ble_ota_erase_next(uint32_t erased, uint32_t end, uint32_t slot_size, ble_ota_erase_t *out);

#define BLE_OTA_LL_MAX_OCTETS   251u  /*!< longest LL data payload (Core spec Vol 6 Part B 4.5.10) */
#define BLE_OTA_LL_MAX_TIME_US  2120u /*!< its air time on LE 1M: (251 + 14) bytes x 8 us */

/** A connection parameter update request, in the units of ble_gap_update_params. */
typedef struct {
    uint16_t itvl;                /*!< connection interval, 1.25 ms units, both min and max */
    uint16_t supervision_timeout; /*!< 10 ms units */
} ble_ota_conn_request_t;

/**
 * The request for a connection interval of interval_ms (rounded up to the
 * 1.25 ms grid, kept within 7.5 ms .. 4 s) with no latency and a supervision
 * timeout of at least 4 s that the spec allows for it (more than twice the
 * interval). False for 0: ask for nothing.
 */
bool ble_ota_conn_request(uint32_t interval_ms, ble_ota_conn_request_t *out);

#ifdef __cplusplus
}
#endif
