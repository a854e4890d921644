#!/bin/sh
# The workbench end to end, in a real terminal (tmux, 120x40): bad
# arguments (and no terminal) fail with one line; `bidora` with no
# arguments opens on configs/default.ini; a config whose model is
# missing shows how to get it; then a BiDoRA run on the tiny reference
# model: F5 starts it and the step count and the curves grow; Space
# pauses (metrics.csv stops growing) and resumes (it grows again); resizes
# to 80x24, 200x60 and a too-small 60x20 redraw sanely; q then y stops
# the run (a checkpoint is written), joins the trainer, restores the
# terminal and exits 0. Polls with timeouts; exits 1 with the failing
# check and the screen, 0 when all pass.
set -u
. tests/cli/tui_lib

step_now() { screen | sed -n 's/.*step \([0-9][0-9]*\)\/[0-9].*/\1/p' | head -n 1; }
# the loss chart's last x label (its bottom row, the first "<border> 0 [step] N" line)
loss_x_end() { screen | sed -n 's/^.\{1,3\}  *0  *\(step  *\)\{0,1\}\([0-9][0-9]*\).*/\2/p' | head -n 1; }
quit_idle() {
    tm send-keys -t e2e q
    wait_file "$T/rc" 10 || fail "q did not quit an idle workbench"
    [ "$(cat "$T/rc")" = 0 ] || fail "idle quit: exit status $(cat "$T/rc")"
}

# --- 0. bad arguments: status 1 and one line on stderr, before any screen
expect_bad() {
    "$BIDORA" "$@" </dev/null >"$T/out" 2>"$T/err"
    st=$?
    [ "$st" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] || fail "bidora $*: status $st, stderr: $(cat "$T/err")"
}
expect_bad tui colour=red
grep -q 'unknown key "colour"' "$T/err" || fail "tui colour=red does not name the key"
expect_bad tui -c "$T/nonexistent.ini"
expect_bad tui rank=x
expect_bad tui
grep -q 'needs a terminal' "$T/err" || fail "without a terminal, no clear message"
ok "bad arguments and no terminal: status 1, one clear line"

# --- 1. `bidora` with no arguments: the workbench on configs/default.ini
start_tui ""
wait_for 'set-up: configs/default.ini' 10 || fail "bidora (no arguments) did not open configs/default.ini"
wait_for 'F1Help' 2 || fail "no key bar"
ok "bidora opens the workbench on configs/default.ini"
tm send-keys -t e2e F1
wait_for 'help: keys' 5 || fail "F1 shows no help"
wait_for 'Everywhere' 1 || fail "help lists no keys"
tm send-keys -t e2e Escape
wait_for 'set-up:' 5 || fail "Esc does not leave help"
ok "F1 help lists the keys, Esc returns"
quit_idle

# --- 2. a missing model: the screen says how to get it
printf 'model = %s/nope-model\ndata = %s/tests/ref/tiny.csv\n' "$T" "$REPO" >"$T/missing.ini"
start_tui tui -c "$T/missing.ini"
wait_for 'make model data' 10 || fail "a missing model does not say: make model data"
wait_for 'getting started' 1 || fail "no getting-started pane"
ok "a missing model shows how to get it (make model data)"
quit_idle

