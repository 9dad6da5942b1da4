#!/usr/bin/env bash
# Host build + tests of the BLE OTA protocol core (no ESP32 toolchain needed).
# Builds into <repo>/out/firmware/host, runs CTest, exits non-zero on failure.
# Also leaves <repo>/out/firmware/host/libble_ota_host.so for the C# tests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$repo/out/firmware/host"
jobs="$(nproc 2>/dev/null || echo 2)"

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE="${BLEOTA_HOST_BUILD_TYPE:-Debug}" >/dev/null
cmake --build "$build" --parallel "$jobs"
cd "$build"
ctest --output-on-failure --parallel "$jobs" "$@"
