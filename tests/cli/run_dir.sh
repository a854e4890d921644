#!/bin/sh
# The run directory cannot be corrupted (issue 11, items 1-6 and 10):
# one writer per run (a lock; a second trainer, a resume and the runs
# browser are turned away while it is held; a dead holder's lock is taken
# over); resume never writes a (step, phase, name) row twice; a finished
# run is left untouched; a run killed before its first checkpoint is no
# dead end; temp files of a kill are removed; resume takes the keys that
# may change and refuses the rest; kill -9 at random points and resumes
# give the uninterrupted run's rows, bit for bit; a full disk stops the run
# with exit status 2 naming the file, and nothing is lost or torn.
set -u
. tests/cli/tui_lib
# the failure last (tests/run.sh shows an output's tail)
fail() { echo "--- the screen:"; screen | sed 's/^/    |/'; echo "FAIL: $*"; exit 1; }

base="-c configs/tiny.ini out_dir=$T/runs"
R=$T/runs
# rows without their wall time and without time/step_ms (the only values that differ between runs)
strip() { grep -v ',time/step_ms,' "$1" | cut -d, -f2-; }
# every (step, phase, name) at most once, and every row whole (5 fields, a number last)
check_rows() {
    d=$(cut -d, -f2-4 "$1" | sort | uniq -d | head -n 3)
    [ -z "$d" ] || fail "$1: rows written twice: $d"
    bad=$(awk -F, 'NR > 1 && (NF != 5 || $5 !~ /^-?[0-9.e+-]+$|^-?nan$|^-?inf$/)' "$1" | head -n 3)
    [ -z "$bad" ] || fail "$1: torn rows: $bad"
}
# poll a shell condition for up to 60 s (sanitized builds on a loaded machine are slow)
wait_until() {
    n=1200
    while [ $n -gt 0 ]; do eval "$1" && return 0; sleep 0.05; n=$((n - 1)); done
    fail "timed out waiting for: $1"
}
wait_lock() { wait_until "grep -q '^pid ' '$1/lock' 2>/dev/null"; } # until RUN/lock names a pid
sums() { (cd "$1" && find . -type f | sort | xargs md5sum); }

# --- 1. one writer: a second trainer, a resume, the runs browser
"$BIDORA" train $base run_name=busy max_steps=100000000 eval_every=0 checkpoint_every=0 2>"$T/busy.err" &
bpid=$!
wait_lock "$R/busy"
"$BIDORA" train $base run_name=busy max_steps=5 >/dev/null 2>"$T/e2"
st=$?
[ $st = 1 ] && [ "$(wc -l <"$T/e2")" = 1 ] && grep -q "$R/busy: being trained by pid $bpid on " "$T/e2" \
    || fail "a second trainer on the run: exit $st: $(cat "$T/e2")"
ok "a second trainer exits 1: $(cat "$T/e2")"
"$BIDORA" train --resume "$R/busy" >/dev/null 2>"$T/e3"
st=$?
[ $st = 1 ] && grep -q "being trained by pid $bpid" "$T/e3" || fail "resume of a running run: exit $st: $(cat "$T/e3")"
ok "resume of a running run exits 1 naming pid $bpid"
start_tui tui -c configs/tiny.ini out_dir="$R"
wait_for 'F1Help' 30 || fail "the workbench did not open"
tm send-keys -t e2e F3
wait_for "busy .*running \\(pid $bpid\\)" 5 || fail "the runs browser does not show busy as running (pid $bpid)"
tm send-keys -t e2e Home R
wait_for "busy is running \\(pid $bpid\\): it cannot be resumed here" 5 || fail "R on a running run was not refused"
ok "the runs browser shows running (pid $bpid) and refuses R"
tm send-keys -t e2e q
wait_file "$T/rc" 10 || fail "q did not quit"
kill -INT $bpid
wait $bpid
[ $? = 130 ] || fail "the busy run did not stop on SIGINT with 130"
[ -s "$R/busy/lock" ] && fail "a released lock keeps its record: $(cat "$R/busy/lock")"

# two fresh starts on one run_name at once (three times): exactly one trains it
for k in 1 2 3; do
    "$BIDORA" train $base run_name=race$k max_steps=150 eval_every=0 2>"$T/r1" & p1=$!
    "$BIDORA" train $base run_name=race$k max_steps=150 eval_every=0 2>"$T/r2" & p2=$!
    wait $p1; s1=$?
    wait $p2; s2=$?
    [ "$s1$s2" = 01 ] || [ "$s1$s2" = 10 ] || fail "two trainers on one run_name: exit statuses $s1 and $s2: $(cat "$T/r1" "$T/r2" | grep bidora:)"
    check_rows "$R/race$k/metrics.csv"
    [ "$(grep -c ',train/loss,' "$R/race$k/metrics.csv")" = 150 ] || fail "race$k: not 150 losses"
