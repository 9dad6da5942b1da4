/*
 * Host port of the BLE OTA core: a simulated ESP32 with two OTA slots on NOR
 * flash, an otadata-like boot record and a bootloader/rollback model, behind
 * the flat ABI in include/ble_ota_host.h.
 *
 * Protocol v2 goes through the same split as the ESP-IDF port
 * (port/ble_ota_stream.c): the GATT side only copies into a receive ring,
 * and a writer drains it (inflate or apply a delta patch, erase-ahead flash
 * writes, SHA-256 of what it writes). Here the writer runs synchronously after
 * each push unless a test pauses it; the inflater is zlib's raw inflate (the IDF
 * port uses the ROM's tinfl); the delta applier is the core's, reading the base
 * from the running slot as the IDF port does with esp_partition_read. At DONE the
 * writer's hash stands for the stored image when the image's appended SHA-256
 * covers every byte (esp_ota_end's model, bo_image_verify, then checks them);
 * otherwise the slot is read back and hashed, as the IDF port does.
 */
#include "ble_ota_host.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ble_ota_app_check.h"
#include "ble_ota_core.h"
#include "ble_ota_delta.h"
#include "ble_ota_flash_plan.h"
#include "bo_image.h"
#include "bo_sha256.h"

#define SECTOR_SIZE     4096u
#define MAX_CONNS       4
#define NOTIFY_QUEUE    64
#define NOTIFY_MAX_LEN  32
#define FIRST_CONN      1
#define RING_DEFAULT    16384u /* CONFIG_BLE_OTA_RING_BUFFER_SIZE default */
#define INFLATE_CHUNK   4096u
/* port/ble_ota_stream.c: the ROM's tinfl decodes into an 8 KB buffer (DEFLATE_DICT_SIZE), and a compressed update's
 * ring is what the 32 KB budget leaves beside it (DEFLATE_RING_SIZE, 8 KB with the default Kconfig). */
#define DEFLATE_WINDOW_BITS 13
#define DEFLATE_RING    8192u

typedef struct {
    int32_t conn;
    uint8_t len;
    uint8_t data[NOTIFY_MAX_LEN];
} notification_t;

typedef struct {
    int used;
    int32_t handle;
    int subscribed;
} host_conn_t;

struct bo_host {
    uint32_t slot_size;
    uint8_t *slot[2];
    int32_t slot_state[2];     /* BO_HOST_IMG_* */
    int32_t boot_slot;         /* the otadata record */
    int32_t running;           /* -1 = bricked */
    uint16_t chip_id;

    /* flash session (esp_ota_begin .. end/abort) */
    int session_open;
    int32_t target;
    uint32_t written;
    uint32_t erased_upto;      /* sequential erase: bytes [0, erased_upto) erased */
    int app_check_on;          /* the chip is in k_chip_maps (not BO_CHIP_ANY) */
    ble_ota_app_check_t app_check;

    /* v2 receive stream: ring buffer drained by the writer */
    uint8_t *ring;
    uint32_t ring_size, ring_head, ring_fill;
    uint32_t ring_limit;       /* what this stream may fill: the ring, or less for a compressed stream */
    int writer_paused;
    ble_ota_stream_encoding_t encoding;
    ble_ota_delta_t delta;     /* the applier, when encoding is DELTA */
    int room_event;            /* the writer freed ring space: the host task hears of it after the current call */
    int inflater_open;
    int inflate_ended;         /* Z_STREAM_END seen */
    z_stream inflater;
    bo_sha256_t sha;           /* of the bytes handed to flash_append (esp_ota_write) */
    uint32_t readback_bytes;   /* what the last DONE read back from the slot to hash it */
    ble_ota_err_t writer_err;  /* sticky: reported at the next push or at finish */

    ble_ota_core_t core;
    ble_ota_core_config_t core_cfg;
    host_conn_t conns[MAX_CONNS];
    int32_t next_conn;
    notification_t queue[NOTIFY_QUEUE];
    uint32_t q_head, q_count;

    uint32_t now_ms;
    int restart_pending;
    uint32_t restart_delay;
    int self_test_pass;

    int64_t fail_write_at;
    int64_t fail_erase_at;
    int64_t fail_base_read_at;
    int64_t corrupt_stored_at; /* the slot byte the flash stores wrong, once, without telling */
    uint8_t corrupt_stored_mask;
    int fail_set_boot;
    int fail_begin;
    int32_t nor_violations;
    int32_t erase_count;
};

/* ---- NOR flash ------------------------------------------------------------ */

static int nor_erase_sector(bo_host_t *h, int32_t slot, uint32_t offset)
{
    uint32_t base = offset - offset % SECTOR_SIZE;
    if (h->fail_erase_at >= 0 && (uint64_t)h->fail_erase_at >= base &&
        (uint64_t)h->fail_erase_at < (uint64_t)base + SECTOR_SIZE) {
        h->fail_erase_at = -1;
        return -1;
    }
    memset(h->slot[slot] + base, 0xFF, SECTOR_SIZE);
    h->erase_count++;
    return 0;
}

