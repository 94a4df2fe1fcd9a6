#!/bin/bash
# testpmd_kill.sh: a front-end killed with SIGKILL in the middle of
# traffic, then started again on the same socket.
#
# Three vswitch ports and two dpdk-testpmd processes (net_virtio_user,
# --no-huge, each its own --file-prefix, driven through a FIFO as in
# testpmd.sh), in "mac" forwarding mode:
#
#   A (survivor): port 0 on vm1 (MAC A0), port 1 on vm2 (MAC A1), paired:
#     what port 0 receives leaves by port 1 and vice versa;
#     port 0 sends to A1, port 1 sends to B.
#   B (victim):   one port on vm3 (MAC B), --port-topology=loop: what it
#     receives leaves by the same port, addressed to A0.
#
# "start tx_first" on both gives two loops through the switch:
#
#   1: A0 TX -> vm1 -> vm2 -> A1 RX -> A0 TX                (A alone)
#   2: A1 TX -> vm2 -> vm3 -> B RX -> B TX -> vm3 -> vm1 -> A0 RX -> A1 TX
#
# While both run, B is killed with SIGKILL. Then:
#   - vswitch is alive, logs vm3 down with B's address forgotten and the
#     front-end disconnected;
#   - B's memory is no longer mapped in vswitch (the memfd inode B used is
#     gone from /proc/VSWITCH/maps, and the count of memfd mappings is back
#     to what it was before B connected), and vswitch holds exactly as many
#     file descriptors as before B connected;
#   - loop 1 keeps going (A's port 1 RX counter keeps increasing);
#   - B's MAC is really forgotten: a new burst from A's port 1 to B's MAC
#     is flooded to vm1 (the only other port up) and keeps coming back to
#     A's port 0, whose RX counter grows by far more than one burst (had
#     the address stayed on vm3, the frames would go nowhere);
#   - a new testpmd on vm3's socket (same MAC) connects, comes up and
#     both receives and sends frames through the switch (loop 2 again).
# At the end both testpmds quit, vswitch exits 0 on SIGTERM and its
# counters show traffic on every port.
#
# No assertion is about time; every wait is bounded. PEER_KEEP=1 keeps the
# working directory (config, logs).

# Functions below run from traps, peer_wait_for and peer_check: ShellCheck
# takes them for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BURST=32                        # frames per loop from "start tx_first"
MIN_FRAMES=$((BURST * 10))      # "traffic flows": more than ten bursts
MAC_A0=02:76:73:00:01:01        # testpmd A port 0, on vm1
MAC_A1=02:76:73:00:01:02        # testpmd A port 1, on vm2
MAC_B=02:76:73:00:01:03         # testpmd B, on vm3

peer_init testpmd_kill
peer_require dpdk-testpmd stdbuf

TK_PREFIX=vswitch-tpkill-$$
declare -A TK_PID TK_LOG TK_FD
# EAL leaves a runtime directory per --file-prefix (a killed one is never
# emptied).
tk_cleanup() {
	local i
	for i in a b1 b2; do
		rm -rf "/var/run/dpdk/$TK_PREFIX-$i" \
			"${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$TK_PREFIX-$i"
	done
}
peer_on_exit tk_cleanup

vs_log() { cat "$PEER_DIR/vswitch.log"; }

# vs_count REGEX: lines of vswitch's log matching REGEX.
vs_count() { grep -Ec "$1" "$PEER_DIR/vswitch.log"; }

# vs_count_at_least N REGEX
vs_count_at_least() { [ "$(vs_count "$2")" -ge "$1" ]; }

vs_alive() { kill -0 "$VSWITCH_PID" 2>/dev/null; }

# vs_fds: file descriptors vswitch holds.
vs_fds() {
	local f=("/proc/$VSWITCH_PID/fd/"*)
	echo "${#f[@]}"
}

# vs_memfds: vswitch's memory mappings of memfds (guest memory).
vs_memfds() { grep -c ' /memfd:' "/proc/$VSWITCH_PID/maps"; }

