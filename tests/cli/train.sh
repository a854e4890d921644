#!/bin/sh
# `bidora train` end to end on the tiny reference model: the run directory,
# the adapter (evaluated back with `bidora eval --adapter`), resume after a
# signal giving the same curve as an uninterrupted run, a diverging run
# stopping with a message, and bad configuration refused with one line.
set -u
BIDORA=${BIDORA:-./bidora}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

base="-c configs/tiny.ini out_dir=$T"

# 1. a complete run directory, for each method
for m in lora dora bidora full; do
    if "$BIDORA" train $base method=$m run_name=$m max_steps=12 retrain_steps=3 2>"$T/$m.err"; then
        d="$T/$m"
        missing=""
        for f in config.ini metrics.csv log.txt checkpoint/state.bin; do [ -s "$d/$f" ] || missing="$missing $f"; done
        if [ $m = full ]; then want="config.json model.safetensors vocab.txt"; else want="adapter_config.json adapter_model.safetensors labels.json"; fi
        for f in $want; do [ -s "$d/adapter/$f" ] || missing="$missing adapter/$f"; [ -s "$d/best/$f" ] || missing="$missing best/$f"; done
        [ -z "$missing" ] && ok "$m: run directory complete" || fail "$m: missing$missing"
        grep -q "^[0-9.]*,12,train,train/loss," "$d/metrics.csv" || [ $m = bidora ] || fail "$m: no train/loss at step 12"
    else
        fail "$m: bidora train exited $?: $(cat "$T/$m.err")"
    fi
done
grep -q ",15,retrain,train/loss," "$T/bidora/metrics.csv" && ok "bidora: phase 2 rows marked retrain" || fail "bidora: no retrain rows"
grep -q "upper/hypergrad_norm" "$T/bidora/metrics.csv" && grep -q "val/loss" "$T/bidora/metrics.csv" \
    && ok "bidora: upper-level metrics" || fail "bidora: upper-level metrics missing"
grep -q "wd/layer.0.query/dD" "$T/lora/metrics.csv" && grep -q "wd/layer.1.value/dM" "$T/full/metrics.csv" \
    && grep -q ",wd/query/k," "$T/bidora/metrics.csv" && grep -q ",wd/value/k," "$T/full/metrics.csv" \
    && ok "weight-decomposition metrics and slopes" || fail "weight-decomposition metrics missing"

# the cheaper upper step: the keys reach config.ini, and M still moves (upper-level metrics written)
if "$BIDORA" train $base method=bidora run_name=cheap max_steps=6 val_batch_size=2 hyper_batch_size=1 2>"$T/cheap.err" \
    && grep -q "^val_batch_size = 2$" "$T/cheap/config.ini" && grep -q "^hyper_batch_size = 1$" "$T/cheap/config.ini" \
    && [ "$(grep -c ',upper/hypergrad_norm,' "$T/cheap/metrics.csv")" = 6 ]; then
    ok "bidora with val_batch_size 2, hyper_batch_size 1: 6 upper steps"
else
    fail "cheap upper step: $(cat "$T/cheap.err")"
fi
grep -q "^hyper_batch_size = 4$" "$T/bidora/config.ini" && ok "hyper_batch_size defaults to batch_size" \
    || fail "hyper_batch_size default: $(grep batch_size "$T/bidora/config.ini")"

# the shipped configurations parse and run (default.ini pointed at the tiny model: no downloads)
"$BIDORA" train -c configs/default.ini model=tests/ref/tiny_bert data=tests/ref/tiny.csv max_length=64 \
    batch_size=4 max_steps=3 eval_every=0 out_dir="$T" run_name=default 2>"$T/def.err" \
    && ok "configs/default.ini runs" || fail "configs/default.ini: $(cat "$T/def.err")"

# 2. the adapter evaluates back, and a full fine-tune is a model directory
"$BIDORA" eval --model tests/ref/tiny_bert --adapter "$T/dora/adapter" --data tests/ref/tiny.csv >"$T/ev" 2>&1 \
    && grep -q "^accuracy" "$T/ev" && ok "eval --adapter" || fail "eval --adapter: $(cat "$T/ev")"
"$BIDORA" eval --model "$T/full/adapter" --data tests/ref/tiny.csv >"$T/ev2" 2>&1 \
    && grep -q "^accuracy" "$T/ev2" && ok "eval of a fully fine-tuned model" || fail "eval full: $(cat "$T/ev2")"

# init_adapter: a PEFT adapter as the starting point (lr 0: the saved adapter is the same model)
"$BIDORA" train $base method=dora init_adapter=tests/ref/peft_dora dora_norm_grad=detached lr=0 max_steps=1 \
    run_name=init 2>/dev/null || fail "init_adapter run failed"
"$BIDORA" eval --model tests/ref/tiny_bert --adapter tests/ref/peft_dora --data tests/ref/tiny.csv --out "$T/p1.csv" >"$T/e1" 2>/dev/null
"$BIDORA" eval --model tests/ref/tiny_bert --adapter "$T/init/adapter" --data tests/ref/tiny.csv --out "$T/p2.csv" >"$T/e2" 2>/dev/null
if cmp -s "$T/p1.csv" "$T/p2.csv" && [ -s "$T/p1.csv" ]; then ok "init_adapter: PEFT's adapter in, the same predictions out"
else fail "init_adapter: predictions differ"; diff "$T/p1.csv" "$T/p2.csv" | head -3; fi