static int nor_write(bo_host_t *h, int32_t slot, uint32_t offset, const uint8_t *data, uint32_t len)
{
    if ((uint64_t)offset + len > h->slot_size) {
        return -1;
    }
    if (h->fail_write_at >= 0 && (uint64_t)h->fail_write_at >= offset &&
        (uint64_t)h->fail_write_at < (uint64_t)offset + len) {
        h->fail_write_at = -1;
        return -1;
    }
    uint8_t *mem = h->slot[slot] + offset;
    int violated = 0;
    for (uint32_t i = 0; i < len; i++) {
        if ((mem[i] & data[i]) != data[i]) {
            violated = 1;
        }
        mem[i] &= data[i]; /* NOR: bits only go 1 -> 0 */
    }
    if (violated) {
        h->nor_violations++;
    }
    if (h->corrupt_stored_at >= 0 && (uint64_t)h->corrupt_stored_at >= offset &&
        (uint64_t)h->corrupt_stored_at < (uint64_t)offset + len) {
        h->slot[slot][h->corrupt_stored_at] ^= h->corrupt_stored_mask; /* a bit error the write does not report */
        h->corrupt_stored_at = -1;
    }
    return 0;
}

static bo_image_result_t slot_verify(bo_host_t *h, int32_t slot, bo_image_info_t *info)
{
    return bo_image_verify(h->slot[slot], h->slot_size, h->chip_id, info);
}

/* ---- what an app for each chip looks like -------------------------------- */

/* The flash-mapped ranges of ESP-IDF v5.3.2's components/soc/<chip>/include/soc/soc.h (SOC_DROM_LOW/HIGH,
 * SOC_IROM_LOW/HIGH; C6 and H2 with the 64 KB MMU page of a 4 MB flash), which the ESP-IDF port passes to the
 * same check. */
static const ble_ota_app_rules_t k_chip_maps[] = {
    { 0x0000, 0x3F400000u, 0x3F800000u, 0x400D0000u, 0x40400000u }, /* ESP32 */
    { 0x0002, 0x3F000000u, 0x3FF80000u, 0x40080000u, 0x40800000u }, /* ESP32-S2 */
    { 0x0005, 0x3C000000u, 0x3C800000u, 0x42000000u, 0x42800000u }, /* ESP32-C3 */
    { 0x0009, 0x3C000000u, 0x3E000000u, 0x42000000u, 0x44000000u }, /* ESP32-S3 */
    { 0x000C, 0x3C000000u, 0x3C400000u, 0x42000000u, 0x42400000u }, /* ESP32-C2 */
    { 0x000D, 0x42000000u, 0x43000000u, 0x42000000u, 0x43000000u }, /* ESP32-C6 */
    { 0x0010, 0x42000000u, 0x43000000u, 0x42000000u, 0x43000000u }, /* ESP32-H2 */
};

static const ble_ota_app_rules_t *chip_map(uint16_t chip_id)
{
    for (size_t i = 0; i < sizeof(k_chip_maps) / sizeof(k_chip_maps[0]); i++) {
        if (k_chip_maps[i].chip_id == chip_id) {
            return &k_chip_maps[i];
        }
    }
    return NULL;
}

/* Erases what the plan says before data may be written up to end: a 64 KB block is 16 NOR sectors here. */
static ble_ota_err_t erase_ahead(bo_host_t *h, uint32_t end)
{
    ble_ota_erase_t range;
    while (ble_ota_erase_next(h->erased_upto, end, h->slot_size, &range)) {
        for (uint32_t at = range.offset; at < range.offset + range.size; at += SECTOR_SIZE) {
            if (nor_erase_sector(h, h->target, at) != 0) {
                return BLE_OTA_ERR_FLASH;
            }
        }
        h->erased_upto += range.size;
    }
    return BLE_OTA_OK;
}

/* ---- port callbacks ------------------------------------------------------- */

static ble_ota_err_t port_flash_begin(void *ctx, uint32_t image_size, uint32_t *capacity)
{
    bo_host_t *h = (bo_host_t *)ctx;
    if (h->fail_begin) {
        h->fail_begin = 0;
        return BLE_OTA_ERR_NO_PARTITION;
    }
    if (h->running < 0) {
        return BLE_OTA_ERR_NO_PARTITION;
    }
    /* With rollback on, esp_ota_begin refuses while the running app is unconfirmed. */
    if (h->slot_state[h->running] == BO_HOST_IMG_PENDING_VERIFY) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (image_size > h->slot_size) {
        return BLE_OTA_ERR_IMAGE_TOO_LARGE;
    }
    h->target = 1 - h->running; /* esp_ota_get_next_update_partition */
    h->written = 0;
    h->erased_upto = 0;
    const ble_ota_app_rules_t *rules = chip_map(h->chip_id);
    h->app_check_on = rules != NULL;
    if (rules != NULL) {
        ble_ota_app_check_init(&h->app_check, rules);
    }
    /* As the port: nothing is erased until the first bytes are judged an app; then each 64 KB block ahead of
     * the data (flash_append). */
    h->session_open = 1;
    *capacity = h->slot_size;
    return BLE_OTA_OK;
}

