#!/bin/sh
# The workbench's log pane holds the trainer's lines, each once (issue 16):
# pause, a checkpoint while paused, resume, a checkpoint while running and
# F8 each show one line there ("paused at step N", "checkpoint at step N",
# ...), and the workbench's own key echoes (smoothing, log-y, "paused
# (Space resumes)", "checkpoint asked", "stopping") go to the message line
# only; the runs browser counts "1 run". tmux, as tests/cli/tui_lib sets up.
set -u
. tests/cli/tui_lib

# the log pane's text: the inside of the zoomed panel's box (no status or message line)
log_pane() { screen | sed -n 's/^│\(.*\)│$/\1/p' | sed 's/ *$//'; }
once() { # RE: exactly one log-pane line matches
    n=$(log_pane | grep -Ec -- "$1")
    [ "$n" = 1 ] || fail "the log pane has $n lines matching \"$1\" (wanted 1)"
}
none() { # RE: no log-pane line matches
    log_pane | grep -Eq -- "$1" && fail "the log pane holds \"$1\" (a key echo: the message line's)"
    return 0
}

STEPS=4000000 tiny_config log
sed -i 's/^eval_every = .*/eval_every = 0/' "$T/log.ini" # only the lines this test makes
start_tui tui -c "$T/log.ini"
wait_for 'the keys check out' 10 || fail "the tiny config is not ready"
tm send-keys -t e2e F5
wait_for '^ running .*step [1-9]' 20 || fail "F5 did not start the run"
tm send-keys -t e2e + l
wait_for 'log-y on' 5 || fail "l did not say log-y on"
tm send-keys -t e2e Space
wait_for 'paused at step [0-9]+' 10 || fail "Space: no \"paused at step N\" in the log"
tm send-keys -t e2e F7
wait_for 'checkpoint at step [0-9]+' 10 || fail "F7 while paused: no \"checkpoint at step N\""
tm send-keys -t e2e Space
wait_for 'resumed at step [0-9]+' 10 || fail "Space: no \"resumed at step N\""
d=$(ls -d "$T"/runs/bidora-* | head -n 1)
p=$(sed -n 's/.*] paused at step \([0-9][0-9]*\)$/\1/p' "$d/log.txt" | head -n 1)
[ -n "$p" ] || fail "log.txt has no \"paused at step N\""
# a second checkpoint, while running, at a later step
n=0
while [ $n -lt 50 ]; do
    s=$(screen | sed -n 's/^ running .*step \([0-9][0-9]*\)\/.*/\1/p' | head -n 1)
    [ -n "$s" ] && [ "$s" -gt "$p" ] && break
    sleep 0.1; n=$((n + 1))
done
tm send-keys -t e2e F7
wait_for "checkpoint at step ([0-9]+)" 10 || fail "F7 while running: no checkpoint line"
n=0
while [ "$(screen | grep -c 'checkpoint at step')" -lt 2 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
tm send-keys -t e2e F8
wait_for '^ stopped ' 20 || fail "F8 did not stop the run"
# the log panel alone, zoomed (Tab to it: the seventh panel, then Enter)
tm send-keys -t e2e Tab Tab Tab Tab Tab Tab Enter
wait_for '^┌─ log' 5 || fail "Tab x6, Enter did not zoom the log panel"
once "^paused at step $p\$"
once "^resumed at step $p\$"
once "^checkpoint at step $p\$"
[ "$(log_pane | grep -c '^checkpoint at step ')" = 3 ] ||
    fail "wanted 3 checkpoint lines (paused, running, the stop's): $(log_pane | grep -c '^checkpoint at step ')"
[ "$(log_pane | grep '^checkpoint at step ' | sort | uniq -d)" = "" ] || fail "a checkpoint line is shown twice"
once '^stopped at step [0-9]+ of '
once '^started bidora on '
none 'smoothing|log-y|Space resumes|checkpoint asked|stopping|run stopped|started bidora run on'
# each line the pane shows is a line of log.txt, in order (log.txt less its clock)
sed 's/^\[ *[0-9.]*s\] //' "$d/log.txt" | cut -c 1-116 >"$T/logtxt"
log_pane | grep -v '^$' | cut -c 1-116 >"$T/pane"
diff "$T/logtxt" "$T/pane" >"$T/diff" || fail "the log pane is not log.txt: $(cat "$T/diff")"
ok "log pane: pause, two checkpoints, resume, stop once each, as in log.txt; no key echoes"
# the message line has the last key's echo
tm send-keys -t e2e Escape
wait_for 'run stopped at step' 5 || fail "the message line does not say the run stopped"
ok "the message line says how the run ended"
tm send-keys -t e2e F3
wait_for "1 run in $T/runs" 5 || fail "the runs browser does not say \"1 run in\""
ok "runs browser: \"1 run in ...\" (not \"1 runs\")"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc")"
