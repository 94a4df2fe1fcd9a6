#!/bin/bash
# mkguest.sh OUTDIR: build the tiny Linux guest of the QEMU peer tests.
#
# OUTDIR gets:
#   vmlinux         Debian's kernel, uncompressed (ELF with a PVH entry:
#                   QEMU boots it directly with -kernel, no decompression
#                   under TCG)
#   vmlinuz         the same kernel as Debian ships it (bzImage, xz)
#   initramfs.cpio  busybox-static, the virtio-net modules and ./init
#                   (uncompressed newc: nothing to inflate at boot); and
#                   /bin/iperf3 when the host has it (make bench)
#   kernel.version  the kernel package and version it came from
#   iperf3.version  what iperf3 --version says, when the image has iperf3
#                   (absent otherwise)
#   stamp           written last; a complete build for the same kernel
#                   package, busybox, iperf3 (and its libraries) and
#                   scripts makes a second run a no-op
#
# The kernel package is the one linux-image-amd64 depends on, fetched with
# "apt-get download" and unpacked with dpkg-deb -x: nothing is installed.
# Needs apt-get, dpkg-deb, busybox-static, cpio and the decompressor of the
# kernel (xz for Debian 12; gzip, zstd, bzip2, lz4 and lzop are handled).
#
# iperf3 (the guest TCP figure of make bench) is optional: the host's
# binary (IPERF3, default the iperf3 in PATH; IPERF3= leaves it out) is
# copied to /bin/iperf3 with every shared library ldd lists and the dynamic
# loader, each at the path ldd gives (the loader looks in
# /lib/x86_64-linux-gnu by itself: no ld.so.cache needed). Those files are
# part of the key in stamp, so installing, upgrading or removing iperf3 or
# one of its libraries rebuilds the image.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUSYBOX=${BUSYBOX:-/bin/busybox}
IPERF3=${IPERF3-$(command -v iperf3 || true)}
META=linux-image-amd64
# Load order of the virtio-net stack, then 802.1Q (the guest's own VLAN
# devices, vs.vlan=).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci failover net_failover virtio_net llc stp garp mrp 8021q)

log() { printf 'mkguest: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

[ $# -eq 1 ] || die "usage: mkguest.sh OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)

# The versioned kernel package linux-image-amd64 depends on.
kernel_pkg() {
	apt-cache depends "$META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

pkg_version() {
	apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1
}

# is_elf FILE: FILE starts with the ELF magic.
is_elf() {
	[ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]
}

# extract_vmlinux BZIMAGE OUT: find a compressed stream in BZIMAGE by its
# magic number, decompress it from there (whatever follows the stream is
# ignored) and keep the first result that is an ELF image.
extract_vmlinux() {
	local img=$1 dst=$2 spec tool magic off
	local -a cmd
	for spec in 'xz|\xfd\x37\x7a\x58\x5a\x00' 'gzip|\x1f\x8b\x08' \
		'zstd|\x28\xb5\x2f\xfd' 'bzip2|\x42\x5a\x68' \
		'lz4|\x02\x21\x4c\x18' 'lzop|\x89\x4c\x5a\x4f' \
		'lzma|\x5d\x00\x00\x00'; do
		tool=${spec%%|*}
		magic=${spec#*|}
		case $tool in
		xz) cmd=(xz -dc --single-stream) ;;
		lzma) cmd=(xz -dc --format=lzma) tool=xz ;;
		lz4) cmd=(lz4 -dc) ;;
		*) cmd=("$tool" -dc) ;;
		esac
		command -v "$tool" >/dev/null || continue
		while read -r off; do
			tail -c "+$((off + 1))" "$img" | "${cmd[@]}" >"$dst" 2>/dev/null || true
			if [ -s "$dst" ] && is_elf "$dst"; then
				log "vmlinux: $spec stream at byte $off, $(stat -c %s "$dst") bytes"
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1)
	done
	rm -f "$dst"
	return 1
}

# iperf3_files: IPERF3 and what it needs at run time, one path a line:
# the binary first, then each library and the loader ldd names (nothing
# for a static binary). Fails when a library is not found.
iperf3_files() {
	local lddout
	echo "$IPERF3"
	if ! lddout=$(LC_ALL=C ldd "$IPERF3" 2>&1); then
		grep -q 'not a dynamic executable' <<<"$lddout" && return 0
		log "ldd $IPERF3: $lddout"
		return 1
	fi
	if grep -q 'not found' <<<"$lddout"; then
		log "ldd $IPERF3: $(grep 'not found' <<<"$lddout" | tr -s '\t\n' '  ')"
		return 1
	fi
	# "libx.so => /path (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)";
	# the vDSO has no file.
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$lddout"
}

