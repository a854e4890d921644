#!/bin/sh
# Real fine-tuning experiments on the real all-MiniLM-L6-v2 (make model).
#   scripts/experiments.sh readme [OUT]          LoRA, DoRA, full FT on Rotten Tomatoes (make data)
#   scripts/experiments.sh glue GLUE_DIR [OUT]   LoRA, DoRA, BiDoRA (darts2, darts1, upper_every 4,
#                                                and the two cheaper upper steps, below)
#                                                on RTE, RTE-500, RTE-1000 and CoLA, several seeds;
#                                                writes docs/RESULTS.md (with SMALL_OUT's runs)
#   scripts/experiments.sh small [OUT]           the same methods on 500- and 1000-row samples of
#                                                Rotten Tomatoes (make data), scored on 1000 held-out rows
# Each run is `bidora train`; a finished run (adapter/ present) is skipped, so the
# script can be stopped and rerun. Then scripts/summarize.py writes the tables.
# Knobs (environment): SEEDS ("1 2"), STEPS (150), BATCH (16), EVAL_EVERY (50), LR,
# TASKS ("rte500 rte1000 rte cola"), METHODS (all of method_args below); glue only: STEPS_RTE and STEPS_COLA (default STEPS;
# RTE-500/RTE-1000 use STEPS_RTE), LR (5e-4), and eval every quarter of a run's steps.
# Set BIDORA_THREADS=1 OPENBLAS_NUM_THREADS=1 to run two of these side by side, one a core.
set -eu
mode=${1:-}
BIDORA=${BIDORA:-./bidora}
SEEDS=${SEEDS:-"1 2"}
STEPS=${STEPS:-150}
BATCH=${BATCH:-16}
EVAL_EVERY=${EVAL_EVERY:-50}
MODEL=${MODEL:-models/all-MiniLM-L6-v2}
PY=${PYTHON:-python3}
TASKS=${TASKS:-"rte500 rte1000 rte cola"}
METHODS=${METHODS:-"lora dora bidora-darts2 bidora-darts1 bidora-every4 bidora-darts2-q bidora-darts1-h"}

run() { # out_dir run_name args...
    out=$1; name=$2; shift 2
    if [ -f "$out/$name/adapter/adapter_config.json" ] || [ -f "$out/$name/adapter/model.safetensors" ]; then
        echo "== $name: done already"; return 0
    fi
    rm -rf "${out:?}/$name"
    echo "== $name"
    "$BIDORA" train model="$MODEL" out_dir="$out" run_name="$name" "$@" </dev/null
}

# method_args NAME: the keys of one of the compared methods
method_args() {
    case $1 in
    bidora-darts2) echo "method=bidora hypergrad=darts2 upper_every=1" ;;
    bidora-darts1) echo "method=bidora hypergrad=darts1 upper_every=1" ;;
    bidora-every4) echo "method=bidora hypergrad=darts2 upper_every=4" ;;
    # the +-eps passes on a quarter of the lower batch; darts1 on half a val batch
    bidora-darts2-q) echo "method=bidora hypergrad=darts2 upper_every=1 hyper_batch_size=$(( (BATCH + 3) / 4 ))" ;;
    bidora-darts1-h) echo "method=bidora hypergrad=darts1 upper_every=1 val_batch_size=$(( (BATCH + 1) / 2 ))" ;;
    *) echo "method=$1" ;;
    esac
}

case "$mode" in
readme)
    OUT=${2:-runs/readme}
    data=datasets/data/rotten_tomatoes.csv
    [ -f "$data" ] || { echo "experiments: $data is missing: run make data" >&2; exit 1; }
    for seed in $SEEDS; do
        for m in lora dora full; do
            lr=5e-4; [ $m = full ] && lr=5e-5
            run "$OUT" "$m-s$seed" data=$data split=0.8,0,0.2 method=$m seed=$seed lr=$lr \
                max_steps=$STEPS batch_size=32 max_length=64 eval_every=$EVAL_EVERY checkpoint_every=0
        done
    done
    $PY scripts/summarize.py readme "$OUT" >"$OUT/summary.md"
    cat "$OUT/summary.md"
    ;;
