#!/bin/bash
# make bench: vswitch side by side with DPDK's vhost PMD and OVS-DPDK.
#
# Figures (each printed in the table and as one "BENCH name=value unit=..."
# line; what cannot be measured is "value=NA reason=..."):
#
#  1. Throughput, frames/s forwarded between two ports (both directions
#     added up) at 64, 512 and 1518-byte frames (FCS included, as in RFC
#     2544: testpmd puts SIZE - 4 bytes on the ring), with 64 and with 512
#     frames in flight. The source is one dpdk-testpmd (one forwarding
#     lcore) with two net_virtio_user ports in "mac" forward mode,
#     --eth-peer making each port address the other, so that a learning
#     switch learns both addresses; "start tx_first K" puts K bursts of 32
#     frames on each port and no frame is created afterwards. Systems:
#       vswitch   ./vswitch, two server ports
#       pmd       DPDK's vhost PMD: a second dpdk-testpmd, io forwarding
#                 between two net_vhost ports, one forwarding lcore
#                 (the polling anchor: no switching at all)
#       ovs       Open vSwitch with DPDK (ovs-vswitchd-dpdk), one PMD
#                 thread, bridge of datapath_type=netdev, ports of type
#                 dpdkvhostuserclient (testpmd's virtio_user is the server),
#                 default NORMAL flow, i.e. MAC learning
#     The rate is testpmd's own Rx-pps between two "show port stats all"
#     BENCH_SECONDS (2) apart, after 0.5 s of warm-up.
#     Memory: the DPDK processes (the source, the pmd, OVS) run on 2 MiB
#     hugepages of a private hugetlbfs mount, so the source's ports share
#     hugepage-backed memory with the switch, as guests set up like
#     SEED.md's do (hugepages). The 64-byte, 512-in-flight figures are
#     also taken with the source on 4 KiB pages (--no-huge: memfd, like a
#     guest on memory-backend-memfd without hugetlb), marked "4K pages":
#     there every frame's buffers miss the TLB, which on this virtual
#     machine costs a nested page walk. Without hugepages (none can be
#     reserved) everything runs on 4 KiB pages and OVS is NA.
#     4 ports (vswitch and ovs): testpmd with four ports; mac forwarding
#     pairs ports 0-1 and 2-3 (what port 0 receives goes out of port 1),
#     and --eth-peer makes port 0 send to 2, 3 to 0, 1 to 3 and 2 to 1. A
#     frame thus goes 0 -> 2, out of 3 -> 0, out of 1 -> 3, out of 2 -> 1,
#     out of 0 -> 2 ...: every switch port sends to one port of the other
#     pair and receives from another, all four busy at once.
#     Own front-end (all three systems): the same sizes and in-flight
#     counts with build/bench/vsload flood as the source (the project's
#     own front-end, polling, asking for no interrupts, on 4 KiB memfd
#     pages), "own front-end" in the table: a closed loop of INFLIGHT
#     frames, half each way, each frame received replaced by a new one.
#     vsload connects to vswitch's and the pmd's server sockets and
#     listens for OVS's dpdkvhostuserclient ports.
#  2. CPU per frame: CPU seconds of the switch process (all threads, from
#     /proc/PID/task/*/schedstat) per million frames forwarded, from the
#     same samples; and at 10 % of vswitch's full 64-byte rate, paced by
#     build/bench/vsload (the project's own front-end): there also the
#     switch's CPU in % of one core and how often it woke up, next to
#     what one sleep and wake-up costs on this machine without any
#     switch (vsload wake: a process on the switch's CPU blocked on an
#     eventfd written at the same pace); their product is the part of the
#     10 % figure that wake-ups alone cost.
#  3. Idle cost: % of one core the switch uses with connected, silent
#     front-ends (testpmd stopped), BENCH_IDLE_SECONDS (10) per system in
#     all, spread over the rounds; for OVS also with
#     other_config:pmd-maxsleep=10000 (10 ms, the most OVS 3.1 allows).
#  4. Latency: round trip of one 64-byte frame A -> B -> A (vsload ping,
#     both sides spinning), p50 and p99, vswitch and pmd.
#  5. Footprint: vswitch's VmRSS minus the guest memory it maps (Rss of
#     its /memfd: mappings in /proc/PID/smaps), with 2 and with 8 ports
#     connected (vsload idle); the size of a stripped copy of ./vswitch.
#  6. Guest TCP: iperf3 between two QEMU guests running Linux under TCG
#     (the image of the peer tests, tests/peers/guest: mkguest.sh puts the
#     host's iperf3 in it), one virtio-net NIC each (vectors=0), 256 MiB
#     of shared memfd RAM, -smp 1, on two ports of vswitch or of the pmd
#     testpmd (whose net_vhost ports are vhost-user servers: QEMU connects
#     to them as to vswitch's). One guest runs iperf3 -s -1, the other
#     iperf3 -c -t BENCH_IPERF_SECONDS (10) once the first answers ping;
#     the figure is the receiver's Mbit/s (iperf3's end.sum_received). Both
#     QEMUs run on CPU 0 (the traffic source's CPU: the guests get the same
#     single core with either switch, and the switch keeps CPU 1 to
#     itself). "others" and the switch's CPU (logged) are taken over the
#     middle of the test (its first and last second left out), with the
#     QEMUs as the source. Guests are booted for each test (about 3 s
#     under TCG; a test takes about 20 s in all); the systems alternate
#     over BENCH_IPERF_ROUNDS rounds (A B A B; default 2, or 1 when
#     BENCH_ROUNDS is 1). Each switch negotiates its own virtio features:
#     both offer checksum and TCP segmentation offload (the PMD's ports
#     with tso=1), so the guests hand over 64 KB TSO frames, passed
#     whole to the other guest. vswitch runs a third time with
#     offload = off on its ports (figure iperf_tcp_off): the guests
#     then segment and checksum themselves.
#     What cannot run (no QEMU, no iperf3 in the image, a guest that
#     fails) is NA with the reason; vswitch exiting during the test is a
#     rig failure, reported after the table.
#  7. Uplinks: a guest and the kernel through an uplink port, both ways,
#     at 64 and 1518 bytes: frames/s and switch CPU per million frames.
#     Everything runs in two network namespaces the bench makes (and
#     deletes): the switch in the first, where it has a tap (vs-lan) or
#     an af_packet port on one end of a veth (vs-a) whose other end
#     (vs-b) is in the second. Systems: vswitch with a vhost-user port
#     and a tap / af_packet port, and DPDK: dpdk-testpmd io-forwarding
#     between a net_vhost port and a net_tap / net_af_packet port on the
#     same interface. The guest is build/bench/vsload uplink, run in the
#     namespace of the kernel's end (the tap; vs-b) on CPU 0: "out" is
#     the guest sending as fast as its TX ring comes back (512 frames
#     outstanding) to an address the switch learned on the uplink,
#     counted where the kernel receives them (rx_packets of vs-lan or
#     vs-b); "in" is a packet socket on that interface (qdisc bypassed)
#     sending to the guest with sendmmsg as fast as the kernel takes
#     frames, while the guest polls its RX ring, counted by the guest.
#     The kernel's work of carrying a frame over the veth is done on the
#     CPU that sends it, so it is part of both systems' CPU figures.
#     Also the idle cost with a tap uplink and one connected, silent
#     guest.
#
#  8. TSO: 64 KB TCP frames to segment from vsload tso (A to B, 16 out
#     at a time): passed whole to a B that takes TSO, segmented for a B
#     that takes only checksum offload (-g), segmented with every
#     checksum completed for a B that takes neither (-G). Gbit/s of TCP
#     payload received and switch CPU seconds per GB; vswitch, the
#     vhost PMD with tso=1 (which passes frames whole only) and OVS-DPDK
#     with userspace-tso-enable=true. A segmented row where about as
#     many frames arrived as were sent is NA: they were not segmented.
#
# BENCH_SYSTEMS (default "vswitch pmd ovs") limits the systems measured;
# BENCH_PARTS (default all: "throughput 4k own uplinks tso paced
# footprint iperf") the parts run.
#
# Every comparison is measured in the same run: BENCH_ROUNDS (3) rounds,
# each running every system in turn (A B C A B C ...); a figure is the
# median over the rounds, a ratio the median of the per-round ratios. The
# traffic source runs on CPU 0 and the switch under test on CPU 1
# (taskset); "others" next to each figure is what the rest of the machine
# used meanwhile (non-idle time of both CPUs in /proc/stat minus the
# measured processes), in % of one core (the machine has 200 %).
#
# Nothing here judges a figure: the script exits non-zero only when the rig
# breaks (vswitch or the traffic source fails to run). Everything it starts
# is killed by PID on exit; hugepages it reserved are given back, and its
# hugetlbfs mount, DPDK runtime directories and temporary directory removed.

# Functions below run from traps and peer_wait_for: ShellCheck takes them
# for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../peers/lib.sh"

TOP=$PEER_TOP
VSLOAD=${VSLOAD:-$TOP/build/bench/vsload}
SAMPLE=${BENCH_SECONDS:-2}
WARM=0.5
ROUNDS=${BENCH_ROUNDS:-3}
IDLE_TOTAL=${BENCH_IDLE_SECONDS:-10}
IPERF_SECONDS=${BENCH_IPERF_SECONDS:-10}
IPERF_ROUNDS=${BENCH_IPERF_ROUNDS:-$((ROUNDS < 2 ? ROUNDS : 2))}
IPERF_WAIT=60                   # s for a guest to boot and answer ping
GUEST=$TOP/build/guest
PING_COUNT=${BENCH_PING_COUNT:-50000}
SIZES=(64 512 1518)
INFLIGHT=(64 512)
SIZES_4P=(64 1518)
BURST=32
CPU_GEN=0                       # traffic source
CPU_SW=1                        # switch under test
OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_MAXSLEEP=10000              # us
OVS_PAGES=384                   # 2 MiB hugepages for OVS (768 MiB)
DPDK_PAGES=128                  # for testpmd's -m 256, source and pmd each
TP_MEM=(--no-huge)              # hugepages instead when they are reserved
PMD_MEM=(--no-huge)
OVS_SOCKET_MEM=512              # MiB
TAG=                            # figure name suffix: _4k for 4 KiB pages

