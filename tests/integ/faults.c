/*
 * Guest memory that vanishes behind exactly one place the switch's data
 * path touches, for every such place, against the real ./vswitch.
 *
 * The offender keeps one part of one ring (guest_opts.victim) in a memory
 * region backed by a file of its own, connects, warms up, and then shrinks
 * that file (guest_cut_victim) and makes the switch go where the part
 * was. Every part x with and without VIRTIO_RING_F_EVENT_IDX (and a
 * sender's headers with and without checksum and segmentation offload) x
 * the offender as sender (its transmit ring) and as receiver (its receive
 * ring), two SEND_RARP announcements, and a ring started again (which
 * reads the used index) after its used ring vanished. Each case checks:
 *   - the outcome: the switch closes the offender's connection with
 *     exactly one "broken: guest memory lost its backing (SIGBUS)" line,
 *     or, where the switch never touches that part in that mode, the
 *     offender stays connected and its frames still go through;
 *   - the switch still runs, the good pair on p0/p1 still exchanges
 *     frames both ways, and a fresh front-end on the offender's port
 *     exchanges a frame with p0;
 *   - the switch is idle afterwards: a switch that keeps faulting on the
 *     same memory (a livelock) burns a whole CPU and fails here, in
 *     bounded time; the switch is then restarted for the next case.
 * At the end the switch holds no more fds and mappings than it held with
 * only the pair connected.
 *
 * Usage: faults PATH-TO-VSWITCH [TEST...] (only those)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"
#include "../unit/test.h"

#define NPORTS		6	/* the pair on p0/p1, offenders on p2..p5 */
#define NFRAMES		3	/* frames a sender queues before the cut */
#define IDLE_MS		300	/* the window the idle switch is watched */
#define DRAIN_MS	50	/* how long a frame that may come is waited */
#define OFFENDER_ID	0x40
#define FRESH_ID	0x50
#define SIGBUS_REASON	"broken: guest memory lost its backing (SIGBUS)"

static const char *bin;
static struct vs v;
static struct guest good[2];
static struct guest off;	/* the current case's offender */
static unsigned int next_port = 2;
static char port[16];		/* the current case's port */
static long case_log_start;	/* size of the log when the case began */
static uint32_t seq = 1;
static long fds0, maps0;	/* with only the pair connected */
static bool switch_bad;		/* restart it before the next case */

enum outcome {
	CLOSED,		/* the switch faults and closes the offender */
	WORKS,		/* the switch never touches the part: nothing breaks */
};

enum trigger {
	SEND,		/* the offender sends to good[0] */
	RECEIVE,	/* good[0] sends to the offender */
	FILL,		/* good[0] sends the offender one frame more than it
			 * has receive buffers posted */
	RARP_TO,	/* good[0]'s front-end asks for a RARP announcement,
			 * which floods into the offender's receive ring */
	RARP_FROM,	/* the offender's front-end asks for one */
	RESTART,	/* the offender's front-end stops its rings and starts
			 * the victim's again: setting it up reads used->idx */
};

struct fcase {
	char name[128];
	enum victim_part part;
	unsigned int q;		/* the offender's ring that loses it */
	bool event_idx;
	bool csum;		/* the offender negotiates CSUM (and TSO) */
	enum trigger trigger;
	enum outcome expect;
};

static const struct fcase *cur;

static const struct {
	enum victim_part part;
	const char *vanishes;
} parts[] = {
	{ VICTIM_DESC, "descriptor_table_vanishes" },
	{ VICTIM_AVAIL, "avail_ring_vanishes" },
	{ VICTIM_USED_EVENT, "used_event_vanishes" },
	{ VICTIM_USED, "used_ring_vanishes" },
	{ VICTIM_AVAIL_EVENT, "avail_event_vanishes" },
	{ VICTIM_INDIRECT, "indirect_tables_vanish" },
	{ VICTIM_BUFFERS, "buffers_vanish" },
	{ VICTIM_HEADERS, "headers_vanish" },
};

#define NPARTS (sizeof(parts) / sizeof(parts[0]))

