#!/bin/bash
# qemu_uplinks.sh: QEMU guests running Linux reach the kernel's side of
# vswitch's uplinks: the host through a tap in a Linux bridge, another
# network namespace through an af_packet port on a veth, each other and a
# kernel VLAN device in their VLAN only, and a guest on another "host"
# through the kernel's VXLAN.
#
# The whole test runs in a network namespace of its own (it unshares one
# and runs itself again inside it), so vswitch, its taps, the bridges,
# veths and VXLAN devices exist only there; the second namespaces it
# needs (an af_packet port's far side, two VXLAN hosts) are made with
# "ip netns add" under names of its own and deleted at exit. Nothing
# touches the root namespace's interfaces, and no packet is addressed
# outside these namespaces.
#
#   bridge   vm1 10.0.1.2 pings 10.0.1.1, the address of br-lan, a Linux
#            bridge that vswitch's tap port (bridge = br-lan) is part of.
#   veth     vm1 10.0.2.2 pings 10.0.2.1 in namespace PEER, through an
#            af_packet port on vs-wan, whose veth peer is in PEER.
#   vlans    vm1 and vm2 in VLAN 10 (access ports), vm3 in VLAN 20, and
#            vm4 on a trunk of both whose address 10.0.10.254 is on a
#            VLAN device of its Linux kernel (eth0.10): vm1 pings vm2,
#            vm2 pings vm4's eth0.10, vm4 pings vm1, and vm3, given an
#            address in the same subnet, gets no answer from vm1. (The
#            kernel VLAN device is the guest's: the kernel of the machines
#            this runs on has no 802.1Q, CONFIG_VLAN_8021Q unset, so
#            vs-lan.10 on the host side of a trunk tap cannot be made
#            there; uplinks.c checks the tags on a trunk tap itself.)
#   tcp      offloads through uplinks: vm1 runs iperf3 --bidir with the
#            host through a tap (10.0.3.1 on vs-tcp), then vm2 with
#            namespace PEER through an af_packet port on a veth: 64 KB
#            TSO frames cross both ways whole (the tap's TUNSETOFFLOAD,
#            the veth's GSO), no side counts a TCP checksum error, and
#            vswitch segments nothing.
#   vxlan    namespaces A and B (two hosts) joined by a veth underlay,
#            each with a vswitch, a tap in bridge br-vx and a VXLAN
#            device (id 42, port 4789) in it: vm1 on A pings vm2 on B,
#            both with an MTU of 1450 (host_mtu).
#
# Every wait is bounded (QU_TIMEOUT, 120 s, for each scenario's guests);
# nothing asserts time. PEER_KEEP=1 keeps the working directory.

# Everything below runs after the exec into the namespace, and from
# peer_check: ShellCheck takes it for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GUEST=$PEER_TOP/build/guest

# The guest image first, with the network the namespace will not have
# (mkguest.sh may download the kernel package).
if [ -z "${QU_IN_NETNS:-}" ]; then
	log=$(mktemp /tmp/vswitch-qemu_uplinks-mkguest.XXXXXX)
	if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "FAIL build the guest image in $GUEST"
		echo "qemu_uplinks: 0 passed, 1 failed"
		exit 1
	fi
	rm -f "$log"
	exec env QU_IN_NETNS=1 unshare -n bash "${BASH_SOURCE[0]}" "$@"
fi

QU_TIMEOUT=${QU_TIMEOUT:-120}
QU_MEM=256                      # MiB of RAM per guest
QU_COUNT=5                      # echo requests each guest sends
QU_NS=vsw-qu$$                  # prefix of the namespaces made by name
QU_NETNS=()                     # made by name, deleted at exit

qu_cleanup_ns() {
	local ns
	for ns in "${QU_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	QU_NETNS=()
}

# qu_netns NAME: a named namespace, deleted at exit, with lo up.
qu_netns() {
	ip netns add "$1" && QU_NETNS+=("$1") &&
		ip -n "$1" link set lo up
}