peer_init bench
D=$PEER_DIR
RES=$D/results                  # FIGURE SYSTEM ROUND VALUE OTHERS% | FIGURE SYSTEM na REASON
FIGS=$D/figures                 # FIGURE UNIT DESCRIPTION, in order
: >"$RES"
: >"$FIGS"
PFX=vsbench-$$                  # DPDK --file-prefix stem
SYSTEMS=" ${BENCH_SYSTEMS:-vswitch pmd ovs} "
T_START=$SECONDS
RIG_BROKEN=                     # a rig failure found late: exit 1 after the report

# wanted SYSTEM: is SYSTEM to be measured (BENCH_SYSTEMS)?
wanted() { [[ $SYSTEMS == *" $1 "* ]]; }

log() { printf 'bench: %s\n' "$*" >&2; }

# The rig is broken: say why and stop (non-zero exit).
rig_fail() {
	log "RIG FAILURE: $*"
	exit 1
}

# ------------------------------------------------------------------ results

# fig NAME UNIT DESCRIPTION: declare a figure (table order = declaration).
fig() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$FIGS"; }

# rec FIGURE SYSTEM ROUND VALUE OTHERS
rec() { printf '%s %s %s %s %s\n' "$@" >>"$RES"; }

# rec_na FIGURE SYSTEM REASON...
rec_na() {
	local f=$1 s=$2
	shift 2
	printf '%s %s na %s\n' "$f" "$s" "$*" >>"$RES"
}

# --------------------------------------------------------------- measuring

# CPU time of all threads of PID..., ns.
cpu_ns() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Non-idle time of both CPUs, ns (from USER_HZ ticks).
busy_ns() {
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / {
		printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / hz }' /proc/stat
}

now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }

# mark VAR SWPID GENPID...: VAR=(time busy switch-cpu gen-cpu), all ns
# (gen-cpu: all GENPIDs added up).
mark() {
	local -n m=$1
	# shellcheck disable=SC2034 # m is the caller's array
	m=("$(now_ns)" "$(busy_ns)" "$(cpu_ns "$2")" "$(cpu_ns "${@:3}")")
}

# window A B FIELD: print seconds, switch CPU s, others in % of one core.
window() {
	local -n a=$1 b=$2
	awk -v t="$((b[0] - a[0]))" -v busy="$((b[1] - a[1]))" \
		-v sw="$((b[2] - a[2]))" -v gen="$((b[3] - a[3]))" 'BEGIN {
		o = (busy - sw - gen) / t * 100; if (o < 0) o = 0
		printf "%.6f %.6f %.1f\n", t / 1e9, sw / 1e9, o }'
}

# ---------------------------------------------------------- traffic source

TP_LOG=
TP_PID=
TP_FIFO=$D/tp.cmd
mkfifo "$TP_FIFO"

tp_mac() { printf '02:76:73:00:00:%02x' $(($1 + 1)); }

# tp_start LOG SERVER SOCK...: the traffic source on CPU $CPU_GEN, one
# net_virtio_user port per socket (server=1: testpmd listens).
tp_start() {
	local log=$1 server=$2 i n peer vdev=() peers=() socks
	shift 2
	socks=("$@")
	n=$#
	TP_LOG=$log
	for ((i = 0; i < n; i++)); do
		vdev+=("--vdev=net_virtio_user$i,path=${socks[i]},queues=1,queue_size=1024,mac=$(tp_mac "$i")${server:+,server=1}")
		if [ "$n" = 4 ]; then
			# see the 4-port layout at the top
			case $i in 0) peer=2 ;; 1) peer=3 ;; 2) peer=1 ;; 3) peer=0 ;; esac
		else
			peer=$((1 - i))
		fi
		peers+=("--eth-peer=$i,$(tp_mac "$peer")")
	done
	exec 3<>"$TP_FIFO"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
	peer_spawn "$log" taskset -c "$CPU_GEN" sh -c 'exec 3>&- 4>&-; exec stdbuf -oL "$@" <"$0"' \
		"$TP_FIFO" dpdk-testpmd "--lcores=0@$CPU_GEN,1@$CPU_GEN" "${TP_MEM[@]}" \
		--no-shconf -m 256 --no-pci --no-telemetry --file-prefix="$PFX-tg" \
		"${vdev[@]}" -- -i --total-num-mbufs=32768 --nb-cores=1 \
		"--burst=$BURST" --rxd=1024 --txd=1024 --forward-mode=mac "${peers[@]}"
	TP_PID=$PEER_LAST_PID
}

tp_wait_prompt() { peer_wait_for 30 tp_prompted 1 && tp_running; }

# tp_stop: quit testpmd (killed if it does not).
tp_stop() {
	[ -n "$TP_PID" ] || return 0
	printf 'quit\n' >&3 2>/dev/null
	if ! peer_wait_for 15 peer_exited "$TP_PID"; then
		kill -KILL "$TP_PID" 2>/dev/null
	fi
	wait "$TP_PID" 2>/dev/null
	peer_forget "$TP_PID"
	TP_PID=
	exec 3>&-
	rm -rf "/var/run/dpdk/$PFX-tg"
}

# ------------------------------------------------------------ the switches

SW_PID=
SW_LOG=
SW_ROUND=0

# Where the switch under test runs: in the uplink rows, a network
# namespace of the bench's own (SW_NS=(ip netns exec NAME)), whose uplink
# port SW_UPLINK describes ("tap" or "af_packet"; empty: none).
SW_NS=()
SW_UPLINK=

# vswitch: NPORTS server ports p0.. (and the uplink "lan"); log in $SW_LOG.
# vs_start N: vswitch with N guest ports (and the uplink SW_UPLINK names),
# each port's section followed by VS_PORT_EXTRA (printf %b).
VS_PORT_EXTRA=
vs_start() {
	local n=$1 i cfg=$D/vswitch.ini
	SW_LOG=$D/vswitch-$SW_ROUND.log
	{
		printf '[switch]\nsocket_dir = %s\nlog_level = info\n' "$D/sock"
		for ((i = 0; i < n; i++)); do printf '[port p%d]\n%b' "$i" "$VS_PORT_EXTRA"; done
		case $SW_UPLINK in
		tap) printf '[port lan]\ntype = tap\nifname = %s\n' "$UP_TAP" ;;
		af_packet) printf '[port lan]\ntype = af_packet\nifname = %s\n' "$UP_VETH" ;;
		esac
	} >"$cfg"
	mkdir -p "$D/sock"
	peer_spawn "$SW_LOG" "${SW_NS[@]}" taskset -c "$CPU_SW" "$TOP/vswitch" -c "$cfg"
	SW_PID=$PEER_LAST_PID
	for ((i = 0; i < n; i++)); do
		peer_wait_for 10 test -S "$D/sock/p$i.sock" ||
			rig_fail "vswitch did not create its sockets: $(tail -n 5 "$SW_LOG")"
	done
}

vs_up() {
	local i
	for ((i = 0; i < $1; i++)); do
		grep -Eq "info: port p$i: up(:|\$)" "$SW_LOG" || return 1
	done
}

# sw_stop: SIGTERM the switch under test and wait for it.
sw_stop() {
	[ -n "$SW_PID" ] || return 0
	kill -TERM "$SW_PID" 2>/dev/null
	peer_wait_for 15 peer_exited "$SW_PID" || kill -KILL "$SW_PID" 2>/dev/null
	wait "$SW_PID" 2>/dev/null
	peer_forget "$SW_PID"
	SW_PID=
}

PMD_FIFO=$D/pmd.cmd
mkfifo "$PMD_FIFO"

# The vhost PMD: io forwarding between NPORTS net_vhost ports (0-1, 2-3),
# or with SW_UPLINK between net_vhost0 and DPDK's own tap or af_packet
# port on the same interface. PMD_VHOST_ARGS: more devargs of each
# net_vhost port (",tso=1" for the guest TCP test).
PMD_VHOST_ARGS=
pmd_start() {
	local n=$1 i vdev=()
	SW_LOG=$D/pmd-$SW_ROUND.log
	mkdir -p "$D/sock"
	for ((i = 0; i < n; i++)); do
		rm -f "$D/sock/p$i.sock"
		vdev+=("--vdev=net_vhost$i,iface=$D/sock/p$i.sock,queues=1$PMD_VHOST_ARGS")
	done
	case $SW_UPLINK in
	tap) vdev+=("--vdev=net_tap0,iface=$UP_TAP") ;;
	af_packet) vdev+=("--vdev=net_af_packet0,iface=$UP_VETH,qpairs=1") ;;
	esac
	# Non-interactive testpmd forwards at once and quits when its stdin
	# gives EOF or on SIGTERM; stdin is a FIFO this script holds open.
	# (A background job's stdin is /dev/null: the inner shell opens it.)
	exec 4<>"$PMD_FIFO"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner shell
	peer_spawn "$SW_LOG" "${SW_NS[@]}" taskset -c "$CPU_SW" sh -c 'exec 3>&- 4>&-; exec stdbuf -oL "$@" <"$0"' \
		"$PMD_FIFO" dpdk-testpmd "--lcores=0@$CPU_SW,1@$CPU_SW" "${PMD_MEM[@]}" \
		--no-shconf -m 256 --no-pci --no-telemetry --file-prefix="$PFX-pmd" \
		"${vdev[@]}" -- --nb-cores=1 --forward-mode=io "--burst=$BURST" \
		--total-num-mbufs=16384
	SW_PID=$PEER_LAST_PID
	for ((i = 0; i < n; i++)); do
		peer_wait_for 20 test -S "$D/sock/p$i.sock" || return 1
	done
	kill -0 "$SW_PID" 2>/dev/null
}

