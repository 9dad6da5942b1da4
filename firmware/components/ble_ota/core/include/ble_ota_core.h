/*
 * BLE OTA protocol core.
 *
 * Plain C99 with no IDF, FreeRTOS or NimBLE dependency. It owns the protocol
 * state machine and nothing else: the platform (ESP-IDF in port/, a simulated
 * flash in test/host/) is reached only through a ble_ota_port_t table and an
 * opaque ctx pointer, the way mcumgr reaches its transport.
 *
 * Threading: the core is not thread safe. Call every entry point from one
 * context (on ESP-IDF: the NimBLE host task), or serialise calls yourself.
 *
 * Structure, with a second protocol version in mind:
 *  - one entry point per event (control write, data write, control read,
 *    connect, MTU change, disconnect);
 *  - control writes go through an opcode dispatch table, data writes through
 *    a per-state handler;
 *  - limits live in ble_ota_core_config_t;
 *  - errors are ble_ota_err_t; ble_ota_err_to_att() maps them to an ATT status
 *    at the GATT boundary.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble_ota_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Error space of the core and of the port callbacks. The values go on air as
 * the error byte of every v2 notification: never renumber, only append.
 */
typedef enum {
    BLE_OTA_OK = 0,                    /*!< success */
    BLE_OTA_ERR_INVALID_ARG = 1,       /*!< bad argument (NULL pointer, bad config) */
    BLE_OTA_ERR_INVALID_STATE = 2,     /*!< event not legal in the current state */
    BLE_OTA_ERR_INVALID_LEN = 3,       /*!< wrong value length / packet larger than negotiated */
    BLE_OTA_ERR_VALUE_NOT_ALLOWED = 4, /*!< value out of range (packet size, v2 flags) */
    BLE_OTA_ERR_UNKNOWN_OPCODE = 5,    /*!< control opcode not understood */
    BLE_OTA_ERR_BUSY = 6,              /*!< another connection owns the update */
    BLE_OTA_ERR_NO_MEM = 7,            /*!< out of memory / table full */
    BLE_OTA_ERR_NO_PARTITION = 8,      /*!< no update partition */
    BLE_OTA_ERR_FLASH = 9,             /*!< flash erase/write failed */
    BLE_OTA_ERR_IMAGE_TOO_LARGE = 10,  /*!< image larger than the partition */
    BLE_OTA_ERR_NO_DATA = 11,          /*!< DONE before any data (v1) / before the whole stream (v2) */
    BLE_OTA_ERR_IMAGE_INVALID = 12,    /*!< image failed validation (bad magic on the first write, or at DONE) */
    BLE_OTA_ERR_SET_BOOT = 13,         /*!< image valid but the boot partition could not be set */
    BLE_OTA_ERR_DISCONNECTED = 14,     /*!< the owning connection went away mid-update */
    BLE_OTA_ERR_NOTIFY = 15,           /*!< notification could not be queued */
    BLE_OTA_ERR_INTERNAL = 16,         /*!< anything else */
    BLE_OTA_ERR_OFFSET = 17,           /*!< v2: packet not at the expected offset; resend from the one notified */
    BLE_OTA_ERR_RING_FULL = 18,        /*!< v2: receive ring full (writer behind); resend from the one notified */
    BLE_OTA_ERR_SHA_MISMATCH = 19,     /*!< v2: SHA-256 of the written image differs from the announced one */
    BLE_OTA_ERR_SIZE_MISMATCH = 20,    /*!< v2: written image size differs from the announced one */
    BLE_OTA_ERR_INFLATE = 21,          /*!< v2: the deflate stream is corrupt */
    BLE_OTA_ERR_UNSUPPORTED = 22,      /*!< v2: feature not offered (compression off in Kconfig) */
    BLE_OTA_ERR_ABORTED = 23,          /*!< v2: the client sent ABORT */
    BLE_OTA_ERR_INSUFFICIENT_ENC = 24, /*!< write on an unencrypted link while encryption is required */
    BLE_OTA_ERR_NOT_APP = 25,          /*!< not an app image (a bootloader, RAM-only or merged flash image):
                                            no app descriptor in flash-mapped segment 0, or no code mapped from flash */
    BLE_OTA_ERR_WRONG_CHIP = 26,       /*!< an image for another chip (esp_image_header_t.chip_id) */
    BLE_OTA_ERR_BASE_MISMATCH = 27,    /*!< v2 delta: the running image is not the base the patch was made against */
    BLE_OTA_ERR_DELTA = 28,            /*!< v2 delta: the patch is damaged or not for this image */
} ble_ota_err_t;

