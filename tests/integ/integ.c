/*
 * Integration tests: the real ./vswitch, driven by the project's own
 * front-end playing several guests over UNIX sockets, memfd guest memory
 * and eventfds. Usage: integ PATH-TO-VSWITCH [TEST...] (only those).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "harness.h"
#include "../unit/test.h"

static const char *bin;

/* Send one frame from @from to @dst (a MAC), numbered @seq. */
static int send_to(struct guest *from, const uint8_t *dst, uint32_t seq,
		   size_t len)
{
	uint8_t f[H_MAX_FRAME];

	frame_make(f, len, dst, from->mac, seq);
	return guest_send(from, f, len);
}

/* Wait for frame @seq from @from to @dst on @to. */
static bool got(struct guest *to, const struct guest *from,
		const uint8_t *dst, uint32_t seq, size_t len)
{
	uint8_t f[H_MAX_FRAME];
	int n = guest_recv(to, f, sizeof(f), H_TIMEOUT_MS);

	if (n < 0) {
		fprintf(stderr, "  recv: %s\n", strerror(-n));
		return false;
	}
	return (size_t)n == len && frame_check(f, len, dst, from->mac, seq);
}

static bool start(struct vs *v, unsigned int nports, const char *extra)
{
	if (vs_start(v, bin, nports, extra, NULL) < 0) {
		fprintf(stderr, "  cannot start %s\n", bin);
		return false;
	}
	return true;
}

/* Stop the switch and check it exits 0. */
static void stop(struct vs *v)
{
	CHECK(vs_alive(v));
	CHECK(vs_stop(v) == 0);
}

static int connect_n(struct vs *v, struct guest *g, unsigned int n,
		     const struct guest_opts *o)
{
	unsigned int i;
	char name[8];

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		if (guest_connect(&g[i], vs_sock(v, name), o,
				  (uint8_t)(i + 1)) < 0)
			return -1;
	}
	return 0;
}

/* Each guest sends a broadcast that all others take: every address is
 * learned and no guest has a frame waiting. */
static bool announce(struct guest *g, unsigned int n, uint32_t seq)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		if (send_to(&g[i], mac_broadcast, seq + i, 60) < 0)
			return false;
		for (j = 0; j < n; j++)
			if (j != i && !got(&g[j], &g[i], mac_broadcast,
					   seq + i, 60))
				return false;
	}
	return true;
}

TEST(test_three_ports_come_up)
{
	struct vs v;
	struct guest g[3];

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	CHECK(vs_wait_log(&v, "port p0: up"));
	CHECK(vs_wait_log(&v, "port p1: up"));
	CHECK(vs_wait_log(&v, "port p2: up"));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	CHECK(vs_wait_log(&v, "port p2: front-end disconnected"));
	stop(&v);
}

TEST(test_broadcast_reaches_all_other_ports)
{
	struct vs v;
	struct guest g[3];

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(send_to(&g[0], mac_broadcast, 1, 60) == 0);
	CHECK(got(&g[1], &g[0], mac_broadcast, 1, 60));
	CHECK(got(&g[2], &g[0], mac_broadcast, 1, 60));
	CHECK(!guest_pending(&g[0]));		/* never back to the sender */
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_stat(&v, "p0", "rx_packets") == 1);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 1);
	CHECK(vs_stat(&v, "p2", "tx_packets") == 1);
	CHECK(vs_stat(&v, "p0", "tx_packets") == 0);
}

TEST(test_unknown_unicast_floods_then_learned_unicast_is_private)
{
	struct vs v;
	struct guest g[3];

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	/* p1's address is unknown yet: flooded. */
	REQUIRE(send_to(&g[0], g[1].mac, 1, 100) == 0);
	CHECK(got(&g[1], &g[0], g[1].mac, 1, 100));
	CHECK(got(&g[2], &g[0], g[1].mac, 1, 100));
	/* p1 answers: now both addresses are learned. */
	REQUIRE(send_to(&g[1], g[0].mac, 2, 100) == 0);
	CHECK(got(&g[0], &g[1], g[0].mac, 2, 100));
	REQUIRE(send_to(&g[0], g[1].mac, 3, 100) == 0);
	CHECK(got(&g[1], &g[0], g[1].mac, 3, 100));
	/* p2 saw the flooded frame only: the next thing it gets is a
	 * broadcast sent after the unicast frames. */
	REQUIRE(send_to(&g[0], mac_broadcast, 4, 60) == 0);
	CHECK(got(&g[2], &g[0], mac_broadcast, 4, 60));
	CHECK(!guest_pending(&g[2]));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
}

/* Exchange @n frames of varying sizes both ways between @a and @b. */
static bool exchange(struct guest *a, struct guest *b, uint32_t seq0,
		     unsigned int n, size_t maxlen)
{
	static const size_t sizes[] = { 60, 64, 128, 511, 1514, 1000, 14,
					 300, 1500, 42 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t len = sizes[i % 10] < 18 ? 18 : sizes[i % 10];

		if (len > maxlen)
			len = maxlen;
		if (send_to(a, b->mac, seq0 + 2 * i, len) < 0 ||
		    !got(b, a, b->mac, seq0 + 2 * i, len))
			return false;
		if (send_to(b, a->mac, seq0 + 2 * i + 1, len) < 0 ||
		    !got(a, b, a->mac, seq0 + 2 * i + 1, len))
			return false;
	}
	return true;
}

TEST(test_port_reconnects_while_others_exchange)
{
	struct vs v;
	struct guest g[3];
	int round;

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(announce(g, 3, 10));
	CHECK(exchange(&g[0], &g[2], 100, 5, 1514));
	for (round = 0; round < 3; round++) {
		guest_close(&g[2]);
		/* Its address is forgotten: a frame to it floods to p1. */
		REQUIRE(send_to(&g[0], g[2].mac, 900, 60) == 0);
		CHECK(got(&g[1], &g[0], g[2].mac, 900, 60));
		CHECK(exchange(&g[0], &g[1], 1000 + 100 * round, 20, 1514));
		REQUIRE(guest_connect(&g[2], vs_sock(&v, "p2"), NULL, 3) == 0);
		REQUIRE(announce(g, 3, 20));
		CHECK(exchange(&g[0], &g[2], 2000 + 100 * round, 5, 1514));
		CHECK(exchange(&g[1], &g[0], 3000 + 100 * round, 5, 1514));
		CHECK(!guest_pending(&g[0]) && !guest_pending(&g[1]) &&
		      !guest_pending(&g[2]));
	}
	CHECK(vs_wait_log_count(&v, "port p2: front-end connected", 4) == 4);
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
}

/*
 * A guest whose memory vswitch does not see (QEMU's memory backend
 * without share=on) kicks, and its transmit ring never moves: said once,
 * naming the likely cause. A guest whose ring moves and that kicks for
 * nothing hears nothing of it.
 */
TEST(test_kicks_into_a_ring_that_never_moves_are_explained)
{
	static const char needle[] = "the guest kicked its transmit ring, "
				     "which has never held a frame: its "
				     "memory is likely not shared with "
				     "vswitch (QEMU: share=on";
	char p0[160], p1[160];
	struct vs v;
	struct guest g[2];
	uint64_t one = 1;
	uint32_t seq = 1;
	int i;

	snprintf(p0, sizeof(p0), "port p0: %s", needle);
	snprintf(p1, sizeof(p1), "port p1: %s", needle);
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	/* p1's ring has moved: */
	REQUIRE(send_to(&g[1], mac_broadcast, seq, 60) == 0);
	CHECK(got(&g[0], &g[1], mac_broadcast, seq, 60));
	seq++;
	/* Each kick taken before the next: a frame from p1 behind it. */
	for (i = 0; i < 20; i++) {
		CHECK(write(g[0].kick[VU_TX], &one, 8) == 8);
		CHECK(write(g[1].kick[VU_TX], &one, 8) == 8);
		REQUIRE(send_to(&g[1], mac_broadcast, seq, 60) == 0);
		CHECK(got(&g[0], &g[1], mac_broadcast, seq, 60));
		seq++;
	}
	CHECK(vs_wait_log(&v, p0));
	CHECK(vs_log_count(&v, p0) == 1);
	CHECK(vs_log_count(&v, p1) == 0);
	/* Its ring moves after all: it forwards as any other. */
	CHECK(exchange(&g[0], &g[1], seq, 3, 1514));
	CHECK(vs_log_count(&v, p0) == 1);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

/*
 * Frames flooded to a guest whose driver has posted no receive buffer yet
 * (up, but its interface not yet: as while a guest boots) are counted
 * apart from drops of a running guest: a healthy boot shows no
 * tx_no_buffer. Once it has posted buffers, a full ring is a drop.
 */
TEST(test_frames_before_a_guest_posts_buffers_are_counted_apart)
{
	struct guest_opts late = guest_defaults();
	struct vs v;
	struct guest g[3];
	unsigned int i, k, n = late.qsz + 5;

	late.rx_later = true;
	REQUIRE(start(&v, 3, NULL));
	REQUIRE(guest_connect(&g[0], vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&g[1], vs_sock(&v, "p1"), NULL, 2) == 0);
	REQUIRE(guest_connect(&g[2], vs_sock(&v, "p2"), &late, 3) == 0);
	for (i = 0; i < 3; i++) {
		REQUIRE(send_to(&g[0], mac_broadcast, 10 + i, 60) == 0);
		CHECK(got(&g[1], &g[0], mac_broadcast, 10 + i, 60));
	}
	/* Its driver comes up: the next broadcasts fill its buffers, and
	 * those beyond are dropped. */
	guest_fill_rx(&g[2]);
	for (i = 0; i < n; i++) {
		REQUIRE(send_to(&g[0], mac_broadcast, 100 + i, 60) == 0);
		CHECK(got(&g[1], &g[0], mac_broadcast, 100 + i, 60));
	}
	for (k = 0; guest_pending(&g[2]); k++)
		CHECK(got(&g[2], &g[0], mac_broadcast, 100 + k, 60));
	CHECK(k > 0 && k < n);
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_stat(&v, "p2", "tx_before_buffers") == 3);
	CHECK(vs_stat(&v, "p2", "tx_no_buffer") == (long long)(n - k));
	CHECK(vs_stat(&v, "p1", "tx_before_buffers") == 0);
	CHECK(vs_stat(&v, "p1", "tx_no_buffer") == 0);
}

