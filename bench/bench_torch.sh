#!/bin/sh
# bench_torch.sh (make bench-torch): bidora's CPU backend against PyTorch + PEFT on this machine,
# side by side in one run (issue 17). Not part of make test or CI.
#
# Items: lora, dora, full (one training step), darts2 (one BiDoRA iteration), eval-fixed (inference
# of one batch of 32 x 128) and eval-text (inference of the first 512 rows of rotten_tomatoes.csv):
# bidora's side is build/bench/bench_train and bench_eval (linked here without the CUDA libraries,
# as on a machine without nvcc: BENCH_BIN), PyTorch's bench/torch_peft_bench.py; both on the real
# all-MiniLM-L6-v2, batch 32 x 128, rank 4 on query,value, the same threads (BIDORA_THREADS or the
# online CPUs). For ROUNDS rounds, every item runs on both sides, each in a process of its own
# (peak memory = that process's ru_maxrss), bidora first in odd rounds and PyTorch first in even
# ones. Ends with one table: per item the median over rounds of each side's median step (or pass)
# time, the median of the per-round ratios bidora/PyTorch and each round's, the worst round's
# step-to-step spread (max |t_i - median| / median) on each side, peak MiB and its ratio, and the
# trainable parameters on each side (the model's parameters for the eval items); then issue 17's
# targets: time ratio <= 0.8, memory ratio <= 0.6, bidora's spread <= 5%. Every round also runs
# bench_noise (bench/bench_noise.c: the same fixed arithmetic on every thread, no bidora code): its
# spread is the machine's own floor, printed under the table, since no program's spread on this
# machine can be smaller than what a fixed loop shows in the same minutes: --kind fma (arithmetic
# in registers) and --kind gemm (one OpenBLAS product of MiniLM's FFN shape, repeated).
#
# Environment: ROUNDS (3), STEPS (timed steps or passes per run, 5), WARMUP (untimed ones first, 1),
# ITEMS (all six, space or comma separated), TORCH_VENV (./.venv-torch: made from PyPI when missing,
# torch==2.15.0 transformers==5.24.0 peft==0.21.2, a ~5 GB download), BUILD (build), BENCH_BIN
# (the bench programs' folder, $BUILD/bench-cpu), OUT_CSV ($BUILD/bench-torch.csv: every run's
# row), LOG_DIR ($BUILD/bench-torch-logs: every run's output).
ME=bench-torch
cd "$(dirname "$0")/.." || exit 1
. scripts/lib.sh

BUILD=${BUILD:-build}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench-cpu}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-1}
ITEMS=$(echo "${ITEMS:-lora dora full darts2 eval-fixed eval-text}" | tr ',' ' ')
TORCH_VENV=${TORCH_VENV:-$PWD/.venv-torch}
OUT_CSV=${OUT_CSV:-$BUILD/bench-torch.csv}
LOG_DIR=${LOG_DIR:-$BUILD/bench-torch-logs}
PINS="torch==2.15.0 transformers==5.24.0 peft==0.21.2"
MODEL=models/all-MiniLM-L6-v2
DATA=datasets/data/rotten_tomatoes.csv

for v in ROUNDS STEPS WARMUP; do
    x=
    eval "x=\$$v"
    case "$x" in '' | *[!0-9]*) die "$v=$x: want a whole number" ;; esac
done
[ "$ROUNDS" -ge 1 ] || die "ROUNDS=$ROUNDS: want 1 or more"
[ "$STEPS" -ge 1 ] || die "STEPS=$STEPS: want 1 or more"
for it in $ITEMS; do
    case "$it" in lora | dora | full | darts2 | eval-fixed | eval-text) ;;
    *) die "ITEMS: unknown item '$it' (lora dora full darts2 eval-fixed eval-text)" ;; esac
done

# ---- what it needs: the model, the data, the bench programs, the venv
[ -r "$MODEL/model.safetensors" ] || die "$MODEL/model.safetensors is missing (run: make model)"
[ -r "$DATA" ] || die "$DATA is missing (run: make data)"
for b in bench_train bench_eval bench_noise; do
    [ -x "$BENCH_BIN/$b" ] || die "$BENCH_BIN/$b is missing (run: make bench-torch, which builds it)"
