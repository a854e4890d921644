#!/bin/sh
# Issue 16, messages and CLI: `bidora eval --run` reproduces a run's own
# eval metrics (best/ at its best step, adapter/ at the last) from
# metrics.csv, on the split the trainer made; eval progress lines; `bidora
# train` progress without a terminal (whole lines, no \r, each step at most
# once) and on one (script(1): \r-updated); `bidora info` on adapter
# directories (and one line for bad ones); adapter_config.json names its
# base model by absolute path; a misspelt key suggests the closest; "1 step".
set -u
BIDORA=${BIDORA:-./bidora}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
one_line() { # WHAT FILE: exactly one line on stderr
    [ "$(wc -l <"$2")" = 1 ] || fail "$1: wanted one stderr line, got: $(cat "$2")"
}

# --- a tiny run: 40 steps, eval every 5, checkpoint every 10
"$BIDORA" train -c configs/tiny.ini out_dir="$T" run_name=r max_steps=40 2>"$T/train.err" || fail "train: $(cat "$T/train.err")"
R="$T/r"
# metrics.csv: the best eval step (the first maximum of eval/accuracy, as the trainer picks best/) and the last
best=$(awk -F, '$4=="eval/accuracy" && (n==0 || $5>b) {b=$5; s=$2; n=1} END {print s}' "$R/metrics.csv")
val() { awk -F, -v s="$1" -v k="$2" '$2==s && $4==k {printf "%.6f\n", $5}' "$R/metrics.csv"; }
"$BIDORA" eval --run "$R" >"$T/best.out" 2>"$T/best.err" || fail "eval --run: $(cat "$T/best.err")"
grep -q "^scored  *$R/best$" "$T/best.out" || fail "eval --run did not score best/: $(cat "$T/best.out")"
for k in loss accuracy; do
    got=$(sed -n "s/^$k  *//p" "$T/best.out")
    want=$(val "$best" "eval/$k")
    [ -n "$want" ] && [ "$got" = "$want" ] || fail "eval --run $k $got, metrics.csv at step $best: $want"
done
ok "eval --run scores best/ (step $best): loss $(sed -n 's/^loss  *//p' "$T/best.out") as in metrics.csv"
"$BIDORA" eval --run "$R" --adapter "$R/adapter" --out "$T/pred.csv" >"$T/fin.out" 2>"$T/fin.err" || fail "eval --run --adapter: $(cat "$T/fin.err")"
for k in loss accuracy; do
    got=$(sed -n "s/^$k  *//p" "$T/fin.out"); want=$(val 40 "eval/$k")
    [ "$got" = "$want" ] || fail "adapter/: $k $got, metrics.csv at step 40: $want"
done
[ "$(sed -n 's/^rows  *//p' "$T/fin.out")" = 6 ] || fail "the run's eval split has 6 rows (24 x 0.25)"
[ "$(($(wc -l <"$T/pred.csv") - 1))" = 6 ] || fail "--out: $(wc -l <"$T/pred.csv") lines"
ok "eval --run --adapter adapter/: the final step's loss and accuracy; --out writes 6 rows"
# with no best/: adapter/
mv "$R/best" "$T/best.kept"
"$BIDORA" eval --run "$R" 2>/dev/null | grep -q "^scored  *$R/adapter$" && ok "no best/: adapter/ is scored" || fail "no best/: adapter/ not used"
mv "$T/best.kept" "$R/best"
# full fine-tuning: best/ is a model directory
"$BIDORA" train -c configs/tiny.ini out_dir="$T" run_name=full method=full lr=5e-4 max_steps=10 2>/dev/null
want=$(awk -F, '$2==5 && $4=="eval/loss" {printf "%.6f", $5}' "$T/full/metrics.csv")
got=$("$BIDORA" eval --run "$T/full" 2>/dev/null | sed -n 's/^loss  *//p')
b5=$(awk -F, '$4=="eval/accuracy" && (n==0 || $5>b) {b=$5; s=$2; n=1} END {print s}' "$T/full/metrics.csv")
want=$(awk -F, -v s="$b5" '$2==s && $4=="eval/loss" {printf "%.6f", $5}' "$T/full/metrics.csv")
[ -n "$got" ] && [ "$got" = "$want" ] && ok "eval --run of a full fine-tune: loss $got" || fail "full: $got, want $want"
# refusals: one line each
"$BIDORA" eval --run "$R" max_length=32 >/dev/null 2>"$T/e1" && fail "--run with max_length=32 accepted"
one_line "--run max_length=32" "$T/e1"; grep -q "only batch_size" "$T/e1" || fail "--run max_length=32: $(cat "$T/e1")"
"$BIDORA" eval --run "$R" --model tests/ref/tiny_bert >/dev/null 2>"$T/e2" && fail "--run with --model accepted"
one_line "--run --model" "$T/e2"
mkdir "$T/empty"; echo "model = tests/ref/tiny_bert" >"$T/empty/config.ini"
"$BIDORA" eval --run "$T/empty" >/dev/null 2>"$T/e3" && fail "--run of a run without adapters accepted"
one_line "--run without best/ or adapter/" "$T/e3"; grep -q "no best/ or adapter/" "$T/e3" || fail "$(cat "$T/e3")"
ok "eval --run refuses other keys, --model, a run without adapters (one line each)"

