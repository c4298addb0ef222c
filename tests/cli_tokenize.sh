#!/bin/sh
# The tokenize command with CLIP's vocabulary from ../shared/clip-vocab:
# ids on one line, options, and errors for a missing or broken vocabulary.
. "${TP_SRCDIR:-.}/tests/lib.sh"

VOCAB="${TP_SRCDIR:-.}/../shared/clip-vocab"
if [ ! -f "$VOCAB/vocab.json" ] || [ ! -f "$VOCAB/merges.txt" ]; then
	echo "1..0 # SKIP CLIP's vocabulary not found in $VOCAB (vocab.json, merges.txt)"
	exit 0
fi
run -c "help tokenize"
case "$err" in
*"unknown command"*)
	echo "1..0 # SKIP the tokenize command is not in the command table yet"
	exit 0 ;;
esac

# ids of CLIP's published tokenizer for this sentence
run -c "tokenize --vocab $VOCAB 'a photo of a cat.'"
ok $rc "tokenize succeeds"
ok "$([ "$out" = "49406 320 1125 539 320 2368 269 49407" ]; echo $?)" "ids of 'a photo of a cat.' on one line"

run -c "tokenize --vocab $VOCAB a photo of a T-shirt/top"
ok "$([ "$out" = "49406 320 1125 539 320 339 268 2523 270 1253 49407" ]; echo $?)" "unquoted words are joined"

run -c "tokenize --vocab $VOCAB --tokens 'Ankle boot'"
contains "$out" "ankle</w> boot</w>" "--tokens prints the vocabulary strings"

run -c "tokenize --vocab $VOCAB --pad cat"
ok "$([ "$(echo "$out" | wc -w)" -eq 77 ]; echo $?)" "--pad prints 77 ids"

run -c "tokenize --vocab $VOCAB --context 4 'a photo of a cat'"
ok "$([ "$out" = "49406 320 1125 49407" ]; echo $?)" "--context 4 keeps the end token last"
contains "$err" "cut after 2 tokens" "truncation is reported"

run -c "tokenize 'a cat'"
ok $((rc == 0)) "tokenize without a vocabulary fails"
contains "$err" "load model DIR" "missing vocabulary names the fix"

run -c "tokenize --vocab $TMP 'a cat'"
contains "$err" "vocab.json" "missing vocab.json is named"

printf '{"a": 0, "b": "x"}\n' >"$TMP/vocab.json"
cp "$VOCAB/merges.txt" "$TMP/merges.txt"
run -k -c "tokenize --vocab $TMP 'a cat'; echo still running"
contains "$err" "has id \"x\"" "non-integer id is named"
contains "$out" "still running" "the REPL carries on after the error"

done_testing