pmd_up() {
	[ "$(grep -c 'virtio is now ready for processing' "$SW_LOG")" -ge "$1" ]
}

pmd_stop() {
	sw_stop
	exec 4>&-
	rm -rf "/var/run/dpdk/$PFX-pmd"
}

# OVS-DPDK: ovsdb-server once (private run/db/log directory), then one
# ovs-vswitchd per round, on CPU $CPU_SW with its PMD thread there too.
OVS_DIR=$D/ovs
OVS_DB_PID=
OVS_OK=
OVS_WHY=
HP_ADDED=0
HP_WHY=
HP_MNT=$D/huge
HP_MOUNTED=

ovs_vsctl() { ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=20 "$@"; }

hp_release() {
	if [ -n "$HP_MOUNTED" ]; then
		umount "$HP_MNT" 2>/dev/null
		HP_MOUNTED=
	fi
	if [ "$HP_ADDED" -gt 0 ]; then
		local cur
		cur=$(cat /proc/sys/vm/nr_hugepages)
		echo $((cur > HP_ADDED ? cur - HP_ADDED : 0)) >/proc/sys/vm/nr_hugepages
		HP_ADDED=0
	fi
	rm -rf "/var/run/dpdk/$PFX-ovs"
}

# hp_reserve PAGES: PAGES more free 2 MiB pages, and a private hugetlbfs
# (mounted once). What a failed call got is given back at once.
hp_reserve() {
	local need=$1 before got
	[ -w /proc/sys/vm/nr_hugepages ] || { HP_WHY="cannot write /proc/sys/vm/nr_hugepages"; return 1; }
	if [ -z "$HP_MOUNTED" ]; then
		mkdir -p "$HP_MNT"
		mount -t hugetlbfs -o pagesize=2M none "$HP_MNT" || { HP_WHY="cannot mount hugetlbfs"; return 1; }
		HP_MOUNTED=1
	fi
	before=$(cat /proc/sys/vm/nr_hugepages)
	echo $((before + need)) >/proc/sys/vm/nr_hugepages 2>/dev/null
	got=$(($(cat /proc/sys/vm/nr_hugepages) - before))
	if [ "$got" -lt "$need" ]; then
		echo "$before" >/proc/sys/vm/nr_hugepages 2>/dev/null
		HP_WHY="only $got of $need more 2MiB hugepages could be reserved"
		return 1
	fi
	HP_ADDED=$((HP_ADDED + got))
}

ovs_setup() {
	export OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR \
		OVS_SYSCONFDIR=$OVS_DIR
	if [ ! -x "$OVS_VSWITCHD" ] || ! command -v ovsdb-server >/dev/null ||
		! command -v ovs-vsctl >/dev/null; then
		OVS_WHY="openvswitch-switch-dpdk is not installed"
		return 1
	fi
	hp_reserve "$OVS_PAGES" || { OVS_WHY="no hugepages: $HP_WHY"; return 1; }
	mkdir -p "$OVS_DIR"
	ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema ||
		{ OVS_WHY="ovsdb-tool create failed"; return 1; }
	peer_spawn "$OVS_DIR/ovsdb-server.out" taskset -c "$CPU_SW" ovsdb-server \
		"$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" --no-chdir \
		--pidfile="$OVS_DIR/ovsdb-server.pid" \
		--unixctl="$OVS_DIR/ovsdb-server.ctl" \
		--log-file="$OVS_DIR/ovsdb-server.log"
	OVS_DB_PID=$PEER_LAST_PID
	peer_wait_for 10 test -S "$OVS_DIR/db.sock" || { OVS_WHY="ovsdb-server did not start"; return 1; }
	if ! ovs_vsctl --no-wait init ||
		! ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
			other_config:pmd-cpu-mask=$((1 << CPU_SW)) \
			other_config:dpdk-socket-mem=$OVS_SOCKET_MEM \
			other_config:dpdk-socket-limit=$OVS_SOCKET_MEM \
			"other_config:dpdk-extra=--file-prefix=$PFX-ovs --huge-dir=$HP_MNT --no-pci --no-telemetry" ||
		! ovs_vsctl --no-wait add-br br0 -- set bridge br0 datapath_type=netdev; then
		OVS_WHY="ovs-vsctl failed"
		return 1
	fi
	OVS_NPORTS=0
	OVS_OK=1
}

# ovs_ports N: the bridge has ports p0..pN-1 (vhost-user clients of
# testpmd's sockets).
ovs_ports() {
	local i
	while [ "$OVS_NPORTS" -lt "$1" ]; do
		i=$OVS_NPORTS
		ovs_vsctl --no-wait add-port br0 "p$i" -- set Interface "p$i" \
			type=dpdkvhostuserclient "options:vhost-server-path=$D/sock/p$i.sock" ||
			return 1
		OVS_NPORTS=$((i + 1))
	done
	while [ "$OVS_NPORTS" -gt "$1" ]; do
		OVS_NPORTS=$((OVS_NPORTS - 1))
		ovs_vsctl --no-wait del-port br0 "p$OVS_NPORTS" || return 1
	done
}

# (The database's dpdk_initialized still says true from the last round.)
ovs_initialized() { grep -qs 'DPDK Enabled - initialized' "$SW_LOG"; }

ovs_start() {
	mkdir -p "$D/sock"
	ovs_ports "$1" || { OVS_WHY="cannot add ports"; return 1; }
	ovs_vsctl --no-wait remove Open_vSwitch . other_config pmd-maxsleep 2>/dev/null
	SW_LOG=$OVS_DIR/vswitchd-$SW_ROUND.log
	peer_spawn "$OVS_DIR/vswitchd-$SW_ROUND.out" taskset -c "$CPU_SW" \
		"$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" --no-chdir \
		--pidfile="$OVS_DIR/ovs-vswitchd.pid" \
		--unixctl="$OVS_DIR/ovs-vswitchd.ctl" --log-file="$SW_LOG"
	SW_PID=$PEER_LAST_PID
	if ! peer_wait_for 60 ovs_initialized || ! kill -0 "$SW_PID" 2>/dev/null; then
		OVS_WHY="ovs-vswitchd did not initialise DPDK: $(grep -E 'EMER|ERR' "$SW_LOG" | tail -n 1)"
		return 1
	fi
}

ovs_up() {
	local i c
	for ((i = 0; i < $1; i++)); do
		c=$(grep -cs "of vhost device '$D/sock/p$i.sock' changed to 'enabled'" "$SW_LOG")
		[ "${c:-0}" -ge 2 ] || return 1
	done
}

ovs_stop() {
	sw_stop
	rm -rf "/var/run/dpdk/$PFX-ovs"
}

# ------------------------------------------------------------ throughput

# sys_start SYSTEM NPORTS: the switch, then the traffic source, and wait
# until the switch reports every device up. Return non-zero (with $WHY)
# when the system cannot be measured; the rig failing with vswitch stops
# everything.
sys_start() {
	local sys=$1 n=$2 i socks=()
	SW_ROUND=$((SW_ROUND + 1))
	WHY=
	for ((i = 0; i < n; i++)); do socks+=("$D/sock/p$i.sock"); done
	case $sys in
	vswitch)
		vs_start "$n"
		tp_start "$D/tp-$SW_ROUND.log" "" "${socks[@]}"
		peer_wait_for 30 vs_up "$n" ||
			rig_fail "vswitch does not report its ports up: $(tail -n 5 "$SW_LOG")"
		;;
	pmd)
		if ! pmd_start "$n"; then
			WHY="vhost PMD testpmd did not start: $(tail -n 2 "$SW_LOG" | tr '\n' ' ')"
			return 1
		fi
		tp_start "$D/tp-$SW_ROUND.log" "" "${socks[@]}"
		peer_wait_for 30 pmd_up "$n" || { WHY="vhost PMD ports not up"; return 1; }
		;;
	ovs)
		[ -n "$OVS_OK" ] || { WHY=$OVS_WHY; return 1; }
		for ((i = 0; i < n; i++)); do rm -f "${socks[i]}"; done
		tp_start "$D/tp-$SW_ROUND.log" 1 "${socks[@]}"
		if ! ovs_start "$n"; then
			WHY=$OVS_WHY
			OVS_OK=
			return 1
		fi
		peer_wait_for 60 ovs_up "$n" || { WHY="OVS vhost ports not up"; return 1; }
		;;
	esac
	tp_wait_prompt || {
		[ "$sys" = vswitch ] && rig_fail "traffic testpmd: $(tail -n 5 "$TP_LOG")"
		WHY="traffic testpmd failed: $(tail -n 2 "$TP_LOG" | tr '\n' ' ')"
		return 1
	}
}

sys_stop() {
	tp_stop
	case $1 in
	vswitch)
		sw_stop
		# What vswitch counted (drops, frames held for a full ring).
		sed -n 's/^info: port \(p[0-9]*: stats .*\)/  vswitch \1/p' "$SW_LOG" >&2
		;;
	pmd) pmd_stop ;;
	ovs) ovs_stop ;;
	esac
}

