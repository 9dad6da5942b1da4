/*
 * ble_ota_host: the firmware's protocol core on a simulated device, as a
 * shared library (libble_ota_host.so) with a flat C ABI for P/Invoke.
 *
 * ABI rules (stable; bump BO_HOST_ABI_VERSION on any change):
 *  - only fixed-width integers, byte pointers and one opaque handle cross
 *    the boundary; no structs, no callbacks, no strings owned by the library;
 *  - every function that can fail returns int32_t: >= 0 is a result, < 0 is a
 *    BO_HOST_E_* code;
 *  - writes/reads return the ATT status the real GATT server would answer
 *    (0 = success, BLE_OTA_ATT_* in ble_ota_proto.h);
 *  - a handle is used from one thread at a time (the caller serialises).
 *
 * The simulated device: two OTA slots of partition_size bytes each on NOR
 * flash (4 KB sectors erase to 0xFF, writes can only clear bits; a write that
 * would need to set a bit is counted as a NOR violation and stored the way
 * NOR stores it, i.e. ANDed), an otadata-like record of which slot boots and
 * its rollback state, and a bootloader model. At creation slot 0 holds a
 * valid factory image (version "0.0.0-factory", project "ble_ota_host",
 * IDF "v5.3.2") and is booted and VALID.
 *
 * Update slot choice, erase-as-you-go, image checks at DONE, the rollback
 * model and the app's self-test follow ESP-IDF: see firmware/README.md.
 */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define BO_HOST_API __declspec(dllexport)
#else
#define BO_HOST_API __attribute__((visibility("default")))
#endif

/* 2: bo_host_read() serves the Info characteristic (BO_HOST_CHAR_INFO).
 * 3: protocol v2 (window, compression, ring buffer and writer controls).
 * 4: bo_host_set_require_encryption, bo_host_set_encrypted.
 * 5: delta patches: Info is 144 bytes (the running image's SHA-256 at 112, feature bit 3),
 *    bo_host_fail_base_read_at.
 * 6: bo_host_corrupt_stored_at, bo_host_done_readback_bytes. */
#define BO_HOST_ABI_VERSION 6

/* Characteristics (which_char). */
#define BO_HOST_CHAR_CONTROL 0
#define BO_HOST_CHAR_DATA    1
#define BO_HOST_CHAR_INFO    2 /* read-only, BLE_OTA_INFO_LEN (144) bytes */

/* Negative results. */
#define BO_HOST_E_ARG          (-1) /* NULL handle/pointer, bad which_char or slot */
#define BO_HOST_E_NOT_CONNECTED (-2) /* conn is not a live connection */
#define BO_HOST_E_NO_CONN_SLOT (-3) /* too many connections */
#define BO_HOST_E_NOT_RUNNING  (-4) /* no bootable firmware: the device is bricked */
#define BO_HOST_E_TOO_SMALL    (-5) /* output buffer too small (nothing copied) */
#define BO_HOST_E_NO_MEM       (-6)

/* Slot rollback states (bo_host_slot_state), as esp_ota_img_states_t. */
#define BO_HOST_IMG_NEW            0
#define BO_HOST_IMG_PENDING_VERIFY 1
#define BO_HOST_IMG_VALID          2
#define BO_HOST_IMG_INVALID        3
#define BO_HOST_IMG_ABORTED        4
#define BO_HOST_IMG_UNDEFINED      5 /* slot not selected by the boot record */

/* Core states (bo_host_state). */
#define BO_HOST_STATE_IDLE       0
#define BO_HOST_STATE_RECEIVING  1
#define BO_HOST_STATE_RESTARTING 2

typedef struct bo_host bo_host_t;

BO_HOST_API int32_t bo_host_abi_version(void);

/** New device with two slots of partition_size bytes (multiple of 4096, >= 64 KB). NULL on bad size. */
BO_HOST_API bo_host_t *bo_host_create(uint32_t partition_size);
BO_HOST_API void bo_host_destroy(bo_host_t *h);

/* ---- link --------------------------------------------------------------- */

/** A central connects with ATT MTU mtu (23..517). Returns the connection handle (>= 1). */
BO_HOST_API int32_t bo_host_connect(bo_host_t *h, uint16_t mtu);
/** MTU exchange finished with a new MTU. Returns 0. */
BO_HOST_API int32_t bo_host_set_mtu(bo_host_t *h, int32_t conn, uint16_t mtu);
/** The link drops (either side). Returns 0. */
BO_HOST_API int32_t bo_host_disconnect(bo_host_t *h, int32_t conn);
/** 1 if conn is connected, 0 if not (e.g. after a reboot dropped it). */
BO_HOST_API int32_t bo_host_is_connected(bo_host_t *h, int32_t conn);

