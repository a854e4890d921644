#!/bin/sh
# The workbench follows runs as their metrics.csv grows (issue 14, part 4),
# in tmux with real trainers:
#   a. a headless `bidora train` in the background shows in the runs browser
#      (F3) as live (marker, "running (pid N)") and its step count grows with
#      no key pressed; stopped, it shows as a checkpointed run, not live;
#   b. that stopped run, opened from the browser (Enter), grows in the run
#      view while a headless `bidora train --resume` trains it (the status
#      line says live, pid N), and says so no more when that process ends;
#   c. a run started in the workbench (F5) is live in its own browser; stopped
#      (F8) and resumed with R it keeps the history before its checkpoint:
#      the loss chart's export ('e') holds every train step from 1, through
#      the stop, past it.
# Exits 1 with the failing check and the screen, 0 when all pass.
set -u
. tests/cli/tui_lib

tiny_config follow # out_dir = $T/runs
R=$T/runs
hpid=""
rpid=""
# the trainers this script started go with it
trap 'for p in $hpid $rpid; do kill -INT "$p" 2>/dev/null; done; cleanup' EXIT

# poll a shell condition for up to $2 s
wait_until() {
    n=$(($2 * 20))
    while [ $n -gt 0 ]; do eval "$1" && return 0; sleep 0.05; n=$((n - 1)); done
    return 1
}
# the steps column of run $1 in the runs browser ("<mark> NAME METHOD STEPS ...")
row_steps() { screen | sed -n "s/.* $1  *bidora  *\([0-9][0-9]*\) .*/\1/p" | head -n 1; }
# the step count of the opened run in the status line ("viewing NAME | bidora | N steps")
view_steps() { screen | sed -n 's/.*viewing .* \([0-9][0-9]*\) steps.*/\1/p' | head -n 1; }
# the live run's step in the status line ("running | step N/TOTAL")
step_now() { screen | sed -n 's/.*step \([0-9][0-9]*\)\/[0-9].*/\1/p' | head -n 1; }
# "$1" grows within $2 s (a later reading of $1 above the first); sets $g1 $g2
grows() {
    g1=$($1)
    [ -n "$g1" ] || return 1
    wait_until "g2=\$($1); [ -n \"\$g2\" ] && [ \"\$g2\" -gt $g1 ]" "$2"
}

# --- a. a headless run shows live in the runs browser and grows
"$BIDORA" train -c "$T/follow.ini" run_name=head 2>"$T/head.err" &
hpid=$!
wait_until "grep -q '^pid ' '$R/head/lock' 2>/dev/null && [ -s '$R/head/metrics.csv' ]" 30 ||
    fail "the headless run did not start: $(cat "$T/head.err")"
start_tui tui -c "$T/follow.ini"
wait_for 'F1Help' 10 || fail "the workbench did not open"
tm send-keys -t e2e F3
wait_for "(●|>) head +bidora +[0-9]+ .*running \\(pid $hpid\\)" 10 ||
    fail "the runs browser does not mark head as live: running (pid $hpid)"
wait_for 'runs in .* 1 live' 2 || fail "the runs browser's title does not count 1 live run"
grows "row_steps head" 10 || fail "head's step count does not grow in the runs browser (${g1:-none} -> ${g2:-none})"
ok "a headless run is live in the runs browser (pid $hpid) and grows unprompted: step $g1 -> $g2"
kill -INT $hpid
wait $hpid
st=$?
hpid=""
[ $st = 130 ] || fail "the headless run did not stop with a checkpoint on SIGINT (exit $st)"
wait_for '  head +bidora +[0-9]+ .* ckpt' 5 || fail "stopped, head does not show as ckpt"
screen | grep -Eq '(●|>) head ' && fail "stopped, head is still marked live"
screen | grep -q 'running (pid' && fail "stopped, head still shows running (pid N)"
last=$(tail -n 1 "$R/head/metrics.csv" | cut -d, -f2)
[ "$(row_steps head)" = "$last" ] || fail "the browser shows $(row_steps head) steps, metrics.csv ends at $last"
ok "stopped, it shows ckpt at step $last (metrics.csv's last), not live"

