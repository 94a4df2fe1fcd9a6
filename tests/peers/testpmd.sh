#!/bin/bash
# DPDK testpmd through vswitch, both directions.
#
# One dpdk-testpmd drives two net_virtio_user ports: port 0 on vswitch's
# port vm1, port 1 on vm2. testpmd forwards in "mac" mode (paired ports:
# what port 1 receives goes out of port 0 and vice versa) with
# --eth-peer set so that port 0 addresses its frames to port 1's MAC and
# port 1 to port 0's. That gives two independent loops through the switch:
#
#   A: port 0 TX -> vm1 (learn MAC0 on vm1) -> vm2 -> port 1 RX -> port 0 TX
#   B: port 1 TX -> vm2 (learn MAC1 on vm2) -> vm1 -> port 0 RX -> port 1 TX
#
# "start tx_first" puts exactly one burst ($BURST frames) into each loop;
# no frame is ever created afterwards (unicast, two ports: nothing is
# flooded twice), so each loop holds $BURST frames minus what is dropped.
# After "stop" testpmd's forwarding core has finished, so a loop's frames
# are all either still in its TX ring (vswitch drains that within
# microseconds) or delivered into the receiving port's RX ring but not yet
# read. That makes the counts exact:
#
#   testpmd port 0 TX-packets/bytes == vswitch vm1 rx_packets/bytes
#   vswitch vm2 tx_packets - testpmd port 1 RX-packets
#       == $BURST - testpmd port 0 TX-dropped - vswitch vm2 tx drops
#
# (and the same with the ports swapped). The only "tolerance" is thus the
# $BURST frames each loop has in flight, and it is accounted for exactly.
#
# testpmd runs interactively, its commands written to a FIFO, so that the
# counts are read after "stop" from a quiescent state; --stats-period
# (non-interactive) only prints running totals while frames still move.
# Its stdout is a file, so it is run under stdbuf -oL: otherwise stdio
# buffers the statistics until testpmd exits.

# Functions below run from traps, peer_wait_for and peer_check: ShellCheck
# takes them for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BURST=32                        # frames per loop from "start tx_first"
MIN_LAPS=${TESTPMD_MIN_LAPS:-1000} # each port must receive > BURST * this
RUN_SECONDS=${TESTPMD_SECONDS:-3}
MAC0=02:76:73:00:00:01          # testpmd port 0, on vm1
MAC1=02:76:73:00:00:02          # testpmd port 1, on vm2

peer_init testpmd
peer_require dpdk-testpmd stdbuf

TP_LOG=$PEER_DIR/testpmd.log
TP_FIFO=$PEER_DIR/testpmd.cmd
TP_PREFIX=vswitch-testpmd-$$
TP_PID=

# EAL always makes a runtime directory named after --file-prefix (under
# /var/run/dpdk for root) and leaves it behind, empty after a clean exit.
tp_cleanup() {
	rm -rf "/var/run/dpdk/$TP_PREFIX" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$TP_PREFIX"
}
peer_on_exit tp_cleanup

tp_no_sockets() {
	[ ! -e "$PEER_SOCKDIR/vm1.sock" ] && [ ! -e "$PEER_SOCKDIR/vm2.sock" ]
}

vs_up() { grep -Eq "info: port $1: up(:|\$)" "$PEER_DIR/vswitch.log"; }

vs_both_up() { vs_up vm1 && vs_up vm2; }

# tp_all_present VALUE...: no figure is missing (-1).
tp_all_present() {
	local x
	for x in "$@"; do
		[ "$x" != -1 ] || return 1
	done
}

tp_dump_logs() {
	peer_log "--- vswitch.log (tail)"
	tail -n 40 "$PEER_DIR/vswitch.log" >&2
	peer_log "--- testpmd.log (tail)"
	tail -n 60 "$TP_LOG" >&2
}

# ---------------------------------------------------------------- vswitch
PEER_SOCKDIR=$PEER_DIR
peer_config "$PEER_DIR/vswitch.ini" vm1 vm2
peer_vswitch_start "$PEER_DIR/vswitch.ini"

