#!/bin/bash
# make cross TARGET=...: vswitch for another machine.
#
#   tests/cross/cross.sh TARGET     build and check one target
#   tests/cross/cross.sh --table    the size table of the targets built
#
# TARGET is one of
#   aarch64        edge boxes that run VMs, with Debian's glibc
#   aarch64-musl   the same with musl (OpenWrt's libc), static
#   musl           x86-64 with musl, static: it also runs the config and
#                  integration suites here, on this machine's kernel
#   armhf          32-bit: sizes, off_t, no 64-bit atomics
#   s390x          big-endian: every byte-order path
#   i686           32-bit x86, which this machine's kernel runs natively:
#                  io_uring and 64-bit file offsets through the kernel's
#                  own 32-bit calls, which qemu-user does not emulate
#                  faithfully (its mmap drops offset bits above 4 GiB on
#                  32-bit targets)
# The cross compilers and qemu-user come from Debian. The target's liburing
# and inih are Debian's packages for that architecture, downloaded and
# unpacked into a sysroot under build/cross/TARGET (kept between runs), as
# an SDK's staging directory holds them: their headers are system headers
# (-isystem), so their own warnings are theirs, and nothing of the target
# is installed on this machine beyond the cross toolchain. For musl they
# are built from source: liburing from `apt-get source` (a deb-src line is
# added in a .sources file of its own when none serves it), inih from
# ../shared/deps/inih-r55.tar.gz beside the project (DEPS_DIR to say
# elsewhere).
#
# vswitch and the unit tests are built with -Werror (any warning, the
# linker's included, fails the target); the unit tests and
# `vswitch -t -c config.ini.example` then run under qemu-user, and
# vswitch itself must exit with the one line that says io_uring is
# missing (qemu-user has none). test_loop needs io_uring too: it runs on
# the targets that run here natively. Last, the stripped binary's size.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cross=$top/build/cross

table() {
	local f
	printf '%-13s %10s %10s %8s %8s\n' target stripped text data bss
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
qemu=
mcc=
case $target in
aarch64) triplet=aarch64-linux-gnu; arch=arm64; qemu="qemu-aarch64" ;;
armhf) triplet=arm-linux-gnueabihf; arch=armhf; qemu="qemu-arm" ;;
s390x) triplet=s390x-linux-gnu; arch=s390x; qemu="qemu-s390x" ;;
i686) triplet=i686-linux-gnu; arch=i386; multi=i386-linux-gnu ;;
musl) triplet=x86_64-linux-gnu; arch=; mcc=musl-gcc ;;
aarch64-musl)
	triplet=aarch64-linux-gnu; arch=arm64; qemu="qemu-aarch64"
	mcc=aarch64-linux-musl-gcc
	;;
*)
	echo "usage: make cross TARGET=aarch64|armhf|s390x|i686|musl|aarch64-musl" >&2
	exit 2
	;;
esac

out=$cross/$target
sys=$out/sysroot
lib=$sys/usr/lib/${multi:-$triplet}
[ -z "$mcc" ] || lib=$sys/usr/lib
log=$out/build.log
deps=${DEPS_DIR:-$top/../shared/deps}
mkdir -p "$out"
rm -f "$out/summary"

say() { echo "== $target: $*"; }
fail() {
	echo "cross $target: $*" >&2
	exit 1
}

# The toolchain and qemu-user, from Debian.
# shellcheck source-path=SCRIPTDIR source=../lib/apt.sh
. "$top/tests/lib/apt.sh"
pkgs=()
if [ -n "$arch" ]; then
	pkgs+=("gcc-$triplet" "libc6-dev-$arch-cross" qemu-user)
	if [ -n "$mcc" ] &&
		! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		dpkg --add-architecture "$arch"
	fi
fi
if [ "$target" = musl ]; then
	pkgs+=(musl-tools dpkg-dev)
elif [ -n "$mcc" ]; then
	pkgs+=("musl-dev:$arch" dpkg-dev)
fi
apt_need "${pkgs[@]}"

# musl: liburing and inih built from source into the sysroot, with the
# kernel's headers beside musl's (musl-gcc sees only its own): this
# machine's, or the cross toolchain's for another one.
musl_sysroot() {
	local src=$out/src srcs=/etc/apt/sources.list.d/vswitch-deb-src.sources
	local tarball=$deps/inih-r55.tar.gz
	[ -e "$tarball" ] || fail "no $tarball (see ../shared/deps/README.md)"
	echo "3138194c50e7b10fa9470cbd97a7c308e5d7353460c67a58ccc0eae8c5c78a08  $tarball" |
		sha256sum -c --quiet || fail "$tarball is not inih r55"
	rm -rf "$sys" "$src"
	mkdir -p "$sys/usr/include" "$sys/usr/lib" "$src"
	if [ -n "$arch" ]; then
		cp -r "/usr/$triplet/include/linux" "/usr/$triplet/include/asm" \
			"/usr/$triplet/include/asm-generic" "$sys/usr/include/"
	else
		cp -r /usr/include/linux /usr/include/asm-generic \
			"$sys/usr/include/"
		cp -r "/usr/include/$triplet/asm" "$sys/usr/include/asm"
	fi
	if ! (cd "$src" && apt-get source -qq --download-only liburing) \
		>/dev/null 2>&1; then
		printf '%s\n' 'Types: deb-src' \
			'URIs: http://deb.debian.org/debian' \
			'Suites: bookworm' 'Components: main' \
			'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
			>"$srcs"
		apt-get update -qq
	fi
	(cd "$src" && apt-get source -qq liburing) >"$src/get.log" 2>&1 ||
		fail "apt-get source liburing: $(tail -n 2 "$src/get.log")"
	(cd "$src"/liburing-*/ &&
		CFLAGS="-O2 -isystem $sys/usr/include" ./configure \
			--cc="$mcc" >/dev/null &&
		make -C src -s CC="$mcc" AR="${arch:+$triplet-}ar" \
			RANLIB="${arch:+$triplet-}ranlib" \
			CFLAGS="-O2 -isystem $sys/usr/include" liburing.a &&
		cp src/liburing.a "$sys/usr/lib/" &&
		cp -r src/include/liburing.h src/include/liburing \
			"$sys/usr/include/") >"$src/liburing.log" 2>&1 ||
		fail "liburing did not build: $(tail -n 5 "$src/liburing.log")"
	tar -xzf "$tarball" -C "$src"
	(cd "$src/inih-r55" && "$mcc" -O2 -c -o ini.o ini.c &&
		"${arch:+$triplet-}ar" rcs "$sys/usr/lib/libinih.a" ini.o &&
		cp ini.h "$sys/usr/include/") ||
		fail "inih did not build"
}