/** Short, stable name of an error code ("BLE_OTA_ERR_FLASH"...). */
const char *ble_ota_err_name(ble_ota_err_t err);

/** ATT status for an error code (BLE_OTA_ATT_* in ble_ota_proto.h). */
uint8_t ble_ota_err_to_att(ble_ota_err_t err);

/** Protocol state. */
typedef enum {
    BLE_OTA_STATE_IDLE = 0,   /*!< no update; Data accepts only the 2-byte packet-size write */
    BLE_OTA_STATE_RECEIVING,  /*!< REQUEST_ACK sent; Data writes from the owner are image bytes (v1) or
                                   offset-tagged packets (v2). A v2 update whose owner disconnected stays here
                                   with no owner, so a REQUEST for the same image resumes it. A v1 image found
                                   unacceptable (not an app image, larger than the slot) also stays here, its
                                   slot released, taking and dropping the rest until DONE answers DONE_NAK */
    BLE_OTA_STATE_RESTARTING, /*!< DONE_ACK sent, restart scheduled; everything is refused */
} ble_ota_state_t;

const char *ble_ota_state_name(ble_ota_state_t state);

/** Progress events the core reports to the port (which forwards them to the app's on_* callbacks). */
typedef enum {
    BLE_OTA_CORE_EV_STARTED,  /*!< REQUEST accepted, flash session open */
    BLE_OTA_CORE_EV_PROGRESS, /*!< data received (rate-limited by progress_interval_ms) */
    BLE_OTA_CORE_EV_FINISHED, /*!< update ended: result BLE_OTA_OK (restart follows) or an error */
} ble_ota_core_event_type_t;

typedef struct {
    ble_ota_core_event_type_t type; /*!< what happened */
    uint16_t conn;                  /*!< connection that owns the update */
    uint32_t bytes;                 /*!< image bytes written so far */
    uint32_t packets;               /*!< data packets written so far */
    uint32_t capacity;              /*!< partition size (0 if unknown) */
    uint32_t elapsed_ms;            /*!< time since REQUEST */
    ble_ota_err_t result;           /*!< FINISHED only */
} ble_ota_core_event_t;

/**
 * What the platform says about itself for the Info characteristic. The core
 * adds what it knows (format, protocol, max packet, window, features) and
 * lays the value out (ble_ota_core_on_info_read). Strings must be
 * NUL-terminated within their array; longer ones are cut to 31 characters.
 */
typedef struct {
    uint16_t chip_id;                          /*!< esp_chip_id_t numbering (ESP32 0, S3 9, C3 5...) */
    uint32_t slot_size;                        /*!< bytes of the OTA update slot */
    char version[BLE_OTA_INFO_STR_LEN + 1];    /*!< running app version (esp_app_desc_t.version) */
    char project_name[BLE_OTA_INFO_STR_LEN + 1];
    char idf_version[BLE_OTA_INFO_STR_LEN + 1];
    uint32_t image_len;                        /*!< bytes of the running image as flashed (0 if unknown): the base a delta patch reads */
    uint8_t image_sha256[BLE_OTA_SHA256_LEN];  /*!< SHA-256 of those bytes: what a delta REQUEST names as its base */
} ble_ota_device_info_t;

/** How the bytes of a v2 stream make the image (the REQUEST's flags). */
typedef enum {
    BLE_OTA_STREAM_RAW = 0,     /*!< the image itself */
    BLE_OTA_STREAM_DEFLATE = 1, /*!< raw deflate (RFC 1951) of the image */
    BLE_OTA_STREAM_DELTA = 2,   /*!< a BleOta delta patch against the running image (ble_ota_delta.h) */
} ble_ota_stream_encoding_t;

/**
 * Port interface: everything the core needs from the platform.
 *
 * All callbacks get the ctx passed to ble_ota_core_init(). Every callback is
 * required except on_event.
 */