/* ---- GATT --------------------------------------------------------------- */

/**
 * Write (with or without response: the firmware handles both alike; a
 * client ignores the status of a write without response). Returns the ATT status (0 = ok; Info is read-only: 0x03) or BO_HOST_E_*. */
BO_HOST_API int32_t bo_host_write(bo_host_t *h, int32_t conn, int32_t which_char,
                                  const uint8_t *data, uint32_t len);
/**
 * Read. Returns the number of bytes copied to out, or, when the read is
 * refused at ATT level, -(0x100 + ATT status) (Data is not readable:
 * -(0x100 + 0x02)), or BO_HOST_E_*.
 *
 * Control: 1 byte. Info: the whole 144-byte value at once (what a client
 * gets after read-long), cap >= 144 or BO_HOST_E_TOO_SMALL; it reports the
 * running image's version, project and IDF version (esp_app_desc_t) and its
 * SHA-256, the chip id set with bo_host_set_chip_id, the slot size and the max
 * packet size.
 */
BO_HOST_API int32_t bo_host_read(bo_host_t *h, int32_t conn, int32_t which_char,
                                 uint8_t *out, uint32_t cap);
/** 1 if the central subscribed to Control notifications (CCCD written). */
BO_HOST_API int32_t bo_host_subscribe(bo_host_t *h, int32_t conn, int32_t enable);
/**
 * Takes the oldest queued Control notification. Returns its length (>= 1),
 * 0 when the queue is empty, or BO_HOST_E_TOO_SMALL. *conn_out (may be NULL)
 * gets the connection it was sent to. Notifications are queued for a
 * connection only while it is subscribed, as on the air.
 */
BO_HOST_API int32_t bo_host_take_notification(bo_host_t *h, int32_t *conn_out,
                                              uint8_t *out, uint32_t cap);

/* ---- device ------------------------------------------------------------- */

/** Core state: BO_HOST_STATE_*. */
BO_HOST_API int32_t bo_host_state(bo_host_t *h);
/** ble_ota_err_t of the last failure (the reason behind a NAK). */
BO_HOST_API int32_t bo_host_last_error(bo_host_t *h);
/** Image bytes received in the running update. */
BO_HOST_API int32_t bo_host_bytes_received(bo_host_t *h);
/** 1 after DONE_ACK: the firmware has scheduled its restart. */
BO_HOST_API int32_t bo_host_restart_pending(bo_host_t *h);
/** Restart delay the firmware asked for (ms), valid when restart_pending. */
BO_HOST_API int32_t bo_host_restart_delay_ms(bo_host_t *h);
/** Advances the simulated clock. Returns 0. */
BO_HOST_API int32_t bo_host_advance_ms(bo_host_t *h, uint32_t ms);

/**
 * Power cycle / restart: drops every connection, runs the bootloader model
 * and then the app's startup (self-test -> mark valid, or rollback and
 * reboot). Returns the slot now running (0/1) or BO_HOST_E_NOT_RUNNING.
 */
BO_HOST_API int32_t bo_host_reboot(bo_host_t *h);
/** Slot running now (0/1) or BO_HOST_E_NOT_RUNNING. */
BO_HOST_API int32_t bo_host_running_slot(bo_host_t *h);
/** Slot the boot record selects (0/1), whatever its state. */
BO_HOST_API int32_t bo_host_boot_slot(bo_host_t *h);
/** BO_HOST_IMG_* of a slot. */
BO_HOST_API int32_t bo_host_slot_state(bo_host_t *h, int32_t slot);
/** 1 if the slot holds an image that passes the image checks, else 0. */
BO_HOST_API int32_t bo_host_slot_image_valid(bo_host_t *h, int32_t slot);
/** Copies the running image (its exact length) to out. Returns the length, or BO_HOST_E_*. */
BO_HOST_API int32_t bo_host_read_running_image(bo_host_t *h, uint8_t *out, uint32_t cap);
/** Copies the running app's version string (NUL-terminated, <= 32 chars). Returns its length. */
BO_HOST_API int32_t bo_host_running_version(bo_host_t *h, char *out, uint32_t cap);
/** Raw slot bytes (NOR contents, 0xFF where erased). Returns bytes copied. */
BO_HOST_API int32_t bo_host_read_slot(bo_host_t *h, int32_t slot, uint32_t offset,
                                      uint8_t *out, uint32_t cap);
