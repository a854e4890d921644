#!/bin/sh
# run.sh of the gpu-check bundle (make gpu-check; docs/PERFORMANCE.md, "GPU check"): everything
# the CUDA backend needs checked on a real GPU, in one command, time-boxed (GPU_CHECK_BUDGET
# seconds in all, default 460), ending with one short table:
#   1. the device: nvidia-smi -L, the driver; the GPU machine's cuBLAS 13 found (toolkit dirs,
#      PyTorch's nvidia wheels, ldconfig); bench_train --probe (a product and a reduction on
#      the device). When the bundled binaries cannot use this machine's CUDA (another cuBLAS
#      major, an older driver) and it has nvcc, they are relinked here from rebuild/. When
#      its glibc is older than the binaries need, they run through the bundled lib/glibc.
#   2. parity: tests/cli/cuda_parity.sh's runs (lora, dora, full, darts2, darts1, every3,
#      phase2; configs/tiny.ini, 20 steps, dropout 0.1) on backend=cpu and backend=cuda,
#      compared by cmp_runs at 1e-4, and a darts2 checkpoint resumed across (cpu -> cuda,
#      cuda -> cpu) against the CPU continuing its own;
#   3. bench_train --backend cuda (MiniLM-L6 and BERT-base shapes, batch 32 x 128: full, lora,
#      dora, darts2, darts1, every4; fp32 and tf32 = on), then bench/torch_peft_bench.py
#      (PyTorch + PEFT LoRA and DoRA, and plain full fine-tuning, the same shapes, fp32 and TF32);
#   4. compute-sanitizer memcheck and racecheck on 3-step LoRA and BiDoRA darts2 runs (the
#      bundled one, or the machine's; skipped with a note when there is none);
#   5. the table: PASS/FAIL per check, and per shape our ms/step, PEFT's, and the targets
#      (our LoRA / PEFT LoRA <= 0.5, DoRA / LoRA <= 1.10, darts2 / LoRA <= 3.0, peak device
#      memory of our LoRA / PEFT's <= 0.6, BiDoRA's / our LoRA's <= 1.10).
# Everything lands in results/ beside this script, and in $OUT when that is set (the device
# tool brings $OUT back). Exit 0 when every check and target passed, 1 otherwise.
#
# Without a GPU it stops at step 1 with "no CUDA device: ...". GPU_CHECK_DRY=1 instead runs
# the plumbing on the CPU (the "cuda" runs on backend=cpu, a 1-step bench, no sanitizer), to
# try the script itself: its numbers mean nothing.
# Knobs: GPU_CHECK_BUDGET (s), GPU_CHECK_STEPS (timed steps of bench_train, default 10),
# GPU_CHECK_TORCH_STEPS (default 10), PYTHON (default python3), GPU_CHECK_REBUILD=1 (relink with
# this machine's nvcc and cuBLAS even when the bundled binaries work).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE" || exit 1
BUDGET=${GPU_CHECK_BUDGET:-460}
STEPS=${GPU_CHECK_STEPS:-10}
TSTEPS=${GPU_CHECK_TORCH_STEPS:-10}
PY=${PYTHON:-python3}
DRY=${GPU_CHECK_DRY:-0}
START=$(date +%s)
R=$HERE/results
rm -rf "$R"
mkdir -p "$R/runs"
W=$(mktemp -d "${TMPDIR:-/tmp}/bidora-gpu-check.XXXXXX") || exit 1
CHECKS=$R/checks.tsv
CSV=$R/bench.csv
: >"$CHECKS"
TOL=1e-4

elapsed() { echo $(($(date +%s) - START)); }
left() { echo $((BUDGET - $(elapsed))); }
# box N [RESERVE]: N seconds, or what is left of the budget less RESERVE (at least 5)
box() {
    b=$(($(left) - ${2:-20}))
    [ "$b" -gt "$1" ] && b=$1
    [ "$b" -lt 5 ] && b=5
    echo "$b"
}
if command -v timeout >/dev/null 2>&1; then tmo() { s=$1; shift; timeout -k 5 "$s" "$@"; }
else tmo() { shift; "$@"; }; echo "(no timeout(1) here: the steps are not time-boxed)"; fi
row() {
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$CHECKS"
    echo "[$2] $1: $3"
}
say() { echo "== $* ($(elapsed) s)"; }