typedef struct {
    /**
     * Open a flash session on the next update slot. image_size is the image
     * size if the protocol knows it, 0 if not (v1 never does). On success
     * write the number of bytes the slot can hold to *capacity.
     * Return BLE_OTA_OK, BLE_OTA_ERR_NO_PARTITION, BLE_OTA_ERR_NO_MEM,
     * BLE_OTA_ERR_IMAGE_TOO_LARGE or BLE_OTA_ERR_FLASH.
     */
    ble_ota_err_t (*flash_begin)(void *ctx, uint32_t image_size, uint32_t *capacity);
    /**
     * Append len bytes (exactly the bytes received, never padded) to the slot.
     * On error the core calls flash_abort() next.
     */
    ble_ota_err_t (*flash_write)(void *ctx, const uint8_t *data, size_t len);
    /**
     * Close the session: validate the image and, only if it is valid, make
     * the slot the boot slot. It always ends the session, success or not
     * (like esp_ota_end), so the core never calls flash_abort() after it.
     * Return BLE_OTA_OK, BLE_OTA_ERR_IMAGE_INVALID or BLE_OTA_ERR_SET_BOOT.
     */
    ble_ota_err_t (*flash_end)(void *ctx);
    /** Drop the session and free its resources; the boot slot is untouched. */
    void (*flash_abort)(void *ctx);
    /** Send a notification on the Control characteristic to conn. */
    ble_ota_err_t (*notify)(void *ctx, uint16_t conn, const uint8_t *data, size_t len);
    /** Restart the device delay_ms from now (after the notification went out). */
    void (*schedule_restart)(void *ctx, uint32_t delay_ms);
    /** Monotonic milliseconds. */
    uint32_t (*now_ms)(void *ctx);
    /** Optional (may be NULL): progress events. */
    void (*on_event)(void *ctx, const ble_ota_core_event_t *ev);
    /**
     * Fill *out (already zeroed) with the device's identity for the Info
     * characteristic; called on every Info read, so it may reflect the
     * running image. May be NULL: Info reads then fail with
     * BLE_OTA_ERR_INTERNAL (ATT 0x0E).
     */
    ble_ota_err_t (*device_info)(void *ctx, ble_ota_device_info_t *out);

    /*
     * Protocol v2: a receive stream in front of the flash. All three or none
     * (none: the device speaks v1 only and Info says protocol 1).
     *
     * On ESP-IDF stream_push only copies into a ring buffer that a writer task
     * drains (inflating if compressed, writing flash), so the GATT callback
     * never waits for the writer; the host port models the same split. (While
     * the SPI flash erases or programs, every task is suspended anyway, the
     * BLE host included: see port/ble_ota_stream.c.)
     */
    /**
     * Open a flash session for an image of image_size bytes (known up front),
     * arriving raw, as raw deflate or as a delta patch (the port's writer runs
     * ble_ota_delta_feed with base_read below). Write the slot size to
     * *capacity. Errors as flash_begin, plus BLE_OTA_ERR_UNSUPPORTED.
     */
    ble_ota_err_t (*stream_begin)(void *ctx, uint32_t image_size, ble_ota_stream_encoding_t encoding, uint32_t *capacity);
    /**
     * Take the next len stream bytes, in order. BLE_OTA_OK: taken.
     * BLE_OTA_ERR_RING_FULL: not taken, nothing changed (the client resends).
     * Any other error: the writer failed (FLASH, IMAGE_INVALID, INFLATE,
     * IMAGE_TOO_LARGE); the core aborts the session.
     */
    ble_ota_err_t (*stream_push)(void *ctx, const uint8_t *data, size_t len);
    /**
     * All stream bytes were pushed: wait for the writer to drain, end the
     * inflater, and report the SHA-256 and length of the image written to
     * flash (decompressed). The session stays open for flash_end/flash_abort.
     */
    ble_ota_err_t (*stream_finish)(void *ctx, uint8_t sha256[BLE_OTA_SHA256_LEN], uint32_t *image_len);

    /**
     * Optional (may be NULL; then delta patches are refused with
     * BLE_OTA_ERR_UNSUPPORTED): read len bytes of the running image at offset
     * (esp_partition_read of the running partition). Called by the delta
     * applier from the port's writer, never by the core itself; the core only
     * offers delta (Info feature bit 3) when it is set, the v2 hooks are set
     * and device_info reports the running image's length and SHA-256.
     */
    ble_ota_err_t (*base_read)(void *ctx, uint32_t offset, uint8_t *buf, size_t len);

    /**
     * Optional (may be NULL): stream bytes the port takes now without
     * BLE_OTA_ERR_RING_FULL. With it the core holds a DATA_ACK while the ring
     * cannot take a whole window more, so a client never sends what the ring
     * would refuse; the port then calls ble_ota_core_on_stream_room() from the
     * BLE host task once its writer has freed space.
     */
    uint32_t (*stream_room)(void *ctx);
} ble_ota_port_t;

