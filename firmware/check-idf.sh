#!/usr/bin/env bash
# Compile-checks every firmware C source against real ESP-IDF v5 headers with
# the shared idf-check tool (<repo>/../shared/tools/idf-check/check.sh), in
# --strict mode (IDF-like -Werror), for the v5.5.5 (default) and v5.3.2
# (exact NimBLE) header sets, plus the v2 stream with compression on and the
# port with BLE_OTA_REQUIRE_ENCRYPTION on. Exits 0 with a note when the tool is absent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
tool="$repo/../shared/tools/idf-check/check.sh"

if [[ ! -x "$tool" && ! -f "$tool" ]]; then
    echo "idf-check: skipped (tool not found at $tool)"
    exit 0
fi

comp="$here/components/ble_ota"
# Project Kconfig options are not in the tool's sdkconfig.h: pass their defaults.
defs=(
    -D 'CONFIG_BLE_OTA_DEVICE_NAME="esp32-ota"'
    -D CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID=1
    -D CONFIG_BLE_OTA_MAX_PACKET_SIZE=512
    -D CONFIG_BLE_OTA_RESTART_DELAY_MS=500
    -D CONFIG_BLE_OTA_PROGRESS_INTERVAL_MS=250
    -D CONFIG_BLE_OTA_READY_TIMEOUT_MS=5000
    -D CONFIG_BLE_OTA_SEQUENTIAL_ERASE=1
    -D CONFIG_BLE_OTA_WINDOW=16
    -D CONFIG_BLE_OTA_RING_BUFFER_SIZE=16384
    -D CONFIG_BLE_OTA_WRITER_STACK_SIZE=4096
    -D CONFIG_BLE_OTA_WRITER_PRIORITY=5
    -D CONFIG_BLE_OTA_COMPRESSION=0
    -D CONFIG_BLE_OTA_DELTA=1
)
incs=(-I "$comp/include" -I "$comp/core/include" -I "$comp/port")
mapfile -t files < <(cd "$here" && find components main -name '*.c' -not -path '*/test/*' | sort)
status=0
ok_total=0
failed_total=0
# Third pass: the v2 stream with CONFIG_BLE_OTA_COMPRESSION on (the ROM tinfl path, off by default).
# Fourth: the port with CONFIG_BLE_OTA_REQUIRE_ENCRYPTION on (security manager, bond store).
passes=(v5.5.5 v5.3.2 v5.5.5+compression v5.3.2+encryption)
for pass in "${passes[@]}"; do
    idf="${pass%%+*}"
    pass_defs=("${defs[@]}")
    pass_files=("${files[@]}")
    if [[ "$pass" == *+compression ]]; then
        pass_defs=("${defs[@]/CONFIG_BLE_OTA_COMPRESSION=0/CONFIG_BLE_OTA_COMPRESSION=1}")
        pass_files=(components/ble_ota/port/ble_ota_stream.c)
    elif [[ "$pass" == *+encryption ]]; then
        pass_defs+=(-D CONFIG_BLE_OTA_REQUIRE_ENCRYPTION=1)
        mapfile -t pass_files < <(cd "$here" && find components/ble_ota/port -name '*.c' | sort)
    fi
    echo "== ESP-IDF $pass headers, --strict"
    log="$(mktemp)"
    (cd "$here" && bash "$tool" --strict --idf "$idf" "${incs[@]}" "${pass_defs[@]}" "${pass_files[@]}") 2>&1 | tee "$log" || status=1
    summary="$(grep -E 'idf-check: [0-9]+ files? ok, [0-9]+ failed' "$log" | tail -n 1 || true)"
    rm -f "$log"
    if [[ "$summary" =~ ([0-9]+)\ files?\ ok,\ ([0-9]+)\ failed ]]; then
        ok_total=$((ok_total + BASH_REMATCH[1]))
        failed_total=$((failed_total + BASH_REMATCH[2]))
    else
        status=1
    fi
done
# One combined summary last, in the tool's own format, so a failure in either pass shows.
echo "idf-check: ${ok_total} files ok, ${failed_total} failed (ESP-IDF v5.5.5 + v5.3.2 headers, v5.5.5 with compression, v5.3.2 with encryption, --strict)"
if [[ $failed_total -ne 0 ]]; then
    status=1
fi
exit $status
