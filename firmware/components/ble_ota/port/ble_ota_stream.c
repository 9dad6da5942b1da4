/*
 * Protocol v2 receive stream: the GATT access callback (NimBLE host task)
 * only copies packets into a FreeRTOS byte ring buffer; a writer task drains
 * it, inflates when the stream is compressed or applies it when it is a delta
 * patch (reading the running partition), and writes flash with
 * esp_ota_write, erasing each 64 KB block just before the data enters it
 * (ble_ota_flash_append), so the callback never waits for the writer. It does
 * not make flash work overlap reception: while the SPI flash erases a block
 * (about 150 ms typical, seconds at worst) or programs a page, the caches are
 * off and every task is suspended, the NimBLE host included; only IRAM code
 * such as the controller runs, receiving until its own buffers are full
 * (ESP-IDF "Concurrency Constraints for Flash on SPI1"). The host task catches
 * up from the controller's buffers between flash operations.
 * CONFIG_SPI_FLASH_AUTO_SUSPEND changes that on chips and flash parts that
 * support it: the CPU runs on and only the writer waits, so the ring must then
 * take a block erase's worth of packets (its Kconfig default grows to 24 KB).
 * The core holds a DATA_ACK while the ring cannot take a whole window more
 * (ble_ota_stream_room), and the writer tells the host task when space frees
 * (ble_ota_stream_room_event).
 *
 * RAM while an update runs (defaults): ring CONFIG_BLE_OTA_RING_BUFFER_SIZE
 * (16 KB; 24 KB with auto-suspend) + writer stack CONFIG_BLE_OTA_WRITER_STACK_SIZE
 * (4 KB) + receive buffer (512 B) + image prefix (288 B) + the image's SHA-256
 * context (116 B; 112 on the classic ESP32), about 21 KB (29 KB).
 * A delta update (CONFIG_BLE_OTA_DELTA, on by default) adds the patch applier's
 * state, sizeof(ble_ota_delta_t) = 7.5 KB, and takes a ring no larger than
 * leaves room for it (DELTA_RING_SIZE, 19 KB at most): about 28.5 KB (31.5 KB
 * with auto-suspend). A compressed update (CONFIG_BLE_OTA_COMPRESSION, on by
 * default) adds tinfl's output buffer, 8 KB (DEFLATE_DICT_SIZE), and its
 * decompressor state, sizeof(tinfl_decompressor) = 10,992 bytes on the 32-bit
 * chips (three Huffman tables of 288 + 2 x 1024 + 2 x 576 bytes with
 * TINFL_FAST_LOOKUP_BITS 10, 56 bytes of counters, the bit buffer, a size_t and
 * 461 bytes of code lengths), and takes an 8 KB ring (DEFLATE_RING_SIZE):
 * 8,192 + 4,096 + 512 + 288 + 116 + 8,192 + 10,992 = 32,388 bytes.
 *
 * The SHA-256 the core checks at DONE vouches for what is stored, not only for
 * what was received. The writer hashes the bytes it hands to esp_ota_write (the
 * inflated or patched output). When the image's header asks for an appended
 * SHA-256 and the image ends with it (ble_ota_app_check_digest_covers), that
 * hash stands for the stored image: esp_ota_end then checks every stored byte
 * against the image's own hash (esp_image_verify), before the boot partition can
 * change. Otherwise the image is read back from flash and hashed
 * (bootloader_common_get_sha256_of_partition): without an appended hash, with
 * bytes after it (a signature sector, which esp_image_verify checks only in a
 * secure-boot build and not all of), while a debugger is attached (esp_image_verify
 * then skips its checksum and hash) and in FPGA or bring-up builds (a wrong hash
 * passes there). So DONE reads a typical image twice (esp_ota_end and
 * esp_ota_set_boot_partition), not three times. It runs in the DONE task
 * (ble_ota_done_task.c), after the ring and the writer are freed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bootloader_common.h"
#include "esp_check.h"
#include "esp_cpu.h" /* esp_cpu_dbgr_is_attached */
#include "esp_log.h"
#include "esp_partition.h"
#include "freertos/FreeRTOS.h"
#include "freertos/ringbuf.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "nimble/nimble_port.h"
#if CONFIG_BLE_OTA_COMPRESSION
#include "miniz.h" /* the ROM's tinfl inflater */
#endif

