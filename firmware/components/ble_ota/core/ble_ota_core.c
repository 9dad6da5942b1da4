/*
 * BLE OTA protocol core, v1 and v2. See ble_ota_core.h for the contract and
 * firmware/README.md for the per-case behaviour on bad input.
 */
#include "ble_ota_core.h"

#include <string.h>

#define ATT_DEFAULT_MTU 23u

/* ---- error names and ATT mapping ------------------------------------------ */

const char *ble_ota_err_name(ble_ota_err_t err)
{
    switch (err) {
    case BLE_OTA_OK:                    return "BLE_OTA_OK";
    case BLE_OTA_ERR_INVALID_ARG:       return "BLE_OTA_ERR_INVALID_ARG";
    case BLE_OTA_ERR_INVALID_STATE:     return "BLE_OTA_ERR_INVALID_STATE";
    case BLE_OTA_ERR_INVALID_LEN:       return "BLE_OTA_ERR_INVALID_LEN";
    case BLE_OTA_ERR_VALUE_NOT_ALLOWED: return "BLE_OTA_ERR_VALUE_NOT_ALLOWED";
    case BLE_OTA_ERR_UNKNOWN_OPCODE:    return "BLE_OTA_ERR_UNKNOWN_OPCODE";
    case BLE_OTA_ERR_BUSY:              return "BLE_OTA_ERR_BUSY";
    case BLE_OTA_ERR_NO_MEM:            return "BLE_OTA_ERR_NO_MEM";
    case BLE_OTA_ERR_NO_PARTITION:      return "BLE_OTA_ERR_NO_PARTITION";
    case BLE_OTA_ERR_FLASH:             return "BLE_OTA_ERR_FLASH";
    case BLE_OTA_ERR_IMAGE_TOO_LARGE:   return "BLE_OTA_ERR_IMAGE_TOO_LARGE";
    case BLE_OTA_ERR_NO_DATA:           return "BLE_OTA_ERR_NO_DATA";
    case BLE_OTA_ERR_IMAGE_INVALID:     return "BLE_OTA_ERR_IMAGE_INVALID";
    case BLE_OTA_ERR_SET_BOOT:          return "BLE_OTA_ERR_SET_BOOT";
    case BLE_OTA_ERR_DISCONNECTED:      return "BLE_OTA_ERR_DISCONNECTED";
    case BLE_OTA_ERR_NOTIFY:            return "BLE_OTA_ERR_NOTIFY";
    case BLE_OTA_ERR_INSUFFICIENT_ENC:  return "BLE_OTA_ERR_INSUFFICIENT_ENC";
    case BLE_OTA_ERR_NOT_APP:           return "BLE_OTA_ERR_NOT_APP";
    case BLE_OTA_ERR_WRONG_CHIP:        return "BLE_OTA_ERR_WRONG_CHIP";
    case BLE_OTA_ERR_INTERNAL:          return "BLE_OTA_ERR_INTERNAL";
    case BLE_OTA_ERR_OFFSET:            return "BLE_OTA_ERR_OFFSET";
    case BLE_OTA_ERR_RING_FULL:         return "BLE_OTA_ERR_RING_FULL";
    case BLE_OTA_ERR_SHA_MISMATCH:      return "BLE_OTA_ERR_SHA_MISMATCH";
    case BLE_OTA_ERR_SIZE_MISMATCH:     return "BLE_OTA_ERR_SIZE_MISMATCH";
    case BLE_OTA_ERR_INFLATE:           return "BLE_OTA_ERR_INFLATE";
    case BLE_OTA_ERR_UNSUPPORTED:       return "BLE_OTA_ERR_UNSUPPORTED";
    case BLE_OTA_ERR_ABORTED:           return "BLE_OTA_ERR_ABORTED";
    case BLE_OTA_ERR_BASE_MISMATCH:     return "BLE_OTA_ERR_BASE_MISMATCH";
    case BLE_OTA_ERR_DELTA:             return "BLE_OTA_ERR_DELTA";
    }
    return "BLE_OTA_ERR_?";
}

uint8_t ble_ota_err_to_att(ble_ota_err_t err)
{
    switch (err) {
    case BLE_OTA_OK:                    return BLE_OTA_ATT_OK;
    case BLE_OTA_ERR_INVALID_LEN:       return BLE_OTA_ATT_ERR_INVALID_ATTR_LEN;
    case BLE_OTA_ERR_VALUE_NOT_ALLOWED: return BLE_OTA_ATT_ERR_VALUE_NOT_ALLOWED;
    case BLE_OTA_ERR_INVALID_STATE:     return BLE_OTA_ATT_ERR_INVALID_STATE;
    case BLE_OTA_ERR_NO_DATA:           return BLE_OTA_ATT_ERR_INVALID_STATE;
    case BLE_OTA_ERR_UNKNOWN_OPCODE:    return BLE_OTA_ATT_ERR_UNKNOWN_OPCODE;
    case BLE_OTA_ERR_BUSY:              return BLE_OTA_ATT_ERR_BUSY;
    case BLE_OTA_ERR_NO_MEM:            return BLE_OTA_ATT_ERR_INSUFFICIENT_RES;
    case BLE_OTA_ERR_FLASH:             return BLE_OTA_ATT_ERR_FLASH;
    case BLE_OTA_ERR_IMAGE_TOO_LARGE:   return BLE_OTA_ATT_ERR_IMAGE_TOO_LARGE;
    case BLE_OTA_ERR_IMAGE_INVALID:     return BLE_OTA_ATT_ERR_IMAGE_INVALID;
    case BLE_OTA_ERR_INSUFFICIENT_ENC:  return BLE_OTA_ATT_ERR_INSUFFICIENT_ENC;
    default:                            return BLE_OTA_ATT_ERR_UNLIKELY;
    }
}

