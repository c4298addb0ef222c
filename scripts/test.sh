#!/bin/sh
# Installs what is missing, builds twinprompt and runs the test suite
# (make check), then prints one line "N passed, N failed, N skipped".
cd "$(dirname "$0")/.." || exit 1
./scripts/setup.sh || exit 1
cd build || exit 1
make -j"$(nproc)" check
status=$?
passed=$(cat tests/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
failed=$(cat tests/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)')
skipped=$(cat tests/*.trs 2>/dev/null | grep -c '^:test-result: SKIP')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
