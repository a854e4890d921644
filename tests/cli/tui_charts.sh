#!/bin/sh
# The run view reads at a glance (issue 16, "Charts"), in a real terminal (tmux): a 40-step BiDoRA
# run of the tiny model, then at 120x40, 200x60 and 80x24 (UTF-8, colour) the titles say the
# smoothing (EMA 0.60 by default), the axes are named (step; the scatter's dD and dM), the key line
# under each chart names every series with a whole number, the loss chart has the eval-minus-train
# gap and where eval loss last reached its minimum, BiDoRA's upper-level loss is called what it is,
# the weight panel has its layers x modules heatmap with a scale, the scatter states what the papers
# report, the magnitude panel plots m - ||W0|| with the W0 row norms as reference; Left / Right move
# a cursor whose step the titles read, Esc removes it. Then --ascii --mono: not one byte outside
# ASCII on the screen, and the series told apart by their characters (** train, ++ upper), in the
# runs browser's overlay of both runs too.
set -u
. tests/cli/tui_lib

tiny_config c
sed -i 's/^max_steps = .*/max_steps = 40/; s/^eval_every = .*/eval_every = 5/' "$T/c.ini"

run_to_end() { # $1: extra arguments
    start_shell LANG=C.UTF-8 LC_ALL=C.UTF-8
    tm send-keys -t e2e "$BIDORA tui -c $T/c.ini $1; echo \$? > $T/rc" Enter
    wait_for 'F5 starts a run|F5Start' 10 || fail "the workbench did not open"
    tm send-keys -t e2e F5
    wait_for '^ ?done .*step 40/40' 60 || fail "the run did not finish"
}
need() { screen | grep -Eq -- "$1" || fail "$2"; }

run_to_end ""
need 'loss  EMA 0\.60' "the loss chart's title does not say the smoothing (EMA 0.60 by default)"
need 'hypergradient norm \(upper level\)  EMA 0\.60' "the hypergradient chart's title lacks the smoothing"
need ' step .* 40' "the x axis is not named"
need "upper: m's loss on D_val [0-9]" "BiDoRA's upper-level loss is not labelled as the magnitude's objective on D_val"
need '(━━|--) train [0-9][0-9.e+-]*( |│)' "the key line does not give train's value whole"
need 'eval-train gap [+-]?[0-9]' "no eval-minus-train gap on the loss chart"
need 'eval loss (has risen for [0-9]+ evaluations? since step [0-9]+|at its minimum \(step [0-9]+\))' \
    "no readout of where eval loss last reached its minimum"
need 'L0 +[░▒▓█ ]+' "no layers x modules heatmap beside the weight curves"
need '0 ░▒▓█ [0-9]' "the heatmap has no scale"
need 'dD-dM query  k = [+-][0-9]' "the scatter's title lacks the signed slope"
need 'papers: LoRA k > 0; DoRA, FT k < 0' "the scatter does not say what the papers report"
need 'dM +[0-9.]+ +dD +[0-9.]+' "the scatter's axes are not named dD and dM"
need 'm - \|\|W0\|\| layer 0 query' "the magnitude panel does not plot m - ||W0||"
need '\|\|W0 row\|\| [0-9.]+\.\.[0-9.]+, mean' "the magnitude panel lacks the W0 row norms as reference"
ok "120x40: smoothing and axes named, key lines whole, overfitting readout, heatmap, scatter, m - ||W0||"

tm send-keys -t e2e Left
wait_for 'loss  EMA 0\.60  @ step 40' 5 || fail "Left did not put the cursor on the newest step"
tm send-keys -t e2e Left Left
wait_for 'loss  EMA 0\.60  @ step 38' 5 || fail "Left did not move the cursor back a step"
need 'eval  best accuracy [0-9.]+ @ [0-9]+  @ step 38' "the eval chart does not read the cursor's step"
tm send-keys -t e2e S-Right
wait_for '@ step 40' 5 || fail "Shift-Right did not move the cursor forward"
tm send-keys -t e2e Escape
sleep 0.5
screen | grep -q '@ step' && fail "Esc did not remove the cursor"
ok "the cursor: Left, Shift-Right, the titles read its step, Esc removes it"

train_key=$(screen | grep -Eo 'train [0-9][0-9.e+-]*' | head -n 1)
[ -n "$train_key" ] || fail "no train value in the key line"
tm resize-window -t e2e -x 200 -y 60
wait_for 'L0 [0-9][0-9.e+-]*  (━━|--) L1 [0-9]' 5 || fail "200x60: not every layer's value in the weight panel's key"
need 'eval loss (has risen|at its minimum)' "200x60: the overfitting readout is gone"
ok "200x60: every series named with its value"
tm resize-window -t e2e -x 80 -y 24
wait_for 'loss  EMA 0\.60' 5 || fail "80x24: the loss chart lost its title"
screen | grep -Fq "$train_key " || fail "80x24: the key line does not show \"$train_key\" whole (as at 120x40)"
ok "80x24: titles kept, no number cut"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"

run_to_end "--ascii --mono"
screen | LC_ALL=C grep -q '[^ -~]' && fail "--ascii: a byte outside printable ASCII on the screen"
need '\*\* train [0-9]' "--ascii --mono: train is not marked by its character"
need "\+\+ upper: m's loss" "--ascii --mono: the upper-level loss is not marked by its character"
need 'L0 +[.:=#@ ]+' "--ascii: the heatmap is not drawn in ASCII shades"
ok "--ascii --mono: pure ASCII, series told apart by * and +"
# the runs browser's overlay of the two runs: each its character, in the chart and the legend
tm send-keys -t e2e F3
n=0
while [ $n -lt 50 ] && [ "$(screen | grep -c ' bidora  *40 ')" -lt 2 ]; do sleep 0.1; n=$((n + 1)); done
[ "$(screen | grep -c ' bidora  *40 ')" -ge 2 ] || fail "F3: the runs browser does not list both runs"
tm send-keys -t e2e t
sleep 0.3
tm send-keys -t e2e t # t tags and moves down
wait_for '\*\* bidora-.*last' 5 || fail "--ascii --mono overlay: the first run's legend is not **"
need '\+\+ bidora-.*last' "--ascii --mono overlay: the second run's legend is not ++"
screen | LC_ALL=C grep -q '[^ -~]' && fail "--ascii: a byte outside printable ASCII in the runs browser"
ok "--ascii --mono: the runs overlay tells its runs apart by ** and ++"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
exit 0