# tput_sample SYSTEM NPORTS SIZE INFLIGHT ROUND
tput_sample() {
	local sys=$1 n=$2 size=$3 q=$4 r=$5 name k pps=0 p v secs swcpu others
	local A=() B=()
	name=tput_${n}p_${size}B_q${q}$TAG
	k=$((q / (BURST * n)))
	if ! tp_cmd 10 "set txpkts $((size - 4))" || ! tp_cmd 10 "start tx_first $k"; then
		rec_na "$name" "$sys" "testpmd did not start forwarding"
		return 1
	fi
	sleep "$WARM"
	tp_cmd 10 "show port stats all"
	mark A "$SW_PID" "$TP_PID"
	sleep "$SAMPLE"
	tp_cmd 10 "show port stats all"
	mark B "$SW_PID" "$TP_PID"
	for ((p = 0; p < n; p++)); do
		v=$(tp_stat 'NIC statistics' "$p" Rx-pps)
		[ "$v" -ge 0 ] 2>/dev/null || v=NA
		[ "$v" = NA ] && break
		pps=$((pps + v))
	done
	tp_cmd 15 stop
	read -r secs swcpu others < <(window A B)
	if [ "$v" = NA ] || ! tp_running; then
		rec_na "$name" "$sys" "no statistics from testpmd"
		return 1
	fi
	rec "$name" "$sys" "$r" "$(awk -v p="$pps" 'BEGIN { printf "%.4f", p / 1e6 }')" "$others"
	if [ "$pps" -gt 0 ]; then
		rec "cpu_${n}p_${size}B_q${q}$TAG" "$sys" "$r" \
			"$(awk -v c="$swcpu" -v p="$pps" -v t="$secs" 'BEGIN { printf "%.4f", c / (p * t / 1e6) }')" "$others"
	else
		rec_na "cpu_${n}p_${size}B_q${q}$TAG" "$sys" "nothing forwarded"
	fi
	log "  $sys round $r: $name = $pps frames/s (switch CPU ${swcpu}s in ${secs}s, others ${others}%)"
}

# idle_sample FIGURE SYSTEM ROUND SECONDS: switch CPU with testpmd stopped.
idle_sample() {
	# shellcheck disable=SC2034 # filled by mark, read by window
	local A=() B=() secs swcpu others
	sleep 0.3
	mark A "$SW_PID" "$TP_PID"
	sleep "$4"
	mark B "$SW_PID" "$TP_PID"
	read -r secs swcpu others < <(window A B)
	rec "$1" "$2" "$3" "$(awk -v c="$swcpu" -v t="$secs" 'BEGIN { printf "%.4f", c / t * 100 }')" "$others"
	log "  $2 round $3: $1 = ${swcpu}s CPU in ${secs}s (others ${others}%)"
}

# na_all SYSTEM NPORTS REASON: every throughput figure of SYSTEM is NA.
na_all() {
	local size q
	for size in "${SIZES[@]}"; do
		for q in "${INFLIGHT[@]}"; do
			rec_na "tput_${2}p_${size}B_q${q}$TAG" "$1" "$3"
			rec_na "cpu_${2}p_${size}B_q${q}$TAG" "$1" "$3"
		done
	done
	[ "$2" = 2 ] && [ -z "$TAG" ] || return 0
	rec_na idle_cpu "$1" "$3"
	[ "$1" = ovs ] && rec_na idle_cpu_maxsleep "$1" "$3"
}

# run_throughput NPORTS SYSTEM...: the throughput figures (with TAG set,
# only 64 bytes with 512 in flight, named ..._q512$TAG).
run_throughput() {
	local n=$1 systems=() r sys size q sizes inflight idle_each
	for sys in "${@:2}"; do
		wanted "$sys" && systems+=("$sys")
	done
	inflight=("${INFLIGHT[@]}")
	if [ -n "$TAG" ]; then
		sizes=(64)
		inflight=(512)
	elif [ "$n" = 2 ]; then
		sizes=("${SIZES[@]}")
	else
		sizes=("${SIZES_4P[@]}")
	fi
	idle_each=$(awk -v t="$IDLE_TOTAL" -v r="$ROUNDS" 'BEGIN { printf "%.2f", t / r }')
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in "${systems[@]}"; do
			log "throughput, $n ports, round $r/$ROUNDS: $sys"
			if ! sys_start "$sys" "$n"; then
				log "  $sys cannot be measured: $WHY"
				na_all "$sys" "$n" "$WHY"
				sys_stop "$sys"
				continue
			fi
			# Warm-up, the same for every system: addresses
			# learned, flows cached, ports settled.
			tp_cmd 10 "set txpkts 60" && tp_cmd 10 "start tx_first 1" &&
				sleep 1 && tp_cmd 15 stop
			for size in "${sizes[@]}"; do
				for q in "${inflight[@]}"; do
					[ "$n" = 4 ] && [ "$q" != 512 ] && continue
					tput_sample "$sys" "$n" "$size" "$q" "$r"
				done
			done
			if [ "$n" = 2 ] && [ -z "$TAG" ]; then
				idle_sample idle_cpu "$sys" "$r" "$idle_each"
				if [ "$sys" = ovs ]; then
					ovs_vsctl set Open_vSwitch . "other_config:pmd-maxsleep=$OVS_MAXSLEEP"
					idle_sample idle_cpu_maxsleep ovs "$r" "$idle_each"
					ovs_vsctl --no-wait remove Open_vSwitch . other_config pmd-maxsleep
				fi
			fi
			[ "$sys" = vswitch ] && [ "$n" = 2 ] && [ "$r" = 1 ] &&
				log "  vswitch: $(grep -m1 'port p0: up' "$SW_LOG")"
			sys_stop "$sys"
		done
	done
}

# The 64-byte figures again with the source on 4 KiB pages (the switches'
# own DPDK memory stays on hugepages).
run_4k() {
	local f sys
	if [ "${TP_MEM[0]}" = --no-huge ]; then
		for f in tput_2p_64B_q512_4k cpu_2p_64B_q512_4k tput_4p_64B_q512_4k cpu_4p_64B_q512_4k; do
			for sys in vswitch pmd ovs; do
				wanted "$sys" && rec_na "$f" "$sys" "no hugepages ($HP_WHY): the rows above are on 4 KiB pages"
			done
		done
		return 0
	fi
	TP_MEM=(--no-huge)
	TAG=_4k
	run_throughput 2 vswitch pmd ovs
	run_throughput 4 vswitch ovs
	TP_MEM=(--huge-dir="$HP_MNT" --single-file-segments)
	TAG=
}

# ------------------------------------------- throughput, own front-end

# vsload_line FILE SIZE INFLIGHT: the "VSLOAD mode=flood" line of FILE for
# SIZE bytes and INFLIGHT frames in flight.
vsload_line() { grep -s "^VSLOAD mode=flood size=$2 inflight=$3 " "$1"; }

# rec_vsload NAME SYSTEM ROUND LINE WHAT: tput_NAME and cpu_NAME from a
# VSLOAD line. Without a line, both are NA for $WHY_NA, or when that is
# empty the run of WHAT failed: for vswitch the rig is broken, for the
# others WHY_NA says so from then on.
rec_vsload() {
	local name=$1 sys=$2 r=$3 line=$4 what=$5 o
	if [ -z "$line" ]; then
		if [ -z "$WHY_NA" ]; then
			[ "$sys" = vswitch ] && rig_fail "$what failed: $(tail -n 3 "$D/vsload.err")"
			WHY_NA="$what failed: $(tail -n 1 "$D/vsload.err")"
		fi
		rec_na "tput_$name" "$sys" "$WHY_NA"
		rec_na "cpu_$name" "$sys" "$WHY_NA"
		return 0
	fi
	o=$(others_of "$line")
	rec "tput_$name" "$sys" "$r" "$(awk -v f="$(kv "$line" received_fps)" 'BEGIN { printf "%.4f", f / 1e6 }')" "$o"
	if [ "$(kv "$line" switch_cpu_s)" = NA ]; then
		rec_na "cpu_$name" "$sys" "switch CPU not measured"
	elif [ "$(kv "$line" received)" -gt 0 ]; then
		rec "cpu_$name" "$sys" "$r" "$(awk -v c="$(kv "$line" switch_cpu_s)" -v n="$(kv "$line" received)" 'BEGIN { printf "%.4f", c / (n / 1e6) }')" "$o"
	else
		rec_na "cpu_$name" "$sys" "nothing forwarded"
	fi
	log "  $line"
}

# own_sample SYSTEM ROUND FILE [WHY]: the figures of one vsload flood run,
# or NA for WHY when the run could not be made.
own_sample() {
	local sys=$1 r=$2 out=$3 size q line
	WHY_NA=$4
	for size in "${SIZES[@]}"; do
		for q in "${INFLIGHT[@]}"; do
			line=
			[ -n "$WHY_NA" ] || line=$(vsload_line "$out" "$size" "$q")
			rec_vsload "own_${size}B_q$q" "$sys" "$r" "$line" "vsload flood"
		done
	done
}

# run_own: throughput with the project's own front-end as the source
# (vsload flood), every size and in-flight count in one vsload run per
# system and round. OVS's ports are vhost-user clients: vsload listens
# for them there.
run_own() {
	local r sys out vpid wait_s socks=("$D/sock/p0.sock" "$D/sock/p1.sock")
	local args=(flood "${socks[@]}" -s "$(IFS=,; echo "${SIZES[*]}")" -q "$(IFS=,; echo "${INFLIGHT[*]}")" -t "$SAMPLE" -w "$WARM")
	# vsload's run with OVS: its samples, with 2 s each to spare, after
	# up to 60 s for OVS to connect.
	wait_s=$(awk -v n="$((${#SIZES[@]} * ${#INFLIGHT[@]}))" -v s="$SAMPLE" -v w="$WARM" 'BEGIN { printf "%d", 60 + n * (s + w + 2) + 1 }')
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in vswitch pmd ovs; do
			wanted "$sys" || continue
			log "throughput from the own front-end, round $r/$ROUNDS: $sys"
			SW_ROUND=$((SW_ROUND + 1))
			out=$D/vsload-flood-$SW_ROUND.out
			WHY=
			case $sys in
			vswitch) vs_start 2 ;;
			pmd) pmd_start 2 || WHY="vhost PMD testpmd did not start" ;;
			ovs) [ -n "$OVS_OK" ] || WHY=$OVS_WHY ;;
			esac
			if [ -z "$WHY" ] && [ "$sys" != ovs ]; then
				taskset -c "$CPU_GEN" "$VSLOAD" "${args[@]}" -p "$SW_PID" >"$out" 2>>"$D/vsload.err"
			elif [ -z "$WHY" ]; then
				mkdir -p "$D/sock"
				rm -f "${socks[@]}"
				peer_spawn "$out" taskset -c "$CPU_GEN" "$VSLOAD" "${args[@]}" \
					-l -P "$OVS_DIR/ovs-vswitchd.pid"
				vpid=$PEER_LAST_PID
				peer_wait_for 10 test -S "${socks[1]}" || WHY="vsload did not listen"
				if [ -z "$WHY" ] && ! ovs_start 2; then
					WHY=$OVS_WHY
					OVS_OK=
				fi
				peer_wait_for "$wait_s" peer_exited "$vpid" || WHY="vsload flood did not finish"
				kill -KILL "$vpid" 2>/dev/null
				wait "$vpid" 2>/dev/null
				peer_forget "$vpid"
				grep -v '^VSLOAD ' "$out" >>"$D/vsload.err"
			fi
			[ -z "$WHY" ] || log "  $sys cannot be measured: $WHY"
			own_sample "$sys" "$r" "$out" "$WHY"
			sys_stop "$sys"
		done
	done
}