# vs_maps_inode DEV INODE: vswitch maps that file.
vs_maps_inode() {
	awk -v d="$1" -v i="$2" '$4 == d && $5 == i { f = 1 } END { exit !f }' \
		"/proc/$VSWITCH_PID/maps"
}

vs_fds_are() { [ "$(vs_fds)" -eq "$1" ]; }
vs_memfds_are() { [ "$(vs_memfds)" -eq "$1" ]; }
vs_unmapped() { ! vs_maps_inode "$1" "$2"; }

# tk_start NAME FD SOCKET-ARGS...: start testpmd NAME, its commands on fd
# FD (3 or 4, both closed in the child so that the script's end is EOF to
# every testpmd), its output in $PEER_DIR/NAME.log.
tk_start() {
	local name=$1 fd=$2 fifo=$PEER_DIR/$1.cmd
	shift 2
	mkfifo "$fifo"
	case $fd in
	3) exec 3<>"$fifo" ;;
	4) exec 4<>"$fifo" ;;
	esac
	TK_FD[$name]=$fd
	TK_LOG[$name]=$PEER_DIR/$name.log
	local -a cmd=(dpdk-testpmd -l "0,1" --no-huge --no-shconf -m 128
		--no-pci --no-telemetry "--file-prefix=$TK_PREFIX-$name" "$@")
	peer_log "$name: ${cmd[*]}"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
	peer_spawn "${TK_LOG[$name]}" sh -c 'exec 3>&- 4>&-; exec stdbuf -oL "$@" <"$0"' \
		"$fifo" "${cmd[@]}"
	TK_PID[$name]=$PEER_LAST_PID
}

tk_prompts() { grep -o 'testpmd> ' "${TK_LOG[$1]}" 2>/dev/null | wc -l; }
tk_running() { kill -0 "${TK_PID[$1]}" 2>/dev/null; }
tk_prompted() { [ "$(tk_prompts "$1")" -ge "$2" ] || ! tk_running "$1"; }

# tk_cmd NAME SECONDS COMMAND: send a command, wait for the next prompt.
tk_cmd() {
	local want
	want=$(($(tk_prompts "$1") + 1))
	printf '%s\n' "$3" >&"${TK_FD[$1]}"
	peer_wait_for "$2" tk_prompted "$1" "$want" && tk_running "$1" &&
		[ "$(tk_prompts "$1")" -ge "$want" ]
}