/* esp_ota_write, with the port erasing ahead of the data block by block (ble_ota_flash_append). */
static ble_ota_err_t flash_append(bo_host_t *h, const uint8_t *data, size_t len)
{
    if (!h->session_open) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    /* As port/ble_ota_flash.c: judged before esp_ota_write. */
    if (h->app_check_on) {
        ble_ota_err_t verdict = ble_ota_app_check_feed(&h->app_check, data, len);
        if (verdict != BLE_OTA_OK) {
            return verdict;
        }
    }
    if (h->written == 0 && len > 0 && data[0] != BO_IMAGE_MAGIC) {
        return BLE_OTA_ERR_IMAGE_INVALID; /* esp_ota_write checks the first byte */
    }
    if ((uint64_t)h->written + len > h->slot_size) {
        return BLE_OTA_ERR_IMAGE_TOO_LARGE;
    }
    if (erase_ahead(h, h->written + (uint32_t)len) != BLE_OTA_OK) {
        return BLE_OTA_ERR_FLASH;
    }
    if (nor_write(h, h->target, h->written, data, (uint32_t)len) != 0) {
        return BLE_OTA_ERR_FLASH;
    }
    h->written += (uint32_t)len;
    return BLE_OTA_OK;
}

static ble_ota_err_t port_flash_write(void *ctx, const uint8_t *data, size_t len)
{
    return flash_append((bo_host_t *)ctx, data, len);
}

/* ---- v2 stream: ring buffer + writer -------------------------------------- */

static void stream_release(bo_host_t *h)
{
    if (h->inflater_open) {
        inflateEnd(&h->inflater);
        h->inflater_open = 0;
    }
    h->ring_head = h->ring_fill = 0;
    h->writer_err = BLE_OTA_OK;
}

static ble_ota_err_t write_image(bo_host_t *h, const uint8_t *data, size_t len)
{
    ble_ota_err_t err = flash_append(h, data, len);
    if (err == BLE_OTA_OK) {
        bo_sha256_update(&h->sha, data, len);
    }
    return err;
}

/* The delta applier's callbacks: the base is the running slot (esp_partition_read on the device). */
static ble_ota_err_t base_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len)
{
    bo_host_t *h = (bo_host_t *)ctx;
    if (h->running < 0 || (uint64_t)offset + len > h->slot_size) {
        return BLE_OTA_ERR_FLASH;
    }
    if (h->fail_base_read_at >= 0 && (uint64_t)h->fail_base_read_at >= offset &&
        (uint64_t)h->fail_base_read_at < (uint64_t)offset + len) {
        h->fail_base_read_at = -1;
        return BLE_OTA_ERR_FLASH;
    }
    memcpy(buf, h->slot[h->running] + offset, len);
    return BLE_OTA_OK;
}

static ble_ota_err_t delta_write(void *ctx, const uint8_t *data, size_t len)
{
    return write_image((bo_host_t *)ctx, data, len);
}

static ble_ota_err_t writer_consume(bo_host_t *h, const uint8_t *data, size_t len)
{
    if (h->encoding == BLE_OTA_STREAM_DELTA) {
        return ble_ota_delta_feed(&h->delta, data, len);
    }
    if (h->encoding == BLE_OTA_STREAM_RAW) {
        return write_image(h, data, len);
    }
    if (h->inflate_ended) {
        return BLE_OTA_ERR_INFLATE; /* bytes after the end of the deflate stream */
    }
    /* One output byte per inflate() call: zlib lets a back-reference reach its window plus what the current call has
     * output, so only then is its limit the window's 8 KB, where tinfl's 8 KB buffer would decode wrong bytes. */
    uint8_t out[INFLATE_CHUNK];
    size_t produced = 0;
    h->inflater.next_in = (Bytef *)(uintptr_t)data;
    h->inflater.avail_in = (uInt)len;
    for (;;) {
        h->inflater.next_out = out + produced;
        h->inflater.avail_out = 1;
        int rc = inflate(&h->inflater, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            return BLE_OTA_ERR_INFLATE; /* corrupt, or a reference further back than 8 KB */
        }
        int got = h->inflater.avail_out == 0;
        produced += (size_t)got;
        int stalled = !got && h->inflater.avail_in == 0; /* needs more input */
        if (produced > 0 && (produced == sizeof(out) || rc == Z_STREAM_END || stalled || rc == Z_BUF_ERROR)) {
            ble_ota_err_t err = write_image(h, out, produced);
            if (err != BLE_OTA_OK) {
                return err;
            }
            produced = 0;
        }
        if (rc == Z_STREAM_END) {
            h->inflate_ended = 1;
            return h->inflater.avail_in == 0 ? BLE_OTA_OK : BLE_OTA_ERR_INFLATE;
        }
        if (stalled || rc == Z_BUF_ERROR) {
            return BLE_OTA_OK;
        }
    }
}

/* The writer task's loop body: drain everything in the ring, then tell the host task (as the port's
 * event does: delivered once the current core call has returned, see deliver_room_event). */
static void writer_drain(bo_host_t *h)
{
    h->room_event = h->room_event || h->ring_fill > 0;
    while (h->ring_fill > 0 && h->writer_err == BLE_OTA_OK) {
        uint32_t chunk = h->ring_size - h->ring_head;
        chunk = chunk < h->ring_fill ? chunk : h->ring_fill;
        h->writer_err = writer_consume(h, h->ring + h->ring_head, chunk);
        h->ring_head = (h->ring_head + chunk) % h->ring_size;
        h->ring_fill -= chunk;
    }
}

/* Length of the running image (the base of a delta patch), 0 when it cannot be read. */
static uint32_t running_image_len(bo_host_t *h)
{
    bo_image_info_t info;
    if (h->running < 0 || bo_image_verify(h->slot[h->running], h->slot_size, BO_CHIP_ANY, &info) != BO_IMAGE_OK) {
        return 0;
    }
    return info.image_len;
}

