#!/bin/bash
# qemu_ping.sh [memfd|hugetlbfs|private]: two QEMU guests running Linux
# ping each other through vswitch; and one whose RAM is not shared.
#
# Each guest (Debian's kernel, busybox, built by guest/mkguest.sh into
# build/guest and reused across runs) has one virtio-net NIC on its own
# vswitch port over vhost-user. Its /init pings the other guest, prints the
# result on the serial console, waits until the other side's ping is done
# and powers off. The test then checks each guest's ping got replies,
# vswitch survived, exits 0 on SIGTERM and counted frames both ways on both
# ports. Guest RAM is a shared memfd or shared 2 MiB hugepages; "private"
# runs one guest whose RAM QEMU does not share (share=off), which vswitch
# must explain. With no argument all three run, one after the other.
#
# QP_TIMEOUT (120) bounds each pair of guests in seconds; PEER_KEEP=1
# keeps the working directory (configs, logs, serial consoles).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QP_TIMEOUT=${QP_TIMEOUT:-120}
QP_COUNT=5                      # echo requests each guest sends
QP_MEM=256                      # MiB of RAM per guest
QP_HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
QP_HP_MNT=/dev/hugepages
QP_HP_SAVED=                    # nr_hugepages before the test
QP_HP_MOUNTED=                  # 1: we mounted $QP_HP_MNT
QP_HP_MKDIR=                    # 1: we created it
GUEST=$PEER_TOP/build/guest

