/*
 * What port/ble_ota_gap.c puts in each legacy advertising packet, byte by byte, so the longest device name
 * that fits is known at compile time (the port static-asserts CONFIG_BLE_OTA_DEVICE_NAME against it) and is
 * tested on the host (test/test_adv.cpp encodes the packets the way NimBLE's ble_hs_adv_set_fields does).
 *
 * Plain C, no NimBLE dependency.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* Legacy advertising data and scan response data hold 31 bytes each (Bluetooth Core 5.x, Vol 4 Part E
 * 7.8.7 and 7.8.8; NimBLE's BLE_HS_ADV_MAX_SZ). */
#define BLE_OTA_ADV_PACKET_MAX   31u

/* Every AD structure is a length byte, a type byte, then its data (Vol 3 Part C 11). */
#define BLE_OTA_AD_LEN(data_len) (2u + (data_len))
#define BLE_OTA_AD_FLAGS_LEN     BLE_OTA_AD_LEN(1u)  /* 0x01 Flags: general discoverable, BR/EDR not supported */
#define BLE_OTA_AD_UUID128_LEN   BLE_OTA_AD_LEN(16u) /* 0x07 complete list of 128-bit UUIDs: the OTA service */
#define BLE_OTA_AD_TX_POWER_LEN  BLE_OTA_AD_LEN(1u)  /* 0x0A TX power level */
#define BLE_OTA_AD_NAME_LEN(n)   BLE_OTA_AD_LEN(n)   /* 0x09 complete local name of n bytes */

/*
 * The two layouts, by CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID (with_uuid):
 *   with the UUID:    advertisement = flags + UUID;  scan response = name + TX power
 *   without the UUID: advertisement = flags + name;  scan response = TX power
 */
#define BLE_OTA_ADV_DATA_LEN(name_len, with_uuid) \
    (BLE_OTA_AD_FLAGS_LEN + ((with_uuid) ? BLE_OTA_AD_UUID128_LEN : BLE_OTA_AD_NAME_LEN(name_len)))
#define BLE_OTA_SCAN_RSP_LEN(name_len, with_uuid) \
    (((with_uuid) ? BLE_OTA_AD_NAME_LEN(name_len) : 0u) + BLE_OTA_AD_TX_POWER_LEN)
#define BLE_OTA_NAME_FITS(name_len, with_uuid)                         \
    (BLE_OTA_ADV_DATA_LEN(name_len, with_uuid) <= BLE_OTA_ADV_PACKET_MAX && \
     BLE_OTA_SCAN_RSP_LEN(name_len, with_uuid) <= BLE_OTA_ADV_PACKET_MAX)

/* The longest name both layouts carry: the name shares its packet with one 3-byte structure (the flags or
 * the TX power), so 31 - 3 - 2 = 26 bytes. */
#define BLE_OTA_NAME_MAX (BLE_OTA_ADV_PACKET_MAX - BLE_OTA_AD_NAME_LEN(0u) - \
                          (BLE_OTA_AD_FLAGS_LEN > BLE_OTA_AD_TX_POWER_LEN ? BLE_OTA_AD_FLAGS_LEN : BLE_OTA_AD_TX_POWER_LEN))

#ifdef __cplusplus
}
#endif