# ----------------------------------------------------------------- uplinks

UP_NS_A=vsbench-$$-a            # the switch, its tap, one end of the veth
UP_NS_B=vsbench-$$-b            # the veth's other end: "the LAN"
UP_TAP=vs-lan
UP_VETH=vs-a
UP_PEER=vs-b
UP_NS_MADE=()
UP_SIZES=(64 1518)

up_ns_del() {
	local ns
	for ns in "${UP_NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
	UP_NS_MADE=()
}

# up_ns NAME: a namespace of the bench's, lo up, without IPv6 (whose
# router solicitations and DAD would be traffic of their own).
up_ns() {
	ip netns add "$1" || return 1
	UP_NS_MADE+=("$1")
	ip -n "$1" link set lo up &&
		ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
}

up_setup() {
	up_ns "$UP_NS_A" && up_ns "$UP_NS_B" &&
		ip -n "$UP_NS_A" link add "$UP_VETH" type veth peer name "$UP_PEER" netns "$UP_NS_B" &&
		ip -n "$UP_NS_A" link set "$UP_VETH" up &&
		ip -n "$UP_NS_B" link set "$UP_PEER" up
}

vs_lan_up() { grep -Eq 'info: port lan: up(:|$)' "$SW_LOG"; }

# up_line FILE DIR SIZE: vsload's line for that direction and size.
up_line() { grep -s "^VSLOAD mode=uplink dir=$2 size=$3 " "$1"; }

# up_sample SYSTEM KIND ROUND FILE [WHY]: the figures of one vsload
# uplink run (KIND tap or afp), or NA for WHY.
up_sample() {
	local sys=$1 kind=$2 r=$3 out=$4 size line
	WHY_NA=$5
	for size in "${UP_SIZES[@]}"; do
		line=
		[ -n "$WHY_NA" ] || line=$(up_line "$out" to_kernel "$size")
		rec_vsload "up_${kind}_out_${size}B" "$sys" "$r" "$line" "vsload uplink"
		line=
		[ -n "$WHY_NA" ] || line=$(up_line "$out" from_kernel "$size")
		rec_vsload "up_${kind}_in_${size}B" "$sys" "$r" "$line" "vsload uplink"
	done
}

# run_uplinks: a guest (vsload) and the kernel through an uplink port,
# each system in turn per round: a tap (the kernel's end is the tap in
# the switch's namespace), then af_packet on a veth (its other end, in a
# second namespace). vsload runs where the kernel's end is.
run_uplinks() {
	local r sys kind ns ifn out vpid idle_each
	idle_each=$(awk -v t="$IDLE_TOTAL" -v r="$ROUNDS" 'BEGIN { printf "%.2f", t / r }')
	if ! up_setup; then
		for kind in tap afp; do
			for sys in vswitch pmd; do
				wanted "$sys" && up_sample "$sys" "$kind" 1 /dev/null "cannot make the namespaces"
			done
		done
		rig_fail "cannot make the bench's network namespaces"
	fi
	SW_NS=(ip netns exec "$UP_NS_A")
	for ((r = 1; r <= ROUNDS; r++)); do
		for kind in tap afp; do
			if [ "$kind" = tap ]; then
				SW_UPLINK=tap ns=$UP_NS_A ifn=$UP_TAP
			else
				SW_UPLINK=af_packet ns=$UP_NS_B ifn=$UP_PEER
			fi
			for sys in vswitch pmd; do
				wanted "$sys" || continue
				log "uplink $SW_UPLINK, round $r/$ROUNDS: $sys"
				SW_ROUND=$((SW_ROUND + 1))
				out=$D/vsload-uplink-$SW_ROUND.out
				WHY=
				if [ "$sys" = vswitch ]; then
					vs_start 1
					peer_wait_for 10 vs_lan_up ||
						rig_fail "vswitch's uplink does not come up: $(tail -n 3 "$SW_LOG")"
				elif ! pmd_start 1; then
					WHY="vhost PMD testpmd did not start: $(tail -n 2 "$SW_LOG" | tr '\n' ' ')"
				else
					# DPDK's tap is made down.
					[ "$kind" = tap ] && { peer_wait_for 10 ip -n "$ns" link set "$ifn" up || WHY="DPDK's tap did not appear"; }
				fi
				if [ -z "$WHY" ]; then
					ip netns exec "$ns" taskset -c "$CPU_GEN" "$VSLOAD" uplink "$D/sock/p0.sock" "$ifn" \
						-s "$(IFS=,; echo "${UP_SIZES[*]}")" -t "$SAMPLE" -w "$WARM" -p "$SW_PID" \
						>"$out" 2>>"$D/vsload.err"
				else
					log "  $sys cannot be measured: $WHY"
				fi
				up_sample "$sys" "$kind" "$r" "$out" "$WHY"
				# Idle with an uplink and a connected, silent guest.
				if [ "$kind" = tap ] && [ -z "$WHY" ]; then
					peer_spawn "$out.idle" taskset -c "$CPU_GEN" "$VSLOAD" idle "$D/sock/p0.sock"
					vpid=$PEER_LAST_PID
					if peer_wait_for 20 vsload_ready "$out.idle"; then
						idle_sample idle_up_cpu "$sys" "$r" "$idle_each"
					else
						rec_na idle_up_cpu "$sys" "vsload idle did not connect"
					fi
					kill -TERM "$vpid" 2>/dev/null
					peer_wait_for 10 peer_exited "$vpid"
					wait "$vpid" 2>/dev/null
					peer_forget "$vpid"
				elif [ "$kind" = tap ]; then
					rec_na idle_up_cpu "$sys" "$WHY"
				fi
				if [ "$sys" = vswitch ]; then
					sw_stop
					sed -n 's/^info: port \(lan: stats .*\)/  vswitch \1/p' "$SW_LOG" >&2
				else
					pmd_stop
				fi
			done
		done
	done
	SW_NS=()
	SW_UPLINK=
	up_ns_del
}

# -------------------------------------------------- paced load and latency

# vsload_run OUTVAR ARGS...: run vsload on CPU $CPU_GEN; its VSLOAD line.
vsload_run() {
	local -n out=$1
	shift
	out=$(taskset -c "$CPU_GEN" "$VSLOAD" "$@" 2>>"$D/vsload.err" | grep '^VSLOAD ')
}

# kv LINE KEY: the value of KEY=... in LINE.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# others_of LINE: others in % of one core from a VSLOAD line.
others_of() {
	awk -v t="$(kv "$1" seconds)" -v b="$(kv "$1" machine_busy_s)" \
		-v s="$(kv "$1" switch_cpu_s)" -v g="$(kv "$1" self_cpu_s)" 'BEGIN {
		o = (b - s - g) / t * 100; if (o < 0) o = 0; printf "%.1f\n", o }'
}

# wake_figures LINE ROUND OTHERS WAKE_US: vswitch's wake-ups at 10 % load
# (from a VSLOAD rate LINE) and what they alone cost at WAKE_US each
# (empty: not measured).
wake_figures() {
	local line=$1 r=$2 o=$3 wake=$4 runs secs
	runs=$(kv "$line" switch_runs)
	secs=$(kv "$line" seconds)
	if [ "$runs" = NA ]; then
		rec_na load10_wakes vswitch "switch's schedstat unreadable"
		rec_na load10_floor vswitch "switch's schedstat unreadable"
		return
	fi
	rec load10_wakes vswitch "$r" "$(awk -v n="$runs" -v t="$secs" 'BEGIN { printf "%.2f", n / t / 1e3 }')" "$o"
	if [ -n "$wake" ]; then
		rec load10_floor vswitch "$r" "$(awk -v n="$runs" -v t="$secs" -v w="$wake" 'BEGIN { printf "%.2f", n / t * w / 1e4 }')" "$o"
	else
		rec_na load10_floor vswitch "vsload wake failed"
	fi
}

