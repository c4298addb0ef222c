#!/bin/sh
# Sessions from the command line: exact resume after closing, replay,
# compare and export, Ctrl-C and SIGKILL in the middle of training, two
# instances on one store, and stores that cannot be used.
. "${TP_SRCDIR:-.}/tests/lib.sh"

FIX="$TMP/fixtures"
mkdir -p "$FIX"
"${MAKE_FIXTURES:-./tests/make_fixtures}" "$FIX"
ok $? "fixtures written"
LOAD="load features $FIX/good.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"
SETUP="$LOAD; noise sym 0.3 --seed 4; method twin; set epochs 8"
DB="$TMP/twinprompt.db"

# the epoch rows of a training table without the timings
strip() { printf '%s\n' "$1" | grep -E '^ +[0-9]+  [0-9.]+e' | sed 's/ *[0-9.]*s\( .*\)\{0,1\}$//'; }

# ---- exact resume: 4 epochs, quit, open, 4 more == 8 in one go ----

run -c "$SETUP; train; save whole; export split $TMP/whole.csv"
ok $rc "8 epochs in one go"
whole=$(strip "$out")
ok $(( $(printf '%s\n' "$whole" | grep -c .) != 8 )) "eight epoch rows"
contains "$out" "session 'whole' saved" "save names the session"

run -c "$SETUP; train 4; save pieces"
ok $rc "first 4 epochs"
first=$(strip "$out")
run -c "open pieces; train; export split $TMP/pieces.csv"
ok $rc "open and train the rest"
contains "$out" "4 of 8 epochs done" "open reports where the run stopped"
contains "$out" "> noise sym 0.3 --seed 4" "open re-runs the noise command"
lacks "$out" "> train" "open restores the run instead of training again"
second=$(strip "$out")
ok $(( $(printf '%s\n' "$second" | grep -c .) != 4 )) "open continues with epochs 5 to 8"
[ -n "$whole" ] && [ "$whole" = "$(printf '%s\n%s' "$first" "$second")" ]
ok $? "4 + open + 4 epochs print the same rows as 8 in one go"
cmp -s "$TMP/whole.csv" "$TMP/pieces.csv"
ok $? "per-sample losses and clean probabilities equal after resuming"

