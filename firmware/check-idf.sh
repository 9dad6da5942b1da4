#!/usr/bin/env bash
# Developer check (not run by CI): builds the firmware project with a real ESP-IDF, the one IDF_PATH names,
# for each target and each configuration below, with IDF's own compiler and warning flags, and links the app.
# Every firmware source must compile without an error or a warning, and every app must link.
#
#   . $IDF_PATH/export.sh          # IDF_PATH, and the toolchains on PATH
#   firmware/check-idf.sh          # esp32c3; or name targets: firmware/check-idf.sh esp32 esp32c3 esp32h2
#
# Builds go to out/firmware/idf/<target>-<config>/ (IDF_CHECK_BUILD_DIR moves them), never into firmware/.
# The last line is "idf-check: N files ok, N failed (...)": per configuration, one file per firmware source
# (its object) and one for the linked app. Exit 0 when all pass, 1 when any failed, 2 when it cannot run.
# Without IDF_PATH it says it skipped and exits 0.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

if [[ -z "${IDF_PATH:-}" ]]; then
    echo "idf-check: skipped (IDF_PATH is not set; run '. \$IDF_PATH/export.sh' of an ESP-IDF v5.1+ tree first)"
    exit 0
fi
if [[ ! -f "$IDF_PATH/tools/cmake/project.cmake" || ! -f "$IDF_PATH/tools/cmake/version.cmake" ]]; then
    echo "idf-check: IDF_PATH=$IDF_PATH is not an ESP-IDF tree (no tools/cmake/project.cmake)" >&2
    exit 2
fi
for tool in cmake ninja; do
    if ! command -v "$tool" >/dev/null; then
        echo "idf-check: $tool not found on PATH; ESP-IDF's export.sh puts it there" >&2
        exit 2
    fi
done
# IDF's build runs its Python tools with $PYTHON, else "python" (export.sh's virtual environment).
python="${PYTHON:-$(command -v python || command -v python3 || true)}"
if [[ -z "$python" ]]; then
    echo "idf-check: no Python found (PYTHON, python or python3); ESP-IDF's export.sh sets one up" >&2
    exit 2
fi
idf_version="v$(sed -n 's/^set(IDF_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))$/\2/p' "$IDF_PATH/tools/cmake/version.cmake" | paste -sd.)"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(esp32c3)
fi

# Each configuration is sdkconfig.defaults plus these lines. "encryption" also turns the component's other
# default-on options off, so every #if branch of the component is compiled by one configuration or another.
# "suspend" is sdkconfig.auto_suspend (the larger ring and a delta update's smaller one; a target that cannot
# auto-suspend ignores it). The default includes compression (an 8 KB inflater and ring against the RAM asserts).
configs=(default encryption suspend)
config_lines() {
    case "$1" in
    default) ;;
    suspend) grep '^CONFIG_' "$here/sdkconfig.auto_suspend" ;;
    encryption)
        printf '%s\n' CONFIG_BLE_OTA_REQUIRE_ENCRYPTION=y CONFIG_BT_NIMBLE_NVS_PERSIST=y \
            CONFIG_BLE_OTA_SEQUENTIAL_ERASE=n CONFIG_BLE_OTA_ADVERTISE_SERVICE_UUID=n CONFIG_BLE_OTA_DELTA=n \
            CONFIG_BLE_OTA_COMPRESSION=n
        ;;
    esac
}

# The firmware's sources and the object IDF's build makes of each: esp-idf/<component>/CMakeFiles/__idf_<component>.dir/<path>.obj
mapfile -t sources < <(cd "$here" && find main components -name '*.c' -not -path '*/test/*' | sort)
object_of() {
    local src="$1" component path
    if [[ "$src" == main/* ]]; then
        component=main
        path="${src#main/}"
    else
        path="${src#components/}"
        component="${path%%/*}"
        path="${path#*/}"
    fi
    echo "esp-idf/$component/CMakeFiles/__idf_$component.dir/$path.obj"
}

build_root="${IDF_CHECK_BUILD_DIR:-$repo/out/firmware/idf}"
ok=0
failed=0
linked=0
builds=0
for target in "${targets[@]}"; do
    for config in "${configs[@]}"; do
        builds=$((builds + 1))
        build="$build_root/$target-$config"
        log="$build/check.log"
        mkdir -p "$build"
        config_lines "$config" >"$build/sdkconfig.check"
        rm -f "$build/sdkconfig" # start from the defaults every time, as a fresh idf.py build would
        echo "== ESP-IDF $idf_version, $target, $config ($build)"
        if ! cmake -G Ninja -S "$here" -B "$build" -DIDF_TARGET="$target" -DPYTHON="$python" \
            -DPYTHON_DEPS_CHECKED=1 -DSDKCONFIG="$build/sdkconfig" \
            -DSDKCONFIG_DEFAULTS="$here/sdkconfig.defaults;$build/sdkconfig.check" >"$log" 2>&1; then
            tail -n 30 "$log"
            echo "   configure failed; log: $log"
            failed=$((failed + ${#sources[@]} + 1))
            continue
        fi
        # Recompile the firmware's own sources every run, so their warnings are printed again.
        for src in "${sources[@]}"; do
            rm -f "$build/$(object_of "$src")"
        done
        ninja -C "$build" -k 0 >>"$log" 2>&1
        for src in "${sources[@]}"; do
            obj="$(object_of "$src")"
            problems="$(grep -E "(^|/)${src//./\\.}:[0-9]+:[0-9]+: (warning|error)" "$log" | sort -u)"
            if [[ -z "$problems" ]] && ninja -C "$build" "$obj" >/dev/null 2>&1; then
                ok=$((ok + 1))
            else
                failed=$((failed + 1))
                echo "   FAILED $src"
                if [[ -n "$problems" ]]; then
                    echo "$problems" | head -n 10 | sed 's/^/     /'
                else
                    echo "     not compiled: the build stopped before it, or it is in no CMakeLists.txt SRCS list; log: $log"
                fi
            fi
        done
        # A warning or error in one of the firmware's headers counts once per header.
        while IFS= read -r header; do
            failed=$((failed + 1))
            echo "   FAILED ${header#"$here"/}"
            grep -F "$header:" "$log" | grep -E ': (warning|error)' | sort -u | head -n 10 | sed 's/^/     /'
        done < <(grep -oE "^$here/[^:]+\.h(:[0-9]+){2}: (warning|error)" "$log" | sed -E 's/(:[0-9]+){2}: (warning|error)$//' | sort -u)
        if ninja -C "$build" app >/dev/null 2>&1 && [[ -f "$build/ble_ota_demo.elf" ]]; then
            ok=$((ok + 1))
            linked=$((linked + 1))
            echo "   ok: $(grep -o 'ble_ota_demo.bin binary size [^.]*' "$log" | tail -n 1)"
        else
            failed=$((failed + 1))
            echo "   FAILED ble_ota_demo.elf (the app does not build or link); log: $log"
            grep -E '(: error|undefined reference)' "$log" | head -n 10 | sed 's/^/     /'
        fi
    done
done

echo "idf-check: $ok files ok, $failed failed (ESP-IDF $idf_version; ${targets[*]}: ${configs[*]}; $linked of $builds apps linked)"
[[ $failed -eq 0 ]]
