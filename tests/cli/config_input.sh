#!/bin/sh
# Configuration and label input (issue 11, items 8 and 9): INI lines of any
# length, no continuation lines, a key given twice, values longer than their
# field, run_name that would leave out_dir, numbers that read back exactly,
# a run in a long directory that resumes; class labels that look numeric (a
# warning) or are one per row (refused). Refusals exit 1 with exactly one
# stderr line naming the file and line or key.
. tests/cli/expect_lib

check() { # WHAT CONDITION...: a plain assertion
    what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

long() { head -c "$1" /dev/zero | tr '\0' "${2:-d}"; }

NOM="$T/no-model"  # missing on purpose: a config the old reader let through fails later, elsewhere
TINY="model = $REF/tiny_bert
batch_size = 4
max_length = 32
max_steps = 4
eval_every = 2
checkpoint_every = 2"

# --- item 8: the INI reader ---
# a comment line past inih's 200 bytes: the next lines keep their numbers
printf '# %s\nmodel = %s\nlr = fast\n' "$(long 300 c)" "$NOM" >"$T/c1.ini"
expect "c1.ini:3: " "lr = \"fast\"" -- "$BIDORA" train -c "$T/c1.ini"
# a long data= path is read whole, not cut at 200 bytes and the rest read as a line
LONGP="$T/$(long 150)/$(long 150 e)/$(long 150 f)/x.csv"
printf '%s\ndata = %s\nout_dir = %s/runs\n' "$TINY" "$LONGP" "$T" >"$T/c2.ini"
expect "$LONGP: cannot open" -- "$BIDORA" train -c "$T/c2.ini"
# a path of PATH_MAX - 1 bytes (4095) fits the field; one more byte is refused by key and line
P4095="/$(long 4094)"
printf 'model = %s\ndata = %s\n' "$NOM" "$P4095" >"$T/c3.ini"
expect "$NOM" -- "$BIDORA" train -c "$T/c3.ini"
printf '# ok\nmodel = %s\ndata = /%s\n' "$NOM" "$(long 4095)" >"$T/c4.ini"
expect "c4.ini:3: " "data" "4096 bytes, longer than the 4095" -- "$BIDORA" train -c "$T/c4.ini"
# ... and on the command line (key=value), where the old parser cut it to 4095 silently
expect "model" "longer than" -- "$BIDORA" train -c "$T/c3.ini" "model=/$(long 5000)"
# a line that begins with blanks is a key = value line, not a continuation of model's value
printf 'model = %s\n  lr = fast\n' "$NOM" >"$T/c5.ini"
expect "c5.ini:2: " "lr = \"fast\"" -- "$BIDORA" train -c "$T/c5.ini"
printf 'model = %s\n\t  val_batch_size = 64\nbatch_size = 32\n' "$NOM" >"$T/c6.ini"
expect "val_batch_size = 64" "at most batch_size" -- "$BIDORA" train -c "$T/c6.ini"
# a key given twice is refused, naming both lines
printf 'model = %s\nlr = 1e-3\nrank = 4\n[again]\nlr = 2e-3\n' "$NOM" >"$T/c7.ini"
expect "c7.ini:5: key lr given twice (first on line 2)" -- "$BIDORA" train -c "$T/c7.ini"
# a NUL byte would cut the line
printf 'model = %s\ndata = x.csv\000.bak\n' "$NOM" >"$T/c8.ini"
expect "c8.ini:2: " "NUL" -- "$BIDORA" train -c "$T/c8.ini"

# --- item 9: run_name stays one directory under out_dir ---
for name in ../escape a/b . .. .hidden "$(printf 'a\001b')"; do
    expect "run_name" -- "$BIDORA" train -c configs/tiny.ini out_dir="$T/runs" "run_name=$name" model="$NOM"
done
printf 'model = %s\nrun_name = ..\n' "$NOM" >"$T/c9.ini"
expect "c9.ini:2: " "run_name" -- "$BIDORA" train -c "$T/c9.ini"
check "nothing written outside out_dir" test ! -e "$T/escape"

# --- config.ini reads back: exact numbers, a long run directory resumes ---
printf '%s\ndata = %s\nout_dir = %s/runs\nrun_name = prec\nlr = 0.00012345678901234\nsplit = 0.4999999,0.25,0.2500001\n' \
    "$TINY" "$REF/tiny.csv" "$T" >"$T/p.ini"
succeed "train with many-digit numbers" -- "$BIDORA" train -c "$T/p.ini"
check "config.ini keeps every digit of lr" grep -qx "lr = 0.00012345678901234" "$T/runs/prec/config.ini"
check "config.ini keeps every digit of split" grep -qx "split = 0.4999999,0.25,0.2500001" "$T/runs/prec/config.ini"
DEEP="$T/$(long 60 a)/$(long 60 b)/$(long 60 c)"
printf '%s\ndata = %s\nsplit = 0.5,0.25,0.25\nout_dir = %s\nrun_name = deep\n' "$TINY" "$REF/tiny.csv" "$DEEP" >"$T/d.ini"
succeed "train in a 180+ byte directory" -- "$BIDORA" train -c "$T/d.ini"
check "its config.ini's comment line is past 200 bytes" test "$(head -1 "$DEEP/deep/config.ini" | wc -c)" -gt 200
succeed "rerun with -c its config.ini" -- "$BIDORA" train -c "$DEEP/deep/config.ini" run_name=deep2
succeed "resume it" -- "$BIDORA" train --resume "$DEEP/deep"

# --- item 9: class labels ---
# a model without id2label, so the labels come from the data
rm -rf "$T/m"; cp -r "$REF/tiny_bert_nohead" "$T/m"
sed -i '/"id2label"/,/}/d; /"label2id"/,/}/d' "$T/m/config.json"
{ echo "text,label"; i=0; while [ $i -lt 30 ]; do echo "row $i,$((i % 3)).5"; i=$((i + 1)); done; } >"$T/num.csv"
succeed "eval on numeric class labels" -- "$BIDORA" eval --model "$T/m" --data "$T/num.csv"
check "... warns: label column looks numeric" \
    grep -q "^bidora: warning: .*num.csv: label column looks numeric: use task = regression?" "$T/err"
succeed "eval on word labels" -- "$BIDORA" eval --model "$T/m" --data "$REF/tiny.csv"
check "... does not warn" sh -c "! grep -q warning '$T/err'"
# one label per row: refused before any model is built
{ echo "text,label"; i=0; while [ $i -lt 300 ]; do echo "row $i,c$i"; i=$((i + 1)); done; } >"$T/many.csv"
expect "many.csv: 300 distinct labels in 300 rows" "label_column" -- "$BIDORA" eval --model "$T/m" --data "$T/many.csv"
expect "many.csv: 300 distinct labels in 300 rows" -- \
    "$BIDORA" train -c configs/tiny.ini model="$T/m" data="$T/many.csv" out_dir="$T/runs"

[ $fails = 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all config input cases passed"