/* Two guests with the same options exchange frames. */
static void pair_with(const struct guest_opts *o, const struct guest_opts *o2,
		      size_t maxlen)
{
	struct vs v;
	struct guest a, b;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), o, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), o2 ? o2 : o, 2) == 0);
	CHECK(exchange(&a, &b, 1, 300, maxlen));	/* wraps the rings */
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

TEST(test_feature_combinations)
{
	static const uint64_t optional[] = {
		1ULL << VIRTIO_NET_F_MRG_RXBUF,
		1ULL << VIRTIO_RING_F_INDIRECT_DESC,
		1ULL << VIRTIO_RING_F_EVENT_IDX,
	};
	unsigned int mask, i;

	for (mask = 0; mask < 8; mask++) {
		struct guest_opts o = guest_defaults();

		for (i = 0; i < 3; i++)
			if (!(mask & (1u << i)))
				o.features &= ~optional[i];
		/* Without mergeable buffers a buffer holds a whole frame. */
		if (!(mask & 1))
			o.rxbuf = 1536 + 12;
		printf("  features 0x%llx\n", (unsigned long long)o.features);
		pair_with(&o, NULL, 1514);
	}
}

/*
 * A legacy guest (no VERSION_1) keeps its rings in its own byte order:
 * little-endian, which the switch takes, where the host is. A big-endian
 * switch refuses them (vring_setup): the guest with @legacy's options
 * does not come up on p1, the log says why, and the port then takes a
 * VERSION_1 guest that exchanges frames with the one on p0.
 */
static void legacy_refused(const struct guest_opts *legacy)
{
	struct vs v;
	struct guest a, b;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	CHECK(guest_connect(&b, vs_sock(&v, "p1"), legacy, 2) < 0);
	guest_close(&b);
	CHECK(vs_wait_log(&v, "port p1: SET_VRING_KICK: ring 0: legacy virtio "
			  "(no VERSION_1) keeps rings in the host's "
			  "big-endian order"));
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	CHECK(exchange(&a, &b, 1, 20, 1514));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

TEST(test_legacy_header_without_version_1)
{
	struct guest_opts o = guest_defaults();

	/* A 10-byte header: no VERSION_1, no MRG_RXBUF. */
	o.features &= ~((1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_NET_F_MRG_RXBUF));
	o.rxbuf = 1536 + 12;
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
		legacy_refused(&o);
	else
		pair_with(&o, NULL, 1514);
}

TEST(test_mixed_features_between_guests)
{
	struct guest_opts a = guest_defaults(), b = guest_defaults();

	b.features &= ~((1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			(1ULL << VIRTIO_RING_F_EVENT_IDX));
	b.rxbuf = 1536 + 12;
	b.protocol = 0;		/* and no protocol features at all */
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
		legacy_refused(&b);
	else
		pair_with(&a, &b, 1514);
}

/*
 * Offloads between every sender {leaves nothing to the switch, leaves
 * checksums (CSUM), leaves checksums and TCP segmentation (TSO4, TSO6)}
 * and every receiver {takes nothing left, takes checksums (GUEST_CSUM),
 * takes both (GUEST_TSO4/6)}, two guests of each kind: TCP and UDP over
 * IPv4 and IPv6, short and full-sized, TSO frames of whole and partial
 * segments, unicast and flooded to all at once. Each receiver gets each
 * frame byte for byte as the test's own reference makes it for what it
 * negotiated: the sender's header and bytes as they were, the checksum
 * complete, or the segments (left NEEDS_CSUM or complete).
 */
#define OFF_GUESTS 6

static uint64_t off_features(unsigned int kind)
{
	uint64_t f = guest_defaults().features;

	if (kind < 2)
		f &= ~((1ULL << VIRTIO_NET_F_HOST_TSO4) |
		       (1ULL << VIRTIO_NET_F_HOST_TSO6) |
		       (1ULL << VIRTIO_NET_F_HOST_ECN) |
		       (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
		       (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
		       (1ULL << VIRTIO_NET_F_GUEST_ECN));
	if (kind < 1)
		f &= ~((1ULL << VIRTIO_NET_F_CSUM) |
		       (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	return f;
}

/* Receiver @to's next frame is @want (@len bytes) after header @h (or
 * any header without flags, with @h NULL). */
static bool got_exactly(struct guest *to, const struct virtio_net_hdr *h,
			const uint8_t *want, size_t len)
{
	static uint8_t got[H_MAX_FRAME];
	struct virtio_net_hdr rh;
	int n = guest_recv_hdr(to, &rh, got, sizeof(got), H_TIMEOUT_MS);

	if (n != (int)len || memcmp(got, want, len) != 0) {
		fprintf(stderr, "  got %d bytes, not the %zu expected\n", n,
			len);
		return false;
	}
	if (h ? memcmp(&rh, h, 10) != 0 : rh.flags != 0 || rh.gso_type) {
		fprintf(stderr, "  header flags %u gso %u, not %u %u\n",
			rh.flags, rh.gso_type, h ? h->flags : 0,
			h ? h->gso_type : 0);
		return false;
	}
	return !(h ? false : !l4_csum_ok(got, len));
}

TEST(test_offload_combinations)
{
	static const struct { size_t payload, mss; } tso[] = {
		{ 5000, 1400 }, { 4200, 1400 }, { 9000, 536 },
	};
	static const size_t sizes[] = { 1, 333, 1400 };
	static uint8_t f[H_MAX_FRAME], want[H_MAX_FRAME];
	struct vs v;
	struct guest g[OFF_GUESTS];
	unsigned int s, r, k, n = 0, i;
	long long partial[OFF_GUESTS] = { 0 }, gso[OFF_GUESTS] = { 0 };
	long long segmented[OFF_GUESTS] = { 0 };
	char name[OFF_GUESTS][8];

	REQUIRE(start(&v, OFF_GUESTS, NULL));
	for (k = 0; k < OFF_GUESTS; k++) {
		struct guest_opts o = guest_defaults();

		o.features = off_features(k / 2);
		snprintf(name[k], sizeof(name[k]), "p%u", k);
		REQUIRE(guest_connect(&g[k], vs_sock(&v, name[k]), &o,
				      (uint8_t)(k + 1)) == 0);
	}
	REQUIRE(announce(g, OFF_GUESTS, 1));
	for (s = 0; s < OFF_GUESTS; s++) {
		unsigned int kind = s / 2, nk = kind == 2 ? 18 : 12;

		for (k = 0; k < nk * 2; k++, n++) {
			bool v6 = k & 1, tcp = k & 2 || k >= 12;
			bool flood = k >= nk, is_tso = k % nk >= 12;
			size_t len, start, off, mss = 0;
			const uint8_t *dst = flood ? mac_broadcast :
					     g[(s + 1 + k % 5) % OFF_GUESTS].mac;
			struct virtio_net_hdr h;

			if (is_tso) {
				mss = tso[(k % nk - 12) / 2].mss;
				len = l4_frame(f, dst, g[s].mac, v6, 6,
					       tso[(k % nk - 12) / 2].payload, n,
					       &h);
				l4_tso(&h, f, (uint16_t)mss);
				gso[s]++;
			} else {
				len = l4_frame(f, dst, g[s].mac, v6,
					       tcp ? 6 : 17, sizes[k / 4 % 3],
					       n, &h);
			}
			start = le16toh(h.csum_start);
			off = le16toh(h.csum_offset);
			memcpy(want, f, len);
			l4_complete(want, len, start, off);
			partial[s] += kind > 0;
			/* A sender without CSUM sends it complete. */
			CHECK(guest_send_hdr(&g[s], kind ? &h : NULL,
					     kind ? f : want, len) == 0);
			for (r = 0; r < OFF_GUESTS; r++) {
				unsigned int rk = r / 2;
				struct virtio_net_hdr sh = { 0 };
				static uint8_t seg[H_MAX_FRAME];
				size_t sl;

				if (r == s ||
				    (!flood && memcmp(dst, g[r].mac, 6)))
					continue;
				if (!kind || (rk == 0 && !is_tso)) {
					CHECK(got_exactly(&g[r], NULL, want,
							  len));
					continue;
				}
				if (!is_tso || rk == 2) {
					CHECK(got_exactly(&g[r], &h, f, len));
					continue;
				}
				segmented[r]++;
				sh.flags = rk ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
				sh.csum_start = rk ? h.csum_start : 0;
				sh.csum_offset = rk ? h.csum_offset : 0;
				for (i = 0; (sl = l4_segment(f, len, mss, i,
							     rk == 1, seg));
				     i++)
					CHECK(got_exactly(&g[r],
							  rk ? &sh : NULL,
							  seg, sl));
			}
		}
	}
	for (k = 0; k < OFF_GUESTS; k++)
		CHECK(!guest_pending(&g[k]));
	vs_signal(&v, SIGUSR1);
	CHECK(vs_wait_log(&v, "port p5: stats"));
	for (k = 0; k < OFF_GUESTS; k++) {
		CHECK(vs_stat(&v, name[k], "rx_csum_partial") == partial[k]);
		CHECK(vs_stat(&v, name[k], "rx_gso") == gso[k]);
		CHECK(vs_stat(&v, name[k], "tx_segmented") == segmented[k]);
		CHECK(vs_stat(&v, name[k], "rx_bad_header") == 0);
	}
	CHECK(gso[4] == 12 && segmented[0] > 0 && segmented[3] > 0);
	for (k = 0; k < OFF_GUESTS; k++)
		guest_close(&g[k]);
	stop(&v);
}

TEST(test_tiny_regions_split_buffers)
{
	struct guest_opts o = guest_defaults();

	o.nregions = 8;
	o.rxbuf = 1000;		/* mergeable buffers that straddle regions */
	pair_with(&o, NULL, 1514);
}

TEST(test_jumbo_frames_mergeable_and_big_buffers)
{
	struct guest_opts mrg = guest_defaults(), big = guest_defaults();
	struct vs v;
	struct guest a, b;
	unsigned int i;

	big.features &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	big.rxbuf = H_MAX_FRAME + 12;
	big.qsz = 64;
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), &mrg, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), &big, 2) == 0);
	for (i = 0; i < 20; i++) {
		size_t len = 9000 + i * 300;	/* up to 8 mergeable buffers */

		REQUIRE(send_to(&a, b.mac, i, len) == 0);
		CHECK(got(&b, &a, b.mac, i, len));
		REQUIRE(send_to(&b, a.mac, 100 + i, len) == 0);
		CHECK(got(&a, &b, a.mac, 100 + i, len));
	}
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

TEST(test_small_buffers_without_mergeable_drop)
{
	struct guest_opts small = guest_defaults();
	struct vs v;
	struct guest a, b;

	small.features &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	small.rxbuf = 1024;
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), &small, 2) == 0);
	REQUIRE(send_to(&a, b.mac, 1, 1500) == 0);	/* does not fit */
	REQUIRE(send_to(&a, b.mac, 2, 500) == 0);	/* fits */
	CHECK(got(&b, &a, b.mac, 2, 500));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_small_buffer") == 1);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 1);
}