static ble_ota_err_t port_stream_begin(void *ctx, uint32_t image_size, ble_ota_stream_encoding_t encoding,
                                       uint32_t *capacity)
{
    bo_host_t *h = (bo_host_t *)ctx;
    stream_release(h);
    ble_ota_err_t err = port_flash_begin(ctx, image_size, capacity);
    if (err != BLE_OTA_OK) {
        return err;
    }
    h->encoding = encoding;
    h->inflate_ended = 0;
    h->ring_limit = encoding == BLE_OTA_STREAM_DEFLATE && h->ring_size > DEFLATE_RING ? DEFLATE_RING : h->ring_size;
    if (encoding == BLE_OTA_STREAM_DELTA) {
        ble_ota_delta_init(&h->delta, image_size, running_image_len(h), base_read, delta_write, h);
    }
    if (encoding == BLE_OTA_STREAM_DEFLATE) {
        memset(&h->inflater, 0, sizeof(h->inflater));
        if (inflateInit2(&h->inflater, -DEFLATE_WINDOW_BITS) != Z_OK) { /* raw deflate, 8 KB window as on the device */
            h->session_open = 0;
            return BLE_OTA_ERR_NO_MEM;
        }
        h->inflater_open = 1;
    }
    bo_sha256_init(&h->sha);
    h->readback_bytes = 0;
    return BLE_OTA_OK;
}

/* The GATT side: copy into the ring, never touch flash itself. */
static ble_ota_err_t port_stream_push(void *ctx, const uint8_t *data, size_t len)
{
    bo_host_t *h = (bo_host_t *)ctx;
    if (h->writer_err != BLE_OTA_OK) {
        return h->writer_err;
    }
    if (len > h->ring_limit - h->ring_fill) {
        return BLE_OTA_ERR_RING_FULL;
    }
    uint32_t tail = (h->ring_head + h->ring_fill) % h->ring_size;
    uint32_t first = h->ring_size - tail;
    first = first < len ? first : (uint32_t)len;
    memcpy(h->ring + tail, data, first);
    memcpy(h->ring, data + first, len - first);
    h->ring_fill += (uint32_t)len;
    if (!h->writer_paused) {
        writer_drain(h);
    }
    return h->writer_err;
}

static uint32_t port_stream_room(void *ctx)
{
    bo_host_t *h = (bo_host_t *)ctx;
    return h->ring_limit - h->ring_fill;
}

static ble_ota_err_t port_stream_finish(void *ctx, uint8_t sha256[BLE_OTA_SHA256_LEN], uint32_t *image_len)
{
    bo_host_t *h = (bo_host_t *)ctx;
    writer_drain(h); /* DONE waits for the writer */
    if (h->writer_err != BLE_OTA_OK) {
        return h->writer_err;
    }
    if (h->encoding == BLE_OTA_STREAM_DEFLATE && !h->inflate_ended) {
        return BLE_OTA_ERR_INFLATE; /* the deflate stream stopped short */
    }
    if (h->encoding == BLE_OTA_STREAM_DELTA) {
        ble_ota_err_t err = ble_ota_delta_finish(&h->delta); /* the patch stopped short, or the image is not whole */
        if (err != BLE_OTA_OK) {
            return err;
        }
    }
    /* As port/ble_ota_stream.c, hash_stored_image, with the header read back from the slot (this device has no
     * debugger to detect and is no FPGA build). */
    if (h->app_check_on && ble_ota_app_check_digest_covers(&h->app_check, h->slot[h->target])) {
        bo_sha256_final(&h->sha, sha256);
    } else {
        bo_sha256(h->slot[h->target], h->written, sha256); /* bootloader_common_get_sha256_of_partition */
        h->readback_bytes = h->written;
    }
    *image_len = h->written;
    return BLE_OTA_OK;
}

static ble_ota_err_t port_flash_end(void *ctx)
{
    bo_host_t *h = (bo_host_t *)ctx;
    stream_release(h);
    if (!h->session_open) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    h->session_open = 0;
    if (h->app_check_on) {
        ble_ota_err_t verdict = ble_ota_app_check_finish(&h->app_check);
        if (verdict != BLE_OTA_OK) {
            return verdict; /* as port/ble_ota_flash.c: refused before esp_ota_end */
        }
    }
    /* Only what was written counts: verify that prefix, not stale slot bytes. */
    if (bo_image_verify(h->slot[h->target], h->written, h->chip_id, NULL) != BO_IMAGE_OK) {
        return BLE_OTA_ERR_IMAGE_INVALID;
    }
    if (h->fail_set_boot) {
        h->fail_set_boot = 0;
        return BLE_OTA_ERR_SET_BOOT;
    }
    h->boot_slot = h->target;
    h->slot_state[h->target] = BO_HOST_IMG_NEW;
    return BLE_OTA_OK;
}

static void port_flash_abort(void *ctx)
{
    bo_host_t *h = (bo_host_t *)ctx;
    stream_release(h);
    h->session_open = 0;
}

static host_conn_t *find_conn(bo_host_t *h, int32_t conn)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        if (h->conns[i].used && h->conns[i].handle == conn) {
            return &h->conns[i];
        }
    }
    return NULL;
}