# --- 3. a run
tiny_config run
start_tui tui -c "$T/run.ini"
wait_for 'the keys check out' 10 || fail "the tiny config is not ready to run"
tm send-keys -t e2e F5
wait_for 'running .*step [0-9]+/4000000' 20 || fail "F5 started no run (no 'running ... step N/4000000')"
run_dir=$(ls -d "$T"/runs/*/ 2>/dev/null | head -n 1)
[ -n "$run_dir" ] || fail "no run directory in $T/runs"
metrics="$run_dir/metrics.csv"
wait_for 'eval  best' 20 || fail "no eval point on the eval chart"
s1=$(step_now)
x1=$(loss_x_end)
sleep 1
s2=$(step_now)
x2=$(loss_x_end)
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s2" -gt "$s1" ] || fail "the step count does not grow ($s1 -> $s2)"
[ -n "$x1" ] && [ -n "$x2" ] && [ "$x2" -gt "$x1" ] || fail "the loss curve does not grow (x axis $x1 -> $x2)"
ok "the run trains: step $s1 -> $s2, loss chart to step $x1 -> $x2"

tm send-keys -t e2e Space
wait_for '^ paused ' 10 || fail "Space did not pause the run"
l1=$(wc -l <"$metrics")
sleep 1
l2=$(wc -l <"$metrics")
[ "$l1" = "$l2" ] || fail "paused, yet metrics.csv grew ($l1 -> $l2 lines)"
ok "paused: metrics.csv stays at $l2 lines"
tm send-keys -t e2e Space
n=30
while [ $n -gt 0 ] && [ "$(wc -l <"$metrics")" -le "$l2" ]; do sleep 0.1; n=$((n - 1)); done
l3=$(wc -l <"$metrics")
[ "$l3" -gt "$l2" ] || fail "resumed, yet metrics.csv does not grow ($l2 -> $l3 lines)"
wait_for '^ running ' 5 || fail "the status line does not say running after resume"
ok "resumed: metrics.csv grows again ($l2 -> $l3 lines)"

# sane at 80x24 and 200x60: the status line, the key bar, no "too small"
for size in 80x24 200x60; do
    tm resize-window -t e2e -x "${size%x*}" -y "${size#*x}" || fail "tmux cannot resize to $size"
    wait_for '^ running .*step [0-9]+/4000000' 5 || fail "$size: no status line"
    wait_for 'F10Quit' 2 || fail "$size: no key bar"
    screen | grep -q 'too small' && fail "$size: says too small"
    wait_for 'loss' 2 || fail "$size: no loss chart"
    rows=$(screen | wc -l)
    [ "$rows" = "${size#*x}" ] || fail "$size: the pane has $rows rows"
    ok "resized to $size: status line, charts and key bar drawn"
done
tm resize-window -t e2e -x 60 -y 20
wait_for 'terminal too small' 5 || fail "60x20 does not say the terminal is too small"
ok "60x20: the too-small screen"
tm resize-window -t e2e -x 120 -y 40
wait_for '^ running .*step [0-9]+/4000000' 5 || fail "back at 120x40: no status line"

# quit: asks first (detach / stop / cancel); Esc cancels, s stops and checkpoints,
# the trainer is joined, the terminal restored
tm send-keys -t e2e q
wait_for 'run is active\. d: detach .* s: stop it' 5 || fail "q with a run active does not ask first"
tm send-keys -t e2e Escape
wait_for 'quit cancelled' 5 || fail "Esc does not cancel the quit"
wait_until_step_grows() { a=$(wc -l <"$1"); sleep 0.5; [ "$(wc -l <"$1")" -gt "$a" ]; }
wait_until_step_grows "$(ls -d "$T"/runs/*/ | head -n 1)metrics.csv" || fail "the run does not go on after Esc"
tm send-keys -t e2e q
wait_for 'run is active\. d: detach .* s: stop it' 5 || fail "q with a run active does not ask again"
tm send-keys -t e2e s
wait_file "$T/rc" 20 || fail "q, s did not quit within 20 s"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc") after q, s (want 0)"
ok "q: Esc cancels; q, s: exit status 0"
wait_for 'tui-e2e\$ *$' 5 || fail "no shell prompt after quitting"
[ "$(tm display -p -t e2e '#{alternate_on}')" = 0 ] || fail "still on the alternate screen after quitting"
screen | grep -q 'run stopped at step' || fail "no closing line naming where the run stopped"
tm send-keys -t e2e "stty -a > $T/stty" Enter
wait_file "$T/stty" 5 || fail "stty did not run after quitting"
grep -Eq '(^| )icanon( |;|$)' "$T/stty" && grep -Eq '(^| )echo( |;|$)' "$T/stty" ||
    fail "the terminal is not restored (stty: $(tr '\n' ' ' <"$T/stty"))"
ok "terminal restored: shell prompt, main screen, icanon and echo on"

for f in config.ini metrics.csv log.txt checkpoint/state.bin; do
    [ -s "$run_dir/$f" ] || fail "the run directory lacks $f"
done
head -n 1 "$metrics" | grep -q '^wall_time,step,phase,name,value$' || fail "metrics.csv has no header"
grep -q 'stopped at step' "$run_dir/log.txt" || fail "log.txt does not record the stop"
ok "run directory complete: config.ini, metrics.csv ($(wc -l <"$metrics") lines), log.txt, checkpoint/state.bin"
echo "tui_e2e: all checks passed"
exit 0
