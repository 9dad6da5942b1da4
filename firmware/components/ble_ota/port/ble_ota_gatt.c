/*
 * The OTA GATT service: a static NimBLE service table (Control: read, write,
 * notify; Data: write with and without response; Info: read). Access callbacks check the length
 * before flattening, hand the bytes to the protocol core and map its result
 * to an ATT status.
 */
#include <string.h>

#include "esp_log.h"
#include "host/ble_att.h"
#include "host/ble_gatt.h"
#include "host/ble_hs.h"
#include "host/ble_hs_mbuf.h"
#include "host/ble_uuid.h"
#include "os/os_mbuf.h"
#include "sdkconfig.h"

#include "ble_ota_priv.h"

static const char *TAG = "ble_ota";

/* The core's ATT codes are the Bluetooth ones; make sure NimBLE agrees. */
_Static_assert(BLE_OTA_ATT_ERR_INVALID_ATTR_LEN == BLE_ATT_ERR_INVALID_ATTR_VALUE_LEN, "ATT code");
_Static_assert(BLE_OTA_ATT_ERR_UNLIKELY == BLE_ATT_ERR_UNLIKELY, "ATT code");
_Static_assert(BLE_OTA_ATT_ERR_INSUFFICIENT_RES == BLE_ATT_ERR_INSUFFICIENT_RES, "ATT code");
_Static_assert(BLE_OTA_ATT_ERR_VALUE_NOT_ALLOWED == BLE_ATT_ERR_VALUE_NOT_ALLOWED, "ATT code");
_Static_assert(BLE_OTA_CONN_NONE == BLE_HS_CONN_HANDLE_NONE, "no-connection handle");

static const ble_uuid128_t k_svc_uuid = BLE_UUID128_INIT(BLE_OTA_SVC_UUID128_LE);
static const ble_uuid128_t k_control_uuid = BLE_UUID128_INIT(BLE_OTA_CHR_CONTROL_UUID128_LE);
static const ble_uuid128_t k_data_uuid = BLE_UUID128_INIT(BLE_OTA_CHR_DATA_UUID128_LE);
static const ble_uuid128_t k_info_uuid = BLE_UUID128_INIT(BLE_OTA_CHR_INFO_UUID128_LE);

static uint16_t s_control_val_handle;

/* BLE_OTA_REQUIRE_ENCRYPTION: NimBLE refuses writes on an unencrypted link (ATT 0x0F) before our callbacks run. */
#if CONFIG_BLE_OTA_REQUIRE_ENCRYPTION
#define OTA_WRITE_FLAGS (BLE_GATT_CHR_F_WRITE | BLE_GATT_CHR_F_WRITE_ENC)
#else
#define OTA_WRITE_FLAGS BLE_GATT_CHR_F_WRITE
#endif

static int control_access(uint16_t conn, uint16_t attr, struct ble_gatt_access_ctxt *ctxt, void *arg)
{
    ble_ota_ctx_t *o = g_ble_ota;
    switch (ctxt->op) {
    case BLE_GATT_ACCESS_OP_READ_CHR: {
        uint8_t value[1];
        size_t n = 0;
        ble_ota_err_t err = ble_ota_core_on_control_read(&o->core, conn, value, sizeof(value), &n);
        if (err != BLE_OTA_OK) {
            return ble_ota_err_to_att(err);
        }
        return os_mbuf_append(ctxt->om, value, (uint16_t)n) == 0 ? 0 : BLE_ATT_ERR_INSUFFICIENT_RES;
    }
    case BLE_GATT_ACCESS_OP_WRITE_CHR: {
        /* 1 byte (v1) or a v2 message of up to BLE_OTA_V2_REQUEST_DELTA_LEN; longer is refused on length alone.
         * A delta REQUEST (75 bytes) needs an MTU of 78, or a long write, which NimBLE reassembles. */
        uint16_t len = OS_MBUF_PKTLEN(ctxt->om);
        if (len == 0 || len > BLE_OTA_V2_REQUEST_DELTA_LEN) {
            return ble_ota_err_to_att(ble_ota_core_on_control_write(&o->core, conn, NULL, len));
        }
        uint8_t msg[BLE_OTA_V2_REQUEST_DELTA_LEN];
        uint16_t copied = 0;
        if (ble_hs_mbuf_to_flat(ctxt->om, msg, sizeof(msg), &copied) != 0 || copied != len) {
            return BLE_ATT_ERR_UNLIKELY;
        }
        ble_ota_err_t err = ble_ota_core_on_control_write(&o->core, conn, msg, len);
        if (err != BLE_OTA_OK) {
            ESP_LOGW(TAG, "control 0x%02x (%u bytes) refused: %s", msg[0], len, ble_ota_err_name(err));
        }
        return ble_ota_err_to_att(err);
    }
    default:
        return BLE_ATT_ERR_UNLIKELY;
    }
}

