/* Loads libble_ota_host.so the way P/Invoke does (dlopen + dlsym by name),
 * checks that the ABI is exported and internals are not, and runs a REQUEST. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#include "ble_ota_host.h"

#define NEED(name)                                                  \
    do {                                                            \
        if (dlsym(lib, #name) == NULL) {                            \
            printf("missing export: %s\n", #name);                  \
            return 1;                                               \
        }                                                           \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    NEED(bo_host_abi_version); NEED(bo_host_create); NEED(bo_host_destroy);
    NEED(bo_host_connect); NEED(bo_host_set_mtu); NEED(bo_host_disconnect); NEED(bo_host_is_connected);
    NEED(bo_host_write); NEED(bo_host_read); NEED(bo_host_subscribe); NEED(bo_host_take_notification);
    NEED(bo_host_state); NEED(bo_host_last_error); NEED(bo_host_bytes_received);
    NEED(bo_host_restart_pending); NEED(bo_host_restart_delay_ms); NEED(bo_host_advance_ms);
    NEED(bo_host_reboot); NEED(bo_host_running_slot); NEED(bo_host_boot_slot); NEED(bo_host_slot_state);
    NEED(bo_host_slot_image_valid); NEED(bo_host_read_running_image); NEED(bo_host_running_version);
    NEED(bo_host_read_slot); NEED(bo_host_install_image); NEED(bo_host_set_max_packet_size);
    NEED(bo_host_set_chip_id); NEED(bo_host_set_self_test_result); NEED(bo_host_fail_write_at);
    NEED(bo_host_fail_erase_at); NEED(bo_host_fail_set_boot); NEED(bo_host_fail_begin);
    NEED(bo_host_nor_violations); NEED(bo_host_erase_count);
    NEED(bo_host_set_window); NEED(bo_host_set_compression); NEED(bo_host_set_ring_size);
    NEED(bo_host_set_writer_paused); NEED(bo_host_ring_fill); NEED(bo_host_stream_offset);
    NEED(bo_host_set_require_encryption); NEED(bo_host_set_encrypted);
    NEED(bo_host_fail_base_read_at); NEED(bo_host_corrupt_stored_at); NEED(bo_host_done_readback_bytes);
    if (dlsym(lib, "ble_ota_core_init") != NULL || dlsym(lib, "bo_sha256") != NULL) {
        printf("internal symbols leak out of the library\n");
        return 1;
    }

    int32_t (*abi)(void) = (int32_t (*)(void))dlsym(lib, "bo_host_abi_version");
    bo_host_t *(*create)(uint32_t) = (bo_host_t * (*)(uint32_t)) dlsym(lib, "bo_host_create");
    int32_t (*connect)(bo_host_t *, uint16_t) = (int32_t (*)(bo_host_t *, uint16_t))dlsym(lib, "bo_host_connect");
    int32_t (*subscribe)(bo_host_t *, int32_t, int32_t) =
        (int32_t (*)(bo_host_t *, int32_t, int32_t))dlsym(lib, "bo_host_subscribe");
    int32_t (*write)(bo_host_t *, int32_t, int32_t, const uint8_t *, uint32_t) =
        (int32_t (*)(bo_host_t *, int32_t, int32_t, const uint8_t *, uint32_t))dlsym(lib, "bo_host_write");
    int32_t (*take)(bo_host_t *, int32_t *, uint8_t *, uint32_t) =
        (int32_t (*)(bo_host_t *, int32_t *, uint8_t *, uint32_t))dlsym(lib, "bo_host_take_notification");
    void (*destroy)(bo_host_t *) = (void (*)(bo_host_t *))dlsym(lib, "bo_host_destroy");

    if (abi() != BO_HOST_ABI_VERSION) {
        printf("abi version %d\n", (int)abi());
        return 1;
    }
    bo_host_t *h = create(1024u * 1024u);
    int32_t c = connect(h, 247);
    subscribe(h, c, 1);
    uint8_t req = 0x01, note = 0;
    int32_t st = write(h, c, BO_HOST_CHAR_CONTROL, &req, 1);
    int32_t n = take(h, NULL, &note, 1);
    destroy(h);
    dlclose(lib);
    if (st != 0 || n != 1 || note != 0x02) {
        printf("REQUEST: status %d, notification len %d value 0x%02x\n", (int)st, (int)n, note);
        return 1;
    }
    printf("ok: %s exports ABI v%d\n", argv[1], BO_HOST_ABI_VERSION);
    return 0;
}