# ---------------------------------------------------------------- 1. the device
find_cuda_libs() {
    # dirs holding libcublas.so.13 and libcublasLt.so.13 (the bundled binaries' sonames)
    dirs=
    for d in ${CUDA_HOME:+$CUDA_HOME/lib64} ${CUDA_PATH:+$CUDA_PATH/lib64} /usr/local/cuda/lib64 \
        $(ls -d /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib 2>/dev/null | sort -r) \
        /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
        dirs="$dirs $d"
    done
    # PyTorch's CUDA wheels: site-packages/nvidia/cu13/lib, nvidia/cublas/lib, ...
    for p in $("$PY" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null); do
        for d in "$p"/nvidia/*/lib; do [ -d "$d" ] && dirs="$dirs $d"; done
    done
    for f in $(ldconfig -p 2>/dev/null | awk '/libcublas(Lt)?\.so\.13 /{print $NF}'); do dirs="$dirs $(dirname "$f")"; done
    CUDA_LD=
    for lib in libcublas.so.13 libcublasLt.so.13; do
        for d in $dirs; do
            if [ -e "$d/$lib" ]; then
                case ":$CUDA_LD:" in *":$d:"*) ;; *) CUDA_LD=${CUDA_LD:+$CUDA_LD:}$d ;; esac
                break
            fi
        done
    done
    CUDA_DIRS=$dirs
}

# the bundled binaries, run through the bundled glibc when this machine's is too old
set_bins() {
    BD_ENV="env LD_LIBRARY_PATH=${CUDA_LD}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    LOADER=
    if ! $BD_ENV "$BINDIR/cmp_runs" 2>"$W/try.err" >/dev/null && grep -q 'GLIBC_' "$W/try.err"; then
        LOADER="$HERE/lib/glibc/$(ls "$HERE/lib/glibc" | grep '^ld-linux' | head -1) --library-path $HERE/lib/glibc:$HERE/lib:$CUDA_LD"
        echo "this machine's glibc ($(ldd --version 2>/dev/null | head -1)) is too old: using the bundled one"
    fi
    BIDORA="$BD_ENV $LOADER $BINDIR/bidora"
    BENCH="$BD_ENV $LOADER $BINDIR/bench_train"
    CMP="$BD_ENV $LOADER $HERE/cmp_runs"
}

probe() {
    tmo 90 $BENCH --probe >"$W/probe.out" 2>&1
    st=$?
    PROBE=$(tr '\n' ' ' <"$W/probe.out" | sed 's/ *$//' | cut -c1-300)
    return $st
}

# Relink bidora and bench_train with this machine's nvcc, cudart and cuBLAS (rebuild/).
rebuild() {
    nvcc=$(command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -r | head -1)
    [ -n "$nvcc" ] && [ -x "$nvcc" ] || { echo "no nvcc here to relink with"; return 1; }
    tk=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
    cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
    [ -n "$cc" ] || cc=90
    echo "relinking with $nvcc ($("$nvcc" --version | tail -2 | head -1)) for sm_$cc"
    B=$W/rebuild
    mkdir -p "$B"
    for f in rebuild/kernels/*.cu; do
        o=$B/$(basename "$f" .cu).o
        tmo 240 "$nvcc" -std=c++17 -O3 -Irebuild/src -Irebuild/kernels -gencode "arch=compute_$cc,code=sm_$cc" \
            -c "$f" -o "$o" >"$o.log" 2>&1 &
    done
    wait
    for f in rebuild/kernels/*.cu; do
        o=$B/$(basename "$f" .cu).o
        [ -s "$o" ] || { echo "nvcc failed on $f:"; tail -5 "$o.log"; return 1; }
    done
    cublas=; cudart=
    for d in "$tk/lib64" "$tk/lib" "$tk/targets/x86_64-linux/lib" $CUDA_DIRS; do
        [ -n "$cublas" ] || cublas=$(ls "$d"/libcublas.so "$d"/libcublas.so.[0-9]* 2>/dev/null | head -1)
        [ -n "$cudart" ] || cudart=$(ls "$d"/libcudart_static.a 2>/dev/null | head -1)
    done
    [ -n "$cublas" ] || { echo "no libcublas.so found to link with"; return 1; }
    [ -n "$cudart" ] || { echo "no libcudart_static.a found to link with"; return 1; }
    CUDA_LD=$(dirname "$cublas")
    # (linked by the host compiler nvcc uses, which takes libraries by path)
    cxx=${CXX:-g++}
    for prog in bidora:main.o bench_train:bench_train.o; do
        tmo 240 "$cxx" -o "$B/${prog%%:*}" "rebuild/${prog#*:}" rebuild/libbidora.a "$B"/*.o -Wl,--no-as-needed \
            "$HERE"/lib/*.so* "$cublas" "$cudart" -Wl,--disable-new-dtags,-rpath,"$HERE/lib:$CUDA_LD",-rpath-link,"$HERE/lib" \
            -lstdc++ -lpthread -lm -ldl -lrt >"$B/link.log" 2>&1 || { echo "linking ${prog%%:*} failed:"; tail -5 "$B/link.log"; return 1; }
    done
    BINDIR=$B
    set_bins
}

stage_device() {
    say "device"
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >"$R/nvidia-smi.txt" 2>&1 && grep -q '^GPU' "$R/nvidia-smi.txt"; then
        cat "$R/nvidia-smi.txt"
        nvidia-smi >>"$R/nvidia-smi.txt" 2>&1
        GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
        DRV_CUDA=$(sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' "$R/nvidia-smi.txt" | head -1)
        echo "GPU 0: $GPU; the driver supports CUDA ${DRV_CUDA:-?}"
    else
        GPU=
        if command -v nvidia-smi >/dev/null 2>&1; then echo "nvidia-smi -L: $(head -2 "$R/nvidia-smi.txt" | tr '\n' ' ')"
        else echo "nvidia-smi: not found"; fi
    fi
    find_cuda_libs
    echo "cuBLAS 13 from: ${CUDA_LD:-(not found: libcublas.so.13 / libcublasLt.so.13)}"
    BINDIR=$HERE
    set_bins
    if [ "${GPU_CHECK_REBUILD:-0}" = 1 ]; then
        rebuild || { row device FAIL "GPU_CHECK_REBUILD=1: the relink failed"; return 1; }
        echo "relinked: $BINDIR/bidora, $BINDIR/bench_train"
    fi
    if [ -z "$GPU" ] && [ ! -e /dev/nvidia0 ]; then
        if [ "$DRY" = 1 ]; then
            row device SKIP "no CUDA device: no GPU here (nvidia-smi finds none); GPU_CHECK_DRY=1: the cuda runs use backend=cpu"
            return 0
        fi
        probe
        row device FAIL "no CUDA device: nvidia-smi finds no GPU and there is no /dev/nvidia0 (probe: $PROBE)"
        return 1
    fi
    if probe; then
        row device PASS "$PROBE"
        return 0
    fi
    echo "the bundled binaries do not run on this GPU: $PROBE"
    cp "$W/probe.out" "$W/probe.first"
    if rebuild && probe; then
        row device PASS "$PROBE (relinked here with this machine's CUDA: the bundled build failed: $(head -c 200 "$W/probe.first" 2>/dev/null))"
        return 0
    fi
    row device FAIL "no CUDA device usable: $PROBE (driver CUDA ${DRV_CUDA:-?}; the bundle needs CUDA 13: driver >= 580 and libcublas.so.13, or nvcc here to relink)"
    return 1
}

# ---------------------------------------------------------------- 2. parity
CUDA_BE=cuda
base() { echo "-c configs/tiny.ini out_dir=$W max_steps=20 eval_every=10 checkpoint_every=10 dropout=0.1"; }

cmp_detail() { # cmp_runs' output -> "metrics 2.1e-07 (step 5 train/loss), weights 3e-07 (NAME)"
    sed -n 's/^metrics: [0-9]* rows, largest relative difference \([^ ]*\) (\(step [0-9]* [^:]*\).*/metrics \1 (\2)/p; t
             s/^metrics: [0-9]* rows, largest relative difference \([^ ]*\).*/metrics \1/p
             s/^weights: [0-9]* tensors, largest relative difference \(.*\)/weights \1/p' "$1" |
        sed 's/base_model\.model\.//; s/bert\.encoder\.//; s/ ()$//' | tr '\n' ';' | sed 's/;$//; s/;/, /g'
}