static int data_access(uint16_t conn, uint16_t attr, struct ble_gatt_access_ctxt *ctxt, void *arg)
{
    ble_ota_ctx_t *o = g_ble_ota;
    if (ctxt->op != BLE_GATT_ACCESS_OP_WRITE_CHR) {
        return BLE_ATT_ERR_UNLIKELY;
    }
    /* Length first: flatten only what the core can take now (2 bytes while
     * idle, the packet size while receiving); anything longer is refused by
     * the core on its length alone (data = NULL). */
    uint16_t len = OS_MBUF_PKTLEN(ctxt->om);
    uint8_t small[BLE_OTA_PACKET_SIZE_WRITE_LEN];
    uint8_t *buf = small;
    size_t cap = sizeof(small);
    if (ble_ota_core_state(&o->core) == BLE_OTA_STATE_RECEIVING && o->rx_buf != NULL) {
        buf = o->rx_buf;
        cap = o->cfg.max_packet_size;
    }
    const uint8_t *data = NULL;
    if (len <= cap && len <= ble_ota_core_data_buffer_needed(&o->core)) {
        uint16_t copied = 0;
        if (ble_hs_mbuf_to_flat(ctxt->om, buf, (uint16_t)cap, &copied) != 0 || copied != len) {
            return BLE_ATT_ERR_UNLIKELY;
        }
        data = buf;
    }
    ble_ota_err_t err = ble_ota_core_on_data_write(&o->core, conn, data, len);
    if (err != BLE_OTA_OK) {
        ESP_LOGW(TAG, "data write of %u bytes refused: %s", len, ble_ota_err_name(err));
    }
    return ble_ota_err_to_att(err);
}

/*
 * Info: 144 bytes, more than one ATT read carries below MTU 147. As NimBLE
 * expects, the callback appends the whole value on every read (it gets no
 * offset); for a Read Blob (read-long) NimBLE's GATT server skips the first
 * `offset` bytes of it, and the ATT layer cuts every response to MTU - 1.
 */
static int info_access(uint16_t conn, uint16_t attr, struct ble_gatt_access_ctxt *ctxt, void *arg)
{
    ble_ota_ctx_t *o = g_ble_ota;
    if (ctxt->op != BLE_GATT_ACCESS_OP_READ_CHR) {
        return BLE_ATT_ERR_UNLIKELY;
    }
    uint8_t value[BLE_OTA_INFO_LEN];
    size_t n = 0;
    ble_ota_err_t err = ble_ota_core_on_info_read(&o->core, conn, value, sizeof(value), &n);
    if (err != BLE_OTA_OK) {
        return ble_ota_err_to_att(err);
    }
    return os_mbuf_append(ctxt->om, value, (uint16_t)n) == 0 ? 0 : BLE_ATT_ERR_INSUFFICIENT_RES;
}

static const struct ble_gatt_svc_def k_services[] = {
    {
        .type = BLE_GATT_SVC_TYPE_PRIMARY,
        .uuid = &k_svc_uuid.u,
        .characteristics = (struct ble_gatt_chr_def[]) {
            {
                .uuid = &k_control_uuid.u,
                .access_cb = control_access,
                .flags = BLE_GATT_CHR_F_READ | OTA_WRITE_FLAGS | BLE_GATT_CHR_F_NOTIFY,
                .val_handle = &s_control_val_handle,
            },
            {
                /* v1 writes with response; v2 streams without. */
                .uuid = &k_data_uuid.u,
                .access_cb = data_access,
                .flags = OTA_WRITE_FLAGS | BLE_GATT_CHR_F_WRITE_NO_RSP,
            },
            {
                /* Read-only; no encryption, like Control and Data. */
                .uuid = &k_info_uuid.u,
                .access_cb = info_access,
                .flags = BLE_GATT_CHR_F_READ,
            },
            { 0 },
        },
    },
    { 0 },
};

int ble_ota_gatt_register(void)
{
    int rc = ble_gatts_count_cfg(k_services);
    if (rc != 0) {
        ESP_LOGE(TAG, "ble_gatts_count_cfg: %d", rc);
        return rc;
    }
    rc = ble_gatts_add_svcs(k_services);
    if (rc != 0) {
        ESP_LOGE(TAG, "ble_gatts_add_svcs: %d", rc);
    }
    return rc;
}

uint16_t ble_ota_gatt_control_handle(void)
{
    return s_control_val_handle; /* valid once the host has synced */
}

void ble_ota_gatt_set_subscribed(uint16_t conn, bool on)
{
    ble_ota_ctx_t *o = g_ble_ota;
    for (size_t i = 0; i < CONFIG_BT_NIMBLE_MAX_CONNECTIONS; i++) {
        if (o->subscribed[i] == conn) {
            o->subscribed[i] = BLE_HS_CONN_HANDLE_NONE;
        }
    }
    if (!on) {
        return;
    }
    for (size_t i = 0; i < CONFIG_BT_NIMBLE_MAX_CONNECTIONS; i++) {
        if (o->subscribed[i] == BLE_HS_CONN_HANDLE_NONE) {
            o->subscribed[i] = conn;
            return;
        }
    }
}

bool ble_ota_gatt_is_subscribed(uint16_t conn)
{
    ble_ota_ctx_t *o = g_ble_ota;
    for (size_t i = 0; i < CONFIG_BT_NIMBLE_MAX_CONNECTIONS; i++) {
        if (o->subscribed[i] == conn) {
            return true;
        }
    }
    return false;
}