const char *ble_ota_state_name(ble_ota_state_t state)
{
    switch (state) {
    case BLE_OTA_STATE_IDLE:       return "IDLE";
    case BLE_OTA_STATE_RECEIVING:  return "RECEIVING";
    case BLE_OTA_STATE_RESTARTING: return "RESTARTING";
    }
    return "?";
}

ble_ota_core_config_t ble_ota_core_config_default(void)
{
    ble_ota_core_config_t cfg;
    cfg.max_packet_size = (uint16_t)BLE_OTA_ATT_MAX_ATTR_LEN;
    cfg.restart_delay_ms = 500;
    cfg.progress_interval_ms = 250;
    cfg.window = 16;
    cfg.compression = false;
    cfg.require_encryption = false;
    return cfg;
}

/* ---- little-endian fields ------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool has_v2(const ble_ota_core_t *core)
{
    return core->port->stream_begin != NULL;
}

/* What the device says about itself; false when the port cannot say (no device_info, or it failed). */
static bool device_info(ble_ota_core_t *core, ble_ota_device_info_t *out)
{
    memset(out, 0, sizeof(*out));
    return core->port->device_info != NULL && core->port->device_info(core->ctx, out) == BLE_OTA_OK;
}

/* Delta patches need v2, a way to read the base and a running image whose length and SHA-256 are known. */
static bool offers_delta(const ble_ota_device_info_t *dev, const ble_ota_core_t *core)
{
    return has_v2(core) && core->port->base_read != NULL && dev->image_len > 0;
}

/* ---- connection table ----------------------------------------------------- */

static ble_ota_core_conn_t *conn_find(ble_ota_core_t *core, uint16_t handle)
{
    for (size_t i = 0; i < BLE_OTA_CORE_MAX_CONNS; i++) {
        if (core->conns[i].used && core->conns[i].handle == handle) {
            return &core->conns[i];
        }
    }
    return NULL;
}

/* Finds conn or adds it (a write can arrive for a connection whose connect
 * event the port did not report). NULL only when the table is full. */
static ble_ota_core_conn_t *conn_get(ble_ota_core_t *core, uint16_t handle)
{
    ble_ota_core_conn_t *c = conn_find(core, handle);
    if (c != NULL) {
        return c;
    }
    for (size_t i = 0; i < BLE_OTA_CORE_MAX_CONNS; i++) {
        if (!core->conns[i].used) {
            c = &core->conns[i];
            c->used = true;
            c->handle = handle;
            c->mtu = ATT_DEFAULT_MTU;
            c->packet_size = 0;
            c->encrypted = false;
            return c;
        }
    }
    return NULL;
}

static uint16_t packet_size_for(const ble_ota_core_t *core, const ble_ota_core_conn_t *c)
{
    if (c != NULL && c->packet_size != 0) {
        return c->packet_size;
    }
    uint16_t mtu = (c != NULL) ? c->mtu : ATT_DEFAULT_MTU;
    uint32_t from_mtu = (mtu > BLE_OTA_ATT_WRITE_OVERHEAD) ? (uint32_t)mtu - BLE_OTA_ATT_WRITE_OVERHEAD : 0u;
    return (uint16_t)(from_mtu < core->cfg.max_packet_size ? from_mtu : core->cfg.max_packet_size);
}

/* ---- helpers -------------------------------------------------------------- */

static void emit(ble_ota_core_t *core, ble_ota_core_event_type_t type, ble_ota_err_t result)
{
    if (core->port->on_event == NULL) {
        return;
    }
    ble_ota_core_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.conn = core->owner;
    ev.bytes = core->received;
    ev.packets = core->packets;
    ev.capacity = core->capacity;
    ev.elapsed_ms = core->port->now_ms(core->ctx) - core->started_ms;
    ev.result = result;
    core->port->on_event(core->ctx, &ev);
}

/* Sets the Control value and notifies it to conn. A failed notification is
 * remembered but changes nothing else: the client will time out and
 * disconnect, which aborts cleanly. */
static void send_control(ble_ota_core_t *core, uint16_t conn, uint8_t value)
{
    core->control_value = value;
    if (core->port->notify(core->ctx, conn, &value, 1) != BLE_OTA_OK) {
        core->last_err = BLE_OTA_ERR_NOTIFY;
    }
}

/* v2: every notification is opcode, error, window, offset (8 bytes). */
static void send_v2(ble_ota_core_t *core, uint16_t conn, uint8_t opcode, ble_ota_err_t err, uint32_t offset)
{
    uint8_t msg[BLE_OTA_V2_NOTIFY_LEN];
    msg[0] = opcode;
    msg[1] = (uint8_t)err;
    put16(msg + 2, core->cfg.window);
    put32(msg + 4, offset);
    core->control_value = opcode;
    if (core->port->notify(core->ctx, conn, msg, sizeof(msg)) != BLE_OTA_OK) {
        core->last_err = BLE_OTA_ERR_NOTIFY;
    }
}

/* Ends the running update without touching the boot slot. A refused v1 image
 * already released its slot and reported why: only the state goes. */
