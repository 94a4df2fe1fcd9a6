#!/bin/bash
# make cross TARGET=...: vswitch for another machine.
#
#   tests/cross/cross.sh TARGET     build and check one target
#   tests/cross/cross.sh --table    the size table of the targets built
#
# TARGET is aarch64, armhf (32-bit), s390x (big-endian) or i686 (32-bit
# x86, which this machine's kernel runs natively: io_uring and 64-bit
# file offsets through the kernel's own 32-bit calls, which qemu-user
# does not emulate faithfully: its mmap drops offset bits above 4 GiB on
# 32-bit targets). The cross
# compiler and qemu-user come from Debian; the target's liburing and inih
# are Debian's packages for that architecture, downloaded and unpacked
# into a sysroot under build/cross/TARGET (kept between runs), as an
# SDK's staging directory holds them: their headers are system headers
# (-isystem), so their own warnings are theirs, and nothing of the target
# is installed on this machine beyond the cross toolchain.
#
# vswitch and the unit tests are built with -Werror (any warning, the
# linker's included, fails the target); the unit tests and
# `vswitch -t -c config.ini.example` then run under qemu-user, and
# vswitch itself must exit with the one line that says io_uring is
# missing (qemu-user has none). test_loop needs io_uring too: it runs in
# `make test` on this machine. Last, the stripped binary's size.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cross=$top/build/cross

table() {
	local f
	printf '%-10s %10s %10s %8s %8s\n' target stripped text data bss
	for f in "$cross"/*/summary; do
		[ -e "$f" ] && cat "$f"
	done
	return 0
}

if [ "${1:-}" = --table ]; then
	table
	exit 0
fi

target=${1:-}
case $target in
aarch64) triplet=aarch64-linux-gnu; arch=arm64; qemu="qemu-aarch64" ;;
armhf) triplet=arm-linux-gnueabihf; arch=armhf; qemu="qemu-arm" ;;
s390x) triplet=s390x-linux-gnu; arch=s390x; qemu="qemu-s390x" ;;
i686) triplet=i686-linux-gnu; arch=i386; qemu= ; multi=i386-linux-gnu ;;
*)
	echo "usage: make cross TARGET=aarch64|armhf|s390x|i686" >&2
	exit 2
	;;
esac

out=$cross/$target
sys=$out/sysroot
lib=$sys/usr/lib/${multi:-$triplet}
log=$out/build.log
mkdir -p "$out"
rm -f "$out/summary"

say() { echo "== $target: $*"; }
fail() {
	echo "cross $target: $*" >&2
	exit 1
}

# The toolchain and qemu-user, from Debian.
need=()
for p in "gcc-$triplet" "libc6-dev-$arch-cross" qemu-user; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
fi

# The target's liburing and inih, unpacked into the sysroot once.
if [ ! -e "$sys/.done" ]; then
	say "sysroot: liburing and inih for $arch"
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		dpkg --add-architecture "$arch"
		apt-get update -qq
	fi
	rm -rf "$sys" "$out/debs"
	mkdir -p "$sys" "$out/debs"
	(cd "$out/debs" && apt-get download -qq -o APT::Sandbox::User=root \
		"liburing-dev:$arch" \
		"liburing2:$arch" "libinih-dev:$arch" "libinih1:$arch") ||
		fail "cannot download liburing and inih for $arch"
	for d in "$out"/debs/*.deb; do
		dpkg-deb -x "$d" "$sys"
	done
	touch "$sys/.done"
fi

# vswitch and the unit tests, with the flags an SDK passes.
units=()
for t in "$top"/tests/unit/test_*.c; do
	t=${t##*/}
	units+=("$out/tests/${t%.c}")
done
say "building with $triplet-gcc, -Werror"
flags=(-O2 -g -flto=auto)
if ! make -C "$top" --no-print-directory WERROR=1 BUILD="$out" \
	PROG="$out/vswitch" CC="$triplet-gcc" PKG_CONFIG=false \
	CFLAGS="${flags[*]}" CPPFLAGS="-isystem $sys/usr/include" \
	LDFLAGS="-flto=auto -L$lib -Wl,-rpath-link,$lib" \
	"$out/vswitch" "${units[@]}" >"$log" 2>&1; then
	cat "$log"
	fail "the build failed"
fi
if grep -n 'warning' "$log"; then
	fail "the build warned (see above)"
fi

# The unit tests and the binary under qemu-user, or natively.
run() {
	local env=()
	if [ "$1" = -E ]; then
		env=("$2")
		shift 2
	fi
	if [ -n "$qemu" ]; then
		local qe=(-E "LD_LIBRARY_PATH=$lib")
		[ ${#env[@]} -eq 0 ] || qe+=(-E "${env[0]}")
		"$qemu" -L "/usr/$triplet" "${qe[@]}" "$@"
	else
		env "${env[@]}" "/usr/$triplet/lib/ld-linux.so.2" \
			--library-path "/usr/$triplet/lib:$lib" "$@"
	fi
}
failed=0
for t in "${units[@]}"; do
	name=${t##*/}
	if [ "$name" = test_loop ] && [ -n "$qemu" ]; then
		say "$name: not run under qemu-user (it needs io_uring)"
		continue
	fi
	skip=
	if [ "$name" = test_mem ] && [ "$target" = armhf ]; then
		skip=test_mem_region_offset_above_4gib
		say "$skip: not run under qemu-user (its mmap drops offset bits above 4 GiB on 32-bit targets); TARGET=i686 runs it on the kernel"
	fi
	if run -E "TEST_SKIP=$skip" "$t" >"$out/$name.out" 2>&1; then
		say "$name: $(tail -n 1 "$out/$name.out")"
	else
		cat "$out/$name.out"
		say "$name: FAILED"
		failed=$((failed + 1))
	fi
done
if run "$out/vswitch" -t -c "$top/config.ini.example" >/dev/null 2>"$out/t.err"; then
	say "vswitch -t -c config.ini.example: ok"
else
	cat "$out/t.err"
	say "vswitch -t -c config.ini.example: FAILED"
	failed=$((failed + 1))
fi
if [ -n "$qemu" ]; then
want="error: no io_uring in this kernel: vswitch needs one built with CONFIG_IO_URING (OpenWrt: KERNEL_IO_URING)"
rc=0
run "$out/vswitch" -c "$top/config.ini.example" >/dev/null 2>"$out/run.err" || rc=$?
if [ "$rc" -eq 1 ] && [ "$(cat "$out/run.err")" = "$want" ]; then
	say "vswitch without io_uring: exit 1, one line naming the cause"
else
	say "vswitch without io_uring: FAILED (exit $rc): $(cat "$out/run.err")"
	failed=$((failed + 1))
fi
fi

# Its size.
"$triplet-strip" -o "$out/vswitch.stripped" "$out/vswitch"
read -r text data bss _ < <("$triplet-size" "$out/vswitch" | tail -n 1)
printf '%-10s %10s %10s %8s %8s\n' "$target" \
	"$(stat -c %s "$out/vswitch.stripped")" "$text" "$data" "$bss" \
	>"$out/summary"
say "stripped $(stat -c %s "$out/vswitch.stripped") bytes"
[ "$failed" -eq 0 ] || fail "$failed check(s) failed"