run_paced() {
	local r sys line rate o wake
	rate=$1
	for ((r = 1; r <= ROUNDS; r++)); do
		# What one sleep and wake-up costs here, with no switch at all.
		log "wake-up cost, round $r/$ROUNDS"
		vsload_run line wake -c "$CPU_SW" -t "$SAMPLE"
		wake=$(kv "$line" wake_cpu_us)
		if [ -n "$wake" ] && [ "$wake" != NA ]; then
			rec wake_cpu vswitch "$r" "$wake" "$(others_of "$line")"
			log "  $line"
		else
			wake=
			rec_na wake_cpu vswitch "vsload wake failed"
		fi
		for sys in vswitch pmd; do
			wanted "$sys" || continue
			log "latency and 10 % load, round $r/$ROUNDS: $sys"
			SW_ROUND=$((SW_ROUND + 1))
			if [ "$sys" = vswitch ]; then
				vs_start 2
			elif ! pmd_start 2; then
				for f in lat_p50 lat_p99 load10_cpu load10_cpupm; do
					rec_na "$f" pmd "vhost PMD testpmd did not start"
				done
				pmd_stop
				continue
			fi
			vsload_run line ping "$D/sock/p0.sock" "$D/sock/p1.sock" \
				-n "$PING_COUNT" -s 64 -p "$SW_PID"
			if [ -n "$line" ] && [ "$(kv "$line" p50_us)" != NA ]; then
				o=$(others_of "$line")
				rec lat_p50 "$sys" "$r" "$(kv "$line" p50_us)" "$o"
				rec lat_p99 "$sys" "$r" "$(kv "$line" p99_us)" "$o"
				log "  $line"
			else
				[ "$sys" = vswitch ] && rig_fail "vsload ping failed: $(tail -n 3 "$D/vsload.err")"
				rec_na lat_p50 "$sys" "vsload ping failed"
				rec_na lat_p99 "$sys" "vsload ping failed"
			fi
			if [ -z "$rate" ]; then
				rec_na load10_cpu "$sys" "no full rate measured for vswitch"
				rec_na load10_cpupm "$sys" "no full rate measured for vswitch"
				if [ "$sys" = vswitch ]; then
					rec_na load10_wakes vswitch "no full rate measured for vswitch"
					rec_na load10_floor vswitch "no full rate measured for vswitch"
				fi
			else
				vsload_run line rate "$D/sock/p0.sock" "$D/sock/p1.sock" \
					-r "$rate" -s 64 -t "$SAMPLE" -p "$SW_PID"
				if [ -n "$line" ]; then
					o=$(others_of "$line")
					rec load10_cpu "$sys" "$r" "$(awk -v c="$(kv "$line" switch_cpu_s)" -v t="$(kv "$line" seconds)" 'BEGIN { printf "%.3f", c / t * 100 }')" "$o"
					rec load10_fps "$sys" "$r" "$(awk -v f="$(kv "$line" received_fps)" 'BEGIN { printf "%.4f", f / 1e6 }')" "$o"
					if [ "$(kv "$line" received)" -gt 0 ]; then
						rec load10_cpupm "$sys" "$r" "$(awk -v c="$(kv "$line" switch_cpu_s)" -v n="$(kv "$line" received)" 'BEGIN { printf "%.4f", c / (n / 1e6) }')" "$o"
					fi
					[ "$sys" = vswitch ] && wake_figures "$line" "$r" "$o" "$wake"
					log "  $line"
				else
					[ "$sys" = vswitch ] && rig_fail "vsload rate failed: $(tail -n 3 "$D/vsload.err")"
					rec_na load10_cpu "$sys" "vsload rate failed"
					if [ "$sys" = vswitch ]; then
						rec_na load10_wakes vswitch "vsload rate failed"
						rec_na load10_floor vswitch "vsload rate failed"
					fi
				fi
			fi
			if [ "$sys" = vswitch ]; then sw_stop; else pmd_stop; fi
		done
	done
}

# --------------------------------------------------------------- footprint

# guest_rss_kb PID: Rss of the guest memory (memfd) mappings, KiB.
guest_rss_kb() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { g = ($6 ~ /^\/memfd:/) }
		g && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}

vsload_ready() { grep -qs ' ready' "$1"; }

run_footprint() {
	local n i socks vpid rss grss out
	for n in 2 8; do
		SW_ROUND=$((SW_ROUND + 1))
		vs_start "$n"
		socks=()
		for ((i = 0; i < n; i++)); do socks+=("$D/sock/p$i.sock"); done
		out=$D/vsload-idle-$n.out
		peer_spawn "$out" taskset -c "$CPU_GEN" "$VSLOAD" idle "${socks[@]}"
		vpid=$PEER_LAST_PID
		peer_wait_for 20 vsload_ready "$out" || rig_fail "vsload idle: $(tail -n 3 "$out")"
		peer_wait_for 10 vs_up "$n" || rig_fail "vswitch ports not up with vsload"
		sleep 0.2
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SW_PID/status")
		grss=$(guest_rss_kb "$SW_PID")
		rec "rss_${n}p" vswitch 1 "$((rss - grss))" -
		log "footprint, $n ports: VmRSS ${rss} KiB, guest memory ${grss} KiB"
		kill -TERM "$vpid"
		peer_wait_for 10 peer_exited "$vpid"
		wait "$vpid" 2>/dev/null
		peer_forget "$vpid"
		sw_stop
	done
	strip -o "$D/vswitch.stripped" "$TOP/vswitch" ||
		rig_fail "cannot strip a copy of vswitch"
	rec bin_stripped vswitch 1 "$(($(stat -c %s "$D/vswitch.stripped") / 1024))" -
}

# --------------------------------------------------------------- guest TCP

# iperf_line N: the last "VSGUEST iperf ..." line of guest N (1 server,
# 2 client) in the current test.
iperf_line() {
	[ -f "$IP_RUN-vm$1.serial" ] || return 0
	tr -d '\r' <"$IP_RUN-vm$1.serial" | grep -a '^VSGUEST iperf ' | tail -n 1
}

iperf_started() { [[ $(iperf_line 2) == "VSGUEST iperf start "* ]]; }

iperf_started_or_ended() { iperf_started || iperf_ended; }

# iperf_ended: the client has a result, or gave up, or a QEMU is gone.
iperf_ended() {
	local l
	l=$(iperf_line 2)
	[[ $l == "VSGUEST iperf sender_mbps="* || $l == "VSGUEST iperf fail:"* ]] ||
		peer_exited "${IP_PIDS[0]}" || peer_exited "${IP_PIDS[1]}"
}

# iperf_exited: both QEMUs are gone.
iperf_exited() { peer_exited "${IP_PIDS[0]}" && peer_exited "${IP_PIDS[1]}"; }

# iperf_why: what the guests said last before powering off, for a reason.
iperf_why() {
	local n l why=''
	for n in 1 2; do
		l=$(tr -d '\r' <"$IP_RUN-vm$n.serial" 2>/dev/null |
			grep -a '^VSGUEST ' | grep -v '^VSGUEST poweroff ' | tail -n 1)
		[ -n "$l" ] || l="no console output$(head -c 200 "$IP_RUN-vm$n.qemu" 2>/dev/null | tr '\n' ' ' | sed 's/^/: /')"
		why+="${why:+; }vm$n: ${l#VSGUEST }"
	done
	echo "$why"
}

# iperf_test SYSTEM ROUND: boot the two guests on the switch's ports p0
# and p1 (already up), run the test, record the figure or NA.
iperf_test() {
	local sys=$1 r=$2 n mode lead win line mbps secs swcpu others
	# shellcheck disable=SC2034 # filled by mark, read by window
	local A=() B=()
	IP_RUN=$D/iperf-$sys-$r
	IP_PIDS=()
	for n in 1 2; do
		if [ "$n" = 1 ]; then
			mode="vs.mode=iperf-server"
		else
			mode="vs.mode=iperf-client vs.peer=10.0.0.1"
		fi
		peer_spawn "$IP_RUN-vm$n.qemu" taskset -c "$CPU_GEN" qemu-system-x86_64 \
			-accel tcg -smp 1 -m 256M -nographic -no-reboot \
			-monitor none -serial "file:$IP_RUN-vm$n.serial" \
			-kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio" \
			-append "console=ttyS0 panic=-1 vs.ip=10.0.0.$n/24 $mode vs.wait=$IPERF_WAIT vs.time=$IPERF_SECONDS" \
			-object memory-backend-memfd,id=mem,size=256M,share=on \
			-numa node,memdev=mem \
			-chardev "socket,id=c0,path=$D/sock/p$((n - 1)).sock" \
			-netdev vhost-user,id=n0,chardev=c0,vhostforce=on \
			-device "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0$n,vectors=0"
		IP_PIDS+=("$PEER_LAST_PID")
	done
	# CPU over the middle of the test: from LEAD s after its start to
	# LEAD s before its end.
	read -r lead win < <(awk -v t="$IPERF_SECONDS" 'BEGIN {
		l = t >= 4 ? 1 : t / 4; printf "%.2f %.2f\n", l, t - 2 * l }')
	peer_wait_for $((IPERF_WAIT + 30)) iperf_started_or_ended
	if iperf_started && ! iperf_ended; then
		sleep "$lead"
		mark A "$SW_PID" "${IP_PIDS[@]}"
		sleep "$win"
		mark B "$SW_PID" "${IP_PIDS[@]}"
		read -r secs swcpu others < <(window A B)
		log "  $sys round $r: switch CPU ${swcpu}s in ${secs}s of the test (others ${others}%)"
	fi
	peer_wait_for $((IPERF_WAIT + IPERF_SECONDS + 75)) iperf_exited ||
		log "  $sys round $r: guests still running: stopped"
	for n in 0 1; do
		kill -TERM "${IP_PIDS[n]}" 2>/dev/null
		peer_wait_for 5 peer_exited "${IP_PIDS[n]}" || kill -KILL "${IP_PIDS[n]}" 2>/dev/null
		wait "${IP_PIDS[n]}" 2>/dev/null
		peer_forget "${IP_PIDS[n]}"
	done
	line=$(iperf_line 2)
	mbps=$(kv "$line" receiver_mbps)
	if [ -n "$mbps" ] && [ -n "$others" ]; then
		rec "$IP_FIG" "${sys%-off}" "$r" "$mbps" "$others"
		log "  $sys round $r: ${line#VSGUEST }; server: $(iperf_line 1 | sed 's/^VSGUEST //')"
	elif [ -n "$mbps" ]; then
		rec_na "$IP_FIG" "${sys%-off}" "the test ended before the host could sample it: ${line#VSGUEST }"
	else
		rec_na "$IP_FIG" "${sys%-off}" "no result from the guests: $(iperf_why)"
		log "  $sys round $r: no result: $(iperf_why)"
	fi
}