#include "ble_ota_priv.h"

static const char *TAG = "ble_ota";

/* Whole-window guarantee: a full window of packets fits the ring while the writer keeps up. */
_Static_assert((uint32_t)CONFIG_BLE_OTA_WINDOW * (CONFIG_BLE_OTA_MAX_PACKET_SIZE - BLE_OTA_V2_DATA_HEADER_LEN) <=
                   CONFIG_BLE_OTA_RING_BUFFER_SIZE,
               "CONFIG_BLE_OTA_WINDOW packets of CONFIG_BLE_OTA_MAX_PACKET_SIZE must fit CONFIG_BLE_OTA_RING_BUFFER_SIZE");
/* The 32 KB budget of the default build: ring + writer stack + receive buffer + image prefix + the image's SHA-256
 * context (+ the delta applier). */
#define RAM_BUDGET (32 * 1024)
#define UPDATE_RAM \
    (CONFIG_BLE_OTA_WRITER_STACK_SIZE + CONFIG_BLE_OTA_MAX_PACKET_SIZE + 512 + sizeof(mbedtls_sha256_context))
#if CONFIG_BLE_OTA_DELTA
/* A delta update also holds the applier's state, so its ring is the configured one or, when that leaves no room
 * for the applier, the largest whole KB that does (19 KB with the defaults and a 24 KB ring). */
#define DELTA_RING_ROOM ((RAM_BUDGET - UPDATE_RAM - sizeof(ble_ota_delta_t)) & ~(size_t)1023)
#define DELTA_RING_SIZE \
    (CONFIG_BLE_OTA_RING_BUFFER_SIZE < DELTA_RING_ROOM ? (size_t)CONFIG_BLE_OTA_RING_BUFFER_SIZE : DELTA_RING_ROOM)
_Static_assert((uint32_t)CONFIG_BLE_OTA_WINDOW * (CONFIG_BLE_OTA_MAX_PACKET_SIZE - BLE_OTA_V2_DATA_HEADER_LEN) <=
                   DELTA_RING_SIZE,
               "CONFIG_BLE_OTA_WINDOW packets of CONFIG_BLE_OTA_MAX_PACKET_SIZE must fit a delta update's ring");
#endif
#if CONFIG_BLE_OTA_COMPRESSION
/* tinfl decodes into a wrapping output buffer of any power of two (miniz.h, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
 * clear) and masks every back-reference with its size: 8 KB instead of TINFL_LZ_DICT_SIZE (32 KB) keeps a compressed
 * update within the budget. Clients send such a device (Info feature bit 4) streams that reach at most 8 KB back; a
 * stream reaching further decodes to wrong bytes inside the buffer, which the SHA-256 check at DONE refuses. */
#define DEFLATE_DICT_SIZE BLE_OTA_DEFLATE_WINDOW
_Static_assert((DEFLATE_DICT_SIZE & (DEFLATE_DICT_SIZE - 1)) == 0 && DEFLATE_DICT_SIZE <= TINFL_LZ_DICT_SIZE,
               "tinfl's wrapping output buffer must be a power of two");
/* A compressed update's ring is the configured one or, when that leaves no room for the inflater, the largest whole
 * KB that does (8 KB with the defaults). */
#define DEFLATE_RAM (DEFLATE_DICT_SIZE + sizeof(tinfl_decompressor))
#define DEFLATE_RING_ROOM ((RAM_BUDGET - UPDATE_RAM - DEFLATE_RAM) & ~(size_t)1023)
#define DEFLATE_RING_SIZE \
    (CONFIG_BLE_OTA_RING_BUFFER_SIZE < DEFLATE_RING_ROOM ? (size_t)CONFIG_BLE_OTA_RING_BUFFER_SIZE : DEFLATE_RING_ROOM)