parity() {
    name=$1; shift
    t=$(box 60 300)
    if ! tmo "$t" $BIDORA train $(base) run_name="$name-cpu" backend=cpu "$@" 2>"$W/$name-cpu.err"; then
        row "parity $name" FAIL "the CPU run: $(tail -1 "$W/$name-cpu.err")"; return
    fi
    t=$(box 60 300)
    if ! tmo "$t" $BIDORA train $(base) run_name="$name-cuda" backend=$CUDA_BE "$@" 2>"$W/$name-cuda.err"; then
        row "parity $name" FAIL "the CUDA run: $(tail -1 "$W/$name-cuda.err")"; return
    fi
    if [ "$CUDA_BE" = cuda ] && ! grep -q 'training on .*(sm_' "$W/$name-cuda/log.txt"; then
        row "parity $name" FAIL "the cuda run did not train on the GPU: $(grep -m1 'training on' "$W/$name-cuda/log.txt")"; return
    fi
    $CMP "$W/$name-cpu" "$W/$name-cuda" $TOL >"$W/$name.cmp" 2>&1
    st=$?
    cp "$W/$name.cmp" "$R/runs/"
    if [ $st = 0 ]; then row "parity $name" PASS "$(cmp_detail "$W/$name.cmp")"
    else row "parity $name" FAIL "$(grep -v 'largest' "$W/$name.cmp" | head -2 | tr '\n' ' ')$(cmp_detail "$W/$name.cmp")"; fi
}