# run_tso: 64 KB TCP frames to segment (TSO) from the project's own
# front-end (vsload tso: 64,000 bytes of payload, gso_size 1448), passed
# whole to a receiver that takes TSO, or segmented for one that does not
# (its checksums left to it, or completed too): Gbit/s of TCP payload
# received and switch CPU seconds per GB. The vhost PMD (net_vhost with
# tso=1) passes them whole; io forwarding does not segment. OVS-DPDK runs
# with other_config:userspace-tso-enable=true.
run_tso() {
	local r sys kind flag line out o g vpid socks=("$D/sock/p0.sock" "$D/sock/p1.sock")
	local args=()
	for ((r = 1; r <= ROUNDS; r++)); do
		for sys in vswitch pmd ovs; do
			wanted "$sys" || continue
			for kind in pass seg segcsum; do
				case $kind in
				pass) flag= ;;
				seg) flag=-g ;;
				*) flag=-G ;;
				esac
				if [ "$sys" = pmd ] && [ "$kind" != pass ]; then
					rec_na "tso_$kind" pmd "io forwarding does not segment"
					rec_na "tsocpu_$kind" pmd "io forwarding does not segment"
					continue
				fi
				if [ "$sys" = ovs ] && [ -z "$OVS_OK" ]; then
					rec_na "tso_$kind" ovs "$OVS_WHY"
					rec_na "tsocpu_$kind" ovs "$OVS_WHY"
					continue
				fi
				log "64 KB TSO frames ($kind), round $r/$ROUNDS: $sys"
				SW_ROUND=$((SW_ROUND + 1))
				out=$D/vsload-tso-$SW_ROUND.out
				args=(tso "${socks[@]}" ${flag:+"$flag"} -t "$SAMPLE" -w "$WARM")
				WHY=
				case $sys in
				vswitch)
					vs_start 2
					taskset -c "$CPU_GEN" "$VSLOAD" "${args[@]}" -p "$SW_PID" >"$out" 2>>"$D/vsload.err"
					;;
				pmd)
					if PMD_VHOST_ARGS=,tso=1 pmd_start 2; then
						taskset -c "$CPU_GEN" "$VSLOAD" "${args[@]}" -p "$SW_PID" >"$out" 2>>"$D/vsload.err"
					else
						WHY="vhost PMD testpmd did not start"
					fi
					;;
				ovs)
					# OVS's ports are vhost-user clients: vsload
					# listens; TSO is a start-up setting.
					mkdir -p "$D/sock"
					rm -f "${socks[@]}"
					ovs_vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
					peer_spawn "$out" taskset -c "$CPU_GEN" "$VSLOAD" "${args[@]}" \
						-l -P "$OVS_DIR/ovs-vswitchd.pid"
					vpid=$PEER_LAST_PID
					peer_wait_for 10 test -S "${socks[1]}" || WHY="vsload did not listen"
					if [ -z "$WHY" ] && ! ovs_start 2; then
						WHY=$OVS_WHY
					fi
					peer_wait_for 90 peer_exited "$vpid" || WHY="vsload tso did not finish"
					kill -KILL "$vpid" 2>/dev/null
					wait "$vpid" 2>/dev/null
					peer_forget "$vpid"
					grep -v '^VSLOAD ' "$out" >>"$D/vsload.err"
					ovs_vsctl --no-wait remove Open_vSwitch . other_config userspace-tso-enable
					;;
				esac
				line=
				[ -n "$WHY" ] || line=$(grep -s '^VSLOAD mode=tso ' "$out")
				if [ -z "$line" ]; then
					[ "$sys" = vswitch ] && rig_fail "vsload tso failed: $(tail -n 3 "$D/vsload.err")"
					[ -n "$WHY" ] || WHY="vsload tso failed: $(tail -n 1 "$D/vsload.err")"
					log "  $sys cannot be measured: $WHY"
					rec_na "tso_$kind" "$sys" "$WHY"
					rec_na "tsocpu_$kind" "$sys" "$WHY"
				elif [ "$kind" != pass ] &&
					[ "$(kv "$line" received_frames)" -lt $((10 * $(kv "$line" sent))) ]; then
					# Fewer than 10 frames a 64 KB frame sent:
					# they arrived whole, not segmented.
					WHY="frames arrived unsegmented ($(kv "$line" received_frames) for $(kv "$line" sent) sent)"
					log "  $sys: $WHY: $line"
					rec_na "tso_$kind" "$sys" "$WHY"
					rec_na "tsocpu_$kind" "$sys" "$WHY"
				else
					o=$(others_of "$line")
					g=$(kv "$line" received_gbps)
					rec "tso_$kind" "$sys" "$r" "$g" "$o"
					rec "tsocpu_$kind" "$sys" "$r" "$(awk -v c="$(kv "$line" switch_cpu_s)" -v g="$g" -v s="$(kv "$line" seconds)" 'BEGIN { printf "%.4f", (g > 0 ? c / (g * s / 8) : 0) }')" "$o"
					log "  $line"
				fi
				sys_stop "$sys"
			done
		done
	done
}

