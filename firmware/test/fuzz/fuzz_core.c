/*
 * Hostile input at the firmware: a byte string is read as a sequence of
 * central actions (connect, writes of any length and content, reads,
 * disconnects, restarts, flash faults, delta REQUESTs against the running
 * image or another base, their patches whole, damaged or out of order)
 * against the protocol core on the host device. Afterwards the device must
 * boot, the flash must never have been written unerased, and a clean update
 * and then a clean delta update must succeed.
 *
 * Built two ways: as a libFuzzer target (clang -fsanitize=fuzzer,address,
 * undefined; `build.ps1 Fuzz`) and, with BO_FUZZ_RANDOM, as a seeded random
 * harness that any compiler with ASan/UBSan builds (CTest runs it bounded).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ble_ota_host.h"
#include "ble_ota_proto.h"
#include "bo_delta_writer.h"
#include "bo_image.h"
#include "bo_sha256.h"

#define PARTITION (64u * 1024u)
#define MAX_LIVE  4

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} reader_t;

static uint8_t next8(reader_t *r)
{
    return r->pos < r->size ? r->data[r->pos++] : 0;
}

static uint16_t next16(reader_t *r)
{
    uint16_t lo = next8(r);
    return (uint16_t)(lo | ((uint16_t)next8(r) << 8));
}

static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_core: invariant broken: %s\n", what);
        abort();
    }
}

/* A handle from the live list, or a stale/invalid one now and then. */
static int32_t pick_conn(reader_t *r, const int32_t *live)
{
    uint8_t b = next8(r);
    return (b & 0x80) ? (int32_t)(b & 0x7F) - 8 : live[b % MAX_LIVE];
}

/* The v1 sequence a correct client sends; true when the device took the image. */
static int clean_update(bo_host_t *h, const uint8_t *img, size_t len)
{
    int32_t c = bo_host_connect(h, 247);
    require(c > 0, "a central can connect after the fuzzed sequence");
    require(bo_host_subscribe(h, c, 1) == 1, "subscribe");
    uint8_t size[2] = {244, 0};
    uint8_t op = BLE_OTA_OP_REQUEST, note[8];
    require(bo_host_write(h, c, BO_HOST_CHAR_DATA, size, 2) == 0, "packet size accepted");
    require(bo_host_write(h, c, BO_HOST_CHAR_CONTROL, &op, 1) == 0, "REQUEST accepted");
    require(bo_host_take_notification(h, NULL, note, sizeof(note)) == 1 && note[0] == BLE_OTA_OP_REQUEST_ACK, "REQUEST_ACK");
    for (size_t off = 0; off < len; off += 244) {
        size_t n = len - off < 244 ? len - off : 244;
        require(bo_host_write(h, c, BO_HOST_CHAR_DATA, img + off, (uint32_t)n) == 0, "image chunk accepted");
    }
    op = BLE_OTA_OP_DONE;
    require(bo_host_write(h, c, BO_HOST_CHAR_CONTROL, &op, 1) == 0, "DONE accepted");
    return bo_host_take_notification(h, NULL, note, sizeof(note)) == 1 && note[0] == BLE_OTA_OP_DONE_ACK;
}

/* A v2 delta REQUEST for `target` from the running image: its patch goes to *patch; base_ok false names another base. */
static size_t delta_request(bo_host_t *h, int32_t c, const uint8_t *target, size_t target_len, int base_ok,
                            uint8_t *patch, size_t cap)
{
    static uint8_t running[PARTITION];
    int32_t n = bo_host_read_running_image(h, running, sizeof(running));
    if (n <= 0) {
        return 0;
    }
    size_t len = bo_delta_write_simple(running, (size_t)n, target, target_len, patch, cap);
    uint8_t req[BLE_OTA_V2_REQUEST_DELTA_LEN] = {BLE_OTA_OP_REQUEST, BLE_OTA_V2, BLE_OTA_V2_FLAG_DELTA};
    for (int i = 0; i < 4; i++) {
        req[BLE_OTA_V2_REQ_OFF_IMAGE_SIZE + i] = (uint8_t)(target_len >> (8 * i));
        req[BLE_OTA_V2_REQ_OFF_STREAM_SIZE + i] = (uint8_t)(len >> (8 * i));
    }
    bo_sha256(target, target_len, req + BLE_OTA_V2_REQ_OFF_SHA256);
    bo_sha256(running, (size_t)n, req + BLE_OTA_V2_REQ_OFF_BASE_SHA256);
    req[BLE_OTA_V2_REQ_OFF_BASE_SHA256] ^= (uint8_t)!base_ok;
    (void)bo_host_write(h, c, BO_HOST_CHAR_CONTROL, req, sizeof(req));
    return len;
}

