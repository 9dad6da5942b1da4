/*
 * BLE OTA wire protocol: version 1 (the seed protocol) and version 2.
 *
 * Plain C, no IDF or NimBLE dependency: shared by the firmware port, the
 * host build and the host tests. docs/protocol.md is the prose description;
 * this header is what the code uses.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/*
 * 128-bit UUIDs. The string is the canonical (big-endian) form; the byte
 * list is the on-air order, least significant byte first, which is what
 * NimBLE's BLE_UUID128_INIT() expects. test/test_uuid.cpp checks that each
 * byte list is exactly the reversed string.
 *
 * The seed firmware's source comment gave the service as ...-244a-...; the
 * bytes it actually advertised decode to ...-144a-..., and on-air is what
 * existing clients use.
 */
#define BLE_OTA_SVC_UUID_STR       "d6f1d96d-594c-4c53-b1c6-144a1dfde6d8"
#define BLE_OTA_SVC_UUID128_LE     0xd8, 0xe6, 0xfd, 0x1d, 0x4a, 0x14, 0xc6, 0xb1, \
                                   0x53, 0x4c, 0x4c, 0x59, 0x6d, 0xd9, 0xf1, 0xd6

#define BLE_OTA_CHR_CONTROL_UUID_STR   "7ad671aa-21c0-46a4-b722-270e3ae3d830"
#define BLE_OTA_CHR_CONTROL_UUID128_LE 0x30, 0xd8, 0xe3, 0x3a, 0x0e, 0x27, 0x22, 0xb7, \
                                       0xa4, 0x46, 0xc0, 0x21, 0xaa, 0x71, 0xd6, 0x7a

#define BLE_OTA_CHR_DATA_UUID_STR      "23408888-1f40-4cd8-9b89-ca8d45f8a5b0"
#define BLE_OTA_CHR_DATA_UUID128_LE    0xb0, 0xa5, 0xf8, 0x45, 0x8d, 0xca, 0x89, 0x9b, \
                                       0xd8, 0x4c, 0x40, 0x1f, 0x88, 0x88, 0x40, 0x23

/*
 * Info (read-only): what the device is before a client sends anything.
 * Seed (v1) clients never read it; v1 itself is unchanged by it.
 */
#define BLE_OTA_CHR_INFO_UUID_STR      "5b8e2f3a-7c41-4d9e-a6b2-0f1c3d5e7a90"
#define BLE_OTA_CHR_INFO_UUID128_LE    0x90, 0x7a, 0x5e, 0x3d, 0x1c, 0x0f, 0xb2, 0xa6, \
                                       0x9e, 0x4d, 0x41, 0x7c, 0x3a, 0x2f, 0x8e, 0x5b

/*
 * Info value, format 1: exactly BLE_OTA_INFO_LEN bytes, integers little-endian,
 * strings NUL-padded to their field (at most field - 1 characters, so each
 * field always holds a NUL). Byte-exact with the C# engine's DeviceInfo.
 * Firmware before delta updates sent the first 112 bytes only; clients read
 * what is there (fields are only ever appended).
 */
#define BLE_OTA_INFO_LEN               144u
#define BLE_OTA_INFO_FORMAT            1u   /*!< [0] u8 format of this value */
#define BLE_OTA_INFO_PROTOCOL_V1       1u   /*!< [1] u8 highest protocol version: a core without v2 port hooks */
#define BLE_OTA_INFO_PROTOCOL_V2       2u   /*!< [1] u8 highest protocol version: v2 offered */
#define BLE_OTA_INFO_WINDOW_V1         1u   /*!< v1: one data packet in flight */

#define BLE_OTA_INFO_OFF_FORMAT        0u   /*!< u8 */
#define BLE_OTA_INFO_OFF_PROTOCOL      1u   /*!< u8 */
#define BLE_OTA_INFO_OFF_CHIP_ID       2u   /*!< u16, esp_chip_id_t numbering */
#define BLE_OTA_INFO_OFF_SLOT_SIZE     4u   /*!< u32, bytes of the OTA update slot */
#define BLE_OTA_INFO_OFF_MAX_PACKET    8u   /*!< u16, largest data packet buffered */
#define BLE_OTA_INFO_OFF_WINDOW        10u  /*!< u16, packets in flight */
#define BLE_OTA_INFO_OFF_FEATURES      12u  /*!< u32, BLE_OTA_INFO_FEATURE_* */
#define BLE_OTA_INFO_OFF_VERSION       16u  /*!< char[32], running app version */
#define BLE_OTA_INFO_OFF_PROJECT       48u  /*!< char[32], project name */
#define BLE_OTA_INFO_OFF_IDF_VERSION   80u  /*!< char[32], ESP-IDF version */
#define BLE_OTA_INFO_OFF_IMAGE_SHA256  112u /*!< u8[32], SHA-256 of the running image as flashed (zero if unknown) */
#define BLE_OTA_INFO_STR_LEN           32u

/* Feature flags. */
#define BLE_OTA_INFO_FEATURE_COMPRESSION         (1u << 0) /*!< inflates deflate reaching 32 KB back (no longer set) */
#define BLE_OTA_INFO_FEATURE_RESUME              (1u << 1)
#define BLE_OTA_INFO_FEATURE_ENCRYPTED_LINK_REQ  (1u << 2)
#define BLE_OTA_INFO_FEATURE_DELTA               (1u << 3)
#define BLE_OTA_INFO_FEATURE_DEFLATE_8K          (1u << 4) /*!< inflates deflate reaching at most 8 KB back */
/** How far back a deflate stream to a device with BLE_OTA_INFO_FEATURE_DEFLATE_8K may reach, in bytes. */
#define BLE_OTA_DEFLATE_WINDOW                   8192u