# --- eval progress: 12 batches of 1 row (a run with half its rows held out)
"$BIDORA" train -c configs/tiny.ini out_dir="$T" run_name=half split=0.25,0.25,0.5 method=lora max_steps=4 2>/dev/null
"$BIDORA" eval --run "$T/half" batch_size=1 >/dev/null 2>"$T/ep" || fail "eval --run batch_size=1"
grep -q "$(printf '\r')" "$T/ep" && fail "eval progress without a terminal has \\r"
grep '^eval: ' "$T/ep" | tr -d '\r' >"$T/ep2"
[ "$(sed -n '$p' "$T/ep2")" = "eval: 12/12 rows (100%)" ] && [ "$(wc -l <"$T/ep2")" = 6 ] &&
    [ "$(sed 's|/.*||; s|eval: ||' "$T/ep2" | sort -n -u | wc -l)" = 6 ] &&
    ok "eval progress without a terminal: 6 lines (every 2nd of 12 batches), 12/12 last" || fail "eval progress: $(cat "$T/ep")"

# --- bidora train's progress without a terminal: lines, no \r, no step twice; "done: N steps" and one checkpoint line per step
"$BIDORA" train -c configs/tiny.ini out_dir="$T" run_name=p max_steps=200 eval_every=0 checkpoint_every=50 2>"$T/p.err" || fail "train p"
grep -q "$(printf '\r')" "$T/p.err" && fail "train progress without a terminal holds \\r"
grep '^step [0-9]*/200 ' "$T/p.err" | sed 's|^step \([0-9]*\)/.*|\1|' >"$T/steps"
n=$(wc -l <"$T/steps")
[ "$n" -ge 1 ] && [ "$n" -le 21 ] && [ "$(sort -n -u "$T/steps" | wc -l)" = "$n" ] &&
    [ "$(sort -n "$T/steps")" = "$(cat "$T/steps")" ] &&
    ok "train progress without a terminal: $n lines, steps rising, none twice (at most one per 5% of 200)" ||
    fail "train progress lines: $(cat "$T/p.err")"
grep -q '^step [0-9]*/200 .* [0-9.]* \(steps/s\|s/step\) ' "$T/p.err" || fail "no rate in the progress line"
[ "$(grep -c '^checkpoint at step 200$' "$T/p.err")" = 1 ] && [ "$(grep -c 'checkpoint at step 200$' "$T/p/log.txt")" = 1 ] &&
    ok "the last step's checkpoint line once (stderr and log.txt)" || fail "checkpoint at step 200: $(grep -c 'checkpoint at step 200' "$T/p.err") times"
"$BIDORA" train -c configs/tiny.ini out_dir="$T" run_name=one max_steps=1 2>"$T/one.err"
grep -q "done: 1 step in" "$T/one.err" && grep -q "; 1 step; new run" "$T/one.err" && ok "\"1 step\", not \"1 steps\"" ||
    fail "one step: $(cat "$T/one.err")"
# on a terminal: one line updated with \r (script(1) gives the run a pty)
if command -v script >/dev/null 2>&1; then
    script -qec "$BIDORA train -c configs/tiny.ini out_dir=$T run_name=tty max_steps=300 eval_every=0 checkpoint_every=0" \
        "$T/tty.log" >/dev/null 2>&1 </dev/null
    grep -q "$(printf '\r\033\[Kstep [0-9]')" "$T/tty.log" && ok "train progress on a terminal: one line rewritten with CR" ||
        fail "on a terminal, no \\r progress: $(head -c 300 "$T/tty.log")"
else
    echo "ok   (skipped: no script(1) for the terminal case)"
fi