stage_parity() {
    say "parity: the CPU against CUDA, tiny model, 20 steps, dropout 0.1, tolerance $TOL"
    parity lora method=lora
    parity dora method=dora
    parity full method=full
    parity darts2 method=bidora hypergrad=darts2
    parity darts1 method=bidora hypergrad=darts1
    parity every3 method=bidora upper_every=3
    parity phase2 method=bidora max_steps=14 retrain_steps=6
    [ -d "$W/darts2-cpu" ] && [ -d "$W/darts2-cuda" ] || { row "resume across backends" SKIP "no darts2 runs to resume"; return; }
    for pair in cpu:cpu cpu:cuda cuda:cpu; do
        from=${pair%%:*}; to=${pair##*:}
        cp -r "$W/darts2-$from" "$W/resume-$from-$to"
        be=$to; [ "$to" = cuda ] && be=$CUDA_BE
        tmo "$(box 60 280)" $BIDORA train --resume "$W/resume-$from-$to" max_steps=30 backend=$be 2>"$W/resume-$from-$to.err"
        echo $? >"$W/resume-$from-$to.st"
    done
    for pair in cpu-cuda cuda-cpu; do
        n="resume ${pair%%-*} -> ${pair##*-} (steps 11-30)"
        for p2 in cpu-cpu $pair; do
            [ "$(cat "$W/resume-$p2.st")" = 0 ] || { row "$n" FAIL "the resume ${p2%%-*} -> ${p2##*-}: exit $(cat "$W/resume-$p2.st"): $(tail -1 "$W/resume-$p2.err")"; continue 2; }
        done
        if [ "$pair" = cpu-cuda ] && [ "$CUDA_BE" = cuda ] && ! grep -q "backend cpu -> cuda" "$W/resume-cpu-cuda/log.txt"; then
            row "$n" FAIL "the resume on CUDA did not log the backend change (backend cpu -> cuda)"; continue
        fi
        $CMP "$W/resume-cpu-cpu" "$W/resume-$pair" $TOL 11 >"$W/resume-$pair.cmp" 2>&1
        st=$?
        cp "$W/resume-$pair.cmp" "$R/runs/"
        if [ $st = 0 ]; then row "$n" PASS "$(cmp_detail "$W/resume-$pair.cmp")"
        else row "$n" FAIL "$(grep -v 'largest' "$W/resume-$pair.cmp" | head -2 | tr '\n' ' ')$(cmp_detail "$W/resume-$pair.cmp")"; fi
    done
}

# ---------------------------------------------------------------- 3. benchmarks
stage_bench() {
    methods=full,lora,dora,darts2,darts1,every4
    shapes="minilm bert-base"
    precs="fp32 tf32"
    bsteps=$STEPS; warm=3; be=cuda
    if [ "$DRY" = 1 ]; then methods=lora,dora,darts2; shapes=minilm; precs=fp32; bsteps=1; warm=0; be=cpu; fi
    say "bench_train --backend $be: $shapes, $precs, batch 32 x 128, $bsteps timed steps after $warm warm-up"
    for prec in $precs; do
        for shape in $shapes; do
            flag=; [ "$prec" = tf32 ] && flag=--tf32
            t=$(box 150 200)
            tmo "$t" $BENCH --backend $be $flag --steps $bsteps --warmup $warm --methods $methods --csv "$CSV" $shape \
                >>"$R/bench_train.txt" 2>&1
            st=$?
            [ $st = 0 ] || echo "bench_train $shape $prec: exit $st$([ $st = 124 ] && echo " (timed out after $t s)")" | tee -a "$R/bench_train.txt"
        done
    done
    cat "$R/bench_train.txt"
    # the +-eps rows and the cheaper upper steps, when there is time (fp32, BERT-base)
    if [ "$DRY" != 1 ] && [ "$(left)" -gt 300 ]; then
        tmo "$(box 60 240)" $BENCH --backend cuda --steps $bsteps --warmup $warm --methods lora,darts2-q,darts1-h,pm-2xB,pm-2B \
            bert-base >"$R/bench_train_extra.txt" 2>&1
        cat "$R/bench_train_extra.txt"
    fi
}

stage_torch() {
    say "PyTorch + PEFT"
    for c in "$PY" python3 python; do
        if "$c" -c 'import torch, transformers, peft' >"$W/torch.err" 2>&1; then PY=$c; break; fi
    done
    if ! "$PY" -c 'import torch, transformers, peft' >"$W/torch.err" 2>&1; then
        row "PyTorch + PEFT" SKIP "$PY cannot import torch, transformers, peft: $(tail -1 "$W/torch.err")"
        return
    fi
    dev=cuda; [ "$DRY" = 1 ] && dev=cpu
    extra=; [ "$DRY" = 1 ] && extra="--shapes minilm --methods lora --steps 1 --warmup 0"
    tmo "$(box 150 100)" "$PY" bench/torch_peft_bench.py --device $dev --methods lora,dora,full --steps "$TSTEPS" --warmup 3 \
        --csv "$CSV" $extra >"$R/torch_peft.txt" 2>&1
    st=$?
    cat "$R/torch_peft.txt"
    [ $st = 0 ] || row "PyTorch + PEFT" FAIL "torch_peft_bench.py: exit $st$([ $st = 124 ] && echo ' (timed out)'): $(tail -1 "$R/torch_peft.txt")"
    # PEFT with eager attention, as our attention is (informative; sdpa is transformers' default)
    if [ "$DRY" != 1 ] && [ "$(left)" -gt 250 ]; then
        tmo "$(box 60 190)" "$PY" bench/torch_peft_bench.py --device cuda --attn eager --methods lora,dora --steps "$TSTEPS" \
            --warmup 3 --csv "$CSV" >"$R/torch_peft_eager.txt" 2>&1
        cat "$R/torch_peft_eager.txt"
    fi
}

# ---------------------------------------------------------------- 4. compute-sanitizer
stage_sanitizer() {
    say "compute-sanitizer"
    san=
    own=$(command -v compute-sanitizer 2>/dev/null || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer 2>/dev/null | head -1)
    # the bundled one matches the bundled binaries' CUDA 13; the machine's matches a relinked build
    if [ "$BINDIR" = "$HERE" ] && [ -x "$HERE/sanitizer/compute-sanitizer" ]; then san=$HERE/sanitizer/compute-sanitizer
    elif [ -n "$own" ]; then san=$own
    elif [ -x "$HERE/sanitizer/compute-sanitizer" ]; then san=$HERE/sanitizer/compute-sanitizer; fi
    if [ "$DRY" = 1 ] || [ -z "$san" ]; then
        for c in "memcheck lora" "memcheck darts2" "racecheck lora" "racecheck darts2"; do
            row "$c (3 steps)" SKIP "$([ "$DRY" = 1 ] && echo 'dry run' || echo 'no compute-sanitizer (not bundled, none on this machine)')"
        done
        return
    fi
    echo "using $san ($("$san" --version 2>/dev/null | tail -1))"
    for tool in memcheck racecheck; do
        for m in lora darts2; do
            keys="method=lora"; [ $m = darts2 ] && keys="method=bidora hypergrad=darts2"
            n="$tool $m (3 steps)"
            if [ "$(left)" -lt 30 ]; then row "$n" SKIP "out of time (budget $BUDGET s)"; continue; fi
            t=$(box 90 10)
            log=$R/runs/sanitizer-$tool-$m.txt
            tmo "$t" $BD_ENV "$san" --tool $tool --error-exitcode 86 --print-limit 20 $LOADER "$BINDIR/bidora" train \
                -c configs/tiny.ini out_dir="$W" run_name="san-$tool-$m" max_steps=3 eval_every=3 checkpoint_every=3 \
                dropout=0.1 backend=cuda $keys >"$log" 2>&1
            st=$?
            summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1 | sed 's/^=* *//')
            if [ $st = 0 ] && [ -n "$summary" ]; then row "$n" PASS "$summary"
            elif [ $st = 124 ] || [ $st = 137 ]; then row "$n" FAIL "timed out after $t s"
            else row "$n" FAIL "exit $st: ${summary:-no summary}; $(grep -m1 -E 'Invalid|Race|hazard|Error' "$log" | sed 's/^=* *//' | cut -c1-160)"; fi
        done
    done
}