/*
 * What losing each part costs, from where the switch touches it
 * (vring/vring.c, vswitch.c):
 *  - descriptor table, avail ring, used ring, indirect tables: read or
 *    written for every frame either way: closed.
 *  - buffers: a sender's frame is read out of them (its Ethernet header
 *    first, in forward_frame), a receiver's is written into them: closed.
 *  - headers: a receiver's is written with every frame: closed. A
 *    sender's is read (once, in forward_frame) when it negotiated CSUM
 *    or TSO and may leave checksums and segmentation to the switch:
 *    closed. Without them it is
 *    never read: forward_frame and deliver start reading after it, and
 *    the only other look at it is a prefetch (prefetch_ahead), which does
 *    not fault: works.
 *  - used_event: read by vring_publish only with EVENT_IDX, to decide
 *    whether to interrupt (the first publish after set-up interrupts
 *    without looking; the warm-up takes it): closed with EVENT_IDX. Without
 *    it avail->flags decides, and the word is never touched: works.
 *  - avail_event: written by vring_kick_enable only with EVENT_IDX
 *    (without it, used->flags does the job: works). On a transmit ring
 *    that happens each time the ring runs empty: closed. On a receive
 *    ring only when a sender must wait for its buffers (hold()), hence
 *    the FILL trigger: closed.
 */
static enum outcome expected(enum victim_part part, unsigned int q, bool ei,
			     bool csum)
{
	switch (part) {
	case VICTIM_USED_EVENT:
	case VICTIM_AVAIL_EVENT:
		return ei ? CLOSED : WORKS;
	case VICTIM_HEADERS:
		return q == VU_TX && !csum ? WORKS : CLOSED;
	default:
		return CLOSED;
	}
}

/* ---- the switch and the pair ---- */

static bool start_switch(void)
{
	if (vs_start(&v, bin, NPORTS, NULL, NULL) < 0 ||
	    guest_connect(&good[0], vs_sock(&v, "p0"), NULL, 1) < 0 ||
	    guest_connect(&good[1], vs_sock(&v, "p1"), NULL, 2) < 0 ||
	    announce_port(&good[0], &good[1], 1, 0) < 0 ||
	    announce_port(&good[1], &good[0], 1, 0) < 0)
		return false;
	fds0 = vs_fds(&v);
	maps0 = vs_maps(&v);
	next_port = 2;
	return true;
}

/* A case left the switch dead, stuck or unable to forward: the next case
 * gets a new one, so that each case's result is its own. */
static bool restart_switch(void)
{
	fprintf(stderr, "  restarting the switch for the next case\n");
	guest_close(&good[0]);
	guest_close(&good[1]);
	vs_signal(&v, SIGKILL);
	vs_stop(&v);
	switch_bad = false;
	return start_switch();
}

/* Take the next offender port: p2..p(N-1) in turn. */
static void fresh_port(void)
{
	struct stat st;

	snprintf(port, sizeof(port), "p%u", next_port);
	next_port = next_port + 1 < NPORTS ? next_port + 1 : 2;
	case_log_start = stat(v.log, &st) == 0 ? (long)st.st_size : 0;
}

/* The port's SIGBUS lines in the whole log: ports are reused, so a
 * case compares the count before and after. */
static int sigbus_lines(void)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "port %s: " SIGBUS_REASON, port);
	return vs_log_count(&v, needle);
}

