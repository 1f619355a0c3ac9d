#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds a preset (default: release) and runs every test in it.
#   scripts/test.sh                    release build, all tests
#   scripts/test.sh asan-ubsan         the same suite under AddressSanitizer + UBSan
#   scripts/test.sh tsan               the same suite under ThreadSanitizer
#   scripts/test.sh tsan concurrency   only the tests of one ctest label, and only their binaries
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
label=${2:-}
scripts/bootstrap.sh
cmake --preset "$preset" >/dev/null
if [ -n "$label" ]; then
  cmake --build --preset "$preset" --target "${label}_tests"
  ctest --preset "$preset" -j "$(nproc)" -L "^${label}\$"
else
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j "$(nproc)"
fi
