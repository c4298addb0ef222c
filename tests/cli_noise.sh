#!/bin/sh
# The noise protocols, selectors and sweeps from the command line, on the
# synthetic features of make_fixtures (400 samples, 4 classes).
. "${TP_SRCDIR:-.}/tests/lib.sh"

FIX="$TMP/fixtures"
mkdir -p "$FIX"
"${MAKE_FIXTURES:-./tests/make_fixtures}" "$FIX"
ok $? "fixtures written"
LOAD="load features $FIX/good.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"

run -c "$LOAD; noise fewshot-sym 2 --shots 10 --seed 3; noise show"
ok $rc "few-shot protocol applies"
contains "$out" "10 shots per class, 2 of them from other classes" "few-shot summary"
contains "$out" "realised noise rate 0.2000 over 40 training samples" "few-shot training set of C x K samples"
run -c "$LOAD; noise fewshot-pair 11 --shots 10"
contains "$err" "FP is 11: give an integer from 0 to 10" "more false shots than shots rejected"
run -c "$LOAD; noise fewshot-sym 0 --shots 100"
contains "$err" "fewer than the 100 true shots" "too few images per class named"

run -c "$LOAD; noise idn 0.3 --seed 2"
contains "$out" "96 of 320 labels chosen: realised noise rate 0.3000" "idn count is exact"

printf '0.7 0.3 0 0\n0 0.7 0.3 0\n0 0 0.7 0.3\n0.3 0 0 0.7\n' >"$TMP/m.txt"
run -c "$LOAD; noise matrix $TMP/m.txt; noise show"
ok $rc "transition matrix applies"
contains "$out" "noise: matrix from '$TMP/m.txt'" "matrix file named in noise show"
printf '0.7 0.3\n0.3 0.7\n' >"$TMP/small.txt"
run -c "$LOAD; noise matrix $TMP/small.txt"
contains "$err" "has 2 numbers: the data set has 4 classes" "matrix of the wrong size rejected"
printf '0.7 0.2 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n' >"$TMP/bad.txt"
run -c "$LOAD; noise matrix $TMP/bad.txt"
contains "$err" "row 0 sums to 0.9" "matrix row not summing to 1 named"

run -c "$LOAD; noise labels $FIX/labels.txt"
contains "$out" "realised noise rate 0.0000" "label file equal to the truth has no noise"
run -c "$LOAD; noise labels $FIX/short_labels.txt"
contains "$err" "has 399 labels" "label file of the wrong length rejected"
run -c "$LOAD; noise labels $FIX/bad_labels.txt"
contains "$err" "label 4" "label out of range in a label file rejected"

run -c "$LOAD; noise sym 0.4; method twin; set selector joapr; set epochs 3; train; split show"
ok $rc "twin with the joapr selector trains"
contains "$out" "selector joapr" "split show names the selector"
run -c "set selector dividemix"
contains "$err" "unknown selector 'dividemix'" "unknown selector named"
run -c "$LOAD; noise sym 0.4; method single; set selector oracle; set epochs 3; train; split show"
contains "$out" "F1 1.0000" "the oracle split is perfect"

SWEEP="sweep --noise sym:0.2,0.4 --methods ce,twin --selectors gmm,oracle --seeds 1,2 --epochs 2 --out $TMP/sw"
run -c "$LOAD; $SWEEP"
ok $rc "sweep runs"
contains "$out" "[12/12]" "sweep reports every run"
contains "$out" "| twin/oracle |" "sweep table has the selector rows"
[ -f "$TMP/sw.md" ] && [ -f "$TMP/sw.csv" ]
ok $? "sweep writes Markdown and CSV"
runs=$(($(wc -l <"$TMP/sw.runs.csv") - 1))
ok $((runs != 12)) "runs file has one line per run ($runs)"
run -c "runs"
n_finished=$(printf '%s\n' "$out" | grep -c "finished")
ok $((n_finished < 12)) "sweep runs are recorded in the session store ($n_finished)"
run -c "$LOAD; $SWEEP"
contains "$out" "done before" "a repeated sweep reuses finished runs"
runs=$(($(wc -l <"$TMP/sw.runs.csv") - 1))
ok $((runs != 12)) "a repeated sweep adds no runs ($runs)"
run -c "$LOAD; sweep --noise sym"
contains "$err" "has no rates" "sweep noise without rates explained"

done_testing
