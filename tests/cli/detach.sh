#!/bin/sh
# Runs that outlive the terminal (issue 14), in tmux with real processes:
#   1. a run started in the workbench trains on after its tmux session is
#      killed (SIGHUP): metrics.csv grows, bidora ps lists it, log.txt says
#      so, RUN/control.sock is mode 0600;
#   2. bidora attach in a new tmux shows its history (the loss chart's export
#      starts at step 1) and new steps; Space pauses it (metrics.csv stops
#      growing) and resumes it; F7 makes it write a checkpoint;
#   3. a second viewer attaches while the first is connected; a pause from
#      one shows in the other; q leaves a viewer and the run goes on;
#   4. a connection from another uid is refused: by the socket's mode, and
#      (socket opened up to everyone) by its SO_PEERCRED check, logged;
#   5. bidora stop ends it with a checkpoint, a complete run directory, no
#      socket, no lock holder, and the detached workbench process gone;
#   6. a headless bidora train trains on after SIGHUP, is attached (bidora
#      attach with no RUN: the newest live run) and stopped (F8) the same
#      way; with on_hangup=stop, SIGHUP checkpoints and stops it (129);
#   7. q, then d, in the workbench gives the shell its prompt back while
#      the run trains on; bidora pause / resume / checkpoint work on it;
#   8. a live run whose directory is removed stops (exit 2, one line).
# Exits 1 with the failing check and the screen, 0 when all pass.
set -u
. tests/cli/tui_lib

ON_HANGUP=detach tiny_config det # out_dir = $T/runs, eval every 25 steps, no periodic checkpoint; the default on_hangup
R=$T/runs
hpid=""
trap '[ -n "$hpid" ] && kill -INT "$hpid" 2>/dev/null; cleanup' EXIT # cleanup stops detached runs too