_Static_assert((uint32_t)CONFIG_BLE_OTA_WINDOW * (CONFIG_BLE_OTA_MAX_PACKET_SIZE - BLE_OTA_V2_DATA_HEADER_LEN) <=
                   DEFLATE_RING_SIZE,
               "CONFIG_BLE_OTA_WINDOW packets of CONFIG_BLE_OTA_MAX_PACKET_SIZE must fit a compressed update's ring");
_Static_assert(DEFLATE_RING_SIZE + UPDATE_RAM + DEFLATE_RAM <= RAM_BUDGET,
               "a compressed update's buffers exceed the 32 KB RAM budget");
#endif
_Static_assert(CONFIG_BLE_OTA_RING_BUFFER_SIZE + UPDATE_RAM <= RAM_BUDGET,
               "BLE OTA buffers exceed the 32 KB RAM budget (shrink the ring)");
#if CONFIG_BLE_OTA_DELTA
_Static_assert(DELTA_RING_SIZE + UPDATE_RAM + sizeof(ble_ota_delta_t) <= RAM_BUDGET,
               "a delta update's buffers exceed the 32 KB RAM budget");
#endif

/* At DONE the ring and the writer are freed before the DONE task starts: its stack fits the same budget. */
_Static_assert(CONFIG_BLE_OTA_DONE_STACK_SIZE + CONFIG_BLE_OTA_MAX_PACKET_SIZE + 512 + sizeof(mbedtls_sha256_context) <=
                   RAM_BUDGET,
               "the DONE task's stack exceeds the 32 KB RAM budget");

#define WRITER_POLL_MS   100u /* how often an idle writer checks for stop */
#define FINISH_POLL_MS   10u
#define FINISH_TIMEOUT_MS 10000u /* DONE gives up when the writer made no progress for this long */
/* A delta patch or a deflate stream expands several times over: the writer takes it in small pieces so ring space
 * frees as it decodes, not only when a ring's worth of decoded image (a block erase among it) is in flash. */
#define EXPANDING_CHUNK  256u

/* Image bytes (decompressed) to flash, and into the image's SHA-256. Runs in the writer task. */
static ble_ota_err_t write_image(ble_ota_ctx_t *o, const uint8_t *data, size_t len)
{
    ble_ota_err_t err = ble_ota_flash_append(o, data, len);
    if (err == BLE_OTA_OK && mbedtls_sha256_update(o->image_sha, data, len) != 0) {
        err = BLE_OTA_ERR_INTERNAL;
    }
    return err;
}

#if CONFIG_BLE_OTA_COMPRESSION
static ble_ota_err_t inflate_chunk(ble_ota_ctx_t *o, const uint8_t *in, size_t len)
{
    tinfl_decompressor *d = (tinfl_decompressor *)o->inflater;
    while (len > 0 || !o->inflate_done) {
        if (o->inflate_done) {
            return BLE_OTA_ERR_INFLATE; /* bytes after the end of the deflate stream */
        }
        size_t in_bytes = len;
        size_t out_bytes = DEFLATE_DICT_SIZE - o->dict_ofs; /* the buffer's end: tinfl takes its size from it */
        tinfl_status st = tinfl_decompress(d, in, &in_bytes, o->dict, o->dict + o->dict_ofs, &out_bytes,
                                           TINFL_FLAG_HAS_MORE_INPUT);
        in += in_bytes;
        len -= in_bytes;
        if (out_bytes > 0) {
            ble_ota_err_t err = write_image(o, o->dict + o->dict_ofs, out_bytes);
            if (err != BLE_OTA_OK) {
                return err;
            }
            o->dict_ofs = (o->dict_ofs + out_bytes) & (DEFLATE_DICT_SIZE - 1);
        }
        if (st == TINFL_STATUS_DONE) {
            o->inflate_done = true;
            return len == 0 ? BLE_OTA_OK : BLE_OTA_ERR_INFLATE;
        }
        if (st < TINFL_STATUS_DONE) {
            return BLE_OTA_ERR_INFLATE;
        }
        if (st == TINFL_STATUS_NEEDS_MORE_INPUT && len == 0) {
            return BLE_OTA_OK;
        }
    }
    return BLE_OTA_OK;
}
#endif