static void session_abort(ble_ota_core_t *core, ble_ota_err_t why)
{
    if (core->state != BLE_OTA_STATE_RECEIVING) {
        return;
    }
    if (!core->rejected) {
        core->port->flash_abort(core->ctx);
        core->last_err = why;
        emit(core, BLE_OTA_CORE_EV_FINISHED, why);
    }
    core->rejected = false;
    core->state = BLE_OTA_STATE_IDLE;
    core->owner = BLE_OTA_CONN_NONE;
    core->received = 0;
    core->packets = 0;
    core->capacity = 0;
    core->expected = 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

ble_ota_err_t ble_ota_core_init(ble_ota_core_t *core, const ble_ota_core_config_t *cfg,
                                const ble_ota_port_t *port, void *ctx)
{
    if (core == NULL || port == NULL || port->flash_begin == NULL || port->flash_write == NULL ||
        port->flash_end == NULL || port->flash_abort == NULL || port->notify == NULL ||
        port->schedule_restart == NULL || port->now_ms == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    ble_ota_core_config_t c = (cfg != NULL) ? *cfg : ble_ota_core_config_default();
    if (c.max_packet_size == 0 || c.max_packet_size > BLE_OTA_ATT_MAX_ATTR_LEN) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    int v2_hooks = (port->stream_begin != NULL) + (port->stream_push != NULL) + (port->stream_finish != NULL);
    if (v2_hooks != 0 && v2_hooks != 3) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    if (c.window == 0 || c.window > 255 ||
        (v2_hooks == 3 && c.max_packet_size <= BLE_OTA_V2_DATA_HEADER_LEN)) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    memset(core, 0, sizeof(*core));
    core->cfg = c;
    core->port = port;
    core->ctx = ctx;
    core->state = BLE_OTA_STATE_IDLE;
    core->control_value = BLE_OTA_OP_NOP;
    core->owner = BLE_OTA_CONN_NONE;
    core->last_err = BLE_OTA_OK;
    core->protocol = 1;
    return BLE_OTA_OK;
}

void ble_ota_core_deinit(ble_ota_core_t *core)
{
    if (core == NULL || core->port == NULL) {
        return;
    }
    session_abort(core, BLE_OTA_ERR_INVALID_STATE);
    memset(core->conns, 0, sizeof(core->conns));
}

/* ---- connection events ---------------------------------------------------- */

void ble_ota_core_on_connect(ble_ota_core_t *core, uint16_t conn, uint16_t mtu)
{
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c != NULL) {
        /* A reused handle is a new connection: forget the old packet size. */
        c->mtu = mtu != 0 ? mtu : ATT_DEFAULT_MTU;
        c->packet_size = 0;
        c->encrypted = false;
    }
}

void ble_ota_core_on_mtu(ble_ota_core_t *core, uint16_t conn, uint16_t mtu)
{
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c != NULL && mtu != 0) {
        c->mtu = mtu;
    }
}

void ble_ota_core_on_encryption_change(ble_ota_core_t *core, uint16_t conn, bool encrypted)
{
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c != NULL) {
        c->encrypted = encrypted;
    }
}

/* With encryption required, nothing but Info is served to a link that is not encrypted. */
static bool link_refused(ble_ota_core_t *core, uint16_t conn)
{
    if (!core->cfg.require_encryption) {
        return false;
    }
    const ble_ota_core_conn_t *c = conn_find(core, conn);
    return c == NULL || !c->encrypted;
}

void ble_ota_core_on_disconnect(ble_ota_core_t *core, uint16_t conn)
{
    if (core->state == BLE_OTA_STATE_RECEIVING && core->owner == conn) {
        if (core->protocol == BLE_OTA_V2) {
            /* Keep what was written: a REQUEST for the same image resumes at core->expected. */
            core->owner = BLE_OTA_CONN_NONE;
        } else {
            session_abort(core, BLE_OTA_ERR_DISCONNECTED);
            core->control_value = BLE_OTA_OP_NOP;
        }
    }
    ble_ota_core_conn_t *c = conn_find(core, conn);
    if (c != NULL) {
        memset(c, 0, sizeof(*c));
    }
}

/* ---- control opcodes (dispatch table) ------------------------------------ */

typedef ble_ota_err_t (*control_handler_t)(ble_ota_core_t *core, uint16_t conn);

static ble_ota_err_t op_nop(ble_ota_core_t *core, uint16_t conn)
{
    (void)conn;
    core->control_value = BLE_OTA_OP_NOP;
    return BLE_OTA_OK;
}

static ble_ota_err_t op_request(ble_ota_core_t *core, uint16_t conn)
{
    if (core->state == BLE_OTA_STATE_RESTARTING) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (core->state == BLE_OTA_STATE_RECEIVING) {
        if (core->owner != conn && core->owner != BLE_OTA_CONN_NONE) {
            /* Never hijack another central's update; say no the v1 way. */
            uint8_t nak = BLE_OTA_OP_REQUEST_NAK;
            core->last_err = BLE_OTA_ERR_BUSY;
            (void)core->port->notify(core->ctx, conn, &nak, 1);
            return BLE_OTA_OK;
        }
        /* Same central asks again: it lost track. Drop the partial image and
         * start over, so a confused client can always recover. */
        session_abort(core, BLE_OTA_ERR_INVALID_STATE);
    }

    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c == NULL) {
        core->last_err = BLE_OTA_ERR_NO_MEM;
        send_control(core, conn, BLE_OTA_OP_REQUEST_NAK);
        return BLE_OTA_OK;
    }

    uint32_t capacity = 0;
    ble_ota_err_t err = core->port->flash_begin(core->ctx, 0, &capacity);
    if (err != BLE_OTA_OK) {
        core->last_err = err;
        send_control(core, conn, BLE_OTA_OP_REQUEST_NAK);
        return BLE_OTA_OK;
    }
    core->state = BLE_OTA_STATE_RECEIVING;
    core->owner = conn;
    core->packet_size = packet_size_for(core, c);
    core->capacity = capacity;
    core->received = 0;
    core->packets = 0;
    core->started_ms = core->port->now_ms(core->ctx);
    core->last_progress_ms = core->started_ms;
    core->last_err = BLE_OTA_OK;
    core->protocol = 1;
    emit(core, BLE_OTA_CORE_EV_STARTED, BLE_OTA_OK);
    send_control(core, conn, BLE_OTA_OP_REQUEST_ACK);
    return BLE_OTA_OK;
}

