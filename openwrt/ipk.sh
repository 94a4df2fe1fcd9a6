#!/bin/bash
# make ipk TARGET=aarch64|x86_64: an OpenWrt package built without an SDK,
# to try vswitch on a router: build/ipk/vswitch_VERSION-RELEASE_ARCH.ipk.
#
# The binary is the musl build of `make cross` (aarch64-musl, or musl for
# x86_64), statically linked: liburing and inih are inside it, so the
# package needs nothing from the router's feeds (the feed package, which
# an SDK builds from openwrt/Makefile, links OpenWrt's liburing and libinih
# instead). The router's kernel needs io_uring (KERNEL_IO_URING); the init
# script checks for it before it starts vswitch.
#
# The package is what OpenWrt's ipkg-build writes: a gzipped tar of
# debian-binary, control.tar.gz (control, conffiles, postinst, prerm) and
# data.tar.gz (/usr/sbin/vswitch, /etc/init.d/vswitch,
# /etc/vswitch/config.ini), files owned by root. IPK_ARCH names the
# package architecture opkg matches against the router's (default
# aarch64_generic or x86_64; for example aarch64_cortex-a53).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${1:-}
case $target in
aarch64) cross=aarch64-musl; arch=${IPK_ARCH:-aarch64_generic} ;;
x86_64) cross=musl; arch=${IPK_ARCH:-x86_64} ;;
*)
	echo "usage: make ipk TARGET=aarch64|x86_64 [IPK_ARCH=...]" >&2
	exit 2
	;;
esac
version=$(sed -n 's/^PKG_VERSION:=//p' "$top/openwrt/Makefile")
release=$(sed -n 's/^PKG_RELEASE:=//p' "$top/openwrt/Makefile")
out=$top/build/ipk
work=$out/$target
ipk=$out/vswitch_$version-${release}_$arch.ipk

# The cross build (and its tests), unless it is newer than every source.
bin=$top/build/cross/$cross/vswitch.stripped
if [ ! -e "$bin" ] || [ -n "$(find "$top/vswitch.c" "$top/mem" "$top/vring" \
	"$top/proto" -newer "$bin" -name '*.[ch]' | head -n 1)" ]; then
	"$top/tests/cross/cross.sh" "$cross" >&2
fi

rm -rf "$work"
mkdir -p "$work/data/usr/sbin" "$work/data/etc/init.d" \
	"$work/data/etc/vswitch" "$work/control"
install -m 0755 "$bin" "$work/data/usr/sbin/vswitch"
install -m 0755 "$top/openwrt/files/vswitch.init" \
	"$work/data/etc/init.d/vswitch"
install -m 0600 "$top/openwrt/files/config.ini" \
	"$work/data/etc/vswitch/config.ini"

size=$(du -sb "$work/data" | cut -f 1)
cat >"$work/control/control" <<EOF
Package: vswitch
Version: $version-$release
Source: vswitch
License: MIT
Section: net
Architecture: $arch
Installed-Size: $size
Description: Interrupt-driven vhost-user virtual switch (static, musl).
 A single-binary virtual switch for vhost-user guests (QEMU virtio-net,
 DPDK virtio_user), from one io_uring event loop that sleeps while no
 frame moves. Needs a kernel with io_uring (KERNEL_IO_URING).
EOF
echo /etc/vswitch/config.ini >"$work/control/conffiles"
cat >"$work/control/postinst" <<'EOF'
#!/bin/sh
[ -n "$IPKG_INSTROOT" ] || /etc/init.d/vswitch enable
exit 0
EOF
cat >"$work/control/prerm" <<'EOF'
#!/bin/sh
[ -n "$IPKG_INSTROOT" ] || {
	/etc/init.d/vswitch stop
	/etc/init.d/vswitch disable
}
exit 0
EOF
chmod 0755 "$work/control/postinst" "$work/control/prerm"
echo 2.0 >"$work/debian-binary"

tarball() {
	tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@0 -C "$1" -czf "$2" .
}
tarball "$work/data" "$work/data.tar.gz"
tarball "$work/control" "$work/control.tar.gz"
rm -f "$ipk"
tar --format=gnu --owner=0 --group=0 --numeric-owner --mtime=@0 \
	-C "$work" -czf "$ipk" ./debian-binary ./control.tar.gz ./data.tar.gz
echo "$ipk"
