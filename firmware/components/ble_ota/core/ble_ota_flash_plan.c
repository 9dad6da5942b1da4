/* Erase planning and link requests (ble_ota_flash_plan.h). */
#include "ble_ota_flash_plan.h"

#include <stddef.h>

bool ble_ota_erase_next(uint32_t erased, uint32_t end, uint32_t slot_size, ble_ota_erase_t *out)
{
    if (out == NULL || erased >= end || erased >= slot_size) {
        return false;
    }
    bool block = erased % BLE_OTA_ERASE_BLOCK == 0 && slot_size - erased >= BLE_OTA_ERASE_BLOCK;
    out->offset = erased;
    out->size = block ? BLE_OTA_ERASE_BLOCK : BLE_OTA_ERASE_SECTOR;
    return true;
}

#define ITVL_MIN 6u    /* 7.5 ms: the shortest interval (Core spec Vol 6 Part B 4.5.1) */
#define ITVL_MAX 3200u /* 4 s: the longest */

bool ble_ota_conn_request(uint32_t interval_ms, ble_ota_conn_request_t *out)
{
    if (out == NULL || interval_ms == 0) {
        return false;
    }
    uint32_t itvl = (interval_ms * 4u + 4u) / 5u; /* ms to 1.25 ms units, rounded up */
    itvl = itvl < ITVL_MIN ? ITVL_MIN : itvl > ITVL_MAX ? ITVL_MAX : itvl;
    /* The timeout must exceed twice the interval (latency 0): itvl * 1.25 ms * 2 in 10 ms units. */
    uint32_t least = (itvl * 25u + 99u) / 100u + 1u;
    out->itvl = (uint16_t)itvl;
    out->supervision_timeout = (uint16_t)(least > 400u ? least : 400u);
    return true;
}
