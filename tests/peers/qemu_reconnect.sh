#!/bin/bash
# qemu_reconnect.sh: QEMU guests that keep pinging each other through a
# guest reset, a vswitch killed and started again, and restarts of a
# client-mode port's front-end.
#
# Three guests (the image of qemu_ping.sh, /init in vs.mode=loop: each
# pings its peer every 0.2 s for ever and prints one "VSGUEST reply" line
# per answer on its serial console), memfd RAM:
#
#   vm1 10.0.0.1 pings vm2   port vm1, mode = server: QEMU connects
#                            (-chardev socket,...,reconnect=1)
#   vm2 10.0.0.2 pings vm1   port vm2, mode = server: the same
#   vm3 10.0.0.3 pings vm1   port vm3, mode = client: QEMU listens
#                            (-chardev socket,...,server=on,wait=off)
#
# In order, each step asserting what the guests and vswitch show:
#
# 1. client mode: vswitch starts before vm3's socket exists and says it is
#    waiting for it; then the three guests boot and each gets replies.
# 2. guest reset: "system_reset" on vm2's QEMU monitor. vswitch takes vm2
#    down (ring stop) and up again when the new kernel's driver starts;
#    vm2's /init runs a second time and gets replies again, and so does
#    vm1 (whose peer vm2 is) afterwards.
# 3. vswitch is killed with SIGKILL and started again on the same
#    configuration (its stale socket files replaced) while the guests run:
#    vm1 and vm2's QEMU reconnect by themselves, vswitch reconnects to
#    vm3's; every guest gets replies again without being rebooted (its
#    /init ran only as often as before), and each port comes up with the
#    feature bits QEMU negotiated before the kill. The time from the
#    restart to each guest's first reply is printed, not asserted.
# 4. vm3's QEMU is stopped and started again, twice (a new boot each
#    time, same socket): vswitch reconnects with back-off and each new vm3
#    gets replies; vm1 and vm2 keep getting theirs throughout.
# At the end the guests are stopped, vswitch exits 0 on SIGTERM and its
# counters (since the restart) show frames both ways on every port.
#
# No assertion is about time; every wait is bounded (QR_TIMEOUT, 180 s,
# for a guest to boot; less for the rest). PEER_KEEP=1 keeps the working
# directory (configs, logs, serial consoles).

# Functions below run from peer_wait_for and peer_check: ShellCheck takes
# them for unreachable code.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QR_TIMEOUT=${QR_TIMEOUT:-180}
QR_MEM=256                      # MiB of RAM per guest
QR_REPLIES=3                    # replies that show a guest's ping works
GUEST=$PEER_TOP/build/guest

peer_init qemu_reconnect
peer_require qemu-system-x86_64 python3 timeout apt-get dpkg-deb cpio xz
if ! bash "$PEER_TOP/tests/peers/guest/mkguest.sh" "$GUEST" >"$PEER_DIR/mkguest.log" 2>&1; then
	peer_fail "build the guest image in $GUEST"
	cat "$PEER_DIR/mkguest.log" >&2
	peer_finish
fi
peer_log "guest: $(cat "$GUEST/kernel.version")"

PEER_SOCKDIR=$PEER_DIR/sock
mkdir -p "$PEER_SOCKDIR"
VS_LOG=$PEER_DIR/vswitch.log
declare -A QEMU_PID SERIAL

# ---------------------------------------------------------------- helpers

# now_us: wall clock in microseconds.
now_us() { echo "${EPOCHREALTIME/./}"; }