static ble_ota_err_t op_done(ble_ota_core_t *core, uint16_t conn)
{
    if (core->state != BLE_OTA_STATE_RECEIVING || core->protocol != 1) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (core->owner != conn) {
        return BLE_OTA_ERR_BUSY;
    }
    if (core->rejected) {
        session_abort(core, core->last_err); /* the image was refused mid-transfer: say so now */
        send_control(core, conn, BLE_OTA_OP_DONE_NAK);
        return BLE_OTA_OK;
    }
    if (core->received == 0) {
        session_abort(core, BLE_OTA_ERR_NO_DATA);
        send_control(core, conn, BLE_OTA_OP_DONE_NAK);
        return BLE_OTA_OK;
    }

    ble_ota_err_t err = core->port->flash_end(core->ctx);
    if (err != BLE_OTA_OK) {
        /* flash_end already released the session; the boot slot is unchanged. */
        core->last_err = err;
        emit(core, BLE_OTA_CORE_EV_FINISHED, err);
        core->state = BLE_OTA_STATE_IDLE;
        core->owner = BLE_OTA_CONN_NONE;
        core->received = 0;
        core->packets = 0;
        send_control(core, conn, BLE_OTA_OP_DONE_NAK);
        return BLE_OTA_OK;
    }
    core->state = BLE_OTA_STATE_RESTARTING;
    emit(core, BLE_OTA_CORE_EV_FINISHED, BLE_OTA_OK);
    send_control(core, conn, BLE_OTA_OP_DONE_ACK);
    core->port->schedule_restart(core->ctx, core->cfg.restart_delay_ms);
    return BLE_OTA_OK;
}

/* v1 client->device opcodes. A later protocol version adds rows here. */
static const struct {
    uint8_t opcode;
    control_handler_t handler;
} k_control_ops[] = {
    { BLE_OTA_OP_NOP,     op_nop },
    { BLE_OTA_OP_REQUEST, op_request },
    { BLE_OTA_OP_DONE,    op_done },
};

/* ---- v2 control messages ---------------------------------------------------- */

static void v2_nak_request(ble_ota_core_t *core, uint16_t conn, ble_ota_err_t why)
{
    core->last_err = why;
    send_v2(core, conn, BLE_OTA_OP_REQUEST_NAK, why, 0);
}

static bool v2_same_image(const ble_ota_core_t *core, uint8_t flags, uint32_t image_size, uint32_t stream_size,
                          const uint8_t *sha256, const uint8_t *base_sha256)
{
    return core->protocol == BLE_OTA_V2 && core->flags == flags && core->image_size == image_size &&
           core->stream_size == stream_size && memcmp(core->sha256, sha256, BLE_OTA_SHA256_LEN) == 0 &&
           (base_sha256 == NULL || memcmp(core->base_sha256, base_sha256, BLE_OTA_SHA256_LEN) == 0);
}

/* Why the device cannot take this REQUEST's stream, or BLE_OTA_OK. */
static ble_ota_err_t v2_refusal(ble_ota_core_t *core, uint8_t flags, uint32_t image_size, uint32_t stream_size,
                                const uint8_t *base_sha256)
{
    bool deflate = (flags & BLE_OTA_V2_FLAG_DEFLATE) != 0;
    bool delta = (flags & BLE_OTA_V2_FLAG_DELTA) != 0;
    if ((flags & ~(BLE_OTA_V2_FLAG_DEFLATE | BLE_OTA_V2_FLAG_DELTA)) != 0 || (deflate && delta) || image_size == 0 ||
        stream_size == 0 || (!deflate && !delta && stream_size != image_size)) {
        return BLE_OTA_ERR_VALUE_NOT_ALLOWED;
    }
    if (deflate && !core->cfg.compression) {
        return BLE_OTA_ERR_UNSUPPORTED;
    }
    if (delta) {
        ble_ota_device_info_t dev;
        if (!device_info(core, &dev) || !offers_delta(&dev, core)) {
            return BLE_OTA_ERR_UNSUPPORTED;
        }
        if (memcmp(dev.image_sha256, base_sha256, BLE_OTA_SHA256_LEN) != 0) {
            return BLE_OTA_ERR_BASE_MISMATCH; /* the patch would rebuild the wrong image: a full update is needed */
        }
    }
    return BLE_OTA_OK;
}

