#!/bin/bash
# qemu_offload.sh [CASE...]: TCP between two QEMU guests running Linux
# through vswitch, with checksum and segmentation offload in each form a
# receiver may take.
#
# vm1 serves one iperf3 test (guest/init, vs.mode=iperf-server), vm2 runs
# it against vm1 for QO_SECONDS (5): vm2's data and vm1's ACKs both cross
# the switch. Cases:
#   passthrough  QEMU's defaults: both guests leave checksums and TCP
#                segmentation to the device (CSUM, HOST_TSO4/6) and take
#                them left (GUEST_CSUM, GUEST_TSO4/6); vswitch passes 64 KB
#                frames on whole.
#   segments     vm1's NIC with guest_tso4=off,guest_tso6=off,guest_ecn=off:
#                vswitch cuts vm2's frames into segments for vm1, each
#                still with its checksum left (NEEDS_CSUM).
#   software     vm1's NIC with guest_csum=off too: vswitch segments and
#                completes every checksum while copying into vm1.
#   off          offload = off on vm2's port: vswitch offers vm2 no
#                offload, so vm2 segments and checksums everything itself.
# Each checks that the transfer completed, that no guest counted a TCP
# segment whose checksum did not verify (InCsumErrors), that vswitch's
# counters show the path taken (rx_csum_partial, tx_csum_completed), and
# that vswitch exits 0 on SIGTERM. The guest image needs iperf3 (mkguest.sh
# copies the host's): without it the test fails.
#
# QO_TIMEOUT (150) bounds each pair of guests in seconds; PEER_KEEP=1 keeps
# the working directory.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QO_TIMEOUT=${QO_TIMEOUT:-150}
QO_SECONDS=${QO_SECONDS:-5}
QO_MEM=256
GUEST=$PEER_TOP/build/guest

# qo_line RUN N WHAT: guest N's last "VSGUEST WHAT ..." line.
qo_line() {
	[ -f "$1/vm$2.serial" ] || return 0
	tr -d '\r' <"$1/vm$2.serial" | grep -a "^VSGUEST $3 " | tail -n 1
}

# qo_field LINE KEY: the value of KEY=VALUE in LINE.
qo_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# shellcheck disable=SC2317 # called through peer_wait_for
qo_exited() { peer_exited "$1" && peer_exited "$2"; }

