/*
 * GAP: advertising (name, and the 128-bit OTA service UUID so scanners can
 * filter on it) and connection events forwarded to the protocol core.
 * Legacy advertising only: needs CONFIG_BT_NIMBLE_EXT_ADV off.
 */
#include <string.h>

#include "esp_log.h"
#include "host/ble_att.h"
#include "host/ble_gap.h"
#include "host/ble_hs.h"
#include "host/ble_esp_gap.h"
#include "host/ble_hs_adv.h"
#include "host/util/util.h"

#include "ble_ota_adv.h"
#include "ble_ota_flash_plan.h"
#include "ble_ota_priv.h"

#if CONFIG_BT_NIMBLE_EXT_ADV
#error "ble_ota uses legacy advertising: disable CONFIG_BT_NIMBLE_EXT_ADV"
#endif

#if CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID
#define ADVERTISE_UUID 1
static const ble_uuid128_t k_adv_uuid = BLE_UUID128_INIT(BLE_OTA_SVC_UUID128_LE);
#else
#define ADVERTISE_UUID 0
#endif

/* A name that does not fit makes ble_gap_adv_*set_fields fail, advertising never starts and a new image rolls
 * back: stop the build instead. The layout is in ble_ota_adv.h. */
_Static_assert(BLE_OTA_NAME_FITS(sizeof(CONFIG_BLE_OTA_DEVICE_NAME) - 1u, ADVERTISE_UUID),
               "CONFIG_BLE_OTA_DEVICE_NAME is too long for the advertising packets: at most 26 bytes");

static const char *TAG = "ble_ota";

static int gap_event(struct ble_gap_event *event, void *arg);

/*
 * Ask for the link an update runs fastest on (docs/link-model.md): the longest
 * LL payload, so a 495-byte write is two PDUs; LE 2M where the chip has it; and
 * CONFIG_BLE_OTA_CONN_INTERVAL_MS when set. The central decides; a refusal
 * only costs speed, so errors are logged and the link goes on.
 */
static void request_fast_link(uint16_t conn)
{
    int rc = ble_hs_hci_util_set_data_len(conn, BLE_OTA_LL_MAX_OCTETS, BLE_OTA_LL_MAX_TIME_US);
    if (rc != 0) {
        ESP_LOGW(TAG, "conn %u: data length request failed (%d)", conn, rc);
    }
#if CONFIG_BT_NIMBLE_LL_CFG_FEAT_LE_2M_PHY
    rc = ble_gap_set_prefered_le_phy(conn, BLE_GAP_LE_PHY_2M_MASK, BLE_GAP_LE_PHY_2M_MASK, BLE_GAP_LE_PHY_CODED_ANY);
    if (rc != 0) {
        ESP_LOGW(TAG, "conn %u: 2M PHY request failed (%d)", conn, rc);
    }
#endif
    ble_ota_conn_request_t want;
    if (ble_ota_conn_request(CONFIG_BLE_OTA_CONN_INTERVAL_MS, &want)) {
        struct ble_gap_upd_params params = {
            .itvl_min = want.itvl,
            .itvl_max = want.itvl,
            .latency = 0,
            .supervision_timeout = want.supervision_timeout,
        };
        rc = ble_gap_update_params(conn, &params);
        if (rc != 0) {
            ESP_LOGW(TAG, "conn %u: connection interval request failed (%d)", conn, rc);
        }
    }
}

int ble_ota_gap_advertise(void)
{
    ble_ota_ctx_t *o = g_ble_ota;
    struct ble_hs_adv_fields adv;
    struct ble_hs_adv_fields rsp;
    memset(&adv, 0, sizeof(adv));
    memset(&rsp, 0, sizeof(rsp));

    adv.flags = BLE_HS_ADV_F_DISC_GEN | BLE_HS_ADV_F_BREDR_UNSUP;
    size_t name_len = strlen(o->name); /* at most BLE_OTA_NAME_MAX (resolve_config) */
    /* ble_ota_adv.h's layout: with the UUID the name goes in the scan response, else in the advertisement. */
    struct ble_hs_adv_fields *name_fields = &rsp;
#if CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID
    adv.uuids128 = &k_adv_uuid;
    adv.num_uuids128 = 1;
    adv.uuids128_is_complete = 1;
#else
    name_fields = &adv;
#endif
    name_fields->name = (const uint8_t *)o->name;
    name_fields->name_len = (uint8_t)name_len;
    name_fields->name_is_complete = 1;
    rsp.tx_pwr_lvl_is_present = 1;
    rsp.tx_pwr_lvl = BLE_HS_ADV_TX_PWR_LVL_AUTO;

    int rc = ble_gap_adv_set_fields(&adv);
    if (rc != 0) {
        ESP_LOGE(TAG, "ble_gap_adv_set_fields: %d", rc);
        return rc;
    }
    rc = ble_gap_adv_rsp_set_fields(&rsp);
    if (rc != 0) {
        ESP_LOGE(TAG, "ble_gap_adv_rsp_set_fields: %d", rc);
        return rc;
    }
    struct ble_gap_adv_params params;
    memset(&params, 0, sizeof(params));
    params.conn_mode = BLE_GAP_CONN_MODE_UND;
    params.disc_mode = BLE_GAP_DISC_MODE_GEN;
    rc = ble_gap_adv_start(o->own_addr_type, NULL, BLE_HS_FOREVER, &params, gap_event, NULL);
    if (rc != 0 && rc != BLE_HS_EALREADY) {
        ESP_LOGE(TAG, "ble_gap_adv_start: %d", rc);
        return rc;
    }
    return 0;
}