small)
    OUT=${2:-runs/small}
    src=datasets/data/rotten_tomatoes.csv
    [ -f "$src" ] || { echo "experiments: $src is missing: run make data" >&2; exit 1; }
    mkdir -p "$OUT/data"
    [ -f "$OUT/data/eval.csv" ] || $PY scripts/holdout.py "$src" 1000 11 "$OUT/data/pool.csv" "$OUT/data/eval.csv"
    for n in 500 1000; do
        [ -f "$OUT/data/rt$n.csv" ] || $PY scripts/subsample.py "$OUT/data/pool.csv" $n 7 "$OUT/data/rt$n.csv"
    done
    for seed in $SEEDS; do
        for task in ${TASKS_SMALL:-rt500 rt1000}; do
            for m in $METHODS; do
                margs=$(method_args $m)
                # shellcheck disable=SC2086
                run "$OUT" "$task-$m-s$seed" data="$OUT/data/$task.csv" eval_data="$OUT/data/eval.csv" split=0.8,0.2,0 \
                    max_length=64 $margs seed=$seed lr=${LR:-1e-3} max_steps=$STEPS batch_size=$BATCH \
                    eval_every=$EVAL_EVERY checkpoint_every=0
            done
        done
    done
    $PY scripts/summarize.py small "$OUT" >"$OUT/summary.md"
    cat "$OUT/summary.md"
    ;;
glue)
    GLUE=${2:?usage: experiments.sh glue GLUE_DIR [OUT]}
    OUT=${3:-runs/glue}
    mkdir -p "$OUT/data"
    # the small-data regime: seeded subsamples of RTE's training set
    for n in 500 1000; do
        [ -f "$OUT/data/rte$n.csv" ] || $PY scripts/subsample.py "$GLUE/rte/train.csv" $n 7 "$OUT/data/rte$n.csv"
    done
    for seed in $SEEDS; do
        for task in $TASKS; do
            case $task in
            rte*) train="$GLUE/rte/train.csv"; [ $task != rte ] && train="$OUT/data/$task.csv"
                  cols="text_column=sentence1 text_pair_column=sentence2 label_column=label max_length=128"
                  dev="$GLUE/rte/dev.csv"; steps=${STEPS_RTE:-$STEPS} ;;
            cola) train="$GLUE/cola/train.csv"; dev="$GLUE/cola/dev.csv"
                  cols="text_column=sentence label_column=label max_length=64"; steps=${STEPS_COLA:-$STEPS} ;;
            *) echo "experiments: unknown task $task (rte500, rte1000, rte, cola)" >&2; exit 1 ;;
            esac
            every=$((steps / 4)); [ "$every" -ge 1 ] || every=1
            for m in $METHODS; do
                margs=$(method_args $m)
                # shellcheck disable=SC2086
                run "$OUT" "$task-$m-s$seed" data="$train" eval_data="$dev" split=0.8,0.2,0 $cols $margs \
                    seed=$seed lr=${LR:-5e-4} max_steps=$steps batch_size=$BATCH eval_every=$every checkpoint_every=0
            done
        done
    done
    $PY scripts/summarize.py glue "$OUT" >"$OUT/summary.md"
    cat "$OUT/summary.md"
    # docs/RESULTS.md: these runs and the small-data ones (SMALL_OUT, default runs/small)
    mkdir -p docs
    $PY scripts/summarize.py results "${SMALL_OUT:-runs/small}" "$OUT" >docs/RESULTS.md.tmp
    mv docs/RESULTS.md.tmp docs/RESULTS.md
    echo "experiments: wrote docs/RESULTS.md"
    ;;
*)
    sed -n '2,9p' "$0" >&2
    exit 1
    ;;
esac
