/*
 * BLE OTA protocol core, v1. See ble_ota_core.h for the contract and
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
    case BLE_OTA_ERR_INTERNAL:          return "BLE_OTA_ERR_INTERNAL";
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
    return cfg;
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

/* Ends the running update without touching the boot slot. */
static void session_abort(ble_ota_core_t *core, ble_ota_err_t why)
{
    if (core->state != BLE_OTA_STATE_RECEIVING) {
        return;
    }
    core->port->flash_abort(core->ctx);
    core->last_err = why;
    emit(core, BLE_OTA_CORE_EV_FINISHED, why);
    core->state = BLE_OTA_STATE_IDLE;
    core->owner = BLE_OTA_CONN_NONE;
    core->received = 0;
    core->packets = 0;
    core->capacity = 0;
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
    memset(core, 0, sizeof(*core));
    core->cfg = c;
    core->port = port;
    core->ctx = ctx;
    core->state = BLE_OTA_STATE_IDLE;
    core->control_value = BLE_OTA_OP_NOP;
    core->owner = BLE_OTA_CONN_NONE;
    core->last_err = BLE_OTA_OK;
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
    }
}

void ble_ota_core_on_mtu(ble_ota_core_t *core, uint16_t conn, uint16_t mtu)
{
    ble_ota_core_conn_t *c = conn_get(core, conn);
    if (c != NULL && mtu != 0) {
        c->mtu = mtu;
    }
}

void ble_ota_core_on_disconnect(ble_ota_core_t *core, uint16_t conn)
{
    if (core->state == BLE_OTA_STATE_RECEIVING && core->owner == conn) {
        session_abort(core, BLE_OTA_ERR_DISCONNECTED);
        core->control_value = BLE_OTA_OP_NOP;
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
        if (core->owner != conn) {
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
    emit(core, BLE_OTA_CORE_EV_STARTED, BLE_OTA_OK);
    send_control(core, conn, BLE_OTA_OP_REQUEST_ACK);
    return BLE_OTA_OK;
}

static ble_ota_err_t op_done(ble_ota_core_t *core, uint16_t conn)
{
    if (core->state != BLE_OTA_STATE_RECEIVING) {
        return BLE_OTA_ERR_INVALID_STATE;
    }
    if (core->owner != conn) {
        return BLE_OTA_ERR_BUSY;
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

ble_ota_err_t ble_ota_core_on_control_write(ble_ota_core_t *core, uint16_t conn,
                                            const uint8_t *data, size_t len)
{
    if (core == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
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

static ble_ota_err_t data_receiving(ble_ota_core_t *core, uint16_t conn, const uint8_t *data, size_t len)
{
    if (conn != core->owner) {
        return BLE_OTA_ERR_BUSY; /* the owner's update is not affected */
    }
    if (len == 0) {
        return BLE_OTA_ERR_INVALID_LEN; /* harmless: nothing written, update continues */
    }
    if (len > core->packet_size) {
        session_abort(core, BLE_OTA_ERR_INVALID_LEN);
        core->control_value = BLE_OTA_OP_DONE_NAK;
        return BLE_OTA_ERR_INVALID_LEN;
    }
    if (core->capacity != 0 && (uint64_t)core->received + len > core->capacity) {
        session_abort(core, BLE_OTA_ERR_IMAGE_TOO_LARGE);
        core->control_value = BLE_OTA_OP_DONE_NAK;
        return BLE_OTA_ERR_IMAGE_TOO_LARGE;
    }
    if (data == NULL) {
        return BLE_OTA_ERR_INVALID_ARG; /* the port must buffer anything up to packet_size */
    }
    ble_ota_err_t err = core->port->flash_write(core->ctx, data, len);
    if (err != BLE_OTA_OK) {
        /* The image now has a hole: never let it be finished. */
        session_abort(core, err);
        core->control_value = BLE_OTA_OP_DONE_NAK;
        return err;
    }
    core->received += (uint32_t)len;
    core->packets++;
    uint32_t now = core->port->now_ms(core->ctx);
    if (core->cfg.progress_interval_ms == 0 || now - core->last_progress_ms >= core->cfg.progress_interval_ms) {
        core->last_progress_ms = now;
        emit(core, BLE_OTA_CORE_EV_PROGRESS, BLE_OTA_OK);
    }
    return BLE_OTA_OK;
}

ble_ota_err_t ble_ota_core_on_data_write(ble_ota_core_t *core, uint16_t conn,
                                         const uint8_t *data, size_t len)
{
    if (core == NULL) {
        return BLE_OTA_ERR_INVALID_ARG;
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
    /* Guard against a port that filled a whole array without a NUL. */
    dev.version[BLE_OTA_INFO_STR_LEN] = '\0';
    dev.project_name[BLE_OTA_INFO_STR_LEN] = '\0';
    dev.idf_version[BLE_OTA_INFO_STR_LEN] = '\0';

    memset(out, 0, BLE_OTA_INFO_LEN);
    out[BLE_OTA_INFO_OFF_FORMAT] = (uint8_t)BLE_OTA_INFO_FORMAT;
    out[BLE_OTA_INFO_OFF_PROTOCOL] = (uint8_t)BLE_OTA_INFO_PROTOCOL_MAX;
    put16(out + BLE_OTA_INFO_OFF_CHIP_ID, dev.chip_id);
    put32(out + BLE_OTA_INFO_OFF_SLOT_SIZE, dev.slot_size);
    put16(out + BLE_OTA_INFO_OFF_MAX_PACKET, core->cfg.max_packet_size);
    put16(out + BLE_OTA_INFO_OFF_WINDOW, (uint16_t)BLE_OTA_INFO_WINDOW_V1);
    put32(out + BLE_OTA_INFO_OFF_FEATURES, 0u);
    put_str(out + BLE_OTA_INFO_OFF_VERSION, dev.version);
    put_str(out + BLE_OTA_INFO_OFF_PROJECT, dev.project_name);
    put_str(out + BLE_OTA_INFO_OFF_IDF_VERSION, dev.idf_version);
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

ble_ota_err_t ble_ota_core_last_error(const ble_ota_core_t *core)
{
    return core->last_err;
}

size_t ble_ota_core_data_buffer_needed(const ble_ota_core_t *core)
{
    return core->state == BLE_OTA_STATE_RECEIVING ? core->packet_size : BLE_OTA_PACKET_SIZE_WRITE_LEN;
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