# qp_wait_exit SECONDS PID...: wait until every PID has exited (0) or
# SECONDS pass (1).
qp_wait_exit() {
	local deadline=$((SECONDS + $1)) pid alive
	shift
	while :; do
		alive=0
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && return 0
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

# qp_hugepages PAGES: make PAGES free 2 MiB hugepages available and
# hugetlbfs mounted on $QP_HP_MNT; qp_restore undoes both.
qp_hugepages() {
	local need=$1 free total
	[ -w "$QP_HP_SYS/nr_hugepages" ] || {
		peer_log "cannot write $QP_HP_SYS/nr_hugepages (not root, or no 2 MiB pages)"
		return 1
	}
	total=$(cat "$QP_HP_SYS/nr_hugepages")
	free=$(cat "$QP_HP_SYS/free_hugepages")
	[ -n "$QP_HP_SAVED" ] || QP_HP_SAVED=$total
	if [ "$free" -lt "$need" ]; then
		echo $((total + need - free)) >"$QP_HP_SYS/nr_hugepages" 2>/dev/null
		free=$(cat "$QP_HP_SYS/free_hugepages")
	fi
	if [ "$free" -lt "$need" ]; then
		peer_log "only $free free 2 MiB hugepages, $need needed"
		return 1
	fi
	if ! mountpoint -q "$QP_HP_MNT"; then
		if [ ! -d "$QP_HP_MNT" ]; then
			mkdir -p "$QP_HP_MNT" || return 1
			QP_HP_MKDIR=1
		fi
		mount -t hugetlbfs -o pagesize=2M hugetlbfs "$QP_HP_MNT" || return 1
		QP_HP_MOUNTED=1
	fi
	if ! awk -v m="$QP_HP_MNT" '$2 == m && $3 == "hugetlbfs" { ok = 1 }
		$2 == m && $3 == "hugetlbfs" && /pagesize=/ && !/pagesize=2M/ { ok = 0 }
		END { exit !ok }' /proc/mounts; then
		peer_log "$QP_HP_MNT is not a hugetlbfs of 2 MiB pages"
		return 1
	fi
	peer_log "hugepages: $free free of $(cat "$QP_HP_SYS/nr_hugepages") (was $QP_HP_SAVED)"
}

qp_restore() {
	if [ -n "$QP_HP_MOUNTED" ]; then
		umount "$QP_HP_MNT" 2>/dev/null
		QP_HP_MOUNTED=
	fi
	if [ -n "$QP_HP_MKDIR" ]; then
		rmdir "$QP_HP_MNT" 2>/dev/null
		QP_HP_MKDIR=
	fi
	if [ -n "$QP_HP_SAVED" ]; then
		echo "$QP_HP_SAVED" >"$QP_HP_SYS/nr_hugepages" 2>/dev/null
		QP_HP_SAVED=
	fi
}

# qp_guest_line N: the guest's last "VSGUEST ping ..." line.
qp_guest_line() {
	[ -f "$QP_RUN/vm$1.serial" ] || return 0
	tr -d '\r' <"$QP_RUN/vm$1.serial" | grep '^VSGUEST ping ' | tail -n 1
}

# qp_run MODE: one pair of guests with RAM from MODE (memfd|hugetlbfs).
qp_run() {
	QP_MODE=$1
	QP_RUN=$PEER_DIR/$QP_MODE
	local failed=$PEER_FAILED started n peer rc line rx tx
	local -a mem pids=()
	echo "== $QP_MODE"
	mkdir -p "$QP_RUN/sock"
	PEER_SOCKDIR=$QP_RUN/sock

	case $QP_MODE in
	memfd)
		mem=(-object "memory-backend-memfd,id=mem,size=${QP_MEM}M,share=on")
		;;
	hugetlbfs)
		# Two guests of QP_MEM MiB in 2 MiB pages.
		if ! qp_hugepages "$QP_MEM"; then
			peer_fail "$QP_MODE: reserve $QP_MEM 2 MiB hugepages on $QP_HP_MNT for two guests"
			return
		fi
		mem=(-object "memory-backend-file,id=mem,size=${QP_MEM}M,mem-path=$QP_HP_MNT,share=on,prealloc=on")
		;;
	esac
	mem+=(-numa "node,memdev=mem")

	peer_config "$QP_RUN/vswitch.ini" vm1 vm2
	peer_vswitch_start "$QP_RUN/vswitch.ini"

	started=$SECONDS
	for n in 1 2; do
		peer=$((3 - n))
		peer_spawn "$QP_RUN/vm$n.qemu" qemu-system-x86_64 \
			-accel tcg -smp 1 -m "${QP_MEM}M" -nographic -no-reboot \
			-monitor none -serial "file:$QP_RUN/vm$n.serial" \
			-kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio" \
			-append "console=ttyS0 panic=-1 vs.ip=10.0.0.$n/24 vs.peer=10.0.0.$peer vs.count=$QP_COUNT vs.wait=60 vs.linger=15" \
			"${mem[@]}" \
			-chardev "socket,id=c0,path=$PEER_SOCKDIR/vm$n.sock" \
			-netdev vhost-user,id=n0,chardev=c0,vhostforce=on \
			-device "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0$n,vectors=0"
		pids+=("$PEER_LAST_PID")
	done
	for n in 1 2; do
		peer_check "$QP_MODE: vswitch ctl show: vm$n up, its front-end QEMU (pid ${pids[n - 1]}), VERSION_1" \
			peer_wait_for 60 peer_ctl_up "vm$n" "${pids[n - 1]}"
	done

	if ! qp_wait_exit "$QP_TIMEOUT" "${pids[@]}"; then
		peer_fail "$QP_MODE: guests powered off within $QP_TIMEOUT s"
		kill -TERM "${pids[@]}" 2>/dev/null
		qp_wait_exit 5 "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null
	fi
	for n in 1 2; do
		wait "${pids[n - 1]}"
		rc=$?
		peer_forget "${pids[n - 1]}"
		peer_check "$QP_MODE: vm$n QEMU exited 0 after the guest powered off (status $rc)" \
			test "$rc" -eq 0
	done
	peer_log "$QP_MODE: guests ran $((SECONDS - started)) s"

	for n in 1 2; do
		peer_check "$QP_MODE: vswitch brought port vm$n up" \
			grep -q "port vm$n: up" "$PEER_DIR/vswitch.log"
		line=$(qp_guest_line "$n")
		echo "$QP_MODE vm$n: ${line:-no result line from the guest}"
		peer_check "$QP_MODE: vm$n got a reply to every ping" \
			grep -q '^VSGUEST ping ok: \([0-9]*\) transmitted, \1 received' <<<"$line"
	done

	peer_check "$QP_MODE: vswitch still alive after the guests" kill -0 "$VSWITCH_PID"
	peer_vswitch_stop "$QP_MODE"
	for n in 1 2; do
		rx=$(peer_vswitch_stat "vm$n" rx_packets)
		tx=$(peer_vswitch_stat "vm$n" tx_packets)
		peer_check "$QP_MODE: port vm$n counted frames both ways (rx_packets=${rx:-?} tx_packets=${tx:-?})" \
			peer_at_least "$QP_COUNT" "$rx" "$tx"
	done
	mv "$PEER_DIR/vswitch.log" "$QP_RUN/vswitch.log"
	[ "$PEER_FAILED" -eq "$failed" ] || peer_dump "$QP_MODE" "$QP_RUN" vm1 vm2
	[ "$QP_MODE" != hugetlbfs ] || qp_restore
}

