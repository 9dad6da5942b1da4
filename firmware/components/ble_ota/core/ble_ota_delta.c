/*
 * BLE OTA delta patch applier. See include/ble_ota_delta.h for the contract
 * and docs/protocol.md ("Delta patches") for the format: a 16-byte header,
 * then a body coded with a binary adaptive range coder (12-bit probabilities
 * adapting by 1/32, normalised below 2^24, four bytes to start) holding blocks
 * of "copy from the base with adds", "insert bytes" and "move in the base".
 */
#include "ble_ota_delta.h"

#include <string.h>

#define PROB_BITS   12u
#define PROB_ONE    (1u << PROB_BITS)
#define ADAPT_SHIFT 5u
#define RANGE_TOP   (1u << 24)
#define INIT_BYTES  4u
#define MAX_BITS    32u

enum { NUM_COPY = 0, NUM_INSERT = 1, NUM_SEEK = 2, NUM_RUN = 3 };

/* Steps, in the order a block runs through them (DeltaApplier.Step in C#). */
enum {
    STEP_HEADER,
    STEP_START,
    STEP_COPY_LEN,
    STEP_ZERO_RUN,
    STEP_ZEROS,
    STEP_ADD,
    STEP_INSERT_LEN,
    STEP_LITERAL,
    STEP_END_OF_BLOCK,
    STEP_SEEK,
    STEP_DONE,
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static ble_ota_err_t fail(ble_ota_delta_t *d, ble_ota_err_t err)
{
    if (d->err == BLE_OTA_OK) {
        d->err = err;
    }
    return d->err;
}

/* ---- range decoder ---------------------------------------------------------- */

static uint32_t next_byte(ble_ota_delta_t *d)
{
    d->body_consumed++;
    if (d->stage_pos >= d->stage_end) {
        d->overrun = true; /* read past what the body holds: truncated or damaged */
        return 0;
    }
    return d->stage[d->stage_pos++];
}

static void normalize(ble_ota_delta_t *d)
{
    if (d->range < RANGE_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | next_byte(d);
    }
}

static unsigned decode_bit(ble_ota_delta_t *d, uint16_t *prob)
{
    uint32_t bound = (d->range >> PROB_BITS) * *prob;
    unsigned bit;
    if (d->code < bound) {
        d->range = bound;
        *prob = (uint16_t)(*prob + ((PROB_ONE - *prob) >> ADAPT_SHIFT));
        bit = 0;
    } else {
        d->code -= bound;
        d->range -= bound;
        *prob = (uint16_t)(*prob - (*prob >> ADAPT_SHIFT));
        bit = 1;
    }
    normalize(d);
    return bit;
}

static uint32_t decode_direct(ble_ota_delta_t *d, unsigned count)
{
    uint32_t value = 0;
    for (unsigned i = 0; i < count; i++) {
        d->range >>= 1;
        uint32_t bit = d->code >= d->range ? 1u : 0u;
        d->code -= d->range & (0u - bit);
        value = (value << 1) | bit;
        normalize(d);
    }
    return value;
}

static unsigned decode_tree(ble_ota_delta_t *d, uint16_t *probs, unsigned bits)
{
    unsigned node = 1;
    for (unsigned i = 0; i < bits; i++) {
        node = (node << 1) | decode_bit(d, &probs[node]);
    }
    return node - (1u << bits);
}

/* A number: the bit length of value + 1 from a 6-bit tree, then its lower bits at probability 1/2. */
static bool decode_number(ble_ota_delta_t *d, unsigned kind, uint32_t *out)
{
    unsigned bits = decode_tree(d, &d->numbers[kind * BLE_OTA_DELTA_NUMBER_TREE], 6);
    if (bits > MAX_BITS) {
        return false;
    }
    uint64_t v = ((uint64_t)1 << bits) | decode_direct(d, bits);
    if (v - 1 > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)(v - 1);
    return true;
}

/* ---- base and target -------------------------------------------------------- */

static uint8_t base_byte(ble_ota_delta_t *d)
{
    if (d->base_pos < d->window_start || d->base_pos >= d->window_start + d->window_len) {
        uint32_t left = d->base_limit - d->base_pos;
        d->window_start = d->base_pos;
        d->window_len = left < BLE_OTA_DELTA_BASE_WINDOW ? left : BLE_OTA_DELTA_BASE_WINDOW;
        ble_ota_err_t err = d->read_base(d->ctx, d->window_start, d->base_window, d->window_len);
        if (err != BLE_OTA_OK) {
            d->window_len = 0;
            fail(d, err);
            return 0;
        }
    }
    return d->base_window[d->base_pos++ - d->window_start];
}

static void flush(ble_ota_delta_t *d)
{
    if (d->out_fill > 0 && d->err == BLE_OTA_OK) {
        ble_ota_err_t err = d->write_target(d->ctx, d->out, d->out_fill);
        if (err != BLE_OTA_OK) {
            fail(d, err);
        }
        d->written += d->out_fill;
        d->out_fill = 0;
    }
}

static void emit(ble_ota_delta_t *d, uint8_t value)
{
    d->out[d->out_fill++] = value;
    d->previous = value;
    d->produced++;
    if (d->out_fill == BLE_OTA_DELTA_OUT_CHUNK) {
        flush(d);
    }
}

/* ---- steps ------------------------------------------------------------------ */

static void read_header(ble_ota_delta_t *d)
{
    const uint8_t *h = d->header;
    uint32_t base_size = get32(h + 4);
    d->target_size = get32(h + 8);
    d->body_size = get32(h + 12);
    if (h[0] != 'B' || h[1] != 'D' || h[2] != BLE_OTA_DELTA_VERSION || h[3] != 0 ||
        d->target_size != d->expected_target || base_size > d->base_limit || d->body_size < INIT_BYTES) {
        fail(d, BLE_OTA_ERR_DELTA);
        return;
    }
    d->step = STEP_START;
}

static void run_step(ble_ota_delta_t *d)
{
    uint32_t n = 0;
    switch (d->step) {
    case STEP_START:
        for (unsigned i = 0; i < INIT_BYTES; i++) {
            d->code = (d->code << 8) | next_byte(d);
        }
        d->step = STEP_COPY_LEN;
        break;
    case STEP_COPY_LEN:
        if (!decode_number(d, NUM_COPY, &n) || n > d->target_size - d->produced || n > d->base_limit - d->base_pos) {
            fail(d, BLE_OTA_ERR_DELTA);
            return;
        }
        d->copy_len = d->copy_left = n;
        d->step = n > 0 ? STEP_ZERO_RUN : STEP_INSERT_LEN;
        break;
    case STEP_ZERO_RUN:
        if (!decode_number(d, NUM_RUN, &n) || n > d->copy_left) {
            fail(d, BLE_OTA_ERR_DELTA);
            return;
        }
        d->zeros_left = n;
        d->step = STEP_ZEROS;
        break;
    case STEP_ZEROS:
        while (d->zeros_left > 0 && d->err == BLE_OTA_OK) {
            emit(d, base_byte(d));
            d->zeros_left--;
            d->copy_left--;
        }
        d->step = d->copy_left > 0 ? STEP_ADD : STEP_INSERT_LEN;
        break;
    case STEP_ADD: {
        unsigned add = decode_tree(d, &d->add[(d->produced & (BLE_OTA_DELTA_ADD_CONTEXTS - 1)) * 256u], 8);
        if (add == 0) {
            fail(d, BLE_OTA_ERR_DELTA); /* an add of 0 belongs in the run before it */
            return;
        }
        emit(d, (uint8_t)(base_byte(d) + add));
        d->copy_left--;
        d->step = d->copy_left > 0 ? STEP_ZERO_RUN : STEP_INSERT_LEN;
        break;
    }
    case STEP_INSERT_LEN:
        if (!decode_number(d, NUM_INSERT, &n) || n > d->target_size - d->produced || (n == 0 && d->copy_len == 0)) {
            fail(d, BLE_OTA_ERR_DELTA); /* too long, or a block that makes nothing */
            return;
        }
        d->insert_left = n;
        d->step = n > 0 ? STEP_LITERAL : STEP_END_OF_BLOCK;
        break;
    case STEP_LITERAL:
        emit(d, (uint8_t)decode_tree(d, &d->literal[(d->previous >> 5) * 256u], 8));
        d->step = --d->insert_left > 0 ? STEP_LITERAL : STEP_END_OF_BLOCK;
        break;
    case STEP_END_OF_BLOCK:
        d->step = d->produced == d->target_size ? STEP_DONE : STEP_SEEK;
        break;
    case STEP_SEEK: {
        if (!decode_number(d, NUM_SEEK, &n)) {
            fail(d, BLE_OTA_ERR_DELTA);
            return;
        }
        /* Zigzag: 0, 1, 2, 3, 4 ... are the moves 0, -1, 1, -2, 2 ... */
        int64_t to = (int64_t)d->base_pos + ((n & 1u) ? -(int64_t)(n >> 1) - 1 : (int64_t)(n >> 1));
        if (to < 0 || to > (int64_t)d->base_limit) {
            fail(d, BLE_OTA_ERR_DELTA);
            return;
        }
        d->base_pos = (uint32_t)to;
        d->step = STEP_COPY_LEN;
        break;
    }
    default:
        break;
    }
}

static bool needs_input(uint8_t step)
{
    return step != STEP_ZEROS && step != STEP_END_OF_BLOCK && step != STEP_DONE;
}

/* Runs steps while the input at hand is enough for the next one. */
static void run(ble_ota_delta_t *d)
{
    bool all_in = d->body_received == d->body_size;
    while (d->err == BLE_OTA_OK && d->step != STEP_DONE) {
        if (needs_input(d->step) && !all_in && (uint32_t)(d->stage_end - d->stage_pos) < BLE_OTA_DELTA_STEP_MARGIN) {
            return;
        }
        run_step(d);
        if (d->overrun || d->code >= d->range) {
            fail(d, BLE_OTA_ERR_DELTA); /* the body ended early, or holds bytes no encoder wrote */
        }
    }
    if (d->step == STEP_DONE && d->err == BLE_OTA_OK) {
        if (d->body_consumed != d->body_size) {
            fail(d, BLE_OTA_ERR_DELTA); /* a well-formed body is read to its last byte by its last step */
            return;
        }
        flush(d);
    }
}

/* ---- API -------------------------------------------------------------------- */

void ble_ota_delta_init(ble_ota_delta_t *d, uint32_t expected_target, uint32_t base_limit,
                        ble_ota_delta_read_fn read_base, ble_ota_delta_write_fn write_target, void *ctx)
{
    memset(d, 0, offsetof(ble_ota_delta_t, literal));
    d->read_base = read_base;
    d->write_target = write_target;
    d->ctx = ctx;
    d->expected_target = expected_target;
    d->base_limit = base_limit;
    d->range = UINT32_MAX;
    d->step = STEP_HEADER;
    for (size_t i = 0; i < sizeof(d->literal) / sizeof(d->literal[0]); i++) {
        d->literal[i] = (uint16_t)(PROB_ONE / 2);
    }
    for (size_t i = 0; i < sizeof(d->add) / sizeof(d->add[0]); i++) {
        d->add[i] = (uint16_t)(PROB_ONE / 2);
    }
    for (size_t i = 0; i < sizeof(d->numbers) / sizeof(d->numbers[0]); i++) {
        d->numbers[i] = (uint16_t)(PROB_ONE / 2);
    }
}

ble_ota_err_t ble_ota_delta_feed(ble_ota_delta_t *d, const uint8_t *data, size_t len)
{
    while (d->err == BLE_OTA_OK) {
        if (d->step == STEP_HEADER) {
            size_t take = BLE_OTA_DELTA_HEADER_LEN - d->header_fill;
            take = take < len ? take : len;
            memcpy(d->header + d->header_fill, data, take);
            d->header_fill = (uint8_t)(d->header_fill + take);
            data += take;
            len -= take;
            if (d->header_fill < BLE_OTA_DELTA_HEADER_LEN) {
                return d->err;
            }
            read_header(d);
            continue;
        }
        if ((uint64_t)d->body_received + len > d->body_size) {
            return fail(d, BLE_OTA_ERR_DELTA); /* bytes after the end of the body */
        }
        /* Top up the stage: keep what is left of it, then copy in as much as fits. */
        uint16_t left = (uint16_t)(d->stage_end - d->stage_pos);
        memmove(d->stage, d->stage + d->stage_pos, left);
        size_t add = BLE_OTA_DELTA_STAGE_LEN - left;
        add = add < len ? add : len;
        if (add > 0) {
            memcpy(d->stage + left, data, add);
        }
        data += add;
        len -= add;
        d->body_received += (uint32_t)add;
        d->stage_pos = 0;
        d->stage_end = (uint16_t)(left + add);
        run(d);
        if (len == 0) {
            return d->err;
        }
    }
    return d->err;
}

ble_ota_err_t ble_ota_delta_finish(ble_ota_delta_t *d)
{
    if (d->err != BLE_OTA_OK) {
        return d->err;
    }
    return d->step == STEP_DONE ? BLE_OTA_OK : fail(d, BLE_OTA_ERR_DELTA);
}

uint32_t ble_ota_delta_written(const ble_ota_delta_t *d)
{
    return d->written;
}