static ble_ota_err_t port_notify(void *ctx, uint16_t conn, const uint8_t *data, size_t len)
{
    bo_host_t *h = (bo_host_t *)ctx;
    host_conn_t *c = find_conn(h, conn);
    if (c == NULL || !c->subscribed) {
        return BLE_OTA_ERR_NOTIFY;
    }
    if (h->q_count == NOTIFY_QUEUE || len > NOTIFY_MAX_LEN) {
        return BLE_OTA_ERR_NOTIFY;
    }
    notification_t *n = &h->queue[(h->q_head + h->q_count) % NOTIFY_QUEUE];
    n->conn = conn;
    n->len = (uint8_t)len;
    memcpy(n->data, data, len);
    h->q_count++;
    return BLE_OTA_OK;
}

static void port_schedule_restart(void *ctx, uint32_t delay_ms)
{
    bo_host_t *h = (bo_host_t *)ctx;
    h->restart_pending = 1;
    h->restart_delay = delay_ms;
}

static uint32_t port_now_ms(void *ctx)
{
    return ((bo_host_t *)ctx)->now_ms;
}

/* Info: as the IDF port, but from the running slot's esp_app_desc_t. */
static ble_ota_err_t port_device_info(void *ctx, ble_ota_device_info_t *out)
{
    bo_host_t *h = (bo_host_t *)ctx;
    if (h->running < 0) {
        return BLE_OTA_ERR_INTERNAL;
    }
    /* The running image passed the checks at boot; read its descriptor
     * whatever chip id is configured now. */
    bo_image_info_t info;
    (void)bo_image_verify(h->slot[h->running], h->slot_size, BO_CHIP_ANY, &info);
    out->chip_id = h->chip_id;
    out->slot_size = h->slot_size; /* both slots have the same size */
    memcpy(out->version, info.version, sizeof(out->version));
    memcpy(out->project_name, info.project_name, sizeof(out->project_name));
    memcpy(out->idf_version, info.idf_ver, sizeof(out->idf_version));
    /* The port's esp_partition_read-and-hash of the running image at boot, done here on every read. */
    out->image_len = running_image_len(h);
    bo_sha256_t sha;
    bo_sha256_init(&sha);
    bo_sha256_update(&sha, h->slot[h->running], out->image_len);
    bo_sha256_final(&sha, out->image_sha256);
    return BLE_OTA_OK;
}

static const ble_ota_port_t k_port = {
    .flash_begin = port_flash_begin,
    .flash_write = port_flash_write,
    .flash_end = port_flash_end,
    .flash_abort = port_flash_abort,
    .notify = port_notify,
    .schedule_restart = port_schedule_restart,
    .now_ms = port_now_ms,
    .on_event = NULL,
    .device_info = port_device_info,
    .stream_begin = port_stream_begin,
    .stream_push = port_stream_push,
    .stream_finish = port_stream_finish,
    .base_read = base_read,
    .stream_room = port_stream_room,
};

/* ---- boot model ----------------------------------------------------------- */

/* Bootloader: the record's slot if it is bootable, else the other valid slot. */
static void bootloader(bo_host_t *h)
{
    int32_t cand = h->boot_slot;
    int32_t other = 1 - cand;
    switch (h->slot_state[cand]) {
    case BO_HOST_IMG_NEW:
        if (slot_verify(h, cand, NULL) == BO_IMAGE_OK) {
            h->slot_state[cand] = BO_HOST_IMG_PENDING_VERIFY;
            h->running = cand;
            return;
        }
        h->slot_state[cand] = BO_HOST_IMG_INVALID;
        break;
    case BO_HOST_IMG_PENDING_VERIFY:
        /* Booted once and never confirmed: roll back. */
        h->slot_state[cand] = BO_HOST_IMG_ABORTED;
        break;
    case BO_HOST_IMG_VALID:
    case BO_HOST_IMG_UNDEFINED:
        if (slot_verify(h, cand, NULL) == BO_IMAGE_OK) {
            h->running = cand;
            return;
        }
        break;
    default:
        break;
    }
    if (h->slot_state[other] != BO_HOST_IMG_INVALID && h->slot_state[other] != BO_HOST_IMG_ABORTED &&
        slot_verify(h, other, NULL) == BO_IMAGE_OK) {
        h->boot_slot = other;
        h->slot_state[other] = BO_HOST_IMG_VALID;
        h->running = other;
        return;
    }
    h->running = -1;
}

static void reset_runtime(bo_host_t *h)
{
    ble_ota_core_deinit(&h->core);
    memset(h->conns, 0, sizeof(h->conns));
    h->q_head = h->q_count = 0;
    h->restart_pending = 0;
    h->session_open = 0;
    (void)ble_ota_core_init(&h->core, &h->core_cfg, &k_port, h);
}

static void do_boot(bo_host_t *h)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        reset_runtime(h);
        bootloader(h);
        if (h->running < 0) {
            return;
        }
        /* App startup (port/ble_ota.c): BLE up, then self-test decides. */
        if (h->slot_state[h->running] != BO_HOST_IMG_PENDING_VERIFY) {
            return;
        }
        if (h->self_test_pass) {
            h->slot_state[h->running] = BO_HOST_IMG_VALID;
            return;
        }
        /* esp_ota_mark_app_invalid_rollback_and_reboot */
        h->slot_state[h->running] = BO_HOST_IMG_INVALID;
    }
}

/* ---- ABI ------------------------------------------------------------------ */