# 3. interrupted + resumed == uninterrupted (every value but the timings)
long="$base method=bidora max_steps=3000 eval_every=200 checkpoint_every=0 upper_every=2"
"$BIDORA" train $long run_name=whole 2>/dev/null || fail "uninterrupted run failed"
"$BIDORA" train $long run_name=cut 2>"$T/cut.err" &
pid=$!
i=0
until grep -q ",1[0-9][0-9],train,train/loss" "$T/cut/metrics.csv" 2>/dev/null || [ $i -ge 200 ]; do sleep 0.02; i=$((i + 1)); done
kill -INT $pid
wait $pid
st=$?
if [ $st = 130 ] && [ -s "$T/cut/checkpoint/state.bin" ]; then
    ok "SIGINT: checkpointed, exit 130 ($(grep -o 'stopped at step [0-9]*' "$T/cut/log.txt"))"
    if "$BIDORA" train --resume "$T/cut" 2>/dev/null; then
        strip() { grep -v time/step_ms "$1" | cut -d, -f2- ; }
        if strip "$T/whole/metrics.csv" | cmp -s - "$(strip "$T/cut/metrics.csv" >"$T/c2"; echo "$T/c2")"; then
            ok "resumed run equals the uninterrupted one ($(grep -c train/loss "$T/cut/metrics.csv") losses)"
        else
            fail "resumed metrics differ from the uninterrupted run:"; strip "$T/whole/metrics.csv" | diff - "$T/c2" | head -5
        fi
    else
        fail "resume failed"
    fi
else
    fail "SIGINT: exit $st (want 130), checkpoint: $(ls "$T/cut/checkpoint" 2>&1)"
fi

# 4. a diverging run stops with the step named and keeps its last checkpoint
# (a regression target near FLT_MAX makes the squared error overflow when its row comes up)
{ echo "text,score"; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "row number $i,0.$i"; done; echo "the outlier,3e38"; } >"$T/big.csv"
"$BIDORA" train $base model=tests/ref/tiny_bert_nohead method=lora task=regression data="$T/big.csv" label_column=score split=1,0,0 batch_size=1 \
    max_steps=40 checkpoint_every=1 method=lora run_name=nan 2>"$T/nan.err"
st=$?
if [ $st = 2 ] && grep -q "step [0-9]*: the training loss is" "$T/nan.err" && [ -s "$T/nan/checkpoint/state.bin" ]; then
    ok "divergence: $(tail -1 "$T/nan.err")"
else
    fail "divergence: exit $st: $(cat "$T/nan.err")"
fi

# a config.json holding an integer beyond 64 bits (as Python writes int(1e30)) trains, and the
# saved full model keeps its integers integers
cp -r tests/ref/tiny_bert "$T/bigmodel"
sed -i 's/^{/{"some_limit": 1000000000000000019884624838656,/' "$T/bigmodel/config.json"
if "$BIDORA" train $base model="$T/bigmodel" method=full max_steps=2 run_name=bigint 2>"$T/bigint.err" \
    && grep -q '"vocab_size": 308,\?$' "$T/bigint/adapter/config.json" && grep -q '"some_limit": 1e30' "$T/bigint/adapter/config.json"; then
    ok "a config.json with a >64-bit integer: trains, saved config.json keeps vocab_size an integer"
else
    fail "config.json with a >64-bit integer: $(tail -n 1 "$T/bigint.err"); $(grep -E 'vocab_size|some_limit' "$T/bigint/adapter/config.json" 2>&1)"
fi

# 5. bad configuration: exit 1, one line naming the key or file
expect1() {
    "$@" >/dev/null 2>"$T/e"; st=$?
    if [ $st = 1 ] && [ "$(wc -l <"$T/e")" = 1 ]; then ok "$(cat "$T/e")"; else fail "exit $st: $*: $(cat "$T/e")"; fi
}
expect1 "$BIDORA" train $base colour=red
expect1 "$BIDORA" train $base method=qlora
expect1 "$BIDORA" train $base lr=fast
expect1 "$BIDORA" train $base split=0.5,0.5,0.5
expect1 "$BIDORA" train $base data="$T/none.csv" run_name=x1
expect1 "$BIDORA" train $base target_modules=query,ffn run_name=x2
expect1 "$BIDORA" train $base max_length=65 run_name=x3
expect1 "$BIDORA" train $base run_name=lora
expect1 "$BIDORA" train $base hyper_batch_size=5 run_name=x4
expect1 "$BIDORA" train $base val_batch_size=-1 run_name=x5
printf 'method = lora\nrank = many\n' >"$T/bad.ini"
expect1 "$BIDORA" train -c "$T/bad.ini"
grep -q "bad.ini:2" "$T/e" || fail "the INI error names the line: $(cat "$T/e")"

echo "train: $fails failure(s)"
[ "$fails" = 0 ]