# --- b. the stopped run opened from the browser grows while resumed headless
tm send-keys -t e2e Home Enter
wait_for "viewing head .* $last steps .*from metrics.csv" 5 || fail "Enter did not open head at step $last"
"$BIDORA" train --resume "$R/head" max_steps=4000000 2>"$T/resume.err" &
rpid=$!
wait_for "viewing head .* live \\(pid $rpid\\)" 10 || fail "the opened run does not say live (pid $rpid)"
grows view_steps 10 || fail "the opened run does not grow while resumed (${g1:-none} -> ${g2:-none})"
[ "$g1" -ge "$last" ] || fail "the opened run went back from step $last to $g1"
ok "an opened run follows a headless resume (pid $rpid): $g1 -> $g2 steps"
kill -INT $rpid
wait $rpid
rpid=""
wait_for "viewing head .* steps .*from metrics.csv" 5 || fail "the resume ended, yet the view still says live"
last=$(tail -n 1 "$R/head/metrics.csv" | cut -d, -f2)
wait_for "viewing head .* $last steps" 3 || fail "the opened run stops at $(view_steps), metrics.csv at $last"
ok "the resume ended: the view shows its last step $last, no longer live"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"

# --- c. started here, stopped (F8), resumed with R: the history before the checkpoint stays
start_tui tui -c "$T/follow.ini" out_dir="$T/wb" run_name=wb
wait_for 'the keys check out' 10 || fail "the tiny config is not ready"
tm send-keys -t e2e F5
wait_for '^ running .*step [0-9]+/' 20 || fail "F5 started no run"
wait_until 's=$(step_now); [ -n "$s" ] && [ "$s" -ge 200 ]' 30 || fail "the run does not reach step 200"
tm send-keys -t e2e F3 # this workbench's own run is live in its browser too
wait_for '(●|>) wb +bidora +[0-9]+ .*running \(pid [0-9]+\)' 5 || fail "the workbench's own run is not live in the browser"
tm send-keys -t e2e F8
wait_for '^ stopped ' 20 || fail "F8 did not stop the run"
stop=$(screen | sed -n 's/.*run stopped at step \([0-9][0-9]*\).*/\1/p' | head -n 1)
[ -n "$stop" ] && [ "$stop" -ge 200 ] || fail "no 'run stopped at step N' message (N >= 200)"
wait_for "  wb +bidora +$stop .* ckpt" 5 || fail "the runs browser does not show the stopped run at step $stop, ckpt"
ok "the workbench's own run is live in its browser; stopped (F8) at step $stop, it shows ckpt"
tm send-keys -t e2e Home R
wait_for 'resuming bidora run' 5 || fail "R did not resume the run"
wait_until 's=$(step_now); [ -n "$s" ] && [ "$s" -ge $((stop + 100)) ]' 30 ||
    fail "the resumed run does not pass step $((stop + 100))"
tm send-keys -t e2e e # the focused chart: loss
wait_for 'exported .* to .*export-loss-run-' 5 || fail "e did not export the loss chart"
f=$(ls "$T"/wb/export-loss-run-*.csv 2>/dev/null | head -n 1)
[ -n "$f" ] || fail "no export of the loss chart in $T/wb"
first=$(grep '^"train",' "$f" | head -n 1 | cut -d, -f2)
before=$(grep '^"train",' "$f" | awk -F, -v s="$stop" '$2 <= s' | wc -l)
after=$(grep '^"train",' "$f" | awk -F, -v s="$stop" '$2 > s' | wc -l)
[ "$first" = 1 ] || fail "the resumed run's loss chart starts at step $first, not 1 (history lost)"
[ "$before" = "$stop" ] || fail "the loss chart holds $before train steps up to the checkpoint at $stop, not all"
[ "$after" -ge 100 ] || fail "the loss chart holds $after train steps after the checkpoint"
ok "resumed with R: the loss chart has steps 1..$stop from before the checkpoint and $after after"
tm send-keys -t e2e q
wait_for 'run is active\. d: detach .* s: stop it' 5 || fail "q with a run active does not ask first"
tm send-keys -t e2e s
wait_file "$T/rc" 20 || fail "q, y did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc") after q, y"
echo "tui_follow: all checks passed"
exit 0