int32_t bo_host_abi_version(void)
{
    return BO_HOST_ABI_VERSION;
}

bo_host_t *bo_host_create(uint32_t partition_size)
{
    if (partition_size < 64u * 1024u || partition_size % SECTOR_SIZE != 0) {
        return NULL;
    }
    bo_host_t *h = (bo_host_t *)calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    h->slot_size = partition_size;
    for (int i = 0; i < 2; i++) {
        h->slot[i] = (uint8_t *)malloc(partition_size);
        if (h->slot[i] == NULL) {
            bo_host_destroy(h);
            return NULL;
        }
        memset(h->slot[i], 0xFF, partition_size);
        h->slot_state[i] = BO_HOST_IMG_UNDEFINED;
    }
    h->ring_size = RING_DEFAULT;
    h->ring_limit = h->ring_size;
    h->ring = (uint8_t *)malloc(h->ring_size);
    if (h->ring == NULL) {
        bo_host_destroy(h);
        return NULL;
    }
    h->core_cfg = ble_ota_core_config_default();
    h->core_cfg.compression = true;
    h->chip_id = BO_CHIP_ESP32;
    h->self_test_pass = 1;
    h->fail_write_at = -1;
    h->fail_erase_at = -1;
    h->fail_base_read_at = -1;
    h->corrupt_stored_at = -1;
    h->next_conn = FIRST_CONN;
    (void)ble_ota_core_init(&h->core, &h->core_cfg, &k_port, h);

    uint8_t factory[512];
    size_t n = bo_image_build_minimal(factory, sizeof(factory), "0.0.0-factory", "ble_ota_host", "v5.3.2");
    memcpy(h->slot[0], factory, n);
    h->boot_slot = 0;
    h->slot_state[0] = BO_HOST_IMG_VALID;
    do_boot(h);
    return h;
}

void bo_host_destroy(bo_host_t *h)
{
    if (h == NULL) {
        return;
    }
    ble_ota_core_deinit(&h->core);
    stream_release(h);
    free(h->ring);
    free(h->slot[0]);
    free(h->slot[1]);
    free(h);
}

int32_t bo_host_connect(bo_host_t *h, uint16_t mtu)
{
    if (h == NULL || mtu < 23 || mtu > 517) {
        return BO_HOST_E_ARG;
    }
    if (h->running < 0) {
        return BO_HOST_E_NOT_RUNNING;
    }
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!h->conns[i].used) {
            h->conns[i].used = 1;
            h->conns[i].handle = h->next_conn++;
            h->conns[i].subscribed = 0;
            if (h->next_conn > 0xFFF) {
                h->next_conn = FIRST_CONN;
            }
            ble_ota_core_on_connect(&h->core, (uint16_t)h->conns[i].handle, mtu);
            return h->conns[i].handle;
        }
    }
    return BO_HOST_E_NO_CONN_SLOT;
}