TEST(test_kick_before_device_up_is_kept)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest a, b;

	o.no_enable = true;
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), &o, 1) == 0);
	/* The transmit ring runs, but the device is not up until its
	 * receive ring is enabled too: frames kicked now wait for it. */
	REQUIRE(guest_enable_ring(&a, VU_TX, true) == 0);
	REQUIRE(send_to(&a, mac_broadcast, 1, 60) == 0);
	REQUIRE(send_to(&a, mac_broadcast, 2, 60) == 0);
	REQUIRE(guest_sync(&a) == 0);
	CHECK(!guest_pending(&b));
	REQUIRE(guest_enable_ring(&a, VU_RX, true) == 0);
	CHECK(got(&b, &a, mac_broadcast, 1, 60));
	CHECK(got(&b, &a, mac_broadcast, 2, 60));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

/* The bytes waiting in pipe @fd, or -1. */
static int pipe_bytes(int fd)
{
	int n;

	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

TEST(test_pipe_kicks_are_read)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest g[2];
	unsigned int i, tries = 0;

	/* Kicks through pipes (front-ends without eventfds): the switch
	 * reads them, so every kick is seen and the pipe never fills. */
	o.pipe_kicks = true;
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(connect_n(&v, g, 2, &o) == 0);
	REQUIRE(announce(g, 2, 100));
	for (i = 0; i < 3000; i++) {
		if (send_to(&g[i % 2], g[(i + 1) % 2].mac, i, 60) < 0 ||
		    !got(&g[(i + 1) % 2], &g[i % 2], g[(i + 1) % 2].mac, i,
			 60))
			break;
	}
	CHECK(i == 3000);
	while (pipe_bytes(g[0].kick_dev[VU_TX]) != 0 && tries++ < 500)
		usleep(10000);
	CHECK(pipe_bytes(g[0].kick_dev[VU_TX]) == 0);
	CHECK(pipe_bytes(g[1].kick_dev[VU_TX]) == 0);
	CHECK(!vs_log_has(&v, "kick fd"));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
	CHECK(vs_stat(&v, "p0", "rx_packets") == 1 + 1500);
	CHECK(vs_stat(&v, "p1", "rx_packets") == 1 + 1500);
}

TEST(test_disabled_ring_discards_transmissions)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest a, b;

	o.no_enable = true;
	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), &o, 1) == 0);
	/* Started but disabled: the switch must process the ring without
	 * side effects, i.e. take the frames and discard them (vhost-user
	 * "Ring states"), so the guest gets its buffers back. */
	REQUIRE(send_to(&a, mac_broadcast, 1, 60) == 0);
	REQUIRE(send_to(&a, mac_broadcast, 2, 60) == 0);
	REQUIRE(guest_sync(&a) == 0);
	CHECK(guest_tx_done(&a));
	CHECK(!guest_pending(&b));
	REQUIRE(guest_enable(&a) == 0);
	REQUIRE(guest_sync(&a) == 0);
	REQUIRE(send_to(&a, mac_broadcast, 3, 60) == 0);
	CHECK(got(&b, &a, mac_broadcast, 3, 60));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
	CHECK(vs_stat(&v, "p0", "rx_disabled") == 2);
	CHECK(vs_stat(&v, "p0", "rx_packets") == 1);
}

TEST(test_guest_reset_restarts_rings)
{
	struct vs v;
	struct guest a, b, a2;
	uint16_t bases[VU_NUM_VQ];

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	CHECK(exchange(&a, &b, 1, 10, 1514));
	/* The guest's driver resets: rings stopped, then set up afresh on
	 * the same connection, as QEMU does on a guest reboot. */
	REQUIRE(guest_stop(&a, bases) == 0);
	CHECK(bases[VU_TX] == 10);
	CHECK(vs_wait_log(&v, "port p0: down"));
	/* A new guest image reuses the connection: hand the socket over. */
	REQUIRE(guest_attach(&a2, a.sock, NULL, 1) == 0);
	a.sock = -1;
	guest_close(&a);
	CHECK(vs_wait_log_count(&v, "port p0: up", 2) == 2);
	CHECK(exchange(&a2, &b, 100, 10, 1514));
	guest_close(&a2);
	guest_close(&b);
	stop(&v);
}

TEST(test_protocol_error_closes_only_that_connection)
{
	struct vs v;
	struct guest g[3];
	uint64_t junk = 0;

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	/* An unknown request on p2: no reply, the connection closes. */
	CHECK(vu_fe_request(&g[2].fe, 99, &junk, sizeof(junk), NULL, 0,
			    NULL) < 0);
	CHECK(guest_closed_by_peer(&g[2], H_TIMEOUT_MS));
	CHECK(vs_wait_log(&v, "port p2: request 99 (UNKNOWN)"));
	CHECK(exchange(&g[0], &g[1], 1, 10, 1514));
	guest_close(&g[2]);
	/* The port listens again. */
	REQUIRE(guest_connect(&g[2], vs_sock(&v, "p2"), NULL, 3) == 0);
	CHECK(exchange(&g[0], &g[2], 100, 5, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
}

TEST(test_second_connection_is_refused)
{
	struct vs v;
	struct guest a, b, a2;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	CHECK(guest_connect(&a2, vs_sock(&v, "p0"), NULL, 3) < 0);
	CHECK(vs_wait_log(&v, "port p0: refusing a second front-end"));
	guest_close(&a2);
	CHECK(exchange(&a, &b, 1, 5, 1514));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1) < 0)
		return -1;
	return fd;
}

TEST(test_client_mode_port_connects_and_reconnects)
{
	struct vs v;
	struct guest a, c;
	char extra[256], path[100];
	int lfd, round;

	snprintf(path, 100, "/tmp/vswitch-integ-client.%d.sock",
		 getpid());
	snprintf(extra, sizeof(extra), "[port c0]\nsocket = %s\nmode = client\n",
		 path);
	unlink(path);
	/* The switch starts before the front-end's socket exists. */
	REQUIRE(start(&v, 1, extra));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	CHECK(vs_wait_log(&v, "port c0: waiting for the front-end"));
	for (round = 0; round < 2; round++) {
		int fd;

		lfd = listen_at(path);
		REQUIRE(lfd >= 0);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		close(lfd);
		REQUIRE(fd >= 0);
		REQUIRE(guest_attach(&c, fd, NULL, 9) == 0);
		CHECK(exchange(&a, &c, 100 * round, 10, 1514));
		guest_close(&c);
		unlink(path);
	}
	guest_close(&a);
	stop(&v);
	unlink(path);
}

TEST(test_mtu_limits_frames)
{
	struct vs v;
	struct guest a, b;
	uint64_t mtu = 1000;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	REQUIRE(vu_fe_request(&b.fe, VHOST_USER_NET_SET_MTU, &mtu,
			      sizeof(mtu), NULL, 0, NULL) == 0);
	REQUIRE(send_to(&a, b.mac, 1, 1500) == 0);	/* too big for p1 */
	REQUIRE(send_to(&a, b.mac, 2, 1018) == 0);	/* MTU + 18 fits */
	CHECK(got(&b, &a, b.mac, 2, 1018));
	REQUIRE(send_to(&b, a.mac, 3, 1500) == 0);	/* over its own MTU */
	REQUIRE(send_to(&b, a.mac, 4, 100) == 0);
	CHECK(got(&a, &b, a.mac, 4, 100));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_oversize") == 1);
	CHECK(vs_stat(&v, "p1", "rx_oversize") == 1);
}

TEST(test_send_rarp_announces_to_others)
{
	struct vs v;
	struct guest g[3];
	uint8_t mac[8] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc }, f[128];
	int n;

	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(vu_fe_request(&g[0].fe, VHOST_USER_SEND_RARP, mac, 8, NULL, 0,
			      NULL) == 0);
	n = guest_recv(&g[1], f, sizeof(f), H_TIMEOUT_MS);
	CHECK(n == 60);
	CHECK(n >= 14 && memcmp(f, mac_broadcast, 6) == 0 &&
	      memcmp(f + 6, mac, 6) == 0 && f[12] == 0x80 && f[13] == 0x35);
	CHECK(guest_recv(&g[2], f, sizeof(f), H_TIMEOUT_MS) == 60);
	/* The switch learned where that address is now. */
	REQUIRE(send_to(&g[1], mac, 5, 100) == 0);
	CHECK(got(&g[0], &g[1], mac, 5, 100));
	REQUIRE(send_to(&g[1], mac_broadcast, 6, 60) == 0);
	CHECK(got(&g[2], &g[1], mac_broadcast, 6, 60));	/* not the 5 */
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
}

/*
 * SEND_RARP on a port whose rings are started but not yet enabled: the
 * announcement waits until the port is up. A front-end that never
 * enables them has taught the switch nothing (an address learned there
 * would outlive it: only going down forgets, and it never went up); one
 * that enables them later is announced then.
 */