static int gap_event(struct ble_gap_event *event, void *arg)
{
    ble_ota_ctx_t *o = g_ble_ota;
    switch (event->type) {
    case BLE_GAP_EVENT_CONNECT:
        if (event->connect.status == 0) {
            uint16_t conn = event->connect.conn_handle;
            ESP_LOGI(TAG, "connected, conn %u", conn);
            ble_ota_core_on_connect(&o->core, conn, ble_att_mtu(conn));
            request_fast_link(conn);
        } else {
            ESP_LOGW(TAG, "connect failed (%d), advertising again", event->connect.status);
            ble_ota_gap_advertise();
        }
        return 0;

    case BLE_GAP_EVENT_DISCONNECT: {
        uint16_t conn = event->disconnect.conn.conn_handle;
        ESP_LOGI(TAG, "disconnected, conn %u, reason 0x%x", conn, event->disconnect.reason);
        ble_ota_core_on_disconnect(&o->core, conn); /* aborts an update this central owned */
        ble_ota_gatt_set_subscribed(conn, false);
        if (ble_ota_core_state(&o->core) != BLE_OTA_STATE_RESTARTING) {
            ble_ota_gap_advertise();
        }
        return 0;
    }

    case BLE_GAP_EVENT_MTU:
        ESP_LOGI(TAG, "conn %u MTU %u", event->mtu.conn_handle, event->mtu.value);
        ble_ota_core_on_mtu(&o->core, event->mtu.conn_handle, event->mtu.value);
        return 0;

    case BLE_GAP_EVENT_SUBSCRIBE:
        if (event->subscribe.attr_handle == ble_ota_gatt_control_handle()) {
            ble_ota_gatt_set_subscribed(event->subscribe.conn_handle, event->subscribe.cur_notify);
        }
        return 0;

    case BLE_GAP_EVENT_ENC_CHANGE: {
        struct ble_gap_conn_desc desc;
        uint16_t conn = event->enc_change.conn_handle;
        bool encrypted = event->enc_change.status == 0 && ble_gap_conn_find(conn, &desc) == 0 &&
                         desc.sec_state.encrypted && desc.sec_state.bonded;
        ESP_LOGI(TAG, "conn %u encryption %s (status %d)", conn, encrypted ? "on" : "off", event->enc_change.status);
        ble_ota_core_on_encryption_change(&o->core, conn, encrypted);
        return 0;
    }

    case BLE_GAP_EVENT_REPEAT_PAIRING: {
        /* The central lost its bond and pairs again: forget ours, as NimBLE's bleprph does. */
        struct ble_gap_conn_desc desc;
        if (ble_gap_conn_find(event->repeat_pairing.conn_handle, &desc) == 0) {
            ble_store_util_delete_peer(&desc.peer_id_addr);
        }
        return BLE_GAP_REPEAT_PAIRING_RETRY;
    }

    case BLE_GAP_EVENT_ADV_COMPLETE:
        ble_ota_gap_advertise();
        return 0;

    default:
        return 0;
    }
}

void ble_ota_gap_on_sync(void)
{
    ble_ota_ctx_t *o = g_ble_ota;
    int rc = ble_hs_util_ensure_addr(0);
    if (rc == 0) {
        rc = ble_hs_id_infer_auto(0, &o->own_addr_type);
    }
    if (rc == 0) {
        rc = ble_ota_gap_advertise();
    }
    if (rc != 0) {
        ESP_LOGE(TAG, "BLE host synced but advertising failed: %d", rc);
        return; /* ble_ota_init() times out and does not mark the image valid */
    }
    ESP_LOGI(TAG, "advertising as \"%s\"", o->name);
    xSemaphoreGive(o->ready);
}

void ble_ota_gap_on_reset(int reason)
{
    ESP_LOGW(TAG, "BLE host reset, reason %d", reason);
}
