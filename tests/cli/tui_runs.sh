#!/bin/sh
# The runs browser's comparison table, filter, rename and delete (issue 16),
# in tmux with real (tiny, 30-step) runs: alpha (bidora, lr 0.01), beta
# (lora, lr 0.005), gamma (bidora, lr 0.02), and "broken" (a garbled
# metrics.csv, a bad config.ini):
#   a. 80x24, UTF-8, colour: t tags alpha and beta, c opens the comparison:
#      the differing settings (method, lr) as columns with each run's values,
#      best@step and final eval accuracy as metrics.csv has them, the more-
#      columns marker; F6 / > pick the sort column (its arrow), I inverts
#      (the rows swap); Left/Right scroll (the less-columns marker, steps/s
#      and wall come into view); a tagged broken run is marked '!' with '?'
#      settings and the footer says why; Esc goes back;
#      / narrows the list as you type (lora: beta only), Esc clears it;
#      n renames: '/' refused, an existing name refused, then gamma -> gamma2
#      on disk; D asks and only y deletes (any other key keeps it), gone on disk;
#      the other runs' directories untouched;
#   b. a live run (a headless trainer holds its lock): D and n are refused,
#      its directory stays;
#   c. 200x60 with --ascii: the comparison in ASCII (sort arrow ^ / v), every column fits;
#   d. 80x24 with --mono (NO_COLOR too): the comparison, the filter and the delete prompt.
# Exits 1 with the failing check and the screen, 0 when all pass.
set -u
. tests/cli/tui_lib

STEPS=30 tiny_config runs # out_dir = $T/runs
R=$T/runs
lpid=""
trap 'for p in $lpid; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup' EXIT

"$BIDORA" train -c "$T/runs.ini" run_name=alpha lr=0.01 2>/dev/null || fail "run alpha failed"
"$BIDORA" train -c "$T/runs.ini" run_name=beta lr=0.005 method=lora 2>/dev/null || fail "run beta failed"
"$BIDORA" train -c "$T/runs.ini" run_name=gamma lr=0.02 2>/dev/null || fail "run gamma failed"
mkdir -p "$R/broken"
printf 'wall_time,step,phase,name,value\n0.1,1,train,train/loss,1.5\nnot,a,row\n' >"$R/broken/metrics.csv"
printf 'lr = fast\n' >"$R/broken/config.ini"

# the last eval/accuracy of run $1, as the table prints it
final_acc() { grep ',eval/accuracy,' "$R/$1/metrics.csv" | tail -n 1 | cut -d, -f5 | xargs printf '%.4f'; }
# the screen line number of the first line matching $1
line_of() { screen | grep -n -E -- "$1" | head -n 1 | cut -d: -f1; }
wait_until() {
    n=$(($2 * 20))
    while [ $n -gt 0 ]; do eval "$1" && return 0; sleep 0.05; n=$((n - 1)); done
    return 1
}

# --- a. 80x24, UTF-8, colour
start_tui tui -c "$T/runs.ini"
tm resize-window -t e2e -x 80 -y 24
wait_for 'F1Help' 10 || fail "the workbench did not open"
tm send-keys -t e2e F3
wait_for ' alpha +bidora +30 ' 5 || fail "the runs browser does not list alpha"
wait_for ' gamma +bidora +30 ' 2 || fail "the runs browser does not list gamma"
wait_for 't tag  c compare  / filter' 2 || fail "the list's border does not show its keys"
tm send-keys -t e2e c
wait_for 'tag 2 or more runs \(t\) to compare them; 0 tagged' 3 || fail "c with no tagged run does not say what it needs"
tm send-keys -t e2e Home t t # sorted by name: alpha, beta, broken, gamma
wait_for '^│\* +alpha ' 3 || fail "t did not tag alpha"
wait_for '^│\* +beta ' 3 || fail "t did not tag beta (the selection moves down)"
wait_for '2 tagged: c compares' 2 || fail "the border does not count 2 tagged runs"
tm send-keys -t e2e c
wait_for 'compare 2 tagged runs: 4 settings differ; eval metric eval/accuracy' 5 || fail "c did not open the comparison"
screen | grep -Eq '^│name▲ +method +lr +upper_lr +retrain_lr +best@step +final' ||
    fail "the comparison's header lacks name (sorted), method, lr, best@step, final"
