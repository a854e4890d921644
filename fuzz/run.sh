#!/bin/sh
# Builds every fuzz/fuzz_*.c harness with clang's libFuzzer (+ASan/UBSan)
# against the library sources and runs each for FUZZ_SECONDS (default 120).
# Crashes land in fuzz/crash-*; corpora in fuzz/corpus-NAME (seeded from fuzz/seeds/NAME).
# FUZZ_ONLY=NAME (e.g. ini) builds and runs that harness alone; fuzz/NAME.dict,
# when there, is passed as the libFuzzer dictionary.
set -e
SECS=${FUZZ_SECONDS:-120}
ONLY=${FUZZ_ONLY:-}
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/io -Isrc/backend -Isrc/model -Isrc/train -Isrc/cli $(pkg-config --cflags jansson libutf8proc openblas)"
LIBS="$(pkg-config --libs jansson libutf8proc openblas) -lcsv -lpthread -lm"
mkdir -p build/fuzz
for h in fuzz/fuzz_*.c; do
    name=$(basename "$h" .c | sed 's/^fuzz_//')
    [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || continue
    srcs=$(ls src/*/*.c | grep -v src/cli/main.c)
    clang $CFLAGS "$h" $srcs -o "build/fuzz/$name" $LIBS
    mkdir -p "fuzz/corpus-$name"
    [ -d "fuzz/seeds/$name" ] && cp -n fuzz/seeds/"$name"/* "fuzz/corpus-$name/" 2>/dev/null || true
    echo "== fuzzing $name for ${SECS}s"
    dict=""
    [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
    "build/fuzz/$name" -max_total_time="$SECS" $dict -artifact_prefix=fuzz/crash-"$name"- "fuzz/corpus-$name"
done
