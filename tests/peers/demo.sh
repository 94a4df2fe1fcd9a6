#!/bin/bash
# make demo: two Linux guests on vswitch, pinging each other.
#
# The guests are the project's own test image (Debian's kernel and busybox,
# built once by guest/mkguest.sh into build/guest), booted by QEMU under
# TCG (no KVM needed) with the NIC options such a host needs (vectors=0).
# They attach to run/vm1.sock and run/vm2.sock: the switch `make run`
# started, when one is listening there, or else one this script starts on
# config.ini.example and stops at the end. Each guest pings the other
# five times and powers off; the script prints what each guest saw, what
# the switch logged about its ports (when it started it), and the exact
# QEMU command line used, to copy. Under a minute; exit status 0 when both
# guests got every reply.
#
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GUEST=$PEER_TOP/build/guest
RUN=$PEER_TOP/run
MEM=256

# demo_listening SOCK: a process listens on UNIX socket SOCK.
demo_listening() {
	ss -xl | awk -v p="$1" '$5 == p { found = 1 } END { exit !found }'
}

peer_init demo
peer_require qemu-system-x86_64 apt-get dpkg-deb cpio xz ss
echo "== the guest image (build/guest; built once, about 30 s the first time)"
if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$PEER_DIR/mkguest.log" 2>&1; then
	peer_fail "build the guest image in $GUEST"
	cat "$PEER_DIR/mkguest.log" >&2
	peer_finish
fi

own=
if demo_listening "$RUN/vm1.sock" && demo_listening "$RUN/vm2.sock"; then
	echo "== using the switch listening on run/vm1.sock and run/vm2.sock"
else
	echo "== no switch on run/: starting ./vswitch -c config.ini.example"
	own=1
	[ -x "$VSWITCH" ] || { peer_fail "$VSWITCH not built"; peer_finish; }
	peer_spawn "$PEER_DIR/vswitch.log" "$VSWITCH" \
		-c "$PEER_TOP/config.ini.example"
	VSWITCH_PID=$PEER_LAST_PID
	for n in 1 2; do
		if ! peer_wait_for 10 test -S "$RUN/vm$n.sock"; then
			peer_fail "vswitch did not create run/vm$n.sock"
			cat "$PEER_DIR/vswitch.log" >&2
			peer_finish
		fi
	done
fi

echo "== booting two guests (TCG: about 10 s each to boot, one after the other on 2 cores)"
pids=()
for n in 1 2; do
	peer_guest "$PEER_DIR/vm$n" "$MEM" "$RUN/vm$n.sock" \
		"vs.ip=10.0.0.$n/24 vs.peer=10.0.0.$((3 - n)) vs.count=5 vs.wait=60 vs.linger=15" \
		"mac=52:54:00:00:00:0$n,vectors=0"
	pids+=("$PEER_LAST_PID")
done
deadline=$((SECONDS + 120))
for n in 1 2; do
	while kill -0 "${pids[n - 1]}" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		sleep 0.5
	done
	kill -KILL "${pids[n - 1]}" 2>/dev/null
	wait "${pids[n - 1]}" 2>/dev/null
	peer_forget "${pids[n - 1]}"
done

for n in 1 2; do
	line=$(tr -d '\r' <"$PEER_DIR/vm$n.serial" | grep '^VSGUEST ping' | tail -n 1)
	echo "vm$n (10.0.0.$n) pinging 10.0.0.$((3 - n)): ${line#VSGUEST }"
	peer_check "vm$n got a reply to every ping" \
		grep -q '^VSGUEST ping ok: \([0-9]*\) transmitted, \1 received' <<<"$line"
done
if [ -n "$own" ]; then
	peer_stop "$VSWITCH_PID" >/dev/null
	echo "== what vswitch said"
	grep -E 'port vm[12]: (front-end connected|up|down|stats)|fdb:' \
		"$PEER_DIR/vswitch.log" | sed 's/^/  /'
else
	echo "== (the switch is yours: its log is wherever you started it)"
fi
echo "== the QEMU command line of vm1, to copy"
echo "  qemu-system-x86_64 -accel tcg -smp 1 -m ${MEM}M -nographic \\"
echo "    -object memory-backend-memfd,id=mem,size=${MEM}M,share=on \\"
echo "    -numa node,memdev=mem \\"
echo "    -chardev socket,id=c0,path=run/vm1.sock,reconnect=1 \\"
echo "    -netdev vhost-user,id=n0,chardev=c0,vhostforce=on \\"
echo "    -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,vectors=0 \\"
echo "    -kernel build/guest/vmlinux -initrd build/guest/initramfs.cpio \\"
echo "    -append 'console=ttyS0 vs.ip=10.0.0.1/24 vs.peer=10.0.0.2'"
peer_finish
