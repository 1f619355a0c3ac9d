#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes for a bounded time: builds the fuzz preset (clang, libFuzzer, AddressSanitizer + UBSan)
# and runs each target for SECONDS (default 60), seeded with configs/*.yaml and
# configs/scenarios/*.yaml:
#   scenario_fuzz  the scenario parser alone (tests/fuzz/scenario_fuzz.cc)
#   run_fuzz       a whole run: the machines built from the scenario and a few hundred I/Os on them
#                  (tests/fuzz/run_fuzz.cc), each input within -timeout and -rss_limit_mb
# The corpus each grows stays in build/fuzz/corpus/TARGET for the next run. Exits non-zero on a
# finding, which it leaves in build/fuzz/findings/.
#   scripts/fuzz.sh          60 seconds each
#   scripts/fuzz.sh 600      ten minutes each
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/bootstrap.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

findings=build/fuzz/findings
mkdir -p "$findings"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
cp configs/*.yaml configs/scenarios/*.yaml "$seeds"/

# -max_len: the largest seed (configs/devices.yaml, 7 KiB) with room to grow. Leaks are findings
# too. A run input is capped to a few hundred I/Os (run_fuzz.cc) and takes well under a second, so
# 10 s is a hang; 2 GiB of RSS is a machine that costs the host more than its configuration says.
status=0
for target in scenario_fuzz run_fuzz; do
  corpus=build/fuzz/corpus/$target
  mkdir -p "$corpus"
  echo "fuzz: $target for $seconds s"
  if ! "build/fuzz/tests/fuzz/$target" "$corpus" "$seeds" \
      -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -dict=tests/fuzz/scenario.dict -artifact_prefix="$findings/$target-" -print_final_stats=1; then
    echo "fuzz: $target found something; it is in $findings/; reproduce it with" >&2
    echo "  build/fuzz/tests/fuzz/$target $findings/<file>" >&2
    echo "then fix it and add the input to tests/sim/fuzz_regression_test.cc" >&2
    status=1
  fi
done
exit $status
