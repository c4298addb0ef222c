#!/bin/sh
# The model commands on a small random CLIP model written at test time,
# with CLIP's own vocabulary (skipped when it is absent).  Covered: load
# model, zeroshot, encode text, the coop head in training, prompt save and
# load, grad, and the errors for missing files, a foreign vocabulary and
# features of the wrong dimension.
. "${TP_SRCDIR:-.}/tests/lib.sh"

VOCAB="${TP_SRCDIR:-.}/../shared/clip-vocab"
if [ ! -f "$VOCAB/vocab.json" ] || [ ! -f "$VOCAB/merges.txt" ]; then
	echo "1..0 # SKIP CLIP's vocabulary not found in $VOCAB (vocab.json, merges.txt)"
	exit 0
fi
MAKE_CLIP_MODEL="${MAKE_CLIP_MODEL:-$(dirname "$TWINPROMPT")/tests/make_clip_model}"

M="$TMP/model"
mkdir -p "$M"
"$MAKE_CLIP_MODEL" "$M" 49408 16 2 2 12
ok $? "random model written"
LOAD_DATA="load features $M/features.npy --labels $M/labels.txt --classes $M/classes.txt"

run -c "load model $M"
contains "$err" "vocab.json" "a folder without vocab.json names the file"
cp "$VOCAB/vocab.json" "$VOCAB/merges.txt" "$M/"

run -c "load model $M"
ok $rc "load model succeeds"
contains "$out" "width 16, 2 layers, 2 heads" "text hyperparameters printed"
contains "$out" "projection 12, logit scale 100.00" "projection and logit scale printed"

run -c "load model $TMP/nowhere"
contains "$err" "config.json" "missing folder names config.json"
contains "$err" "model.safetensors, vocab.json and merges.txt" "missing folder lists the expected files"

# a model whose vocabulary is not CLIP's
mkdir -p "$TMP/small"
"$MAKE_CLIP_MODEL" "$TMP/small" 300 16 1 2 12
cp "$VOCAB/vocab.json" "$VOCAB/merges.txt" "$TMP/small/"
run -c "load model $TMP/small"
contains "$err" "vocab_size 300" "vocabulary size mismatch named"

run -c "load model $M; encode text --out $TMP/t.npy 'a photo of a cat.' dog"
ok $rc "encode text succeeds"
contains "$out" "wrote 2 x 12 normalised text features" "encode text reports its shape"
ok "$([ -s "$TMP/t.npy" ]; echo $?)" "encode text writes the file"

run -c "load model $M; $LOAD_DATA; zeroshot"
ok $rc "zeroshot succeeds"
contains "$out" "a photo of a golden retriever." "underscores become spaces in the prompt"
contains "$out" "test accuracy" "zeroshot prints the accuracy"
run -c "load model $M; $LOAD_DATA; zeroshot 'a {} photo' --seed-head; show config"
contains "$out" "B = loaded text features" "--seed-head gives the vector head its B"
run -c "load model $M; $LOAD_DATA; zeroshot 'no slot'"
contains "$err" "has no {}" "template without {} is rejected"

run -c "set head coop; set n_ctx 4; set class_position middle; set csc on; show config"
ok $rc "model settings accepted"
contains "$out" "head:    coop, class-specific context, n_ctx 4, class position middle" "show config prints the coop settings"
run -c "set head linear"
contains "$err" "choose coop or vector" "unknown head named"
run -c "set class_position top"
contains "$err" "choose end, middle or front" "unknown class position named"

run -c "$LOAD_DATA; set head coop; train 1"
contains "$err" "no CLIP model is loaded" "coop without a model says what to load"

COOP="load model $M; $LOAD_DATA; set head coop; set n_ctx 4; set epochs 2; set batch 16"
run -c "$COOP; train"
ok $rc "ce trains with the coop head"
contains "$out" "schedule complete" "ce schedule completes"
run -c "$COOP; method twin; set warmup 1; train"
ok $rc "twin trains with two coop heads"
run -c "$COOP; set ctx_init 'a photo of a'; prompt save $TMP/ctx.npy"
contains "$out" "wrote 4 context vectors of width 16" "ctx_init sets M to its token count"

run -c "$COOP; prompt save $TMP/p.npy; prompt load $TMP/p.npy; grad --features $M/features.npy --labels $M/labels.txt --out $TMP/g1.npy"
ok $rc "prompt save, load and grad succeed"
contains "$out" "cross-entropy" "grad prints the loss"
loss1=$(echo "$out" | sed -n 's/^cross-entropy \([^ ]*\) .*/\1/p')
run -c "$COOP; set coop_mode full; prompt load $TMP/p.npy; grad --features $M/features.npy --labels $M/labels.txt --out $TMP/g2.npy"
loss2=$(echo "$out" | sed -n 's/^cross-entropy \([^ ]*\) .*/\1/p')
ok "$(awk -v a="$loss1" -v b="$loss2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 1e-5 * a) }'; echo $?)" \
	"full-length mode gives the same loss as the shared prefix ($loss1, $loss2)"
ok "$([ -s "$TMP/g1.npy" ] && [ -s "$TMP/g2.npy" ]; echo $?)" "grad writes the gradient files"

run -c "$COOP; set n_ctx 5; prompt load $TMP/p.npy"
contains "$err" "4 x 16 but the head has 5 x 16" "prompt of the wrong shape is rejected"

"$MAKE_CLIP_MODEL" "$TMP/small" 300 16 1 2 10
run -c "load model $M; load features $TMP/small/features.npy --labels $M/labels.txt --classes $M/classes.txt; set head coop; train 1"
contains "$err" "10 dimensions but the model's text features have 12" "features of the wrong dimension are rejected"
run -c "load model $M; load features $TMP/small/features.npy --labels $M/labels.txt --classes $M/classes.txt; zeroshot"
contains "$err" "10 dimensions" "zeroshot rejects features of the wrong dimension"

done_testing