# qu_wait_exit SECONDS PID...: wait until every PID has exited.
qu_wait_exit() {
	local deadline=$((SECONDS + $1)) pid alive
	shift
	while :; do
		alive=0
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ "$alive" -eq 0 ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# qu_guest NAME SOCK IP PEER [DEVICE-OPTIONS]: start a guest whose /init
# pings PEER once it answers, then powers off; PID in QU_PIDS[NAME].
declare -A QU_PIDS
qu_guest() {
	local name=$1 sock=$2 ip=$3 peer=$4 opts=${5:-} mac
	mac=52:54:00:00:01:$(printf '%02x' "${#QU_PIDS[@]}")
	peer_guest "$QU_RUN/$name" "$QU_MEM" "$sock" \
		"vs.ip=$ip vs.peer=$peer vs.count=$QU_COUNT vs.wait=${QU_WAIT:-60} vs.linger=${QU_LINGER:-15}${QU_VLAN:+ vs.vlan=$QU_VLAN}" \
		"mac=$mac,vectors=0$opts"
	QU_PIDS[$name]=$PEER_LAST_PID
}

# qu_iperf_guest NAME SOCK IP PEER: a guest whose /init runs iperf3
# --bidir against PEER's server, then powers off; PID in QU_PIDS[NAME].
qu_iperf_guest() {
	local mac
	mac=52:54:00:00:01:$(printf '%02x' "${#QU_PIDS[@]}")
	peer_guest "$QU_RUN/$1" "$QU_MEM" "$2" \
		"vs.ip=$3 vs.mode=iperf-client vs.peer=$4 vs.wait=60 vs.time=4 vs.bidir=1" \
		"mac=$mac,vectors=0"
	QU_PIDS[$1]=$PEER_LAST_PID
}

# qu_line NAME WHAT: the guest's last "VSGUEST WHAT ..." line.
qu_line() {
	[ -f "$QU_RUN/$1.serial" ] || return 0
	tr -d '\r' <"$QU_RUN/$1.serial" | grep -a "^VSGUEST $2 " | tail -n 1
}

# qu_stat LOG PORT KEY: a counter from vswitch's last statistics line.
qu_stat() {
	sed -n "s/.*port $2: stats .*\b$3=\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

# qu_tcp_errors [NETNS]: TCP's InCsumErrors in this namespace (or NETNS).
qu_tcp_errors() {
	# shellcheck disable=SC2016 # awk's own $1
	${1:+ip netns exec "$1"} awk '$1 == "Tcp:" { if (!n) { n = split($0, k) }
		else { split($0, v); for (i = 2; i <= n; i++)
			if (k[i] == "InCsumErrors") print v[i]; exit } }' /proc/net/snmp
}

# qu_tcp_checks NAME UPLINK [NETNS]: after guest NAME's iperf3 through
# port UPLINK (vswitch stopped, its log in QU_RUN): the transfer
# completed, TSO frames went both ways whole, no checksum errors.
qu_tcp_checks() {
	local g=$1 up=$2 ns=${3:-} line log=$QU_RUN/vswitch.log
	line=$(qu_line "$g" iperf)
	echo "$QU_SCENARIO $g: ${line:-no iperf result}; $(qu_line "$g" tcp)"
	peer_check "$QU_SCENARIO: $g's iperf3 --bidir through $up completed" \
		grep -q 'sender_mbps=[1-9]' <<<"$line"
	peer_check "$QU_SCENARIO: $g counted no TCP checksum error ($(qu_line "$g" tcp))" \
		grep -q 'in_csum_errors=0 ' <<<"$(qu_line "$g" tcp)"
	peer_check "$QU_SCENARIO: the kernel's side counted none (InCsumErrors=$(qu_tcp_errors "$ns"))" \
		test "$(qu_tcp_errors "$ns")" = 0
	peer_check "$QU_SCENARIO: $g sent TSO frames (rx_gso=$(qu_stat "$log" "$g" rx_gso))" \
		peer_at_least 10 "$(qu_stat "$log" "$g" rx_gso)"
	peer_check "$QU_SCENARIO: the kernel sent TSO frames through $up (rx_gso=$(qu_stat "$log" "$up" rx_gso))" \
		peer_at_least 10 "$(qu_stat "$log" "$up" rx_gso)"
	peer_check "$QU_SCENARIO: vswitch segmented nothing" \
		test "$(qu_stat "$log" "$g" tx_segmented)$(qu_stat "$log" "$up" tx_segmented)" = 00
}

# qu_result NAME: the guest's "VSGUEST ping ..." line.
qu_result() {
	[ -f "$QU_RUN/$1.serial" ] || return 0
	tr -d '\r' <"$QU_RUN/$1.serial" | grep '^VSGUEST ping ' | tail -n 1
}

qu_ping_ok() {
	grep -q '^VSGUEST ping ok: \([0-9]*\) transmitted, \1 received' <<<"$(qu_result "$1")"
}

qu_ping_failed() {
	grep -q '^VSGUEST ping fail' <<<"$(qu_result "$1")"
}

# qu_run_guests: wait for every guest started since the last call, check
# each exited 0, and forget them.
qu_run_guests() {
	local name rc
	if ! qu_wait_exit "$QU_TIMEOUT" "${QU_PIDS[@]}"; then
		peer_fail "$QU_SCENARIO: guests powered off within $QU_TIMEOUT s"
		kill -TERM "${QU_PIDS[@]}" 2>/dev/null
		qu_wait_exit 5 "${QU_PIDS[@]}" || kill -KILL "${QU_PIDS[@]}" 2>/dev/null
	fi
	for name in "${!QU_PIDS[@]}"; do
		wait "${QU_PIDS[$name]}"
		rc=$?
		peer_forget "${QU_PIDS[$name]}"
		peer_check "$QU_SCENARIO: $name's QEMU exited 0 (status $rc)" \
			test "$rc" -eq 0
		[ -z "$(qu_result "$name")" ] ||
			echo "$QU_SCENARIO $name: $(qu_result "$name")"
	done
	QU_PIDS=()
}

qu_dump() {
	local f
	{
		for f in "$QU_RUN"/*.serial "$QU_RUN"/*.qemu "$QU_RUN"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $QU_SCENARIO: $(basename "$f") (last 30 lines)"
			tr -d '\r' <"$f" | tail -n 30
		done
	} >&2
}

# qu_begin NAME: a scenario's directory and sockets.
qu_begin() {
	QU_SCENARIO=$1
	QU_RUN=$PEER_DIR/$1
	PEER_SOCKDIR=$QU_RUN/sock
	mkdir -p "$PEER_SOCKDIR"
	QU_FAILED=$PEER_FAILED
	echo "== $1"
}

qu_end() {
	[ "$PEER_FAILED" -eq "$QU_FAILED" ] || qu_dump
}

# qu_vswitch CONFIG [NETNS]: vswitch on CONFIG (in NETNS), log next to
# it; its sockets are waited for. PID in VSWITCH_PID.
qu_vswitch() {
	local sock
	if [ -n "${2:-}" ]; then
		peer_spawn "${1%.ini}.log" ip netns exec "$2" "$VSWITCH" -c "$1"
	else
		peer_spawn "${1%.ini}.log" "$VSWITCH" -c "$1"
	fi
	VSWITCH_PID=$PEER_LAST_PID
	while read -r sock; do
		peer_wait_for 10 test -S "$PEER_SOCKDIR/$sock" ||
			peer_fail "$QU_SCENARIO: vswitch did not make $sock"
	done < <(sed -n 's/^socket = //p' "$1")
}

# qu_stop_vswitch LOG: SIGTERM, exit 0, and the log says no port broke.
qu_stop_vswitch() {
	local rc
	peer_stop "$VSWITCH_PID"
	rc=$?
	peer_check "$QU_SCENARIO: vswitch exits 0 on SIGTERM (status $rc)" \
		test "$rc" -eq 0
	peer_check "$QU_SCENARIO: no port of vswitch broke" \
		bash -c "! grep -q 'broken' '$1'"
}

# A vswitch configuration: [switch] with socket_dir, then $@ as is.
qu_config() {
	local file=$1
	shift
	printf '[switch]\nsocket_dir = %s\nlog_level = debug\n' "$PEER_SOCKDIR" >"$file"
	printf '%b' "$@" >>"$file"
}

# ---------------------------------------------------------------- scenarios

scenario_bridge() {
	qu_begin bridge
	if ! { ip link add br-lan type bridge &&
		ip addr add 10.0.1.1/24 dev br-lan && ip link set br-lan up; }; then
		peer_fail "bridge: make br-lan"
	fi
	qu_config "$QU_RUN/vswitch.ini" \
		"[port vm1]\nsocket = vm1.sock\n[port lan]\ntype = tap\nifname = vs-lan\nbridge = br-lan\n"
	qu_vswitch "$QU_RUN/vswitch.ini"
	peer_check "bridge: the tap is a port of br-lan" \
		peer_wait_for 10 bash -c "ip -o link show vs-lan | grep -q 'master br-lan'"
	QU_LINGER=2 qu_guest vm1 "$PEER_SOCKDIR/vm1.sock" 10.0.1.2/24 10.0.1.1
	qu_run_guests
	peer_check "bridge: vm1 got a reply to every ping of the bridge's address" qu_ping_ok vm1
	qu_stop_vswitch "$QU_RUN/vswitch.log"
	peer_check "bridge: the tap is gone after vswitch" bash -c "! ip link show vs-lan 2>/dev/null"
	ip link del br-lan
	qu_end
}

scenario_veth() {
	local peer=${QU_NS}p
	qu_begin veth
	if ! { qu_netns "$peer" &&
		ip link add vs-wan type veth peer name vs-peer &&
		ip link set vs-peer netns "$peer" &&
		ip -n "$peer" addr add 10.0.2.1/24 dev vs-peer &&
		ip -n "$peer" link set vs-peer up && ip link set vs-wan up; }; then
		peer_fail "veth: make the veth into $peer"
	fi
	qu_config "$QU_RUN/vswitch.ini" \
		"[port vm1]\nsocket = vm1.sock\n[port wan]\ntype = af_packet\nifname = vs-wan\n"
	qu_vswitch "$QU_RUN/vswitch.ini"
	QU_LINGER=2 qu_guest vm1 "$PEER_SOCKDIR/vm1.sock" 10.0.2.2/24 10.0.2.1
	qu_run_guests
	peer_check "veth: vm1 got a reply to every ping into the other namespace" qu_ping_ok vm1
	qu_stop_vswitch "$QU_RUN/vswitch.log"
	ip link del vs-wan 2>/dev/null
	qu_end
}

scenario_tcp() {
	local peer=${QU_NS}t server
	qu_begin tcp
	if ! { qu_netns "$peer" &&
		ip link add vs-tcpw type veth peer name vs-tcpp &&
		ip link set vs-tcpp netns "$peer" &&
		ip -n "$peer" addr add 10.0.4.1/24 dev vs-tcpp &&
		ip -n "$peer" link set vs-tcpp up && ip link set vs-tcpw up; }; then
		peer_fail "tcp: make the veth into $peer"
	fi
	qu_config "$QU_RUN/vswitch.ini" \
		"[port vm1]\nsocket = vm1.sock\nvlan = 3\n[port vm2]\nsocket = vm2.sock\nvlan = 4\n[port lan]\ntype = tap\nifname = vs-tcp\nvlan = 3\n[port wan]\ntype = af_packet\nifname = vs-tcpw\nvlan = 4\n"
	qu_vswitch "$QU_RUN/vswitch.ini"
	if ! { peer_wait_for 10 ip link show vs-tcp >/dev/null &&
		ip addr add 10.0.3.1/24 dev vs-tcp && ip link set vs-tcp up; }; then
		peer_fail "tcp: address the tap"
	fi
	peer_spawn "$QU_RUN/server-tap.log" iperf3 -s -1 -B 10.0.3.1
	server=$PEER_LAST_PID
	qu_iperf_guest vm1 "$PEER_SOCKDIR/vm1.sock" 10.0.3.2/24 10.0.3.1
	qu_run_guests
	peer_stop "$server" 5
	peer_spawn "$QU_RUN/server-veth.log" ip netns exec "$peer" iperf3 -s -1 -B 10.0.4.1
	server=$PEER_LAST_PID
	qu_iperf_guest vm2 "$PEER_SOCKDIR/vm2.sock" 10.0.4.2/24 10.0.4.1
	qu_run_guests
	peer_stop "$server" 5
	qu_stop_vswitch "$QU_RUN/vswitch.log"
	qu_tcp_checks vm1 lan
	qu_tcp_checks vm2 wan "$peer"
	ip link del vs-tcpw 2>/dev/null
	qu_end
}

scenario_vlans() {
	qu_begin vlans
	qu_config "$QU_RUN/vswitch.ini" \
		"[port vm1]\nsocket = vm1.sock\nvlan = 10\n" \
		"[port vm2]\nsocket = vm2.sock\nvlan = 10\n" \
		"[port vm3]\nsocket = vm3.sock\nvlan = 20\n" \
		"[port vm4]\nsocket = vm4.sock\ntrunk = 10, 20\n"
	qu_vswitch "$QU_RUN/vswitch.ini"
	qu_guest vm1 "$PEER_SOCKDIR/vm1.sock" 10.0.10.1/24 10.0.10.2
	qu_guest vm2 "$PEER_SOCKDIR/vm2.sock" 10.0.10.2/24 10.0.10.254
	QU_VLAN=10 qu_guest vm4 "$PEER_SOCKDIR/vm4.sock" 10.0.10.254/24 10.0.10.1
	# In VLAN 20 with an address of VLAN 10's subnet: it must hear
	# nothing from vm1. A short wait: its failure is the expected end.
	QU_WAIT=20 QU_LINGER=2 qu_guest vm3 "$PEER_SOCKDIR/vm3.sock" 10.0.10.3/24 10.0.10.1
	qu_run_guests
	peer_check "vlans: vm1 (VLAN 10) got replies from vm2 (VLAN 10)" qu_ping_ok vm1
	peer_check "vlans: vm2 (VLAN 10) got replies from vm4's eth0.10 (trunk)" qu_ping_ok vm2
	peer_check "vlans: vm4's eth0.10 (trunk) got replies from vm1 (VLAN 10)" qu_ping_ok vm4
	peer_check "vlans: vm3 (VLAN 20) got none from vm1 (VLAN 10)" qu_ping_failed vm3
	qu_stop_vswitch "$QU_RUN/vswitch.log"
	qu_end
}

scenario_vxlan() {
	local a=${QU_NS}a b=${QU_NS}b h addr other pids=()
	qu_begin vxlan
	if ! { qu_netns "$a" && qu_netns "$b" &&
		ip link add vx-a type veth peer name vx-b &&
		ip link set vx-a netns "$a" && ip link set vx-b netns "$b"; }; then
		peer_fail "vxlan: make the two hosts"
	fi
	for h in a b; do
		if [ "$h" = a ]; then
			addr=192.168.77.1 other=192.168.77.2
		else
			addr=192.168.77.2 other=192.168.77.1
		fi
		if ! { ip -n "${QU_NS}$h" addr add "$addr/24" dev "vx-$h" &&
			ip -n "${QU_NS}$h" link set "vx-$h" up &&
			ip -n "${QU_NS}$h" link add br-vx type bridge &&
			ip -n "${QU_NS}$h" link set br-vx up &&
			ip -n "${QU_NS}$h" link add vx42 type vxlan id 42 dstport 4789 \
				local "$addr" remote "$other" dev "vx-$h" &&
			ip -n "${QU_NS}$h" link set vx42 master br-vx &&
			ip -n "${QU_NS}$h" link set vx42 up; }; then
			peer_fail "vxlan: set up host $h"
		fi
		qu_config "$QU_RUN/vswitch-$h.ini" \
			"control = vswitch-$h.ctl\n[port vm]\nsocket = vm-$h.sock\n[port uplink]\ntype = tap\nifname = vs-vx\nbridge = br-vx\n"
		qu_vswitch "$QU_RUN/vswitch-$h.ini" "${QU_NS}$h"
		pids+=("$VSWITCH_PID")
	done
	qu_guest vm1 "$PEER_SOCKDIR/vm-a.sock" 10.0.42.1/24 10.0.42.2 ",host_mtu=1450"
	qu_guest vm2 "$PEER_SOCKDIR/vm-b.sock" 10.0.42.2/24 10.0.42.1 ",host_mtu=1450"
	qu_run_guests
	peer_check "vxlan: vm1 on host A got replies from vm2 on host B" qu_ping_ok vm1
	peer_check "vxlan: vm2 on host B got replies from vm1 on host A" qu_ping_ok vm2
	peer_check "vxlan: QEMU passed the guests' MTU on (host_mtu, NET_SET_MTU)" \
		bash -c "grep 'port vm: up:' '$QU_RUN/vswitch-a.log' | grep -qv 'no MTU set'"
	VSWITCH_PID=${pids[0]}
	qu_stop_vswitch "$QU_RUN/vswitch-a.log"
	VSWITCH_PID=${pids[1]}
	qu_stop_vswitch "$QU_RUN/vswitch-b.log"
	qu_end
}

# ---------------------------------------------------------------- main

peer_init qemu_uplinks
peer_on_exit qu_cleanup_ns
peer_require qemu-system-x86_64 ip unshare iperf3
ip link set lo up
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
peer_log "guest: $(cat "$GUEST/kernel.version")"

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(bridge veth vlans tcp vxlan)
for s in "${scenarios[@]}"; do
	case $s in
	bridge | veth | vlans | tcp | vxlan) "scenario_$s" ;;
	*) peer_fail "unknown scenario '$s' (bridge, veth, vlans, tcp, vxlan)" ;;
	esac
done
peer_log "total $SECONDS s"
peer_finish
