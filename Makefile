# vswitch: build, test, install.
#
#   make            build ./vswitch
#   make run        install missing packages, build, run on config.ini.example
#   make test       install missing packages, build, run every test suite
#   make demo       two Linux guests on vswitch, pinging each other
#   make install    PREFIX=/usr/local DESTDIR=
#   make SAN=1      build with AddressSanitizer and UndefinedBehaviorSanitizer
#   make V=1        show full command lines;  make WERROR=1: warnings fail
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz
#   make fuzz-check run each of them for FUZZ_SECONDS (60) on its corpus
#   make cross TARGET=aarch64|aarch64-musl|musl|armhf|s390x|i686: build for
#                   another machine, test it there (qemu-user); make cross-all
#   make ipk TARGET=aarch64|x86_64   an OpenWrt package, without an SDK
#   make dist       the release tarball, build/vswitch-VERSION.tar.gz
#   make test-be    the integration and hostile suites on a big-endian
#                   kernel (s390x, qemu-system-s390x)
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS, STRIP and PKG_CONFIG may be overridden
# (OpenWrt SDK).

CC         ?= cc
STRIP      ?= strip
PKG_CONFIG ?= pkg-config
# Link-time optimisation where the compiler and its linker can do it: the
# engine's calls into vring/ and the FDB are then inlined across files
# (a sixth fewer instructions per frame switched).
LTO        := $(firstword $(foreach f,-flto=auto -flto,$(shell echo \
		'int main(void) { return 0; }' | $(CC) $(f) -x c -o /dev/null - \
		2>/dev/null && echo $(f))))
# No unwind tables: nothing in a C program without exceptions unwinds at
# run time (debuggers read -g's own), and they were a tenth of the binary.
NO_UNWIND  := -fno-asynchronous-unwind-tables -fno-unwind-tables
CFLAGS     ?= -O2 -g $(LTO) $(NO_UNWIND)
LDFLAGS    ?= $(LTO) $(NO_UNWIND)
PREFIX     ?= /usr/local
BUILD      ?= build
# The binary; a cross build puts it in its own $(BUILD).
PROG       ?= vswitch

override CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wformat=2 \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla -Wpointer-arith \
	-Wcast-align -Wundef -fno-strict-aliasing -MMD -MP \
	-D_FILE_OFFSET_BITS=64
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
ifeq ($(SAN),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

PKGS := liburing inih
# Dependency headers are system headers (as in an OpenWrt SDK): their own
# warnings are theirs.
override CFLAGS += $(patsubst -I%,-isystem %,$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -luring -linih)
# Preprocessor flags (an SDK's TARGET_CPPFLAGS): the directories they name
# hold dependencies' headers, included as system headers too.
override CFLAGS += $(patsubst -I%,-isystem %,$(CPPFLAGS))

ifeq ($(V),1)
Q :=
else
Q := @
endif

CORE_SRC := mem/mem.c vring/vring.c vring/driver.c proto/backend.c proto/json.c \
	proto/l2.c proto/switch.c
FE_SRC   := proto/frontend.c
TLIB_SRC := tests/lib/guestmem.c
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FE_OBJ   := $(FE_SRC:%.c=$(BUILD)/%.o)
TLIB_OBJ := $(TLIB_SRC:%.c=$(BUILD)/%.o)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEG      := $(BUILD)/tests/integ
HOSTILE    := $(BUILD)/tests/hostile
FAULTS     := $(BUILD)/tests/faults
UPLINKS    := $(BUILD)/tests/uplinks
CTL        := $(BUILD)/tests/ctl

.PHONY: all deps deps-test demo run test test-lint test-unit test-config test-integ test-peers \
	test-valgrind fuzz fuzz-check bench install clean dist cross cross-all ipk \
	test-be FORCE

all: $(PROG)

# Everything is rebuilt when the compiler or its flags change (SAN=1, ...).
FLAGS := $(BUILD)/.flags
$(FLAGS): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS) $(LIBS)' | cmp -s - $@ || \
		echo '$(CC) $(CFLAGS) $(LDFLAGS) $(LIBS)' > $@
