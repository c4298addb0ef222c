#!/bin/sh
# The image commands end to end: a small random CLIP model with an image
# encoder written at test time (CLIP's own vocabulary, skipped when it is
# absent), an image folder made of the committed fixture images plus bad
# files, then load images, the cache on a second load, training, zeroshot,
# encode images, a CSV list, and the errors for a missing model, a model
# without an image encoder and a folder without images.
. "${TP_SRCDIR:-.}/tests/lib.sh"

VOCAB="${TP_SRCDIR:-.}/../shared/clip-vocab"
if [ ! -f "$VOCAB/vocab.json" ] || [ ! -f "$VOCAB/merges.txt" ]; then
	echo "1..0 # SKIP CLIP's vocabulary not found in $VOCAB (vocab.json, merges.txt)"
	exit 0
fi
MAKE_CLIP_MODEL="${MAKE_CLIP_MODEL:-$(dirname "$TWINPROMPT")/tests/make_clip_model}"
IMAGES="${TP_SRCDIR:-.}/tests/fixtures/clip/vision/images"

M="$TMP/model"
mkdir -p "$M"
"$MAKE_CLIP_MODEL" "$M" 49408 16 1 2 12 32,2,4,32,8
ok $? "random model with an image encoder written"
cp "$VOCAB/vocab.json" "$VOCAB/merges.txt" "$M/"

# two classes of different pictures, a bad file and an empty class folder
D="$TMP/pets"
mkdir -p "$D/golden_retriever" "$D/tabby_cat" "$D/empty"
for i in 1 2 3 4; do
	cp "$IMAGES/a.png" "$D/golden_retriever/a$i.png"
	cp "$IMAGES/b.png" "$D/golden_retriever/b$i.png"
	cp "$IMAGES/c.jpg" "$D/tabby_cat/c$i.jpg"
	cp "$IMAGES/e.png" "$D/tabby_cat/e$i.png"
done
echo "not a picture" >"$D/tabby_cat/notes.png"
head -c 400 "$IMAGES/c.jpg" >"$D/tabby_cat/cut.jpg"

run -c "load images $D"
contains "$err" "no CLIP model is loaded" "load images without a model says what to load"

run -c "load model $M"
contains "$out" "image 32, patch 8, loaded" "load model reports the image encoder"

run -c "load model $M; load images $D"
ok $rc "load images succeeds"
contains "$out" "images: 18 listed, 0 from the cache, 16 encoded" "first load encodes every good image"
contains "$out" "2 skipped" "bad files are counted"
contains "$err" "notes.png' is not an image" "a non-image file is named in a warning"
contains "$err" "cut.jpg' is a truncated or corrupt JPEG" "a truncated JPEG is named in a warning"
contains "$err" "class folder 'empty' has no files" "an empty class folder is warned"
contains "$out" "12 training and 4 test samples, 2 classes, 12-dim features" "each class of 8 gives 2 test images at --test-ratio 0.2"
ok "$(ls "$D"/.twinprompt-cache/features-*.tpc >/dev/null 2>&1; echo $?)" "cache file written in DIR/.twinprompt-cache"

run -c "load model $M; load images $D --test-ratio 0.5 --seed 4; method twin; set epochs 3; train; zeroshot"
ok $rc "second load, training and zeroshot succeed"
contains "$out" "images: 18 listed, 16 from the cache, 0 encoded" "second load reads the cache"
contains "$out" "8 training and 8 test samples" "--test-ratio 0.5 splits each class in half"
contains "$out" "schedule complete" "twin trains on image features"
contains "$out" "a photo of a golden retriever." "zeroshot uses the folder names as classes"
contains "$out" "test accuracy" "zeroshot prints the accuracy"

# a changed image is encoded again
cp "$IMAGES/d.png" "$D/golden_retriever/a1.png"
touch -d "2001-01-01" "$D/golden_retriever/a1.png"
run -c "load model $M; load images $D"
contains "$out" "15 from the cache, 1 encoded" "a changed file is encoded again"

run -c "load model $M; load images $D --no-cache --cache $TMP/unused"
contains "$out" "0 from the cache, 16 encoded" "--no-cache encodes everything"
ok "$([ ! -d "$TMP/unused" ]; echo $?)" "--no-cache writes no cache"

# a CSV list with a split column, the cache beside it
printf 'path,label,split\n' >"$TMP/list.csv"
printf 'pets/golden_retriever/a2.png,golden_retriever,train\n' >>"$TMP/list.csv"
printf 'pets/golden_retriever/b2.png,0,test\npets/tabby_cat/c2.jpg,tabby_cat,train\npets/tabby_cat/e2.png,1,test\n' >>"$TMP/list.csv"
printf 'golden_retriever\ntabby_cat\n' >"$TMP/classes.txt"
run -c "load model $M; load images $TMP/list.csv --classes $TMP/classes.txt"
ok $rc "load images of a CSV list succeeds"
contains "$out" "2 training and 2 test samples, 2 classes" "CSV split column gives the split"
ok "$(ls "$TMP"/.twinprompt-cache/features-*.tpc >/dev/null 2>&1; echo $?)" "CSV cache written beside the list"
run -c "load model $M; load images $TMP/list.csv"
contains "$err" "needs --classes FILE" "CSV without --classes is rejected"

# encode images writes normalised rows in order
run -c "load model $M; encode images --out $TMP/f.npy $IMAGES/a.png $IMAGES/c.jpg $D/tabby_cat/e1.png"
ok $rc "encode images succeeds"
contains "$out" "wrote 3 x 12 normalised image features" "encode images reports its shape"
run -c "load model $M; encode images --out $TMP/g.npy $D/tabby_cat"
contains "$err" "could not be encoded" "encode images fails on a bad file in a folder"

# errors keep the REPL and its data
mkdir -p "$TMP/nothing/a"
run -k -c "load model $M; load images $D; load images $TMP/nothing; noise sym 0.25"
contains "$err" "has no files in class folders" "folder without images is an error"
contains "$out" "realised noise rate" "the data set survives the failed load"
mkdir -p "$TMP/textonly"
"$MAKE_CLIP_MODEL" "$TMP/textonly" 49408 16 1 2 12
cp "$VOCAB/vocab.json" "$VOCAB/merges.txt" "$TMP/textonly/"
run -c "load model $TMP/textonly; load images $D"
contains "$err" "has no image encoder" "a text-only model is rejected"

done_testing
