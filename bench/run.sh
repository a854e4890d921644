#!/bin/sh
# Runs every benchmark program; each prints its own table. Timings are for
# this machine only; ratios are measured side by side in one run.
BUILD=${BUILD:-build}
set -e
for b in "$BUILD"/bench/bench_*; do
    case "$b" in *.o|*.d) continue;; esac
    [ -x "$b" ] || continue
    "$b"
    echo
done