FORCE:

$(PROG): $(BUILD)/vswitch.o $(CORE_OBJ) $(FLAGS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(BUILD)/vswitch.o $(CORE_OBJ) $(LIBS)

$(BUILD)/%.o: %.c $(FLAGS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# The control socket's JSON runs when someone asks, never for a frame:
# compiled for size.
$(BUILD)/proto/json.o: override CFLAGS += -Os

TEST_OBJ := $(CORE_OBJ) $(FE_OBJ) $(TLIB_OBJ)

# test_loop.c includes vswitch.c whole, with io_uring_submit() wrapped.
$(BUILD)/tests/test_loop: vswitch.c
$(BUILD)/tests/test_loop: override LDFLAGS += -Wl,--wrap=io_uring_submit

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(TEST_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_OBJ) $(LIBS)

$(BUILD)/tests/%: tests/integ/%.c tests/integ/harness.c tests/integ/harness.h \
		tests/unit/test.h $(TEST_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $< \
		tests/integ/harness.c $(TEST_OBJ) $(LIBS)

# Debian packages: to build, and to run every test.
DEPS_BUILD := gcc make pkg-config liburing-dev libinih-dev
DEPS_TEST  := qemu-system-x86 busybox-static cpio xz-utils dpdk-dev shellcheck \
	valgrind clang iperf3 mandoc groff-base systemd
# Install what is missing of $(1) (Debian), or say what to install.
define install_missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null; then \
		echo "installing:" $$missing; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing; \
	else \
		echo "not a Debian system: install by hand the equivalents of:"; \
		echo "  build: a C11 compiler, make, pkg-config, liburing, inih"; \
		echo "  tests: qemu-system-x86_64, busybox (static), cpio, xz,"; \
		echo "         dpdk-testpmd (DPDK 22.11), shellcheck, valgrind,"; \
		echo "         clang with libFuzzer"; \
		exit 1; \
	fi
endef

# What building and running need; the tests' toolchain comes with them.
deps:
	$(call install_missing,$(DEPS_BUILD))

deps-test:
	$(call install_missing,$(DEPS_BUILD) $(DEPS_TEST))

# Two Linux guests on vswitch (the one make run started, or one of its
# own), pinging each other: tests/peers/demo.sh.
DEPS_DEMO := qemu-system-x86 busybox-static cpio xz-utils iproute2
demo:
	$(call install_missing,$(DEPS_BUILD) $(DEPS_DEMO))
	$(Q)$(MAKE) --no-print-directory vswitch
	$(Q)bash tests/peers/demo.sh

run: deps
	$(MAKE) vswitch
	./vswitch -c config.ini.example

test: deps-test
	$(MAKE) test-lint test-unit test-config test-integ test-peers

SH_SCRIPTS   := .ci/run openwrt/files/vswitch.init tests/peers/guest/init \
	tests/integ/valgrind.sh tests/cross/be-init
BASH_SCRIPTS := $(wildcard tests/peers/*.sh) tests/peers/guest/mkguest.sh \
	tests/config/run.sh tests/bench/bench.sh tests/cross/cross.sh \
	tests/openwrt/run.sh tests/openwrt/ipk.sh openwrt/ipk.sh \
	tests/cross/test-be.sh tests/install/run.sh
test-lint:
	@echo "== shellcheck"
	$(Q)shellcheck -s sh $(SH_SCRIPTS)
	$(Q)shellcheck -x $(BASH_SCRIPTS)

test-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

test-config: vswitch
	@echo "== tests/config"
	$(Q)bash tests/config/run.sh
	@echo "== tests/install"
	$(Q)bash tests/install/run.sh

# The first cases again with the monotonic clock two seconds after boot
# (a time namespace), as when an init system starts vswitch.
BOOT_CASES := test_three_ports_come_up test_broadcast_reaches_all_other_ports \
	test_port_reconnects_while_others_exchange test_feature_combinations
test-integ: vswitch $(INTEG) $(HOSTILE) $(FAULTS) $(UPLINKS) $(CTL)
	@echo "== $(INTEG)"
	$(Q)$(INTEG) ./vswitch
	@echo "== $(INTEG) two seconds after boot"
	$(Q)up=$$(cut -d. -f1 /proc/uptime); \
		unshare --time --fork --monotonic=-$$((up - 2)) \
		$(INTEG) ./vswitch $(BOOT_CASES)
	@echo "== $(HOSTILE)"
	$(Q)$(HOSTILE) ./vswitch
	@echo "== $(FAULTS)"
	$(Q)$(FAULTS) ./vswitch
	@echo "== $(UPLINKS) (in a network namespace of its own)"
	$(Q)$(UPLINKS) ./vswitch
	@echo "== $(CTL)"
	$(Q)$(CTL) ./vswitch

# The integration suites with ./vswitch under valgrind (memcheck).
test-valgrind: vswitch $(INTEG) $(HOSTILE) $(FAULTS) $(UPLINKS) $(CTL)
	@echo "== $(INTEG) under valgrind"
	$(Q)$(INTEG) tests/integ/valgrind.sh
	@echo "== $(HOSTILE) under valgrind"
	$(Q)$(HOSTILE) tests/integ/valgrind.sh
	@echo "== $(FAULTS) under valgrind"
	$(Q)$(FAULTS) tests/integ/valgrind.sh
	@echo "== $(UPLINKS) under valgrind"
	$(Q)$(UPLINKS) $(CURDIR)/tests/integ/valgrind.sh
	@echo "== $(CTL) under valgrind"
	$(Q)$(CTL) tests/integ/valgrind.sh

test-peers: vswitch
	@set -e; for t in tests/peers/qemu_ping.sh tests/peers/testpmd.sh \
		tests/peers/testpmd_kill.sh tests/peers/qemu_reconnect.sh \
		tests/peers/qemu_uplinks.sh tests/peers/qemu_offload.sh \
		tests/peers/testpmd_tso.sh; do \
		echo "== $$t"; bash $$t; done

# libFuzzer targets (tests/fuzz), always built with clang and ASan+UBSan,
# apart from the build above. fuzz-check runs each on a scratch copy of its
# seed corpus (tests/fuzz/corpus/NAME) and fails on any crash, leak or
# sanitizer report; the input that caused it is kept in build/fuzz.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
ifeq ($(WERROR),1)
FUZZ_CFLAGS  += -Werror
endif
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: $(FUZZERS)

$(BUILD)/fuzz/fuzz_dispatch: tests/fuzz/fuzz_dispatch.c $(CORE_SRC)
$(BUILD)/fuzz/fuzz_vring: tests/fuzz/fuzz_vring.c $(CORE_SRC) $(TLIB_SRC)
$(BUILD)/fuzz/fuzz_offload: tests/fuzz/fuzz_offload.c $(CORE_SRC)
$(BUILD)/fuzz/fuzz_json: tests/fuzz/fuzz_json.c proto/json.c
# fuzz_config.c and fuzz_ctl.c include vswitch.c whole.
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c vswitch.c $(CORE_SRC)
$(BUILD)/fuzz/fuzz_ctl: tests/fuzz/fuzz_ctl.c vswitch.c $(CORE_SRC)
$(BUILD)/fuzz/%: | deps-test
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ \
		$(filter-out vswitch.c,$(filter %.c,$^)) $(LIBS)

fuzz-check: $(FUZZERS)
	$(Q)set -e; for f in $(FUZZERS); do \
		n=$${f##*/fuzz_}; w=$(BUILD)/fuzz/work-$$n; \
		rm -rf $$w; mkdir -p $$w; cp tests/fuzz/corpus/$$n/* $$w/; \
		echo "== $$f for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$n- $$w \
			>$(BUILD)/fuzz/$$n.log 2>&1 || { \
			tail -n 60 $(BUILD)/fuzz/$$n.log; \
			echo "$$f failed: see $(BUILD)/fuzz/$$n.log"; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' \
			$(BUILD)/fuzz/$$n.log; \
		rm -rf $$w; \
	done

# make bench: throughput, CPU per frame, idle cost, latency and footprint
# of vswitch side by side with DPDK's vhost PMD and OVS-DPDK, and guest TCP
# (iperf3 between QEMU guests: vswitch and the vhost PMD), in one run
# (tests/bench/bench.sh says how). Needs root (taskset, hugepages for
# OVS); BENCH_SECONDS, BENCH_ROUNDS, BENCH_IDLE_SECONDS, BENCH_SYSTEMS,
# BENCH_IPERF_SECONDS, BENCH_IPERF_ROUNDS tune it. The packages it needs
# beyond the tests' are installed through deps-test.
BENCH_DEPS := openvswitch-switch-dpdk
VSLOAD     := $(BUILD)/bench/vsload

$(VSLOAD): tests/bench/vsload.c tests/integ/harness.c tests/integ/harness.h \
		$(TEST_OBJ)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/integ/harness.c \
		$(TEST_OBJ) $(LIBS)

bench:
	$(Q)$(MAKE) --no-print-directory deps-test \
		DEPS_TEST="$(DEPS_TEST) $(BENCH_DEPS)"
	$(Q)$(MAKE) --no-print-directory vswitch $(VSLOAD)
	$(Q)VSLOAD=$(VSLOAD) bash tests/bench/bench.sh

# The binary (stripped), the example, and a configuration vswitch starts
# with (sockets in /run/vswitch), unless one is there already: it is the
# administrator's from then on.
# The manual page and the systemd unit, written into $(BUILD) from the
# texts below (the source tree's layout is fixed: they live here), and
# installed by make install.
MANPAGE := $(BUILD)/vswitch.8
UNIT    := $(BUILD)/vswitch.service
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system

define VSWITCH_8
.Dd December 3, 2026
.Dt VSWITCH 8
.Os
.Sh NAME
.Nm vswitch
.Nd vhost-user virtual switch for QEMU guests
.Sh SYNOPSIS
.Nm
.Op Fl tkvVh
.Op Fl c Ar file
.Nm
.Cm ctl
.Op Fl s Ar socket | Fl c Ar file
.Op Fl Fl json
.Ar command
.Op Ar args
.Sh DESCRIPTION
.Nm
is the vhost-user back-end of the guests' virtio-net NICs
.Pf ( Fl netdev Cm vhost-user
in QEMU): it maps their memory, runs their virtqueues and bridges their
frames, and those of TAP and AF_PACKET uplinks, with a MAC learning
table.
One io_uring event loop does all of it and sleeps until a guest kicks.
It stays in the foreground and logs to standard error.
.Pp
The options are:
.Bl -tag -width Ds
.It Fl c Ar file
The configuration; the default is
.Pa /etc/vswitch/config.ini .
.It Fl t
Check the configuration, print it with every default, and exit.
.It Fl k
Check that the kernel's io_uring serves
.Nm ,
and exit: 0, or 1 with one line naming what is missing.
.It Fl v
Log at debug level: every vhost-user message, every address learned.
.It Fl V
Print the version and exit.
.It Fl h
Print a summary of the options and exit.
.El
.Sh CONFIGURATION
An INI file.
.Cm [switch]
holds
.Cm socket_dir ,
.Cm fdb_size ,
.Cm fdb_aging ,
.Cm rx_wait_ms ,
.Cm log_level ,
.Cm user ,
.Cm control ,
.Cm control_owner ,
.Cm control_group ,
.Cm control_perm
and
.Cm control_allow_uid ;
each
.Cm [port Ar name ]
one port:
.Cm type
.Pq Cm vhost-user , tap , af_packet ,
.Cm socket ,
.Cm mode ,
.Cm owner ,
.Cm group ,
.Cm perm ,
.Cm allow_uid ,
.Cm mac ,
.Cm max_macs ,
.Cm vlan ,
.Cm trunk ,
.Cm ifname ,
.Cm bridge ,
.Cm mtu
and
.Cm offload .
The example configuration installed beside it explains every key and
its default.
A key that is unknown, a bad value or a duplicate stops
.Nm
at start-up with
.Ar file : Ns Ar line : reason .
.Sh CONTROL
.Nm
.Cm ctl
asks the running switch over its control socket, the one
.Fl s
names or the configuration
.Pq Fl c
gives:
.Bl -tag -width Ds
.It Cm show Op Ar port
The switch and each port: state, socket or interface, the front-end's
pid and uid, negotiated features, rings, memory, VLANs, last error.
.It Cm stats Op Ar port
Every counter of every port.
.It Cm fdb Oo Cm show Oc Oo Ar port Oc Op Cm vlan Ar n
The learned addresses.
.It Cm fdb flush Op Ar port
Forget them.
.It Cm port Ar port Cm disable | enable
Take a port down (its front-end disconnected and refused, its uplink
closed), or back up.
.It Cm log-level Op Ar level
Set the log level until the next reload.
.It Cm reload
Read the configuration again, as
.Dv SIGHUP
does; the reply lists what changed, or why the file was refused.
.It Cm metrics
The counters in the Prometheus text format.
.It Cm events
Ports coming up and going down, front-ends connecting, addresses
learned, moved and aged, one a line, until interrupted.
.El
.Pp
The output is aligned text;
.Fl Fl json
prints the reply as the switch sent it: one line of JSON.
.Sh SIGNALS
.Bl -tag -width SIGUSR1
.It Dv SIGTERM , SIGINT
Stop: connections closed, socket files removed.
.It Dv SIGHUP
Read the configuration again: new ports open, removed ones close, the
others keep their guests; a file with errors is reported and the running
configuration kept.
.It Dv SIGUSR1
Log every port's counters.
.El
.Sh FILES
.Bl -tag -width Ds
.It Pa /etc/vswitch/config.ini
The configuration.
.It Pa /etc/vswitch/config.ini.example
Every key, explained.
.It Pa /run/vswitch/
The sockets of the installed configuration: the ports'
.Pa NAME.sock
and the control socket
.Pa vswitch.ctl .
.El
.Sh EXIT STATUS
.Nm
exits 0 when stopped by a signal, 1 when it cannot run (no io_uring, no
memory), and 2 for a configuration that does not hold.
.Nm
.Cm ctl
exits 0 on success, 1 on an error reply or a refused connection, 2 on a
usage error or a configuration without a control socket, and 3 when the
switch is not running.
.Sh EXAMPLES
A QEMU guest on port
.Cm vm1 :
.Bd -literal -offset indent
qemu-system-x86_64 -m 1G \e
  -object memory-backend-memfd,id=mem,size=1G,share=on \e
  -numa node,memdev=mem \e
  -chardev socket,id=c1,path=/run/vswitch/vm1.sock \e
  -netdev vhost-user,id=n1,chardev=c1 \e
  -device virtio-net-pci,netdev=n1 ...
.Ed
.Pp
Where does an address live?
.Bd -literal -offset indent
vswitch ctl fdb vlan 10
.Ed
.Sh SEE ALSO
.Xr qemu-system-x86_64 1 ,
.Xr systemd.service 5
.Pp
The README of the source distribution: attaching guests, uplinks, VLANs,
the control socket's wire format and every counter.
endef

define VSWITCH_SERVICE
[Unit]
Description=vswitch, a vhost-user virtual switch
Documentation=man:vswitch(8)
After=network.target
# Guests connect to its sockets: start it before libvirt starts them.
Before=libvirtd.service virtqemud.service

[Service]
Type=simple
ExecStartPre=$(PREFIX)/sbin/vswitch -k
ExecStartPre=$(PREFIX)/sbin/vswitch -t -c /etc/vswitch/config.ini
ExecStart=$(PREFIX)/sbin/vswitch -c /etc/vswitch/config.ini
ExecReload=$(PREFIX)/sbin/vswitch -t -c /etc/vswitch/config.ini
ExecReload=/bin/kill -HUP $$MAINPID
Restart=on-failure
# The installed configuration's socket_dir.
RuntimeDirectory=vswitch
RuntimeDirectoryMode=0755
# What it needs: its sockets (under /run/vswitch), guests' memory (the
# files QEMU passes, hugetlbfs included: no path is opened), taps
# (/dev/net/tun) and packet sockets, and to become the configured user.
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_SETUID CAP_SETGID
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
endef

$(MANPAGE): Makefile | $(FLAGS)
	$(file >$@,$(VSWITCH_8))
	@echo "  GEN     $@"

$(UNIT): FORCE | $(FLAGS)
	$(file >$@,$(VSWITCH_SERVICE))
	@echo "  GEN     $@"

install: $(PROG) $(MANPAGE) $(UNIT)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)/etc/vswitch \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0644 $(MANPAGE) $(DESTDIR)$(MANDIR)/man8/vswitch.8
	install -m 0644 $(UNIT) $(DESTDIR)$(UNITDIR)/vswitch.service
	install -s --strip-program=$(STRIP) -m 0755 $(PROG) \
		$(DESTDIR)$(PREFIX)/sbin/vswitch
	install -m 0644 config.ini.example \
		$(DESTDIR)/etc/vswitch/config.ini.example
	@if [ ! -e $(DESTDIR)/etc/vswitch/config.ini ]; then \
		sed 's|^socket_dir = run$$|socket_dir = /run/vswitch|' \
			config.ini.example >$(DESTDIR)/etc/vswitch/config.ini && \
		chmod 0644 $(DESTDIR)/etc/vswitch/config.ini && \
		echo "installed $(DESTDIR)/etc/vswitch/config.ini"; \
	else \
		echo "kept $(DESTDIR)/etc/vswitch/config.ini"; \
	fi

# The release tarball (what openwrt/Makefile builds from).
VERSION := $(shell sed -n 's/^\#define VSWITCH_VERSION "\(.*\)"/\1/p' vswitch.c)
DIST := $(BUILD)/vswitch-$(VERSION).tar.gz
dist:
	@mkdir -p $(BUILD)
	$(Q)git archive --prefix=vswitch-$(VERSION)/ -o $(DIST) HEAD
	@echo "$(DIST)"

# Other machines: tests/cross/cross.sh says how.
CROSS_TARGETS := aarch64 aarch64-musl musl armhf s390x i686
cross:
	$(Q)tests/cross/cross.sh $(TARGET)

# Every target, the OpenWrt package through a stand-in SDK, and the .ipk
# of each kind, checked.
cross-all:
	$(Q)failed=; for t in $(CROSS_TARGETS); do \
		tests/cross/cross.sh $$t || failed="$$failed $$t"; done; \
	for t in aarch64 armhf; do \
		tests/openwrt/run.sh $$t || failed="$$failed openwrt-$$t"; \
	done; \
	for t in aarch64 x86_64; do \
		f=$$(openwrt/ipk.sh $$t | tail -n 1) && \
		tests/openwrt/ipk.sh $$t "$$f" || failed="$$failed ipk-$$t"; \
	done; \
	tests/cross/cross.sh --table; \
	if [ -n "$$failed" ]; then echo "cross: failed:$$failed"; exit 1; fi

# An OpenWrt package for TARGET=aarch64|x86_64, without an SDK.
ipk:
	$(Q)openwrt/ipk.sh $(TARGET)

# The integration and hostile suites on a big-endian kernel: an s390x
# machine under qemu-system-s390x (tests/cross/test-be.sh says how).
test-be:
	$(Q)tests/cross/test-be.sh

clean:
	rm -rf $(BUILD) vswitch

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
