#include "bo_delta_writer.h"

#include <string.h>

#define PROB_BITS   12u
#define PROB_ONE    (1u << PROB_BITS)
#define ADAPT_SHIFT 5u
#define HEADER_LEN  16u

typedef struct {
    uint8_t *out;
    size_t cap, len;
    int overflow;
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t pending;
    int skip_first;
    uint16_t literal[8 * 256];
    uint16_t add[4 * 256];
    uint16_t numbers[4 * 64];
} writer_t;

static void put(writer_t *w, uint8_t b)
{
    if (w->skip_first) {
        w->skip_first = 0; /* the first byte is always 0 and the format leaves it out */
        return;
    }
    if (w->len >= w->cap) {
        w->overflow = 1;
        return;
    }
    w->out[w->len++] = b;
}

/* Emits the top byte of low, holding it back (with any 0xFF after it) while a carry could still change it. */
static void shift_low(writer_t *w)
{
    if (w->low < 0xFF000000u || w->low >= 0x100000000ull) {
        uint8_t carry = (uint8_t)(w->low >> 32);
        put(w, (uint8_t)(w->cache + carry));
        for (; w->pending > 1; w->pending--) {
            put(w, (uint8_t)(0xFF + carry));
        }
        w->pending = 0;
        w->cache = (uint8_t)(w->low >> 24);
    }
    w->pending++;
    w->low = (w->low & 0x00FFFFFFu) << 8;
}

static void normalize(writer_t *w)
{
    if (w->range < (1u << 24)) {
        w->range <<= 8;
        shift_low(w);
    }
}

static void bit(writer_t *w, uint16_t *p, unsigned b)
{
    uint32_t bound = (w->range >> PROB_BITS) * *p;
    if (b == 0) {
        w->range = bound;
        *p = (uint16_t)(*p + ((PROB_ONE - *p) >> ADAPT_SHIFT));
    } else {
        w->low += bound;
        w->range -= bound;
        *p = (uint16_t)(*p - (*p >> ADAPT_SHIFT));
    }
    normalize(w);
}

static void direct(writer_t *w, uint32_t value, unsigned count)
{
    while (count-- > 0) {
        w->range >>= 1;
        if ((value >> count) & 1u) {
            w->low += w->range;
        }
        normalize(w);
    }
}

static void tree(writer_t *w, uint16_t *probs, unsigned bits, unsigned value)
{
    unsigned node = 1;
    while (bits-- > 0) {
        unsigned b = (value >> bits) & 1u;
        bit(w, &probs[node], b);
        node = (node << 1) | b;
    }
}

static void number(writer_t *w, unsigned kind, uint32_t value)
{
    uint64_t v = (uint64_t)value + 1;
    unsigned bits = 0;
    while ((v >> (bits + 1)) != 0) {
        bits++;
    }
    tree(w, &w->numbers[kind * 64], 6, bits);
    direct(w, (uint32_t)v, bits);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

size_t bo_delta_write(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                      const bo_delta_block_t *blocks, size_t n_blocks, uint8_t *out, size_t cap)
{
    static writer_t w; /* 6.5 KB of models: not on the stack of a fuzzer */
    if (cap < HEADER_LEN) {
        return 0;
    }
    memset(&w, 0, sizeof(w));
    w.out = out + HEADER_LEN;
    w.cap = cap - HEADER_LEN;
    w.range = 0xFFFFFFFFu;
    w.pending = 1;
    w.skip_first = 1;
    for (size_t i = 0; i < sizeof(w.literal) / 2; i++) w.literal[i] = PROB_ONE / 2;
    for (size_t i = 0; i < sizeof(w.add) / 2; i++) w.add[i] = PROB_ONE / 2;
    for (size_t i = 0; i < sizeof(w.numbers) / 2; i++) w.numbers[i] = PROB_ONE / 2;

    size_t t = 0;
    int64_t b = 0;
    for (size_t k = 0; k < n_blocks; k++) {
        const bo_delta_block_t *blk = &blocks[k];
        if (t + blk->copy_len + blk->insert_len > target_len || b < 0 || (uint64_t)b + blk->copy_len > base_len) {
            return 0;
        }
        number(&w, 0, blk->copy_len);
        uint32_t i = 0;
        while (i < blk->copy_len) {
            uint32_t run = 0;
            while (i + run < blk->copy_len && base[b + i + run] == target[t + i + run]) {
                run++;
            }
            number(&w, 3, run);
            i += run;
            if (i == blk->copy_len) {
                break;
            }
            tree(&w, &w.add[((t + i) & 3u) * 256], 8, (uint8_t)(target[t + i] - base[b + i]));
            i++;
        }
        t += blk->copy_len;
        b += blk->copy_len;
        number(&w, 1, blk->insert_len);
        for (uint32_t j = 0; j < blk->insert_len; j++, t++) {
            tree(&w, &w.literal[(t == 0 ? 0 : target[t - 1] >> 5) * 256], 8, target[t]);
        }
        if (t < target_len) {
            int32_t s = blk->seek;
            number(&w, 2, (uint32_t)(((uint32_t)s << 1) ^ (uint32_t)(s >> 31)));
            b += s;
        }
    }
    if (t != target_len) {
        return 0;
    }
    for (int i = 0; i < 5; i++) {
        shift_low(&w);
    }
    if (w.overflow) {
        return 0;
    }
    out[0] = 'B';
    out[1] = 'D';
    out[2] = 1;
    out[3] = 0;
    put32(out + 4, (uint32_t)base_len);
    put32(out + 8, (uint32_t)target_len);
    put32(out + 12, (uint32_t)w.len);
    return HEADER_LEN + w.len;
}

size_t bo_delta_write_simple(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                             uint8_t *out, size_t cap)
{
    bo_delta_block_t block = {
        (uint32_t)(base_len < target_len ? base_len : target_len),
        (uint32_t)(target_len - (base_len < target_len ? base_len : target_len)),
        0,
    };
    return bo_delta_write(base, base_len, target, target_len, &block, 1, out, cap);
}