# qp_private: one guest whose RAM is not shared (memory-backend-memfd
# with share=off, a mistake users make): QEMU still hands vswitch the
# memfd, the guest's writes go to its private copy, the port comes up and
# moves nothing. vswitch must say why, once, and carry on.
qp_private() {
	local run=$PEER_DIR/private started rc
	local needle="port vm1: the guest kicked its transmit ring, which has never held a frame: its memory is likely not shared with vswitch (QEMU: share=on on its memory backend)"
	echo "== private"
	mkdir -p "$run/sock"
	PEER_SOCKDIR=$run/sock
	peer_config "$run/vswitch.ini" vm1 vm2
	peer_vswitch_start "$run/vswitch.ini"
	started=$SECONDS
	peer_guest "$run/vm1" "$QP_MEM" "$PEER_SOCKDIR/vm1.sock" \
		"vs.ip=10.0.0.1/24 vs.peer=10.0.0.2 vs.wait=10 vs.linger=0" \
		"mac=52:54:00:00:00:01,vectors=0" off
	if ! qp_wait_exit "$QP_TIMEOUT" "$PEER_LAST_PID"; then
		peer_fail "private: the guest powered off within $QP_TIMEOUT s"
		kill -KILL "$PEER_LAST_PID" 2>/dev/null
	fi
	wait "$PEER_LAST_PID"
	rc=$?
	peer_forget "$PEER_LAST_PID"
	peer_check "private: QEMU exited 0 after the guest powered off (status $rc)" \
		test "$rc" -eq 0
	peer_log "private: the guest ran $((SECONDS - started)) s"
	peer_check "private: vswitch brought port vm1 up" \
		grep -q "port vm1: up" "$PEER_DIR/vswitch.log"
	peer_check "private: vswitch said why nothing moves, once" \
		test "$(grep -cF "$needle" "$PEER_DIR/vswitch.log")" -eq 1
	peer_check "private: vswitch still alive" kill -0 "$VSWITCH_PID"
	peer_vswitch_stop private
	peer_check "private: port vm1 took no frame (rx_packets=$(peer_vswitch_stat vm1 rx_packets))" \
		test "$(peer_vswitch_stat vm1 rx_packets)" = 0
	mv "$PEER_DIR/vswitch.log" "$run/vswitch.log"
}

peer_init qemu_ping
peer_on_exit qp_restore

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(memfd hugetlbfs private)
for m in "${modes[@]}"; do
	case $m in
	memfd | hugetlbfs | private) ;;
	*)
		peer_fail "unknown memory mode '$m' (usage: qemu_ping.sh [memfd|hugetlbfs|private])"
		peer_finish
		;;
	esac
done

peer_require qemu-system-x86_64 apt-get dpkg-deb cpio xz mountpoint
if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$PEER_DIR/mkguest.log" 2>&1; then
	peer_fail "build the guest image in $GUEST"
	cat "$PEER_DIR/mkguest.log" >&2
	peer_finish
fi
peer_log "guest: $(cat "$GUEST/kernel.version")"

for m in "${modes[@]}"; do
	if [ "$m" = private ]; then
		qp_private
	else
		qp_run "$m"
	fi
done
peer_log "total $SECONDS s"
peer_finish