done
ok "two trainers started together on one run (3 times): one trains it, the other exits 1 ($(tail -n 1 "$T/r$([ $s1 = 1 ] && echo 1 || echo 2)"))"

# --- 2. a stale lock of a killed process is taken over; its temp files go
"$BIDORA" train $base run_name=stale max_steps=100000000 eval_every=0 checkpoint_every=20 2>/dev/null &
kpid=$!
wait_lock "$R/stale"
wait_until '[ -s "$R/stale/checkpoint/state.bin" ]'
kill -9 $kpid
wait $kpid 2>/dev/null
head -c 100000 /dev/zero >"$R/stale/checkpoint/state.bin.tmp.$kpid" # as a kill mid-write leaves it
head -c 100 /dev/zero >"$R/stale/metrics.csv.tmp.$kpid"
# the tiny model trains a step in milliseconds: by the kill the run may have checkpointed at 40 or
# later, not 20, so resume to 10 steps past the last row written (metrics.csv has a row every step,
# and a checkpoint's rows are all in it)
last=$(awk -F, 'NR > 1 && $2 ~ /^[0-9]+$/ { s = $2 } END { print s + 0 }' "$R/stale/metrics.csv")
"$BIDORA" train --resume "$R/stale" max_steps=$((last + 10)) 2>"$T/st.err" ||
    fail "resume after kill -9 (max_steps=$((last + 10))): $(cat "$T/st.err")"
grep -q "took over the lock of pid $kpid on .*, which is gone" "$R/stale/log.txt" || fail "no log line for the stale lock"
grep -q "removed 2 temporary files left by a killed process" "$R/stale/log.txt" || fail "no log line for the temp files"
ls "$R/stale" "$R/stale/checkpoint" | grep -q '\.tmp\.' && fail "temp files left: $(ls "$R/stale" "$R/stale/checkpoint")"
ok "kill -9: the stale lock of pid $kpid is taken over, its 2 temp files removed (log.txt says so)"

# --- 3. resume of a finished run: nothing touched; raising max_steps trains on, bit-identical (slope k too)
run="$base run_name=fin max_steps=20 eval_every=5 checkpoint_every=10 schedule=constant warmup=0"
"$BIDORA" train $run 2>/dev/null || fail "run fin failed"
sums "$R/fin" >"$T/before"
"$BIDORA" train --resume "$R/fin" >/dev/null 2>"$T/fin.err"
st=$?
[ $st = 0 ] && grep -q "is finished (20 steps)" "$T/fin.err" || fail "resume of a finished run: exit $st: $(cat "$T/fin.err")"
sums "$R/fin" | cmp -s - "$T/before" || fail "resume of a finished run changed files: $(sums "$R/fin" | diff - "$T/before")"
ok "resume of a finished run: exit 0, '$(cat "$T/fin.err")', every file unchanged"
"$BIDORA" train --resume "$R/fin" max_steps=40 2>"$T/fin2.err" || fail "resume with max_steps=40: $(cat "$T/fin2.err")"
grep -q '^max_steps = 40$' "$R/fin/config.ini" || fail "config.ini does not record max_steps = 40"
grep -q 'max_steps 20 -> 40' "$R/fin/log.txt" || fail "log.txt does not say max_steps changed"
"$BIDORA" train $base run_name=whole max_steps=40 eval_every=5 checkpoint_every=10 schedule=constant warmup=0 2>/dev/null
check_rows "$R/fin/metrics.csv"
strip "$R/whole/metrics.csv" >"$T/w"; strip "$R/fin/metrics.csv" >"$T/f"
cmp -s "$T/w" "$T/f" || { diff "$T/w" "$T/f" | head -n 6; fail "20 + 20 steps differ from 40 uninterrupted"; }
grep -q '^40,train,wd/query/k,' "$T/f" || fail "no slope k row at step 40"
ok "max_steps raised on resume: 20 + 20 steps equal 40 uninterrupted, slope k included ($(grep -c ',wd/query/k,' "$T/f") k rows)"