rows() { wc -l <"$1/metrics.csv"; }
# metrics.csv of run $1 grows within 5 s / stays put for 1 s
grows() {
    a=$(rows "$1")
    n=50
    while [ $n -gt 0 ]; do sleep 0.1; [ "$(rows "$1")" -gt "$a" ] && return 0; n=$((n - 1)); done
    return 1
}
still() { sleep 0.3; a=$(rows "$1"); sleep 1; [ "$(rows "$1")" = "$a" ]; }
screen_of() { tm capture-pane -p -t "$1" 2>/dev/null; }
wait_in() { # wait_in SESSION RE SECS
    n=$(($3 * 10))
    while [ $n -gt 0 ]; do screen_of "$1" | grep -Eq -- "$2" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
step_of() { screen_of "$1" | sed -n 's/.*step \([0-9][0-9]*\)\/[0-9].*/\1/p' | head -n 1; }

# ---- 1. detach on hang-up ----
start_tui tui -c "$T/det.ini"
wait_for 'F5 starts' 10 || fail "the workbench did not open"
tm send-keys -t e2e F5
wait_for '^ running .*step [0-9]+/' 20 || fail "no run started"
RUN=$(ls -d "$R"/*/ | head -n 1)
RUN=${RUN%/}
NAME=$(basename "$RUN")
tm kill-session -t e2e
sleep 0.5
grows "$RUN" || fail "the run stopped when its terminal went away"
"$BIDORA" ps "$R" | grep -Eq "^$NAME +[0-9]+ +running +bidora" || fail "bidora ps does not list it: $("$BIDORA" ps "$R")"
grep -q 'detached (the terminal went away (SIGHUP))' "$RUN/log.txt" || fail "log.txt does not say it detached"
[ "$(stat -c %a "$RUN/control.sock")" = 600 ] || fail "control.sock is mode $(stat -c %a "$RUN/control.sock"), not 600"
WPID=$("$BIDORA" ps "$R" | awk -v n="$NAME" '$1 == n {print $2}')
ok "tmux session killed: the run trains on in pid $WPID (bidora ps lists it; log.txt says it detached)"

# ---- 2. attach: history, new steps, pause ----
start_shell
tm send-keys -t e2e "$BIDORA attach $RUN; echo \$? > $T/rc" Enter
wait_for 'running \(attached to pid [0-9]+\)' 10 || fail "bidora attach does not show the live run"
s1=$(step_of e2e)
sleep 1.5
s2=$(step_of e2e)
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s2" -gt "$s1" ] || fail "the attached view does not follow (step $s1, then $s2)"
tm send-keys -t e2e e # the focused chart: loss
wait_for 'exported .* to .*export-loss-run-' 5 || fail "e did not export the loss chart"
f=$(ls "$R"/export-loss-run-*.csv | head -n 1)
first=$(grep '^"train",' "$f" | head -n 1 | cut -d, -f2)
last=$(grep '^"train",' "$f" | tail -n 1 | cut -d, -f2)
[ "$first" = 1 ] || fail "the attached loss chart starts at step $first, not 1"
[ "$last" -ge "$s1" ] || fail "the attached loss chart ends at step $last, before $s1"
ok "bidora attach: history from step 1 (to $last), live steps $s1 -> $s2"
tm send-keys -t e2e Space
wait_for '^ paused \(attached' 10 || fail "Space does not pause the remote run"
still "$RUN" || fail "metrics.csv still grows after Space paused the run"
tm send-keys -t e2e Space
wait_for '^ running \(attached' 10 || fail "Space does not resume the remote run"
grows "$RUN" || fail "metrics.csv does not grow after Space resumed the run"
ok "Space paused the remote run (metrics.csv stopped growing) and resumed it"
[ ! -e "$RUN/checkpoint/state.bin" ] || fail "a checkpoint before F7 (checkpoint_every = 0)"
tm send-keys -t e2e F7
wait_file "$RUN/checkpoint/state.bin" 10 || fail "F7 in the attached viewer wrote no checkpoint"
wait_for 'checkpoint at step [0-9]+' 5 || fail "the viewer's log does not show the checkpoint"
ok "F7 in the attached viewer: the remote run wrote a checkpoint (its log line shows in the viewer)"

# ---- 3. two viewers ----
tm new-session -d -x 120 -y 40 -s v2 -c "$REPO" "env PS1='tui-e2e\$ ' sh"
wait_in v2 'tui-e2e\$' 5 || fail "no second tmux session"
tm send-keys -t v2 "$BIDORA attach $RUN; echo \$? > $T/rc2" Enter
wait_in v2 'running \(attached to pid' 10 || fail "a second viewer cannot attach while one is connected"
tm send-keys -t v2 Space
wait_in v2 '^ paused \(attached' 10 || fail "the second viewer cannot pause the run"
wait_for '^ paused \(attached' 10 || fail "the first viewer does not see the pause from the second"
tm send-keys -t e2e Space
wait_in v2 '^ running \(attached' 10 || fail "the second viewer does not see the resume from the first"
tm send-keys -t v2 q
wait_file "$T/rc2" 10 || fail "q does not leave the second viewer"
[ "$(cat "$T/rc2")" = 0 ] || fail "the second viewer exited with $(cat "$T/rc2")"
wait_in v2 "left .*$NAME; it trains on" 5 || fail "the viewer does not say the run goes on"
grows "$RUN" || fail "the run stopped when a viewer left"
wait_for '^ running \(attached' 5 || fail "the first viewer lost the run when the second left"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q does not leave the first viewer"
grows "$RUN" || fail "the run stopped when the last viewer left"
ok "two viewers at once: a pause in one shows in the other; q leaves each, the run goes on"

# ---- 4. another uid ----
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    chmod 755 "$T" "$R"
    nob="setpriv --reuid=65534 --regid=65534 --clear-groups"
    if $nob "$BIDORA" pause "$RUN" >"$T/nobody.out" 2>&1; then fail "uid 65534 paused the run: $(cat "$T/nobody.out")"; fi
    grep -q 'permission denied' "$T/nobody.out" || fail "uid 65534 was not refused by the socket's mode: $(cat "$T/nobody.out")"
    chmod 666 "$RUN/control.sock" # open the file to all: the server's own check must refuse
    if $nob "$BIDORA" pause "$RUN" >"$T/nobody.out" 2>&1; then fail "uid 65534 paused the run: $(cat "$T/nobody.out")"; fi
    grep -q 'uid 65534 does not own this run' "$T/nobody.out" || fail "no SO_PEERCRED refusal: $(cat "$T/nobody.out")"
    grep -q 'refused a connection from uid 65534' "$RUN/log.txt" || fail "log.txt does not record the refusal"
    grows "$RUN" || fail "the run does not go on after the refusals"
    chmod 600 "$RUN/control.sock"
    ok "uid 65534 refused: by the socket's mode 0600, and by SO_PEERCRED (logged in log.txt)"
else
    echo "skip another uid (needs root and setpriv to run a client as nobody)"
fi

# ---- 5. bidora stop ----
"$BIDORA" stop "$RUN" >"$T/stop.out" 2>&1 || fail "bidora stop failed: $(cat "$T/stop.out")"
grep -q "stopped at step [0-9]*; checkpoint in" "$T/stop.out" || fail "bidora stop says: $(cat "$T/stop.out")"
[ -s "$RUN/checkpoint/state.bin" ] || fail "no checkpoint after bidora stop"
for f in config.ini metrics.csv log.txt; do [ -s "$RUN/$f" ] || fail "$f missing after bidora stop"; done
[ ! -e "$RUN/control.sock" ] || fail "control.sock left behind"
n=30
while [ $n -gt 0 ] && kill -0 "$WPID" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
kill -0 "$WPID" 2>/dev/null && fail "the detached workbench (pid $WPID) did not exit"
"$BIDORA" ps "$R" | grep -q "no live runs" || fail "bidora ps still lists a live run"
grep -q 'run stopped at step' "$RUN/detached.log" || fail "detached.log does not say how the run ended"
ok "bidora stop: checkpoint, complete run directory, no socket, the detached workbench exited"

# ---- 6. a headless run, attached and stopped from the viewer ----
"$BIDORA" train -c "$T/det.ini" run_name=headless 2>"$T/headless.err" &
hpid=$!
H=$R/headless
wait_file "$H/metrics.csv" 10 || fail "the headless run did not start"
n=50
while [ $n -gt 0 ] && [ ! -S "$H/control.sock" ]; do sleep 0.1; n=$((n - 1)); done
start_shell
kill -HUP $hpid # on_hangup = detach (the default): it trains on
sleep 0.3
grows "$H" || fail "the headless run stopped on SIGHUP"
grep -q 'detached (SIGHUP; on_hangup = detach)' "$H/log.txt" || fail "the headless run's log.txt does not say it detached"
ok "a headless run trains on after SIGHUP (on_hangup = detach), log.txt says so"
# the runs browser marks it live; Enter attaches to it
start_tui tui -c "$T/det.ini"
wait_for 'F5 starts' 10 || fail "the workbench did not open"
tm send-keys -t e2e F3
wait_for "headless .*running \(pid $hpid\)" 10 || fail "the runs browser does not show the headless run as running"
tm send-keys -t e2e End Enter
wait_for "running \(attached to pid $hpid\)" 10 || fail "Enter on the live headless run does not attach to it"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q does not leave the viewer opened from the runs browser"
grows "$H" || fail "the headless run stopped when the browser's viewer left"
ok "the runs browser shows the headless run live; Enter attaches, q leaves it running"
# no RUN: the newest live run of configs/default.ini's out_dir (of the working directory)
mkdir -p "$T/cwd/configs"
echo "out_dir = $R" >"$T/cwd/configs/default.ini"
tm send-keys -t e2e "cd $T/cwd && $BIDORA attach; echo \$? > $T/rc" Enter
wait_for "running \(attached to pid $hpid\)" 10 || fail "bidora attach (no RUN) did not pick the headless run"
tm send-keys -t e2e F8
wait_file "$T/rc" 20 || fail "F8 in the viewer did not end the headless run"
wait $hpid
st=$?
hpid=""
[ "$st" = 130 ] || fail "the headless run exited with $st after a stop, not 130"
[ -s "$H/checkpoint/state.bin" ] || fail "the headless run has no checkpoint after F8"
wait_for 'run stopped at step' 5 || fail "the viewer does not say the run stopped"
ok "a headless bidora train: attached (newest live run), stopped with F8 (checkpoint, exit 130)"

"$BIDORA" train -c "$T/det.ini" run_name=hup on_hangup=stop 2>"$T/hup.err" &
p=$!
wait_file "$R/hup/metrics.csv" 10 || fail "the on_hangup=stop run did not start"
sleep 0.5
kill -HUP $p
wait $p
st=$?
[ "$st" = 129 ] || fail "on_hangup=stop: SIGHUP gave exit status $st, not 129"
[ -s "$R/hup/checkpoint/state.bin" ] || fail "on_hangup=stop: no checkpoint after SIGHUP"
ok "a headless run with on_hangup=stop: SIGHUP checkpoints and stops it (exit 129)"

# ---- 7. q, d: detach with the terminal there ----
rm -f "$T/rc"
start_tui tui -c "$T/det.ini" run_name=qd
wait_for 'F5 starts' 10 || fail "the workbench did not open"
tm send-keys -t e2e F5
wait_for '^ running .*step [0-9]+/' 20 || fail "no run started"
tm send-keys -t e2e q
wait_for 'run is active\. d: detach' 5 || fail "q with a run active does not offer detach"
tm send-keys -t e2e d
wait_file "$T/rc" 10 || fail "q, d did not give the shell its prompt back"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc") after q, d"
wait_for 'detached: pid [0-9]+ trains .*qd on without a screen' 5 || fail "no line saying where the run trains on"
[ "$(tm display -p -t e2e '#{alternate_on}')" = 0 ] || fail "still on the alternate screen after q, d"
Q=$R/qd
grows "$Q" || fail "the run stopped after q, d"
"$BIDORA" pause "$Q" | grep -q 'paused at step' || fail "bidora pause did not pause it"
still "$Q" || fail "metrics.csv grows while paused"
"$BIDORA" checkpoint "$Q" | grep -q 'checkpoint written' || fail "bidora checkpoint did not write one"
[ -s "$Q/checkpoint/state.bin" ] || fail "no checkpoint after bidora checkpoint"
"$BIDORA" resume "$Q" | grep -q 'running at step' || fail "bidora resume did not resume it"
grows "$Q" || fail "metrics.csv does not grow after bidora resume"
"$BIDORA" stop "$Q" | grep -q 'stopped at step' || fail "bidora stop did not stop it"
ok "q, d: the shell prompt is back, the run trains on; bidora pause, checkpoint, resume, stop act on it"
# ---- 8. a live run whose directory is removed stops (a detached run would train for nobody) ----
"$BIDORA" train -c "$T/det.ini" run_name=gone 2>"$T/gone.err" &
p=$!
wait_file "$R/gone/metrics.csv" 10 || fail "the run to remove did not start"
sleep 0.3
rm -rf "$R/gone"
wait $p
st=$?
[ "$st" = 2 ] || fail "a run whose directory was removed exited $st, not 2"
grep -q 'gone: the run directory was removed while training; stopped at step [0-9]' "$T/gone.err" ||
    fail "no line saying the run directory was removed: $(cat "$T/gone.err")"
ok "a run whose directory is removed stops with one line (exit 2)"
echo "detach: all checks passed"
exit 0