/* Patch bytes [off, off + n) as one v2 data packet. */
static void delta_packet(bo_host_t *h, int32_t c, const uint8_t *patch, uint32_t off, uint32_t n)
{
    uint8_t p[4 + 240];
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(off >> (8 * i));
    }
    memcpy(p + 4, patch + off, n);
    (void)bo_host_write(h, c, BO_HOST_CHAR_DATA, p, 4 + n);
}

/* A well-behaved delta update from the running image to target; true when the device took it. */
static int clean_delta_update(bo_host_t *h, const uint8_t *target, size_t target_len)
{
    static uint8_t patch[4096];
    uint8_t note[8];
    int32_t c = bo_host_connect(h, 247);
    require(c > 0 && bo_host_subscribe(h, c, 1) == 1, "connect for the delta update");
    size_t len = delta_request(h, c, target, target_len, 1, patch, sizeof(patch));
    require(len > 0 && bo_host_take_notification(h, NULL, note, sizeof(note)) == 8 && note[0] == BLE_OTA_OP_REQUEST_ACK,
            "delta REQUEST_ACK");
    for (uint32_t off = 0; off < len; off += 240) {
        delta_packet(h, c, patch, off, (uint32_t)(len - off < 240 ? len - off : 240));
    }
    uint8_t done[2] = {BLE_OTA_OP_DONE, BLE_OTA_V2};
    require(bo_host_write(h, c, BO_HOST_CHAR_CONTROL, done, 2) == 0, "DONE accepted");
    int ok = 0;
    while (bo_host_take_notification(h, NULL, note, sizeof(note)) == 8) {
        ok = note[0] == BLE_OTA_OP_DONE_ACK;
    }
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t image[512], delta_image[512], patch[4096];
    static size_t image_len, delta_image_len;
    if (image_len == 0) {
        image_len = bo_image_build_minimal(image, sizeof(image), "fuzz-ok", "fuzz", "v5.3.2");
        delta_image_len = bo_image_build_minimal(delta_image, sizeof(delta_image), "fuzz-delta", "fuzz", "v5.3.2");
    }
    size_t patch_len = 0;
    uint32_t patch_off = 0;
    bo_host_t *h = bo_host_create(PARTITION);
    require(h != NULL, "create");
    reader_t r = {data, size, 0};
    int32_t live[MAX_LIVE] = {0};
    uint8_t buf[600];
    size_t image_off = 0;

    while (r.pos < r.size) {
        uint8_t op = next8(&r);
        int32_t c = pick_conn(&r, live);
        int32_t state_before = bo_host_state(h);
        switch (op % 16) {
        case 0:
            live[next8(&r) % MAX_LIVE] = bo_host_connect(h, (uint16_t)(23 + next16(&r) % 495));
            break;
        case 1:
            (void)bo_host_disconnect(h, c);
            break;
        case 2:
            (void)bo_host_subscribe(h, c, next8(&r) & 1);
            break;
        case 3:
        case 4: {
            /* Mostly the lengths and values the protocol uses, so random inputs get past the first checks. */
            uint8_t shape = next8(&r);
            uint32_t len = op % 16 == 3 ? (shape & 1 ? 1u : next8(&r) % 3u)
                                        : (shape & 1 ? 2u : next16(&r) % 530u);
            for (uint32_t i = 0; i < len; i++) {
                buf[i] = next8(&r);
            }
            if (shape & 2 && len >= 1) {
                buf[0] %= op % 16 == 3 ? 8 : 2; /* an opcode, or a small packet size */
            }
            (void)bo_host_write(h, c, op % 16 == 3 ? BO_HOST_CHAR_CONTROL : BO_HOST_CHAR_DATA, buf, len);
            break;
        }
        case 5: {
            /* Pieces of a real image (or all the rest of it), so the core gets deep into an update and to DONE. */
            uint32_t len = 1 + next16(&r) % 300;
            int rest = next8(&r) & 1;
            do {
                if (image_off >= image_len) {
                    image_off = 0;
                }
                if (rest || len > image_len - image_off) {
                    len = (uint32_t)(image_len - image_off < 200 ? image_len - image_off : 200);
                }
                (void)bo_host_write(h, c, BO_HOST_CHAR_DATA, image + image_off, len);
                image_off += len;
            } while (rest && image_off < image_len);
            break;
        }
        case 6:
            (void)bo_host_read(h, c, next8(&r) % 4, buf, next8(&r) % 2 ? sizeof(buf) : next8(&r) % 4);
            break;
        case 7:
            (void)bo_host_take_notification(h, NULL, buf, next8(&r) % 4);
            break;
        case 8:
            (void)bo_host_reboot(h);
            memset(live, 0, sizeof(live));
            break;
        case 9:
            (void)bo_host_set_mtu(h, c, next16(&r));
            break;
        case 10:
            switch (next8(&r) % 6) {
            case 0: (void)bo_host_fail_write_at(h, (int64_t)next16(&r) * 4); break;
            case 4: (void)bo_host_fail_base_read_at(h, (int64_t)next16(&r) % 1024); break;
            case 1: (void)bo_host_fail_erase_at(h, (int64_t)next16(&r) * 4); break;
            case 2: (void)bo_host_fail_begin(h, 1); break;
            case 3: (void)bo_host_fail_set_boot(h, 1); break;
            default: (void)bo_host_set_self_test_result(h, next8(&r) & 1); break;
            }
            break;
        case 11:
            (void)bo_host_set_max_packet_size(h, next16(&r) % 600);
            break;
        case 12:
            (void)bo_host_advance_ms(h, next16(&r));
            break;
        case 14: {
            /* A delta REQUEST against the running image (now and then another base), its patch damaged now and then. */
            uint8_t how = next8(&r);
            patch_len = delta_request(h, c, (how & 4) ? delta_image : image, (how & 4) ? delta_image_len : image_len,
                                      (how & 3) != 0, patch, sizeof(patch));
            if ((how & 8) && patch_len > 0) {
                patch[next16(&r) % patch_len] ^= (uint8_t)(1u << (next8(&r) % 8));
            }
            patch_off = 0;
            break;
        }
        case 15: {
            /* The patch's next packets, or from anywhere in it, then DONE now and then. */
            for (int k = 1 + next8(&r) % 8; k > 0 && patch_len > 0; k--) {
                uint32_t off = (next8(&r) & 3) == 0 ? next16(&r) % (uint32_t)patch_len : patch_off % (uint32_t)patch_len;
                uint32_t n = 1 + next8(&r) % 240;
                n = n < patch_len - off ? n : (uint32_t)(patch_len - off);
                delta_packet(h, c, patch, off, n);
                patch_off = off + n;
            }
            if (next8(&r) & 1) {
                uint8_t done[2] = {BLE_OTA_OP_DONE, BLE_OTA_V2};
                (void)bo_host_write(h, c, BO_HOST_CHAR_CONTROL, done, 2);
            }
            break;
        }
        default: {
            /* A well-behaved client's whole update on c, 20-byte packets (fit any MTU), in the middle of the chaos. */
            uint8_t request = BLE_OTA_OP_REQUEST, done = BLE_OTA_OP_DONE;
            (void)bo_host_write(h, c, BO_HOST_CHAR_CONTROL, &request, 1);
            for (size_t off = 0; off < image_len; off += 20) {
                (void)bo_host_write(h, c, BO_HOST_CHAR_DATA, image + off, (uint32_t)(image_len - off < 20 ? image_len - off : 20));
            }
            (void)bo_host_write(h, c, BO_HOST_CHAR_CONTROL, &done, 1);
            break;
        }
        }
        if (state_before != BO_HOST_STATE_RECEIVING && bo_host_state(h) == BO_HOST_STATE_RECEIVING) {
            image_off = 0; /* a new update starts at the image's first byte */
        }
    }

    /* Power cycle: whatever happened, a whole image boots and the device takes a clean update. */
    require(bo_host_reboot(h) >= 0, "the device boots after the fuzzed sequence");
    require(bo_host_nor_violations(h) == 0, "no write to unerased flash");
    (void)bo_host_fail_write_at(h, -1);
    (void)bo_host_fail_erase_at(h, -1);
    (void)bo_host_fail_base_read_at(h, -1);
    (void)bo_host_fail_begin(h, 0);
    (void)bo_host_fail_set_boot(h, 0);
    (void)bo_host_set_self_test_result(h, 1);
    (void)bo_host_set_max_packet_size(h, 512);
    require(clean_update(h, image, image_len), "a clean update is accepted");
    require(bo_host_reboot(h) >= 0, "the new image boots");
    char version[40];
    require(bo_host_running_version(h, version, sizeof(version)) > 0 && strcmp(version, "fuzz-ok") == 0, "the new image runs");
    require(clean_delta_update(h, delta_image, delta_image_len), "a clean delta update is accepted");
    require(bo_host_reboot(h) >= 0, "the patched image boots");
    require(bo_host_running_version(h, version, sizeof(version)) > 0 && strcmp(version, "fuzz-delta") == 0,
            "the patched image runs");
    bo_host_destroy(h);
    return 0;
}

#ifdef BO_FUZZ_RANDOM
/* Seeded random inputs: fuzz_core_random [iterations [seed]]. Same seed, same inputs. */
int main(int argc, char **argv)
{
    unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    uint64_t state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    static uint8_t input[4096];
    for (unsigned long i = 0; i < iterations; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (size_t)(state >> 33) % sizeof(input);
        for (size_t j = 0; j < len; j++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            input[j] = (uint8_t)(state >> 56);
        }
        LLVMFuzzerTestOneInput(input, len);
    }
    printf("fuzz_core: %lu random inputs from seed %s, no invariant broken\n", iterations, argc > 2 ? argv[2] : "1");
    return 0;
}
#endif