# overrides: the keys that may change, and one line for the rest
one_line() {
    "$@" >/dev/null 2>"$T/e"; st=$?
    [ $st = 1 ] && [ "$(wc -l <"$T/e")" = 1 ] || fail "exit $st (want 1, one line): $*: $(cat "$T/e")"
}
one_line "$BIDORA" train --resume "$R/fin" lr=0.5
grep -q "lr cannot change on resume" "$T/e" || fail "lr=0.5 on resume: $(cat "$T/e")"
one_line "$BIDORA" train --resume "$R/fin" colour=red
grep -q 'colour' "$T/e" || fail "colour=red on resume: $(cat "$T/e")"
one_line "$BIDORA" train --resume "$R/fin" max_steps=10
grep -q "at step 40" "$T/e" || fail "max_steps=10 at step 40: $(cat "$T/e")"
"$BIDORA" train --resume "$R/fin" max_steps=44 eval_every=2 checkpoint_every=4 2>/dev/null || fail "resume with eval_every/checkpoint_every"
grep -q ',42,train,eval/loss,' "$R/fin/metrics.csv" && grep -q 'checkpoint at step 44' "$R/fin/log.txt" \
    || fail "eval_every / checkpoint_every given on resume were not used"
check_rows "$R/fin/metrics.csv"
ok "resume takes max_steps, eval_every, checkpoint_every; refuses lr, unknown keys, fewer steps (one line each)"

# --- 4. killed before the first checkpoint: resume starts from step 0, a fresh start takes it over
"$BIDORA" train $base run_name=early max_steps=100000000 eval_every=0 checkpoint_every=0 2>/dev/null &
epid=$!
wait_until 'grep -q ",train/loss," "$R/early/metrics.csv" 2>/dev/null'
kill -9 $epid; wait $epid 2>/dev/null
"$BIDORA" train --resume "$R/early" max_steps=12 2>"$T/early.err" || fail "resume without a checkpoint: $(cat "$T/early.err")"
grep -q "no checkpoint in $R/early .*starting from step 0" "$R/early/log.txt" || fail "the restart is not logged"
"$BIDORA" train $base run_name=early12 max_steps=12 eval_every=0 checkpoint_every=0 2>/dev/null
strip "$R/early12/metrics.csv" | cmp -s - "$(strip "$R/early/metrics.csv" >"$T/e12"; echo "$T/e12")" \
    || fail "a resume from step 0 differs from a fresh 12-step run"
ok "resume without a checkpoint starts from step 0 (same rows as a fresh run)"
"$BIDORA" train $base run_name=early2 max_steps=100000000 eval_every=0 checkpoint_every=0 2>/dev/null &
epid=$!
wait_until 'grep -q ",train/loss," "$R/early2/metrics.csv" 2>/dev/null'
kill -9 $epid; wait $epid 2>/dev/null
"$BIDORA" train $base run_name=early2 max_steps=6 2>"$T/e2.err" || fail "fresh start over a run without checkpoint: $(cat "$T/e2.err")"
grep -q "had no checkpoint .*started it again" "$T/e2.err" || fail "the take-over is not said: $(cat "$T/e2.err")"
check_rows "$R/early2/metrics.csv"
ok "a fresh start takes over a run killed before its first checkpoint, saying so"
mkdir -p "$R/notrun"; echo keep >"$R/notrun/notes.txt"
one_line "$BIDORA" train $base run_name=notrun max_steps=2
grep -q "not a bidora run directory" "$T/e" || fail "a foreign directory: $(cat "$T/e")"
# a NaN at step 1 with no checkpoint does not claim one
{ echo "text,score"; echo "the outlier,3e38"; echo "b,1"; } >"$T/big.csv"
"$BIDORA" train $base model=tests/ref/tiny_bert_nohead method=lora task=regression data="$T/big.csv" label_column=score \
    split=1,0,0 batch_size=2 max_steps=5 checkpoint_every=0 run_name=nan 2>"$T/nan.err"
st=$?
[ $st = 2 ] && grep -q "step 1: the training loss is .*before any checkpoint" "$T/nan.err" \
    && ! grep -q "checkpoint is in" "$T/nan.err" || fail "NaN at step 1: exit $st: $(cat "$T/nan.err")"
ok "a NaN at step 1 says no checkpoint exists"

# --- 4b. a directory a run took but was killed in before it wrote config.ini: nothing to resume,
# said in one line; a new run of the same name takes it over
mkdir -p "$R/unwritten"
if "$BIDORA" train --resume "$R/unwritten" 2>"$T/unwritten.err"; then fail "--resume of a run without config.ini succeeded"
else
    [ "$(wc -l <"$T/unwritten.err")" = 1 ] && grep -q "has no config.ini: the run was stopped as it started" "$T/unwritten.err" ||
        fail "--resume without config.ini: $(cat "$T/unwritten.err")"
