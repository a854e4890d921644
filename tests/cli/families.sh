#!/bin/sh
# RoBERTa and ESM-2 end to end (issue 15): bidora train with BiDoRA on the tiny RoBERTa (sentence
# pairs, its byte-level BPE tokenizer.json) and the tiny ESM-2 (protein sequences: classification,
# and regression with its own head), each writing a complete run directory and a PEFT adapter with
# the family's names; bidora eval --adapter scores it; long sequences are counted in log.txt;
# bidora info names the family and the tokenizer; a missing model directory is one clear line.
set -u
BIDORA=${BIDORA:-./bidora}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }
R=tests/ref
run() { # NAME MODEL DATA key=value...
    name=$1 model=$2 data=$3
    shift 3
    "$BIDORA" train -c configs/tiny.ini model="$model" data="$data" out_dir="$T/runs" run_name="$name" \
        max_steps=40 eval_every=20 checkpoint_every=20 method=bidora "$@" >"$T/$name.out" 2>&1 ||
        fail "$name: bidora train failed: $(tail -3 "$T/$name.out")"
    d=$T/runs/$name
    for f in config.ini metrics.csv log.txt checkpoint/state.bin adapter/adapter_model.safetensors \
        adapter/adapter_config.json best/adapter_model.safetensors; do
        [ -s "$d/$f" ] || fail "$name: $f missing"
    done
    grep -q ",40,train,train/loss," "$d/metrics.csv" || fail "$name: no train/loss at step 40"
}

run rob "$R/tiny_roberta" "$R/tiny.csv" text_pair_column=text_b max_length=40
grep -q 'roberta\.encoder\.layer\.0\.attention\.self\.query\.lora_A' "$T/runs/rob/adapter/adapter_model.safetensors" ||
    fail "RoBERTa adapter lacks PEFT's roberta.* names"
grep -q 'classifier\.dense\.weight' "$T/runs/rob/adapter/adapter_model.safetensors" ||
    fail "RoBERTa adapter lacks the head's dense (modules_to_save)"
"$BIDORA" eval --model "$R/tiny_roberta" --adapter "$T/runs/rob/adapter" --data "$R/tiny.csv" \
    text_pair_column=text_b max_length=40 >"$T/rob.eval" 2>&1 || fail "RoBERTa eval: $(tail -2 "$T/rob.eval")"
grep -q 'accuracy' "$T/rob.eval" || fail "RoBERTa eval printed no accuracy"
ok "RoBERTa: BiDoRA on sentence pairs, 40 steps, PEFT adapter (roberta.* + classifier.dense/out_proj), eval"

run esm "$R/tiny_esm" "$R/tiny_proteins.csv" text_column=sequence max_length=32
grep -q 'tiny_proteins.csv: 1 of 36 rows longer than max_length = 32 tokens: truncated' "$T/runs/esm/log.txt" ||
    fail "ESM: the truncated sequence is not counted in log.txt"
grep -q 'esm\.encoder\.layer\.1\.attention\.self\.value\.lora_magnitude_vector' "$T/runs/esm/adapter/adapter_model.safetensors" ||
    fail "ESM adapter lacks PEFT's esm.* names"
ok "ESM-2: BiDoRA on protein sequences (classification), the one sequence over max_length counted"

run esmreg "$R/tiny_esm_reg" "$R/tiny_proteins.csv" text_column=sequence label_column=target task=regression \
    max_length=64
grep -q ',eval/pearson,' "$T/runs/esmreg/metrics.csv" || fail "ESM regression: no eval/pearson"
ok "ESM-2 regression head: BiDoRA on a numeric target, eval/pearson recorded"

"$BIDORA" info "$R/tiny_roberta" >"$T/info" 2>&1 || fail "info roberta"
grep -q 'architecture roberta' "$T/info" && grep -q 'tokenizer    byte-level BPE (tokenizer.json), 904 tokens' "$T/info" &&
    grep -q 'positions    from padding_idx + 1 = 2' "$T/info" || fail "bidora info on RoBERTa: $(cat "$T/info")"
"$BIDORA" info "$R/tiny_esm" >"$T/info" 2>&1 || fail "info esm"
grep -q 'architecture esm' "$T/info" && grep -q 'tokenizer    ESM, 33 tokens' "$T/info" ||
    fail "bidora info on ESM: $(cat "$T/info")"
ok "bidora info names the family and the tokenizer"

out=$("$BIDORA" train -c configs/tiny.ini model="$T/nowhere" out_dir="$T/runs" 2>&1)
[ $? = 1 ] || fail "a missing model directory: exit status not 1"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q "nowhere: no config.json there" ||
    fail "a missing model directory: $out"
ok "a missing model directory: one line, exit 1"
echo "families: all checks passed"
