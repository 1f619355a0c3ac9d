#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes the scenario parser for a bounded time: builds the fuzz preset (clang, libFuzzer,
# AddressSanitizer + UBSan) and runs tests/fuzz/scenario_fuzz for SECONDS (default 60), seeded with
# configs/*.yaml and configs/scenarios/*.yaml. The corpus it grows stays in build/fuzz/corpus for
# the next run. Exits non-zero on a finding, which it leaves in build/fuzz/findings/.
#   scripts/fuzz.sh          60 seconds
#   scripts/fuzz.sh 600      ten minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/bootstrap.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

corpus=build/fuzz/corpus
findings=build/fuzz/findings
mkdir -p "$corpus" "$findings"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
cp configs/*.yaml configs/scenarios/*.yaml "$seeds"/

# -max_len: the largest seed (configs/machine.yaml, 4 KiB) with room to grow. Leaks are findings too.
if ! build/fuzz/tests/fuzz/scenario_fuzz "$corpus" "$seeds" \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -dict=tests/fuzz/scenario.dict -artifact_prefix="$findings/" -print_final_stats=1; then
  echo "fuzz: a finding is in $findings/; reproduce it with" >&2
  echo "  build/fuzz/tests/fuzz/scenario_fuzz $findings/<file>" >&2
  echo "then fix the parser and add the input to tests/sim/scenario_test.cc" >&2
  exit 1
fi
