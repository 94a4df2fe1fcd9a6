# shellcheck shell=bash
# Shared helpers for the peer tests (QEMU guests, DPDK testpmd).
#
# A test sources this file, calls peer_init, starts what it needs through
# peer_spawn (so every process is killed by PID on exit), and ends with
# peer_finish, which prints "N passed, N failed" and sets the exit status.
# A peer test that cannot run (missing tool, no hugepages) fails: it never
# skips silently.

PEER_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VSWITCH=${VSWITCH:-$PEER_TOP/vswitch}
PEER_PASSED=0
PEER_FAILED=0
PEER_PIDS=()
PEER_EXIT_HOOKS=()

peer_log() { printf '%s: %s\n' "${PEER_NAME:-peer}" "$*" >&2; }

peer_pass() { PEER_PASSED=$((PEER_PASSED + 1)); printf 'PASS %s\n' "$*"; }

peer_fail() { PEER_FAILED=$((PEER_FAILED + 1)); printf 'FAIL %s\n' "$*"; }

# peer_check DESCRIPTION COMMAND...: pass when COMMAND succeeds.
peer_check() {
	local what=$1
	shift
	if "$@"; then peer_pass "$what"; else peer_fail "$what"; fi
}

# peer_on_exit COMMAND: run COMMAND at exit, after every process started
# with peer_spawn is gone (e.g. to give back hugepages the guests used).
peer_on_exit() { PEER_EXIT_HOOKS+=("$1"); }

# peer_forget PID: PID has been waited for; never signal it again (the
# number may be reused).
peer_forget() {
	local p keep=()
	for p in "${PEER_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PEER_PIDS=("${keep[@]}")
}

peer_cleanup() {
	local pid hook
	for pid in "${PEER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PEER_PIDS[@]}"; do
		local i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	PEER_PIDS=()
	for hook in "${PEER_EXIT_HOOKS[@]}"; do
		"$hook"
	done
	PEER_EXIT_HOOKS=()
	if [ -n "${PEER_DIR:-}" ] && [ -z "${PEER_KEEP:-}" ]; then
		rm -rf "$PEER_DIR"
	fi
}

# peer_init NAME: make a private working directory ($PEER_DIR) and arrange
# for cleanup on exit.
peer_init() {
	PEER_NAME=$1
	PEER_DIR=$(mktemp -d "/tmp/vswitch-$PEER_NAME.XXXXXX")
	trap peer_cleanup EXIT
	trap 'exit 130' INT TERM
}

# peer_spawn LOGFILE COMMAND...: start COMMAND in the background with
# stdout and stderr to LOGFILE; its PID is in $PEER_LAST_PID.
peer_spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	PEER_LAST_PID=$!
	PEER_PIDS+=("$PEER_LAST_PID")
}

# peer_wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it
# succeeds (return 0) or SECONDS pass (return 1).
peer_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
	return 0
}

# peer_require COMMAND...: fail the test now when a tool is missing.
peer_require() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			peer_fail "required tool '$c' is not installed (run make deps)"
			peer_finish
		fi
	done
}

# peer_config FILE PORT[:client]...: write a vswitch configuration with
# its sockets in $PEER_SOCKDIR, debug logging, and a port NAME (socket
# NAME.sock) for each argument, in client mode when it says so.
peer_config() {
	local file=$1 spec
	shift
	{
		printf '[switch]\nsocket_dir = %s\nlog_level = debug\n' "$PEER_SOCKDIR"
		for spec in "$@"; do
			printf '\n[port %s]\nsocket = %s.sock\n' "${spec%%:*}" "${spec%%:*}"
			case $spec in *:client) printf 'mode = client\n' ;; esac
		done
	} >"$file"
}

# peer_stop PID [SECONDS]: SIGTERM PID, SIGKILL it after SECONDS (10), wait
# for it and forget it; returns its exit status.
peer_stop() {
	local pid=$1 rc
	kill -TERM "$pid" 2>/dev/null
	if ! peer_wait_for "${2:-10}" peer_exited "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	peer_forget "$pid"
	return "$rc"
}

# peer_vswitch_start CONFIG: start ./vswitch on CONFIG, log in
# $PEER_DIR/vswitch.log; waits until every server socket named by the
# config's "socket =" keys exists. PID in $VSWITCH_PID.
peer_vswitch_start() {
	local config=$1 sock
	[ -x "$VSWITCH" ] || { peer_fail "$VSWITCH not built"; peer_finish; }
	peer_spawn "$PEER_DIR/vswitch.log" "$VSWITCH" -c "$config"
	VSWITCH_PID=$PEER_LAST_PID
	while read -r sock; do
		case $sock in /*) ;; *) sock="$PEER_SOCKDIR/$sock" ;; esac
		if ! peer_wait_for 10 test -S "$sock"; then
			peer_fail "vswitch did not create $sock"
			cat "$PEER_DIR/vswitch.log" >&2
			peer_finish
		fi
	done < <(sed -n 's/^[[:space:]]*socket[[:space:]]*=[[:space:]]*\([^;[:space:]]*\).*/\1/p' "$config")
}

# peer_ctl ARGS...: vswitch ctl, asking the switch peer_vswitch_start
# started (its control socket is the default, in PEER_SOCKDIR).
peer_ctl() { "$VSWITCH" ctl -s "$PEER_SOCKDIR/vswitch.ctl" "$@"; }

# peer_ctl_up PORT PID: vswitch ctl show says PORT is up, with process PID
# as its front-end, and VERSION_1 negotiated.
peer_ctl_up() {
	local j
	j=$(peer_ctl show "$1" --json) || return 1
	grep -q '"state":"up"' <<<"$j" &&
		grep -q "\"peer\":{\"pid\":$2," <<<"$j" &&
		grep -q '"VERSION_1"' <<<"$j"
}

