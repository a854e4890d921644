#!/bin/sh
# The set-up form guides (issue 16), in tmux at 120x40: keys in groups (model, data, method,
# optimisation, BiDoRA, evaluation, output) with the title counting the key and arrows on the
# border where more is above or below; another method's keys hidden (LoRA: no BiDoRA group, no
# dora_norm_grad); max_steps and epochs one choice (Left/Right); target_modules a checklist;
# e types (or pastes) a path instead of browsing; saving over an existing file asks first and
# the saved paths are absolute. Exits 1 with the failing check and the screen.
set -u
. tests/cli/tui_lib

tiny_config form
sed -i 's/^max_steps = .*/max_steps = 40/' "$T/form.ini"
start_tui tui -c "$T/form.ini"
wait_for 'the keys check out' 10 || fail "the workbench did not open the config"
wait_for '\(key 1 of [0-9]+\)' 2 || fail "the form's title does not count the keys"
need() { screen | grep -Eq -- "$1" || fail "$2"; }
need '── model ─' "no model group header"
need '── data ─' "no data group header"
need '── method ─' "no method group header"
need '▼' "no arrow for the rows below"
ok "groups with headers, the key counted in the title, an arrow for more below"

tm send-keys -t e2e End
wait_for '── output ─' 5 || fail "End does not reach the output group"
need '── BiDoRA ─' "BiDoRA's group is not shown for method = bidora"
need '▲' "no arrow for the rows above"
need 'run_name' "End does not show the last key"
ok "End: the output group, BiDoRA's group (method = bidora), an arrow for more above"

# method (the 14th key shown) to lora: Right twice (bidora -> dora -> lora)
tm send-keys -t e2e Home
i=0
while [ $i -lt 13 ]; do tm send-keys -t e2e j; i=$((i + 1)); done
tm send-keys -t e2e Right Right
wait_for '^.{1,3} method +lora ' 5 || fail "method did not cycle to lora"
tm send-keys -t e2e End
sleep 0.5
screen | grep -q '── BiDoRA' && fail "method = lora still shows BiDoRA's group"
screen | grep -q 'dora_norm_grad' && fail "method = lora still shows dora_norm_grad"
ok "method = lora hides BiDoRA's keys and dora_norm_grad"

# the run's length: max_steps, then epochs, then steps again
tm send-keys -t e2e Home
wait_for '\(key 1 of' 5 || fail "Home"
i=0
while [ $i -lt 30 ]; do tm send-keys -t e2e j; i=$((i + 1)); done
tm send-keys -t e2e Home
i=0
# optimisation: optimizer adam_beta1 adam_beta2 adam_eps lr weight_decay max_grad_norm batch_size max_steps
# after model (3), data (10), method for lora (7: method rank alpha rslora dropout target_modules init_adapter)
while [ $i -lt 28 ]; do tm send-keys -t e2e j; i=$((i + 1)); done
wait_for '^.{1,3} max_steps +40 +\(Left/Right: by epochs instead\)' 5 || fail "max_steps is not offered as one choice with epochs"
tm send-keys -t e2e Left
wait_for '^.{1,3} epochs +3 +\(Left/Right: by steps instead\)' 5 || fail "Left did not switch the length to epochs"
screen | grep -Eq '^.{1,3} max_steps ' && fail "max_steps still shown when training by epochs"
tm send-keys -t e2e Right
wait_for '^.{1,3} max_steps +[0-9]+ +\(Left/Right' 5 || fail "Right did not switch back to max_steps"
ok "max_steps and epochs: one choice, Left/Right switch"

# target_modules (6th of the method group for lora: 14 + 5 = the 19th key)
tm send-keys -t e2e Home
i=0
while [ $i -lt 18 ]; do tm send-keys -t e2e j; i=$((i + 1)); done
wait_for 'target_modules +query,value' 5 || fail "target_modules not shown"
tm send-keys -t e2e Enter
wait_for '\[x\] query' 5 || fail "Enter on target_modules opens no checklist"
need '\[ \] key' "the checklist does not list key unticked"
need '\[x\] value' "the checklist does not tick value"
tm send-keys -t e2e Down Space Enter
wait_for 'target_modules +query,key,value' 5 || fail "ticking key did not set target_modules = query,key,value"
ok "target_modules: a checklist of the model's modules (Space ticks, Enter sets)"

# e: a path typed instead of browsed (model is the first key)
tm send-keys -t e2e Home e C-u "$REPO/tests/ref/tiny_roberta" Enter
wait_for 'model +roberta, 2 layers' 5 || fail "e did not set the model path typed in"
ok "e: a path typed (or pasted) instead of browsing"

# save over the loaded file: asks; then saves with absolute paths
tm send-keys -t e2e Home e C-u "tests/ref/tiny_bert" Enter
wait_for 'model +bert, 2 layers' 5 || fail "a relative model path"
tm send-keys -t e2e s Enter
wait_for 'It exists: Enter again overwrites it' 5 || fail "saving over an existing file did not ask"
grep -q '^model = tests/ref/tiny_bert' "$T/form.ini" && fail "the file was overwritten before the second Enter"
tm send-keys -t e2e Enter
wait_for "saved $T/form.ini" 5 || fail "the second Enter did not save"
grep -q "^model = $REPO/tests/ref/tiny_bert$" "$T/form.ini" || fail "the saved model path is not absolute: $(grep '^model' "$T/form.ini")"
grep -q '^target_modules = query,key,value$' "$T/form.ini" || fail "the saved target_modules"
ok "s over an existing file asks first; the saved paths are absolute"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"

# 80x24, --ascii --mono: the groups and the arrows in ASCII; the pre-flight's lines
start_shell NO_COLOR=1
tm resize-window -t e2e -x 80 -y 24
tm send-keys -t e2e "$BIDORA tui --ascii -c $T/form.ini; echo \$? > $T/rc" Enter
wait_for '^\|-- model -' 10 || fail "80x24 --ascii: no ASCII group header"
need '^\|-- data -' "80x24 --ascii: no data header"
need 'v\|' "80x24 --ascii: no ASCII arrow for the rows below"
screen | LC_ALL=C grep -q '[^ -~]' && fail "--ascii: a byte outside printable ASCII in the set-up view"
tm send-keys -t e2e p
wait_for 'ready \(pre-flight passed\)' 15 || fail "80x24: p did not show the pre-flight"
ok "80x24 --ascii --mono: ASCII headers and arrows, the pre-flight"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
echo "tui_form: all checks passed"