fa=$(final_acc alpha) fb=$(final_acc beta)
screen | grep -Eq "^│ alpha +bidora +0\\.01 +0\\.01 +0\\.01 +[0-9.]+@[0-9]+ +$fa " || fail "alpha's row: bidora 0.01, final $fa"
screen | grep -Eq "^│ beta +lora +0\\.005 +0\\.005 +0\\.005 +[0-9.]+@[0-9]+ +$fb " || fail "beta's row: lora 0.005, final $fb"
screen | grep -q ' gamma ' && fail "the untagged gamma is in the comparison"
screen | grep -Eq '▶│$' || fail "at 80 columns the table does not mark the hidden columns (▶)"
ok "80x24: c compares alpha and beta: method, lr (+ the lrs that follow it) differ; final $fa / $fb; ▶ marks more columns"
tm send-keys -t e2e F6
wait_for '^│name +method▲ ' 3 || fail "F6 did not sort by method (arrow on method)"
tm send-keys -t e2e '>'
wait_for ' lr▲ ' 3 || fail "> did not sort by lr"
[ "$(line_of ' beta ')" -lt "$(line_of ' alpha ')" ] || fail "sorted by lr ascending, beta (0.005) is not above alpha (0.01)"
tm send-keys -t e2e I
wait_for ' lr▼ ' 3 || fail "I did not invert the order (▼)"
wait_for 'sorted by lr, descending' 2 || fail "no message for the inverted sort"
[ "$(line_of ' alpha ')" -lt "$(line_of ' beta ')" ] || fail "sorted by lr descending, alpha is not above beta"
ok "F6 and > choose the sort column (lr▲: beta first), I inverts it (lr▼: alpha first)"
tm send-keys -t e2e Right Right Right Right
wait_for '◀' 3 || fail "scrolled right, no marker for the hidden columns on the left (◀)"
wait_for ' steps/s +wall' 3 || fail "scrolled right, steps/s and wall do not come into view"
screen | grep -Eq '^│ alpha +◀.* [0-9.]+s +' || fail "alpha's wall time is not shown"
screen | grep -Eq '^│name.* +method' && fail "the scrolled header still shows method"
tm send-keys -t e2e Left Left Left Left
wait_for '^│name +method +lr' 3 || fail "Left did not scroll back"
ok "Left/Right scroll the columns (◀ marker; steps/s, wall), the name stays"
tm send-keys -t e2e Escape
wait_for ' t tag  c compare|2 tagged' 3 || fail "Esc did not go back to the list"
tm send-keys -t e2e Home Down Down t c # broken tagged too
wait_for 'compare 3 tagged runs' 5 || fail "c did not compare 3 runs"
screen | grep -Eq '^│!broken +\? +\? ' || fail "the broken run is not marked ! with ? settings"
tm send-keys -t e2e End # (unknown lr: last)
wait_for '! broken: config.ini:1: lr = "fast"' 3 || fail "the footer does not say what is wrong with broken's config.ini"
wait_for 'metrics.csv:3' 1 || fail "the footer does not say what is wrong with broken's metrics.csv"
ok "a broken run (garbled metrics.csv, bad config.ini) is marked !, its settings ?, the footer says why"
tm send-keys -t e2e t Escape # untag broken in the table, back
wait_for ' t tag  c compare|2 tagged' 3 || fail "Esc did not go back to the list"

tm send-keys -t e2e / l o r a
wait_for 'Filter by name or method' 3 || fail "/ did not open the filter prompt"
wait_for 'filter "lora": 1 of 4' 3 || fail "the filter does not count 1 of 4"
screen | grep -Eq '^│.? +beta +lora ' || fail "the filter hides beta"
screen | grep -Eq '^│[* ] +(alpha|gamma|broken) ' && fail "the filter lora still shows alpha, gamma or broken"
tm send-keys -t e2e BSpace BSpace BSpace BSpace b i
wait_for 'filter "bi": 2 of 4' 3 || fail "the filter does not narrow live (bi: the bidora runs)"
tm send-keys -t e2e Escape
wait_for '^│[* ] +broken ' 3 || fail "Esc did not clear the filter (broken is not back)"
screen | grep -q 'filter "' && fail "the filter still shows after Esc"
ok "/ narrows the list as you type (lora: beta; bi: the 2 bidora runs); Esc clears it"

tm send-keys -t e2e End n
wait_for 'Rename gamma to' 3 || fail "n did not ask for gamma's new name"
tm send-keys -t e2e C-u g a m / x Enter
wait_for "not renamed: .*cannot contain '/'" 3 || fail "a name with / was not refused"
[ -d "$R/gamma" ] || fail "gamma's directory is gone after a refused rename"
tm send-keys -t e2e n C-u a l p h a Enter
wait_for 'not renamed: .*alpha exists already' 3 || fail "renaming onto alpha was not refused"
[ -f "$R/alpha/metrics.csv" ] && [ -f "$R/gamma/metrics.csv" ] || fail "a refused rename touched alpha or gamma"
tm send-keys -t e2e n C-u g a m m a 2 Enter
wait_for 'renamed gamma to gamma2' 3 || fail "n did not rename gamma"
[ -f "$R/gamma2/metrics.csv" ] && [ -f "$R/gamma2/config.ini" ] && [ ! -e "$R/gamma" ] || fail "gamma2 is not on disk (or gamma still is)"
wait_for ' gamma2 +bidora +30 ' 3 || fail "the list does not show gamma2"
ok "n renames: '/' and an existing name refused, gamma -> gamma2 on disk"
tm send-keys -t e2e D
wait_for 'Delete run gamma2 and all its files\? y: delete' 3 || fail "D did not ask"
tm send-keys -t e2e n
wait_for 'kept gamma2' 3 || fail "a key other than y did not keep gamma2"
[ -f "$R/gamma2/metrics.csv" ] || fail "gamma2 is gone without a y"
tm send-keys -t e2e D y
wait_for 'deleted gamma2' 3 || fail "D y did not delete gamma2"
[ ! -e "$R/gamma2" ] || fail "gamma2 is still on disk"
screen | grep -Eq '^│[* ] +gamma2 ' && fail "the list still shows gamma2"
for r in alpha beta broken; do [ -f "$R/$r/metrics.csv" ] || fail "$r's metrics.csv is gone"; done
[ -f "$R/alpha/adapter/adapter.safetensors" ] || [ -d "$R/alpha/adapter" ] || fail "alpha's adapter is gone"
ok "D asks; n keeps gamma2, y deletes it (gone on disk); alpha, beta, broken untouched"

