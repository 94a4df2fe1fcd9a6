#!/bin/bash
# Golden tests for configuration errors.
#
# Each NAME.ini is a configuration vswitch must refuse; NAME.expected is
# the one line it must print. Both may say @DIR@ for the case's private
# directory, where the configuration is written as config.ini. A line
# "; setup: WHAT [ARG]" in the .ini prepares the directory first:
#   touch PATH              an empty file at PATH (relative to @DIR@)
#   config-is-a-directory   config.ini is a directory, not a file
#   no-config               there is no config.ini at all
# A case passes when vswitch exits 2, prints exactly the expected line on
# stderr and nothing on stdout, and leaves the directory as it found it.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${VSWITCH:-$top/vswitch}
passed=0
failed=0

for ini in "$top"/tests/config/*.ini; do
	name=$(basename "$ini" .ini)
	dir=$(mktemp -d /tmp/vswitch-config.XXXXXX)
	sed "s|@DIR@|$dir|g" "$ini" >"$dir/config.ini"
	want=$(sed "s|@DIR@|$dir|g" "${ini%.ini}.expected")
	while read -r _ _ what arg; do
		case $what in
		touch) : >"$dir/$arg" ;;
		config-is-a-directory) rm "$dir/config.ini" && mkdir "$dir/config.ini" ;;
		no-config) rm "$dir/config.ini" ;;
		*) echo "$name: unknown setup '$what'" >&2 ;;
		esac
	done < <(grep '^; setup: ' "$ini")
	before=$(cd "$dir" && find . | sort)
	timeout 10 "$bin" -c "$dir/config.ini" >"$dir.out" 2>"$dir.err"
	rc=$?
	got=$(cat "$dir.err")
	after=$(cd "$dir" && find . | sort)
	if [ "$rc" -eq 2 ] && [ "$got" = "$want" ] && [ ! -s "$dir.out" ] &&
		[ "$before" = "$after" ]; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc)"
		echo "  want: $want"
		echo "  got:  $got"
		[ "$before" = "$after" ] || echo "  left behind: $(diff <(echo "$before") <(echo "$after") | grep '^>')"
	fi
	rm -rf "$dir" "$dir.out" "$dir.err"
done
echo "config: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