int32_t bo_host_set_mtu(bo_host_t *h, int32_t conn, uint16_t mtu)
{
    if (h == NULL || mtu < 23 || mtu > 517) {
        return BO_HOST_E_ARG;
    }
    if (find_conn(h, conn) == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    ble_ota_core_on_mtu(&h->core, (uint16_t)conn, mtu);
    return 0;
}

int32_t bo_host_disconnect(bo_host_t *h, int32_t conn)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    host_conn_t *c = find_conn(h, conn);
    if (c == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    ble_ota_core_on_disconnect(&h->core, (uint16_t)conn);
    memset(c, 0, sizeof(*c));
    return 0;
}

int32_t bo_host_is_connected(bo_host_t *h, int32_t conn)
{
    return (h != NULL && find_conn(h, conn) != NULL) ? 1 : 0;
}

/* The port's room event, run by the BLE host task after the access callback that queued it, never inside
 * a core call (port/ble_ota_stream.c posts it to NimBLE's event queue). */
static void deliver_room_event(bo_host_t *h)
{
    if (h->room_event) {
        h->room_event = 0;
        ble_ota_core_on_stream_room(&h->core);
    }
}

int32_t bo_host_write(bo_host_t *h, int32_t conn, int32_t which_char, const uint8_t *data, uint32_t len)
{
    if (h == NULL || (data == NULL && len != 0)) {
        return BO_HOST_E_ARG;
    }
    if (find_conn(h, conn) == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    /* No length check here: NimBLE hands a Write Request or Command to the access callback at whatever length
     * the ATT MTU let the central send, up to 524 bytes (ble_att_svr.c, ble_att_svr_rx_write and
     * ble_att_svr_rx_write_no_rsp); only a prepared (long) write is held to BLE_ATT_ATTR_MAX_LEN, 512
     * (ble_att_svr_prep_validate). The port's callbacks judge it. */
    ble_ota_err_t err;
    if (which_char == BO_HOST_CHAR_CONTROL) {
        err = ble_ota_core_on_control_write(&h->core, (uint16_t)conn, data, len);
    } else if (which_char == BO_HOST_CHAR_DATA) {
        err = ble_ota_core_on_data_write(&h->core, (uint16_t)conn, data, len);
    } else if (which_char == BO_HOST_CHAR_INFO) {
        return 0x03; /* BLE_ATT_ERR_WRITE_NOT_PERMITTED: Info is read-only */
    } else {
        return BO_HOST_E_ARG;
    }
    deliver_room_event(h);
    return ble_ota_err_to_att(err);
}

int32_t bo_host_read(bo_host_t *h, int32_t conn, int32_t which_char, uint8_t *out, uint32_t cap)
{
    if (h == NULL || out == NULL) {
        return BO_HOST_E_ARG;
    }
    if (find_conn(h, conn) == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    if (which_char == BO_HOST_CHAR_DATA) {
        return -(0x100 + 0x02); /* BLE_ATT_ERR_READ_NOT_PERMITTED */
    }
    size_t n = 0;
    ble_ota_err_t err;
    if (which_char == BO_HOST_CHAR_CONTROL) {
        if (cap < 1) {
            return BO_HOST_E_TOO_SMALL;
        }
        err = ble_ota_core_on_control_read(&h->core, (uint16_t)conn, out, cap, &n);
    } else if (which_char == BO_HOST_CHAR_INFO) {
        if (cap < BLE_OTA_INFO_LEN) {
            return BO_HOST_E_TOO_SMALL;
        }
        err = ble_ota_core_on_info_read(&h->core, (uint16_t)conn, out, cap, &n);
    } else {
        return BO_HOST_E_ARG;
    }
    if (err != BLE_OTA_OK) {
        return -(0x100 + (int32_t)ble_ota_err_to_att(err));
    }
    return (int32_t)n;
}

int32_t bo_host_subscribe(bo_host_t *h, int32_t conn, int32_t enable)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    host_conn_t *c = find_conn(h, conn);
    if (c == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    c->subscribed = enable ? 1 : 0;
    return c->subscribed;
}

int32_t bo_host_take_notification(bo_host_t *h, int32_t *conn_out, uint8_t *out, uint32_t cap)
{
    if (h == NULL || out == NULL) {
        return BO_HOST_E_ARG;
    }
    if (h->q_count == 0) {
        return 0;
    }
    notification_t *n = &h->queue[h->q_head];
    if (cap < n->len) {
        return BO_HOST_E_TOO_SMALL;
    }
    memcpy(out, n->data, n->len);
    if (conn_out != NULL) {
        *conn_out = n->conn;
    }
    int32_t len = n->len;
    h->q_head = (h->q_head + 1) % NOTIFY_QUEUE;
    h->q_count--;
    return len;
}

int32_t bo_host_state(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)ble_ota_core_state(&h->core);
}

int32_t bo_host_last_error(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)ble_ota_core_last_error(&h->core);
}

int32_t bo_host_bytes_received(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)ble_ota_core_bytes_received(&h->core);
}

int32_t bo_host_restart_pending(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : h->restart_pending;
}

int32_t bo_host_restart_delay_ms(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)h->restart_delay;
}

int32_t bo_host_advance_ms(bo_host_t *h, uint32_t ms)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->now_ms += ms;
    return 0;
}

int32_t bo_host_reboot(bo_host_t *h)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    do_boot(h);
    return h->running < 0 ? BO_HOST_E_NOT_RUNNING : h->running;
}

int32_t bo_host_running_slot(bo_host_t *h)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    return h->running < 0 ? BO_HOST_E_NOT_RUNNING : h->running;
}

int32_t bo_host_boot_slot(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : h->boot_slot;
}

int32_t bo_host_slot_state(bo_host_t *h, int32_t slot)
{
    if (h == NULL || slot < 0 || slot > 1) {
        return BO_HOST_E_ARG;
    }
    return h->slot_state[slot];
}

int32_t bo_host_slot_image_valid(bo_host_t *h, int32_t slot)
{
    if (h == NULL || slot < 0 || slot > 1) {
        return BO_HOST_E_ARG;
    }
    return slot_verify(h, slot, NULL) == BO_IMAGE_OK ? 1 : 0;
}

int32_t bo_host_read_running_image(bo_host_t *h, uint8_t *out, uint32_t cap)
{
    if (h == NULL || out == NULL) {
        return BO_HOST_E_ARG;
    }
    if (h->running < 0) {
        return BO_HOST_E_NOT_RUNNING;
    }
    bo_image_info_t info;
    if (slot_verify(h, h->running, &info) != BO_IMAGE_OK) {
        return BO_HOST_E_NOT_RUNNING;
    }
    if (cap < info.image_len) {
        return BO_HOST_E_TOO_SMALL;
    }
    memcpy(out, h->slot[h->running], info.image_len);
    return (int32_t)info.image_len;
}

int32_t bo_host_running_version(bo_host_t *h, char *out, uint32_t cap)
{
    if (h == NULL || out == NULL || cap == 0) {
        return BO_HOST_E_ARG;
    }
    if (h->running < 0) {
        return BO_HOST_E_NOT_RUNNING;
    }
    bo_image_info_t info;
    (void)slot_verify(h, h->running, &info);
    size_t n = strlen(info.version);
    if (n + 1 > cap) {
        return BO_HOST_E_TOO_SMALL;
    }
    memcpy(out, info.version, n + 1);
    return (int32_t)n;
}

int32_t bo_host_read_slot(bo_host_t *h, int32_t slot, uint32_t offset, uint8_t *out, uint32_t cap)
{
    if (h == NULL || out == NULL || slot < 0 || slot > 1 || offset > h->slot_size) {
        return BO_HOST_E_ARG;
    }
    uint32_t n = h->slot_size - offset;
    if (n > cap) {
        n = cap;
    }
    memcpy(out, h->slot[slot] + offset, n);
    return (int32_t)n;
}