done
PY=$TORCH_VENV/bin/python
if [ ! -x "$PY" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found: install it with scripts/install_deps.sh"
    echo "$ME: no venv at $TORCH_VENV: creating it from PyPI ($PINS; a ~5 GB download, most of it torch's CUDA wheels)"
    python3 -m venv "$TORCH_VENV" ||
        die "python3 -m venv $TORCH_VENV failed (on Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086 # the pins are three words
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$PY" -m pip install $PINS ||
        die "pip could not install $PINS into $TORCH_VENV (is PyPI reachable? see pip's output above; rm -rf $TORCH_VENV to start over)"
fi
versions=$("$PY" -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)' 2>"$BUILD/bench-torch.err") ||
    die "$PY cannot import torch, transformers, peft: $(tail -1 "$BUILD/bench-torch.err") (rm -rf $TORCH_VENV and rerun to reinstall)"
rm -f "$BUILD/bench-torch.err"
case "$versions" in
"torch 2.15.0"*" transformers 5.24.0 peft 0.21.2") ;;
*) echo "$ME: note: $TORCH_VENV has $versions, not the pinned $PINS" ;;
esac

# ---- the runs
mkdir -p "$LOG_DIR" || die "cannot create $LOG_DIR"
THREADS=${BIDORA_THREADS:-$(getconf _NPROCESSORS_ONLN)}
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- bench src 2>/dev/null || echo '+changes')
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "round,first,side,impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable,spread_pct,times_ms" >"$OUT_CSV" ||
    die "cannot write $OUT_CSV"
echo "bench-torch: $ROUNDS rounds of $ITEMS; $STEPS timed steps (passes) after $WARMUP warm-up a run"
echo "  bidora $COMMIT ($BENCH_BIN), $versions ($TORCH_VENV); $THREADS threads; ${CPU:-CPU ?}, $(getconf _NPROCESSORS_ONLN) online"
failed=0

# run_cmd SIDE ITEM CSV: one item on one side, in processes of its own; its row appended to CSV
run_cmd() {
    if [ "$1" = machine ]; then
        "$BENCH_BIN/bench_noise" --kind "${2#noise-}" --steps "$STEPS" --warmup "$WARMUP" --csv "$3"
        return
    fi
    if [ "$1" = torch ]; then
        "$PY" bench/torch_peft_bench.py --device cpu --shapes minilm --methods "$2" --steps "$STEPS" \
            --warmup "$WARMUP" --csv "$3"
        return
    fi
    case "$2" in
    eval-fixed) "$BENCH_BIN/bench_eval" --fixed --no-sgemm --passes "$STEPS" --warmup "$WARMUP" --csv "$3" ;;
    eval-text) "$BENCH_BIN/bench_eval" --no-sgemm --passes "$STEPS" --warmup "$WARMUP" --csv "$3" ;;
    *) "$BENCH_BIN/bench_train" --no-sgemm --steps "$STEPS" --warmup "$WARMUP" --methods "$2" --csv "$3" minilm ;;
    esac
}

# run_side ROUND FIRST SIDE ITEM: run_cmd with its output to a log; the row, after ROUND, FIRST
# and SIDE, to OUT_CSV, and one line here
run_side() {
    log=$LOG_DIR/r$1-$4-$3.txt
    tmp=$LOG_DIR/r$1-$4-$3.csv
    rm -f "$tmp"
    run_cmd "$3" "$4" "$tmp" >"$log" 2>&1
    st=$?
    row=$(tail -n +2 "$tmp" 2>/dev/null | tail -1)
    if [ $st != 0 ] || [ -z "$row" ]; then
        printf '  round %s %-10s %-6s FAILED (exit %s): %s (log: %s)\n' "$1" "$4" "$3" "$st" \
            "$(grep -v '^ *$' "$log" | tail -1)" "$log"
        failed=$((failed + 1))
        return
    fi
    echo "$1,$2,$3,$row" >>"$OUT_CSV"
    # the row: impl,backend,shape,precision,method,ms,peak_bytes,trainable,spread_pct,times_ms
    echo "$row" | awk -F, -v r="$1" -v it="$4" -v s="$3" '{
        printf "  round %s %-10s %-6s %9.1f ms  spread %5.1f%%  peak %5.0f MiB  params %s  (%s)\n", r, it, s, $6, $9,
            $7 / 1048576, $8, $10 }'
}

