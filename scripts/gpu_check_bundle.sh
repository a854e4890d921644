#!/bin/sh
# Lays out $BUILD/gpu-check/ and $BUILD/gpu-check.tar.gz from the binaries mk/gpu-check.mk
# linked into $BUILD/gpu-check-bin/ (run by `make gpu-check`; docs/PERFORMANCE.md, "GPU check").
#
#   bidora bench_train cmp_runs   CUDA backend built in (cudart static), RPATH $ORIGIN/lib
#   lib/                          every library `ldd` names for them but glibc's (libc, libm,
#                                 libpthread, libdl, librt, ld-linux), libstdc++/libgcc_s and
#                                 CUDA's (libcudart, libcublas, libcublasLt, libcuda)
#   lib/glibc/                    this machine's glibc, used by run.sh only where the GPU
#                                 machine's glibc is too old for the binaries (through its
#                                 ld-linux; see run.sh)
#   sanitizer/                    compute-sanitizer (from the toolkit here or, when it has none,
#                                 the pinned PyPI wheel nvidia-cuda-sanitizer-api, fetched once
#                                 into $BUILD/; GPU_CHECK_FETCH=0 skips the fetch)
#   rebuild/                      main.o, bench_train.o, libbidora.a, kernels/*.cu and the
#                                 headers: run.sh relinks with the GPU machine's own nvcc and
#                                 cuBLAS when the bundled binaries cannot use its CUDA
#   configs/tiny.ini tests/ref/tiny_bert tests/ref/tiny.csv bench/torch_peft_bench.py run.sh VERSION
#
# libstdc++ and libgcc_s are left to the GPU machine: the binaries need only GLIBCXX_3.4 and
# CXXABI_1.3.9 (any libstdc++ since gcc 5; PyTorch's machines have newer ones), while this
# machine's libstdc++ needs GLIBC_2.36, which would make the bundle fail on an older glibc
# (Ubuntu 22.04 has 2.35) that the binaries themselves (GLIBC_2.34 at most) run on.
set -eu
BUILD=${BUILD:-build}
SRC=$BUILD/gpu-check-bin
D=$BUILD/gpu-check
TAR=$BUILD/gpu-check.tar.gz
MAX_MIB=60
SAN_PKG=nvidia-cuda-sanitizer-api
SAN_VER=13.0.85
SAN_WHEEL=nvidia_cuda_sanitizer_api-13.0.85-py3-none-manylinux_2_25_x86_64.whl
SAN_SHA256=b1efff95f63b6fe40dc83801d598550542364393957775912a1abf396904331c

die() { echo "gpu-check: $*" >&2; exit 1; }
for b in bidora bench_train cmp_runs; do [ -x "$SRC/$b" ] || die "$SRC/$b is missing (run make gpu-check)"; done

rm -rf "$D" "$TAR"
mkdir -p "$D/lib/glibc" "$D/configs" "$D/tests/ref" "$D/bench" "$D/rebuild/kernels" "$D/rebuild/src"
cp "$SRC/bidora" "$SRC/bench_train" "$SRC/cmp_runs" "$D/"

# ---- shared libraries ----
missing=$(for b in bidora bench_train cmp_runs; do ldd "$D/$b"; done | grep 'not found' | grep -v 'libcublas' || true)
[ -z "$missing" ] || die "unresolved libraries: $missing"
for b in bidora bench_train cmp_runs; do ldd "$D/$b"; done |
    awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $1 ~ /^\/.*ld-linux/ { print "ld-linux", $1 }' | sort -u |
    while read -r name path; do
        case $name in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*) cp -L "$path" "$D/lib/glibc/$name" ;;
        ld-linux) cp -L "$path" "$D/lib/glibc/$(basename "$path")" ;;
        ld-linux*|libgcc_s.so.*|libstdc++.so.*) ;;
        libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libnvidia*) ;;
        *) cp -L "$path" "$D/lib/$name" ;;
        esac
    done
# every library but the excluded ones now resolves inside the bundle
for b in bidora bench_train cmp_runs; do
    LD_LIBRARY_PATH=$D/lib ldd "$D/$b" | awk -v lib="$(cd "$D/lib" && pwd)" '
        $2 == "=>" && $1 !~ /^(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+|libcuda|libcudart|libcublas|libcublasLt)\.so/ &&
        index($3, lib) != 1 { print "  " $0; bad = 1 } END { exit bad }' ||
        die "$b: the libraries above do not resolve inside $D/lib"
