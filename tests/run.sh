#!/bin/sh
# Runs every test program (cmocka, one per tests/test_*.c) and every
# command-line test (tests/cli/*.sh), then prints one closing line:
# "N passed, N failed". Exit status 1 if any failed.
BUILD=${BUILD:-build}
export BUILD
export BIDORA="$PWD/$BUILD/bidora"
# Under ThreadSanitizer the simulator runs a block's threads as TSan fibers, ordered only by
# its barriers (its default there is one OS thread each: 100x slower); test_simt_race and
# test_simt_self still check that a missing __syncthreads() is reported either way.
case "$BUILD" in build-san-thread*) export BD_SIMT_EXECUTOR=${BD_SIMT_EXECUTOR:-fibers};; esac
pass=0; fail=0; failed=""
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.o|*.d) continue;; esac
    name=$(basename "$t")
    if out=$("$t" 2>&1); then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name"; echo "$out" | tail -40
    fi
done
for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    if out=$(sh "$t" 2>&1); then
        pass=$((pass + 1)); echo "PASS cli/$name"
    else
        fail=$((fail + 1)); failed="$failed cli/$name"; echo "FAIL cli/$name"; echo "$out" | tail -40
    fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
