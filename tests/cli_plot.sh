#!/bin/sh
# The plot command from the command line: every kind and format is
# written, and each error names the value and the fix.
. "${TP_SRCDIR:-.}/tests/lib.sh"

FIX="$TMP/fixtures"
mkdir -p "$FIX"
"${MAKE_FIXTURES:-./tests/make_fixtures}" "$FIX"
ok $? "fixtures written"
LOAD="load features $FIX/good.npy --labels $FIX/labels.txt --classes $FIX/classes.txt"
OUT="$TMP/figs"
mkdir -p "$OUT"

script="$LOAD; noise sym 0.3; method twin; set epochs 3; train"
for kind in acc gmm split noise confusion classes; do
	for ext in png svg pdf; do
		script="$script; plot $kind --out $OUT/$kind.$ext"
	done
done
run -c "$script; plot classes --head B --out $OUT/classes-b.png"
ok $rc "every kind and format is written"
for kind in acc gmm split noise confusion classes; do
	for ext in png svg pdf; do
		[ -s "$OUT/$kind.$ext" ]
		ok $? "$kind.$ext exists and is not empty"
	done
	head -c 8 "$OUT/$kind.png" | od -An -c | grep -q 'P   N   G'
	ok $? "$kind.png starts with the PNG signature"
	head -c 5 "$OUT/$kind.pdf" | grep -q '%PDF-'
	ok $? "$kind.pdf starts with %PDF-"
	grep -q '<svg' "$OUT/$kind.svg"
	ok $? "$kind.svg holds an svg element"
done
contains "$out" "wrote $OUT/acc.png: acc figure, 1050 x 780 px PNG" "PNG size is reported"
contains "$out" "wrote $OUT/noise.pdf: noise figure, 252 x 238 pt" "PDF size is reported"
if command -v pdfinfo >/dev/null 2>&1; then
	info=$(pdfinfo "$OUT/acc.pdf" 2>&1)
	contains "$(printf "%s\n" "$info" | grep "^Page size:" | tr -s " ")" "Page size: 252 x 187.2 pts" "pdfinfo reads the acc page size"
else
	echo "ok $((n_checks + 1)) # SKIP pdfinfo not installed (apt-get install poppler-utils)"
	n_checks=$((n_checks + 1))
fi

run -c "$LOAD; plot histogram"
ok $((rc != 1)) "unknown kind fails"
contains "$err" "plot: unknown kind 'histogram': choose one of acc, gmm, split, noise, confusion, classes" "unknown kind lists the kinds"

run -c "$LOAD; plot noise --out $TMP/noise.jpg"
contains "$err" "'$TMP/noise.jpg' has no known extension: end the name in .png, .svg or .pdf" "unknown extension names the formats"

run -c "$LOAD; plot noise --out $TMP/sub/folder/noise.png"
[ -s "$TMP/sub/folder/noise.png" ]
ok $? "missing folders are created"

touch "$TMP/file"
run -c "$LOAD; plot noise --out $TMP/file/noise.png"
contains "$err" "cannot write '$TMP/file/noise.png'" "unwritable path is named"
contains "$err" "check that the folder exists" "unwritable path says what to check"

run -c "$LOAD; plot acc --out $TMP/acc.png"
contains "$err" "plot acc: there is no run yet: 'train 1'" "acc before training says what to run"
[ ! -e "$TMP/acc.png" ]
ok $? "a refused plot writes no file"

run -c "$LOAD; method twin; gmm init --head B; plot gmm --out $TMP/gmm.png"
contains "$err" "plot gmm: head A has no GMM yet: run 'gmm init' or train an epoch first" "gmm before a fit says what to run"

run -c "$LOAD; method ce; set epochs 1; train; plot gmm --head B --out $TMP/gmm.png"
contains "$err" "head B exists only with method twin" "head B of a one-head run is refused"

run -c "plot noise"
contains "$err" "no data set is loaded" "plot without data says to load"

run -k -c "$LOAD; plot frob; noise sym 0.2; plot noise --out $TMP/after.png"
[ -s "$TMP/after.png" ]
ok $? "the session carries on after a plot error"

done_testing
