#!/bin/sh
# The pre-flight (issue 16): `bidora train --check` validates the whole configuration as a run
# would, tokenises the data and times a few real steps, printing rows, tokens a row, trainable
# values by group, step and run time; it writes nothing. A configuration that a run would refuse
# is refused by it with the run's own one line (exit 1). max_length = 0 (the default) is
# min(128, the model's positions). Then the workbench: F5 on such a configuration shows the whole
# reason in a message box and starts nothing; p shows the pre-flight in the set-up view; F5 on a
# good one starts the run.
set -u
BIDORA=${BIDORA:-./bidora}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }
R=tests/ref
base="-c configs/tiny.ini out_dir=$T/runs"

# 1. the numbers of configs/tiny.ini (24 rows, split 0.5/0.25/0.25; r 4 on query, value of 2 layers
#    of hidden 32: A, B 4 x (4x32 + 32x4) = 1024; head 3 x 32 + 3 = 99; m 4 x 32 = 128)
"$BIDORA" train --check $base >"$T/out" 2>"$T/err" || fail "--check on configs/tiny.ini: $(cat "$T/err")"
grep -q '^rows: D_tr 12, D_val 6, eval 6 (24 tokenised)$' "$T/out" || fail "rows: $(cat "$T/out")"
grep -q '^trainable: 1,251 = direction (A, B) 1,024 + head 99 + magnitude 128$' "$T/out" || fail "trainable: $(cat "$T/out")"
grep -q '^tokens a row: median [0-9][0-9]*, p95 [0-9][0-9]*, max 64; 1 row cut at 64$' "$T/out" || fail "tokens: $(cat "$T/out")"
grep -Eq '^step, measured: [0-9.]+ (ms|s) with the upper level$' "$T/out" || fail "step time: $(cat "$T/out")"
grep -Eq '^run: 40 steps \(40 upper, 0 phase 2\): about [0-9]+:[0-9]{2} \+ evaluations$' "$T/out" || fail "run: $(cat "$T/out")"
[ -e "$T/runs" ] && fail "--check wrote $T/runs"
ok "--check: rows, tokens, trainable values by group, step and run time; no run directory"

"$BIDORA" train --check $base method=lora upper_every=3 >"$T/out" 2>&1 || fail "--check lora"
grep -q '^rows: train 18, eval 6 (24 tokenised)$' "$T/out" || fail "lora rows: $(cat "$T/out")"
grep -q '^trainable: 1,123 = adapter (A, B) 1,024 + head 99$' "$T/out" || fail "lora trainable: $(cat "$T/out")"
"$BIDORA" train --check $base upper_every=2 retrain_steps=5 >"$T/out" 2>&1 || fail "--check bidora upper_every=2"
grep -Eq '^step, measured: [0-9.]+ (ms|s) lower, [0-9.]+ (ms|s) with the upper level, [0-9.]+ (ms|s) phase 2$' "$T/out" ||
    fail "three kinds of step: $(cat "$T/out")"
grep -q '^run: 45 steps (20 upper, 5 phase 2)' "$T/out" || fail "bidora plan: $(cat "$T/out")"
ok "--check: LoRA's groups; BiDoRA's lower, upper and phase-2 steps each timed"

# 2. what a run refuses, the pre-flight refuses, in the run's words
expect_refused() { # $1: what the one line must say; the rest: keys
    want=$1
    shift
    if "$BIDORA" train --check $base "$@" >"$T/out" 2>"$T/err"; then fail "--check $*: accepted"; return; fi
    [ "$(wc -l <"$T/err")" = 1 ] || fail "--check $*: not one line: $(cat "$T/err")"
    grep -q "$want" "$T/err" || fail "--check $*: \"$(cat "$T/err")\" lacks \"$want\""
}
expect_refused 'unknown module "querry"' target_modules=querry
expect_refused 'max_length = 600 exceeds the model' max_length=600
expect_refused "no column 'txt'" text_column=txt
expect_refused 'max_length = 2: at least 3' max_length=2
ok "--check refuses a bad module, max_length, column, each in one line"

# 3. max_length = 0: min(128, the model's positions): 64 for tiny_bert, 40 for tiny_roberta (42 - 2)
"$BIDORA" train --check $base max_length=0 >"$T/out" 2>&1 && grep -q 'cut at 64$' "$T/out" || fail "max_length=0 on tiny_bert: $(cat "$T/out")"
"$BIDORA" train --check -c configs/tiny.ini model=$R/tiny_roberta text_pair_column=text_b max_length=0 >"$T/out" 2>&1 &&
    grep -q 'cut at 40$' "$T/out" || fail "max_length=0 on tiny_roberta: $(cat "$T/out")"
ok "max_length = 0: the model's limit when below 128"

# 4. the workbench (tmux)
if command -v tmux >/dev/null 2>&1; then
    SOCK="bd_pf_$$"
    tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
    screen() { tm capture-pane -p -t pf 2>/dev/null; }
    wait_for() {
        n=$(($2 * 10))
        while [ $n -gt 0 ]; do screen | grep -Eq -- "$1" && return 0; sleep 0.1; n=$((n - 1)); done
        return 1
    }
    trap 'tm kill-server 2>/dev/null; rm -rf "$T"' EXIT
    tm new-session -d -x 120 -y 40 -s pf "LANG=C.UTF-8 $BIDORA tui $base on_hangup=stop target_modules=querry; sleep 60"
    wait_for 'the keys check out; p: pre-flight' 10 || fail "tui: the set-up view does not offer the pre-flight"
    tm send-keys -t pf F5
    if wait_for 'the run would not start' 10; then
        screen | grep -q 'unknown module "querry" (allowed: query, key, value,' || fail "tui: the box lacks the reason"
        screen | grep -q 'or all)' || fail "tui: the reason is cut: $(screen | grep -A2 'would not start')"
        [ -e "$T/runs" ] && fail "tui: a failed F5 made a run directory"
        tm send-keys -t pf x
        sleep 0.5
        screen | grep -q 'any key closes this' && fail "tui: a key did not close the box"
        ok "tui: a failed F5 shows the whole reason in a box, starts nothing; a key closes it"
    else
        fail "tui: F5 on a bad target_modules showed no box: $(screen | tail -3)"
    fi
    tm kill-server 2>/dev/null
    SOCK="bd_pf2_$$" # a fresh server: the old one may still be shutting down
    trap 'tmux -L "bd_pf_$$" kill-server 2>/dev/null; tm kill-server 2>/dev/null; rm -rf "$T"' EXIT
    before=$fails
    tm new-session -d -x 120 -y 40 -s pf "LANG=C.UTF-8 $BIDORA tui $base on_hangup=stop max_steps=30; sleep 60"
    wait_for 'the keys check out; p: pre-flight' 10 || fail "tui: no pre-flight offer"
    tm send-keys -t pf p
    wait_for 'ready \(pre-flight passed\): F5 starts the run' 15 || fail "tui: p did not run the pre-flight"
    screen | grep -q 'rows: D_tr 12, D_val 6, eval 6 (24 tokenised)' || fail "tui: the pre-flight's rows are not shown"
    screen | grep -q 'trainable: 1,251 = direction (A, B) 1,024 + head 99' || fail "tui: no trainable values"
    tm send-keys -t pf F5
    wait_for 'done .*step 30/30' 30 || fail "tui: F5 after the pre-flight did not run"
    [ $fails = $before ] && ok "tui: p shows the pre-flight; F5 then starts the run"
    tm kill-server 2>/dev/null
fi
[ $fails = 0 ] && echo "preflight: all checks passed"
exit $((fails > 0))
