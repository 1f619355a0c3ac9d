#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds the release preset and runs the main job. Arguments go to dmakit;
# with none it runs `dmakit run`, the built-in default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release --target dmakit
if [ $# -eq 0 ]; then set -- run; fi
exec build/release/apps/dmakit "$@"