r=1
while [ $r -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then order="bidora torch"; else order="torch bidora"; fi
    first=${order%% *}
    for it in $ITEMS; do
        for side in $order; do run_side $r "$first" "$side" "$it"; done
    done
    run_side $r "$first" machine noise-fma
    run_side $r "$first" machine noise-gemm
    r=$((r + 1))
done

# ---- the table (from OUT_CSV)
echo
echo "==== bench-torch: bidora / PyTorch + PEFT, $ROUNDS rounds x $STEPS steps, $THREADS threads | $COMMIT | $(date -u '+%Y-%m-%d %H:%M UTC') ===="
awk -F, -v items="$ITEMS" -v rounds="$ROUNDS" '
    NR == 1 { next }
    # round,first,side,impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable,spread_pct,times_ms
    { k = $8 SUBSEP $3; n[k]++; ms[k, n[k]] = $9; pk[k, n[k]] = $10; tr[k] = $11
      if (!(k in sp) || $12 + 0 > sp[k]) sp[k] = $12 + 0
      rms[$8, $3, $1] = $9; rsp[$8, $3, $1] = $12 }
    # the median of the n values v[1..n] (the mean of the two middle ones for an even n)
    function median(v, cnt,    i, j, t) {
        for (i = 2; i <= cnt; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
    }
    function med_of(arr, k,    i, c, v) { c = n[k]; for (i = 1; i <= c; i++) v[i] = arr[k, i]; return median(v, c) }
    function mark(ok) { return ok ? "met" : "NOT met" }
    END {
        printf "%-10s %10s %10s %7s  %-20s %13s %13s %6s %21s  %s\n", "item", "bidora ms", "torch ms", "ratio",
            "ratio per round", "spread b/t %", "peak MiB b/t", "mem", "params b/t", "targets: time <= 0.8, mem <= 0.6, spread <= 5%"
        ni = split(items, I, " ")
        for (i = 1; i <= ni; i++) {
            it = I[i]; kb = it SUBSEP "bidora"; kt = it SUBSEP "torch"
            if (!n[kb] || !n[kt]) { printf "%-10s (no result on %s: see the FAILED lines above)\n", it, !n[kb] ? "bidora" : "PyTorch"; nf++; continue }
            mb = med_of(ms, kb); mt = med_of(ms, kt); pb = med_of(pk, kb); pt = med_of(pk, kt)
            c = 0; per = ""
            for (r = 1; r <= rounds; r++) if (((it, "bidora", r) in rms) && ((it, "torch", r) in rms) && rms[it, "torch", r] > 0) {
                q[++c] = rms[it, "bidora", r] / rms[it, "torch", r]; per = per (per == "" ? "" : " ") sprintf("%.2f", q[c]) }
            ratio = median(q, c); split("", q)
            mr = pb / pt
            t1 = ratio <= 0.8; t2 = mr <= 0.6; t3 = sp[kb] <= 5
            met += t1 + t2 + t3; tot += 3
            printf "%-10s %10.1f %10.1f %7.2f  %-20s %6.1f/%-6.1f %6.0f/%-6.0f %6.2f %10s/%-10s  %s, %s, %s\n", it, mb, mt,
                ratio, per, sp[kb], sp[kt], pb / 1048576, pt / 1048576, mr, tr[kb], tr[kt], mark(t1), mark(t2), mark(t3)
        }
        printf "targets met: %d of %d%s\n", met, tot, nf ? sprintf(" (%d items without a result)", nf) : ""
        split("fma gemm", NK, " ")
        for (x = 1; x <= 2; x++) {
            m = "noise-" NK[x]; kn = m SUBSEP "machine"
            if (!n[kn]) continue
            per = ""
            for (r = 1; r <= rounds; r++) if ((m, "machine", r) in rsp) per = per (per == "" ? "" : " ") sprintf("%.1f", rsp[m, "machine", r])
            printf "machine noise floor, %s: spread per round %s %%, worst %.1f%%%s\n",
                NK[x] == "fma" ? "fixed arithmetic in registers on every thread" : "one fixed OpenBLAS sgemm 4096 x 1536 x 384 repeated",
                per, sp[kn], (sp[kn] > 5 ? ": above the 5% target" : "")
        }
        print "(ms: the median over rounds of each run'"'"'s median step, or pass: eval-fixed one batch of 32 x 128, eval-text the"
        print " 512 rows; ratio: the median of the per-round ratios, both sides of a round run back to back; spread: the"
        print " worst round'"'"'s max |t_i - median| / median; peak: ru_maxrss of the process; params: trainable, the eval"
        print " items the model'"'"'s)"
    }' "$OUT_CSV"
echo "rows: $OUT_CSV; every run's output: $LOG_DIR/"
[ "$failed" = 0 ] || { echo "$ME: $failed runs failed (see above)" >&2; exit 1; }