# ---------------------------------------------------------------- 5. the table
summary() {
    echo
    echo "==== bidora gpu-check: ${GPU:-no GPU} | $(head -1 VERSION 2>/dev/null) | $(date -u '+%Y-%m-%d %H:%M UTC') | $(elapsed) s ===="
    awk -F'\t' '{ printf "%-36s %-5s %s\n", $1, $2, substr($3, 1, 150) }' "$CHECKS"
    [ -s "$CSV" ] || { echo "(no benchmark numbers)"; return; }
    awk -F, '
        NR == 1 { next }
        { k = $1 "|" $3 "|" $4 "|" $5; ms[k] = $6; pk[k] = $7; shapes[$3] = 1; precs[$4] = 1 }
        function cell(v, lim, name,    r) {
            if (v == "") { na++; return sprintf("%s n/a", name) }
            r = (v <= lim) ? "PASS" : "FAIL"; if (r == "PASS") pass++; else fail++
            return sprintf("%s %.2f %s", name, v, r)
        }
        function q(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
        function f(v) { return v == "" ? "-" : sprintf("%.1f", v) }
        END {
            ns = split("minilm bert-base", S, " "); np = split("fp32 tf32", P, " ")
            for (i = 1; i <= ns; i++) for (j = 1; j <= np; j++) {
                s = S[i]; p = P[j]; o = "bidora|" s "|" p "|"; t = "peft|" s "|" p "|"
                if (!((o "lora") in ms) && !((t "lora") in ms)) continue
                line = sprintf("%-9s %s ms/step ours:", s, p)
                n = split("full lora dora darts2 darts1 every4", M, " ")
                for (m = 1; m <= n; m++) if ((o M[m]) in ms) line = line sprintf(" %s %s", M[m], f(ms[o M[m]]))
                line = line " | PEFT:"
                n2 = split("lora dora full", M2, " ")
                for (m = 1; m <= n2; m++) if ((t M2[m]) in ms) line = line sprintf(" %s %s", M2[m], f(ms[t M2[m]]))
                print line
                bp = ""
                n3 = split("darts2 darts1 every4", MB, " ")
                for (m = 1; m <= n3; m++) if ((o MB[m]) in pk && (bp == "" || pk[o MB[m]] + 0 > bp + 0)) bp = pk[o MB[m]]
                printf "%-14s %s | %s | %s | %s | %s   (peak MiB: our LoRA %s, PEFT LoRA %s)\n", "",
                    cell(q(ms[o "lora"], ms[t "lora"]), 0.5, "LoRA/PEFT<=0.5"),
                    cell(q(ms[o "dora"], ms[o "lora"]), 1.10, "DoRA/LoRA<=1.10"),
                    cell(q(ms[o "darts2"], ms[o "lora"]), 3.0, "darts2/LoRA<=3.0"),
                    cell(q(pk[o "lora"], pk[t "lora"]), 0.6, "mem LoRA/PEFT<=0.6"),
                    cell(q(bp, pk[o "lora"]), 1.10, "mem BiDoRA/LoRA<=1.10"),
                    pk[o "lora"] == "" ? "-" : sprintf("%.0f", pk[o "lora"] / 1048576),
                    pk[t "lora"] == "" ? "-" : sprintf("%.0f", pk[t "lora"] / 1048576)
            }
            printf "targets: %d PASS, %d FAIL, %d n/a\n", pass, fail, na
            exit (fail > 0)
        }' "$CSV"
}

main() {
    echo "bidora gpu-check: $(cat VERSION 2>/dev/null | tr '\n' ';') budget $BUDGET s"
    if stage_device; then
        [ "$DRY" = 1 ] && CUDA_BE=cpu
        stage_parity
        stage_bench
        stage_torch
        stage_sanitizer
    else
        echo "(no usable CUDA device: the parity, benchmark and sanitizer checks are skipped)"
        # PyTorch's numbers are still worth having when torch can see the GPU
        if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then stage_torch; fi
    fi
    for f in "$W"/*.err "$W"/probe.out; do [ -f "$f" ] && cp "$f" "$R/runs/"; done
    for d in "$W"/*/; do [ -f "$d/log.txt" ] && cp "$d/log.txt" "$R/runs/$(basename "$d").log.txt"; done
    summary >"$R/summary.txt"
    st=$?
    grep -q '	FAIL	' "$CHECKS" && st=1
    cat "$R/summary.txt"
    fails=$(grep -c '	FAIL	' "$CHECKS")
    skips=$(grep -c '	SKIP	' "$CHECKS")
    echo "checks: $(grep -c '	PASS	' "$CHECKS") PASS, $fails FAIL, $skips SKIP; all output in $R${OUT:+ and \$OUT}"
    return $st
}

{ main "$@"; echo $? >"$W/status"; } 2>&1 | tee "$R/log.txt"
st=$(cat "$W/status" 2>/dev/null || echo 1)
rm -rf "$W"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then cp -r "$R" "$OUT/gpu-check-results"; fi
exit "$st"