/* The delta applier's output: the next bytes of the new image. */
static ble_ota_err_t delta_write(void *ctx, const uint8_t *data, size_t len)
{
    return write_image((ble_ota_ctx_t *)ctx, data, len);
}

static ble_ota_err_t consume(ble_ota_ctx_t *o, const uint8_t *data, size_t len)
{
#if CONFIG_BLE_OTA_COMPRESSION
    if (o->encoding == BLE_OTA_STREAM_DEFLATE) {
        return inflate_chunk(o, data, len);
    }
#endif
    if (o->encoding == BLE_OTA_STREAM_DELTA) {
        return ble_ota_delta_feed(o->delta, data, len);
    }
    return write_image(o, data, len);
}

/* Runs in the NimBLE host task, like every other core call. */
void ble_ota_stream_room_event(struct ble_npl_event *ev)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ble_npl_event_get_arg(ev);
    ble_ota_core_on_stream_room(&o->core);
}

uint32_t ble_ota_stream_room(void *ctx)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    return o->ring != NULL ? (uint32_t)xRingbufferGetCurFreeSize(o->ring) : 0;
}

static void writer_task(void *arg)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)arg;
    while (!o->writer_stop) {
        size_t n = 0;
        uint8_t *chunk = xRingbufferReceiveUpTo(o->ring, &n, pdMS_TO_TICKS(WRITER_POLL_MS),
                                                o->encoding == BLE_OTA_STREAM_RAW ? CONFIG_BLE_OTA_RING_BUFFER_SIZE
                                                                                 : EXPANDING_CHUNK);
        if (chunk == NULL) {
            continue;
        }
        if (o->writer_err == BLE_OTA_OK) {
            ble_ota_err_t err = consume(o, chunk, n);
            if (err != BLE_OTA_OK) {
                ESP_LOGW(TAG, "writer failed: %s", ble_ota_err_name(err));
                o->writer_err = err;
            }
        }
        vRingbufferReturnItem(o->ring, chunk);
        o->consumed += (uint32_t)n;
        /* Space is free again: the host task sends an acknowledgement the core held for it. Queueing
         * an event already queued does nothing, so this costs one check per chunk. */
        ble_npl_eventq_put(nimble_port_get_dflt_eventq(), &o->room_event);
    }
    xSemaphoreGive(o->writer_exited);
    vTaskDelete(NULL);
}

/* The ring, the writer and the decoders: all DONE no longer needs. */
static void release_writer(ble_ota_ctx_t *o)
{
    if (o->writer != NULL) {
        o->writer_stop = true;
        (void)xSemaphoreTake(o->writer_exited, portMAX_DELAY);
        o->writer = NULL;
    }
    if (o->writer_exited != NULL) {
        vSemaphoreDelete(o->writer_exited);
        o->writer_exited = NULL;
    }
    if (o->ring != NULL) {
        vRingbufferDelete(o->ring);
        o->ring = NULL;
    }
    free(o->inflater);
    o->inflater = NULL;
    free(o->dict);
    o->dict = NULL;
    free(o->delta);
    o->delta = NULL;
}

/* On ESP32 the context holds the SHA engine until it is freed; any other hash meanwhile runs in software. */
static void release_image_sha(ble_ota_ctx_t *o)
{
    if (o->image_sha != NULL) {
        mbedtls_sha256_free(o->image_sha);
        free(o->image_sha);
        o->image_sha = NULL;
    }
}

void ble_ota_stream_release(ble_ota_ctx_t *o)
{
    release_writer(o);
    release_image_sha(o);
}

ble_ota_err_t ble_ota_stream_begin(void *ctx, uint32_t image_size, ble_ota_stream_encoding_t encoding, uint32_t *capacity)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    esp_err_t ret = ESP_OK;
    ble_ota_err_t result = BLE_OTA_ERR_NO_MEM;
    bool compressed = encoding == BLE_OTA_STREAM_DEFLATE;
    size_t ring_size = CONFIG_BLE_OTA_RING_BUFFER_SIZE;