/** Writes an image to a slot the way esptool does and makes it boot (VALID). Returns 0. */
BO_HOST_API int32_t bo_host_install_image(bo_host_t *h, int32_t slot, const uint8_t *data, uint32_t len);

/* ---- configuration and fault injection --------------------------------- */

/** Largest data packet the firmware accepts (its receive buffer, 1..512, default 512). Only while idle. */
BO_HOST_API int32_t bo_host_set_max_packet_size(bo_host_t *h, uint16_t size);
/** Chip id the image checks expect (default 0 = ESP32; 0xFFFF = any). */
BO_HOST_API int32_t bo_host_set_chip_id(bo_host_t *h, uint16_t chip_id);
/** Result of the app's self-test on its first boot after an update (default 1 = pass). */
BO_HOST_API int32_t bo_host_set_self_test_result(bo_host_t *h, int32_t pass);
/** Flash write covering slot offset `offset` fails (-1 = off). One-shot. */
BO_HOST_API int32_t bo_host_fail_write_at(bo_host_t *h, int64_t offset);
/** Erase of the sector holding slot offset `offset` fails (-1 = off). One-shot. */
BO_HOST_API int32_t bo_host_fail_erase_at(bo_host_t *h, int64_t offset);
/** Reading the running slot (the base of a delta patch) at this offset fails (-1 = off). One-shot. */
BO_HOST_API int32_t bo_host_fail_base_read_at(bo_host_t *h, int64_t offset);
/**
 * The flash stores the slot byte at `offset` XORed with `xor_mask` (not 0) when it is written, and the write
 * succeeds: a bit error nothing reports until the image is checked. One-shot; offset < 0 turns it off.
 */
BO_HOST_API int32_t bo_host_corrupt_stored_at(bo_host_t *h, int64_t offset, uint8_t xor_mask);
/** The next "set boot partition" fails (1) or not (0). One-shot. */
BO_HOST_API int32_t bo_host_fail_set_boot(bo_host_t *h, int32_t fail);
/** The next flash_begin fails as if no update partition existed (1) or not (0). One-shot. */
BO_HOST_API int32_t bo_host_fail_begin(bo_host_t *h, int32_t fail);
/**
 * CONFIG_BLE_OTA_REQUIRE_ENCRYPTION: Control and Data writes on links that are
 * not encrypted are refused with ATT 0x0F (1) or accepted (0, default). Only while idle.
 */
BO_HOST_API int32_t bo_host_set_require_encryption(bo_host_t *h, int32_t require);
/** The central paired (or reconnected bonded): conn's link is encrypted (1) or not (0). */
BO_HOST_API int32_t bo_host_set_encrypted(bo_host_t *h, int32_t conn, int32_t encrypted);
/** Writes that had to set a bit on unerased flash (should stay 0). */
BO_HOST_API int32_t bo_host_nor_violations(bo_host_t *h);
/** Sector erases done so far (both slots). */
BO_HOST_API int32_t bo_host_erase_count(bo_host_t *h);

/* ---- protocol v2 -------------------------------------------------------- */

/** Data packets a v2 client may have unacknowledged (1..255, default 16). Only while idle. */
BO_HOST_API int32_t bo_host_set_window(bo_host_t *h, uint16_t window);
/** Whether the device inflates deflate streams (Info feature bit 0; default 1). Only while idle. */
BO_HOST_API int32_t bo_host_set_compression(bo_host_t *h, int32_t enable);
/** Receive ring size in bytes (>= 64, default 16384 like the Kconfig default). Only while idle. */
BO_HOST_API int32_t bo_host_set_ring_size(bo_host_t *h, uint32_t bytes);
/**
 * Bytes the last v2 DONE read back from the slot to hash the image: 0 when the image's appended SHA-256 covers
 * every byte written (esp_ota_end checks them), else all of them.
 */
BO_HOST_API int32_t bo_host_done_readback_bytes(bo_host_t *h);
/** Pauses (1) or resumes (0) the writer that drains the ring; resuming drains it at once. */
BO_HOST_API int32_t bo_host_set_writer_paused(bo_host_t *h, int32_t paused);
/** Bytes waiting in the ring. */
BO_HOST_API int32_t bo_host_ring_fill(bo_host_t *h);
/** Next v2 stream offset the device accepts (what a resuming client is told). */
BO_HOST_API int32_t bo_host_stream_offset(bo_host_t *h);

#ifdef __cplusplus
}
#endif