/** Limits and timing. */
typedef struct {
    uint16_t max_packet_size;      /*!< largest data write accepted (= the port's receive buffer), 1..512 */
    uint32_t restart_delay_ms;     /*!< delay between DONE_ACK and restart */
    uint32_t progress_interval_ms; /*!< minimum time between PROGRESS events (0 = every packet) */
    uint16_t window;               /*!< v2: data packets a client may have unacknowledged, 1..255 */
    bool compression;              /*!< v2: the port's stream inflates raw deflate reaching at most BLE_OTA_DEFLATE_WINDOW back (Info feature bit 4) */
    bool require_encryption;       /*!< refuse Control and Data writes on links that are not encrypted (Info stays readable) */
} ble_ota_core_config_t;

/** Defaults: 512-byte packets, 500 ms restart delay, progress every 250 ms, v2 window 16, no compression, no encryption required. */
ble_ota_core_config_t ble_ota_core_config_default(void);

/** Connections tracked at once (packet size and MTU are per connection). */
#define BLE_OTA_CORE_MAX_CONNS 8

/** No connection. Same value as NimBLE's BLE_HS_CONN_HANDLE_NONE. */
#define BLE_OTA_CONN_NONE 0xFFFFu

/** Per-connection data. Private: use the accessors. */
typedef struct {
    bool used;
    uint16_t handle;
    uint16_t mtu;
    uint16_t packet_size; /*!< from the 2-byte write; 0 = not written */
    bool encrypted;       /*!< the link is encrypted (ble_ota_core_on_encryption_change) */
} ble_ota_core_conn_t;

/**
 * Core instance. Declared here only so it can be allocated statically; the
 * fields are private, use the functions below.
 */
typedef struct ble_ota_core {
    ble_ota_core_config_t cfg;
    const ble_ota_port_t *port;
    void *ctx;
    ble_ota_state_t state;
    uint8_t control_value;    /*!< last value written to or notified on Control */
    uint16_t owner;           /*!< connection owning the update, BLE_OTA_CONN_NONE if none */
    uint16_t packet_size;     /*!< packet size of the running update */
    uint32_t capacity;        /*!< bytes the slot can hold */
    uint32_t received;        /*!< image bytes written */
    uint32_t packets;         /*!< data packets written */
    uint32_t started_ms;
    uint32_t last_progress_ms;
    ble_ota_err_t last_err;   /*!< detail of the last failure */
    bool rejected;            /*!< v1: the image was refused mid-transfer (last_err says why); slot released */
    /* v2 session (protocol == 2) */
    uint8_t protocol;         /*!< protocol of the running update: 1 or 2 */
    uint8_t flags;            /*!< BLE_OTA_V2_FLAG_* of the REQUEST */
    uint32_t image_size;      /*!< announced image size (decompressed) */
    uint32_t stream_size;     /*!< announced bytes on the wire */
    uint8_t sha256[BLE_OTA_SHA256_LEN]; /*!< announced SHA-256 of the image */
    uint8_t base_sha256[BLE_OTA_SHA256_LEN]; /*!< delta: SHA-256 of the base the REQUEST named */
    uint32_t expected;        /*!< next stream offset the device accepts */
    uint16_t since_ack;       /*!< packets accepted since the last DATA_ACK */
    bool resend_asked;        /*!< a "resend from" notification went out since the last accepted packet */
    bool ack_next;            /*!< a RING_FULL went out: acknowledge the next accepted packet at once (a client's probe) */
    bool ack_held;            /*!< a DATA_ACK is due but waits for ring room (ble_ota_core_on_stream_room) */
    ble_ota_core_conn_t conns[BLE_OTA_CORE_MAX_CONNS];
} ble_ota_core_t;

/**
 * Initialise a core. cfg may be NULL for the defaults.
 * Returns BLE_OTA_ERR_INVALID_ARG if core/port is NULL, a required callback is
 * missing, only some of the v2 hooks are set, cfg->max_packet_size is 0 or
 * above 512 (or below 5 with v2 hooks), or cfg->window is 0 or above 255.
 */
ble_ota_err_t ble_ota_core_init(ble_ota_core_t *core, const ble_ota_core_config_t *cfg,
                                const ble_ota_port_t *port, void *ctx);

/** Abort any running update (flash_abort) and forget all connections. */
void ble_ota_core_deinit(ble_ota_core_t *core);

/* ---- events (one entry point each) ---------------------------------------- */

/** A central connected; mtu is the current ATT MTU (23 if not exchanged yet). */
void ble_ota_core_on_connect(ble_ota_core_t *core, uint16_t conn, uint16_t mtu);

