#!/bin/bash
# testpmd_tso.sh: DPDK's net_virtio_user with TSO and checksum Tx offloads
# sends TCP segments through vswitch to a QEMU guest without TSO, which
# gets them segmented and valid.
#
#   vmA (iperf3 client) --VLAN 1-- testpmd port 0
#   testpmd port 1 --VLAN 2-- vmB (iperf3 server; guest_tso4=off)
#
# vmA and vmB are QEMU guests running Linux; testpmd forwards between
# its two net_virtio_user ports in "csum" mode. Port 0 takes LRO (so it
# negotiates GUEST_TSO4 and vswitch hands it vmA's 64 KB TSO frames
# whole, each mbuf marked with its segment size); port 1 sends with TCP
# checksum offload and TSO (1448-byte segments, HOST_TSO4): what testpmd
# sends vmB are frames of up to 64 KB asking vswitch for segmentation,
# which vswitch cuts for vmB. (With testpmd's GRO on port 0 instead, the
# frames it merged left port 1 without TSO, 13 KB each.) The two
# VLANs keep the guests from reaching each other but through testpmd;
# --eth-peer gives the guests' addresses to the frames it forwards.
#
# Checks: the iperf3 transfer completes, vmB counts no TCP checksum
# error, testpmd sent vswitch TSO frames (rx_gso on its port 1) and
# vswitch segmented each for vmB (tx_segmented; a frame dropped for want
# of vmB's buffers before its first segment, as a slow run lets happen,
# is counted in tx_no_buffer instead), vswitch exits 0.

# Functions below run from traps, peer_wait_for and peer_check: ShellCheck
# takes them for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MACA=52:54:00:00:0a:01
MACB=52:54:00:00:0b:01
MEM=256
SECONDS_IPERF=4
GUEST=$PEER_TOP/build/guest

peer_init testpmd_tso
peer_require dpdk-testpmd stdbuf qemu-system-x86_64 iperf3

TP_LOG=$PEER_DIR/testpmd.log
TP_FIFO=$PEER_DIR/testpmd.cmd
TP_PREFIX=vswitch-testpmd-tso-$$
TP_PID=

tt_cleanup() {
	rm -rf "/var/run/dpdk/$TP_PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$TP_PREFIX"
}
peer_on_exit tt_cleanup

# vs_up PORT [N]: vswitch has logged PORT up N times (1).
vs_up() {
	[ "$(grep -Ec "info: port $1: up(:|\$)" "$PEER_DIR/vswitch.log")" -ge "${2:-1}" ]
}
tt_ports_up() { vs_up tpa "${1:-1}" && vs_up tpb "${1:-1}"; }
tt_exited() { peer_exited "$1" && peer_exited "$2"; }

# tt_line GUEST WHAT: the guest's last "VSGUEST WHAT ..." line.
tt_line() {
	tr -d '\r' <"$PEER_DIR/$1.serial" 2>/dev/null | grep -a "^VSGUEST $2 " | tail -n 1
}

tt_dump() {
	peer_dump testpmd_tso "$PEER_DIR" vma vmb
	peer_log "--- testpmd.log (tail)"
	tail -n 40 "$TP_LOG" >&2
}

if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$PEER_DIR/mkguest.log" 2>&1; then
	peer_fail "build the guest image in $GUEST"
	cat "$PEER_DIR/mkguest.log" >&2
	peer_finish
fi

PEER_SOCKDIR=$PEER_DIR
{
	printf '[switch]\nsocket_dir = %s\nlog_level = debug\n' "$PEER_DIR"
	printf '\n[port vma]\nsocket = vma.sock\nvlan = 1\n'
	printf '\n[port tpa]\nsocket = tpa.sock\nvlan = 1\n'
	printf '\n[port tpb]\nsocket = tpb.sock\nvlan = 2\n'
	printf '\n[port vmb]\nsocket = vmb.sock\nvlan = 2\n'
} >"$PEER_DIR/vswitch.ini"
peer_vswitch_start "$PEER_DIR/vswitch.ini"

