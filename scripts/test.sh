#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds a preset (default: release) and runs every test in it.
#   scripts/test.sh               release build, all tests
#   scripts/test.sh asan-ubsan    the same suite under AddressSanitizer + UBSan
#   scripts/test.sh tsan          the same suite under ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
scripts/bootstrap.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j "$(nproc)"