/** The ATT MTU of conn changed. */
void ble_ota_core_on_mtu(ble_ota_core_t *core, uint16_t conn, uint16_t mtu);

/**
 * The link's encryption changed (NimBLE's BLE_GAP_EVENT_ENC_CHANGE, or a
 * reconnection with a bonded central). With require_encryption set, writes
 * are refused (BLE_OTA_ERR_INSUFFICIENT_ENC, ATT 0x0F) until this says true.
 */
void ble_ota_core_on_encryption_change(ble_ota_core_t *core, uint16_t conn, bool encrypted);

/**
 * conn went away. If it owned a v1 update, the update is aborted
 * (flash_abort); a v2 update is kept, without owner, for a REQUEST that
 * resumes it (a different REQUEST or a v1 REQUEST aborts it).
 */
void ble_ota_core_on_disconnect(ble_ota_core_t *core, uint16_t conn);

/**
 * Write to the Control characteristic. The result of REQUEST and DONE goes
 * out as a notification; the return value is about the write itself.
 * Map it with ble_ota_err_to_att().
 */
ble_ota_err_t ble_ota_core_on_control_write(ble_ota_core_t *core, uint16_t conn,
                                            const uint8_t *data, size_t len);

/**
 * Write to the Data characteristic (packet size while idle, image bytes while
 * receiving).
 *
 * Length first: a port that flattens the payload into a buffer may pass
 * data = NULL when len is larger than ble_ota_core_data_buffer_needed(); the
 * core then decides by the length alone (it never reads data in that case):
 * a too-long write is refused as any other, and while a refused v1 image is
 * being dropped a write up to the packet size is taken without its bytes.
 *
 * v1 answers a write whose image bytes are unacceptable (not an app image,
 * more than the slot holds) with success, releases the slot at once and drops
 * the rest; DONE then answers DONE_NAK. The tutorial's Python client knows no
 * ATT error mid-transfer, only DONE_NAK (docs/protocol.md, Compatibility).
 */
ble_ota_err_t ble_ota_core_on_data_write(ble_ota_core_t *core, uint16_t conn,
                                         const uint8_t *data, size_t len);

/**
 * v2: the port's writer freed ring space. Sends the DATA_ACK the core held
 * back if the ring now takes a whole window; otherwise nothing. Call it from
 * the BLE host task, never from inside another core call.
 */
void ble_ota_core_on_stream_room(ble_ota_core_t *core);

/** Read of the Control characteristic: one byte, the last control value (opcode). */
ble_ota_err_t ble_ota_core_on_control_read(ble_ota_core_t *core, uint16_t conn,
                                           uint8_t *out, size_t cap, size_t *out_len);

/**
 * Read of the Info characteristic: writes the whole BLE_OTA_INFO_LEN-byte
 * value (layout in ble_ota_proto.h) to out. cap must be at least
 * BLE_OTA_INFO_LEN. A GATT port appends the whole value; the ATT layer cuts
 * it to the MTU and serves read-long offsets.
 */
ble_ota_err_t ble_ota_core_on_info_read(ble_ota_core_t *core, uint16_t conn,
                                        uint8_t *out, size_t cap, size_t *out_len);

/* ---- accessors ------------------------------------------------------------ */

ble_ota_state_t ble_ota_core_state(const ble_ota_core_t *core);
uint32_t ble_ota_core_bytes_received(const ble_ota_core_t *core);
uint16_t ble_ota_core_owner(const ble_ota_core_t *core);
/** v2: next stream offset the device accepts (what a resuming client is told). */
uint32_t ble_ota_core_stream_offset(const ble_ota_core_t *core);
/** Protocol of the running (or last) update: 1 or 2. */
uint8_t ble_ota_core_protocol(const ble_ota_core_t *core);
/** Detail of the last failure (also the cause behind a REQUEST_NAK / DONE_NAK). */
ble_ota_err_t ble_ota_core_last_error(const ble_ota_core_t *core);
/**
 * Largest Data write the core needs the bytes of now: 2 while idle, the packet size while receiving, 0 while a
 * refused v1 image is being dropped (the core then decides on the length alone).
 */
size_t ble_ota_core_data_buffer_needed(const ble_ota_core_t *core);
/** Packet size that applies to conn now: its 2-byte write, else min(MTU - 3, max_packet_size). */
uint16_t ble_ota_core_packet_size(const ble_ota_core_t *core, uint16_t conn);

#ifdef __cplusplus
}
#endif