fi
"$BIDORA" train $base run_name=unwritten max_steps=3 2>/dev/null && [ -s "$R/unwritten/config.ini" ] ||
    fail "a new run of the same name did not take the empty directory over"
ok "a run killed before config.ini: --resume says there is nothing to resume; a new run takes the directory"

# --- 5. kill -9 at random points, resume each time: the rows of an uninterrupted run, bit for bit
camp="$base max_steps=400 eval_every=25 checkpoint_every=15 upper_every=2"
"$BIDORA" train $camp run_name=ref 2>/dev/null || fail "campaign reference run failed"
kills=0; tries=0; done_=0
for d in 0.3 0.12 0.45 0.2 0.6 0.07 0.35 0.25 0.5 0.15 0.4 0.3 0.55 0.1 0.3 0.45 0.2 0.6 0.3 0.4; do
    tries=$((tries + 1))
    # a run killed before it wrote config.ini has nothing to resume (bidora says so): it starts again
    if [ -f "$R/camp/config.ini" ]; then "$BIDORA" train --resume "$R/camp" 2>>"$T/camp.err" & else "$BIDORA" train $camp run_name=camp 2>>"$T/camp.err" & fi
    cp=$!
    sleep $d
    if kill -9 $cp 2>/dev/null; then kills=$((kills + 1)); wait $cp 2>/dev/null
    else wait $cp; st=$?; [ $st = 0 ] || fail "campaign: a run exited $st: $(tail -n 2 "$T/camp.err")"; done_=1; break; fi
done
[ $done_ = 1 ] || { "$BIDORA" train --resume "$R/camp" 2>>"$T/camp.err" || fail "campaign: final resume failed"; }
check_rows "$R/camp/metrics.csv"
strip "$R/ref/metrics.csv" >"$T/a"; strip "$R/camp/metrics.csv" >"$T/b"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" | head -n 6; fail "after $kills kills the rows differ from the uninterrupted run"; }
ls "$R/camp" "$R/camp/checkpoint" | grep -q '\.tmp\.' && fail "temp files left after the campaign"
ok "kill -9 $kills times at random points, resumed each time: the uninterrupted run's $(wc -l <"$T/a") rows, bit for bit"

# --- 6. a full disk (a small tmpfs filled up for a moment): exit 2 naming the file, nothing torn or lost
if [ "$(id -u)" = 0 ] && mkdir -p "$T/mnt" && mount -t tmpfs -o size=4m tmpfs "$T/mnt" 2>/dev/null; then
    trap 'umount "$T/mnt" 2>/dev/null; cleanup' EXIT
    D="$T/mnt/runs"
    "$BIDORA" train $base out_dir="$D" run_name=full max_steps=2000 eval_every=50 checkpoint_every=25 2>"$T/full.err" &
    fpid=$!
    wait_until 'grep -q ",100,train,train/loss," "$D/full/metrics.csv" 2>/dev/null'
    dd if=/dev/zero of="$T/mnt/filler" bs=64k 2>/dev/null # until the disk is full
    sleep 1
    rm -f "$T/mnt/filler"
    wait $fpid
    st=$?
    [ $st = 2 ] && grep -q "No space left on device" "$T/full.err" && grep -Eq "(metrics.csv|log.txt|state.bin[.a-z0-9]*): " "$T/full.err" \
        || fail "a full disk: exit $st (want 2): $(tail -n 1 "$T/full.err")"
    ok "a full disk stops the run with exit 2: $(tail -n 1 "$T/full.err" | cut -c1-150)"
    check_rows "$D/full/metrics.csv"
    "$BIDORA" train --resume "$D/full" 2>"$T/full2.err" || fail "resume after the disk filled: $(tail -n 1 "$T/full2.err")"
    "$BIDORA" train $base out_dir="$D" run_name=fullref max_steps=2000 eval_every=50 checkpoint_every=25 2>/dev/null
    check_rows "$D/full/metrics.csv"
    strip "$D/fullref/metrics.csv" | cmp -s - "$(strip "$D/full/metrics.csv" >"$T/fu"; echo "$T/fu")" \
        || fail "after the full disk and a resume the rows differ from an uninterrupted run"
    ok "resumed after the full disk: every row once, equal to an uninterrupted run"
    umount "$T/mnt"
else
    echo "skip a full disk: needs root and a tmpfs mount"
fi