# tk_stat NAME PORT KEY: KEY from the last "NIC statistics for port PORT"
# block of testpmd NAME; -1 if absent.
tk_stat() {
	awk -v port="$2" -v key="$3:" '
		index($0, "NIC statistics for port") { cur = ($6 == port); next }
		/^ *[-#+]+ *$/ { cur = 0 }
		cur { for (i = 1; i < NF; i++) if ($i == key) v = $(i + 1) }
		END { print (v == "" ? -1 : v) }' "${TK_LOG[$1]}"
}

# tk_sample NAME PORT KEY: "show port stats all", then tk_stat (-1 if the
# command got no prompt back).
tk_sample() {
	if tk_cmd "$1" 10 "show port stats all"; then
		tk_stat "$1" "$2" "$3"
	else
		echo -1
	fi
}

# tk_quit NAME: "quit", wait (bounded) and check the exit status.
tk_quit() {
	local rc=timeout
	printf 'quit\n' >&"${TK_FD[$1]}"
	if peer_wait_for 20 peer_exited "${TK_PID[$1]}"; then
		wait "${TK_PID[$1]}"
		rc=$?
		peer_forget "${TK_PID[$1]}"
	fi
	peer_check "testpmd $1 quits (status $rc)" test "$rc" = 0
}

# tk_memfd NAME: "DEV INODE" of the memfd testpmd NAME's memory lives in.
tk_memfd() {
	awk '/ \/memfd:/ { print $4, $5; exit }' "/proc/${TK_PID[$1]}/maps"
}

# tk_wait_ready NAME PORT-REGEX UPS: vswitch shows UPS "up" lines for the
# ports matching PORT-REGEX and testpmd NAME reached its prompt.
tk_wait_ready() {
	if ! peer_wait_for 30 vs_count_at_least "$3" "info: port ($2): up: "; then
		peer_fail "vswitch brings up the port(s) of testpmd $1"
		tk_dump
		peer_finish
	fi
	if ! peer_wait_for 20 tk_prompted "$1" 1 || ! tk_running "$1"; then
		peer_fail "testpmd $1 reaches its prompt"
		tk_dump
		peer_finish
	fi
	peer_pass "testpmd $1 connected, its port(s) up in vswitch"
}

# gt A B: A > B, both numbers (-1 = missing fails).
gt() { [ "$1" -ge 0 ] && [ "$2" -ge 0 ] && [ "$1" -gt "$2" ]; }

tk_dump() {
	local n
	peer_log "--- vswitch.log (tail)"
	grep -v '^debug:' "$PEER_DIR/vswitch.log" | tail -n 40 >&2
	for n in "${!TK_LOG[@]}"; do
		peer_log "--- $n.log (tail)"
		tail -n 30 "${TK_LOG[$n]}" >&2
	done
}

# ---------------------------------------------------------------- vswitch
PEER_SOCKDIR=$PEER_DIR
peer_config "$PEER_DIR/vswitch.ini" vm1 vm2 vm3
peer_vswitch_start "$PEER_DIR/vswitch.ini"
fds_0=$(vs_fds)
memfds_0=$(vs_memfds)

# ---------------------------------------------------------------- A, B
tk_start a 3 \
	--vdev="net_virtio_user0,path=$PEER_SOCKDIR/vm1.sock,queues=1,mac=$MAC_A0" \
	--vdev="net_virtio_user1,path=$PEER_SOCKDIR/vm2.sock,queues=1,mac=$MAC_A1" \
	-- -i --total-num-mbufs=16384 --nb-cores=1 "--burst=$BURST" \
	--forward-mode=mac "--eth-peer=0,$MAC_A1" "--eth-peer=1,$MAC_B"
tk_wait_ready a 'vm1|vm2' 2
fds_a=$(vs_fds)
memfds_a=$(vs_memfds)

B_ARGS=(--vdev="net_virtio_user0,path=$PEER_SOCKDIR/vm3.sock,queues=1,mac=$MAC_B"
	-- -i --total-num-mbufs=8192 --nb-cores=1 "--burst=$BURST"
	--forward-mode=mac --port-topology=loop "--eth-peer=0,$MAC_A0")
tk_start b1 4 "${B_ARGS[@]}"
tk_wait_ready b1 vm3 1
fds_b=$(vs_fds)
memfds_b=$(vs_memfds)
read -r b_dev b_ino < <(tk_memfd b1)
peer_log "vswitch fds: $fds_a with A, $fds_b with A and B; memfd mappings: $memfds_a, $memfds_b; B's memory: memfd inode ${b_ino:-?} on ${b_dev:-?}"
peer_check "vswitch holds more fds with B connected ($fds_a -> $fds_b)" \
	test "$fds_b" -gt "$fds_a"
peer_check "vswitch maps B's memory (memfd inode ${b_ino:-?})" \
	vs_maps_inode "${b_dev:-none}" "${b_ino:-none}"

# B first, so that its address is learned on vm3 before A sends to it.
peer_check "testpmd b1 starts forwarding" tk_cmd b1 10 "start tx_first"
peer_check "testpmd a starts forwarding" tk_cmd a 10 "start tx_first"
sleep 2
b_rx=$(tk_sample b1 0 RX-packets)
b_tx=$(tk_stat b1 0 TX-packets)
peer_check "traffic flows through B before the kill (RX $b_rx, TX $b_tx > $MIN_FRAMES)" \
	gt "$b_rx" "$MIN_FRAMES"
peer_check "B sends (TX $b_tx > $MIN_FRAMES)" gt "$b_tx" "$MIN_FRAMES"

# ---------------------------------------------------------------- kill B
downs=$(vs_count 'info: port vm3: down')
# (stderr away: no "Killed" line from bash)
{
	kill -KILL "${TK_PID[b1]}"
	wait "${TK_PID[b1]}"
} 2>/dev/null
rc=$?
peer_forget "${TK_PID[b1]}"
exec 4>&-
peer_check "testpmd b1 died of SIGKILL (status $rc)" test "$rc" -eq 137

peer_check "vswitch logs vm3 down with B's one address forgotten" \
	peer_wait_for 10 vs_count_at_least $((downs + 1)) \
	'info: port vm3: down \(1 learned address forgotten\)'
peer_check "vswitch logs B's disconnection" \
	peer_wait_for 10 vs_count_at_least 1 'info: port vm3: front-end disconnected'
peer_check "vswitch survives the SIGKILL of a front-end" vs_alive
peer_check "vswitch unmaps B's memory (memfd inode $b_ino)" \
	peer_wait_for 10 vs_unmapped "$b_dev" "$b_ino"
peer_check "vswitch's memfd mappings are back to $memfds_a, as before B connected" \
	peer_wait_for 10 vs_memfds_are "$memfds_a"
peer_check "vswitch's fds are back to $fds_a, as before B connected" \
	peer_wait_for 10 vs_fds_are "$fds_a"

# Loop 1 does not involve B.
a1_before=$(tk_sample a 1 RX-packets)
sleep 1
a1_after=$(tk_sample a 1 RX-packets)
peer_check "vm1 -> vm2 keeps forwarding after the kill (A port 1 RX $a1_before -> $a1_after)" \
	gt "$a1_after" $((a1_before + MIN_FRAMES))

# A new burst from A's port 1 to B's (forgotten) MAC floods to vm1.
peer_check "testpmd a stops" tk_cmd a 15 stop
a0_before=$(tk_sample a 0 RX-packets)
peer_check "testpmd a starts again (start tx_first)" tk_cmd a 10 "start tx_first"
sleep 1
a0_after=$(tk_sample a 0 RX-packets)
peer_check "frames to B's forgotten MAC flood to vm1 (A port 0 RX $a0_before -> $a0_after)" \
	gt "$a0_after" $((a0_before + MIN_FRAMES))

# ---------------------------------------------------------------- B again
tk_start b2 4 "${B_ARGS[@]}"
tk_wait_ready b2 vm3 2
peer_check "testpmd b2 starts forwarding" tk_cmd b2 10 "start tx_first"
sleep 2
b_rx=$(tk_sample b2 0 RX-packets)
b_tx=$(tk_stat b2 0 TX-packets)
peer_check "the restarted front-end receives through vm3 (RX $b_rx > $MIN_FRAMES)" \
	gt "$b_rx" "$MIN_FRAMES"
peer_check "the restarted front-end sends through vm3 (TX $b_tx > $MIN_FRAMES)" \
	gt "$b_tx" "$MIN_FRAMES"
a0_later=$(tk_sample a 0 RX-packets)
peer_check "A port 0 receives B's frames again (RX $a0_after -> $a0_later)" \
	gt "$a0_later" $((a0_after + MIN_FRAMES))

# ---------------------------------------------------------------- the end
tk_quit b2
tk_quit a
exec 3>&- 4>&-
peer_check "vswitch alive after both testpmds quit" vs_alive
peer_check "vswitch's fds back to $fds_0 after both testpmds quit" \
	peer_wait_for 10 vs_fds_are "$fds_0"
peer_check "vswitch's memfd mappings back to $memfds_0 after both testpmds quit" \
	peer_wait_for 10 vs_memfds_are "$memfds_0"
peer_vswitch_stop testpmd_kill
for v in vm1 vm2 vm3; do
	rx=$(peer_vswitch_stat "$v" rx_packets)
	tx=$(peer_vswitch_stat "$v" tx_packets)
	peer_check "vswitch counted traffic both ways on $v (rx_packets=$rx tx_packets=$tx)" \
		peer_at_least $((MIN_FRAMES + 1)) "$rx" "$tx"
done
[ "$PEER_FAILED" -eq 0 ] || tk_dump
peer_log "total $SECONDS s"
peer_finish