done

# ---- compute-sanitizer ----
san_dir=
san=${COMPUTE_SANITIZER:-}
[ -n "$san" ] || san=$(command -v compute-sanitizer 2>/dev/null || true)
for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -n "$san" ] || { [ -x "$c" ] && san=$c; } || true
done
if [ -n "$san" ]; then
    san_dir=$(dirname "$(readlink -f "$san")")
    # the toolkit's bin/compute-sanitizer is a link or wrapper to ../compute-sanitizer/
    [ -e "$san_dir/libsanitizer-collection.so" ] || [ ! -d "$san_dir/../compute-sanitizer" ] || san_dir=$san_dir/../compute-sanitizer
    mkdir -p "$D/sanitizer"
    cp -L "$san_dir"/compute-sanitizer "$san_dir"/*.so "$D/sanitizer/" 2>/dev/null || true
    echo "gpu-check: compute-sanitizer from $san_dir"
else
    whl=$BUILD/$SAN_WHEEL
    if [ ! -f "$whl" ] && [ "${GPU_CHECK_FETCH:-1}" != 0 ]; then
        echo "gpu-check: no compute-sanitizer here; fetching $SAN_PKG $SAN_VER from PyPI (GPU_CHECK_FETCH=0 skips)"
        timeout 180 python3 -m pip download --quiet --no-deps "$SAN_PKG==$SAN_VER" -d "$BUILD" >&2 ||
            echo "gpu-check: the fetch failed: the bundle has no compute-sanitizer (run.sh uses the GPU machine's, if any)"
    fi
    if [ -f "$whl" ]; then
        echo "$SAN_SHA256  $whl" | sha256sum -c --status || die "$whl: sha256 mismatch (delete it and rerun)"
        tmp=$(mktemp -d)
        python3 -m zipfile -e "$whl" "$tmp"
        mkdir -p "$D/sanitizer"
        # one flat directory, as the toolkit lays it out (the wheel has the collection twice)
        cp "$tmp"/nvidia/cu13/bin/compute-sanitizer "$tmp"/nvidia/cu13/lib/*.so "$D/sanitizer/"
        chmod +x "$D/sanitizer/compute-sanitizer"
        rm -rf "$tmp"
        echo "gpu-check: compute-sanitizer $SAN_VER from the wheel $SAN_WHEEL"
    fi
fi

# ---- relinking on the GPU machine, if needed ----
cp "$BUILD/src/cli/main.o" "$BUILD/bench/bench_train.o" "$BUILD/libbidora.a" "$D/rebuild/"
cp kernels/*.cu kernels/*.h "$D/rebuild/kernels/"
cp src/*/*.h "$D/rebuild/src/" # flat: the kernels include them by name

# ---- data, scripts ----
cp configs/tiny.ini "$D/configs/"
cp -r tests/ref/tiny_bert "$D/tests/ref/"
cp tests/ref/tiny.csv "$D/tests/ref/"
cp bench/torch_peft_bench.py "$D/bench/"
cp scripts/gpu_check_run.sh "$D/run.sh"
{
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src kernels bench tests/tools 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "built $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n), $(ldd --version | head -1), $("$(dirname "$(readlink -f "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")"/nvcc --version | tail -2 | head -1)"
} >"$D/VERSION"

tar -C "$(dirname "$D")" -czf "$TAR" "$(basename "$D")"
mib() { du -sm "$1" | cut -f1; }
size=$(stat -c %s "$TAR")
echo "gpu-check: $D ($(mib "$D") MiB: lib $(mib "$D/lib") MiB$([ -d "$D/sanitizer" ] && echo ", sanitizer $(mib "$D/sanitizer") MiB" || echo ", no compute-sanitizer")), $TAR $((size / 1048576)) MiB"
[ "$size" -lt $((MAX_MIB * 1048576)) ] || die "$TAR is $((size / 1048576)) MiB, above $MAX_MIB MiB"
echo "gpu-check: on the GPU machine: tar xzf $TAR -C /tmp && sh /tmp/gpu-check/run.sh"
