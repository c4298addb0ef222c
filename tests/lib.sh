# TAP helpers for the command-line tests.  Source this file; it sets
# $TWINPROMPT (the binary, from the test environment or the build folder)
# and a temporary folder $TMP removed on exit.

: "${TWINPROMPT:=./twinprompt}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# every run records its session in a store inside $TMP, never in the build folder
TWINPROMPT_STORE="$TMP/twinprompt.db"
export TWINPROMPT_STORE
n_checks=0
n_failed=0

# ok CONDITION-EXIT-STATUS NAME: records one check.
ok() {
	n_checks=$((n_checks + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n_checks - $2"
	else
		echo "not ok $n_checks - $2"
		n_failed=$((n_failed + 1))
	fi
}

# run ARGS...: runs twinprompt, keeping stdout in $out, stderr in $err and
# the exit status in $rc.
run() {
	"$TWINPROMPT" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# contains TEXT PATTERN NAME: checks that TEXT contains the fixed string PATTERN.
contains() {
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; printf '#   expected to find: %s\n#   in: %s\n' "$2" "$1" | head -20 ;;
	esac
}

# lacks TEXT PATTERN NAME: checks that TEXT does not contain PATTERN.
lacks() {
	case "$1" in
	*"$2"*) ok 1 "$3"; printf '#   did not expect: %s\n' "$2" ;;
	*) ok 0 "$3" ;;
	esac
}

done_testing() {
	echo "1..$n_checks"
	[ "$n_failed" -eq 0 ]
}
