#!/bin/sh
# The workbench's views through their keys, in tmux: the set-up form
# validates as you type (the error shows inline), cycles choices (cuda is
# offered only where it can train), moves the split sliders with row counts, saves a config
# atomically and loads it back; the runs browser lists earlier runs,
# overlays and exports them as CSV, opens one in the run view, where Tab,
# l, +, Enter (zoom), Esc and e act on the focused chart; --ascii with
# NO_COLOR draws without braille or line-drawing characters, and F8 stops a
# run with a checkpoint. Exits 1 with the failing check and the screen.
set -u
. tests/cli/tui_lib

tiny_config setup

# --- set-up form
start_tui tui -c "$T/setup.ini"
wait_for 'the keys check out' 10 || fail "the tiny config is not ready"
i=0
while [ $i -lt 14 ]; do tm send-keys -t e2e j; i=$((i + 1)); done # rank is the 15th key shown (model, data, method groups)
tm send-keys -t e2e Enter BSpace x
wait_for 'rank = "x": expected an integer' 5 || fail "an invalid rank shows no inline error"
ok "typing rank = x shows the error inline"
tm send-keys -t e2e BSpace 1 6
wait_for 'valid: Enter sets it' 5 || fail "rank = 16 is not shown valid"
tm send-keys -t e2e Enter
wait_for '^.{1,3} rank +16 ' 5 || fail "rank = 16 was not set"
ok "rank = 16 validates and is set"
tm send-keys -t e2e k Right
wait_for '^.{1,3} method +dora ' 5 || fail "Right does not cycle method to dora"
ok "method cycles to dora"
tm send-keys -t e2e k k k Enter
wait_for 'train .* 12 rows' 5 || fail "the split sliders show no row counts"
tm send-keys -t e2e Right Right Right Right Right
wait_for 'train .*0\.55 +13 rows' 5 || fail "the train slider does not move to 0.55 / 13 rows"
tm send-keys -t e2e Enter
wait_for '^.{1,3} split +0\.55,0\.2,0\.25 ' 5 || fail "the split was not set from the sliders"
ok "split sliders: 0.55,0.2,0.25 with row counts"
tm send-keys -t e2e Home j
wait_for 'cuda: (not in this build|no device)\)' 5 || fail "the backend row does not say cuda is unavailable"
tm send-keys -t e2e Right Right Right Right
sleep 0.3
screen | grep -Eq '^.{1,3} backend +cuda' && fail "cycling backend offered cuda"
ok "backend cycles without cuda (shown unavailable)"
tm send-keys -t e2e s C-u "$T/saved.ini" Enter
wait_for "saved $T/saved.ini" 5 || fail "s did not save the config"
grep -q '^rank = 16$' "$T/saved.ini" && grep -q '^method = dora$' "$T/saved.ini" &&
    grep -q '^split = 0.55,0.2,0.25$' "$T/saved.ini" || fail "saved.ini lacks the edited keys"
ls "$T" | grep -q '\.tmp\.' && fail "a temp file was left next to saved.ini"
ok "s saves the config (rank, method, split in saved.ini; no temp file left)"
tm send-keys -t e2e Home
i=0
while [ $i -lt 14 ]; do tm send-keys -t e2e j; i=$((i + 1)); done
tm send-keys -t e2e r
wait_for '^.{1,3} rank +4 ' 5 || fail "r did not reset rank to 4"
tm send-keys -t e2e o
wait_for 'open a config' 5 || fail "o opens no config browser"
tm send-keys -t e2e Enter
wait_for "loaded $T/saved.ini" 5 || fail "Enter did not load saved.ini"
wait_for '^.{1,3} rank +16 ' 2 || fail "loading saved.ini did not bring rank = 16 back"
ok "o loads saved.ini back (rank 16)"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"