TEST(test_send_rarp_waits_until_the_port_is_up)
{
	struct guest_opts o = guest_defaults();
	uint8_t mac[8] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcd }, f[128];
	struct guest g[2], late;
	struct vs v;

	o.no_enable = true;
	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	REQUIRE(guest_connect(&late, vs_sock(&v, "p2"), &o, 3) == 0);
	REQUIRE(vu_fe_request(&late.fe, VHOST_USER_SEND_RARP, mac, 8, NULL,
			      0, NULL) == 0);
	REQUIRE(guest_sync(&late) == 0);
	CHECK(guest_recv(&g[0], f, sizeof(f), 200) == -ETIMEDOUT);
	guest_close(&late);
	CHECK(vs_wait_log(&v, "port p2: front-end disconnected"));
	/* Unknown, so flooded: it reaches p1. */
	REQUIRE(send_to(&g[0], mac, 1, 100) == 0);
	CHECK(got(&g[1], &g[0], mac, 1, 100));
	/* Enabled later: announced then. */
	REQUIRE(guest_connect(&late, vs_sock(&v, "p2"), &o, 3) == 0);
	REQUIRE(vu_fe_request(&late.fe, VHOST_USER_SEND_RARP, mac, 8, NULL,
			      0, NULL) == 0);
	REQUIRE(guest_enable(&late) == 0);
	CHECK(guest_recv(&g[0], f, sizeof(f), H_TIMEOUT_MS) == 60);
	CHECK(memcmp(f + 6, mac, 6) == 0 && f[12] == 0x80 && f[13] == 0x35);
	CHECK(guest_recv(&g[1], f, sizeof(f), H_TIMEOUT_MS) == 60);
	REQUIRE(send_to(&g[0], mac, 2, 100) == 0);
	CHECK(got(&late, &g[0], mac, 2, 100));
	guest_close(&late);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

/*
 * Frames the switch drops for where they go are counted on the port
 * they came from: addressed to the port's own side (hairpin), or to an
 * address learned on a port that is not up (here: its receive ring
 * broke on the first of a burst of frames for it).
 */
TEST(test_hairpin_and_down_destinations_are_counted)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest g[3];
	struct vring_driver *d;
	uint8_t f[100];
	uint16_t head;
	unsigned int i;

	o.layout = TX_ONE_DESC;
	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 3, &o) == 0);
	REQUIRE(announce(g, 3, 1));
	/* g0 to itself: learned on p0 already. */
	REQUIRE(send_to(&g[0], g[0].mac, 10, 100) == 0);
	REQUIRE(guest_tx_done(&g[0]));
	/* g2's next receive buffer is made device-readable: the switch
	 * breaks its ring on the first of ten frames g1 then sends it in
	 * one go, and the other nine find its port broken. */
	d = &g[2].ring[VU_RX];
	head = le16toh(d->avail->ring[d->last_used & (d->num - 1)]);
	d->desc[head].flags = 0;
	d = &g[1].ring[VU_TX];
	for (i = 0; i < 10; i++) {
		struct vring_seg s = { g[1].tx_gpa + 2048 * i,
				       (uint32_t)(g[1].hlen + sizeof(f)),
				       false };

		frame_make(f, sizeof(f), g[2].mac, g[1].mac, 20 + i);
		guestmem_write(&g[1].g, s.gpa + g[1].hlen, f, sizeof(f));
		REQUIRE(vring_driver_add(d, &s, 1, false) >= 0);
	}
	guest_kick(&g[1], VU_TX);
	CHECK(vs_wait_log(&v, "port p2: receive ring broken"));
	CHECK(guest_closed_by_peer(&g[2], H_TIMEOUT_MS));
	guest_close(&g[2]);
	CHECK(exchange(&g[0], &g[1], 100, 2, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
	CHECK(vs_stat(&v, "p0", "rx_hairpin") == 1);
	CHECK(vs_stat(&v, "p1", "rx_dst_down") == 9);
}

TEST(test_no_receive_buffers_costs_a_drop_not_a_stall)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest g[3];
	uint8_t f[64];
	unsigned int i;

	o.layout = TX_ONE_DESC;		/* 256 one-descriptor buffers */
	REQUIRE(start(&v, 3, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	REQUIRE(guest_connect(&g[2], vs_sock(&v, "p2"), &o, 3) == 0);
	REQUIRE(announce(g, 3, 5000));	/* 2 frames to p2 */
	/* p2 stops taking its frames: its 256 buffers fill, then drops. */
	for (i = 0; i < 300; i++) {
		REQUIRE(send_to(&g[0], mac_broadcast, i, 60) == 0);
		CHECK(got(&g[1], &g[0], mac_broadcast, i, 60));
	}
	CHECK(exchange(&g[0], &g[1], 1000, 10, 1514));
	CHECK(guest_recv(&g[2], f, sizeof(f), H_TIMEOUT_MS) == 60);
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_stat(&v, "p2", "tx_no_buffer") == 300 - 256);
	CHECK(vs_stat(&v, "p2", "tx_packets") == 2 + 256);
}

/* A receiver that starts late, then takes @n frames from @from. */
struct slow_reader {
	struct guest *to;
	const struct guest *from;
	unsigned int n, ok;
};

static void *read_all(void *arg)
{
	struct slow_reader *r = arg;
	unsigned int i;

	for (i = 0; i < r->n; i++)
		if (got(r->to, r->from, r->to->mac, i, 1000))
			r->ok++;
	return NULL;
}

TEST(test_lagging_receiver_loses_nothing)
{
	struct guest_opts o = guest_defaults();
	struct slow_reader r = { .n = 2000 };
	struct vs v;
	struct guest g[2];
	pthread_t t;
	unsigned int i;

	o.layout = TX_ONE_DESC;		/* 256 frames fit in a TX ring */
	REQUIRE(vs_start_sw(&v, bin, "rx_wait_ms = 5000", 2, NULL, NULL) == 0);
	REQUIRE(connect_n(&v, g, 2, &o) == 0);
	REQUIRE(announce(g, 2, 5000));
	/* p1 takes nothing yet: 256 frames fill its receive ring, the
	 * 257th waits at the head of p0's transmit ring, the rest behind
	 * it. */
	for (i = 0; i < 400; i++)
		REQUIRE(send_to(&g[0], g[1].mac, i, 1000) == 0);
	r.to = &g[1];
	r.from = &g[0];
	REQUIRE(pthread_create(&t, NULL, read_all, &r) == 0);
	for (; i < r.n; i++)
		if (send_to(&g[0], g[1].mac, i, 1000) < 0)
			break;
	pthread_join(t, NULL);
	CHECK(i == r.n);
	CHECK(r.ok == r.n);		/* every frame, in order */
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 2 + 2000 - 1);
	CHECK(vs_stat(&v, "p1", "tx_no_buffer") == 0);
	CHECK(vs_stat(&v, "p1", "tx_held") >= 1);
	CHECK(vs_stat(&v, "p0", "rx_packets") == 1 + 2000);
}

TEST(test_stuck_receiver_costs_one_wait)
{
	struct guest_opts o = guest_defaults();
	struct vs v;
	struct guest g[4];
	unsigned int i;

	o.layout = TX_ONE_DESC;
	REQUIRE(start(&v, 4, NULL));	/* rx_wait_ms = 20 */
	REQUIRE(connect_n(&v, g, 4, &o) == 0);
	REQUIRE(announce(g, 4, 5000));
	/* p1 never takes a frame: 256 fill its ring, the next waits. */
	for (i = 0; i < 257; i++)
		REQUIRE(send_to(&g[0], g[1].mac, i, 60) == 0);
	/* Others never wait for it... */
	CHECK(exchange(&g[2], &g[3], 0, 50, 1514));
	/* ...and p0's frames for others go out once its wait runs out. */
	for (i = 0; i < 10; i++) {
		REQUIRE(send_to(&g[0], g[2].mac, 1000 + i, 60) == 0);
		CHECK(got(&g[2], &g[0], g[2].mac, 1000 + i, 60));
	}
	/* Until p1 takes a frame, frames for it are dropped at once. */
	for (i = 0; i < 100; i++)
		REQUIRE(send_to(&g[0], g[1].mac, 2000 + i, 60) == 0);
	CHECK(exchange(&g[0], &g[2], 3000, 20, 1514));
	/* p1 comes back: what its ring held, then new frames. */
	for (i = 0; i < 256; i++)
		CHECK(got(&g[1], &g[0], g[1].mac, i, 60));
	for (i = 0; i < 10; i++) {
		REQUIRE(send_to(&g[0], g[1].mac, 4000 + i, 60) == 0);
		CHECK(got(&g[1], &g[0], g[1].mac, 4000 + i, 60));
	}
	for (i = 0; i < 4; i++)
		guest_close(&g[i]);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_held") == 1);
	CHECK(vs_stat(&v, "p1", "tx_no_buffer") == 1 + 100);
}

/* Kicks a guest's receive ring until told to stop, posting nothing. */
struct kick_spam {
	int fd;
	volatile bool stop;
	unsigned int kicks;
};

static void *spam_kicks(void *arg)
{
	struct kick_spam *k = arg;
	uint64_t one = 1;

	while (!k->stop) {
		if (write(k->fd, &one, sizeof(one)) == sizeof(one))
			k->kicks++;
		usleep(200);
	}
	return NULL;
}

TEST(test_receive_kicks_without_buffers_do_not_extend_a_wait)
{
	struct guest_opts o = guest_defaults();
	struct kick_spam k = { 0 };
	struct vs v;
	struct guest g[3];
	pthread_t t;
	unsigned int i;

	o.layout = TX_ONE_DESC;
	REQUIRE(start(&v, 3, NULL));	/* rx_wait_ms = 20 */
	REQUIRE(connect_n(&v, g, 3, &o) == 0);
	REQUIRE(announce(g, 3, 5000));
	/* p1's ring fills; it then kicks its receive ring over and over
	 * without posting a buffer, while p0's next frame for it waits. */
	for (i = 0; i < 257; i++)
		REQUIRE(send_to(&g[0], g[1].mac, i, 60) == 0);
	k.fd = g[1].kick[VU_RX];
	REQUIRE(pthread_create(&t, NULL, spam_kicks, &k) == 0);
	/* p0's frame for p2 goes out while the kicks go on. */
	REQUIRE(send_to(&g[0], g[2].mac, 1000, 60) == 0);
	CHECK(got(&g[2], &g[0], g[2].mac, 1000, 60));
	k.stop = true;
	pthread_join(t, NULL);
	CHECK(k.kicks > 0);
	for (i = 0; i < 3; i++)
		guest_close(&g[i]);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_held") == 1);
	CHECK(vs_stat(&v, "p1", "tx_no_buffer") == 1);
}