# IP_FIG: the figure iperf_test records (iperf_tcp; iperf_tcp_off for the
# system vswitch-off, vswitch with offload = off on its ports).
IP_FIG=iperf_tcp
run_iperf() {
	local systems=() r sys l why='' t0=$SECONDS
	for sys in vswitch pmd; do
		wanted "$sys" && systems+=("$sys")
	done
	wanted vswitch && systems+=(vswitch-off)
	[ ${#systems[@]} -gt 0 ] || return 0
	if ! command -v qemu-system-x86_64 >/dev/null; then
		why="qemu-system-x86_64 is not installed"
	elif ! bash "$TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$D/mkguest.log" 2>&1; then
		why="the guest image could not be built: $(tail -n 1 "$D/mkguest.log")"
	elif [ ! -s "$GUEST/iperf3.version" ]; then
		why="the guest image has no iperf3 (apt-get install iperf3; make bench does)"
	fi
	if [ -n "$why" ]; then
		log "guest TCP cannot be measured: $why"
		for sys in "${systems[@]}"; do
			[ "$sys" = vswitch-off ] || rec_na iperf_tcp "$sys" "$why"
		done
		return 0
	fi
	log "guest TCP: $(cat "$GUEST/kernel.version"), $(cat "$GUEST/iperf3.version"), QEMU on CPU $CPU_GEN"
	for ((r = 1; r <= IPERF_ROUNDS; r++)); do
		for sys in "${systems[@]}"; do
			log "guest TCP (iperf3, ${IPERF_SECONDS}s), round $r/$IPERF_ROUNDS: $sys"
			SW_ROUND=$((SW_ROUND + 1))
			# Both offer TSO: net_vhost only with tso=1.
			IP_FIG=iperf_tcp
			if [ "$sys" = vswitch ]; then
				vs_start 2
			elif [ "$sys" = vswitch-off ]; then
				IP_FIG=iperf_tcp_off
				VS_PORT_EXTRA='offload = off\n' vs_start 2
			elif ! PMD_VHOST_ARGS=,tso=1 pmd_start 2; then
				rec_na iperf_tcp pmd "vhost PMD testpmd did not start: $(tail -n 2 "$SW_LOG" | tr '\n' ' ')"
				pmd_stop
				continue
			fi
			iperf_test "$sys" "$r"
			# The virtio features the guests' drivers accepted.
			if [ "$sys" != pmd ]; then
				l=$(grep -m1 'port p0: up' "$SW_LOG")
			else
				l=$(grep -m1 -o 'negotiated Virtio features: .*' "$SW_LOG")
			fi
			[ -z "$l" ] || log "  $sys: $l"
			if [ "$sys" != pmd ]; then
				if peer_exited "$SW_PID"; then
					RIG_BROKEN="vswitch exited during the guest TCP test: $(tail -n 3 "$SW_LOG" | tr '\n' ' ')"
					log "RIG FAILURE: $RIG_BROKEN"
				fi
				sw_stop
				sed -n 's/^info: port \(p[0-9]*: stats .*\)/  vswitch \1/p' "$SW_LOG" >&2
			else
				pmd_stop
			fi
		done
	done
	log "guest TCP: $((SECONDS - t0)) s"
}

# ------------------------------------------------------------------ report

report() {
	awk -v rounds="$((ROUNDS > IPERF_ROUNDS ? ROUNDS : IPERF_ROUNDS))" '
	function median(arr, n,    i, j, t) {
		for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
		return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.3g", v) }
	FNR == NR { split($0, d, "\t"); nf++; name[nf] = d[1]; unit[d[1]] = d[2]; desc[d[1]] = d[3]; next }
	$3 == "na" { r = $0; sub(/^[^ ]+ [^ ]+ na /, "", r); na[$1, $2] = r; next }
	{ k = $1 SUBSEP $2; n[k]++; val[k, n[k]] = $4; oth[k, n[k]] = $5; byr[$1, $2, $3] = $4 }
	END {
		split("vswitch pmd ovs", sys, " ")
		printf "%-36s %-9s %10s %10s %10s %8s %8s  %s\n", "figure", "unit", "vswitch", "vhost-pmd", "ovs-dpdk", "vs/pmd", "vs/ovs", "others (%core, median)"
		for (i = 1; i <= nf; i++) {
			f = name[i]; line = sprintf("%-36s %-9s", desc[f], unit[f]); others = ""
			bench = ""
			for (s = 1; s <= 3; s++) {
				k = f SUBSEP sys[s]
				if (n[k]) {
					for (j = 1; j <= n[k]; j++) { a[j] = val[k, j]; b[j] = oth[k, j] }
					m = median(a, n[k]); o = median(b, n[k])
					mn = a[1]; mx = a[n[k]]
					line = line sprintf(" %10s", fmt(m))
					if (b[1] == "-") {
						bench = bench sprintf("BENCH %s.%s=%s unit=%s\n", f, sys[s], m, unit[f])
						continue
					}
					others = others sprintf(" %s=%s", sys[s], fmt(o))
					bench = bench sprintf("BENCH %s.%s=%s unit=%s n=%d min=%s max=%s others=%s%%\n", f, sys[s], m, unit[f], n[k], mn, mx, o)
				} else if ((f, sys[s]) in na) {
					line = line sprintf(" %10s", "NA")
					bench = bench sprintf("BENCH %s.%s=NA unit=%s reason=%s\n", f, sys[s], unit[f], na[f, sys[s]])
				} else {
					line = line sprintf(" %10s", "-")
				}
			}
			for (s = 2; s <= 3; s++) {
				if (f !~ /^(tput|lat|iperf)_/) { line = line sprintf(" %8s", "-"); continue }
				c = 0
				for (r = 1; r <= rounds; r++)
					if (((f, "vswitch", r) in byr) && ((f, sys[s], r) in byr) && byr[f, sys[s], r] > 0)
						a[++c] = byr[f, "vswitch", r] / byr[f, sys[s], r]
				if (c) {
					m = median(a, c)
					line = line sprintf(" %7.2fx", m)
					bench = bench sprintf("BENCH %s.vswitch_vs_%s=%.3f unit=ratio n=%d\n", f, sys[s], m, c)
				} else if (n[f SUBSEP "vswitch"] && !n[f SUBSEP sys[s]] && ((f, sys[s]) in na)) {
					line = line sprintf(" %8s", "NA")
					bench = bench sprintf("BENCH %s.vswitch_vs_%s=NA unit=ratio reason=%s\n", f, sys[s], na[f, sys[s]])
				} else {
					line = line sprintf(" %8s", "-")
				}
			}
			print line "  " others
			benches = benches bench
		}
		printf "\n%s", benches
	}' "$FIGS" "$RES"
}

# ------------------------------------------------------------------- main

command -v dpdk-testpmd >/dev/null || rig_fail "dpdk-testpmd is not installed (make deps)"
for c in taskset stdbuf strip; do
	command -v "$c" >/dev/null || rig_fail "$c is not installed"
done
[ -x "$TOP/vswitch" ] || rig_fail "$TOP/vswitch is not built"
[ -x "$VSLOAD" ] || rig_fail "$VSLOAD is not built"
[ "$(nproc)" -ge 2 ] || rig_fail "needs 2 CPUs (traffic on CPU $CPU_GEN, switch on CPU $CPU_SW)"

# Hooks run after every process is gone (peer_cleanup).
peer_on_exit hp_release
bench_cleanup() { rm -rf "/var/run/dpdk/$PFX-tg" "/var/run/dpdk/$PFX-pmd" "/var/run/dpdk/$PFX-ovs"; }
peer_on_exit bench_cleanup
peer_on_exit up_ns_del

for size in "${SIZES[@]}"; do
	for q in "${INFLIGHT[@]}"; do
		fig "tput_2p_${size}B_q${q}" Mfps "throughput 2p ${size}B ${q} in flight"
	done
done
for size in "${SIZES_4P[@]}"; do
	fig "tput_4p_${size}B_q512" Mfps "throughput 4p ${size}B 512 in flight"
done
fig tput_2p_64B_q512_4k Mfps "throughput 2p 64B 512, 4K pages"
fig tput_4p_64B_q512_4k Mfps "throughput 4p 64B 512, 4K pages"
for size in "${SIZES[@]}"; do
	for q in "${INFLIGHT[@]}"; do
		fig "tput_own_${size}B_q${q}" Mfps "own front-end 2p ${size}B ${q}"
	done
done
for size in "${SIZES[@]}"; do
	for q in "${INFLIGHT[@]}"; do
		fig "cpu_2p_${size}B_q${q}" s/Mframe "CPU/Mframe full 2p ${size}B q${q}"
	done
done
for size in "${SIZES_4P[@]}"; do
	fig "cpu_4p_${size}B_q512" s/Mframe "CPU/Mframe full 4p ${size}B q512"
done
fig cpu_2p_64B_q512_4k s/Mframe "CPU/Mframe 2p 64B q512, 4K pages"
fig cpu_4p_64B_q512_4k s/Mframe "CPU/Mframe 4p 64B q512, 4K pages"
for size in "${SIZES[@]}"; do
	for q in "${INFLIGHT[@]}"; do
		fig "cpu_own_${size}B_q${q}" s/Mframe "CPU/Mframe own 2p ${size}B q${q}"
	done
done
for kind in tap afp; do
	for size in "${UP_SIZES[@]}"; do
		fig "tput_up_${kind}_out_${size}B" Mfps "$kind: guest -> kernel ${size}B"
		fig "tput_up_${kind}_in_${size}B" Mfps "$kind: kernel -> guest ${size}B"
	done
done
for kind in tap afp; do
	for size in "${UP_SIZES[@]}"; do
		fig "cpu_up_${kind}_out_${size}B" s/Mframe "CPU/Mframe $kind out ${size}B"
		fig "cpu_up_${kind}_in_${size}B" s/Mframe "CPU/Mframe $kind in ${size}B"
	done
done
fig idle_up_cpu %core "idle, tap uplink + silent guest"
fig load10_fps Mfps "10% load: rate received (64B)"
fig load10_cpu %core "10% load: switch CPU"
fig load10_cpupm s/Mframe "10% load: CPU/Mframe"
fig load10_wakes k/s "10% load: switch wake-ups"
fig wake_cpu us "machine: CPU of one sleep+wake-up"
fig load10_floor %core "10% load: wake-ups alone cost"
fig idle_cpu %core "idle, 2 silent front-ends"
fig idle_cpu_maxsleep %core "idle, OVS pmd-maxsleep=${OVS_MAXSLEEP}us"
fig lat_p50 us "latency 64B round trip p50"
fig lat_p99 us "latency 64B round trip p99"
fig rss_2p KiB "RSS - guest memory, 2 ports"
fig rss_8p KiB "RSS - guest memory, 8 ports"
fig bin_stripped KiB "stripped binary"
fig tso_pass Gbit/s "64KB TSO, receiver takes TSO"
fig tsocpu_pass s/GB "CPU/GB 64KB TSO passed whole"
fig tso_seg Gbit/s "64KB TSO segmented, csum left"
fig tsocpu_seg s/GB "CPU/GB 64KB TSO segmented"
fig tso_segcsum Gbit/s "64KB TSO segmented + checksums"
fig tsocpu_segcsum s/GB "CPU/GB 64KB TSO seg + checksums"
fig iperf_tcp Mbit/s "guest TCP iperf3 ${IPERF_SECONDS}s, TCG guests"
fig iperf_tcp_off Mbit/s "guest TCP, vswitch offload = off"

log "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); traffic on CPU $CPU_GEN, switch on CPU $CPU_SW"
log "busiest other processes: $(ps -e -o pcpu=,ni=,comm= --sort=-pcpu | head -n 3 | awk '{ printf "%s(%s%%,nice %s) ", $3, $1, $2 }')"
if hp_reserve $((2 * DPDK_PAGES)); then
	TP_MEM=(--huge-dir="$HP_MNT" --single-file-segments)
	PMD_MEM=("${TP_MEM[@]}")
else
	log "no hugepages ($HP_WHY): every DPDK process runs on 4 KiB pages"
fi
if wanted ovs && ! ovs_setup; then
	log "OVS-DPDK cannot be measured: $OVS_WHY"
fi

# part NAME: is part NAME of the bench to run (BENCH_PARTS)?
part() { [[ " ${BENCH_PARTS:-throughput 4k own uplinks tso paced footprint iperf} " == *" $1 "* ]]; }

if part throughput; then
	run_throughput 2 vswitch pmd ovs
	run_throughput 4 vswitch ovs
fi
part 4k && run_4k
part own && run_own
part uplinks && run_uplinks
part tso && run_tso

# 10 % of vswitch's full 64-byte rate (the better of the two in-flight
# figures, median over the rounds).
FULL=$(awk '$2 == "vswitch" && $3 != "na" && ($1 == "tput_2p_64B_q64" || $1 == "tput_2p_64B_q512") {
	v[$1] = v[$1] " " $4 } END {
	best = 0
	for (f in v) { n = split(v[f], a, " "); for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; if (m > best) best = m }
	if (best > 0) printf "%.0f\n", best * 1e6 / 10 }' "$RES")
log "10 % load: ${FULL:-NA} frames/s (both directions)"
part paced && run_paced "$FULL"
part footprint && run_footprint
part iperf && run_iperf

# ovsdb-server is no longer needed.
if [ -n "$OVS_DB_PID" ]; then
	kill -TERM "$OVS_DB_PID" 2>/dev/null
	peer_wait_for 10 peer_exited "$OVS_DB_PID"
	wait "$OVS_DB_PID" 2>/dev/null
	peer_forget "$OVS_DB_PID"
fi

echo
echo "vswitch benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "traffic on CPU $CPU_GEN, switch on CPU $CPU_SW; median of $ROUNDS alternating rounds, ${SAMPLE}s samples"
echo "Mfps = million frames/s forwarded (both directions); s/Mframe = switch CPU seconds per million frames;"
echo "%core = % of one core; ratios = median of per-round vswitch/other (latency: lower is better)"
echo "guest TCP: iperf3 between two QEMU guests under TCG (both on CPU $CPU_GEN), ${IPERF_SECONDS}s, $IPERF_ROUNDS round(s), receiver's Mbit/s"
echo
report
echo
echo "bench: $((SECONDS - T_START)) s"
[ -z "$RIG_BROKEN" ] || rig_fail "$RIG_BROKEN"