# peer_ctl_fdb PORT MAC: vswitch ctl fdb shows MAC learned on PORT.
peer_ctl_fdb() {
	peer_ctl fdb "$1" --json | grep -q "\"mac\":\"$2\",\"port\":\"$1\""
}

# peer_guest BASE MEM SOCK APPEND DEVICE [SHARE]: boot the test image
# (build/guest, guest/mkguest.sh) under TCG with one vCPU and MEM MiB of
# memfd RAM (shared with vswitch, unless SHARE is off), its virtio-net NIC
# (DEVICE: the virtio-net-pci options after netdev=) on the vhost-user
# socket SOCK, APPEND added to the kernel command line (the vs.* keys of
# guest/init). It powers off at the end (-no-reboot). Console in
# BASE.serial, QEMU's output in BASE.qemu; PID in $PEER_LAST_PID.
peer_guest() {
	local base=$1 mem=$2 sock=$3 append=$4 dev=$5 share=${6:-on}
	peer_spawn "$base.qemu" qemu-system-x86_64 \
		-accel tcg -smp 1 -m "${mem}M" -nographic -no-reboot \
		-monitor none -serial "file:$base.serial" \
		-kernel "$PEER_TOP/build/guest/vmlinux" \
		-initrd "$PEER_TOP/build/guest/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 $append" \
		-object "memory-backend-memfd,id=mem,size=${mem}M,share=$share" \
		-numa node,memdev=mem \
		-chardev "socket,id=c0,path=$sock" \
		-netdev vhost-user,id=n0,chardev=c0,vhostforce=on \
		-device "virtio-net-pci,netdev=n0,$dev"
}

# peer_dump LABEL DIR GUEST...: after a failure, what each guest's console
# (DIR/GUEST.serial) and QEMU (DIR/GUEST.qemu) said last, and the end of
# DIR/vswitch.log, on stderr.
peer_dump() {
	local label=$1 dir=$2 g
	shift 2
	{
		for g in "$@"; do
			echo "--- $label $g: console (last 25 lines)"
			if [ -f "$dir/$g.serial" ]; then
				tr -d '\r' <"$dir/$g.serial" | tail -n 25
			else
				echo "(none: QEMU never started the guest; stuck in the vhost-user handshake?)"
			fi
			echo "--- $label $g: qemu"
			cat "$dir/$g.qemu" 2>/dev/null
		done
		echo "--- $label vswitch.log (last 40 lines)"
		tail -n 40 "$dir/vswitch.log" 2>/dev/null
	} >&2
}

# peer_vswitch_stop [LABEL]: SIGTERM vswitch and check it exits 0 within
# 10 s (killed otherwise).
peer_vswitch_stop() {
	local rc label=${1:+$1: }
	peer_stop "$VSWITCH_PID"
	rc=$?
	peer_check "${label}vswitch exits 0 on SIGTERM (status $rc)" test "$rc" -eq 0
}

# peer_exited PID: PID is no longer running.
peer_exited() { ! kill -0 "$1" 2>/dev/null; }

# peer_vswitch_stat PORT KEY: a counter from the per-port statistics line
# vswitch logs at shutdown ("port NAME: stats key=value ..."); -1 if absent.
peer_vswitch_stat() {
	local v
	v=$(sed -n "s/.*port $1: stats .*\b$2=\([0-9]*\).*/\1/p" "$PEER_DIR/vswitch.log" | tail -n 1)
	echo "${v:--1}"
}

# peer_at_least MIN N...: every N is a number >= MIN.
peer_at_least() {
	local min=$1 v
	shift
	for v in "$@"; do
		case $v in '' | *[!0-9]*) return 1 ;; esac
		[ "$v" -ge "$min" ] || return 1
	done
}

# ---- an interactive dpdk-testpmd driven through a FIFO on fd 3, its
# output in $TP_LOG, its PID in $TP_PID (testpmd.sh, bench.sh)

# Number of prompts testpmd has printed: one more after each command.
tp_prompts() { grep -o 'testpmd> ' "$TP_LOG" 2>/dev/null | wc -l; }

tp_running() { [ -n "$TP_PID" ] && kill -0 "$TP_PID" 2>/dev/null; }

tp_exited() { ! tp_running; }

tp_prompted() { [ "$(tp_prompts)" -ge "$1" ] || tp_exited; }

# tp_cmd SECONDS COMMAND: send a command, wait for the next prompt.
tp_cmd() {
	local want
	want=$(($(tp_prompts) + 1))
	printf '%s\n' "$2" >&3
	peer_wait_for "$1" tp_prompted "$want" && tp_running &&
		[ "$(tp_prompts)" -ge "$want" ]
}

# tp_stat HEADING PORT KEY: the number after "KEY:" in testpmd's block
# "... HEADING for port PORT ..." (the last such block in the log); -1 if
# none.
tp_stat() {
	awk -v head="$1 for port" -v port="$2" -v key="$3:" '
		index($0, head) { cur = ($6 == port); next }
		/^ *[-#+]+ *$/ { cur = 0 }
		cur { for (i = 1; i < NF; i++) if ($i == key) v = $(i + 1) }
		END { print (v == "" ? -1 : v) }' "$TP_LOG"
}

# peer_finish: print the summary and exit 0 only when nothing failed.
peer_finish() {
	printf '%s: %d passed, %d failed\n' "${PEER_NAME:-peer}" "$PEER_PASSED" "$PEER_FAILED"
	[ "$PEER_FAILED" -eq 0 ] && [ "$PEER_PASSED" -gt 0 ]
	exit $?
}