mkfifo "$TP_FIFO"
exec 3<>"$TP_FIFO"
# Tx offloads on both ports: TCP checksum, TSO, chained mbufs (0x8028;
# virtio has no IPv4 header checksum offload: testpmd computes it); Rx:
# UDP and TCP checksums, LRO (0x1c).
TP_CMD=(dpdk-testpmd -l "0,1" --no-huge --no-shconf -m 256 --no-pci
	--no-telemetry --file-prefix="$TP_PREFIX"
	--vdev="net_virtio_user0,path=$PEER_DIR/tpa.sock,queues=1,mac=02:76:73:00:0a:02"
	--vdev="net_virtio_user1,path=$PEER_DIR/tpb.sock,queues=1,mac=02:76:73:00:0b:02"
	-- -i --total-num-mbufs=32768 --nb-cores=1 --tx-offloads=0x8028
	--rx-offloads=0x1c
	--forward-mode=csum "--eth-peer=0,$MACA" "--eth-peer=1,$MACB")
peer_log "${TP_CMD[*]}"
# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
peer_spawn "$TP_LOG" sh -c 'exec 3>&-; exec stdbuf -oL "$@" <"$0"' \
	"$TP_FIFO" "${TP_CMD[@]}"
TP_PID=$PEER_LAST_PID
if ! peer_wait_for 20 tt_ports_up || ! peer_wait_for 15 tp_prompted 1; then
	peer_fail "testpmd's ports come up on vswitch"
	tt_dump
	peer_finish
fi
for c in "port stop all" "csum set tcp hw 1" \
	"tso set 1448 1" "port start all" "start"; do
	peer_check "testpmd: $c" tp_cmd 15 "$c"
done
# Stopped and started again with the offloads: up a second time.
peer_check "testpmd's ports come up again" peer_wait_for 20 tt_ports_up 2

peer_guest "$PEER_DIR/vmb" "$MEM" "$PEER_DIR/vmb.sock" \
	"vs.ip=10.0.9.2/24 vs.mode=iperf-server vs.wait=90 vs.time=$SECONDS_IPERF" \
	"mac=$MACB,vectors=0,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off"
vmb=$PEER_LAST_PID
peer_guest "$PEER_DIR/vma" "$MEM" "$PEER_DIR/vma.sock" \
	"vs.ip=10.0.9.1/24 vs.mode=iperf-client vs.peer=10.0.9.2 vs.wait=90 vs.time=$SECONDS_IPERF" \
	"mac=$MACA,vectors=0"
vma=$PEER_LAST_PID
if ! peer_wait_for 180 tt_exited "$vma" "$vmb"; then
	peer_fail "the guests powered off within 180 s"
	kill -KILL "$vma" "$vmb" 2>/dev/null
fi
for p in "$vma" "$vmb"; do
	wait "$p"
	peer_forget "$p"
done
line=$(tt_line vma iperf)
echo "vma: ${line:-no iperf result}"
peer_check "iperf3 from vmA through testpmd's TSO to vmB completed" \
	grep -q 'sender_mbps=[1-9]' <<<"$line"
line=$(tt_line vmb tcp)
echo "vmb: ${line:-no TCP counters}"
peer_check "vmB took TCP segments, none with a bad checksum" \
	grep -Eq 'in_segs=[0-9]{3,} in_csum_errors=0 ' <<<"$line"

peer_check "testpmd stops forwarding" tp_cmd 15 "stop"
printf 'quit\n' >&3
if peer_wait_for 20 tp_exited; then
	wait "$TP_PID"
	rc=$?
	peer_forget "$TP_PID"
else
	rc=timeout
fi
exec 3>&-
peer_check "testpmd quits (status $rc)" test "$rc" = 0
peer_vswitch_stop testpmd_tso
gso=$(peer_vswitch_stat tpb rx_gso)
seg=$(peer_vswitch_stat vmb tx_segmented)
nobuf=$(peer_vswitch_stat vmb tx_no_buffer)
peer_check "testpmd sent TSO frames (tpb rx_gso=$gso, rx_bad_header=$(peer_vswitch_stat tpb rx_bad_header))" \
	peer_at_least 10 "$gso"
# tt_accounted GSO SEG DROPPED: every TSO frame was segmented for vmB, or
# dropped (counted) for want of its buffers before its first segment, as
# a slow run (ASan) lets happen: a few, never more than were dropped.
tt_accounted() {
	[ "$2" -ge 1 ] && [ "$2" -le "$1" ] && [ "$3" -ge 0 ] &&
		[ $(($1 - $2)) -le "$3" ]
}
peer_check "vswitch segmented them for vmB, or counted them dropped (vmb tx_segmented=$seg tx_no_buffer=$nobuf)" \
	tt_accounted "$gso" "$seg" "$nobuf"
[ "$PEER_FAILED" -eq 0 ] || tt_dump
peer_finish
