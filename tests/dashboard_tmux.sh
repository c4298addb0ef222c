#!/bin/sh
# The dashboard driven under a private tmux server: it opens, shows every
# panel with the session's numbers, reacts to each key, survives resizes,
# falls back to ASCII, and leaves the terminal usable after 'q' and SIGTERM.
. "${TP_SRCDIR:-.}/tests/lib.sh"

DIR=/usr/share/datasets/fashion-mnist
if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux not installed (apt-get install tmux)"
	exit 0
fi
if [ ! -f "$DIR/train-images-idx3-ubyte.gz" ] && [ ! -f "$DIR/train-images-idx3-ubyte" ]; then
	echo "1..0 # SKIP Fashion-MNIST not installed in $DIR (apt-get install dataset-fashion-mnist)"
	exit 0
fi
LOAD="load fashion-mnist --train 2000 --test 500 --dim 32; noise sym 0.4 --seed 1; method twin; set epochs 40"

SOCKET="tp-dashboard-$$"
tm() { tmux -L "$SOCKET" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; rm -rf "$TMP"' EXIT

screen() { tm capture-pane -p -t "$1"; }

# wait_for SESSION TEXT: polls the screen until TEXT shows (at most 30 s).
wait_for() {
	i=0
	while [ $i -lt 300 ]; do
		case "$(screen "$1")" in *"$2"*) return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# shows SESSION TEXT NAME: one check that TEXT appears on the screen.
shows() {
	if wait_for "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   expected on screen: %s\n' "$2"
		screen "$1" | sed 's/^/#   | /'
	fi
}

# start SESSION ENV...: twinprompt in an 80x24 window; after it exits the
# shell records the terminal settings in $TMP/SESSION.stty.
start() {
	name=$1
	shift
	tm new-session -d -x 80 -y 24 -s "$name" \
		"env TERM=xterm-256color TWINPROMPT_HISTORY=$TMP/history $* '$TWINPROMPT'; stty -a >'$TMP/$name.stty'; sleep 60"
}

# the expected split after one epoch, from the REPL's own 'split show'
run -c "$LOAD; train 1; split show"
ok $rc "reference run succeeds"
ref_clean=$(printf '%s\n' "$out" | awk '/predicted clean/ { print $3, $4 }')
ref_noisy=$(printf '%s\n' "$out" | awk '/predicted noisy/ { print $3, $4 }')
ref_test_a=$(printf '%s\n' "$out" | awk '$1 == 1 && NF > 8 { print substr($4, 2, 4) }')

start main LC_ALL=C.UTF-8
shows main "twinprompt>" "the prompt starts"
tm send-keys -t main "$LOAD" Enter
shows main "epochs = 40" "the session is set up"
tm send-keys -t main "dashboard --paused" Enter
shows main "PAUSED" "the dashboard opens paused"
shows main "ACCURACY" "accuracy panel"
shows main "LOSSES A" "loss histogram panel"
shows main "SPLIT head A" "split panel"
shows main "NOISE 0.400" "noise panel with the realised rate"
shows main "CLEAN RATE" "class clean rate panel"
shows main "p pause" "the keys line"
shows main "T-shirt/" "class names in the class panel"
shows main "diagonal 0.600" "transition matrix diagonal is 1 - rate"

tm send-keys -t main b
shows main "trained 1 batches: epoch 1" "b trains one batch"
shows main "step 1 " "the header counts the step"
tm send-keys -t main e
shows main "    1  1.00e-05" "e finishes the epoch with its table row"
shows main "epoch 1/40" "the header shows the epoch"
line=$(screen main | grep '^clean ' | awk '{ print $2, $3 }')
ok $([ "$line" = "$ref_clean" ]; echo $?) "split row predicted clean matches 'split show' ($line / $ref_clean)"
line=$(screen main | grep '^noisy ' | awk '{ print $2, $3 }')
ok $([ "$line" = "$ref_noisy" ]; echo $?) "split row predicted noisy matches 'split show' ($line / $ref_noisy)"
shows main "A $ref_test_a" "accuracy title shows head A's test accuracy"
shows main "thr " "the histogram marks the threshold"

# gmm_iter: the GMM iteration the split panel shows
gmm_iter() { screen main | sed -n 's/^GMM iter \([0-9]*\).*/\1/p'; }
before=$(gmm_iter)
tm send-keys -t main g
shows main "(clean/noisy component" "g runs an EM step"
shows main "GMM iter $((before + 1))" "the split panel shows the next iteration ($before + 1)"
tm send-keys -t main h
shows main "SPLIT head B" "h switches to head B"
before=$(gmm_iter)
tm send-keys -t main g
shows main "GMM iter $((before + 1))" "g steps the shown head's GMM ($before + 1)"

tm send-keys -t main :
tm send-keys -t main "set tau 0.6" Enter
shows main "tau = 0.6" "the command line runs a REPL command"
tm send-keys -t main :
tm send-keys -t main "frobnicate" Enter
shows main "unknown command 'frobnicate'" "command errors show in the pane"

tm send-keys -t main "?"
shows main "Keys (each shown at the bottom" "? shows the keys"
tm send-keys -t main "?"
wait_for main "CLEAN RATE"
lacks "$(screen main)" "Keys (each shown" "? again hides them"

tm send-keys -t main :
tm send-keys -t main "set epochs 100000" Enter
shows main "epochs = 100000" "the schedule is lengthened"
# header_epoch: the epoch number in the header
header_epoch() { screen main | head -1 | sed -n 's/.*epoch \([0-9]*\)\/.*/\1/p'; }
first=$(header_epoch)
tm send-keys -t main p
shows main "RUNNING" "p resumes training"
sleep 1
later=$(header_epoch)
ok $([ "${later:-0}" -gt "${first:-0}" ]; echo $?) "training runs while the dashboard is open (epoch $first, then $later)"
tm send-keys -t main p
shows main "paused: 'p' resumes" "p pauses"
tm send-keys -t main p
shows main "RUNNING" "p resumes again"
tm send-keys -t main C-c
shows main "Ctrl-C: paused" "Ctrl-C pauses"
shows main "PAUSED" "paused after Ctrl-C"

tm resize-window -t main -x 120 -y 40
shows main "$(printf '%-119s' 'p pause b batch' | cut -c1-15)" "the keys line after growing"
rows=$(screen main | grep -n 'p pause b batch' | cut -d: -f1)
ok $([ "$rows" = 40 ]; echo $?) "keys line on the last of 40 rows ($rows)"
tm resize-window -t main -x 60 -y 20
shows main "the dashboard needs 80x24" "a small terminal is named"
tm resize-window -t main -x 80 -y 24
shows main "SPLIT head B" "panels return at 80x24"

tm send-keys -t main q
shows main "twinprompt>" "q returns to the prompt"
tm send-keys -t main "echo still here" Enter
shows main "still here" "the REPL reads lines after the dashboard"
tm send-keys -t main "quit" Enter
wait_for main "" && sleep 0.5
i=0
while [ ! -s "$TMP/main.stty" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
settings=$(cat "$TMP/main.stty" 2>/dev/null)
contains "$settings" " icanon" "canonical input restored after quit"
contains "$settings" " echo " "echo restored after quit"

# ASCII and no colour; SIGTERM while open restores the terminal
start ascii LC_ALL=C NO_COLOR=1
shows ascii "twinprompt>" "the prompt starts in the C locale"
tm send-keys -t ascii "$LOAD; train 2" Enter
shows ascii "    2  " "training in the C locale"
tm send-keys -t ascii "dashboard --paused" Enter
shows ascii "SPLIT head A" "the dashboard opens in ASCII"
text=$(screen ascii)
nonascii=$(printf '%s' "$text" | LC_ALL=C tr -d '\11\12\40-\176' | wc -c)
ok $([ "$nonascii" -eq 0 ]; echo $?) "ASCII screen holds no other bytes ($nonascii)"
contains "$text" "#" "bars drawn with ASCII characters"
pid=$(tm display -p -t ascii '#{pane_pid}')
child=$(pgrep -P "$pid" twinprompt)
ok $([ -n "$child" ]; echo $?) "twinprompt runs in the pane"
[ -n "$child" ] && kill -TERM "$child"
i=0
while [ ! -s "$TMP/ascii.stty" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
settings=$(cat "$TMP/ascii.stty" 2>/dev/null)
contains "$settings" " icanon" "canonical input restored after SIGTERM"
contains "$settings" " echo " "echo restored after SIGTERM"

done_testing
