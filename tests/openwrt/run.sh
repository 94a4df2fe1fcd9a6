#!/bin/bash
# The OpenWrt package as a packager's SDK uses it, with a stand-in for
# OpenWrt's include files (rules.mk, include/package.mk here): the release
# tarball (make dist) unpacked from the download directory, openwrt/
# Makefile's Build/Compile run with an SDK's compiler and flags for TARGET
# (aarch64 or armhf, the sysroot of `make cross TARGET=...` as the staging
# directory, its headers through -I as OpenWrt passes them), the result
# installed by Package/vswitch/install, and then checked:
#   - the build printed no warning;
#   - the binary is the target's, and `vswitch -t` takes the packaged
#     configuration (under qemu-user);
#   - the files and modes OpenWrt installs: binary 0755, init script 0755,
#     configuration 0600, listed as a conffile;
#   - the package depends on liburing, libinih and KERNEL_IO_URING;
#   - the init script starts nothing when vswitch -k (io_uring) or -t
#     (configuration) fails, and starts vswitch under procd when both pass.
#
# Usage: tests/openwrt/run.sh TARGET
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$top/tests/openwrt
target=${1:-}
case $target in
aarch64) triplet=aarch64-linux-gnu; qemu="qemu-aarch64"; machine=AArch64 ;;
armhf) triplet=arm-linux-gnueabihf; qemu="qemu-arm"; machine=ARM ;;
*)
	echo "usage: tests/openwrt/run.sh aarch64|armhf" >&2
	exit 2
	;;
esac
sys=$top/build/cross/$target/sysroot
lib=$sys/usr/lib/$triplet
work=$top/build/openwrt/$target
# shellcheck source-path=SCRIPTDIR source=../lib/check.sh
. "$top/tests/lib/check.sh"

[ -e "$sys/.done" ] || "$top/tests/cross/cross.sh" "$target" >/dev/null
rm -rf "$work"
mkdir -p "$work/dl" "$work/dest"
make -s -C "$top" --no-print-directory dist BUILD="$work" >/dev/null
version=$(sed -n 's/^PKG_VERSION:=//p' "$top/openwrt/Makefile")
[ -e "$work/vswitch-$version.tar.gz" ] ||
	{ echo "make dist did not write vswitch-$version.tar.gz" >&2; exit 1; }
mv "$work/vswitch-$version.tar.gz" "$work/dl/"

# What OpenWrt's SDK passes for an aarch64 or armhf target (its own gcc
# adds -fhonour-copts and the like, which Debian's has not).
sdk=(TOPDIR="$here" BUILD_DIR="$work/build_dir" DL_DIR="$work/dl"
	DEST="$work/dest" PKG_JOBS=-j2
	TARGET_CC="$triplet-gcc"
	TARGET_CFLAGS="-Os -pipe -fno-caller-saves -fno-plt -fstack-protector -D_FORTIFY_SOURCE=1 -Wformat -Werror=format-security"
	TARGET_CPPFLAGS="-I$sys/usr/include"
	TARGET_LDFLAGS="-L$lib -Wl,-rpath-link,$lib -znow -zrelro"
	PKG_CONFIG=false)
pkg() { make -C "$top/openwrt" --no-print-directory "${sdk[@]}" "$@"; }

check "the release tarball unpacks" pkg -s prepare
compiles() { pkg compile >"$work/compile.log" 2>&1 || { cat "$work/compile.log"; false; }; }
quiet() { ! grep -n 'warning' "$work/compile.log"; }
check "Build/Compile builds vswitch with the SDK's flags" compiles
check "the build printed no warning" quiet
check "Package/vswitch/install" pkg -s install
bin=$work/dest/usr/sbin/vswitch
check "the binary is the target's ($machine)" \
	grep -q "Machine:.*$machine" <("$triplet-readelf" -h "$bin")
takes_config() {
	"$qemu" -L "/usr/$triplet" -E "LD_LIBRARY_PATH=$lib" \
		"$bin" -t -c "$work/dest/etc/vswitch/config.ini" >/dev/null
}
check "vswitch -t takes the packaged configuration" takes_config
mode() { [ "$(stat -c %a "$1")" = "$2" ]; }
check "/usr/sbin/vswitch 0755" mode "$bin" 755
check "/etc/init.d/vswitch 0755" mode "$work/dest/etc/init.d/vswitch" 755
check "/etc/vswitch/config.ini 0600" \
	mode "$work/dest/etc/vswitch/config.ini" 600
info=$(pkg -s info)
check "config.ini is a conffile" \
	grep -qx 'CONFFILES=/etc/vswitch/config.ini' <<<"$info"
check "depends on liburing, libinih and KERNEL_IO_URING" \
	grep -qx 'DEPENDS=+liburing +libinih @KERNEL_IO_URING' <<<"$info"

# The init script's function $3 (start_service unless given) with procd's
# and rc.common's functions played here, and a vswitch whose -k and -t
# exit with $1 and $2, and that prints how "ctl" was asked.
initscript() {
	local fake=$work/fake-vswitch
	cat >"$fake" <<-EOF
		#!/bin/sh
		case \$1 in
		-k) [ $1 = 0 ] || echo "error: no io_uring" >&2; exit $1 ;;
		-t) [ $2 = 0 ] || echo "config.ini:3: bad" >&2; exit $2 ;;
		ctl) echo "asked: \$*" ;;
		esac
	EOF
	chmod +x "$fake"
	(
		# shellcheck disable=SC2317  # called by the script sourced
		procd_open_instance() { echo "open"; }
		# shellcheck disable=SC2317
		procd_set_param() { echo "param $*"; }
		# shellcheck disable=SC2317
		procd_close_instance() { echo "close"; }
		# shellcheck disable=SC2317
		logger() { echo "logger $*"; }
		# shellcheck disable=SC1090
		. <(sed -e '1d' -e "s|^PROG=.*|PROG=$fake|" \
			"$work/dest/etc/init.d/vswitch")
		"${3:-start_service}"
	) 2>&1
}
# Did the init script start vswitch (@1: its output), and log @2?
started() { grep -q '^open' <<<"$1" && grep -q '^close' <<<"$1"; }
logged() { grep -q "^logger .*$2" <<<"$1"; }
refused() { ! started "$1" && logged "$1" "$2"; }
out=$(initscript 1 0 || true)
check "no io_uring: not started, the cause logged" \
	refused "$out" "no io_uring"
out=$(initscript 0 2 || true)
check "a bad configuration: not started, the error logged" \
	refused "$out" "config.ini:3: bad"
out=$(initscript 0 0)
check "both checks pass: vswitch started under procd" started "$out"
check "... with the packaged configuration" \
	grep -q '^param command .* -c /etc/vswitch/config.ini$' <<<"$out"
out=$(initscript 0 0 stats)
check "stats asks vswitch ctl stats" \
	grep -qx 'asked: ctl -c /etc/vswitch/config.ini stats' <<<"$out"
out=$(initscript 0 0 status_service)
check "status asks vswitch ctl show" \
	grep -qx 'asked: ctl -c /etc/vswitch/config.ini show' <<<"$out"

check_summary "openwrt package ($target)"