#if CONFIG_BLE_OTA_DELTA
    if (encoding == BLE_OTA_STREAM_DELTA) {
        ring_size = DELTA_RING_SIZE; /* the applier needs its share of the budget */
    }
#endif
#if CONFIG_BLE_OTA_COMPRESSION
    if (compressed) {
        ring_size = DEFLATE_RING_SIZE; /* so does the inflater */
    }
#endif

    /* The core refuses first; this guards the port on its own. */
#if !CONFIG_BLE_OTA_COMPRESSION
    if (compressed) {
        return BLE_OTA_ERR_UNSUPPORTED;
    }
#endif
#if !CONFIG_BLE_OTA_DELTA
    if (encoding == BLE_OTA_STREAM_DELTA) {
        return BLE_OTA_ERR_UNSUPPORTED;
    }
#endif
    /* Sequential erase: the writer task erases each 64 KB block as the data reaches it (ble_ota_flash_append). */
    ble_ota_err_t err = ble_ota_flash_open(o, image_size, true, capacity);
    if (err != BLE_OTA_OK) {
        return err;
    }
    o->writer_stop = false;
    o->writer_err = BLE_OTA_OK;
    o->pushed = 0;
    o->consumed = 0;
    o->encoding = encoding;
    o->inflate_done = false;
    o->dict_ofs = 0;
    o->image_sha = malloc(sizeof(mbedtls_sha256_context));
    ESP_GOTO_ON_FALSE(o->image_sha != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory for the image hash");
    mbedtls_sha256_init(o->image_sha);
    ESP_GOTO_ON_FALSE(mbedtls_sha256_starts(o->image_sha, 0 /* SHA-256, not 224 */) == 0, ESP_ERR_NO_MEM, err, TAG,
                      "cannot start the image hash");
#if CONFIG_BLE_OTA_COMPRESSION
    if (compressed) {
        o->inflater = malloc(sizeof(tinfl_decompressor));
        o->dict = malloc(DEFLATE_DICT_SIZE);
        ESP_GOTO_ON_FALSE(o->inflater != NULL && o->dict != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory for the inflater");
        tinfl_init((tinfl_decompressor *)o->inflater);
    }
#endif
    if (encoding == BLE_OTA_STREAM_DELTA) {
        o->delta = malloc(sizeof(ble_ota_delta_t));
        ESP_GOTO_ON_FALSE(o->delta != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory for the delta applier");
        ble_ota_delta_init(o->delta, image_size, o->info.image_len, ble_ota_base_read, delta_write, o);
    }
    o->ring = xRingbufferCreate(ring_size, RINGBUF_TYPE_BYTEBUF);
    o->writer_exited = xSemaphoreCreateBinary();
    ESP_GOTO_ON_FALSE(o->ring != NULL && o->writer_exited != NULL, ESP_ERR_NO_MEM, err, TAG, "no memory for the ring");
    ESP_GOTO_ON_FALSE(xTaskCreate(writer_task, "ble_ota_wr", CONFIG_BLE_OTA_WRITER_STACK_SIZE, o,
                                  CONFIG_BLE_OTA_WRITER_PRIORITY, &o->writer) == pdPASS,
                      ESP_ERR_NO_MEM, err, TAG, "no memory for the writer task");
    ESP_LOGI(TAG, "v2 stream: %" PRIu32 " bytes%s, ring %u bytes", image_size,
             compressed ? " (deflate)" : encoding == BLE_OTA_STREAM_DELTA ? " (delta patch)" : "",
             (unsigned)ring_size);
    return BLE_OTA_OK;

err:
    (void)ret;
    g_ble_ota_port.flash_abort(o); /* the core only NAKs: release the ring, the buffers and the esp_ota handle here */
    return result;
}

ble_ota_err_t ble_ota_stream_push(void *ctx, const uint8_t *data, size_t len)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    if (o->writer_err != BLE_OTA_OK) {
        return o->writer_err;
    }
    if (o->ring == NULL) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    /* Never block the host task: no room means "resend later". */
    if (xRingbufferSend(o->ring, data, len, 0) != pdTRUE) {
        return BLE_OTA_ERR_RING_FULL;
    }
    o->pushed += (uint32_t)len;
    return BLE_OTA_OK;
}

/* Does esp_ota_end's check of the stored image against its appended SHA-256 cover every byte written? */
static bool digest_covers_image(ble_ota_ctx_t *o)
{
#if CONFIG_IDF_ENV_FPGA || CONFIG_IDF_ENV_BRINGUP
    (void)o;
    return false; /* esp_image_format.c, verify_simple_hash: a wrong hash passes in these builds */
#else
    uint8_t header[BLE_OTA_APP_CHECK_HEADER_LEN];
    /* esp_image_format.c, image_load: with a debugger attached esp_image_verify skips the checksum and the hash. */
    return !esp_cpu_dbgr_is_attached() && esp_partition_read(o->update_part, 0, header, sizeof(header)) == ESP_OK &&
           ble_ota_app_check_digest_covers(&o->app_check, header);
#endif
}

/* In the DONE task: the SHA-256 of what is stored. */
static ble_ota_err_t hash_stored_image(ble_ota_ctx_t *o, void *sha256)
{
    if (digest_covers_image(o)) {
        ESP_LOGI(TAG, "image hashed as written; esp_ota_end checks the stored bytes against its appended SHA-256");
        return mbedtls_sha256_finish(o->image_sha, (uint8_t *)sha256) == 0 ? BLE_OTA_OK : BLE_OTA_ERR_INTERNAL;
    }
    ESP_LOGI(TAG, "reading the image back to hash it: esp_ota_end would not check every byte");
    release_image_sha(o); /* gives the SHA engine back for the read-back */
    /* Type data hashes the raw range. */
    esp_err_t err = bootloader_common_get_sha256_of_partition(o->update_part->address, o->written,
                                                              ESP_PARTITION_TYPE_DATA, (uint8_t *)sha256);
    return err == ESP_OK ? BLE_OTA_OK : BLE_OTA_ERR_FLASH;
}

ble_ota_err_t ble_ota_stream_finish(void *ctx, uint8_t sha256[BLE_OTA_SHA256_LEN], uint32_t *image_len)
{
    ble_ota_ctx_t *o = (ble_ota_ctx_t *)ctx;
    /* DONE waits for the writer: at most one ring of stream, which for a delta patch can be seconds of flash
     * writes. It gives up only when the writer stops making progress. */
    uint32_t waited = 0;
    uint32_t written = o->written;
    while (o->consumed != o->pushed && o->writer_err == BLE_OTA_OK && waited < FINISH_TIMEOUT_MS) {
        vTaskDelay(pdMS_TO_TICKS(FINISH_POLL_MS));
        waited = o->written != written ? 0 : waited + FINISH_POLL_MS;
        written = o->written;
    }
    if (o->writer_err != BLE_OTA_OK) {
        return o->writer_err;
    }
    if (o->consumed != o->pushed) {
        return BLE_OTA_ERR_FLASH; /* the writer is stuck on flash */
    }
    if (o->encoding == BLE_OTA_STREAM_DEFLATE && !o->inflate_done) {
        return BLE_OTA_ERR_INFLATE; /* the deflate stream stopped short */
    }
    if (o->encoding == BLE_OTA_STREAM_DELTA && ble_ota_delta_finish(o->delta) != BLE_OTA_OK) {
        return BLE_OTA_ERR_DELTA; /* the patch stopped short, or the image is not whole */
    }
    if (o->written == 0) {
        return BLE_OTA_ERR_NO_DATA;
    }
    /* Every byte is in flash: the ring and the writer are done; free them before the DONE task's stack. */
    release_writer(o);
    ble_ota_err_t err = ble_ota_run_done_job(o, hash_stored_image, sha256);
    release_image_sha(o);
    if (err != BLE_OTA_OK) {
        return err;
    }
    *image_len = o->written;
    return BLE_OTA_OK;
}