# --- b. a live run cannot be renamed or deleted
STEPS=4000000 tiny_config live
"$BIDORA" train -c "$T/live.ini" run_name=live 2>/dev/null &
lpid=$!
wait_until "grep -q '^pid ' '$R/live/lock' 2>/dev/null && [ -s '$R/live/metrics.csv' ]" 30 || fail "the live run did not start"
wait_for '(●|>) live +bidora ' 10 || fail "the live run does not show in the browser"
tm send-keys -t e2e End D
wait_for "live is running \\(pid $lpid\\): it cannot be deleted here" 3 || fail "D on a live run was not refused"
tm send-keys -t e2e n
wait_for "live is running \\(pid $lpid\\): it cannot be renamed here" 3 || fail "n on a live run was not refused"
screen | grep -q 'Delete run live' && fail "a live run got a delete prompt"
kill -0 $lpid 2>/dev/null && [ -f "$R/live/metrics.csv" ] || fail "the live run or its directory is gone"
ok "a live run (pid $lpid): D and n refused, it trains on"
kill -INT $lpid
wait $lpid
lpid=""
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc")"

# --- c. 200x60, --ascii
start_tui tui --ascii -c "$T/runs.ini"
tm resize-window -t e2e -x 200 -y 60
wait_for 'F1Help' 10 || fail "the workbench did not open with --ascii"
tm send-keys -t e2e F3
wait_for ' alpha +bidora ' 5 || fail "the runs browser does not list alpha (--ascii)"
wait_for 'tTag +cCompare/Filter' 2 || fail "at 200 columns the key bar does not show the browser's keys"
tm send-keys -t e2e Home t t c
wait_for 'compare 2 tagged runs' 5 || fail "c did not open the comparison (--ascii)"
wait_for '^\|name\^ +method +lr +upper_lr +retrain_lr +best@step +final +gap +steps/s +wall' 3 ||
    fail "at 200x60 the ASCII header lacks a column or the ^ arrow"
screen | grep -Eq "^\\| alpha +bidora +0\\.01 .* $fa " || fail "alpha's row (--ascii)"
screen | grep -Eq '[<>]\|$' && fail "at 200 columns a hidden-columns marker shows, though all fit"
tm send-keys -t e2e I
wait_for '^\|namev ' 3 || fail "I did not show the descending arrow v (--ascii)"
[ "$(line_of ' beta ')" -lt "$(line_of ' alpha ')" ] || fail "by name descending, beta is not above alpha"
ok "200x60 --ascii: every column fits, the sort arrow is ^ / v, I inverts"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"

# --- d. 80x24, --mono
start_shell NO_COLOR=1
tm resize-window -t e2e -x 80 -y 24
tm send-keys -t e2e "$BIDORA tui --mono -c $T/runs.ini; echo \$? > $T/rc" Enter
wait_for 'F1Help' 10 || fail "the workbench did not open with --mono"
tm send-keys -t e2e F3
wait_for ' beta +lora ' 5 || fail "the runs browser does not list beta (--mono)"
tm send-keys -t e2e Home t t c
wait_for 'compare 2 tagged runs' 5 || fail "c did not open the comparison (--mono)"
screen | grep -Eq '^│ beta +lora +0\.005 ' || fail "beta's row (--mono)"
tm send-keys -t e2e c / a l
wait_for 'filter "al": 1 of 4' 3 || fail "the filter (--mono)"
tm send-keys -t e2e Enter D
wait_for 'Delete run alpha and all its files' 3 || fail "D did not ask (--mono)"
tm send-keys -t e2e Escape
wait_for 'kept alpha' 3 || fail "Esc did not keep alpha"
[ -f "$R/alpha/metrics.csv" ] || fail "alpha is gone"
ok "80x24 --mono: the comparison, the filter and the delete prompt (Esc keeps)"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
[ "$(cat "$T/rc")" = 0 ] || fail "exit status $(cat "$T/rc")"
echo "tui_runs: all checks passed"
exit 0
