#!/bin/sh
# Command-line behaviour on bad input: every error names the value and the
# fix, scripts stop at the first error unless -k, and the state survives.
. "${TP_SRCDIR:-.}/tests/lib.sh"

FIX="$TMP/fixtures"
mkdir -p "$FIX"
"${MAKE_FIXTURES:-./tests/make_fixtures}" "$FIX"
ok $? "fixtures written"
LOAD="load features $FIX/good.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"

run -c "$LOAD"
ok $rc "good features load"
contains "$out" "320 training and 80 test samples, 4 classes, 8-dim" "default test ratio splits 400 into 320 + 80"

run -c "load features $FIX/good.npy --labels $FIX/labels.npy --classes $FIX/classes.txt --test-ratio 0.5"
contains "$out" "200 training and 200 test" "integer .npy labels and --test-ratio"

run -c "frobnicate"
ok $((rc != 1)) "unknown command exits 1"
contains "$err" "unknown command 'frobnicate'" "unknown command is named"
contains "$err" "help" "unknown command points to help"

run -c "noise sym 0.5"
contains "$err" "no data set is loaded" "noise before load explains the order"

run -c "$LOAD; noise sym abc"
contains "$err" "RATE is 'abc'" "non-numeric rate named"
run -c "$LOAD; noise sym 1.5"
contains "$err" "RATE is 1.5: give a number from 0 to 1" "rate out of range named with its range"
run -c "$LOAD; noise bogus 0.1"
contains "$err" "unknown subcommand 'bogus'" "unknown noise kind named"
contains "$err" "sym-incl" "unknown noise kind lists the kinds"
run -c "$LOAD; noise sym 0.2 --sed 3"
contains "$err" "unknown option '--sed'" "unknown option named"
run -c "$LOAD; noise sym 0.2 --seed"
contains "$err" "--seed needs a value" "option without value"
run -c "$LOAD; noise sym 0.2 0.3"
contains "$err" "unexpected argument '0.3'" "extra argument named"

run -c "set lr -1"
contains "$err" "set lr is -1" "negative learning rate rejected"
run -c "set learning_rate 1"
contains "$err" "unknown setting 'learning_rate'" "unknown setting named"
run -c "set codivide maybe"
contains "$err" "'maybe' is not on or off" "bad boolean named"
run -c "method dividemix"
contains "$err" "unknown method 'dividemix'" "unknown method named"
run -c "$LOAD; train x"
contains "$err" "EPOCHS is 'x'" "non-numeric epoch count named"

run -c "load features $TMP/missing.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"
contains "$err" "missing.npy" "missing feature file named"
run -c "load features $FIX/truncated.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"
contains "$err" "truncated.npy" "truncated feature file named"
run -c "load features $FIX/nan.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"
contains "$err" "nan.npy" "NaN feature file named"
contains "$err" "5" "NaN position given"
run -c "load features $FIX/good.npy --labels $FIX/short_labels.txt --classes $FIX/classes.txt"
contains "$err" "399" "label count mismatch gives the counts"
run -c "load features $FIX/good.npy --labels $FIX/bad_labels.txt --classes $FIX/classes.txt"
contains "$err" "4" "label out of range named"
run -c "load features $FIX/good.npy --classes $FIX/classes.txt"
contains "$err" "--labels FILE is required" "missing --labels explained"
run -c "load fashion-mnist --dir $TMP/nowhere"
contains "$err" "nowhere" "missing Fashion-MNIST folder named"

run -c "echo 'unterminated"
contains "$err" "unterminated single quote" "unterminated quote reported"
run -c "echo 'a;b' \"c d\"; echo second"
contains "$out" "a;b c d" "quoted ; is not a separator"
contains "$out" "second" "unquoted ; separates commands"

# state survives an error, and -k goes on
run -k -c "$LOAD; noise pair 0.3 --seed 5; bogus; noise show"
ok $((rc != 1)) "-k still exits 1 after an error"
contains "$out" "noise: pair 0.3, seed 5" "noise kept after a failing command"
run -c "$LOAD; bogus; echo not reached"
lacks "$out" "not reached" "without -k the first error stops the commands"

printf '%s\n' "$LOAD" "echo line two" "noise sym 7" "echo line four" >"$TMP/script.tp"
run -f "$TMP/script.tp"
contains "$err" "script.tp:3:" "script errors carry file and line"
lacks "$out" "line four" "script stops at the first error"
ok $((rc != 1)) "script with an error exits 1"
"$TWINPROMPT" <"$TMP/script.tp" >"$TMP/out" 2>"$TMP/err"
ok $(($? != 1)) "standard input script exits 1 on error"
contains "$(cat "$TMP/err")" "stdin:3:" "standard input errors carry the line"

run -c "$LOAD; gmm step"
contains "$err" "has no GMM yet" "gmm step before init explained"
run -c "$LOAD; gmm show --head B"
contains "$err" "head B exists only with method twin" "head B of a single-head run explained"
run -c "$LOAD; set epochs 2; train; export split $TMP/new/dir/x.csv"
ok $rc "export split creates missing folders"
: >"$TMP/a-file"
run -c "$LOAD; set epochs 2; train; export split $TMP/a-file/x.csv"
contains "$err" "cannot write" "unwritable export path reported"
run -c "$LOAD; set epochs 1; train; train"
contains "$err" "all 1 epochs of the schedule are done" "training past the schedule explained"

run -c "help"
for c in "load fashion-mnist" "load features" "noise sym" "noise sym-incl" "noise pair" \
	"noise show" "noise clear" "method" "set" "show config" "train" "eval" "gmm init" \
	"gmm step" "gmm fit" "gmm show" "split show" "split top" "export split" "help" "quit"; do
	contains "$out" "  $c" "help lists '$c'"
done
run -c "help gmm step"
contains "$out" "usage: gmm step [N] [--head A|B]" "help shows a usage line"
run -c "help nosuch"
contains "$err" "unknown command 'nosuch'" "help of an unknown command"

run -c "quit; echo after"
lacks "$out" "after" "quit ends the commands"
ok $rc "quit exits 0"

done_testing