static bool wait_sigbus_lines(int n)
{
	time_t deadline = time(NULL) + H_TIMEOUT_MS / 1000;

	while (sigbus_lines() < n) {
		if (time(NULL) > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

/* On failure: what the switch logged about the port during the case. */
static void show_case_log(void)
{
	char line[512], tag[24];
	FILE *f = fopen(v.log, "r");

	if (!f)
		return;
	snprintf(tag, sizeof(tag), "port %s:", port);
	fseek(f, case_log_start, SEEK_SET);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, tag) && !strstr(line, "debug:"))
			fprintf(stderr, "  log: %s", line);
	fclose(f);
}

/* Over IDLE_MS without traffic, the switch uses less than half of it in
 * CPU time: one that keeps faulting on vanished memory uses all of it. */
static bool switch_idle(void)
{
	long long t0 = vs_cpu_ns(&v), t1;

	usleep(IDLE_MS * 1000);
	t1 = vs_cpu_ns(&v);
	if (t0 < 0 || t1 < 0)
		return false;
	if (t1 - t0 >= IDLE_MS * 1000000LL / 2) {
		fprintf(stderr, "  the switch used %lld ms of CPU in %d ms "
			"without traffic: stuck\n", (t1 - t0) / 1000000,
			IDLE_MS);
		return false;
	}
	return true;
}

static bool pair_ok(void)
{
	return pair_exchanges(&good[0], &good[1], &seq);
}

/* @a sends @b a unicast frame, which @b receives intact. */
static bool unicast(struct guest *a, struct guest *b, size_t len)
{
	uint8_t f[H_MAX_FRAME];
	bool ok;

	frame_make(f, len, b->mac, a->mac, seq);
	ok = guest_send(a, f, len) == 0 &&
	     guest_recv(b, f, sizeof(f), H_TIMEOUT_MS) == (int)len &&
	     frame_check(f, len, b->mac, a->mac, seq);
	seq++;
	return ok;
}

/* A guest that holds nothing: guest_close() on it closes nothing. */
static void guest_clear(struct guest *gu)
{
	memset(gu, 0, sizeof(*gu));
	gu->sock = -1;
	gu->g.fd = -1;
}

/* After the offender: a new front-end on its port works with p0. */
static bool fresh_frontend_works(void)
{
	struct guest fr;
	bool ok;

	guest_clear(&fr);
	if (guest_connect(&fr, vs_sock(&v, port), NULL, FRESH_ID) < 0) {
		fprintf(stderr, "  a fresh front-end cannot connect\n");
		guest_close(&fr);
		return false;
	}
	/* The first frame teaches the switch where the fresh MAC is. */
	ok = unicast(&fr, &good[0], 100) && unicast(&good[0], &fr, 100);
	if (!ok)
		fprintf(stderr, "  a fresh front-end cannot exchange frames "
			"with p0\n");
	guest_close(&fr);
	return ok;
}

/* ---- the case ---- */

/*
 * Two round trips on the offender's connection, so that anything the
 * warm-up left for the switch to do (a kick it has not handled yet) is
 * done before the cut: the switch replies while its loop handles the
 * message, before that turn runs the ports, and takes the second
 * request in a later turn. From then on only the kick that follows the
 * cut makes the switch look at the offender's rings.
 */
static bool settle(struct guest *gu)
{
	return guest_sync(gu) == 0 && guest_sync(gu) == 0;
}

/*
 * The offender broadcasts (the pair learns its MAC and receives it) and
 * p0 sends it a unicast frame, which it receives: both of its rings have
 * published used entries and interrupted once, so the next publish on
 * each reads used_event when EVENT_IDX is on.
 */
static bool warm_up(void)
{
	return announce_port(&off, good, 2, seq++) == 0 &&
	       unicast(&good[0], &off, 200) && guest_tx_done(&off) &&
	       settle(&off);
}

/* A counter of the case's port, as the switch logs it on SIGUSR1;
 * -1 if it does not. */
static long long port_counter(const char *key)
{
	time_t deadline = time(NULL) + H_TIMEOUT_MS / 1000;
	char tag[32];
	int n;

	snprintf(tag, sizeof(tag), "port %s: stats ", port);
	n = vs_log_count(&v, tag);
	vs_signal(&v, SIGUSR1);
	while (vs_log_count(&v, tag) == n) {
		if (time(NULL) > deadline)
			return -1;
		usleep(10000);
	}
	return vs_stat(&v, port, key);
}

/* Is @f (@n bytes) the RARP the switch announces for @mac? */
static bool is_rarp(const uint8_t *f, int n, const uint8_t *mac)
{
	return n == 60 && memcmp(f, mac_broadcast, 6) == 0 &&
	       memcmp(f + 6, mac, 6) == 0 && f[12] == 0x80 && f[13] == 0x35;
}

static int send_rarp(struct guest *gu)
{
	uint8_t mac[8] = { 0 };

	memcpy(mac, gu->mac, 6);
	return vu_fe_request(&gu->fe, VHOST_USER_SEND_RARP, mac, sizeof(mac),
			     NULL, 0, NULL);
}

/* Chains the offender's receive ring has made available and the switch
 * has not used yet. */
static unsigned int rx_posted(const struct guest *gu)
{
	const struct vring_driver *d = &gu->ring[VU_RX];

	return (uint16_t)(d->avail_idx - d->last_used);
}

/*
 * Cut the victim and make the switch go there. @first is the sequence
 * number of the first frame sent, @nsent how many. A sender's frames are
 * queued and published first, while the memory is there, and only then
 * kicked: after the cut the test must not touch the victim either.
 */
static int trigger(uint32_t *first, unsigned int *nsent)
{
	uint8_t f[300];
	unsigned int i, n;
	long long held;

	*first = seq;
	*nsent = 0;
	switch (cur->trigger) {
	case SEND:
		for (i = 0; i < NFRAMES; i++) {
			frame_make(f, sizeof(f), good[0].mac, off.mac, seq++);
			if (guest_queue(&off, f, sizeof(f)) < 0)
				return -1;
		}
		guest_publish(&off, VU_TX);
		if (guest_cut_victim(&off) < 0)
			return -1;
		guest_notify(&off, VU_TX);
		*nsent = NFRAMES;
		return 0;
	case RECEIVE:
	case FILL:
		n = cur->trigger == FILL ? rx_posted(&off) + 1 : 1;
		held = cur->trigger == FILL ? port_counter("tx_held") : 0;
		if (held < 0 || guest_cut_victim(&off) < 0)
			return -1;
		for (i = 0; i < n; i++) {
			frame_make(f, sizeof(f), off.mac, good[0].mac, seq++);
			if (guest_send(&good[0], f, sizeof(f)) < 0)
				return -1;
		}
		*nsent = n;
		if (cur->trigger == RECEIVE)
			return 0;
		/*
		 * p0 gets its last buffer back once that frame has found
		 * the offender's ring empty and waited: until the port
		 * broke, or rx_wait_ms, after which it was dropped. The
		 * offender posts nothing meanwhile, or the frame might
		 * not wait at all. That it did is in the counters.
		 */
		if (!guest_tx_done(&good[0]))
			return -1;
		if (port_counter("tx_held") != held + 1) {
			fprintf(stderr, "  no frame waited for the offender's "
				"receive buffers\n");
			return -1;
		}
		return 0;
	case RARP_TO:
		if (guest_cut_victim(&off) < 0)
			return -1;
		return send_rarp(&good[0]);
	case RARP_FROM:
		if (guest_cut_victim(&off) < 0)
			return -1;
		return send_rarp(&off);
	case RESTART: {
		uint16_t bases[VU_NUM_VQ];
		uint64_t q = cur->q;

		if (guest_stop(&off, bases) < 0 || guest_cut_victim(&off) < 0)
			return -1;
		/* The switch closes the connection on the fault: the
		 * acknowledgement may or may not come. */
		vu_fe_request(&off.fe, VHOST_USER_SET_VRING_KICK, &q,
			      sizeof(q), &off.kick_dev[q], 1, NULL);
		return 0;
	}
	}
	return -1;
}

/* WORKS: what the trigger sent arrives, and the offender keeps going. */
static bool still_works(uint32_t first, unsigned int nsent)
{
	uint8_t f[H_MAX_FRAME];
	unsigned int got = 0;
	int n;

	if (cur->trigger == SEND) {
		for (got = 0; got < nsent; got++) {
			n = guest_recv(&good[0], f, sizeof(f), H_TIMEOUT_MS);
			if (n != 300 || !frame_check(f, 300, good[0].mac,
						     off.mac, first + got))
				break;
		}
		if (!guest_tx_done(&off))
			return false;
	} else {
		/* After FILL, the last frame waited rx_wait_ms for buffers
		 * and was dropped (see trigger()). */
		if (cur->trigger == FILL)
			nsent--;
		for (got = 0; got < nsent; got++) {
			n = guest_recv(&off, f, sizeof(f), H_TIMEOUT_MS);
			if (n != 300 || !frame_check(f, 300, off.mac,
						     good[0].mac, first + got))
				break;
		}
		if (guest_pending(&off)) {
			fprintf(stderr, "  the offender got a frame too many\n");
			return false;
		}
	}
	if (got != nsent) {
		fprintf(stderr, "  %u of %u frames came through\n", got,
			nsent);
		return false;
	}
	return unicast(&off, &good[0], 400) && unicast(&good[0], &off, 400);
}

/*
 * What the pair may have been given by the case: the frames a sender got
 * out before its ring broke, and RARP announcements (which must come).
 * Nothing else.
 */
static bool pair_drained(uint32_t first, unsigned int nsent)
{
	uint8_t f[H_MAX_FRAME];
	unsigned int i, got = 0;
	int n;

	for (i = 0; i < 2; i++) {
		const uint8_t *rarp = NULL;

		if (cur->trigger == RARP_FROM)
			rarp = off.mac;
		else if (cur->trigger == RARP_TO && i == 1)
			rarp = good[0].mac;
		if (rarp) {
			n = guest_recv(&good[i], f, sizeof(f), H_TIMEOUT_MS);
			if (!is_rarp(f, n, rarp)) {
				fprintf(stderr, "  p%u did not get the RARP\n",
					i);
				return false;
			}
		}
		while ((n = guest_recv(&good[i], f, sizeof(f), DRAIN_MS)) !=
		       -ETIMEDOUT) {
			if (cur->trigger == SEND && i == 0 && got < nsent &&
			    n == 300 && frame_check(f, 300, good[0].mac,
						    off.mac, first + got)) {
				got++;
				continue;
			}
			fprintf(stderr, "  p%u got a frame it should not "
				"have (%d)\n", i, n);
			return false;
		}
	}
	return true;
}

static void run_case(void)
{
	struct guest_opts o = guest_defaults();
	enum outcome out = cur->expect;
	unsigned int nsent;
	uint32_t first;
	int lines0 = sigbus_lines(), lines;
	bool closed = false;

	if (!cur->event_idx)
		o.features &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	if (!cur->csum)
		o.features &= ~((1ULL << VIRTIO_NET_F_CSUM) |
				(1ULL << VIRTIO_NET_F_HOST_TSO4) |
				(1ULL << VIRTIO_NET_F_HOST_TSO6) |
				(1ULL << VIRTIO_NET_F_HOST_ECN));
	o.victim = cur->part;
	o.victim_q = cur->q;
	REQUIRE(guest_connect(&off, vs_sock(&v, port), &o, OFFENDER_ID) == 0);
	REQUIRE(warm_up());
	REQUIRE(trigger(&first, &nsent) == 0);
	if (out == CLOSED) {
		closed = guest_closed_by_peer(&off, H_TIMEOUT_MS);
		CHECK(closed);
		if (!closed && (!vs_alive(&v) || !switch_idle())) {
			/* The checks below would only time out. */
			fprintf(stderr, "  the switch is %s\n",
				vs_alive(&v) ? "stuck" : "dead");
			switch_bad = true;
			return;
		}
		CHECK(wait_sigbus_lines(lines0 + 1));
	} else {
		CHECK(still_works(first, nsent));
		CHECK(!guest_closed_by_peer(&off, 0));
	}
	CHECK(pair_drained(first, nsent));
	guest_close(&off);

	CHECK(vs_alive(&v));
	if (!vs_alive(&v)) {
		switch_bad = true;
		return;
	}
	if (!pair_ok()) {
		CHECK(!"the pair exchanges frames");
		switch_bad = true;
	}
	CHECK(fresh_frontend_works());
	/* Everything before this round trip is done: from here on the
	 * switch has nothing to do. */
	CHECK(guest_sync(&good[0]) == 0);
	if (!switch_idle()) {
		CHECK(!"the switch is idle afterwards");
		switch_bad = true;
	}
	lines = sigbus_lines() - lines0;
	if (lines != (out == CLOSED ? 1 : 0))
		fprintf(stderr, "  \"port %s: " SIGBUS_REASON "\" logged %d "
			"times\n", port, lines);
	CHECK(lines == (out == CLOSED ? 1 : 0));
}

static void run(const struct fcase *c)
{
	if (switch_bad && !restart_switch()) {
		fprintf(stderr, "cannot restart the switch\n");
		exit(test_summary() | 1);
	}
	cur = c;
	fresh_port();
	guest_clear(&off);
	test_run(c->name, run_case);
	guest_close(&off);
	if (test_case_failed) {
		show_case_log();
		/* A switch that still works goes on to the next case; one
		 * that is dead, stuck or no longer forwards is replaced. */
		if (!switch_bad && !(vs_alive(&v) && switch_idle() &&
				     pair_ok()))
			switch_bad = true;
	}
}

static void add_csum(struct fcase *c, unsigned int *n,
		     enum victim_part part, unsigned int q, bool ei,
		     enum trigger t, const char *what, bool csum)
{
	struct fcase *k = &c[(*n)++];

	k->part = part;
	k->q = q;
	k->event_idx = ei;
	k->csum = csum;
	k->trigger = t;
	k->expect = expected(part, q, ei, csum);
	snprintf(k->name, sizeof(k->name), "test_%s_%s_event_idx%s_%s", what,
		 ei ? "with" : "without", csum ? "" : "_without_offloads",
		 k->expect == CLOSED ? "closes_only_it" : "never_touched");
}

static void add(struct fcase *c, unsigned int *n, enum victim_part part,
		unsigned int q, bool ei, enum trigger t, const char *what)
{
	add_csum(c, n, part, q, ei, t, what, true);
}

int main(int argc, char **argv)
{
	/* Each part, each ring, with and without EVENT_IDX; two RARPs,
	 * with and without. */
	static struct fcase cases[NPARTS * 2 * 2 + 2 + 2 * 2 + 2];
	unsigned int n = 0, i, side, p;
	char what[96];
	long fds, maps;
	time_t deadline;

	if (argc < 2) {
		fprintf(stderr, "usage: faults PATH-TO-VSWITCH [TEST...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bin = argv[1];
	test_select(argv + 2);
	if (!start_switch()) {
		fprintf(stderr, "cannot start the switch and the pair\n");
		return 1;
	}

	for (side = 0; side < 2; side++) {
		unsigned int q = side ? VU_RX : VU_TX;

		for (p = 0; p < NPARTS; p++) {
			enum victim_part part = parts[p].part;
			enum trigger t = q == VU_TX ? SEND :
					 part == VICTIM_AVAIL_EVENT ? FILL :
					 RECEIVE;

			snprintf(what, sizeof(what), "%s_%s",
				 q == VU_TX ? "sender" : "receiver",
				 parts[p].vanishes);
			add(cases, &n, part, q, true, t, what);
			add(cases, &n, part, q, false, t, what);
			/* A sender's header is read only with CSUM. */
			if (part == VICTIM_HEADERS && q == VU_TX) {
				add_csum(cases, &n, part, q, true, t, what,
					 false);
				add_csum(cases, &n, part, q, false, t, what,
					 false);
			}
		}
	}
	for (i = 0; i < 2; i++) {
		add(cases, &n, VICTIM_BUFFERS, VU_RX, i == 0, RARP_TO,
		    "rarp_into_a_receiver_whose_buffers_vanished");
		add(cases, &n, VICTIM_AVAIL, VU_TX, i == 0, RARP_FROM,
		    "rarp_from_a_sender_whose_avail_ring_vanished");
	}
	for (i = 0; i < 2; i++)
		add(cases, &n, VICTIM_USED, i ? VU_RX : VU_TX, true, RESTART,
		    i ? "receive_ring_restarted_after_its_used_ring_vanished" :
			"transmit_ring_restarted_after_its_used_ring_vanished");
	for (i = 0; i < n; i++)
		if (test_selected(cases[i].name))
			run(&cases[i]);

	/* Everything every offender brought is gone: the last ones go
	 * while the switch handles their hang-ups. */
	test_current = "test_nothing_left_behind";
	test_case_failed = 0;
	deadline = time(NULL) + H_TIMEOUT_MS / 1000;
	do {
		fds = vs_fds(&v);
		maps = vs_maps(&v);
		if (fds <= fds0 && maps <= maps0)
			break;
		usleep(10000);
	} while (time(NULL) < deadline);
	if (fds > fds0 || maps > maps0)
		fprintf(stderr, "  fds %ld -> %ld, mappings %ld -> %ld\n",
			fds0, fds, maps0, maps);
	CHECK(fds >= 0 && fds <= fds0);
	CHECK(maps >= 0 && maps <= maps0);
	CHECK(vs_stop(&v) == 0);
	if (test_case_failed)
		test_failed++, printf("FAIL test_nothing_left_behind\n");
	else
		test_passed++, printf("ok   test_nothing_left_behind\n");
	guest_close(&good[0]);
	guest_close(&good[1]);
	return test_summary();
}