static ble_ota_err_t op_request_v2(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    if (len != BLE_OTA_V2_REQUEST_LEN && len != BLE_OTA_V2_REQUEST_DELTA_LEN) {
        return BLE_OTA_ERR_INVALID_LEN;
    }
    uint8_t flags = data[BLE_OTA_V2_REQ_OFF_FLAGS];
    bool delta = (flags & BLE_OTA_V2_FLAG_DELTA) != 0;
    if (len != (delta ? BLE_OTA_V2_REQUEST_DELTA_LEN : BLE_OTA_V2_REQUEST_LEN)) {
        return BLE_OTA_ERR_INVALID_LEN; /* a delta REQUEST names its base; no other does */
    }
    if (core->state == BLE_OTA_STATE_RESTARTING) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    uint32_t image_size = get32(data + BLE_OTA_V2_REQ_OFF_IMAGE_SIZE);
    uint32_t stream_size = get32(data + BLE_OTA_V2_REQ_OFF_STREAM_SIZE);
    const uint8_t *sha256 = data + BLE_OTA_V2_REQ_OFF_SHA256;
    const uint8_t *base_sha256 = delta ? data + BLE_OTA_V2_REQ_OFF_BASE_SHA256 : NULL;

    if (core->state == BLE_OTA_STATE_RECEIVING) {
        if (core->owner != conn && core->owner != BLE_OTA_CONN_NONE) {
            v2_nak_request(core, conn, BLE_OTA_ERR_BUSY); /* the owner's update goes on */
            return BLE_OTA_OK;
        }
        if (v2_same_image(core, flags, image_size, stream_size, sha256, base_sha256)) {
            /* Resume: the device's offset is the truth. */
            ble_ota_core_conn_t *c = conn_get(core, conn);
            core->owner = conn;
            core->packet_size = packet_size_for(core, c);
            core->since_ack = 0;
            core->resend_asked = false;
            core->ack_next = false;
            core->ack_held = false; /* the REQUEST_ACK's offset tells the client everything accepted */
            send_v2(core, conn, BLE_OTA_OP_REQUEST_ACK, BLE_OTA_OK, core->expected);
            return BLE_OTA_OK;
        }
        session_abort(core, BLE_OTA_ERR_INVALID_STATE);
    }

    ble_ota_err_t refusal = v2_refusal(core, flags, image_size, stream_size, base_sha256);
    if (refusal != BLE_OTA_OK) {
        v2_nak_request(core, conn, refusal);
        return BLE_OTA_OK;
    }
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c == NULL) {
        v2_nak_request(core, conn, BLE_OTA_ERR_NO_MEM);
        return BLE_OTA_OK;
    }
    uint32_t capacity = 0;
    ble_ota_stream_encoding_t encoding = delta ? BLE_OTA_STREAM_DELTA
                                         : (flags & BLE_OTA_V2_FLAG_DEFLATE) != 0 ? BLE_OTA_STREAM_DEFLATE
                                                                                  : BLE_OTA_STREAM_RAW;
    ble_ota_err_t err = core->port->stream_begin(core->ctx, image_size, encoding, &capacity);
    if (err != BLE_OTA_OK) {
        v2_nak_request(core, conn, err);
        return BLE_OTA_OK;
    }
    core->state = BLE_OTA_STATE_RECEIVING;
    core->owner = conn;
    core->protocol = BLE_OTA_V2;
    core->flags = flags;
    core->image_size = image_size;
    core->stream_size = stream_size;
    memcpy(core->sha256, sha256, BLE_OTA_SHA256_LEN);
    if (base_sha256 != NULL) {
        memcpy(core->base_sha256, base_sha256, BLE_OTA_SHA256_LEN);
    }
    core->expected = 0;
    core->since_ack = 0;
    core->resend_asked = false;
    core->ack_next = false;
    core->ack_held = false;
    core->packet_size = packet_size_for(core, c);
    core->capacity = capacity;
    core->received = 0;
    core->packets = 0;
    core->started_ms = core->port->now_ms(core->ctx);
    core->last_progress_ms = core->started_ms;
    core->last_err = BLE_OTA_OK;
    emit(core, BLE_OTA_CORE_EV_STARTED, BLE_OTA_OK);
    send_v2(core, conn, BLE_OTA_OP_REQUEST_ACK, BLE_OTA_OK, 0);
    return BLE_OTA_OK;
}

/* A v2 update that ends with an error: flash untouched, device idle, DONE_NAK says why. */
static void v2_fail(ble_ota_core_t *core, uint16_t conn, ble_ota_err_t why)
{
    uint32_t at = core->expected;
    session_abort(core, why);
    send_v2(core, conn, BLE_OTA_OP_DONE_NAK, why, at);
}

static ble_ota_err_t op_done_v2(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    (void)data;
    if (len != BLE_OTA_V2_SHORT_LEN) {
        return BLE_OTA_ERR_INVALID_LEN;
    }
    if (core->state != BLE_OTA_STATE_RECEIVING || core->protocol != BLE_OTA_V2) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (core->owner != conn) {
        return BLE_OTA_ERR_BUSY;
    }
    if (core->expected != core->stream_size) {
        /* Not all there yet: say where to go on; the update continues. */
        core->last_err = BLE_OTA_ERR_NO_DATA;
        send_v2(core, conn, BLE_OTA_OP_DONE_NAK, BLE_OTA_ERR_NO_DATA, core->expected);
        return BLE_OTA_OK;
    }
    uint8_t sha256[BLE_OTA_SHA256_LEN];
    uint32_t image_len = 0;
    ble_ota_err_t err = core->port->stream_finish(core->ctx, sha256, &image_len);
    if (err == BLE_OTA_OK && image_len != core->image_size) {
        err = BLE_OTA_ERR_SIZE_MISMATCH;
    }
    if (err == BLE_OTA_OK && memcmp(sha256, core->sha256, BLE_OTA_SHA256_LEN) != 0) {
        err = BLE_OTA_ERR_SHA_MISMATCH;
    }
    if (err != BLE_OTA_OK) {
        v2_fail(core, conn, err); /* checked before the boot slot could change */
        return BLE_OTA_OK;
    }
    err = core->port->flash_end(core->ctx);
    if (err != BLE_OTA_OK) {
        /* flash_end already released the session; the boot slot is unchanged. */
        core->last_err = err;
        emit(core, BLE_OTA_CORE_EV_FINISHED, err);
        core->state = BLE_OTA_STATE_IDLE;
        core->owner = BLE_OTA_CONN_NONE;
        core->received = 0;
        core->packets = 0;
        core->expected = 0;
        send_v2(core, conn, BLE_OTA_OP_DONE_NAK, err, core->stream_size);
        return BLE_OTA_OK;
    }
    core->state = BLE_OTA_STATE_RESTARTING;
    emit(core, BLE_OTA_CORE_EV_FINISHED, BLE_OTA_OK);
    send_v2(core, conn, BLE_OTA_OP_DONE_ACK, BLE_OTA_OK, core->stream_size);
    core->port->schedule_restart(core->ctx, core->cfg.restart_delay_ms);
    return BLE_OTA_OK;
}