# secs_since US: seconds (one decimal) since now_us said US.
secs_since() {
	local d=$(($(now_us) - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

# vs_count REGEX: lines of the current vswitch log matching REGEX.
vs_count() { grep -Ec "$1" "$VS_LOG"; }
vs_count_at_least() { [ "$(vs_count "$2")" -ge "$1" ]; }
vs_alive() { kill -0 "$VSWITCH_PID" 2>/dev/null; }

# vs_features LOG PORT first|last: the feature bits of the first or last
# "up" line of PORT in LOG.
vs_features() {
	sed -n "s/^info: port $2: up: .*features \\(0x[0-9a-f]*\\).*/\\1/p" "$1" |
		if [ "$3" = first ]; then head -n 1; else tail -n 1; fi
}

# qr_vswitch_start: start vswitch on the configuration, its log in
# $VS_LOG, and wait until it runs (a socket file may already be there: a
# dead vswitch's).
qr_vswitch_start() {
	peer_spawn "$VS_LOG" "$VSWITCH" -c "$PEER_DIR/vswitch.ini"
	VSWITCH_PID=$PEER_LAST_PID
	if ! peer_wait_for 10 vs_count_at_least 1 '^info: vswitch .* running'; then
		peer_fail "vswitch starts"
		qr_dump
		peer_finish
	fi
}

# serial_lines N REGEX: lines of vmN's console matching REGEX.
serial_lines() {
	local n
	n=$(tr -d '\r' 2>/dev/null <"${SERIAL[$1]}" | grep -Ec "$2")
	echo "${n:-0}"
}
replies() { serial_lines "$1" '^VSGUEST reply '; }
inits() { serial_lines "$1" '^VSGUEST init '; }

# replies_since_init N: vmN's replies since its /init last started.
replies_since_init() {
	tr -d '\r' 2>/dev/null <"${SERIAL[$1]}" |
		awk '/^VSGUEST init / { n = 0 } /^VSGUEST reply / { n++ } END { print n + 0 }'
}

# more_than MIN COMMAND...: COMMAND prints a number > MIN.
more_than() {
	local min=$1 v
	shift
	v=$("$@")
	[ "$v" -gt "$min" ]
}

# replies_grew R1 R2: vm1 has more than R1 replies, vm2 more than R2.
replies_grew() { [ "$(replies 1)" -gt "$1" ] && [ "$(replies 2)" -gt "$2" ]; }

# same_nonempty A B: A and B are the same and not empty.
same_nonempty() { [ -n "$1" ] && [ "$1" = "$2" ]; }

qemu_alive() { kill -0 "${QEMU_PID[$1]}" 2>/dev/null; }

# qr_guest N SERIAL: start guest vmN, its console in the file SERIAL.
qr_guest() {
	local n=$1 peer=10.0.0.1 chardev
	[ "$n" != 1 ] || peer=10.0.0.2
	if [ "$n" = 3 ]; then
		chardev="socket,id=c0,path=$PEER_SOCKDIR/vm$n.sock,server=on,wait=off"
	else
		chardev="socket,id=c0,path=$PEER_SOCKDIR/vm$n.sock,reconnect=1"
	fi
	SERIAL[$n]=$2
	# No -no-reboot: a reset must reboot the guest (with -no-reboot QEMU
	# would exit). A panic reboots too, which the /init count shows.
	peer_spawn "${2%.serial}.qemu" qemu-system-x86_64 \
		-accel tcg -smp 1 -m "${QR_MEM}M" -nographic \
		-monitor "unix:$PEER_DIR/vm$n.mon,server=on,wait=off" \
		-serial "file:$2" \
		-kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio" \
		-append "console=ttyS0 panic=-1 vs.ip=10.0.0.$n/24 vs.peer=$peer vs.mode=loop vs.interval=0.2" \
		-object "memory-backend-memfd,id=mem,size=${QR_MEM}M,share=on" \
		-numa node,memdev=mem \
		-chardev "$chardev" \
		-netdev vhost-user,id=n0,chardev=c0,vhostforce=on \
		-device "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0$n,vectors=0"
	QEMU_PID[$n]=$PEER_LAST_PID
}

# qr_stop_guest N: SIGTERM vmN's QEMU and wait for it (bounded); 0 when
# it exited with status 0.
qr_stop_guest() {
	peer_stop "${QEMU_PID[$1]}" 20
}

# qr_hmp N COMMAND: run an HMP command on vmN's monitor socket.
qr_hmp() {
	timeout 20 python3 - "$PEER_DIR/vm$1.mon" "$2" <<-'EOF'
		import socket, sys
		s = socket.socket(socket.AF_UNIX)
		s.settimeout(15)
		s.connect(sys.argv[1])
		buf = b""
		def prompt():
		    global buf
		    while not buf.endswith(b"(qemu) "):
		        d = s.recv(4096)
		        if not d:
		            sys.exit("monitor closed")
		        buf += d
		prompt()
		buf = b""
		s.sendall(sys.argv[2].encode() + b"\n")
		prompt()
	EOF
}

# qr_wait_replies WHAT N MIN SECONDS: wait until vmN shows more than MIN
# replies; pass or fail WHAT.
qr_wait_replies() {
	peer_check "$1" peer_wait_for "$4" more_than "$3" replies "$2"
}

qr_dump() {
	local n f
	{
		for n in 1 2 3; do
			for f in "$PEER_DIR"/vm"$n"*.serial; do
				[ -f "$f" ] || continue
				echo "--- ${f##*/} (last 15 lines)"
				tr -d '\r' <"$f" | tail -n 15
			done
			for f in "$PEER_DIR"/vm"$n"*.qemu; do
				[ -f "$f" ] || continue
				echo "--- ${f##*/} (last 10 lines)"
				tail -n 10 "$f"
			done
		done
		for f in "$PEER_DIR"/vswitch*.log; do
			[ -f "$f" ] || continue
			echo "--- ${f##*/} (last 30 lines, no debug)"
			grep -v '^debug:' "$f" | tail -n 30
		done
	} >&2
}

# ---------------------------------------------------------------- 1. boot
peer_config "$PEER_DIR/vswitch.ini" vm1 vm2 vm3:client
echo "== client-mode port waiting, three guests booting"
qr_vswitch_start
peer_check "vswitch waits for vm3's front-end, whose socket does not exist yet" \
	peer_wait_for 10 vs_count_at_least 1 \
	"^info: port vm3: waiting for the front-end at $PEER_SOCKDIR/vm3.sock"
vm3_starts=1
started=$(now_us)
for n in 1 2; do
	qr_guest "$n" "$PEER_DIR/vm$n.serial"
done
qr_guest 3 "$PEER_DIR/vm3.$vm3_starts.serial"
for n in 1 2 3; do
	qr_wait_replies "vm$n boots and gets ping replies through vswitch" \
		"$n" $((QR_REPLIES - 1)) "$QR_TIMEOUT"
done
peer_log "the guests booted and got replies within $(secs_since "$started") s"
peer_check "vswitch connected to vm3's QEMU (client mode) and brought the port up" \
	vs_count_at_least 1 '^info: port vm3: up: '
if [ "$PEER_FAILED" -gt 0 ]; then
	qr_dump
	peer_finish
fi

# ---------------------------------------------------------------- 2. reset
echo "== guest reset (vm2)"
downs=$(vs_count '^info: port vm2: down')
ups=$(vs_count '^info: port vm2: up: ')
started=$(now_us)
peer_check "QEMU monitor: system_reset on vm2" qr_hmp 2 system_reset
peer_check "vswitch takes vm2 down at the reset" \
	peer_wait_for 30 vs_count_at_least $((downs + 1)) '^info: port vm2: down'
peer_check "vm2's /init runs again after the reset" \
	peer_wait_for "$QR_TIMEOUT" more_than 1 inits 2
peer_check "vswitch brings vm2 up again when the new driver starts" \
	peer_wait_for "$QR_TIMEOUT" vs_count_at_least $((ups + 1)) '^info: port vm2: up: '
peer_check "the rebooted vm2 pings vm1 again" \
	peer_wait_for "$QR_TIMEOUT" more_than $((QR_REPLIES - 1)) replies_since_init 2
peer_log "vm2 got replies again $(secs_since "$started") s after the reset"
# vm2 answers only once its new eth0 is up: replies vm1 counts from now
# on went through the rebooted guest.
vm1_replies=$(replies 1)
qr_wait_replies "vm1 gets replies from the rebooted vm2" \
	1 $((vm1_replies + QR_REPLIES - 1)) 60
peer_check "vm1 and vm3 were not rebooted" \
	test "$(inits 1)/$(inits 3)" = 1/1
peer_check "vswitch alive after the guest reset" vs_alive

# ---------------------------------------------------------------- 3. restart
echo "== vswitch killed (SIGKILL) and started again under running guests"
declare -A FEAT_BEFORE
for n in 1 2 3; do
	FEAT_BEFORE[$n]=$(vs_features "$VS_LOG" "vm$n" last)
done
# (stderr away: no "Killed" line from bash)
{
	kill -KILL "$VSWITCH_PID"
	wait "$VSWITCH_PID"
} 2>/dev/null
rc=$?
peer_forget "$VSWITCH_PID"
peer_check "vswitch died of SIGKILL (status $rc)" test "$rc" -eq 137
mv "$VS_LOG" "$PEER_DIR/vswitch.1.log"
# Let the guests notice: QEMU sees the connection close and starts
# retrying (vm1, vm2) or listening again (vm3).
sleep 2
declare -A BASE
for n in 1 2 3; do
	peer_check "vm$n's QEMU is still running after vswitch died" qemu_alive "$n"
	BASE[$n]=$(replies "$n")
done
started=$(now_us)
qr_vswitch_start
declare -A FIRST
deadline=$((SECONDS + 90))
while [ $SECONDS -lt $deadline ] && [ ${#FIRST[@]} -lt 3 ]; do
	for n in 1 2 3; do
		if [ -z "${FIRST[$n]:-}" ] && [ "$(replies "$n")" -gt "${BASE[$n]}" ]; then
			FIRST[$n]=$(secs_since "$started")
		fi
	done
	sleep 0.1
done
for n in 1 2 3; do
	echo "vm$n: first ping reply ${FIRST[$n]:-never (90 s)}${FIRST[$n]:+ s} after vswitch restarted"
done
for n in 1 2 3; do
	qr_wait_replies "vm$n gets ping replies again after the restart" \
		"$n" $((BASE[$n] + QR_REPLIES - 1)) 60
done
peer_check "no guest was rebooted (each /init ran as often as before: vm1 1, vm2 2, vm3 1)" \
	test "$(inits 1)/$(inits 2)/$(inits 3)" = 1/2/1
for n in 1 2; do
	peer_check "vm$n's QEMU reconnected to the new vswitch by itself" \
		vs_count_at_least 1 "^info: port vm$n: front-end connected"
done
peer_check "the new vswitch connected to vm3's QEMU (client mode)" \
	vs_count_at_least 1 '^info: port vm3: front-end connected'
for n in 1 2 3; do
	f=$(vs_features "$VS_LOG" "vm$n" first)
	peer_check "vm$n negotiated the same features after the restart (${FEAT_BEFORE[$n]:-none} -> ${f:-none})" \
		same_nonempty "$f" "${FEAT_BEFORE[$n]}"
done

# ---------------------------------------------------------------- 4. client
for vm3_starts in 2 3; do
	echo "== vm3's QEMU restarted (client-mode port), start $vm3_starts"
	disc=$(vs_count '^info: port vm3: front-end disconnected')
	ups=$(vs_count '^info: port vm3: up: ')
	peer_check "vm3's QEMU stops on SIGTERM" qr_stop_guest 3
	peer_check "vswitch sees vm3's QEMU go" \
		peer_wait_for 10 vs_count_at_least $((disc + 1)) \
		'^info: port vm3: front-end disconnected'
	before=$(replies 1)/$(replies 2)
	started=$(now_us)
	qr_guest 3 "$PEER_DIR/vm3.$vm3_starts.serial"
	qr_wait_replies "the new vm3 ($vm3_starts) gets ping replies through the client-mode port" \
		3 $((QR_REPLIES - 1)) "$QR_TIMEOUT"
	peer_log "vm3 ($vm3_starts) got replies $(secs_since "$started") s after QEMU started"
	peer_check "vswitch brought vm3 up again" \
		vs_count_at_least $((ups + 1)) '^info: port vm3: up: '
	peer_check "vm1 and vm2 kept getting replies meanwhile ($before -> $(replies 1)/$(replies 2))" \
		replies_grew "${before%/*}" "${before#*/}"
done

# ---------------------------------------------------------------- the end
peer_check "no guest was rebooted unexpectedly (vm1 1, vm2 2)" \
	test "$(inits 1)/$(inits 2)" = 1/2
for n in 1 2 3; do
	peer_check "vm$n's QEMU stops on SIGTERM" qr_stop_guest "$n"
done
peer_check "vswitch alive after everything" vs_alive
peer_vswitch_stop qemu_reconnect
for n in 1 2 3; do
	rx=$(peer_vswitch_stat "vm$n" rx_packets)
	tx=$(peer_vswitch_stat "vm$n" tx_packets)
	peer_check "the restarted vswitch counted frames both ways on vm$n (rx_packets=$rx tx_packets=$tx)" \
		peer_at_least "$QR_REPLIES" "$rx" "$tx"
done
[ "$PEER_FAILED" -eq 0 ] || qr_dump
peer_log "total $SECONDS s"
peer_finish