# The target's liburing and inih, unpacked into the sysroot once.
if [ ! -e "$sys/.done" ] && [ -n "$mcc" ]; then
	say "sysroot: liburing and inih built with musl"
	musl_sysroot
	touch "$sys/.done"
elif [ ! -e "$sys/.done" ]; then
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
cc=$triplet-gcc
# The project's own optimisation flags (the Makefile's defaults).
nounwind="-fno-asynchronous-unwind-tables -fno-unwind-tables"
ldflags="-flto=auto $nounwind -L$lib -Wl,-rpath-link,$lib"
if [ -n "$mcc" ]; then
	cc=$mcc
	ldflags="-flto=auto $nounwind -static -L$lib"
fi
say "building with $cc, -Werror"
flags=(-O2 -g -flto=auto -fno-asynchronous-unwind-tables -fno-unwind-tables)
if ! make -C "$top" --no-print-directory WERROR=1 BUILD="$out" \
	PROG="$out/vswitch" CC="$cc" PKG_CONFIG=false \
	CFLAGS="${flags[*]}" CPPFLAGS="-isystem $sys/usr/include" \
	LDFLAGS="$ldflags" \
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
	elif [ -z "$arch" ]; then
		env "${env[@]}" "$@"
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
# Without io_uring (qemu-user), starting and -k both say why in one line;
# on a kernel, -k finds it usable.
if [ -n "$qemu" ]; then
	want="error: no io_uring in this kernel: vswitch needs one built with CONFIG_IO_URING (OpenWrt: KERNEL_IO_URING)"
	for args in "-c $top/config.ini.example" -k; do
		rc=0
		# shellcheck disable=SC2086  # two words, or one
		run "$out/vswitch" $args >/dev/null 2>"$out/run.err" || rc=$?
		if [ "$rc" -eq 1 ] && [ "$(cat "$out/run.err")" = "$want" ]; then
			say "vswitch ${args%% *} without io_uring: exit 1, one line naming the cause"
		else
			say "vswitch ${args%% *} without io_uring: FAILED (exit $rc): $(cat "$out/run.err")"
			failed=$((failed + 1))
		fi
	done
elif run "$out/vswitch" -k >/dev/null 2>"$out/run.err"; then
	say "vswitch -k: this kernel's io_uring serves it"
else
	say "vswitch -k: FAILED: $(cat "$out/run.err")"
	failed=$((failed + 1))
fi

# musl: the switch itself, static, under the config and integration
# suites (their own programs, built here as usual, drive it; the ctl
# suite runs the static vswitch ctl too).
if [ "$target" = musl ]; then
	make -C "$top" --no-print-directory build/tests/integ \
		build/tests/hostile build/tests/faults build/tests/uplinks \
		build/tests/ctl \
		>>"$log" 2>&1 || fail "the integration suites did not build"
	for suite in config integ hostile faults uplinks ctl; do
		if [ "$suite" = config ]; then
			cmd=(env "VSWITCH=$out/vswitch" bash "$top/tests/config/run.sh")
		else
			cmd=("$top/build/tests/$suite" "$out/vswitch")
		fi
		if (cd "$top" && "${cmd[@]}") >"$out/$suite.out" 2>&1; then
			say "$suite: $(tail -n 1 "$out/$suite.out")"
		else
			grep -v '^ok ' "$out/$suite.out" | tail -n 40
			say "$suite: FAILED"
			failed=$((failed + 1))
		fi
	done
fi

# Its size.
strip=$triplet-strip
size=$triplet-size
[ -n "$arch" ] || { strip="strip"; size="size"; }
[ -z "$mcc" ] || say "statically linked (musl)"
"$strip" -o "$out/vswitch.stripped" "$out/vswitch"
read -r text data bss _ < <("$size" "$out/vswitch" | tail -n 1)
printf '%-13s %10s %10s %8s %8s\n' "$target" \
	"$(stat -c %s "$out/vswitch.stripped")" "$text" "$data" "$bss" \
	>"$out/summary"
say "stripped $(stat -c %s "$out/vswitch.stripped") bytes"
[ "$failed" -eq 0 ] || fail "$failed check(s) failed"