IPERF3_FILES=()
if [ -n "$IPERF3" ]; then
	[ -x "$IPERF3" ] || die "IPERF3=$IPERF3 is not an executable"
	list=$(iperf3_files) || die "cannot list the libraries $IPERF3 needs"
	mapfile -t IPERF3_FILES <<<"$list"
	for f in "${IPERF3_FILES[@]}"; do
		[ -f "$f" ] || die "$IPERF3 needs $f, which is missing"
	done
fi

exec 9>"$out/.lock"
flock 9

# resolve: set pkg, ver and key (what a complete build in OUTDIR is of).
resolve() {
	pkg=$(kernel_pkg)
	ver=
	[ -n "$pkg" ] || return 1
	ver=$(pkg_version "$pkg")
	[ -n "$ver" ] || return 1
	key="$pkg $ver $(cat "$here/mkguest.sh" "$here/init" "$BUSYBOX" | sha256sum | cut -c1-16)"
	if [ ${#IPERF3_FILES[@]} -gt 0 ]; then
		key+=" iperf3 $({ printf '%s\n' "${IPERF3_FILES[@]}"; cat "${IPERF3_FILES[@]}"; } |
			sha256sum | cut -c1-16)"
	else
		key+=" no-iperf3"
	fi
}

up_to_date() {
	[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ] &&
		[ -s "$out/vmlinux" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio" ]
}

# keep_old WHY: fall back on an older complete build, if there is one.
keep_old() {
	[ -f "$out/stamp" ] || die "$1"
	log "warning: $1; keeping the build in $out ($(cat "$out/kernel.version"))"
	exit 0
}

[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ! resolve; then
	log "apt-cache does not know $META: apt-get update"
	apt-get update -qq || true
	resolve || keep_old "cannot resolve $META with apt-cache"
fi
if up_to_date; then
	log "$out is up to date ($pkg $ver)"
	exit 0
fi

for t in apt-get dpkg-deb cpio; do
	command -v "$t" >/dev/null || die "$t is not installed"
done
if LC_ALL=C ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# download: fetch the kernel package into $work.
download() {
	log "downloading $pkg $ver"
	(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver")
}
if ! download; then
	# Stale package lists name a version the archive no longer has.
	log "apt-get download failed: apt-get update and retry"
	apt-get update -qq || true
	resolve || keep_old "cannot resolve $META with apt-cache"
	if up_to_date; then
		log "$out is up to date ($pkg $ver)"
		exit 0
	fi
	download || keep_old "apt-get download $pkg=$ver failed"
fi
rm -f "$out/stamp"
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/pkg"
kver=${pkg#linux-image-}
moddir=$work/pkg/lib/modules/$kver
[ -f "$work/pkg/boot/vmlinuz-$kver" ] || die "no /boot/vmlinuz-$kver in $pkg"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinuz"
extract_vmlinux "$work/vmlinuz" "$work/vmlinux" ||
	die "no compressed ELF kernel found in vmlinuz-$kver"
# QEMU boots an ELF kernel directly only through its PVH entry point: the
# Xen note of type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY).
if command -v readelf >/dev/null &&
	! readelf -n "$work/vmlinux" 2>/dev/null | grep -qE '^ *Xen .*(\(0x00000012\)|PHYS32)'; then
	die "vmlinux has no PVH entry note: QEMU cannot boot it with -kernel"
fi

# The initramfs tree.
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/init" "$root/init"
if [ ${#IPERF3_FILES[@]} -gt 0 ]; then
	cp -L "$IPERF3" "$root/bin/iperf3"
	for f in "${IPERF3_FILES[@]:1}"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
	"$IPERF3" --version | head -n 1 >"$work/iperf3.version"
fi
: >"$root/lib/modules/load.list"
for m in "${MODULES[@]}"; do
	f=$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" \
		-o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n 1)
	if [ -z "$f" ]; then
		if grep -q "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
			log "module $m is built into the kernel: not loaded"
			continue
		fi
		die "module $m is neither in $pkg nor built in"
	fi
	case $f in
	*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
	*.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*) cp "$f" "$root/lib/modules/$m.ko" ;;
	esac
	echo "$m" >>"$root/lib/modules/load.list"
done
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"

mv -f "$work/vmlinux" "$work/vmlinuz" "$work/initramfs.cpio" "$out/"
echo "$pkg $ver" >"$out/kernel.version"
if [ -f "$work/iperf3.version" ]; then
	mv -f "$work/iperf3.version" "$out/"
else
	rm -f "$out/iperf3.version"
fi
echo "$key" >"$out/stamp"
log "built $out: $pkg $ver, modules: $(tr '\n' ' ' <"$root/lib/modules/load.list")"
[ ${#IPERF3_FILES[@]} -eq 0 ] || log "with $(cat "$out/iperf3.version"): ${IPERF3_FILES[*]}"
