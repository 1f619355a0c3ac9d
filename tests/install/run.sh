#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the build tree BUILD into a scratch prefix, then builds and runs an outside project
# against it twice: with CMake's find_package(dmakit), and with pkg-config and the C compiler alone;
# and runs the installed tool, its man page and its bash completion.
#   run.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$scratch/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/consumer" >/dev/null
"$scratch/consumer/consumer"
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig:$scratch/prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -std=c11 -o "$scratch/consumer-pc" "$src/tests/install/consumer.c" $(pkg-config --cflags --libs dmakit)
"$scratch/consumer-pc"
p=$scratch/prefix
"$p/bin/dmakit" --version | grep -q '^dmakit [0-9]'
grep -q '^\.TH DMAKIT "1"' "$p/share/man/man1/dmakit.1"
words=$(PATH="$p/bin:$PATH" bash -c '. "$1"; COMP_WORDS=(dmakit b); COMP_CWORD=1; _dmakit
  echo "${COMPREPLY[*]}"' _ "$p/share/bash-completion/completions/dmakit")
[ "$words" = bench ]