# --- bidora info on adapters
"$BIDORA" info "$R/best" >"$T/info" 2>"$T/info.err" || fail "info best/: $(cat "$T/info.err")"
grep -q '^rank  *4$' "$T/info" && grep -q '^alpha  *8 ' "$T/info" && grep -q '^use_dora  *true$' "$T/info" &&
    grep -q '^targets  *query, value (4 modules in 2 layers)$' "$T/info" &&
    grep -q '^parameters  *1251 trainable: lora_A + lora_B 1024, magnitudes 128, head 99$' "$T/info" &&
    grep -q "^base model  *$PWD/tests/ref/tiny_bert\$" "$T/info" &&
    ok "info on an adapter: rank, alpha, use_dora, targets, 1251 parameters (2x2x(4x32+32x4) + 4x32 + 3x33), base model" ||
    fail "info adapter: $(cat "$T/info")"
"$BIDORA" info "$T/half/adapter" | grep -q '^use_dora  *false$' && ok "info: a LoRA adapter says use_dora false" || fail "info lora"
# adapter_config.json names the base model by its absolute path
grep -q "\"base_model_name_or_path\": \"$PWD/tests/ref/tiny_bert\"" "$R/adapter/adapter_config.json" &&
    ok "adapter_config.json: base_model_name_or_path absolute" || fail "base path: $(grep base_model "$R/adapter/adapter_config.json")"
bad() { # WHAT WORD DIR: status 1, one line naming WORD
    "$BIDORA" info "$3" >/dev/null 2>"$T/be"; st=$?
    [ $st = 1 ] && [ "$(wc -l <"$T/be")" = 1 ] && grep -q -- "$2" "$T/be" || fail "info $1: status $st: $(cat "$T/be")"
}
mkdir "$T/b1" && printf '{' >"$T/b1/adapter_config.json" && bad "bad JSON" "adapter_config.json" "$T/b1"
mkdir "$T/b2" && cp "$R/best/adapter_config.json" "$T/b2/" && bad "no weights" "adapter_model.safetensors: missing" "$T/b2"
mkdir "$T/b3" && cp "$R/best/adapter_config.json" "$T/b3/" && head -c 64 "$R/best/adapter_model.safetensors" >"$T/b3/adapter_model.safetensors" &&
    bad "truncated weights" "adapter_model.safetensors" "$T/b3"
mkdir "$T/b4" && sed 's/"r": 4/"r": 8/' "$R/best/adapter_config.json" >"$T/b4/adapter_config.json" &&
    cp "$R/best/adapter_model.safetensors" "$T/b4/" && bad "rank mismatch" "has rank 4, adapter_config.json says r = 8" "$T/b4"
mkdir "$T/b5" && sed 's/"peft_type": "LORA"/"peft_type": "IA3"/' "$R/best/adapter_config.json" >"$T/b5/adapter_config.json" &&
    bad "not LoRA" "peft_type" "$T/b5"
ok "info on bad adapter directories: status 1, one line naming the file and the fault"

# --- a misspelt key suggests the closest, in a file and on the command line
printf 'model = tests/ref/tiny_bert\nlerning_rate = 1e-3\n' >"$T/typo.ini"
"$BIDORA" train -c "$T/typo.ini" 2>"$T/t1" && fail "a misspelt key was accepted"
one_line "typo in a file" "$T/t1"
grep -q "typo.ini:2: unknown key \"lerning_rate\" (did you mean \"lr\"?)" "$T/t1" || fail "typo in a file: $(cat "$T/t1")"
"$BIDORA" train -c configs/tiny.ini max_stpes=3 2>"$T/t2" && fail "max_stpes accepted"
one_line "typo on the command line" "$T/t2"
grep -q 'unknown key "max_stpes" (did you mean "max_steps"?)' "$T/t2" || fail "typo key=value: $(cat "$T/t2")"
"$BIDORA" eval --model tests/ref/tiny_bert --data tests/ref/tiny.csv lable_column=x 2>"$T/t3" && fail "eval typo accepted"
grep -q 'did you mean "label_column"' "$T/t3" || fail "eval typo: $(cat "$T/t3")"
"$BIDORA" train -c configs/tiny.ini colour=red 2>"$T/t4"
grep -q 'did you mean' "$T/t4" && fail "colour got a suggestion: $(cat "$T/t4")"
ok "misspelt keys: did you mean \"lr\" / \"max_steps\" / \"label_column\"; none for colour"
[ $fails = 0 ]