static ble_ota_err_t op_abort_v2(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    (void)data;
    if (len != BLE_OTA_V2_SHORT_LEN) {
        return BLE_OTA_ERR_INVALID_LEN;
    }
    if (core->state == BLE_OTA_STATE_RESTARTING) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (core->state == BLE_OTA_STATE_RECEIVING) {
        if (core->owner != conn && core->owner != BLE_OTA_CONN_NONE) {
            return BLE_OTA_ERR_BUSY;
        }
        session_abort(core, BLE_OTA_ERR_ABORTED);
    }
    /* Idle already: still confirm, so an ABORT is always safe to send. */
    send_v2(core, conn, BLE_OTA_OP_ABORT_ACK, BLE_OTA_OK, 0);
    return BLE_OTA_OK;
}

typedef ble_ota_err_t (*control_v2_handler_t)(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len);

/* v2 client->device messages: the v1 opcode, then the version byte. */
static const struct {
    uint8_t opcode;
    control_v2_handler_t handler;
} k_control_v2_ops[] = {
    { BLE_OTA_OP_REQUEST, op_request_v2 },
    { BLE_OTA_OP_DONE,    op_done_v2 },
    { BLE_OTA_OP_ABORT,   op_abort_v2 },
};

ble_ota_err_t ble_ota_core_on_control_write(ble_ota_core_t *core, uint16_t conn,
                                            const uint8_t *data, size_t len)
{
    if (core == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    if (link_refused(core, conn)) {
        return BLE_OTA_ERR_INSUFFICIENT_ENC;
    }
    if (len >= BLE_OTA_V2_SHORT_LEN && has_v2(core)) {
        if (len > BLE_OTA_V2_REQUEST_DELTA_LEN) {
            return BLE_OTA_ERR_INVALID_LEN; /* decided on the length alone: data may be NULL */
        }
        if (data == NULL) {
            return BLE_OTA_ERR_INVALID_ARG;
        }
        if (data[1] != BLE_OTA_V2) {
            return BLE_OTA_ERR_INVALID_LEN;
        }
        for (size_t i = 0; i < sizeof(k_control_v2_ops) / sizeof(k_control_v2_ops[0]); i++) {
            if (k_control_v2_ops[i].opcode == data[0]) {
                return k_control_v2_ops[i].handler(core, conn, data, len);
            }
        }
        return BLE_OTA_ERR_UNKNOWN_OPCODE;
    }
    if (len != 1) {
        return BLE_OTA_ERR_INVALID_LEN; /* decided on the length alone: data may be NULL */
    }
    if (data == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < sizeof(k_control_ops) / sizeof(k_control_ops[0]); i++) {
        if (k_control_ops[i].opcode == data[0]) {
            return k_control_ops[i].handler(core, conn);
        }
    }
    return BLE_OTA_ERR_UNKNOWN_OPCODE;
}

/* ---- data writes (per state) ---------------------------------------------- */

static ble_ota_err_t data_idle(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    /* The one data write legal before REQUEST: the packet size, uint16 LE. */
    if (len != BLE_OTA_PACKET_SIZE_WRITE_LEN) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (data == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    uint16_t size = (uint16_t)(data[0] | ((uint16_t)data[1] << 8));
    if (size == 0 || size > core->cfg.max_packet_size) {
        return BLE_OTA_ERR_VALUE_NOT_ALLOWED;
    }
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c == NULL) {
        return BLE_OTA_ERR_NO_MEM;
    }
    c->packet_size = size;
    return BLE_OTA_OK;
}

static void progress(ble_ota_core_t *core)
{
    uint32_t now = core->port->now_ms(core->ctx);
    if (core->cfg.progress_interval_ms == 0 || now - core->last_progress_ms >= core->cfg.progress_interval_ms) {
        core->last_progress_ms = now;
        emit(core, BLE_OTA_CORE_EV_PROGRESS, BLE_OTA_OK);
    }
}

/* v2: the ring takes a whole window of full packets more (always true for a port without stream_room). */
static bool v2_room_for_window(const ble_ota_core_t *core)
{
    if (core->port->stream_room == NULL) {
        return true;
    }
    uint32_t window_bytes = (uint32_t)core->cfg.window * (uint32_t)(core->packet_size - BLE_OTA_V2_DATA_HEADER_LEN);
    return core->port->stream_room(core->ctx) >= window_bytes;
}

void ble_ota_core_on_stream_room(ble_ota_core_t *core)
{
    if (core == NULL || core->state != BLE_OTA_STATE_RECEIVING || core->protocol != BLE_OTA_V2 ||
        !core->ack_held || !v2_room_for_window(core)) {
        return;
    }
    core->ack_held = false;
    core->since_ack = 0;
    if (core->owner != BLE_OTA_CONN_NONE) {
        send_v2(core, core->owner, BLE_OTA_OP_DATA_ACK, BLE_OTA_OK, core->expected);
    }
}

/* v2: tell the client once (until the next accepted packet) where to resend from. */
static void v2_ask_resend(ble_ota_core_t *core, uint16_t conn, ble_ota_err_t why)
{
    if (!core->resend_asked) {
        core->resend_asked = true;
        core->ack_next = why == BLE_OTA_ERR_RING_FULL;
        send_v2(core, conn, BLE_OTA_OP_DATA_ACK, why, core->expected);
    }
}

static ble_ota_err_t data_v2(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    if (len <= BLE_OTA_V2_DATA_HEADER_LEN) {
        return BLE_OTA_ERR_INVALID_LEN; /* harmless: nothing written, update continues */
    }
    if (len > core->packet_size) {
        v2_fail(core, conn, BLE_OTA_ERR_INVALID_LEN);
        return BLE_OTA_ERR_INVALID_LEN;
    }
    if (data == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    uint32_t offset = get32(data);
    const uint8_t *payload = data + BLE_OTA_V2_DATA_HEADER_LEN;
    uint32_t n = (uint32_t)(len - BLE_OTA_V2_DATA_HEADER_LEN);
    if ((uint64_t)offset + n > core->stream_size) {
        v2_fail(core, conn, BLE_OTA_ERR_SIZE_MISMATCH); /* more than announced: a broken client */
        return BLE_OTA_ERR_SIZE_MISMATCH;
    }
    if (offset > core->expected) {
        v2_ask_resend(core, conn, BLE_OTA_ERR_OFFSET); /* a packet was lost */
        return BLE_OTA_OK;
    }
    uint32_t skip = core->expected - offset;
    if (skip >= n) {
        v2_ask_resend(core, conn, BLE_OTA_OK); /* duplicate: the client missed an ack */
        return BLE_OTA_OK;
    }
    ble_ota_err_t err = core->port->stream_push(core->ctx, payload + skip, n - skip);
    if (err == BLE_OTA_ERR_RING_FULL) {
        /* Answered every time (it is always the packet at the expected offset), so a client that waits on a
         * full ring can probe with one packet; the rest of a window behind it is dropped quietly. */
        core->resend_asked = false;
        v2_ask_resend(core, conn, BLE_OTA_ERR_RING_FULL);
        return BLE_OTA_OK;
    }
    if (err != BLE_OTA_OK) {
        v2_fail(core, conn, err);
        return err;
    }
    core->expected += n - skip;
    core->received = core->expected;
    core->packets++;
    core->resend_asked = false;
    core->since_ack++;
    uint16_t ack_every = core->cfg.window > 1 ? (uint16_t)(core->cfg.window / 2) : 1u;
    bool ack_now = core->ack_next; /* the first packet the writer had room for after a full ring */
    core->ack_next = false;
    if (core->since_ack >= ack_every || core->expected == core->stream_size || ack_now) {
        /* An acknowledgement lets the client send a whole window more: hold it until the ring
         * can take that, rather than answer RING_FULL to packets already on their way. The last
         * one always goes: nothing follows it but DONE, which waits for the writer anyway. */
        core->ack_held = core->expected != core->stream_size && !v2_room_for_window(core);
        if (!core->ack_held) {
            core->since_ack = 0;
            send_v2(core, conn, BLE_OTA_OP_DATA_ACK, BLE_OTA_OK, core->expected);
        }
    }
    progress(core);
    return BLE_OTA_OK;
}

/*
 * v1: the image is unacceptable (not an app image, larger than the slot). The
 * tutorial's firmware ignores esp_ota_write errors and ends in DONE_NAK, and
 * its Python client handles no ATT error mid-transfer: release the slot now,
 * take and drop the rest, answer DONE with DONE_NAK (op_done).
 */
static void v1_reject(ble_ota_core_t *core, ble_ota_err_t why)
{
    core->port->flash_abort(core->ctx);
    core->last_err = why;
    emit(core, BLE_OTA_CORE_EV_FINISHED, why);
    core->rejected = true;
}

static ble_ota_err_t data_receiving(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    if (core->owner == BLE_OTA_CONN_NONE && len == BLE_OTA_PACKET_SIZE_WRITE_LEN) {
        /* A v2 session kept for resume has no owner: a v1 client's packet-size write
         * still works as when idle, and its REQUEST then drops the kept session. */
        return data_idle(core, conn, data, len);
    }
    if (conn != core->owner) {
        return BLE_OTA_ERR_BUSY; /* the owner's update is not affected */
    }
    if (core->protocol == BLE_OTA_V2) {
        return data_v2(core, conn, data, len);
    }
    if (len == 0) {
        return BLE_OTA_ERR_INVALID_LEN; /* harmless: nothing written, update continues */
    }
    if (len > core->packet_size) {
        session_abort(core, BLE_OTA_ERR_INVALID_LEN);
        core->control_value = BLE_OTA_OP_DONE_NAK;
        return BLE_OTA_ERR_INVALID_LEN;
    }
    if (core->rejected) {
        return BLE_OTA_OK; /* dropped unread: data may be NULL */
    }
    if (core->capacity != 0 && (uint64_t)core->received + len > core->capacity) {
        v1_reject(core, BLE_OTA_ERR_IMAGE_TOO_LARGE);
        return BLE_OTA_OK;
    }
    if (data == NULL) {
        return BLE_OTA_ERR_INVALID_ARG; /* the port must buffer anything up to packet_size */
    }
    ble_ota_err_t err = core->port->flash_write(core->ctx, data, len);
    if (err == BLE_OTA_ERR_IMAGE_INVALID || err == BLE_OTA_ERR_IMAGE_TOO_LARGE || err == BLE_OTA_ERR_NOT_APP ||
        err == BLE_OTA_ERR_WRONG_CHIP) {
        v1_reject(core, err);
        return BLE_OTA_OK;
    }
    if (err != BLE_OTA_OK) {
        /* The image now has a hole: never let it be finished. */
        session_abort(core, err);
        core->control_value = BLE_OTA_OP_DONE_NAK;
        return err;
    }
    core->received += (uint32_t)len;
    core->packets++;
    progress(core);
    return BLE_OTA_OK;
}

ble_ota_err_t ble_ota_core_on_data_write(ble_ota_core_t *core, uint16_t conn,
                                         const uint8_t *data, size_t len)
{
    if (core == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    if (link_refused(core, conn)) {
        return BLE_OTA_ERR_INSUFFICIENT_ENC;
    }
    switch (core->state) {
    case BLE_OTA_STATE_IDLE:
        return data_idle(core, conn, data, len);
    case BLE_OTA_STATE_RECEIVING:
        return data_receiving(core, conn, data, len);
    case BLE_OTA_STATE_RESTARTING:
    default:
        return BLE_OTA_ERR_INVALID_STATE;
    }
}

ble_ota_err_t ble_ota_core_on_control_read(ble_ota_core_t *core, uint16_t conn,
                                           uint8_t *out, size_t cap, size_t *out_len)
{
    (void)conn;
    if (core == NULL || out == NULL || out_len == NULL || cap < 1) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    out[0] = core->control_value;
    *out_len = 1;
    return BLE_OTA_OK;
}

/* ---- Info ------------------------------------------------------------------ */

/* At most BLE_OTA_INFO_STR_LEN - 1 characters; the rest of the field stays 0. */
static void put_str(uint8_t *field, const char *s)
{
    for (size_t i = 0; i + 1 < BLE_OTA_INFO_STR_LEN && s[i] != '\0'; i++) {
        field[i] = (uint8_t)s[i];
    }
}

ble_ota_err_t ble_ota_core_on_info_read(ble_ota_core_t *core, uint16_t conn,
                                        uint8_t *out, size_t cap, size_t *out_len)
{
    (void)conn;
    if (core == NULL || core->port == NULL || out == NULL || out_len == NULL || cap < BLE_OTA_INFO_LEN) {
        return BLE_OTA_ERR_INVALID_ARG;
    }
    if (core->port->device_info == NULL) {
        return BLE_OTA_ERR_INTERNAL;
    }
    ble_ota_device_info_t dev;
    memset(&dev, 0, sizeof(dev));
    ble_ota_err_t err = core->port->device_info(core->ctx, &dev);
    if (err != BLE_OTA_OK) {
        return err;
    }
    if (dev.image_len == 0) {
        memset(dev.image_sha256, 0, sizeof(dev.image_sha256)); /* unknown: never a hash a client could match */
    }
    /* Guard against a port that filled a whole array without a NUL. */
    dev.version[BLE_OTA_INFO_STR_LEN] = '\0';
    dev.project_name[BLE_OTA_INFO_STR_LEN] = '\0';
    dev.idf_version[BLE_OTA_INFO_STR_LEN] = '\0';

    memset(out, 0, BLE_OTA_INFO_LEN);
    out[BLE_OTA_INFO_OFF_FORMAT] = (uint8_t)BLE_OTA_INFO_FORMAT;
    bool v2 = has_v2(core);
    uint32_t features = 0;
    if (v2) {
        features = BLE_OTA_INFO_FEATURE_RESUME | (core->cfg.compression ? BLE_OTA_INFO_FEATURE_DEFLATE_8K : 0u) |
                   (offers_delta(&dev, core) ? BLE_OTA_INFO_FEATURE_DELTA : 0u);
    }
    out[BLE_OTA_INFO_OFF_PROTOCOL] = (uint8_t)(v2 ? BLE_OTA_INFO_PROTOCOL_V2 : BLE_OTA_INFO_PROTOCOL_V1);
    put16(out + BLE_OTA_INFO_OFF_CHIP_ID, dev.chip_id);
    put32(out + BLE_OTA_INFO_OFF_SLOT_SIZE, dev.slot_size);
    put16(out + BLE_OTA_INFO_OFF_MAX_PACKET, core->cfg.max_packet_size);
    put16(out + BLE_OTA_INFO_OFF_WINDOW, v2 ? core->cfg.window : (uint16_t)BLE_OTA_INFO_WINDOW_V1);
    put32(out + BLE_OTA_INFO_OFF_FEATURES,
          features | (core->cfg.require_encryption ? BLE_OTA_INFO_FEATURE_ENCRYPTED_LINK_REQ : 0u));
    put_str(out + BLE_OTA_INFO_OFF_VERSION, dev.version);
    put_str(out + BLE_OTA_INFO_OFF_PROJECT, dev.project_name);
    put_str(out + BLE_OTA_INFO_OFF_IDF_VERSION, dev.idf_version);
    memcpy(out + BLE_OTA_INFO_OFF_IMAGE_SHA256, dev.image_sha256, BLE_OTA_SHA256_LEN);
    *out_len = BLE_OTA_INFO_LEN;
    return BLE_OTA_OK;
}

/* ---- accessors ------------------------------------------------------------ */

ble_ota_state_t ble_ota_core_state(const ble_ota_core_t *core)
{
    return core->state;
}

uint32_t ble_ota_core_bytes_received(const ble_ota_core_t *core)
{
    return core->received;
}

uint16_t ble_ota_core_owner(const ble_ota_core_t *core)
{
    return core->owner;
}

uint32_t ble_ota_core_stream_offset(const ble_ota_core_t *core)
{
    return core->expected;
}

uint8_t ble_ota_core_protocol(const ble_ota_core_t *core)
{
    return core->protocol;
}

ble_ota_err_t ble_ota_core_last_error(const ble_ota_core_t *core)
{
    return core->last_err;
}

size_t ble_ota_core_data_buffer_needed(const ble_ota_core_t *core)
{
    if (core->state != BLE_OTA_STATE_RECEIVING) {
        return BLE_OTA_PACKET_SIZE_WRITE_LEN;
    }
    return core->rejected ? 0u : core->packet_size;
}

uint16_t ble_ota_core_packet_size(const ble_ota_core_t *core, uint16_t conn)
{
    const ble_ota_core_conn_t *c = NULL;
    for (size_t i = 0; i < BLE_OTA_CORE_MAX_CONNS; i++) {
        if (core->conns[i].used && core->conns[i].handle == conn) {
            c = &core->conns[i];
        }
    }
    return packet_size_for(core, c);
}
