# shellcheck shell=bash
# check DESCRIPTION COMMAND...: "ok" when COMMAND succeeds, else "FAIL";
# check_summary NAME: "NAME: N passed, N failed", and the exit status
# (0 only when something passed and nothing failed). For the shell tests
# of tests/install and tests/openwrt.
CHECK_PASSED=0
CHECK_FAILED=0

check() {
	local what=$1
	shift
	if "$@"; then
		CHECK_PASSED=$((CHECK_PASSED + 1))
		echo "ok   $what"
	else
		CHECK_FAILED=$((CHECK_FAILED + 1))
		echo "FAIL $what"
	fi
}

check_summary() {
	echo "$1: $CHECK_PASSED passed, $CHECK_FAILED failed"
	[ "$CHECK_FAILED" -eq 0 ] && [ "$CHECK_PASSED" -gt 0 ]
}