int32_t bo_host_install_image(bo_host_t *h, int32_t slot, const uint8_t *data, uint32_t len)
{
    if (h == NULL || data == NULL || slot < 0 || slot > 1 || len > h->slot_size) {
        return BO_HOST_E_ARG;
    }
    memset(h->slot[slot], 0xFF, h->slot_size);
    memcpy(h->slot[slot], data, len);
    h->boot_slot = slot;
    h->slot_state[slot] = BO_HOST_IMG_VALID;
    return 0;
}

int32_t bo_host_set_max_packet_size(bo_host_t *h, uint16_t size)
{
    if (h == NULL || size == 0 || size > BLE_OTA_ATT_MAX_ATTR_LEN) {
        return BO_HOST_E_ARG;
    }
    if (ble_ota_core_state(&h->core) != BLE_OTA_STATE_IDLE) {
        return BO_HOST_E_ARG;
    }
    h->core_cfg.max_packet_size = size;
    h->core.cfg.max_packet_size = size;
    return 0;
}

int32_t bo_host_set_chip_id(bo_host_t *h, uint16_t chip_id)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->chip_id = chip_id;
    return 0;
}

int32_t bo_host_set_self_test_result(bo_host_t *h, int32_t pass)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->self_test_pass = pass ? 1 : 0;
    return 0;
}

int32_t bo_host_fail_write_at(bo_host_t *h, int64_t offset)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->fail_write_at = offset;
    return 0;
}

int32_t bo_host_fail_erase_at(bo_host_t *h, int64_t offset)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->fail_erase_at = offset;
    return 0;
}

int32_t bo_host_fail_base_read_at(bo_host_t *h, int64_t offset)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->fail_base_read_at = offset;
    return 0;
}

int32_t bo_host_corrupt_stored_at(bo_host_t *h, int64_t offset, uint8_t xor_mask)
{
    if (h == NULL || xor_mask == 0) {
        return BO_HOST_E_ARG;
    }
    h->corrupt_stored_at = offset;
    h->corrupt_stored_mask = xor_mask;
    return 0;
}

int32_t bo_host_done_readback_bytes(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)h->readback_bytes;
}

int32_t bo_host_fail_set_boot(bo_host_t *h, int32_t fail)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->fail_set_boot = fail ? 1 : 0;
    return 0;
}

int32_t bo_host_fail_begin(bo_host_t *h, int32_t fail)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->fail_begin = fail ? 1 : 0;
    return 0;
}

int32_t bo_host_set_require_encryption(bo_host_t *h, int32_t require)
{
    if (h == NULL || ble_ota_core_state(&h->core) != BLE_OTA_STATE_IDLE) {
        return BO_HOST_E_ARG;
    }
    h->core_cfg.require_encryption = require != 0;
    h->core.cfg.require_encryption = require != 0;
    return 0;
}

int32_t bo_host_set_encrypted(bo_host_t *h, int32_t conn, int32_t encrypted)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    if (find_conn(h, conn) == NULL) {
        return BO_HOST_E_NOT_CONNECTED;
    }
    ble_ota_core_on_encryption_change(&h->core, (uint16_t)conn, encrypted != 0);
    return 0;
}

int32_t bo_host_nor_violations(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : h->nor_violations;
}

int32_t bo_host_erase_count(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : h->erase_count;
}

int32_t bo_host_set_window(bo_host_t *h, uint16_t window)
{
    if (h == NULL || window == 0 || window > 255 || ble_ota_core_state(&h->core) != BLE_OTA_STATE_IDLE) {
        return BO_HOST_E_ARG;
    }
    h->core_cfg.window = window;
    h->core.cfg.window = window;
    return 0;
}

int32_t bo_host_set_compression(bo_host_t *h, int32_t enable)
{
    if (h == NULL || ble_ota_core_state(&h->core) != BLE_OTA_STATE_IDLE) {
        return BO_HOST_E_ARG;
    }
    h->core_cfg.compression = enable != 0;
    h->core.cfg.compression = enable != 0;
    return 0;
}

int32_t bo_host_set_ring_size(bo_host_t *h, uint32_t bytes)
{
    if (h == NULL || bytes < 64 || ble_ota_core_state(&h->core) != BLE_OTA_STATE_IDLE) {
        return BO_HOST_E_ARG;
    }
    uint8_t *ring = (uint8_t *)malloc(bytes);
    if (ring == NULL) {
        return BO_HOST_E_NO_MEM;
    }
    free(h->ring);
    h->ring = ring;
    h->ring_size = bytes;
    h->ring_limit = bytes;
    h->ring_head = h->ring_fill = 0;
    return 0;
}

int32_t bo_host_set_writer_paused(bo_host_t *h, int32_t paused)
{
    if (h == NULL) {
        return BO_HOST_E_ARG;
    }
    h->writer_paused = paused ? 1 : 0;
    if (!h->writer_paused) {
        writer_drain(h);
        deliver_room_event(h);
    }
    return 0;
}

int32_t bo_host_ring_fill(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)h->ring_fill;
}

int32_t bo_host_stream_offset(bo_host_t *h)
{
    return h == NULL ? BO_HOST_E_ARG : (int32_t)ble_ota_core_stream_offset(&h->core);
}