run -c "compare whole pieces"
ok $rc "compare two runs"
params=$(printf '%s\n' "$out" | sed -n 's/^ *parameters *//p')
set -- $params
[ $# -eq 2 ] && [ "$1" = "$2" ] && [ ${#1} -eq 16 ]
ok $? "both runs end with the same parameter checksum ($params)"
contains "$out" "other settings are equal" "equal settings are summarised"

run -c "$LOAD; noise sym 0.3 --seed 4; method ce; set lr 0.01; set epochs 3; train; save other; compare whole other"
contains "$out" "lr " "compare shows the setting that differs"
contains "$out" "twin" "compare shows the first method"
printf '%s\n' "$out" | grep -E '^ +method +twin +ce' >/dev/null
ok $? "compare puts the methods side by side"

# ---- history, sessions, runs ----

run -c "history pieces"
ok $rc "history of a session"
contains "$out" "train 4" "history lists the first train"
printf '%s\n' "$out" | grep -E '^ +[0-9]+ .* 8  train$' >/dev/null
ok $? "history gives the epochs after the second train"
run -c "sessions"
contains "$out" "whole" "sessions lists 'whole'"
contains "$out" "pieces" "sessions lists 'pieces'"
contains "$out" "sym 0.3 s4" "sessions shows the noise"
contains "$out" "8/8" "sessions shows the epochs"
run -c "runs"
contains "$out" "finished" "runs shows finished runs"

# ---- replay reproduces the metrics ----

run -c "replay pieces"
ok $rc "replay succeeds"
contains "$out" "reproduces run" "replay reports the runs reproduced"
contains "$out" "replay> train 4" "replay trains to the epoch of the first train"
replayed=$(strip "$out")
[ "$replayed" = "$whole" ]
ok $? "replayed epoch rows equal the original's"

# ---- export metrics ----

run -c "export metrics $TMP/metrics.csv --run whole"
ok $rc "export metrics of a session"
rows=$(wc -l <"$TMP/metrics.csv")
ok $((rows != 9)) "header and one row per epoch ($rows lines)"
contains "$(head -1 "$TMP/metrics.csv")" "run,session,data,noise,noise_rate,noise_seed,method,seed,epoch" "metrics header"
# the exported test accuracy of head A, rounded, equals the printed column
exported=$(awk -F, 'NR > 1 { printf "%.4f\n", $13 }' "$TMP/metrics.csv")
printed=$(printf '%s\n' "$whole" | awk '{ print $4 }')
[ -n "$printed" ] && [ "$exported" = "$printed" ]
ok $? "exported test accuracy matches the printed table"
ok $(awk -F, 'NR > 1 && $4 != "sym" { bad = 1 } END { exit bad }' "$TMP/metrics.csv"; echo $?) "noise column"

# ---- Fashion-MNIST: the same exact resume on real features ----

DIR=/usr/share/datasets/fashion-mnist
if [ -f "$DIR/train-images-idx3-ubyte.gz" ] || [ -f "$DIR/train-images-idx3-ubyte" ]; then
	FM="load fashion-mnist --train 2000 --test 500 --dim 32; noise sym 0.4; method twin; set epochs 8"
	run -c "$FM; train; save fm-whole; export split $TMP/fm-whole.csv"
	fm_whole=$(strip "$out")
	run -c "$FM; train 4; save fm-pieces"
	fm_first=$(strip "$out")
	run -c "open fm-pieces; train; export split $TMP/fm-pieces.csv"
	ok $rc "Fashion-MNIST session opens and finishes"
	[ -n "$fm_whole" ] && [ "$fm_whole" = "$(printf '%s\n%s' "$fm_first" "$(strip "$out")")" ]
	ok $? "Fashion-MNIST: 4 + open + 4 epochs print the same rows as 8 in one go"
	cmp -s "$TMP/fm-whole.csv" "$TMP/fm-pieces.csv"
	ok $? "Fashion-MNIST: per-sample losses equal after resuming"
else
	ok 0 "Fashion-MNIST exact resume # SKIP Fashion-MNIST not installed in $DIR (apt-get install dataset-fashion-mnist)"
fi

# ---- Ctrl-C inside an epoch, then quit, then open ----

# The long schedules below outlast the signals; the expected rows come
# from an unrecorded run of the same schedule, trained in one piece.
LONG="$LOAD; noise sym 0.3 --seed 4; method twin; set epochs 20000"
expected_rows() {
	run --no-store -c "$LONG; train $(($1 + 2))"
	strip "$out" | tail -2
}
"$TWINPROMPT" -c "save stopped; $LONG; train" >"$TMP/int.out" 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
printed=$(strip "$(cat "$TMP/int.out")" | grep -c .)
contains "$(cat "$TMP/int.out")" "interrupted" "Ctrl-C stops training"
run -c "open stopped; train 2"
ok $rc "interrupted session opens"
contains "$out" "and one in progress" "the epoch in progress was kept"
done_at=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) of 20000 epochs done.*/\1/p')
ok $(( done_at != printed )) "every printed epoch was kept ($done_at of $printed)"
resumed=$(strip "$out")
expected=$(expected_rows "$done_at")
[ -n "$resumed" ] && [ "$resumed" = "$expected" ]
ok $? "finishing the interrupted epoch gives the uninterrupted rows"

# ---- SIGKILL at random points ----

kills=5
i=0
while [ $i -lt $kills ]; do
	i=$((i + 1))
	delay=$(awk -v i=$i -v s=$$ 'BEGIN { srand(s + i); printf "%.2f", 0.2 + 1.6 * rand() }')
	"$TWINPROMPT" -c "save killed$i; $LONG; train" >"$TMP/kill.out" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL $pid
	wait $pid 2>/dev/null
	printed=$(strip "$(cat "$TMP/kill.out")" | grep -c .)
	run -c "open killed$i; train 2"
	ok $rc "kill $i after ${delay}s: the store opens"
	done_at=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) of 20000 epochs done.*/\1/p')
	# an epoch is saved before its row is printed: every printed epoch is
	# kept, and at most one more (saved, killed before printing)
	[ -n "$done_at" ] && [ "$done_at" -ge "$printed" ] && [ "$done_at" -le $((printed + 1)) ]
	ok $? "kill $i: every printed epoch kept ($done_at kept, $printed printed)"
	resumed=$(strip "$out")
	expected=$(expected_rows "$done_at")
	[ -n "$resumed" ] && [ "$resumed" = "$expected" ]
	ok $? "kill $i: training continues exactly"
done

# ---- two instances on one store ----

"$TWINPROMPT" -c "save twin1; $SETUP; set epochs 300; train" >"$TMP/w1.out" 2>"$TMP/w1.err" &
p1=$!
"$TWINPROMPT" -c "save twin2; $SETUP; set epochs 300; train" >"$TMP/w2.out" 2>"$TMP/w2.err" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
ok $((r1 + r2)) "two instances training on one store both succeed"
ok $(cat "$TMP/w1.err" "$TMP/w2.err" | grep -c error) "no store errors from either instance"
run -c "runs"
ok $rc "store readable after two writers"
n_done=$(printf '%s\n' "$out" | grep -cE 'twin[12] .*300/300')
ok $((n_done != 2)) "both runs recorded with all 300 epochs ($n_done)"

# ---- stores that cannot be used ----