TEST(test_io_uring_compat_mode)
{
	struct vs v;
	struct guest g[2];

	/* The path for kernels without multishot accept or the newer ring
	 * flags (OpenWrt 23.05: Linux 5.15). */
	REQUIRE(vs_start(&v, bin, 2, NULL, "VSWITCH_URING_COMPAT=1") == 0);
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	CHECK(exchange(&g[0], &g[1], 1, 20, 1514));
	guest_close(&g[0]);
	REQUIRE(guest_connect(&g[0], vs_sock(&v, "p0"), NULL, 1) == 0);
	CHECK(exchange(&g[0], &g[1], 100, 5, 1514));
	CHECK(vs_log_has(&v, "io_uring set up with flags 0x8\n"));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

/*
 * A message carrying a descriptor that arrives just as the switch drops
 * the connection (its transmit ring broke a moment before): the recvmsg
 * that brings it may complete for a connection already gone. The
 * descriptor must be closed all the same, and a next connection must
 * not share the receive buffers with a recvmsg still in flight. Many
 * rounds, so that the message lands in that window in some of them.
 */
static void message_racing_a_disconnect(const char *env)
{
	struct vs v;
	struct guest g, gu;
	long fds0;
	int i, closed = 0;

	REQUIRE(vs_start(&v, bin, 2, NULL, env) == 0);
	REQUIRE(guest_connect(&g, vs_sock(&v, "p0"), NULL, 1) == 0);
	fds0 = vs_fds(&v);
	for (i = 0; i < 200; i++) {
		struct vring_driver *d;
		struct vring_seg s;
		struct vu_msg m;
		int efd = eventfd(0, EFD_CLOEXEC);

		REQUIRE(efd >= 0);
		REQUIRE(guest_connect(&gu, vs_sock(&v, "p1"), NULL, 2) == 0);
		d = &gu.ring[VU_TX];
		s = (struct vring_seg){ gu.tx_gpa, 80, false };
		REQUIRE(vring_driver_add(d, &s, 1, false) >= 0);
		/* A head out of range: the ring breaks when it is read. */
		d->avail->ring[(d->avail_idx - 1) & (d->num - 1)] =
			htole16(d->num);
		guest_kick(&gu, VU_TX);
		memset(&m, 0, sizeof(m));
		m.hdr.request = VHOST_USER_SET_VRING_CALL;
		m.hdr.flags = VU_VERSION;
		m.hdr.size = 8;
		gu.fe.io.send(gu.fe.io.ctx, &m, &efd, 1);
		close(efd);
		closed += guest_closed_by_peer(&gu, H_TIMEOUT_MS);
		guest_close(&gu);
	}
	CHECK(closed == 200);
	/* Every connection's end is logged; then the count is final. */
	for (i = 0; i < 500 && vs_log_count(&v, "port p1: front-end "
					    "disconnected") < 200; i++)
		usleep(10000);
	CHECK(vs_fds(&v) == fds0);
	if (vs_fds(&v) != fds0)
		fprintf(stderr, "  fds %ld -> %ld\n", fds0, vs_fds(&v));
	guest_close(&g);
	stop(&v);
}

TEST(test_message_racing_a_disconnect_leaves_no_fds)
{
	message_racing_a_disconnect(NULL);
	message_racing_a_disconnect("VSWITCH_URING_COMPAT=1");
}

/* Read what @fd (non-blocking) holds, appending to @buf; return the new
 * length. */
static size_t slurp(int fd, char *buf, size_t len, size_t size)
{
	ssize_t n;

	while (len < size - 1 &&
	       (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/*
 * stderr is a pipe nobody reads (a log daemon that stalled): logging
 * holds nothing up. With the pipe full, a third port's guest connects
 * and leaves again and again (each time a screenful of debug lines)
 * while a pair keeps exchanging frames; then the pipe is read, and the
 * switch says how many lines it had to drop; and it stops on SIGTERM.
 */
TEST(test_stderr_nobody_reads_holds_nothing_up)
{
	static char out[1 << 20];
	struct vs v = { 0 };
	struct guest g[2], c;
	size_t len = 0;
	int pfd[2], i, r;
	bool ok;
	FILE *f;

	snprintf(v.dir, sizeof(v.dir), "/tmp/vswitch-integ.XXXXXX");
	REQUIRE(mkdtemp(v.dir) != NULL);
	snprintf(v.cfg, sizeof(v.cfg), "%s/config.ini", v.dir);
	snprintf(v.log, sizeof(v.log), "%s/none.log", v.dir);
	f = fopen(v.cfg, "w");
	REQUIRE(f != NULL);
	fprintf(f, "[switch]\nsocket_dir = %s\nlog_level = debug\n"
		"[port p0]\n[port p1]\n[port p2]\n", v.dir);
	fclose(f);
	REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
	v.pid = fork();
	REQUIRE(v.pid >= 0);
	if (v.pid == 0) {
		if (dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		execl(bin, bin, "-c", v.cfg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	/* (No REQUIRE from here: the switch is stopped at the end.) */
	ok = connect_n(&v, g, 2, NULL) == 0;
	CHECK(ok);
	for (i = 0; ok && i < 200; i++) {
		ok = guest_connect(&c, vs_sock(&v, "p2"), NULL, 3) == 0;
		CHECK(ok);
		guest_close(&c);
		CHECK(ok && exchange(&g[0], &g[1], 10 * (uint32_t)i, 1, 1514));
	}
	CHECK(vs_alive(&v));
	/* Read the pipe from now on: the next lines say what was lost. */
	CHECK(fcntl(pfd[0], F_SETFL, O_NONBLOCK) == 0);
	for (i = 0; ok && i < 500 && !strstr(out, "log lines dropped"); i++) {
		len = slurp(pfd[0], out, len, sizeof(out));
		if (i % 50 == 0 && guest_connect(&c, vs_sock(&v, "p2"), NULL,
						 3) == 0)
			guest_close(&c);
		usleep(10000);
	}
	CHECK(strstr(out, "log lines dropped (stderr not read)") != NULL);
	r = vs_stop(&v);
	CHECK(r == 0);
	len = slurp(pfd[0], out, len, sizeof(out));
	CHECK(strstr(out, "info: stopped") != NULL);
	CHECK(strstr(out, "log lines dropped since the start") != NULL);
	close(pfd[0]);
	guest_close(&g[0]);
	guest_close(&g[1]);
	snprintf(out, sizeof(out), "rm -rf '%s'", v.dir);
	CHECK(system(out) == 0);
}

/* The frame @g received next, into @f: its length, or -1. */
static int next_frame(struct guest *g, uint8_t *f, int ms)
{
	return guest_recv(g, f, H_MAX_FRAME, ms);
}

/*
 * VLANs through the binary: two access ports in VLAN 10, one in 20, a
 * trunk of both. The access ports' frames reach the trunk tagged and the
 * other access port of their VLAN untagged, never the other VLAN; the
 * trunk's tagged frames reach the access ports of their VLAN untagged; a
 * tagged frame on an access port is dropped and counted; a reload that
 * moves a port to another VLAN takes effect at once.
 */
TEST(test_vlans_access_trunk_and_reload)
{
	static const char *ports =
		"[port a]\nvlan = 10\n[port b]\nvlan = 10\n"
		"[port c]\nvlan = 20\n[port t]\ntrunk = 10, 20\n";
	uint8_t f[H_MAX_FRAME], g[H_MAX_FRAME];
	struct guest a, b, c, t;
	struct vs v;
	FILE *cf;

	REQUIRE(vs_start(&v, bin, 0, ports, NULL) == 0);
	REQUIRE(guest_connect(&a, vs_sock(&v, "a"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "b"), NULL, 2) == 0);
	REQUIRE(guest_connect(&c, vs_sock(&v, "c"), NULL, 3) == 0);
	REQUIRE(guest_connect(&t, vs_sock(&v, "t"), NULL, 4) == 0);
	frame_make(f, 100, mac_broadcast, a.mac, 1);
	REQUIRE(guest_send(&a, f, 100) == 0);
	CHECK(next_frame(&b, g, H_TIMEOUT_MS) == 100 &&
	      frame_check(g, 100, mac_broadcast, a.mac, 1));
	CHECK(next_frame(&t, g, H_TIMEOUT_MS) == 104 && g[12] == 0x81 &&
	      g[13] == 0 && g[14] == 0 && g[15] == 10 &&
	      memcmp(g + 16, f + 12, 88) == 0);
	/* The trunk sends VLAN 20: only c, untagged. */
	frame_make(g, 104, mac_broadcast, t.mac, 2);
	memmove(g + 16, g + 12, 88);
	g[12] = 0x81;
	g[13] = 0;
	g[14] = 0;
	g[15] = 20;
	REQUIRE(guest_send(&t, g, 104) == 0);
	CHECK(next_frame(&c, f, H_TIMEOUT_MS) == 100 &&
	      memcmp(f + 12, g + 16, 88) == 0);
	/* A tagged frame on an access port: dropped. */
	REQUIRE(guest_send(&a, g, 104) == 0);
	REQUIRE(guest_tx_done(&a));
	CHECK(!guest_pending(&b) && !guest_pending(&c) && !guest_pending(&t));
	/* c moves to VLAN 10. */
	cf = fopen(v.cfg, "w");
	REQUIRE(cf != NULL);
	fprintf(cf, "[switch]\nsocket_dir = %s\nlog_level = debug\n"
		"[port a]\nvlan = 10\n[port b]\nvlan = 10\n"
		"[port c]\nvlan = 10\n[port t]\ntrunk = 10, 20\n", v.dir);
	fclose(cf);
	vs_signal(&v, SIGHUP);
	CHECK(vs_wait_log(&v, "reloading"));
	REQUIRE(guest_sync(&c) == 0);
	frame_make(f, 100, mac_broadcast, a.mac, 3);
	REQUIRE(guest_send(&a, f, 100) == 0);
	CHECK(next_frame(&c, g, H_TIMEOUT_MS) == 100 &&
	      frame_check(g, 100, mac_broadcast, a.mac, 3));
	CHECK(next_frame(&b, g, H_TIMEOUT_MS) == 100);
	CHECK(next_frame(&t, g, H_TIMEOUT_MS) == 104);
	guest_close(&a);
	guest_close(&b);
	guest_close(&c);
	guest_close(&t);
	stop(&v);
	CHECK(vs_stat(&v, "a", "rx_vlan_denied") == 1);
	CHECK(vs_stat(&v, "t", "rx_packets") == 1);
	CHECK(vs_stat(&v, "c", "tx_packets") == 2);
}

/* Is @fd readable within @ms? */
static bool readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}

/* The front-end gives a ring a new call fd: interrupts reach the new one,
 * never the old. */
TEST(test_call_fd_replaced)
{
	struct vs v;
	struct guest g[2];
	uint64_t q = VU_RX, n;
	int old;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	CHECK(exchange(&g[0], &g[1], 1, 4, 1514));
	old = g[1].call[VU_RX];
	g[1].call[VU_RX] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(g[1].call[VU_RX] >= 0);
	/* Acknowledged (REPLY_ACK): the switch has taken it. */
	REQUIRE(vu_fe_request(&g[1].fe, VHOST_USER_SET_VRING_CALL, &q, 8,
			      &g[1].call[VU_RX], 1, NULL) == 0);
	if (read(old, &n, sizeof(n)) < 0)
		CHECK(errno == EAGAIN);
	vring_driver_want_interrupts(&g[1].ring[VU_RX], true);
	REQUIRE(send_to(&g[0], g[1].mac, 100, 60) == 0);
	CHECK(readable(g[1].call[VU_RX], H_TIMEOUT_MS));
	CHECK(!readable(old, 0));
	CHECK(got(&g[1], &g[0], g[1].mac, 100, 60));
	close(old);
	CHECK(exchange(&g[0], &g[1], 200, 10, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_sigusr1_logs_counters_while_running)
{
	struct vs v;
	struct guest g[2];

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	REQUIRE(announce(g, 2, 5000));
	CHECK(exchange(&g[0], &g[1], 1, 10, 1514));
	vs_signal(&v, SIGUSR1);
	CHECK(vs_wait_log(&v, "port p1: stats "));
	CHECK(vs_wait_log(&v, "fdb: 2 of 4096 entries in use; 0 addresses "
			  "found it full"));
	/* A broadcast and 10 frames each way, counted as they stand. */
	CHECK(vs_stat(&v, "p0", "rx_packets") == 11);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 11);
	CHECK(vs_stat(&v, "p1", "rx_packets") == 11);
	CHECK(exchange(&g[0], &g[1], 100, 3, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 14);
}

TEST(test_sighup_adds_and_removes_ports)
{
	struct vs v;
	struct guest a, b;
	FILE *f;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	/* Drop p1, add p9; p0 keeps its connection. */
	f = fopen(v.cfg, "w");
	REQUIRE(f != NULL);
	fprintf(f, "[switch]\nsocket_dir = %s\nlog_level = debug\n"
		"[port p0]\n[port p9]\n", v.dir);
	fclose(f);
	vs_signal(&v, SIGHUP);
	CHECK(vs_wait_log(&v, "port p9: listening"));
	CHECK(guest_closed_by_peer(&b, H_TIMEOUT_MS));
	CHECK(access(vs_sock(&v, "p1"), F_OK) < 0);
	guest_close(&b);
	REQUIRE(guest_connect(&b, vs_sock(&v, "p9"), NULL, 2) == 0);
	CHECK(exchange(&a, &b, 1, 10, 1514));
	/* A broken file keeps the running configuration. */
	f = fopen(v.cfg, "w");
	REQUIRE(f != NULL);
	fprintf(f, "[switch]\nbogus = 1\n");
	fclose(f);
	vs_signal(&v, SIGHUP);
	CHECK(vs_wait_log(&v, "keeping the running configuration"));
	CHECK(exchange(&a, &b, 100, 5, 1514));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

/* Take every frame waiting in @g's receive ring. */
static void drain(struct guest *g)
{
	uint8_t f[H_MAX_FRAME];

	while (guest_pending(g))
		guest_recv(g, f, sizeof(f), 0);
}

/*
 * Reloads that replace a port while ports have transmit work left over
 * (each sends more than one turn's budget): the new port in the removed
 * one's slot works, and every other port still forwards.
 */
TEST(test_reload_while_ports_are_runnable)
{
	static const uint8_t nobody[6] = { 0x52, 0x54, 0, 0xee, 0, 1 };
	struct guest_opts o = guest_defaults();
	struct guest g[8];
	struct vs v;
	unsigned int i, round, k;

	o.qsz = 512;
	REQUIRE(start(&v, 8, NULL));
	REQUIRE(connect_n(&v, g, 8, &o) == 0);
	for (round = 0; round < 4; round++) {
		const char *next = round % 2 ? "p7" : "p8";
		char needle[32];
		int listening;
		FILE *f;

		/* Floods, more than a turn's budget from each. */
		for (i = 1; i < 8; i++)
			for (k = 0; k < 400; k++)
				CHECK(send_to(&g[i], nobody, k, 60) == 0);
		snprintf(needle, sizeof(needle), "port %s: listening", next);
		listening = vs_log_count(&v, needle);
		f = fopen(v.cfg, "w");
		REQUIRE(f != NULL);
		fprintf(f, "[switch]\nsocket_dir = %s\nlog_level = debug\n",
			v.dir);
		for (i = 0; i < 7; i++)
			fprintf(f, "[port p%u]\n", i);
		fprintf(f, "[port %s]\n", next);
		fclose(f);
		vs_signal(&v, SIGHUP);
		for (k = 0; k < 500 && vs_log_count(&v, needle) == listening;
		     k++)
			usleep(10000);
		CHECK(guest_closed_by_peer(&g[7], H_TIMEOUT_MS));
		guest_close(&g[7]);
		REQUIRE(guest_connect(&g[7], vs_sock(&v, next), &o, 8) == 0);
		for (i = 0; i < 8; i++)
			drain(&g[i]);
	}
	for (i = 1; i < 8; i++)
		CHECK(exchange(&g[0], &g[i], 1000 + 100 * i, 4, 1514));
	for (i = 0; i < 8; i++)
		guest_close(&g[i]);
	stop(&v);
}

TEST(test_sockets_removed_and_counters_logged_at_exit)
{
	struct vs v;
	struct guest g[2];
	char p0[128];

	REQUIRE(start(&v, 2, NULL));
	snprintf(p0, sizeof(p0), "%s", vs_sock(&v, "p0"));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	CHECK(exchange(&g[0], &g[1], 1, 50, 1514));
	REQUIRE(vs_stop(&v) == 0);
	CHECK(access(p0, F_OK) < 0);
	CHECK(vs_stat(&v, "p0", "rx_packets") == 50);
	CHECK(vs_stat(&v, "p0", "tx_packets") == 50);
	CHECK(vs_stat(&v, "p1", "rx_packets") == 50);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 50);
	guest_close(&g[0]);
	guest_close(&g[1]);
}

/* Start the switch with @nports ports and a [switch] section of @sw. */
static bool start_with(struct vs *v, unsigned int nports, const char *sw)
{
	if (vs_start(v, bin, nports, NULL, NULL) < 0)
		return false;
	/* Same ports, new [switch] keys: written, then reloaded. */
	{
		FILE *f = fopen(v->cfg, "w");
		unsigned int i;

		if (!f)
			return false;
		fprintf(f, "[switch]\nsocket_dir = %s\nlog_level = debug\n%s\n",
			v->dir, sw);
		for (i = 0; i < nports; i++)
			fprintf(f, "[port p%u]\n", i);
		fclose(f);
	}
	vs_signal(v, SIGHUP);
	return vs_wait_log(v, "reloading");
}

TEST(test_fdb_ageing_forgets_addresses)
{
	struct vs v;
	struct guest g[3];

	REQUIRE(start_with(&v, 3, "fdb_aging = 1"));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(announce(g, 3, 1));
	/* Learned: p1 alone gets a frame for it. */
	REQUIRE(send_to(&g[0], g[1].mac, 10, 100) == 0);
	CHECK(got(&g[1], &g[0], g[1].mac, 10, 100));
	REQUIRE(send_to(&g[0], mac_broadcast, 11, 60) == 0);
	CHECK(got(&g[1], &g[0], mac_broadcast, 11, 60));
	CHECK(got(&g[2], &g[0], mac_broadcast, 11, 60));	/* not 10 */
	/* After more than the ageing time without a frame from p1, its
	 * address is unknown again and frames for it flood. */
	sleep(2);
	REQUIRE(send_to(&g[0], g[1].mac, 12, 100) == 0);
	CHECK(got(&g[1], &g[0], g[1].mac, 12, 100));
	CHECK(got(&g[2], &g[0], g[1].mac, 12, 100));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
}

/* At debug level each address learned, and each that moves to another
 * port, gets a line (log_level set by a reload). */
TEST(test_debug_log_names_addresses_learned_and_moved)
{
	struct vs v;
	struct guest g[2];
	uint8_t f[60], r[100];
	char learned[96], moved[96];
	const uint8_t *m;

	REQUIRE(start_with(&v, 2, "log_level = debug"));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	m = g[0].mac;
	snprintf(learned, sizeof(learned), "port p0: learned "
		 "%02x:%02x:%02x:%02x:%02x:%02x (VLAN 0)", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	snprintf(moved, sizeof(moved), "port p1: moved here: "
		 "%02x:%02x:%02x:%02x:%02x:%02x (VLAN 0)", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	REQUIRE(send_to(&g[0], mac_broadcast, 1, 60) == 0);
	CHECK(got(&g[1], &g[0], mac_broadcast, 1, 60));
	CHECK(vs_wait_log(&v, learned));
	/* p1 sends from p0's address. */
	frame_make(f, sizeof(f), mac_broadcast, m, 2);
	REQUIRE(guest_send(&g[1], f, sizeof(f)) == 0);
	CHECK(guest_recv(&g[0], r, sizeof(r), H_TIMEOUT_MS) == 60);
	CHECK(vs_wait_log(&v, moved));
	CHECK(vs_log_count(&v, learned) == 1);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_full_fdb_floods_instead_of_learning)
{
	struct vs v;
	struct guest g[3];

	REQUIRE(start_with(&v, 3, "fdb_size = 2"));
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(announce(g, 3, 1));	/* p0, p1 learned; p2 does not fit */
	/* Known: private. */
	REQUIRE(send_to(&g[2], g[1].mac, 10, 100) == 0);
	CHECK(got(&g[1], &g[2], g[1].mac, 10, 100));
	/* p2's address was not learned, and nothing was evicted for it:
	 * frames for it flood. */
	REQUIRE(send_to(&g[0], g[2].mac, 11, 100) == 0);
	CHECK(got(&g[2], &g[0], g[2].mac, 11, 100));
	CHECK(got(&g[1], &g[0], g[2].mac, 11, 100));
	CHECK(!guest_pending(&g[0]) && !guest_pending(&g[1]));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_log_has(&v, " of 2 entries in use; "));
	CHECK(vs_log_has(&v, "found it full and went unlearned"));
	CHECK(!vs_log_has(&v, "; 0 addresses found it full"));
}

TEST(test_socket_owner_group_and_mode)
{
	struct vs v;
	struct stat st;

	REQUIRE(vs_start(&v, bin, 1,
			 "[port a]\nowner = 65534\ngroup = 65534\nperm = 0660\n",
			 NULL) == 0);
	REQUIRE(vs_wait_log(&v, "port a: listening"));
	REQUIRE(stat(vs_sock(&v, "a"), &st) == 0);
	CHECK(st.st_uid == 65534 && st.st_gid == 65534);
	CHECK((st.st_mode & 07777) == 0660);
	stop(&v);
}

TEST(test_allow_uid_refuses_other_users)
{
	struct vs v;
	struct guest a, b;

	/* The tests run as root (uid 0). */
	REQUIRE(vs_start(&v, bin, 0,
			 "[port only_nobody]\nallow_uid = 65534\n"
			 "[port root_ok]\nallow_uid = nobody, 0\n"
			 "[port other]\n", NULL) == 0);
	CHECK(guest_connect(&a, vs_sock(&v, "only_nobody"), NULL, 1) < 0);
	guest_close(&a);
	CHECK(vs_wait_log(&v, "port only_nobody: refusing a front-end running "
			  "as uid 0"));
	REQUIRE(guest_connect(&a, vs_sock(&v, "root_ok"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "other"), NULL, 2) == 0);
	CHECK(exchange(&a, &b, 1, 5, 1514));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

TEST(test_drops_to_an_unprivileged_user)
{
	struct vs v;
	struct guest g[2];
	char p0[128];

	REQUIRE(vs_start_sw(&v, bin, "user = nobody", 2, NULL, NULL) == 0);
	snprintf(p0, sizeof(p0), "%s", vs_sock(&v, "p0"));
	CHECK(vs_wait_log(&v, "running as user nobody"));
	CHECK(vs_uid(&v) == 65534);
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	CHECK(exchange(&g[0], &g[1], 1, 20, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	/* Its sockets are in a directory it may write: removed at exit. */
	REQUIRE(chmod(v.dir, 0777) == 0);
	stop(&v);
	CHECK(access(p0, F_OK) < 0);
}

TEST(test_mac_list_drops_spoofed_sources)
{
	struct vs v;
	struct guest a, b;
	uint8_t spoof[6] = { 0x52, 0x54, 0, 0xee, 0xee, 0xee }, f[100];
	char extra[128];

	snprintf(extra, sizeof(extra), "[port locked]\nmac = 52:54:00:00:00:02\n");
	REQUIRE(vs_start(&v, bin, 1, extra, NULL) == 0);
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&b, vs_sock(&v, "locked"), NULL, 2) == 0);
	frame_make(f, sizeof(f), a.mac, spoof, 1);
	REQUIRE(guest_send(&b, f, sizeof(f)) == 0);	/* dropped */
	REQUIRE(send_to(&b, a.mac, 2, 100) == 0);	/* its own: goes */
	CHECK(got(&a, &b, a.mac, 2, 100));
	CHECK(vs_wait_log(&v, "port locked: dropped a frame from "
			  "52:54:00:ee:ee:ee: not in the port's mac list"));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
	CHECK(vs_stat(&v, "locked", "rx_mac_denied") == 1);
	CHECK(vs_stat(&v, "locked", "rx_packets") == 1);
}

TEST(test_max_macs_caps_what_a_port_teaches)
{
	struct vs v;
	struct guest g[3];
	uint8_t src[6], f[100];
	unsigned int i;

	REQUIRE(vs_start(&v, bin, 2, "[port capped]\nmax_macs = 2\n", NULL) ==
		0);
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	REQUIRE(guest_connect(&g[2], vs_sock(&v, "capped"), NULL, 3) == 0);
	REQUIRE(announce(g, 3, 1));	/* p2's own address: 1 of 2 */
	for (i = 0; i < 2; i++) {	/* a second one fits, a third not */
		mac_make(src, (uint8_t)(0x80 + i));
		frame_make(f, sizeof(f), g[0].mac, src, 10 + i);
		REQUIRE(guest_send(&g[2], f, sizeof(f)) == 0);
		CHECK(got(&g[0], &g[2], g[0].mac, 10 + i, 100) ||
		      frame_check(f, 100, g[0].mac, src, 10 + i));
	}
	/* 0x80 was learned: private. 0x81 was not: flooded. */
	mac_make(src, 0x80);
	REQUIRE(send_to(&g[0], src, 20, 60) == 0);
	CHECK(got(&g[2], &g[0], src, 20, 60));
	CHECK(!guest_pending(&g[1]));
	mac_make(src, 0x81);
	REQUIRE(send_to(&g[0], src, 21, 60) == 0);
	CHECK(got(&g[1], &g[0], src, 21, 60));
	CHECK(got(&g[2], &g[0], src, 21, 60));
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_stat(&v, "capped", "rx_not_learned") == 1);
}

/* Random unicast addresses from a xorshift generator. */
static void random_mac(uint8_t *mac, uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	memcpy(mac, &x, 6);
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);	/* unicast, local */
}

TEST(test_mac_flood_neither_evicts_nor_grows)
{
	struct vs v;
	struct guest g[3];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint8_t f[60], src[6];
	long rss0, rss1, table_kb = (65536 * 16 + 131072 * 4) / 1024;
	unsigned int i;

	REQUIRE(vs_start_sw(&v, bin, "fdb_size = 65536", 3,
			    NULL, NULL) == 0);
	REQUIRE(connect_n(&v, g, 3, NULL) == 0);
	REQUIRE(announce(g, 3, 1));
	rss0 = vs_rss_kb(&v);
	/* p2 sends a million frames, each from a new source address, to
	 * its own address (so nothing is delivered: the switch only learns
	 * and looks up). */
	for (i = 0; i < 1000000; i++) {
		random_mac(src, &seed);
		frame_make(f, sizeof(f), g[2].mac, src, i);
		if (guest_send(&g[2], f, sizeof(f)) < 0)
			break;
	}
	CHECK(i == 1000000);
	REQUIRE(guest_sync(&g[2]) == 0);
	rss1 = vs_rss_kb(&v);
	/* Both others stay learned: unicast between them stays private. */
	CHECK(exchange(&g[0], &g[1], 100, 10, 1514));
	CHECK(!guest_pending(&g[2]));
	printf("  RSS %ld KiB before, %ld KiB after 1000000 source addresses "
	       "(table: %ld KiB)\n", rss0, rss1, table_kb);
	CHECK(rss0 > 0 && rss1 - rss0 <= table_kb + 256);
	guest_close(&g[0]);
	guest_close(&g[1]);
	guest_close(&g[2]);
	stop(&v);
	CHECK(vs_log_has(&v, "fdb: 0 of 65536 entries in use"));
	CHECK(vs_stat(&v, "p2", "rx_not_learned") >= 1000000 - 65536);
}

/* Wait until the switch holds @fds fds again (a disconnect is handled
 * after the peer has gone). */
static bool fds_back_to(const struct vs *sw, long fds)
{
	int i;

	for (i = 0; i < H_TIMEOUT_MS / 10 && vs_fds(sw) != fds; i++)
		usleep(10000);
	return vs_fds(sw) == fds;
}

TEST(test_thousand_connections_leave_nothing)
{
	struct vs v;
	struct guest a, b;
	long fds0, maps0, rss0, fds1, maps1, rss1;
	time_t t0;
	int i;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(guest_connect(&a, vs_sock(&v, "p0"), NULL, 1) == 0);
	/* Warm up, long enough for the log lines to have gone round the
	 * switch's log queue (64 KiB) and touched all of it, under
	 * valgrind too (100 cycles were not always enough there). */
	for (i = 0; i < 300; i++) {
		REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
		guest_close(&b);
	}
	REQUIRE(guest_sync(&a) == 0);
	fds0 = vs_fds(&v);
	REQUIRE(fds_back_to(&v, fds0));
	maps0 = vs_maps(&v);
	rss0 = vs_rss_kb(&v);
	t0 = time(NULL);
	for (i = 0; i < 1000; i++) {
		if (guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) < 0)
			break;
		guest_close(&b);
	}
	CHECK(i == 1000);
	CHECK(fds_back_to(&v, fds0));
	fds1 = vs_fds(&v);
	maps1 = vs_maps(&v);
	rss1 = vs_rss_kb(&v);
	printf("  1000 cycles in %ld s: fds %ld -> %ld, mappings %ld -> %ld, "
	       "RSS %ld -> %ld KiB\n", (long)(time(NULL) - t0), fds0, fds1,
	       maps0, maps1, rss0, rss1);
	CHECK(fds1 == fds0);
	CHECK(maps1 == maps0);
	CHECK(rss0 > 0 && rss1 <= rss0 + 64);	/* a few pages at most */
	/* And the port still works. */
	REQUIRE(guest_connect(&b, vs_sock(&v, "p1"), NULL, 2) == 0);
	CHECK(exchange(&a, &b, 1, 5, 1514));
	guest_close(&a);
	guest_close(&b);
	stop(&v);
}

static int cmp_long(const void *x, const void *y)
{
	long a = *(const long *)x, b = *(const long *)y;

	return a < b ? -1 : a > b;
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

TEST(test_ping_gets_through_a_flood)
{
	enum { ROUNDS = 400 };
	static long rtt[ROUNDS];
	struct vs v;
	struct guest g[2], sink;
	struct guest *a = &g[0], *b = &g[1];
	uint8_t f[100], r[H_MAX_FRAME];
	int status, i, done = 0;
	pid_t flooder;

	/* p2 floods p3 (which never takes its frames) as fast as it can
	 * send; p0 and p1 ping-pong meanwhile. The per-run budget keeps
	 * the flood from starving them: every round trip completes, and
	 * its delay is reported, not asserted. */
	REQUIRE(start(&v, 4, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	REQUIRE(guest_connect(&sink, vs_sock(&v, "p3"), NULL, 4) == 0);
	REQUIRE(announce_port(&sink, g, 2, 1) == 0);
	REQUIRE(announce(g, 2, 2));
	flooder = fork();
	REQUIRE(flooder >= 0);
	if (flooder == 0) {
		struct guest fl;
		long n = 0, end;

		if (guest_connect(&fl, vs_sock(&v, "p2"), NULL, 3) < 0)
			_exit(1);
		frame_make(f, 64, sink.mac, fl.mac, 0);
		end = now_us() + 3000000;
		while (now_us() < end && guest_send(&fl, f, 64) == 0)
			n++;
		printf("  flood: %ld frames in 3 s\n", n);
		fflush(stdout);
		_exit(n > 0 ? 0 : 1);
	}
	CHECK(vs_wait_log(&v, "port p2: up"));
	usleep(200000);
	for (i = 0; i < ROUNDS; i++) {
		long t = now_us();

		frame_make(f, 64, b->mac, a->mac, (uint32_t)i);
		if (guest_send(a, f, 64) < 0 ||
		    guest_recv(b, r, sizeof(r), H_TIMEOUT_MS) != 64)
			break;
		frame_make(f, 64, a->mac, b->mac, (uint32_t)i);
		if (guest_send(b, f, 64) < 0 ||
		    guest_recv(a, r, sizeof(r), H_TIMEOUT_MS) != 64)
			break;
		rtt[done++] = now_us() - t;
	}
	CHECK(done == ROUNDS);
	CHECK(waitpid(flooder, &status, 0) == flooder && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	if (done) {
		qsort(rtt, (size_t)done, sizeof(rtt[0]), cmp_long);
		printf("  round trips through the flood: %d, p50 %ld us, p99 "
		       "%ld us, max %ld us\n", done, rtt[done / 2],
		       rtt[done * 99 / 100], rtt[done - 1]);
	}
	guest_close(a);
	guest_close(b);
	guest_close(&sink);
	stop(&v);
	CHECK(vs_stat(&v, "p2", "rx_packets") > 0);
}

/* Run the switch on @text: it must exit 2 printing @msg. */
static bool refused(const char *text, const char *msg)
{
	char out[4096];
	int rc = vs_run_config(bin, text, out, sizeof(out));

	if (rc == 2 && strstr(out, msg))
		return true;
	fprintf(stderr, "  exit %d, output: %s", rc, out);
	return false;
}

TEST(test_bad_configuration_is_refused)
{
	CHECK(refused("[switch]\nfdb_size = 10x\n[port a]\n",
		      "config.ini:2: fdb_size = 10x: not a number"));
	CHECK(refused("[switch]\nfdb_aging = 0\n[port a]\n",
		      "config.ini:2: fdb_aging = 0: out of range"));
	CHECK(refused("[switch]\ncolour = blue\n[port a]\n",
		      "config.ini:2: unknown key 'colour' in [switch]"));
	CHECK(refused("[port a]\nmode = sideways\n",
		      "config.ini:2: mode = sideways: not one of"));
	CHECK(refused("[port a]\n[router]\n",
		      "config.ini:2: unknown section [router]"));
	CHECK(refused("[port a]\n[port a]\n",
		      "config.ini:2: duplicate port a (first at line 1)"));
	CHECK(refused("[port a]\nsocket = s\n[port b]\nsocket = s\n",
		      "config.ini:4: port b: socket "));
	CHECK(refused("[port a]\nsocket = x\nsocket = y\n",
		      "config.ini:3: duplicate key 'socket'"));
	CHECK(refused("[switch]\n", "config.ini: no [port NAME] section"));
	CHECK(refused("[port a]\nsocket_dir = x\n",
		      "config.ini:2: unknown key 'socket_dir' in [port a]"));
}

TEST(test_stale_socket_replaced_live_one_refused)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char out[4096], path[100];
	int fd;

	/* A socket file left by a crashed switch: nobody listens. */
	snprintf(path, sizeof(path), "/tmp/vswitch-integ-stale.%d.sock",
		 getpid());
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(fd);
	{
		char cfg[256];
		struct vs v;
		struct guest g;

		snprintf(cfg, sizeof(cfg), "[port s]\nsocket = %s\n", path);
		REQUIRE(vs_start(&v, bin, 1, cfg, NULL) == 0);
		CHECK(vs_wait_log(&v, "port s: listening"));
		REQUIRE(guest_connect(&g, path, NULL, 1) == 0);
		/* While it runs, a second switch on the same socket is
		 * refused and leaves the first one's socket alone. */
		CHECK(vs_run_config(bin, cfg, out, sizeof(out)) == 2);
		CHECK(strstr(out, "in use by a running listener") != NULL);
		CHECK(access(path, F_OK) == 0);
		guest_close(&g);
		stop(&v);
	}
	CHECK(access(path, F_OK) < 0);
}

TEST(test_idle_switch_sleeps)
{
	struct vs v;
	struct guest g[2];
	long before, after;

	REQUIRE(start(&v, 2, NULL));
	REQUIRE(connect_n(&v, g, 2, NULL) == 0);
	CHECK(exchange(&g[0], &g[1], 1, 10, 1514));
	/* Two connected, idle guests: once the last frame's echoes are
	 * handled, the switch must not wake up at all (no polling, no
	 * timer shorter than the FDB sweep). */
	usleep(200000);
	before = vs_wakeups(&v);
	sleep(2);
	after = vs_wakeups(&v);
	CHECK(before >= 0 && after == before);
	if (after != before)
		fprintf(stderr, "  %ld wake-ups while idle\n", after - before);
	CHECK(exchange(&g[0], &g[1], 100, 10, 1514));
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: integ PATH-TO-VSWITCH [TEST...]\n");
		return 2;
	}
	bin = argv[1];
	test_select(argv + 2);
	signal(SIGPIPE, SIG_IGN);
	RUN(test_three_ports_come_up);
	RUN(test_broadcast_reaches_all_other_ports);
	RUN(test_unknown_unicast_floods_then_learned_unicast_is_private);
	RUN(test_port_reconnects_while_others_exchange);
	RUN(test_kicks_into_a_ring_that_never_moves_are_explained);
	RUN(test_frames_before_a_guest_posts_buffers_are_counted_apart);
	RUN(test_feature_combinations);
	RUN(test_legacy_header_without_version_1);
	RUN(test_mixed_features_between_guests);
	RUN(test_offload_combinations);
	RUN(test_tiny_regions_split_buffers);
	RUN(test_jumbo_frames_mergeable_and_big_buffers);
	RUN(test_small_buffers_without_mergeable_drop);
	RUN(test_kick_before_device_up_is_kept);
	RUN(test_pipe_kicks_are_read);
	RUN(test_disabled_ring_discards_transmissions);
	RUN(test_guest_reset_restarts_rings);
	RUN(test_protocol_error_closes_only_that_connection);
	RUN(test_second_connection_is_refused);
	RUN(test_client_mode_port_connects_and_reconnects);
	RUN(test_mtu_limits_frames);
	RUN(test_send_rarp_announces_to_others);
	RUN(test_send_rarp_waits_until_the_port_is_up);
	RUN(test_hairpin_and_down_destinations_are_counted);
	RUN(test_no_receive_buffers_costs_a_drop_not_a_stall);
	RUN(test_lagging_receiver_loses_nothing);
	RUN(test_stuck_receiver_costs_one_wait);
	RUN(test_receive_kicks_without_buffers_do_not_extend_a_wait);
	RUN(test_io_uring_compat_mode);
	RUN(test_message_racing_a_disconnect_leaves_no_fds);
	RUN(test_call_fd_replaced);
	RUN(test_sigusr1_logs_counters_while_running);
	RUN(test_stderr_nobody_reads_holds_nothing_up);
	RUN(test_sighup_adds_and_removes_ports);
	RUN(test_reload_while_ports_are_runnable);
	RUN(test_sockets_removed_and_counters_logged_at_exit);
	RUN(test_bad_configuration_is_refused);
	RUN(test_stale_socket_replaced_live_one_refused);
	RUN(test_idle_switch_sleeps);
	RUN(test_fdb_ageing_forgets_addresses);
	RUN(test_full_fdb_floods_instead_of_learning);
	RUN(test_debug_log_names_addresses_learned_and_moved);
	RUN(test_socket_owner_group_and_mode);
	RUN(test_allow_uid_refuses_other_users);
	RUN(test_drops_to_an_unprivileged_user);
	RUN(test_mac_list_drops_spoofed_sources);
	RUN(test_vlans_access_trunk_and_reload);
	RUN(test_max_macs_caps_what_a_port_teaches);
	RUN(test_mac_flood_neither_evicts_nor_grows);
	RUN(test_thousand_connections_leave_nothing);
	RUN(test_ping_gets_through_a_flood);
	return test_summary();
}
