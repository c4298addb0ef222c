#!/bin/sh
# End to end on a Fashion-MNIST subset: load, noise, GMM stepping, twin
# training, split inspection and export, and training in pieces.
. "${TP_SRCDIR:-.}/tests/lib.sh"

DIR=/usr/share/datasets/fashion-mnist
if [ ! -f "$DIR/train-images-idx3-ubyte.gz" ] && [ ! -f "$DIR/train-images-idx3-ubyte" ]; then
	echo "1..0 # SKIP Fashion-MNIST not installed in $DIR (apt-get install dataset-fashion-mnist)"
	exit 0
fi
LOAD="load fashion-mnist --train 3000 --test 1000 --dim 32"

run -c "$LOAD; noise sym 0.5 --seed 2; noise show"
ok $rc "load and noise succeed"
contains "$out" "3000 training and 1000 test samples, 10 classes, 32-dim" "subset sizes"
contains "$out" "PCA-whitened pixels" "the stand-in encoder is named"
contains "$out" "1500 of 3000 labels chosen: realised noise rate 0.5000" "exact noise count"
contains "$out" "T-shirt/top" "class names shown"

run -c "$LOAD; noise sym 0.4; method twin; set epochs 4; train; split show; split top 3 --head B; eval; export split $TMP/split.csv"
ok $rc "twin training script succeeds"
n_epochs=$(printf '%s\n' "$out" | grep -cE '^ +[1-4]  [0-9.]+e-?[0-9]+ ')
ok $((n_epochs != 4)) "one table row per epoch ($n_epochs)"
contains "$out" "warm-up" "warm-up epochs are marked"
contains "$out" "predicted noisy" "split table printed"
contains "$out" "most suspect samples of head B" "suspects of head B listed"
rows=$(wc -l <"$TMP/split.csv")
ok $((rows != 3001)) "export has a header and one row per training sample ($rows)"
contains "$(head -1 "$TMP/split.csv")" "index,given,true,loss_a,p_clean_a,loss_b,p_clean_b" "export header"
noisy=$(awk -F, 'NR > 1 && $2 != $3' "$TMP/split.csv" | wc -l)
ok $((noisy != 1200)) "exported labels carry the 1200 noisy samples ($noisy)"
acc=$(printf '%s\n' "$out" | sed -n 's/.*test accuracy A \([0-9.]*\).*/\1/p')
ok $(awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }'; echo $?) "twin test accuracy above 0.5 ($acc)"

# the GMM steps one EM iteration at a time
run -c "$LOAD; noise sym 0.5; set epochs 3; train; gmm init; gmm step; gmm step 2; gmm show"
contains "$out" "iteration   1:" "first EM step printed"
contains "$out" "iteration   3:" "third EM step printed"
contains "$out" "iteration 3" "gmm show reports the iteration"
contains "$out" "log-likelihood" "gmm show reports the log-likelihood"

# training in pieces is the same run as training in one go
strip() { printf '%s\n' "$1" | grep -E '^ +[0-9]+  ' | sed 's/ *[0-9.]*s\( .*\)\{0,1\}$//'; }
run -c "$LOAD; noise pair 0.3; method twin; set epochs 5; train"
whole=$(strip "$out")
run -c "$LOAD; noise pair 0.3; method twin; set epochs 5; train 2; train 1; train"
pieces=$(strip "$out")
[ -n "$whole" ] && [ "$whole" = "$pieces" ]
ok $? "train 2; train 1; train equals train"

done_testing