printf 'a shopping list, not a database\n' >"$TMP/list.txt"
cp "$TMP/list.txt" "$TMP/list.orig"
run --store "$TMP/list.txt" -c "$LOAD"
ok $rc "a foreign store file does not stop the commands"
contains "$err" "is not a twinprompt store" "foreign file named as such"
contains "$err" "without recording" "the user is told nothing is recorded"
contains "$out" "320 training" "the commands still run"
cmp -s "$TMP/list.txt" "$TMP/list.orig"
ok $? "foreign file unchanged"
run --store "$TMP/list.txt" -c "sessions"
contains "$err" "cannot be used" "session commands explain why there is no store"

cp "$DB" "$TMP/damaged.db"
size=$(wc -c <"$TMP/damaged.db")
dd if=/dev/zero of="$TMP/damaged.db" bs=4096 seek=1 count=2 conv=notrunc 2>/dev/null
cp "$TMP/damaged.db" "$TMP/damaged.orig"
run --store "$TMP/damaged.db" -c "sessions"
contains "$err" "corrupt" "corrupt store reported"
cmp -s "$TMP/damaged.db" "$TMP/damaged.orig"
ok $? "corrupt store left unchanged ($size bytes)"

# a read-only store needs a user that file permissions apply to
ro_run() { run "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	if command -v setpriv >/dev/null 2>&1 &&
	   setpriv --reuid=65534 --regid=65534 --clear-groups "$TWINPROMPT" --version >/dev/null 2>&1; then
		ro_run() {
			setpriv --reuid=65534 --regid=65534 --clear-groups "$TWINPROMPT" "$@" \
				>"$TMP/out" 2>"$TMP/err" </dev/null
			rc=$?
			out=$(cat "$TMP/out")
			err=$(cat "$TMP/err")
		}
	else
		ro_run=skip
	fi
fi
if [ "${ro_run:-}" = skip ]; then
	ok 0 "read-only store # SKIP running as root without setpriv to drop privileges"
else
	mkdir -p "$TMP/ro"
	cp "$DB" "$TMP/ro/store.db"
	chmod 0755 "$TMP" "$TMP/ro" "$FIX"
	chmod 0644 "$FIX"/*
	chmod 0444 "$TMP/ro/store.db"
	cp "$TMP/ro/store.db" "$TMP/ro.orig"
	ro_run --store "$TMP/ro/store.db" -c "$LOAD"
	ok $rc "a read-only store does not stop the commands"
	contains "$err" "read-only" "read-only store reported"
	contains "$out" "320 training" "the commands run without recording"
	cmp -s "$TMP/ro/store.db" "$TMP/ro.orig"
	ok $? "read-only store unchanged"
fi

# ---- where the store is, and bad input ----

mkdir "$TMP/here"
(cd "$TMP/here" && TWINPROMPT_STORE= "$TWINPROMPT" -c "$LOAD" >/dev/null 2>&1)
ok $([ ! -e "$TMP/here/twinprompt.db" ]; echo $?) "an empty TWINPROMPT_STORE records nothing"
(cd "$TMP/here" && "$TWINPROMPT" --no-store -c "$LOAD" >/dev/null 2>&1)
ok $([ ! -e "$TMP/here/twinprompt.db" ]; echo $?) "--no-store records nothing"
(cd "$TMP/here" && env -u TWINPROMPT_STORE "$TWINPROMPT" -c "help" >/dev/null 2>&1)
ok $([ ! -e "$TMP/here/twinprompt.db" ]; echo $?) "commands that change nothing create no store"
(cd "$TMP/here" && env -u TWINPROMPT_STORE "$TWINPROMPT" -c "$LOAD" >/dev/null 2>&1)
ok $([ -e "$TMP/here/twinprompt.db" ]; echo $?) "the default store is ./twinprompt.db"

run --no-store -c "sessions"
contains "$err" "--no-store" "session commands without a store name the option"
run -c "open nosuch"
contains "$err" "no session named 'nosuch'" "unknown session named"
contains "$err" "'sessions' lists them" "unknown session points to sessions"
run -c "save 'two words'"
contains "$err" "NAME 'two words' is not a session name" "bad session name named"
run -c "save whole"
contains "$err" "'whole' exists already" "taken session name refused"
run -c "compare 999"
contains "$err" "run 999 is not in the store" "unknown run number named"
run -c "compare nosuch"
contains "$err" "neither a run number nor a session name" "unknown RUN explained"
: >"$TMP/a-file"
run -c "export metrics $TMP/a-file/m.csv --all"
contains "$err" "a-file/m.csv" "unwritable export path named"
run -c "export metrics $TMP/new/folder/m.csv --all"
ok $rc "export metrics creates missing folders"
run -c "history"
contains "$out" "nothing recorded in this session yet" "history of an empty session"

done_testing