# ---------------------------------------------------------------- testpmd
# The FIFO is opened read-write here first, so neither side blocks in
# open(); testpmd's shell closes the inherited fd 3, so that closing ours
# gives testpmd EOF (= quit) should this script die.
mkfifo "$TP_FIFO"
exec 3<>"$TP_FIFO"
TP_CMD=(dpdk-testpmd -l "0,1" --no-huge --no-shconf -m 128 --no-pci
	--no-telemetry --file-prefix="$TP_PREFIX"
	--vdev="net_virtio_user0,path=$PEER_SOCKDIR/vm1.sock,queues=1,mac=$MAC0"
	--vdev="net_virtio_user1,path=$PEER_SOCKDIR/vm2.sock,queues=1,mac=$MAC1"
	-- -i --total-num-mbufs=16384 --nb-cores=1 "--burst=$BURST"
	--forward-mode=mac "--eth-peer=0,$MAC1" "--eth-peer=1,$MAC0")
peer_log "${TP_CMD[*]}"
# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
peer_spawn "$TP_LOG" sh -c 'exec 3>&-; exec stdbuf -oL "$@" <"$0"' \
	"$TP_FIFO" "${TP_CMD[@]}"
TP_PID=$PEER_LAST_PID

# testpmd connects and starts both devices during its initialisation:
# frames sent before vswitch has both rings of both ports are lost.
if ! peer_wait_for 20 vs_both_up; then
	peer_fail "vswitch reports both ports up"
	tp_dump_logs
	peer_finish
fi
peer_pass "vswitch reports both ports up"
for port in vm1 vm2; do
	peer_check "vswitch ctl show: $port up, its front-end testpmd (pid $TP_PID), VERSION_1" \
		peer_ctl_up "$port" "$TP_PID"
done
if ! peer_wait_for 15 tp_prompted 1 || ! tp_running; then
	peer_fail "testpmd reaches its prompt"
	tp_dump_logs
	peer_finish
fi

peer_check "testpmd starts forwarding (start tx_first)" \
	tp_cmd 10 "start tx_first"
sleep "$RUN_SECONDS"
peer_check "testpmd stops forwarding" tp_cmd 15 "stop"
# Let vswitch drain what is left in the TX rings into the RX rings.
sleep 1
peer_check "testpmd shows port statistics" tp_cmd 10 "show port stats all"

# testpmd's figures, TP[PORT.key]; -1 when missing.
declare -A TP
for p in 0 1; do
	for k in RX-packets TX-packets TX-bytes RX-errors TX-errors; do
		TP[$p.$k]=$(tp_stat 'NIC statistics' "$p" "$k")
	done
	# Frames testpmd could not put into port p's TX ring (tx_first
	# included): they leave the loop that port p transmits into.
	TP[$p.TX-dropped]=$(tp_stat 'Forward statistics' "$p" TX-dropped)
done
peer_check "testpmd printed its port and forward statistics" \
	tp_all_present "${TP[@]}"
peer_check "vswitch ctl fdb: $MAC0 on vm1" peer_ctl_fdb vm1 "${MAC0,,}"
peer_check "vswitch ctl fdb: $MAC1 on vm2" peer_ctl_fdb vm2 "${MAC1,,}"

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

# MAC learning: when the front-end stops its rings, vswitch forgets what
# it learned on the port: MAC0 on vm1 and MAC1 on vm2.
for port in vm1 vm2; do
	peer_check "vswitch learned one address on $port" \
		grep -Eq "port $port: down \\(1 learned address" "$PEER_DIR/vswitch.log"
done

peer_vswitch_stop testpmd
peer_check "vswitch removed its sockets" \
	tp_no_sockets

# vswitch's counters, VS[PORT.key]; -1 when missing.
declare -A VS
for v in vm1 vm2; do
	for k in rx_packets rx_bytes tx_packets rx_runt rx_oversize rx_bad_src \
		rx_disabled tx_no_buffer tx_before_buffers tx_small_buffer \
		tx_oversize; do
		VS[$v.$k]=$(peer_vswitch_stat "$v" "$k")
	done
done
peer_check "vswitch logged its counters for vm1 and vm2" \
	tp_all_present "${VS[@]}"
