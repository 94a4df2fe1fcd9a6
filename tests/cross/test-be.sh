#!/bin/bash
# make test-be: the integration and hostile suites on a big-endian kernel.
#
# qemu-user has no io_uring, so make cross TARGET=s390x runs only the unit
# tests on s390x. This boots a whole s390x machine instead:
# qemu-system-s390x (TCG, two vCPUs) with Debian's s390x kernel (io_uring
# built in) and a busybox initramfs holding the s390x builds of vswitch
# and of build/tests/integ and build/tests/hostile, with the dynamic
# loader and the libraries they need. Its /init (tests/cross/be-init) runs both
# suites on vswitch, measures vswitch's resident size with eight
# vhost-user ports, and powers off. The target passes when both suites
# end with "N passed, 0 failed" (N > 0) and print no FAIL line; anything
# else, a missing line or the machine not powering off within
# TEST_BE_TIMEOUT seconds (900) fails it, with the console lines that say
# why. The whole console is kept in build/cross/s390x/vm/console.log.
#
# The cross toolchain and sysroot are tests/cross/cross.sh's (run first
# when its sysroot is missing). The kernel package (the one
# linux-image-s390x depends on) and busybox-static:s390x are fetched with
# "apt-get download" and unpacked with dpkg-deb -x into
# build/cross/s390x/vm, nothing installed: a stamp naming both packages
# and versions makes later runs use them without downloading again.
# qemu-system-misc and cpio are installed when missing.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
triplet=s390x-linux-gnu
out=$top/build/cross/s390x
sys=$out/sysroot
lib=$sys/usr/lib/$triplet
vm=$out/vm
log=$out/test-be.log
timeout_s=${TEST_BE_TIMEOUT:-900}
META=linux-image-s390x:s390x
BUSYBOX_PKG=busybox-static:s390x

say() { echo "== s390x (big-endian kernel): $*"; }
fail() {
	echo "test-be: $*" >&2
	exit 1
}

# The cross toolchain, Debian's liburing and inih for s390x: cross.sh's.
if [ ! -e "$sys/.done" ]; then
	"$top/tests/cross/cross.sh" s390x
fi
# shellcheck source-path=SCRIPTDIR source=../lib/apt.sh
. "$top/tests/lib/apt.sh"
apt_need qemu-system-misc cpio "gcc-$triplet" libc6-dev-s390x-cross

# vswitch and the two suites, with cross.sh's flags (the same objects).
say "building vswitch, integ and hostile with $triplet-gcc"
if ! make -C "$top" --no-print-directory WERROR=1 BUILD="$out" \
	PROG="$out/vswitch" CC="$triplet-gcc" PKG_CONFIG=false \
	CFLAGS="-O2 -g -flto=auto" CPPFLAGS="-isystem $sys/usr/include" \
	LDFLAGS="-flto=auto -L$lib -Wl,-rpath-link,$lib" \
	"$out/vswitch" "$out/tests/integ" "$out/tests/hostile" \
	>"$log" 2>&1; then
	cat "$log"
	fail "the build failed"
fi
if grep -n 'warning' "$log"; then
	fail "the build warned (see above)"
fi

# ---- the kernel and busybox, downloaded once ----