/** Control characteristic opcodes (one byte, both directions). */
typedef enum {
    BLE_OTA_OP_NOP         = 0x00, /*!< no operation (client -> device) */
    BLE_OTA_OP_REQUEST     = 0x01, /*!< start an update (client -> device) */
    BLE_OTA_OP_REQUEST_ACK = 0x02, /*!< update started, send data (device -> client) */
    BLE_OTA_OP_REQUEST_NAK = 0x03, /*!< update could not start (device -> client) */
    BLE_OTA_OP_DONE        = 0x04, /*!< all data sent (client -> device) */
    BLE_OTA_OP_DONE_ACK    = 0x05, /*!< image valid, boot partition set, restarting (device -> client) */
    BLE_OTA_OP_DONE_NAK    = 0x06, /*!< image rejected, old firmware kept (device -> client) */
} ble_ota_opcode_t;

/*
 * Protocol v2 (docs/protocol.md, "Protocol v2"). Client messages on Control
 * are the v1 opcode followed by the version byte 2, so they are never 1 byte
 * long and never collide with v1. Every v2 notification is
 * BLE_OTA_V2_NOTIFY_LEN bytes: opcode u8, error u8 (ble_ota_err_t), window
 * u16, offset u32. Data packets are [offset u32][payload], written without
 * response. All integers little-endian.
 */
#define BLE_OTA_V2                     2u
#define BLE_OTA_OP_ABORT               0x07 /*!< v2: drop the update now (client -> device) */
#define BLE_OTA_OP_DATA_ACK            0x08 /*!< v2: bytes accepted / retransmit from offset (device -> client) */
#define BLE_OTA_OP_ABORT_ACK           0x09 /*!< v2: update dropped, device idle (device -> client) */

#define BLE_OTA_V2_REQUEST_LEN         43u  /*!< 01 02 flags u8, image_size u32, stream_size u32, sha256[32] */
#define BLE_OTA_V2_REQUEST_DELTA_LEN   75u  /*!< the same, then base_sha256[32]: a delta REQUEST */
#define BLE_OTA_V2_SHORT_LEN           2u   /*!< DONE (04 02) and ABORT (07 02) */
#define BLE_OTA_V2_REQ_OFF_FLAGS       2u
#define BLE_OTA_V2_REQ_OFF_IMAGE_SIZE  3u
#define BLE_OTA_V2_REQ_OFF_STREAM_SIZE 7u
#define BLE_OTA_V2_REQ_OFF_SHA256      11u
#define BLE_OTA_V2_REQ_OFF_BASE_SHA256 43u
#define BLE_OTA_V2_FLAG_DEFLATE        (1u << 0) /*!< the stream is raw deflate (RFC 1951) of the image */
#define BLE_OTA_V2_FLAG_DELTA          (1u << 1) /*!< the stream is a delta patch against the base named in the REQUEST */
#define BLE_OTA_SHA256_LEN             32u

#define BLE_OTA_V2_NOTIFY_LEN          8u
#define BLE_OTA_V2_DATA_HEADER_LEN     4u   /*!< offset u32 before the payload */

/** Length of the packet-size write the client sends to Data while idle (uint16 LE). */
#define BLE_OTA_PACKET_SIZE_WRITE_LEN 2u

/** ATT payload overhead of a Write Request: opcode (1) + handle (2). */
#define BLE_OTA_ATT_WRITE_OVERHEAD    3u

/** Longest attribute value ATT allows; no single write can carry more. */
#define BLE_OTA_ATT_MAX_ATTR_LEN      512u

/*
 * ATT status codes returned by the GATT access callbacks. The standard ones
 * equal NimBLE's BLE_ATT_ERR_* (the port asserts that at compile time); the
 * 0x80.. range is the application range the Bluetooth core spec reserves for
 * profiles, used for protocol errors that have no standard code.
 */
#define BLE_OTA_ATT_OK                       0x00u
#define BLE_OTA_ATT_ERR_INSUFFICIENT_ENC     0x0Fu /*!< the link is not encrypted (BLE_OTA_REQUIRE_ENCRYPTION) */
#define BLE_OTA_ATT_ERR_INVALID_ATTR_LEN     0x0Du /*!< wrong value length, packet larger than negotiated */
#define BLE_OTA_ATT_ERR_UNLIKELY             0x0Eu /*!< internal error */
#define BLE_OTA_ATT_ERR_INSUFFICIENT_RES     0x11u /*!< out of memory / connection table full */
#define BLE_OTA_ATT_ERR_VALUE_NOT_ALLOWED    0x13u /*!< packet size 0 or above the receive buffer */
#define BLE_OTA_ATT_ERR_INVALID_STATE        0x80u /*!< write not legal in the current state */
#define BLE_OTA_ATT_ERR_UNKNOWN_OPCODE       0x81u /*!< control opcode not understood */
#define BLE_OTA_ATT_ERR_FLASH                0x82u /*!< flash write failed, update aborted */
#define BLE_OTA_ATT_ERR_IMAGE_TOO_LARGE      0x83u /*!< image does not fit the partition, update aborted */
#define BLE_OTA_ATT_ERR_BUSY                 0x84u /*!< another connection owns the update */
#define BLE_OTA_ATT_ERR_IMAGE_INVALID        0x85u /*!< image rejected while writing (e.g. bad magic), update aborted */

#ifdef __cplusplus
}
#endif