# --- runs browser: two finished headless runs
METHOD=lora STEPS=50 tiny_config lora
METHOD=dora STEPS=50 tiny_config dora
"$BIDORA" train -c "$T/lora.ini" run_name=lora-a 2>/dev/null || fail "headless lora run failed"
"$BIDORA" train -c "$T/dora.ini" run_name=dora-b 2>/dev/null || fail "headless dora run failed"
start_tui tui -c "$T/dora.ini"
wait_for 'F1Help' 10 || fail "the workbench did not open"
tm send-keys -t e2e F3
wait_for 'dora-b +dora +50 ' 5 || fail "the runs browser does not list dora-b"
wait_for 'lora-a +lora +50 ' 1 || fail "the runs browser does not list lora-a"
ok "F3 lists the earlier runs (method, steps)"
tm send-keys -t e2e t t e
wait_for 'exported eval/accuracy of 2 runs' 5 || fail "e did not export the overlay of 2 tagged runs"
f=$(ls "$T"/runs/export-eval_accuracy-*.csv 2>/dev/null | head -n 1)
[ -n "$f" ] || fail "no export file in $T/runs"
head -n 1 "$f" | grep -q '^series,step,value$' || fail "the export has no header"
grep -q '^"lora-a",50,' "$f" && grep -q '^"dora-b",50,' "$f" || fail "the export lacks a run's points"
ok "overlay of 2 runs exported to $(basename "$f")"
tm send-keys -t e2e Home Enter
wait_for 'viewing dora-b' 5 || fail "Enter did not open dora-b in the run view"
wait_for 'eval  best' 2 || fail "the opened run shows no eval chart"
ok "Enter opens a run in the run view"
tm send-keys -t e2e Tab l
wait_for 'log-y on' 5 || fail "l did not toggle log-y"
tm send-keys -t e2e +
wait_for 'smoothing \(EMA\) 0.80' 5 || fail "+ did not raise the smoothing from 0.6"
tm send-keys -t e2e Enter
sleep 0.5
screen | grep -q ' hypergradient\| dM per layer\|─ log \|- log ' && fail "Enter did not zoom the eval chart"
wait_for 'eval  best' 2 || fail "the zoomed panel is not the eval chart"
tm send-keys -t e2e Escape
wait_for 'dM per layer' 5 || fail "Esc did not unzoom"
ok "Tab, l, +, Enter (zoom) and Esc act on the focused chart"
tm send-keys -t e2e e
wait_for 'exported .* to .*export-eval-run-' 5 || fail "e did not export the focused chart"
ls "$T"/runs/export-eval-run-*.csv >/dev/null 2>&1 || fail "no export file of the eval chart"
ok "e exports the focused chart"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc")"

# --- ASCII and no colour; F8 stops a run with a checkpoint
tiny_config plain
start_shell NO_COLOR=1
tm send-keys -t e2e "$BIDORA tui --ascii -c $T/plain.ini; echo \$? > $T/rc" Enter
wait_for 'F1Help' 10 || fail "the workbench did not open with --ascii"
tm send-keys -t e2e F5
wait_for '^ running .*step [0-9]+/' 20 || fail "no run with --ascii"
wait_for 'eval  best' 20 || fail "no eval with --ascii"
sleep 0.5
screen | grep -q '^+-' || fail "--ascii draws no +- borders"
screen | LC_ALL=C grep -q "$(printf '\342\240')\|$(printf '\342\241')\|$(printf '\342\242')\|$(printf '\342\243')" &&
    fail "--ascii still draws braille"
ok "--ascii with NO_COLOR: ASCII borders and plots"
tm send-keys -t e2e F8
wait_for '^ stopped ' 20 || fail "F8 did not stop the run"
d=$(ls -d "$T"/runs/bidora-*/ | head -n 1)
[ -s "$d/checkpoint/state.bin" ] || fail "F8 left no checkpoint"
ok "F8 stops the run; the checkpoint is written"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit after the run stopped"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc")"
echo "tui_keys: all checks passed"
exit 0