for v in vm1 vm2; do
	VS[$v.rx_drops]=$((VS[$v.rx_runt] + VS[$v.rx_oversize] + \
		VS[$v.rx_bad_src] + VS[$v.rx_disabled]))
	VS[$v.tx_drops]=$((VS[$v.tx_no_buffer] + VS[$v.tx_before_buffers] + \
		VS[$v.tx_small_buffer] + VS[$v.tx_oversize]))
done

# tp_row LABEL PORT0-VALUE PORT1-VALUE
tp_row() { printf '%-24s %14s %14s\n' "$@"; }
tp_row "" "port 0 / vm1" "port 1 / vm2"
tp_row "testpmd TX-packets" "${TP[0.TX-packets]}" "${TP[1.TX-packets]}"
tp_row "vswitch rx_packets" "${VS[vm1.rx_packets]}" "${VS[vm2.rx_packets]}"
tp_row "testpmd TX-bytes" "${TP[0.TX-bytes]}" "${TP[1.TX-bytes]}"
tp_row "vswitch rx_bytes" "${VS[vm1.rx_bytes]}" "${VS[vm2.rx_bytes]}"
tp_row "vswitch tx_packets" "${VS[vm1.tx_packets]}" "${VS[vm2.tx_packets]}"
tp_row "testpmd RX-packets" "${TP[0.RX-packets]}" "${TP[1.RX-packets]}"
tp_row "testpmd TX-dropped" "${TP[0.TX-dropped]}" "${TP[1.TX-dropped]}"
tp_row "testpmd RX-errors" "${TP[0.RX-errors]}" "${TP[1.RX-errors]}"
tp_row "testpmd TX-errors" "${TP[0.TX-errors]}" "${TP[1.TX-errors]}"
tp_row "vswitch rx drops" "${VS[vm1.rx_drops]}" "${VS[vm2.rx_drops]}"
tp_row "vswitch tx drops" "${VS[vm1.tx_drops]}" "${VS[vm2.tx_drops]}"

min=$((BURST * MIN_LAPS))
for p in 0 1; do
	v=vm$((p + 1))		# the switch port testpmd port p is on
	o=$((1 - p))		# the other testpmd port
	rx=${TP[$p.RX-packets]}
	peer_check "testpmd port $p received $rx frames (> $min) from port $o through vswitch" \
		test "$rx" -gt "$min"
	peer_check "testpmd port $p TX-packets == vswitch $v rx_packets (${TP[$p.TX-packets]})" \
		test "${TP[$p.TX-packets]}" -eq "${VS[$v.rx_packets]}"
	peer_check "testpmd port $p TX-bytes == vswitch $v rx_bytes (${TP[$p.TX-bytes]})" \
		test "${TP[$p.TX-bytes]}" -eq "${VS[$v.rx_bytes]}"
	# Port p receives the loop port o transmits into: $BURST frames less
	# what testpmd (port o TX-dropped) or vswitch (delivering to $v)
	# dropped. After "stop", those not yet read by testpmd sit in port p's
	# RX ring: delivered by vswitch, not counted by testpmd.
	fly=$((VS[$v.tx_packets] - rx))
	want=$((BURST - TP[$o.TX-dropped] - VS[$v.tx_drops]))
	peer_check "testpmd port $p RX-packets $rx <= vswitch $v tx_packets ${VS[$v.tx_packets]}: $fly in flight at stop, $want expected" \
		test "$fly" -eq "$want"
done
# One burst per loop can never exhaust 256-entry rings of 2 KiB buffers.
drops=0
for k in 0.TX-dropped 1.TX-dropped 0.RX-errors 1.RX-errors 0.TX-errors \
	1.TX-errors; do
	drops=$((drops + TP[$k]))
done
for k in vm1.rx_drops vm2.rx_drops vm1.tx_drops vm2.tx_drops; do
	drops=$((drops + VS[$k]))
done
peer_check "nothing dropped, no errors (total $drops)" test "$drops" -eq 0

[ "$PEER_FAILED" -eq 0 ] || tp_dump_logs
peer_finish