# resolve: set kpkg and kver (the kernel package linux-image-s390x
# depends on, at the version it names), bver (busybox-static's) and key
# (what the cache must hold). One apt-cache call: each takes seconds.
resolve() {
	local info
	info=$(apt-cache show --no-all-versions "$META" "$BUSYBOX_PKG" \
		2>/dev/null) || return 1
	read -r kpkg kver < <(sed -n \
		's/^Depends:.*\(linux-image-[0-9][^ ,:]*-s390x\)\(:s390x\)\{0,1\} (= \([^)]*\)).*/\1 \3/p' \
		<<<"$info" | head -n 1) || return 1
	bver=$(awk '$1 == "Package:" { p = $2 }
		p == "busybox-static" && $1 == "Version:" { print $2; exit }' \
		<<<"$info")
	[ -n "$kpkg" ] && [ -n "$kver" ] && [ -n "$bver" ] || return 1
	key="$kpkg $kver busybox-static $bver"
}

up_to_date() {
	[ -f "$vm/stamp" ] && [ "$(cat "$vm/stamp")" = "$key" ] &&
		[ -s "$vm/vmlinuz" ] && [ -s "$vm/busybox" ]
}

# keep_old WHY: fall back on what the cache holds, if anything.
keep_old() {
	[ -f "$vm/stamp" ] || fail "$1"
	say "warning: $1; keeping $(cat "$vm/stamp")"
}

download() {
	say "downloading $kpkg $kver and busybox-static $bver"
	rm -f "$work"/*.deb
	(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root \
		"$kpkg:s390x=$kver" "$BUSYBOX_PKG=$bver")
}

# cache: make $vm hold vmlinuz and busybox for the packages apt-cache
# names now, downloading them only when the stamp names others.
cache() {
	if ! resolve; then
		say "apt-cache does not know $META: apt-get update"
		apt-get update -qq || true
		resolve || {
			keep_old "cannot resolve $META with apt-cache"
			return 0
		}
	fi
	up_to_date && return 0
	if ! download; then
		# Stale package lists name a version the archive no longer has.
		say "apt-get download failed: apt-get update and retry"
		apt-get update -qq || true
		resolve || {
			keep_old "cannot resolve $META with apt-cache"
			return 0
		}
		up_to_date && return 0
		download || {
			keep_old "apt-get download $kpkg $BUSYBOX_PKG failed"
			return 0
		}
	fi
	rm -f "$vm/stamp"
	for d in "$work"/*.deb; do
		dpkg-deb -x "$d" "$work/pkg"
	done
	[ -f "$work/pkg/boot/vmlinuz-${kpkg#linux-image-}" ] ||
		fail "no /boot/vmlinuz-${kpkg#linux-image-} in $kpkg"
	[ -f "$work/pkg/bin/busybox" ] || fail "no /bin/busybox in $BUSYBOX_PKG"
	mv -f "$work/pkg/boot/vmlinuz-${kpkg#linux-image-}" "$vm/vmlinuz"
	mv -f "$work/pkg/bin/busybox" "$vm/busybox"
	echo "$key" >"$vm/stamp"
}

mkdir -p "$vm"
exec 9>"$vm/.lock"
flock 9
work=$(mktemp -d "$vm/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache

# ---- the initramfs ----

# needs ELF: the libraries ELF names as NEEDED, one a line.
needs() {
	"$triplet-readelf" -d "$1" |
		sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]$/\1/p'
}

# find_lib NAME: where the sysroot or the cross toolchain has it.
find_lib() {
	local d
	for d in "$lib" "/usr/$triplet/lib"; do
		[ -e "$d/$1" ] && echo "$d/$1" && return 0
	done
	return 1
}

root=$work/root
mkdir -p "$root"/{bin,dev,etc,proc,run,sys,tmp} "$root/lib/$triplet"
cp "$vm/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$top/tests/cross/be-init" "$root/init"
for b in vswitch tests/integ tests/hostile; do
	"$triplet-strip" -o "$root/bin/${b##*/}" "$out/$b"
done
# The dynamic loader at the path the binaries name, and every library
# they need, directly or not, where it looks by itself (no ld.so.cache).
interp=$("$triplet-readelf" -l "$out/vswitch" |
	sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p')
[ -n "$interp" ] || fail "$out/vswitch names no program interpreter"
mkdir -p "$root$(dirname "$interp")"
cp -L "/usr/$triplet/lib/${interp##*/}" "$root$interp"
todo=("$root/bin/vswitch" "$root/bin/integ" "$root/bin/hostile")
while [ ${#todo[@]} -gt 0 ]; do
	f=${todo[0]}
	todo=("${todo[@]:1}")
	while read -r n; do
		[ -e "$root/lib/$triplet/$n" ] && continue
		src=$(find_lib "$n") || fail "${f##*/} needs $n, which is missing"
		cp -L "$src" "$root/lib/$triplet/$n"
		todo+=("$root/lib/$triplet/$n")
	done < <(needs "$f")
done
# The users the suites switch to and give sockets to.
printf '%s\n' 'root:x:0:0:root:/:/bin/sh' \
	'nobody:x:65534:65534:nobody:/:/bin/false' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) >"$vm/initramfs.cpio"

# ---- the machine ----

say "booting $(cut -d' ' -f1 "$vm/stamp") under qemu-system-s390x (TCG; a few minutes)"
start=$SECONDS
rc=0
timeout -k 10 "$timeout_s" qemu-system-s390x -M s390-ccw-virtio -m 1024 \
	-smp 2 -nographic -no-reboot -nic none \
	-kernel "$vm/vmlinuz" -initrd "$vm/initramfs.cpio" \
	-append 'console=ttysclp0 loglevel=4 panic=-1' \
	</dev/null 2>&1 | tr -d '\r' >"$vm/console.log" || rc=$?
took=$((SECONDS - start))

# ---- the verdict, from the console ----

console=$vm/console.log
failed=0
kernel=$(sed -n 's/^VSBE kernel //p' "$console" | head -n 1)
say "kernel ${kernel:-(never reached /init)}: ran $took s under TCG"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	tail -n 40 "$console"
	say "the machine did not power off within $timeout_s s"
	failed=1
elif [ "$rc" -ne 0 ]; then
	tail -n 40 "$console"
	say "qemu-system-s390x failed (exit $rc)"
	failed=1
fi

# SUITE's own lines: between its begin and end lines, or to the end of
# the console when it never ended.
block() {
	sed -n "/^VSBE begin $1\$/,/^VSBE end $1 /p" "$console"
}

for suite in integ hostile; do
	out_s=$(block "$suite")
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out_s" |
		tail -n 1 || true)
	if [ -z "$out_s" ]; then
		[ "$failed" -ne 0 ] || tail -n 40 "$console"
		say "$suite: never started"
	elif [ -n "$summary" ] && [ "${summary%% *}" -gt 0 ] &&
		[ "$summary" = "${summary%% *} passed, 0 failed" ] &&
		! grep -q '^FAIL' <<<"$out_s" &&
		grep -qx "VSBE end $suite status=0" <<<"$out_s"; then
		say "$suite: $summary"
		continue
	else
		grep -v '^ok ' <<<"$out_s" | tail -n 60
		say "$suite: FAILED${summary:+ ($summary)}"
	fi
	failed=1
done

rss=$(sed -n 's/^VSBE rss \([0-9][0-9]*\)$/\1/p' "$console")
if [ -n "$rss" ]; then
	say "vswitch RSS with 8 ports: $rss KiB"
else
	grep '^VSBE rss' "$console" || true
	say "vswitch RSS with 8 ports: not measured"
	failed=1
fi
[ "$failed" -eq 0 ] || fail "failed (the console: $console)"
