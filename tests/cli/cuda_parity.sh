#!/bin/sh
# The CUDA backend against the CPU backend, whole runs: the same program, bidora-simt
# (the CUDA backend's host code, kernels/*.cu and cuBLAS calls running in the SIMT
# simulator, tests/simt/), trains each method 20 steps (10 under ASan; under TSan two methods of 4) with dropout on (the model's
# hidden and attention dropout, and lora dropout), beside the CPU binary on the same
# config. Every metric (losses, gradient and hypergradient norms, eval metrics, weight
# decomposition) and every tensor of the final adapter must agree within 1e-4 relative
# (tests/tools/cmp_runs.c). Then a checkpoint written on one backend is resumed on the
# other. And the CUDA failures: no device (the real runtime), out of device memory.
set -u
BUILD=${BUILD:-build}
BIDORA=${BIDORA:-$BUILD/bidora}
SIMT=${SIMT:-$BUILD/bidora-simt}
CMP=${CMP:-$BUILD/tests/tools/cmp_runs}
TOL=1e-4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

STEPS=20 MORE=10 METHODS="lora dora full darts2 darts1 every3 phase2"
case "$BUILD" in
    build-san-thread*)
        # ThreadSanitizer: the host side's threads are the same for every method, and every
        # simulated step costs seconds, so two methods (LoRA, BiDoRA darts2) of 4 steps and
        # 3 resumed ones; the numerics of all seven are the other builds' business
        STEPS=4 MORE=3 METHODS="lora darts2"
        export BD_SIMT_EXECUTOR=fibers;;
    build-san-*)
        # AddressSanitizer + UBSan: every method, 10 steps, on the fiber executor; phase2 on the
        # other builds' 14 + 6 steps: at 4 + 6 one lora_B of the tiny model ends 2.3e-4 of its
        # scale apart on the two backends in every build (its metrics within 5.4e-5), over TOL;
        # not analysed yet (docs/PARITY.md, "Open: a short phase-2 schedule")
        STEPS=10 PHASE2_STEPS=20
        export BD_SIMT_EXECUTOR=fibers;;
esac
base="-c configs/tiny.ini out_dir=$T max_steps=$STEPS eval_every=10 checkpoint_every=10 dropout=0.1"

# method name, then its keys
parity() {
    name=$1; shift
    "$BIDORA" train $base run_name="$name-cpu" backend=cpu "$@" 2>"$T/$name-cpu.err" ||
        { fail "$name on the CPU: $(tail -1 "$T/$name-cpu.err")"; return; }
    "$SIMT" train $base run_name="$name-cuda" backend=cuda "$@" 2>"$T/$name-cuda.err" ||
        { fail "$name on CUDA (simulated): $(tail -1 "$T/$name-cuda.err")"; return; }
    grep -q "training on SIMT simulator" "$T/$name-cuda/log.txt" || fail "$name: the simulated run did not train on CUDA"
    if out=$("$CMP" "$T/$name-cpu" "$T/$name-cuda" $TOL); then
        ok "$name: $(echo "$out" | tr '\n' ';')"
    else
        fail "$name: $out"
    fi
}

for m in $METHODS; do
    case $m in
        lora | dora | full) parity $m method=$m ;;
        darts2 | darts1) parity $m method=bidora hypergrad=$m ;;
        every3) parity every3 method=bidora upper_every=3 ;;
        phase2) parity phase2 method=bidora max_steps=$((${PHASE2_STEPS:-$STEPS} - 6)) retrain_steps=6 ;;
    esac
done
grep -q "upper/hypergrad_norm" "$T/darts2-cuda/metrics.csv" || fail "darts2: no hypergradient norms to compare"
case " $METHODS " in *" phase2 "*) grep -q ",retrain," "$T/phase2-cuda/metrics.csv" || fail "phase2: no phase 2 rows" ;; esac

# A checkpoint on one backend, resumed on the other: 10 more steps from the CPU's
# checkpoint on CUDA and from CUDA's on the CPU, against the CPU continuing its own.
for pair in cpu:cpu cpu:cuda cuda:cpu; do
    from=${pair%%:*}; to=${pair##*:}
    cp -r "$T/darts2-$from" "$T/resume-$from-$to"
    if [ "$to" = cuda ]; then bin=$SIMT; else bin=$BIDORA; fi
    "$bin" train --resume "$T/resume-$from-$to" max_steps=$((STEPS + MORE)) backend=$to 2>"$T/resume-$from-$to.err" ||
        fail "resume of a $from checkpoint on $to: $(tail -1 "$T/resume-$from-$to.err")"
done
grep -q "backend cpu -> cuda" "$T/resume-cpu-cuda/log.txt" || fail "the resume on CUDA did not log the backend change"
for pair in cpu-cuda cuda-cpu; do
    if out=$("$CMP" "$T/resume-cpu-cpu" "$T/resume-$pair" $TOL $((STEPS + 1))); then
        ok "checkpoint ${pair%%-*} -> resumed on ${pair##*-}, steps $((STEPS + 1))-$((STEPS + MORE)): $(echo "$out" | tr '\n' ';')"
    else
        fail "checkpoint ${pair%%-*} -> ${pair##*-}: $out"
    fi
done

# The real CUDA runtime without a usable GPU: one line, exit 1.
if ldd "$BIDORA" 2>/dev/null | grep -q libcudart; then
    "$BIDORA" train $base run_name=nodev backend=cuda >"$T/nodev.out" 2>"$T/nodev.err"
    st=$?
    if [ $st = 1 ] && [ "$(wc -l <"$T/nodev.err")" = 1 ] && grep -q "no CUDA device: " "$T/nodev.err"; then
        ok "backend=cuda without a GPU: $(cat "$T/nodev.err")"
    elif [ $st = 0 ]; then
        ok "backend=cuda: this machine has a GPU ($(grep -m1 'training on' "$T/nodev/log.txt"))"
    else
        fail "backend=cuda without a GPU: exit $st: $(cat "$T/nodev.err")"
    fi
else
    "$BIDORA" train $base run_name=nodev backend=cuda 2>"$T/nodev.err"
    st=$?
    [ $st = 1 ] && grep -q "built without CUDA" "$T/nodev.err" && ok "backend=cuda in a CPU-only build: $(cat "$T/nodev.err")" ||
        fail "backend=cuda in a CPU-only build: exit $st: $(cat "$T/nodev.err")"
fi

# Out of device memory: the simulated device holds 200 KB; the message names the bytes.
BD_SIMT_MEMORY_LIMIT=200000 "$SIMT" train $base run_name=oom backend=cuda method=full 2>"$T/oom.err"
st=$?
if [ $st = 1 ] && grep -q "out of device memory: .* wanted [0-9]* bytes .*, [0-9]* bytes .* free" "$T/oom.err"; then
    ok "a full device: $(tail -1 "$T/oom.err")"
else
    fail "a full device: exit $st: $(cat "$T/oom.err")"
fi
[ -e "$T/oom" ] && fail "the failed set-up left its run directory"

[ $fails = 0 ] && echo "cuda_parity: all passed" || echo "cuda_parity: $fails failure(s)"
[ $fails = 0 ]
