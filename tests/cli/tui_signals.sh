#!/bin/sh
# Signals with a run active, in tmux: Ctrl-C (SIGINT through the
# terminal), SIGTERM and, with on_hangup = stop, SIGHUP (an SSH drop) each
# stop the run with a checkpoint, join the trainer, restore the terminal and
# exit 128+signal. (SIGHUP with the default on_hangup = detach: detach.sh.)
# A signal with no run active just restores the terminal and exits. The pid
# signalled is the one the shell started: the keeper, which forwards them.
set -u
. tests/cli/tui_lib

tiny_config sig
# sh -c records the workbench's pid (exec keeps it) for kill
start_sig() {
    rm -f "$T/pid"
    start_shell
    tm send-keys -t e2e "sh -c 'echo \$\$ > $T/pid; exec $BIDORA tui -c $T/sig.ini $*'; echo \$? > $T/rc" Enter
    wait_file "$T/pid" 5 || fail "no pid"
    wait_for 'the keys check out' 10 || fail "the workbench did not open"
}
# check_stopped HOW STATUS: exit status, checkpoint, log line, restored terminal
check_stopped() {
    wait_file "$T/rc" 20 || fail "$1: the workbench did not exit within 20 s"
    [ "$(cat "$T/rc")" = "$2" ] || fail "$1: exit status $(cat "$T/rc"), want $2"
    d=$(ls -dt "$T"/runs/*/ | head -n 1)
    [ -s "$d/checkpoint/state.bin" ] || fail "$1: no checkpoint in $d"
    grep -q 'stopped at step' "$d/log.txt" || fail "$1: log.txt does not record the stop"
    wait_for 'tui-e2e\$ *$' 5 || fail "$1: no shell prompt after exit"
    [ "$(tm display -p -t e2e '#{alternate_on}')" = 0 ] || fail "$1: still on the alternate screen"
    ok "$1: run checkpointed and stopped, exit status $2, terminal restored"
    rm -rf "$T/runs"
}
run_it() {
    tm send-keys -t e2e F5
    wait_for '^ running .*step [0-9]+/' 20 || fail "$1: no run started"
}

start_sig
run_it SIGINT
tm send-keys -t e2e C-c
check_stopped "Ctrl-C (SIGINT)" 130

start_sig
run_it SIGTERM
kill -TERM "$(cat "$T/pid")"
check_stopped SIGTERM 143

start_sig on_hangup=stop
run_it SIGHUP
kill -HUP "$(cat "$T/pid")"
check_stopped "SIGHUP with on_hangup=stop" 129

start_sig
kill -TERM "$(cat "$T/pid")"
wait_file "$T/rc" 10 || fail "SIGTERM with no run: no exit"
[ "$(cat "$T/rc")" = 143 ] || fail "SIGTERM with no run: exit status $(cat "$T/rc")"
wait_for 'tui-e2e\$ *$' 5 || fail "SIGTERM with no run: no prompt"
ok "SIGTERM with no run: exit status 143, terminal restored"
echo "tui_signals: all checks passed"
exit 0
