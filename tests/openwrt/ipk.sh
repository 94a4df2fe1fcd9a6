#!/bin/bash
# Check a package from `make ipk TARGET=...` as opkg would read it: the
# three members in order, the control fields, the conffile, the files with
# their owners and modes, and the binary: the target's, static, and able
# to check the packaged configuration (under qemu-user for aarch64, which
# has no io_uring: -k must then say so; on this kernel for x86_64, -k
# passes).
#
# Usage: tests/openwrt/ipk.sh aarch64|x86_64 FILE.ipk
set -euo pipefail

target=${1:-}
ipk=${2:-}
case $target in
aarch64) machine=AArch64; run=(qemu-aarch64) ;;
x86_64) machine="Advanced Micro Devices X86-64"; run=() ;;
*)
	echo "usage: tests/openwrt/ipk.sh aarch64|x86_64 FILE.ipk" >&2
	exit 2
	;;
esac
[ -e "$ipk" ] || { echo "no $ipk" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source-path=SCRIPTDIR source=../lib/check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
same() { [ "$1" = "$2" ] || { echo "  got: $1" >&2; return 1; }; }

tar -xzf "$ipk" -C "$work"
check "debian-binary, control.tar.gz, data.tar.gz, in that order" \
	same "$(tar -tzf "$ipk" | tr '\n' ' ')" \
	"./debian-binary ./control.tar.gz ./data.tar.gz "
check "debian-binary says 2.0" same "$(cat "$work/debian-binary")" 2.0
mkdir "$work/control" "$work/data"
tar -xzf "$work/control.tar.gz" -C "$work/control"
tar -xzf "$work/data.tar.gz" -C "$work/data"
field() { sed -n "s/^$1: //p" "$work/control/control"; }
check "Package: vswitch" same "$(field Package)" vswitch
check "the file is named for its Version and Architecture" \
	same "vswitch_$(field Version)_$(field Architecture).ipk" \
	"$(basename "$ipk")"
check "the configuration is a conffile" \
	same "$(cat "$work/control/conffiles")" /etc/vswitch/config.ini
check "postinst and prerm are executable" \
	test -x "$work/control/postinst" -a -x "$work/control/prerm"
listing=$(tar -tvzf "$work/data.tar.gz" | awk '{ print $1, $2, $6 }')
for f in "-rwxr-xr-x 0/0 ./usr/sbin/vswitch" \
	"-rwxr-xr-x 0/0 ./etc/init.d/vswitch" \
	"-rw------- 0/0 ./etc/vswitch/config.ini"; do
	check "${f##* } (${f%% *}, root)" grep -qxF -- "$f" <<<"$listing"
done
bin=$work/data/usr/sbin/vswitch
check "the binary is the target's ($machine)" \
	grep -q "Machine: *$machine" <(readelf -h "$bin")
static() { ! readelf -l "$bin" | grep -q INTERP; }
check "the binary is static (no interpreter)" static
takes_config() {
	"${run[@]}" "$bin" -t -c "$work/data/etc/vswitch/config.ini" >/dev/null
}
check "vswitch -t takes the packaged configuration" takes_config
if [ ${#run[@]} -gt 0 ]; then
	probe() { ! "${run[@]}" "$bin" -k 2>&1 | grep -q usable; }
	check "vswitch -k: no io_uring under qemu-user, said so" probe
else
	probe() { "$bin" -k >/dev/null; }
	check "vswitch -k: this kernel's io_uring serves it" probe
fi
check_summary "ipk ($target)"