# qo_run CASE
qo_run() {
	local c=$1 run=$PEER_DIR/$1 failed=$PEER_FAILED n rc line nic mode
	local partial completed errors gso segmented
	local -a pids=()
	echo "== $c"
	mkdir -p "$run/sock"
	PEER_SOCKDIR=$run/sock
	peer_config "$run/vswitch.ini" vm1 vm2
	[ "$c" != off ] || printf 'offload = off\n' >>"$run/vswitch.ini"
	peer_vswitch_start "$run/vswitch.ini"

	for n in 1 2; do
		nic="mac=52:54:00:00:00:0$n,vectors=0"
		case $c$n in
		software1) nic+=",guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off" ;;
		segments1) nic+=",guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off" ;;
		esac
		if [ "$n" = 1 ]; then
			mode="vs.mode=iperf-server"
		else
			mode="vs.mode=iperf-client vs.peer=10.0.0.1"
		fi
		peer_guest "$run/vm$n" "$QO_MEM" "$PEER_SOCKDIR/vm$n.sock" \
			"vs.ip=10.0.0.$n/24 $mode vs.wait=60 vs.time=$QO_SECONDS" "$nic"
		pids+=("$PEER_LAST_PID")
	done
	if ! peer_wait_for "$QO_TIMEOUT" qo_exited "${pids[@]}"; then
		peer_fail "$c: guests powered off within $QO_TIMEOUT s"
		kill -KILL "${pids[@]}" 2>/dev/null
	fi
	for n in 1 2; do
		wait "${pids[n - 1]}"
		rc=$?
		peer_forget "${pids[n - 1]}"
		peer_check "$c: vm$n QEMU exited 0 (status $rc)" test "$rc" -eq 0
	done

	line=$(qo_line "$run" 2 iperf)
	echo "$c vm2: ${line:-no iperf result from the client}"
	peer_check "$c: the iperf3 transfer completed" \
		peer_at_least 1 "$(qo_field "$line" sender_mbps | cut -d. -f1)"
	line=$(qo_line "$run" 1 iperf)
	peer_check "$c: the iperf3 server finished cleanly ($line)" \
		grep -q 'done status=0$' <<<"$line"
	for n in 1 2; do
		line=$(qo_line "$run" "$n" tcp)
		echo "$c vm$n: ${line:-no TCP counters from the guest}"
		errors=$(qo_field "$line" in_csum_errors)
		peer_check "$c: vm$n saw TCP segments, none with a bad checksum (in_csum_errors=${errors:-?})" \
			test -n "$errors" -a "${errors:-1}" = 0 -a \
			"$(qo_field "$line" in_segs)" -gt 100
	done

	peer_check "$c: vswitch still alive" kill -0 "$VSWITCH_PID"
	peer_vswitch_stop "$c"
	partial=$(peer_vswitch_stat vm2 rx_csum_partial)
	gso=$(peer_vswitch_stat vm2 rx_gso)
	segmented=$(peer_vswitch_stat vm1 tx_segmented)
	completed=$(peer_vswitch_stat vm1 tx_csum_completed)
	case $c in
	passthrough)
		peer_check "$c: vm2 left checksums and segmentation to the switch (rx_csum_partial=$partial rx_gso=$gso)" \
			peer_at_least 100 "$partial" "$gso"
		peer_check "$c: and vm1 took them as they were (tx_segmented=$segmented tx_csum_completed=$completed)" \
			test "$segmented" = 0 -a "$completed" = 0
		;;
	segments | software)
		peer_check "$c: vm2 left segmentation to the switch (rx_gso=$gso)" \
			peer_at_least 100 "$gso"
		# Each one delivered: a frame dropped for want of vm1's
		# buffers (tx_no_buffer), or sent as vm1 powers off at the
		# end, is not segmented; never more than vm2 sent.
		nobuf=$(peer_vswitch_stat vm1 tx_no_buffer)
		peer_check "$c: vswitch segmented each delivered to vm1 (tx_segmented=$segmented of rx_gso=$gso, tx_no_buffer=$nobuf)" \
			test "${segmented:-0}" -le "${gso:-0}" -a \
			$((${gso:-0} - ${segmented:-0})) -le \
			$((${nobuf:-0} + ${gso:-0} / 1000 + 2))
		if [ "$c" = software ]; then
			peer_check "$c: and completed the checksums (tx_csum_completed=$completed)" \
				peer_at_least "$segmented" "$completed"
		else
			peer_check "$c: and left the checksums to vm1 (tx_csum_completed=$completed)" \
				test "$completed" = 0
		fi
		;;
	off)
		peer_check "$c: vm2 was offered no offload (rx_csum_partial=$partial rx_gso=$gso)" \
			test "$partial" = 0 -a "$gso" = 0
		completed=$(peer_vswitch_stat vm2 tx_csum_completed)
		peer_check "$c: vswitch completed vm1's checksums for vm2 (tx_csum_completed=$completed, vm1 rx_csum_partial=$(peer_vswitch_stat vm1 rx_csum_partial))" \
			test "$completed" = "$(peer_vswitch_stat vm1 rx_csum_partial)" -a "$completed" -gt 100
		peer_check "$c: port vm2 logged its features without CSUM" \
			grep -q "port vm2: up: .*features 0x[0-9a-f]*[048c]\b" "$PEER_DIR/vswitch.log"
		;;
	esac
	mv "$PEER_DIR/vswitch.log" "$run/vswitch.log"
	[ "$PEER_FAILED" -eq "$failed" ] || peer_dump "$c" "$run" vm1 vm2
}

peer_init qemu_offload
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(passthrough segments software off)
peer_require qemu-system-x86_64 apt-get dpkg-deb cpio xz iperf3
if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$PEER_DIR/mkguest.log" 2>&1; then
	peer_fail "build the guest image in $GUEST"
	cat "$PEER_DIR/mkguest.log" >&2
	peer_finish
fi
[ -f "$GUEST/iperf3.version" ] || peer_fail "the guest image has iperf3"
for c in "${cases[@]}"; do
	case $c in
	passthrough | segments | software | off) qo_run "$c" ;;
	*) peer_fail "unknown case '$c' (passthrough, segments, software, off)" ;;
	esac
done
peer_log "total $SECONDS s"
peer_finish
