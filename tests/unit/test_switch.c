/*
 * Unit tests for proto/switch.c, the engine, without the binary: each port
 * is a vhost-user device set up by hand on guest memory of its own, its
 * guest played by the driver side of vring/; the engine's I/O (interrupts,
 * broken ports, timers, log lines) goes to a fake loop that records it.
 */
#define _DEFAULT_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../proto/switch.h"
#include "../lib/guestmem.h"
#include "test.h"

#define NP	4		/* ports in a test */
#define QSZ	64
#define MEMSZ	(1024 * 1024)
#define BUFSZ	2048
#define FEATURES ((1ULL << VIRTIO_F_VERSION_1) |                         \
		  (1ULL << VIRTIO_NET_F_MRG_RXBUF) |                     \
		  (1ULL << VIRTIO_RING_F_EVENT_IDX) |                    \
		  (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

/* ---- the fake loop ---- */

static struct {
	unsigned int signals[NP][VU_NUM_VQ];
	unsigned int broken[NP];
	bool timers_work;	/* arm_timer succeeds */
	unsigned int timers[2];
	char last_log[NP + 1][256];
} loop;

static void f_signal(void *o, unsigned int port, unsigned int q)
{
	(void)o;
	loop.signals[port][q]++;
}

static void f_broken(void *o, unsigned int port, unsigned int q)
{
	(void)o;
	(void)q;
	loop.broken[port]++;
}

static bool f_arm_timer(void *o, enum sw_timer t, unsigned int ms)
{
	(void)o;
	(void)ms;
	if (loop.timers_work)
		loop.timers[t]++;
	return loop.timers_work;
}

static void f_log(void *o, int port, enum sw_log_level level,
		  const char *line)
{
	(void)o;
	(void)level;
	snprintf(loop.last_log[port < 0 ? NP : port], 256, "%s", line);
}

/* Uplinks: a few buffers; what is sent is kept for the test to look at. */
#define UPBUFS	4
static struct {
	uint8_t buf[UPBUFS][70000];
	bool busy[UPBUFS];
	unsigned int nsent, dropped;
	unsigned int port;		/* of the last frame sent */
	uint8_t sent[70000];		/* the last frame sent */
	size_t sent_len;
} up;

static void *f_uplink_buf(void *o, unsigned int port, size_t len)
{
	unsigned int i;

	(void)o;
	(void)port;
	for (i = 0; i < UPBUFS && len <= sizeof(up.buf[0]); i++) {
		if (!up.busy[i]) {
			up.busy[i] = true;
			return up.buf[i];
		}
	}
	return NULL;
}

static void up_free(void *buf)
{
	unsigned int i;

	for (i = 0; i < UPBUFS; i++)
		if (buf == up.buf[i])
			up.busy[i] = false;
}

static void f_uplink_send(void *o, unsigned int port, void *buf, size_t len)
{
	(void)o;
	up.nsent++;
	up.port = port;
	memcpy(up.sent, buf, len);
	up.sent_len = len;
	up_free(buf);
}

static void f_uplink_drop(void *o, unsigned int port, void *buf)
{
	(void)o;
	(void)port;
	up.dropped++;
	up_free(buf);
}

/* FDB events told, by kind, and the port of the last. */
static unsigned int fdb_events[3], fdb_event_port;

static void f_fdb_event(void *o, enum sw_fdb_event ev, unsigned int port,
			uint16_t vlan, const uint8_t *mac)
{
	(void)o;
	(void)vlan;
	(void)mac;
	fdb_events[ev]++;
	fdb_event_port = port;
}

static const struct sw_ops ops = {
	f_signal, f_broken, f_arm_timer, f_log, f_uplink_buf, f_uplink_send,
	f_uplink_drop, f_fdb_event,
};

/* ---- ports: a device and its guest ---- */

struct tport {
	struct guestmem g;
	struct vu_dev dev;
	struct vring_driver drv[VU_NUM_VQ];
	uint16_t ndesc[VU_NUM_VQ][QSZ];
	uint64_t ring_gpa[VU_NUM_VQ];
	uint64_t rx_gpa, tx_gpa;	/* buffer areas, one slot per head */
	uint8_t mac[L2_ALEN];
};

static struct sw sw;
static struct tport tp[NP];
static struct vu_ops no_vu_ops;

/* Lay out port @i's rings in its memory, set them up as the back-end
 * would, and add it to the engine, up. */
static int port_setup(unsigned int i, uint64_t features, uint32_t mtu,
		      const struct sw_port_cfg *cfg)
{
	struct tport *t = &tp[i];
	struct mem_region_desc d[1];
	struct sw_port_cfg none = { 0 };
	const char *why;
	unsigned int q;
	int fd;

	memset(t, 0, sizeof(*t));
	if (guestmem_init(&t->g, MEMSZ, 1) < 0)
		return -1;
	vu_dev_init(&t->dev, &no_vu_ops, NULL, 0);
	guestmem_descs(&t->g, d, &fd);
	if (mem_table_map(&t->dev.mem, d, &fd, 1, &why) < 0)
		return -1;
	t->dev.features = features;
	t->dev.mtu = mtu;
	for (q = 0; q < VU_NUM_VQ; q++) {
		uint64_t base = GUESTMEM_GPA_BASE + q * 16384;
		struct vring_addr a = {
			guestmem_uva(&t->g, base),
			guestmem_uva(&t->g, base + 4096),
			guestmem_uva(&t->g, base + 8192),
		};

		t->ring_gpa[q] = base;
		vring_driver_init(&t->drv[q], QSZ,
				  guestmem_ptr(&t->g, base, 1024),
				  guestmem_ptr(&t->g, base + 4096, 256),
				  guestmem_ptr(&t->g, base + 8192, 1024),
				  NULL, 0, 0, t->ndesc[q], features);
		if (vring_setup(&t->dev.vq[q].vr, &t->dev.mem, QSZ, &a,
				features, &why) < 0)
			return -1;
		t->dev.vq[q].num = QSZ;
		t->dev.vq[q].started = true;
		t->dev.vq[q].enabled = true;
	}
	t->dev.up = true;
	t->rx_gpa = GUESTMEM_GPA_BASE + 65536;
	t->tx_gpa = t->rx_gpa + QSZ * BUFSZ;
	t->mac[0] = 0x52;
	t->mac[1] = 0x54;
	t->mac[5] = (uint8_t)(i + 1);
	sw_port_add(&sw, i, &t->dev, cfg ? cfg : &none);
	sw_up(&sw, i);
	return 0;
}

/* Post @n receive buffers of @len bytes on port @i. */
static void post_rx(unsigned int i, unsigned int n, uint32_t len)
{
	struct vring_driver *d = &tp[i].drv[VU_RX];

	while (n--) {
		struct vring_seg s = { tp[i].rx_gpa + (uint64_t)d->free_head *
				       BUFSZ, len, true };

		if (vring_driver_add(d, &s, 1, false) < 0)
			break;
	}
	vring_driver_kick(d);
}

static size_t frame(uint8_t *f, size_t len, const uint8_t *dst,
		    const uint8_t *src, uint8_t fill)
{
	memcpy(f, dst, L2_ALEN);
	memcpy(f + 6, src, L2_ALEN);
	f[12] = 0x88;
	f[13] = 0xb5;
	memset(f + 14, fill, len - 14);
	return len;
}

/* Port @i's guest queues a frame (without kicking). */
static void queue_tx(unsigned int i, const uint8_t *f, size_t len)
{
	struct tport *t = &tp[i];
	struct vring_driver *d = &t->drv[VU_TX];
	size_t hlen = vu_hdr_len(t->dev.features);
	uint64_t gpa = t->tx_gpa + (uint64_t)d->free_head * BUFSZ;
	uint8_t hdr[12] = { 0 };
	struct vring_seg s = { gpa, (uint32_t)(hlen + len), false };

	guestmem_write(&t->g, gpa, hdr, hlen);
	guestmem_write(&t->g, gpa + hlen, f, len);
	CHECK(vring_driver_add(d, &s, 1, false) >= 0);
	vring_driver_kick(d);
}

/* Port @i sends a frame to @dst (filled with @fill) and the engine
 * runs. */
static void send(unsigned int i, const uint8_t *dst, size_t len,
		 uint8_t fill)
{
	uint8_t f[BUFSZ];

	frame(f, len, dst, tp[i].mac, fill);
	queue_tx(i, f, len);
	sw_kick(&sw, i, VU_TX);
	while (sw_run(&sw))
		;
}

/* The next frame port @i received: its length, or -1 if none. The frame
 * (header stripped) is copied to @f. */
static int recv(unsigned int i, uint8_t *f)
{
	struct tport *t = &tp[i];
	struct vring_driver *d = &t->drv[VU_RX];
	size_t hlen = vu_hdr_len(t->dev.features);
	uint32_t len;
	int head = vring_driver_get_used(d, &len);

	if (head < 0 || len < hlen)
		return -1;
	guestmem_read(&t->g, t->rx_gpa + (uint64_t)head * BUFSZ + hlen, f,
		      len - hlen);
	return (int)(len - hlen);
}

/* How many frames port @i received (and takes them). */
static unsigned int count_rx(unsigned int i)
{
	uint8_t f[BUFSZ];
	unsigned int n = 0;

	while (recv(i, f) >= 0)
		n++;
	return n;
}

/* Transmit chains port @i's guest got back. */
static unsigned int tx_done(unsigned int i)
{
	uint32_t len;
	unsigned int n = 0;

	while (vring_driver_get_used(&tp[i].drv[VU_TX], &len) >= 0)
		n++;
	return n;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Port 0 sends @n 100-byte frames to port 1 in one go (1 is known). */
static void burst_0_to_1(unsigned int n)
{
	uint8_t f[BUFSZ];
	unsigned int i;

	send(1, bcast, 60, 1);		/* learn 1 */
	count_rx(0);
	for (i = 0; i < n; i++) {
		frame(f, 100, tp[1].mac, tp[0].mac, (uint8_t)i);
		queue_tx(0, f, 100);
	}
	sw_kick(&sw, 0, VU_TX);
	while (sw_run(&sw))
		;
}

/* An engine with ports 0..@n-1, configured as @c[i] (NULL: plainly),
 * up, with buffers posted. */
static void vsetup(unsigned int n, const struct sw_port_cfg *c)
{
	unsigned int i;

	memset(&loop, 0, sizeof(loop));
	loop.timers_work = true;
	REQUIRE(sw_init(&sw, &ops, NULL, 64, 300, 42) == 0);
	sw_set_limits(&sw, 20, 300);
	sw_clock(&sw, 1000000);
	for (i = 0; i < n; i++) {
		REQUIRE(port_setup(i, FEATURES, 0, c ? &c[i] : NULL) == 0);
		post_rx(i, QSZ / 2, BUFSZ);
	}
}

static void setup(unsigned int n)
{
	vsetup(n, NULL);
}

static void teardown(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		sw_port_remove(&sw, i);
		mem_table_unmap(&tp[i].dev.mem);
		guestmem_free(&tp[i].g);
	}
	sw_free(&sw);
}

/* ---- the cases ---- */

TEST(test_switch_floods_unknown_and_learns)
{
	uint8_t f[BUFSZ];
	int n;

	setup(3);
	send(0, tp[1].mac, 100, 0xa1);	/* 1 is unknown: both get it */
	CHECK(count_rx(1) == 1);
	CHECK(count_rx(2) == 1);
	CHECK(count_rx(0) == 0);
	CHECK(tx_done(0) == 1);
	send(1, tp[0].mac, 200, 0xb2);	/* 0 is known: only 0 */
	n = recv(0, f);
	CHECK(n == 200 && f[14] == 0xb2 && memcmp(f + 6, tp[1].mac, 6) == 0);
	CHECK(count_rx(2) == 0);
	send(0, tp[1].mac, 60, 0xc3);	/* 1 is known now */
	CHECK(count_rx(1) == 1);
	CHECK(count_rx(2) == 0);
	CHECK(sw.port[0].st.rx_packets == 2 && sw.port[1].st.tx_packets == 2);
	CHECK(loop.signals[0][VU_RX] >= 1);
	CHECK(loop.timers[SW_TIMER_AGING] == 1);	/* armed once */
	teardown(3);
}

TEST(test_switch_broadcast_reaches_all_others)
{
	setup(4);
	send(2, bcast, 60, 1);
	CHECK(count_rx(0) == 1 && count_rx(1) == 1 && count_rx(3) == 1);
	CHECK(count_rx(2) == 0);
	teardown(4);
}

TEST(test_switch_follows_an_address_that_moves)
{
	uint8_t f[BUFSZ];

	setup(3);
	send(0, bcast, 60, 1);		/* 0's address on 0 */
	count_rx(1);
	count_rx(2);
	/* The same address now sends from 2 (a migrated guest). */
	frame(f, 60, bcast, tp[0].mac, 2);
	queue_tx(2, f, 60);
	sw_kick(&sw, 2, VU_TX);
	sw_run(&sw);
	count_rx(0);
	count_rx(1);
	send(1, tp[0].mac, 60, 3);
	CHECK(count_rx(2) == 1);
	CHECK(count_rx(0) == 0);
	teardown(3);
}

TEST(test_switch_hairpin_and_port_down_are_counted)
{
	setup(3);
	send(0, bcast, 60, 1);
	send(1, bcast, 60, 1);
	count_rx(0);
	count_rx(1);
	count_rx(2);
	send(0, tp[0].mac, 60, 2);	/* to itself */
	CHECK(sw.port[0].st.rx_hairpin == 1);
	/* 1 goes down: its addresses are forgotten, frames for it flood. */
	tp[1].dev.up = false;
	CHECK(sw_down(&sw, 1) == 1);
	send(0, tp[1].mac, 60, 3);
	CHECK(count_rx(2) == 1);
	CHECK(count_rx(1) == 0);
	teardown(3);
}

/* A receiver without buffers makes the frame wait in the sender's ring;
 * its kick lets it go, and nothing was lost. */
TEST(test_switch_holds_for_a_receiver_without_buffers)
{
	uint8_t f[BUFSZ];

	setup(2);
	/* 1's buffers run out: 32 posted, 33 sent. */
	burst_0_to_1(QSZ / 2 + 1);
	CHECK(tx_done(0) == QSZ / 2);	/* the last one waits */
	CHECK(sw.port[1].st.tx_held == 1);
	CHECK(loop.timers[SW_TIMER_HOLD] == 1);
	CHECK(count_rx(1) == QSZ / 2);
	post_rx(1, 8, BUFSZ);
	sw_kick(&sw, 1, VU_RX);
	while (sw_run(&sw))
		;
	CHECK(tx_done(0) == 1);
	CHECK(recv(1, f) == 100 && f[14] == QSZ / 2);
	CHECK(sw.port[1].st.tx_no_buffer == 0);
	teardown(2);
}

/* One that stays without buffers costs one wait, then frames for it are
 * dropped (and counted) until it takes one again. */
TEST(test_switch_gives_up_on_a_stuck_receiver)
{
	setup(2);
	burst_0_to_1(QSZ / 2 + 3);
	CHECK(tx_done(0) == QSZ / 2);
	sw_clock(&sw, 1000000 + 20);	/* rx_wait_ms later */
	sw_hold_timer(&sw);
	while (sw_run(&sw))
		;
	CHECK(tx_done(0) == 3);		/* dropped, given back */
	CHECK(sw.port[1].st.tx_no_buffer == 3);
	CHECK(sw.port[1].st.tx_held == 1);
	teardown(2);
}

/* Without a timer for the deadline the frame does not wait at all. */
TEST(test_switch_does_not_hold_without_a_timer)
{
	setup(2);
	loop.timers_work = false;
	burst_0_to_1(QSZ / 2 + 1);
	CHECK(tx_done(0) == QSZ / 2 + 1);
	CHECK(sw.port[1].st.tx_no_buffer == 1);
	CHECK(sw.port[1].st.tx_held == 0);
	teardown(2);
}

TEST(test_switch_drops_over_the_mtu_and_runts)
{
	struct sw_port_cfg none = { 0 };
	uint8_t f[BUFSZ];

	setup(1);
	REQUIRE(port_setup(1, FEATURES, 1000, &none) == 0);
	post_rx(1, 8, BUFSZ);
	send(0, bcast, 1018, 1);	/* 1000 + 18 fits */
	CHECK(count_rx(1) == 1);
	send(0, bcast, 1019, 1);
	CHECK(count_rx(1) == 0);
	CHECK(sw.port[1].st.tx_oversize == 1);
	frame(f, 14, bcast, tp[1].mac, 0);
	queue_tx(1, f, 10);		/* shorter than its header */
	sw_kick(&sw, 1, VU_TX);
	sw_run(&sw);
	CHECK(sw.port[1].st.rx_runt == 1);
	send(1, bcast, 1019, 1);	/* over its own MTU */
	CHECK(sw.port[1].st.rx_oversize == 1);
	CHECK(count_rx(0) == 0);
	teardown(2);
}

TEST(test_switch_mac_list_and_max_macs)
{
	struct sw_port_cfg locked = { .nmacs = 1 }, capped = { .max_macs = 1 };
	uint8_t f[BUFSZ], other[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };

	setup(1);
	locked.mac[0][0] = 0x52;
	locked.mac[0][1] = 0x54;
	locked.mac[0][5] = 2;		/* port 1's own address */
	REQUIRE(port_setup(1, FEATURES, 0, &locked) == 0);
	REQUIRE(port_setup(2, FEATURES, 0, &capped) == 0);
	post_rx(1, 8, BUFSZ);
	post_rx(2, 8, BUFSZ);
	send(1, bcast, 60, 1);		/* its own: goes */
	CHECK(count_rx(0) == 1);
	frame(f, 60, bcast, other, 2);	/* another: dropped */
	queue_tx(1, f, 60);
	sw_kick(&sw, 1, VU_TX);
	sw_run(&sw);
	CHECK(count_rx(0) == 0);
	CHECK(sw.port[1].st.rx_mac_denied == 1);
	send(2, bcast, 60, 3);		/* its first address is learned */
	frame(f, 60, bcast, other, 4);	/* a second is not */
	queue_tx(2, f, 60);
	sw_kick(&sw, 2, VU_TX);
	sw_run(&sw);
	CHECK(sw.port[2].st.rx_not_learned == 1);
	CHECK(count_rx(0) == 2);	/* both were forwarded */
	teardown(3);
}

/* A frame in more pieces than the switch gathers is dropped, not the
 * port; one whose receiver's buffers are too small, likewise. */
TEST(test_switch_small_receive_buffers_without_mergeable)
{
	struct sw_port_cfg none = { 0 };

	setup(1);
	REQUIRE(port_setup(1, FEATURES & ~(1ULL << VIRTIO_NET_F_MRG_RXBUF),
			   0, &none) == 0);
	post_rx(1, 4, 100);
	send(0, bcast, 500, 1);
	CHECK(count_rx(1) == 0);
	CHECK(sw.port[1].st.tx_small_buffer == 1);
	CHECK(sw_port_broken(&sw, 1) == NULL);
	send(0, bcast, 60, 2);
	CHECK(count_rx(1) == 1);
	teardown(2);
}

/* After a fault in a port's memory only that port is broken, the
 * loop is told, and its rings are never touched again. */
TEST(test_switch_fault_breaks_only_the_owner)
{
	setup(3);
	CHECK(sw_fault(&sw, (uint8_t *)tp[1].dev.mem.region[0].map + 100) ==
	      1);
	CHECK(loop.broken[1] == 1);
	CHECK(sw_port_broken(&sw, 1) != NULL);
	CHECK(strstr(loop.last_log[1], "guest memory lost its backing"));
	CHECK(tp[1].dev.vq[VU_RX].vr.broken && tp[1].dev.vq[VU_TX].vr.broken);
	CHECK(sw_fault(&sw, &sw) == -1);	/* nobody's memory */
	send(0, bcast, 60, 1);
	CHECK(count_rx(2) == 1);
	CHECK(count_rx(1) == 0);
	sw_forget(&sw, 1);
	CHECK(sw_port_broken(&sw, 1) == NULL);
	teardown(3);
}

/* A malformed receive chain breaks the receiver, with a reason. */
TEST(test_switch_malformed_chain_breaks_its_port)
{
	struct vring_driver *d;

	setup(2);
	d = &tp[1].drv[VU_RX];
	/* The next receive chain is device-readable. */
	d->desc[le16toh(d->avail->ring[d->last_used % QSZ])].flags = 0;
	send(0, bcast, 60, 1);
	CHECK(loop.broken[1] == 1);
	CHECK(strstr(loop.last_log[1], "receive ring broken: "
		     "device-readable descriptor"));
	CHECK(tx_done(0) == 1);
	teardown(2);
}

/* SEND_RARP: announced from the port's next run, once it is up. */
TEST(test_switch_rarp_waits_until_up)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc };
	uint8_t f[BUFSZ];

	setup(2);
	tp[1].dev.up = false;
	sw_down(&sw, 1);
	sw_rarp(&sw, 1, mac);
	while (sw_run(&sw))
		;
	CHECK(count_rx(0) == 0);
	tp[1].dev.up = true;
	sw_up(&sw, 1);
	while (sw_run(&sw))
		;
	CHECK(recv(0, f) == 60);
	CHECK(memcmp(f + 6, mac, 6) == 0 && f[12] == 0x80 && f[13] == 0x35);
	send(0, mac, 60, 1);		/* learned on 1 */
	CHECK(count_rx(1) == 1);
	teardown(2);
}

/* Ageing forgets addresses no frame came from for the ageing time. */
TEST(test_switch_ages_addresses)
{
	setup(3);
	send(1, bcast, 60, 1);
	count_rx(0);
	count_rx(2);
	sw_clock(&sw, 1000000 + 301 * 1000);
	sw_age(&sw);
	send(0, tp[1].mac, 60, 2);	/* unknown again: flooded */
	CHECK(count_rx(2) == 1);
	teardown(3);
}

/* Addresses learned, moved and aged are told to fdb_event while events
 * are asked for, and only then. */
TEST(test_switch_tells_fdb_events)
{
	uint8_t f[64];

	setup(3);
	memset(fdb_events, 0, sizeof(fdb_events));
	send(1, bcast, 60, 1);		/* learned, untold */
	CHECK(fdb_events[SW_FDB_LEARNED] == 0);
	sw_set_events(&sw, true);
	send(0, bcast, 60, 2);
	CHECK(fdb_events[SW_FDB_LEARNED] == 1 && fdb_event_port == 0);
	send(2, bcast, 60, 3);
	CHECK(fdb_events[SW_FDB_LEARNED] == 2 && fdb_event_port == 2);
	frame(f, 60, bcast, tp[1].mac, 5);	/* 1's address moves to 2 */
	queue_tx(2, f, 60);
	sw_kick(&sw, 2, VU_TX);
	while (sw_run(&sw))
		;
	CHECK(fdb_events[SW_FDB_MOVED] == 1 && fdb_event_port == 2);
	sw_clock(&sw, 1000000 + 301 * 1000);
	sw_age(&sw);
	CHECK(fdb_events[SW_FDB_AGED] == 3);
	sw_set_events(&sw, false);
	send(0, bcast, 60, 4);
	CHECK(fdb_events[SW_FDB_LEARNED] == 2);
	teardown(3);
}

/* ---- VLANs ---- */

/* A port configuration: access/native VLAN @vlan (0: none), and the
 * trunk VLANs in @trunk, 0-terminated (NULL: no trunk). */
static struct sw_port_cfg vcfg(uint16_t vlan, const uint16_t *trunk)
{
	struct sw_port_cfg c = { .vlan = vlan };

	for (; trunk && *trunk; trunk++) {
		c.trunk = true;
		c.trunk_vids[*trunk / 64] |= 1ULL << (*trunk % 64);
	}
	return c;
}

/* Port @i sends @f (@len bytes, as it is) and the engine runs. */
static void send_raw(unsigned int i, const uint8_t *f, size_t len)
{
	queue_tx(i, f, len);
	sw_kick(&sw, i, VU_TX);
	while (sw_run(&sw))
		;
}

/* A frame from @src to @dst tagged with @tci, @len bytes in all. */
static size_t tagged(uint8_t *f, size_t len, const uint8_t *dst,
		     const uint8_t *src, uint16_t tci, uint8_t fill)
{
	frame(f, len, dst, src, fill);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = (uint8_t)(tci >> 8);
	f[15] = (uint8_t)tci;
	f[16] = 0x88;
	f[17] = 0xb5;
	return len;
}

/* Access ports exchange untagged frames inside their VLAN; a flood stays
 * in it; the same address may live in two VLANs on different ports. */
TEST(test_switch_access_ports_keep_vlans_apart)
{
	struct sw_port_cfg c[4] = { vcfg(10, NULL), vcfg(10, NULL),
				    vcfg(20, NULL), vcfg(20, NULL) };
	uint8_t f[BUFSZ];

	vsetup(4, c);
	send(0, bcast, 60, 1);
	CHECK(count_rx(1) == 1 && count_rx(2) == 0 && count_rx(3) == 0);
	send(2, bcast, 60, 2);
	CHECK(count_rx(3) == 1 && count_rx(0) == 0 && count_rx(1) == 0);
	/* 2 sends with 0's address: learned in VLAN 20 only. */
	frame(f, 60, bcast, tp[0].mac, 3);
	send_raw(2, f, 60);
	CHECK(count_rx(3) == 1);
	send(1, tp[0].mac, 60, 4);	/* VLAN 10: to 0 */
	CHECK(count_rx(0) == 1 && count_rx(2) == 0);
	send(3, tp[0].mac, 60, 5);	/* VLAN 20: to 2 */
	CHECK(count_rx(2) == 1 && count_rx(0) == 0);
	CHECK(recv(0, f) < 0);
	teardown(4);
}

/* Access to trunk pushes the tag, trunk to access pops it, in the one
 * copy; a tagged frame on an access port, a VLAN not in the trunk, an
 * untagged frame on a pure trunk and VLAN 4095 are dropped and counted. */
TEST(test_switch_trunk_and_access_push_and_pop)
{
	static const uint16_t t10_20[] = { 10, 20, 0 };
	struct sw_port_cfg c[3] = { vcfg(10, NULL), vcfg(0, t10_20),
				    vcfg(20, NULL) };
	uint8_t f[BUFSZ], g[BUFSZ];
	int n;

	vsetup(3, c);
	send(0, bcast, 100, 0x11);	/* access 10 -> trunk: tagged */
	n = recv(1, g);
	CHECK(n == 104 && g[12] == 0x81 && g[13] == 0x00 &&
	      (g[14] << 8 | g[15]) == 10 && g[16] == 0x88 && g[17] == 0xb5 &&
	      g[18] == 0x11 && g[103] == 0x11);
	CHECK(count_rx(2) == 0);
	/* Trunk -> access 20: untagged, the same bytes after the tag. */
	tagged(f, 104, bcast, tp[1].mac, 20, 0x22);
	send_raw(1, f, 104);
	n = recv(2, g);
	CHECK(n == 100 && g[12] == 0x88 && g[13] == 0xb5 && g[14] == 0x22 &&
	      memcmp(g, f, 12) == 0);
	CHECK(count_rx(0) == 0);
	/* Learned in VLAN 20 on the trunk: unicast back, tagged. */
	send(2, tp[1].mac, 60, 0x33);
	n = recv(1, g);
	CHECK(n == 64 && (g[14] << 8 | g[15]) == 20);
	/* Refused: tagged on access, VLAN 30 on the trunk, untagged on
	 * the trunk, VLAN 4095. */
	tagged(f, 64, bcast, tp[0].mac, 10, 1);
	send_raw(0, f, 64);
	tagged(f, 64, bcast, tp[1].mac, 30, 1);
	send_raw(1, f, 64);
	send(1, bcast, 60, 1);
	tagged(f, 64, bcast, tp[1].mac, 4095, 1);
	send_raw(1, f, 64);
	CHECK(count_rx(0) == 0 && count_rx(1) == 0 && count_rx(2) == 0);
	CHECK(sw.port[0].st.rx_vlan_denied == 1);
	CHECK(sw.port[1].st.rx_vlan_denied == 3);
	CHECK(tx_done(0) == 2 && tx_done(1) == 4);
	teardown(3);
}

/* A trunk with a native VLAN: untagged frames belong to it and leave
 * untagged; a priority (VLAN 0) tag reads as untagged; the priority bits
 * of a tag that stays are kept. */
TEST(test_switch_native_vlan_and_priority_tags)
{
	static const uint16_t t20[] = { 20, 0 };
	struct sw_port_cfg c[3] = { vcfg(10, t20), vcfg(10, NULL),
				    vcfg(0, t20) };
	uint8_t f[BUFSZ], g[BUFSZ];

	vsetup(3, c);
	send(0, bcast, 60, 1);		/* native 10, untagged */
	CHECK(recv(1, g) == 60 && g[12] == 0x88);
	CHECK(count_rx(2) == 0);
	tagged(f, 64, bcast, tp[0].mac, 0xa000, 2);	/* priority 5, VLAN 0 */
	send_raw(0, f, 64);
	CHECK(recv(1, g) == 60 && g[12] == 0x88 && g[14] == 2);
	tagged(f, 64, bcast, tp[0].mac, 0xe000 | 20, 3);	/* VLAN 20 */
	send_raw(0, f, 64);
	CHECK(recv(2, g) == 64 && (g[14] << 8 | g[15]) == (0xe000 | 20));
	CHECK(count_rx(1) == 0);
	/* VLAN 10 tagged on the native trunk: taken, leaves untagged. */
	tagged(f, 64, bcast, tp[0].mac, 10, 4);
	send_raw(0, f, 64);
	CHECK(recv(1, g) == 60 && g[14] == 4);
	teardown(3);
}

/* Without VLAN settings every VLAN passes, tags untouched, and the MTU
 * check counts the tag a port pushes. */
TEST(test_switch_plain_ports_carry_every_vlan)
{
	static const uint16_t t10[] = { 10, 0 };
	struct sw_port_cfg c[3] = { vcfg(0, NULL), vcfg(0, NULL),
				    vcfg(10, NULL) };
	struct sw_port_cfg trunk = vcfg(0, t10);
	uint8_t f[BUFSZ], g[BUFSZ];

	vsetup(3, c);
	tagged(f, 100, bcast, tp[0].mac, 0x2000 | 10, 5);
	send_raw(0, f, 100);
	CHECK(recv(1, g) == 100 && memcmp(f, g, 100) == 0);
	CHECK(recv(2, g) == 96 && g[12] == 0x88);	/* access 10 */
	send(2, bcast, 60, 6);		/* access 10 -> plain: tagged */
	CHECK(recv(0, g) == 64 && (g[14] << 8 | g[15]) == 10);
	CHECK(recv(1, g) == 64);
	/* A trunk with an MTU of 1500: a full-size untagged frame from
	 * the access port does not fit once tagged. */
	REQUIRE(port_setup(3, FEATURES, 1500, &trunk) == 0);
	post_rx(3, 8, BUFSZ);
	send(2, bcast, 1514, 7);
	CHECK(count_rx(3) == 1);
	send(2, bcast, 1515, 7);
	CHECK(count_rx(3) == 0 && sw.port[3].st.tx_oversize == 1);
	count_rx(0);
	count_rx(1);
	teardown(4);
}

/* A reload that changes a port's VLANs forgets what it learned. */
TEST(test_switch_vlan_change_forgets_addresses)
{
	struct sw_port_cfg c[3] = { vcfg(10, NULL), vcfg(10, NULL),
				    vcfg(10, NULL) };
	struct sw_port_cfg other = vcfg(20, NULL);

	vsetup(3, c);
	send(0, bcast, 60, 1);
	count_rx(1);
	count_rx(2);
	CHECK(sw.fdb.count == 1);
	sw_port_set(&sw, 0, &c[0]);	/* the same: kept */
	CHECK(sw.fdb.count == 1);
	sw_port_set(&sw, 0, &other);
	CHECK(sw.fdb.count == 0);
	send(1, tp[0].mac, 60, 2);	/* unknown in 10 now: to 2 only */
	CHECK(count_rx(2) == 1 && count_rx(0) == 0);
	teardown(3);
}

/* ---- uplinks ---- */

/* An uplink on port @i (12-byte little-endian headers, as a tap's). */
static void uplink_setup(unsigned int i, const struct sw_port_cfg *c,
			 uint32_t mtu)
{
	struct sw_port_cfg none = { 0 };

	memset(&up, 0, sizeof(up));
	sw_uplink_add(&sw, i, c ? c : &none, 12, true);
	sw_uplink_mtu(&sw, i, mtu);
	sw_up(&sw, i);
	tp[i].mac[0] = 0x52;
	tp[i].mac[1] = 0x54;
	tp[i].mac[5] = 0xe0;
}

/* The kernel hands uplink @i a frame (after a 12-byte header @h, NULL:
 * all zero); the engine switches it and publishes. */
static void uplink_in(unsigned int i, const uint8_t *h, const uint8_t *f,
		      size_t len)
{
	static uint8_t buf[70000];
	static const uint8_t zero[12];

	memcpy(buf, h ? h : zero, 12);
	memcpy(buf + 12, f, len);
	sw_uplink_rx(&sw, i, buf, 12 + len);
	while (sw_run(&sw))
		;
}

/* Guests and an uplink exchange frames both ways; it learns and is
 * learned like any port. */
TEST(test_switch_uplink_both_ways)
{
	uint8_t f[BUFSZ], g[BUFSZ];
	static const uint8_t zero[12];

	setup(2);
	uplink_setup(2, NULL, 1500);
	send(0, bcast, 100, 0x41);	/* floods to 1 and the uplink */
	CHECK(count_rx(1) == 1);
	CHECK(up.nsent == 1 && up.port == 2 && up.sent_len == 112 &&
	      memcmp(up.sent, zero, 12) == 0 && up.sent[12 + 14] == 0x41 &&
	      memcmp(up.sent + 12 + 6, tp[0].mac, 6) == 0);
	frame(f, 200, tp[0].mac, tp[2].mac, 0x42);	/* to 0 only */
	uplink_in(2, NULL, f, 200);
	CHECK(recv(0, g) == 200 && memcmp(f, g, 200) == 0);
	CHECK(count_rx(1) == 0);
	CHECK(loop.signals[0][VU_RX] >= 1);
	send(1, tp[2].mac, 60, 0x43);	/* learned: the uplink only */
	CHECK(up.nsent == 2 && up.sent_len == 72 && count_rx(0) == 0);
	CHECK(sw.port[2].st.rx_packets == 1 && sw.port[2].st.tx_packets == 2);
	teardown(2);
}

/* An uplink whose buffers are all on their way to the kernel holds its
 * senders as a guest without receive buffers does: the frame waits in
 * the sender's ring until a buffer is free again (sw_uplink_room), a
 * flooded frame never waits, and one that stays without buffers costs
 * one wait, then drops. */
TEST(test_switch_uplink_without_buffers_holds_its_senders)
{
	uint8_t f[BUFSZ];

	setup(2);
	uplink_setup(2, NULL, 1500);
	frame(f, 60, bcast, tp[2].mac, 1);	/* learned on 2 */
	uplink_in(2, NULL, f, 60);
	CHECK(recv(0, f) == 60 && recv(1, f) == 60);
	memset(up.busy, 1, sizeof(up.busy));
	send(0, tp[2].mac, 60, 0x44);
	CHECK(up.nsent == 0 && tx_done(0) == 0);
	CHECK(sw.port[2].st.tx_held == 1 && loop.timers[SW_TIMER_HOLD] == 1);
	send(1, bcast, 60, 0x45);		/* flooded: 0 only */
	CHECK(tx_done(1) == 1 && count_rx(0) == 1);
	CHECK(sw.port[2].st.tx_no_buffer == 1);
	up.busy[0] = false;
	sw_uplink_room(&sw, 2);
	while (sw_run(&sw))
		;
	CHECK(up.nsent == 1 && up.sent[12 + 14] == 0x44 && tx_done(0) == 1);
	CHECK(sw.port[2].st.tx_no_buffer == 1);
	/* Stuck: one wait, then dropped until a buffer is free again. */
	memset(up.busy, 1, sizeof(up.busy));
	send(0, tp[2].mac, 60, 0x46);
	CHECK(tx_done(0) == 0 && sw.port[2].st.tx_held == 2);
	sw_clock(&sw, 1000000 + 20);		/* rx_wait_ms later */
	sw_hold_timer(&sw);
	while (sw_run(&sw))
		;
	CHECK(tx_done(0) == 1 && sw.port[2].st.tx_no_buffer == 2);
	send(0, tp[2].mac, 60, 0x47);
	CHECK(tx_done(0) == 1 && sw.port[2].st.tx_no_buffer == 3);
	up.busy[1] = false;
	sw_uplink_room(&sw, 2);
	send(0, tp[2].mac, 60, 0x48);
	CHECK(up.nsent == 2 && up.sent[12 + 14] == 0x48 && tx_done(0) == 1);
	teardown(2);
}

/* The RFC 1071 sum of @n bytes, as the test computes it itself. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A UDP/IPv4 frame of @plen payload bytes whose checksum field holds the
 * pseudo-header's sum, as the kernel leaves it with NEEDS_CSUM. */
static size_t udp_partial(uint8_t *f, const uint8_t *dst, const uint8_t *src,
			  size_t plen)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t ulen = (uint16_t)(8 + plen);
	uint32_t ps;
	size_t i;

	memset(f, 0, 14 + 20 + ulen);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10; ip[15] = 1;	/* 10.0.0.1 -> 10.0.0.2 */
	ip[16] = 10; ip[19] = 2;
	udp[0] = 0x30; udp[1] = 0x39;
	udp[2] = 0x00; udp[3] = 0x35;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	for (i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i * 13 + 7);
	ps = fold(sum16(ip + 12, 8, 17 + ulen));
	udp[6] = (uint8_t)(ps >> 8);
	udp[7] = (uint8_t)ps;
	return 14 + 20 + ulen;
}

/* A frame with a checksum left to complete (NEEDS_CSUM, as on a veth)
 * reaches the guest complete; offsets outside the frame and segmentation
 * of what is not TCP are dropped and counted. */
TEST(test_switch_uplink_completes_checksums)
{
	uint8_t f[BUFSZ], g[BUFSZ], h[12] = { 0 };
	size_t n;
	int got;

	setup(1);
	uplink_setup(1, NULL, 1500);
	n = udp_partial(f, tp[0].mac, tp[1].mac, 333);
	h[0] = 1;			/* NEEDS_CSUM */
	h[6] = 34;			/* csum_start (LE) */
	h[8] = 6;			/* csum_offset */
	uplink_in(1, h, f, n);
	got = recv(0, g);
	CHECK(got == (int)n);
	/* Pseudo-header plus UDP header and data sums to 0xffff. */
	CHECK(got == (int)n &&
	      fold(sum16(g + 34, n - 34, sum16(g + 26, 8, 17 + (n - 34)))) ==
	      0xffff);
	h[6] = (uint8_t)(n - 1);	/* the field would run past the end */
	h[7] = (uint8_t)((n - 1) >> 8);
	uplink_in(1, h, f, n);
	CHECK(recv(0, g) < 0 && sw.port[1].st.rx_bad_header == 1);
	h[0] = 0;
	h[1] = 1;			/* GSO TCPv4, of UDP */
	uplink_in(1, h, f, n);
	CHECK(recv(0, g) < 0 && sw.port[1].st.rx_bad_header == 2);
	teardown(1);
}

/* VLANs on an uplink: an access guest's frames reach a trunk uplink
 * tagged, and its tagged frames the guest untagged. */
TEST(test_switch_uplink_trunk)
{
	static const uint16_t t10[] = { 10, 0 };
	struct sw_port_cfg c[1] = { vcfg(10, NULL) };
	struct sw_port_cfg trunk = vcfg(0, t10);
	uint8_t f[BUFSZ], g[BUFSZ];

	vsetup(1, c);
	uplink_setup(1, &trunk, 1500);
	send(0, bcast, 100, 0x51);
	CHECK(up.nsent == 1 && up.sent_len == 12 + 104 &&
	      up.sent[12 + 12] == 0x81 && up.sent[12 + 15] == 10);
	tagged(f, 104, tp[0].mac, tp[1].mac, 10, 0x52);
	uplink_in(1, NULL, f, 104);
	CHECK(recv(0, g) == 100 && g[12] == 0x88 && g[14] == 0x52);
	tagged(f, 104, tp[0].mac, tp[1].mac, 11, 0x53);	/* not carried */
	uplink_in(1, NULL, f, 104);
	CHECK(recv(0, g) < 0 && sw.port[1].st.rx_vlan_denied == 1);
	teardown(1);
}

/* ---- checksum offload ---- */

#define CSUM_BIT	(1ULL << VIRTIO_NET_F_CSUM)
#define GCSUM_BIT	(1ULL << VIRTIO_NET_F_GUEST_CSUM)

/* Port @i's guest queues @f after virtio-net header @h (12 bytes, fields
 * little-endian), the chain cut into @nseg pieces of odd sizes (1: one
 * piece), and the engine runs. */
static void send_hdr(unsigned int i, const uint8_t *h, const uint8_t *f,
		     size_t len, unsigned int nseg)
{
	static const uint32_t cut[] = { 3, 5, 1, 7, 13, 2, 9, 11, 4, 17 };
	struct tport *t = &tp[i];
	struct vring_driver *d = &t->drv[VU_TX];
	size_t hlen = vu_hdr_len(t->dev.features), at = 0, all = hlen + len;
	uint64_t gpa = t->tx_gpa + (uint64_t)d->free_head * BUFSZ;
	struct vring_seg s[11];
	unsigned int n = 0;

	guestmem_write(&t->g, gpa, h, hlen);
	guestmem_write(&t->g, gpa + hlen, f, len);
	while (at < all) {
		uint32_t l = n + 1 < nseg && n < 10 ? cut[n] : 0;

		if (!l || l > all - at)
			l = (uint32_t)(all - at);
		s[n].gpa = gpa + at;
		s[n].len = l;
		s[n++].write = false;
		at += l;
	}
	CHECK(vring_driver_add(d, s, n, false) >= 0);
	vring_driver_kick(d);
	sw_kick(&sw, i, VU_TX);
	while (sw_run(&sw))
		;
}

/* recv(), with the virtio-net header the frame came with in @h. */
static int recv_hdr(unsigned int i, uint8_t *h, uint8_t *f)
{
	struct tport *t = &tp[i];
	size_t hlen = vu_hdr_len(t->dev.features);
	uint32_t len;
	int head = vring_driver_get_used(&t->drv[VU_RX], &len);
	uint64_t gpa = t->rx_gpa + (uint64_t)head * BUFSZ;

	if (head < 0 || len < hlen)
		return -1;
	guestmem_read(&t->g, gpa, h, hlen);
	guestmem_read(&t->g, gpa + hlen, f, len - hlen);
	return (int)(len - hlen);
}

/* A 12-byte header asking for the checksum at @start + @off. */
static void need_csum(uint8_t *h, uint16_t start, uint16_t off)
{
	memset(h, 0, 12);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[6] = (uint8_t)start;
	h[7] = (uint8_t)(start >> 8);
	h[8] = (uint8_t)off;
	h[9] = (uint8_t)(off >> 8);
}

/* The UDP checksum of the IPv4 frame @g (its IP header at @ip) verifies. */
static bool udp_ok(const uint8_t *g, size_t ip, size_t n)
{
	size_t ulen = n - ip - 20;

	return fold(sum16(g + ip + 20, ulen, sum16(g + ip + 12, 8,
						   17 + (uint32_t)ulen))) ==
	       0xffff && (g[ip + 26] | g[ip + 27]) != 0;
}

/* A guest that leaves its checksums (CSUM) sends one frame to a guest
 * that takes them (GUEST_CSUM: the header passes, the bytes as sent) and
 * to one that does not (completed on the way), from one chain cut in
 * pieces at odd offsets as well as from one piece. */
TEST(test_switch_checksum_offload_between_guests)
{
	uint8_t f[BUFSZ], g[BUFSZ], h[12], r[12];
	unsigned int nseg;
	size_t n;

	setup(3);
	tp[0].dev.features |= CSUM_BIT;
	tp[1].dev.features |= GCSUM_BIT;
	for (nseg = 1; nseg <= 11; nseg += 10) {
		n = udp_partial(f, bcast, tp[0].mac, 333 + nseg);
		need_csum(h, 34, 6);
		send_hdr(0, h, f, n, nseg);
		CHECK(recv_hdr(1, r, g) == (int)n && memcmp(f, g, n) == 0);
		CHECK(r[0] == VIRTIO_NET_HDR_F_NEEDS_CSUM && r[6] == 34 &&
		      r[7] == 0 && r[8] == 6 && r[9] == 0);
		CHECK(recv_hdr(2, r, g) == (int)n && r[0] == 0);
		CHECK(udp_ok(g, 14, n));
		CHECK(memcmp(f, g, 40) == 0 && memcmp(f + 42, g + 42, n - 42) == 0);
	}
	/* The sum over odd lengths: a payload of 1..4 bytes. */
	for (nseg = 1; nseg <= 4; nseg++) {
		n = udp_partial(f, bcast, tp[0].mac, nseg);
		send_hdr(0, h, f, n, nseg * 3);
		count_rx(1);
		CHECK(recv_hdr(2, r, g) == (int)n && udp_ok(g, 14, n));
	}
	CHECK(sw.port[0].st.rx_bad_header == 0 && tx_done(0) == 6);
	CHECK(sw.port[0].st.rx_csum_partial == 6);
	CHECK(sw.port[1].st.tx_csum_completed == 0 &&
	      sw.port[2].st.tx_csum_completed == 6);
	teardown(3);
}

/* A tag pushed or popped on the way moves csum_start with the frame; a
 * checksum completed here lands where the tag left it. */
TEST(test_switch_checksum_offload_across_vlan_tags)
{
	static const uint16_t t10[] = { 10, 0 };
	struct sw_port_cfg c[3] = { vcfg(0, t10), vcfg(10, NULL),
				    vcfg(10, NULL) };
	uint8_t f[BUFSZ + 4], g[BUFSZ], h[12], r[12];
	size_t n;

	vsetup(3, c);
	tp[0].dev.features |= CSUM_BIT | GCSUM_BIT;
	tp[1].dev.features |= CSUM_BIT | GCSUM_BIT;
	/* Tagged from the trunk: popped for both access ports. */
	n = udp_partial(f + 4, bcast, tp[0].mac, 200);
	memmove(f, f + 4, 12);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0x20;			/* priority 1, VLAN 10 */
	f[15] = 10;
	need_csum(h, 38, 6);
	send_hdr(0, h, f, n + 4, 3);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 1 && r[6] == 34);
	CHECK(memcmp(g + 12, f + 16, n - 12) == 0);
	CHECK(recv_hdr(2, r, g) == (int)n && r[0] == 0 && udp_ok(g, 14, n));
	/* Untagged from the access port: pushed for the trunk. */
	n = udp_partial(f, tp[0].mac, tp[1].mac, 100);
	need_csum(h, 34, 6);
	send_hdr(1, h, f, n, 1);
	CHECK(recv_hdr(0, r, g) == (int)n + 4 && r[0] == 1 && r[6] == 38 &&
	      g[12] == 0x81 && g[15] == 10);
	CHECK(sw.port[0].st.rx_bad_header == 0 &&
	      sw.port[1].st.rx_bad_header == 0);
	teardown(3);
}

/* Headers a guest must not send are dropped and counted, the port goes
 * on; DATA_VALID is the device's to set and is not passed on; a guest
 * that did not negotiate CSUM has its header ignored. */
TEST(test_switch_bad_offload_headers_drop_the_frame_only)
{
	static const struct {
		uint8_t flags, gso;
		uint16_t start, off;
	} bad[] = {
		{ 1, 0, 13, 6 },		/* inside the Ethernet header */
		{ 1, 0, 34, 399 },		/* field past the end */
		{ 1, 0, 34, 398 },		/* 1 of its 2 bytes inside */
		{ 1, 0, 0xffff, 0xffff },
		{ 1, 0, 400, 0 },
		{ 0, 1, 0, 0 },			/* TSO, not negotiated */
		{ 1, 0x80, 34, 6 },		/* ECN alone */
	};
	uint8_t f[BUFSZ], g[BUFSZ], h[12], r[12];
	unsigned int i;
	size_t n;

	setup(2);
	tp[0].dev.features |= CSUM_BIT;
	tp[1].dev.features |= GCSUM_BIT;
	n = udp_partial(f, tp[1].mac, tp[0].mac, 358);	/* 400 bytes */
	CHECK(n == 400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		need_csum(h, bad[i].start, bad[i].off);
		h[0] = bad[i].flags;
		h[1] = bad[i].gso;
		send_hdr(0, h, f, n, 2);
		CHECK(count_rx(1) == 0);
		CHECK(sw.port[0].st.rx_bad_header == i + 1);
	}
	CHECK(strstr(loop.last_log[0], "virtio-net header") != NULL);
	CHECK(tx_done(0) == i && loop.broken[0] == 0);
	need_csum(h, 34, 6);
	h[0] |= VIRTIO_NET_HDR_F_DATA_VALID;
	send_hdr(0, h, f, n, 1);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 1 && r[6] == 34);
	memset(h, 0, 12);
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	send_hdr(0, h, f, n, 1);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 0);
	/* Without CSUM the header is not read: the frame goes as it is. */
	tp[0].dev.features &= ~CSUM_BIT;
	need_csum(h, 0xffff, 0xffff);
	send_hdr(0, h, f, n, 1);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 0 &&
	      memcmp(f, g, n) == 0);
	CHECK(sw.port[0].st.rx_bad_header == i);
	teardown(2);
}

/* To an uplink a checksum left to the device goes on to the kernel in
 * its header (offload on), or is completed here (off); from it, the
 * kernel's NEEDS_CSUM and DATA_VALID reach a guest that takes them. */
TEST(test_switch_checksum_offload_and_uplinks)
{
	struct sw_port_cfg on = { .offload = true };
	uint8_t f[BUFSZ], g[BUFSZ], h[12], r[12];
	size_t n;

	setup(2);
	tp[0].dev.features |= CSUM_BIT | GCSUM_BIT;
	uplink_setup(2, &on, 1500);
	n = udp_partial(f, tp[2].mac, tp[0].mac, 500);
	need_csum(h, 34, 6);
	send_hdr(0, h, f, n, 5);
	CHECK(up.nsent == 1 && up.sent_len == 12 + n &&
	      memcmp(up.sent, h, 10) == 0 && memcmp(up.sent + 12, f, n) == 0);
	sw_port_remove(&sw, 2);
	uplink_setup(2, NULL, 1500);		/* offload = off */
	send_hdr(0, h, f, n, 5);
	CHECK(up.nsent == 1 && up.sent_len == 12 + n && up.sent[0] == 0 &&
	      udp_ok(up.sent + 12, 14, n));
	CHECK(sw.port[2].st.tx_csum_completed == 1);
	/* From the kernel: passed to 0, which takes them; completed for
	 * 1, which does not. */
	CHECK(count_rx(1) == 2);
	n = udp_partial(f, bcast, tp[2].mac, 77);
	uplink_in(2, h, f, n);
	CHECK(recv_hdr(0, r, g) == (int)n && r[0] == 1 && r[6] == 34 &&
	      memcmp(f, g, n) == 0);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 0 && udp_ok(g, 14, n));
	memset(h, 0, 12);
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	uplink_in(2, h, f, n);
	CHECK(recv_hdr(0, r, g) == (int)n && r[0] == 2);
	CHECK(recv_hdr(1, r, g) == (int)n && r[0] == 0);
	teardown(2);
}

/* ---- segmentation offload (TSO) ---- */

#define TSO_BITS (CSUM_BIT | (1ULL << VIRTIO_NET_F_HOST_TSO4) |          \
		  (1ULL << VIRTIO_NET_F_HOST_TSO6) |                      \
		  (1ULL << VIRTIO_NET_F_HOST_ECN))
#define GTSO_BITS (GCSUM_BIT | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |       \
		   (1ULL << VIRTIO_NET_F_GUEST_TSO6) |                    \
		   (1ULL << VIRTIO_NET_F_GUEST_ECN))

/* A TCP frame as a guest hands it over for TSO: IPv4 (id 0x1234) or
 * IPv6, @opts bytes of TCP options, @payload bytes, TCP flags @flags,
 * its checksum field holding the pseudo-header's sum over the whole TCP
 * length. *@l4 is where TCP starts. */
static size_t tcp_big(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		      bool v6, size_t opts, size_t payload, uint8_t flags,
		      size_t *l4)
{
	size_t ip = 14, th = ip + (v6 ? 40 : 20), thl = 20 + opts, i;
	size_t len = th + thl + payload;
	uint32_t tl = (uint32_t)(thl + payload);
	uint16_t ps;

	memset(f, 0, th + thl);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (v6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[ip] = 0x60;
		f[ip + 4] = (uint8_t)(tl >> 8);
		f[ip + 5] = (uint8_t)tl;
		f[ip + 6] = 6;
		f[ip + 7] = 64;
		f[ip + 8] = 0xfd;
		f[ip + 23] = 1;
		f[ip + 24] = 0xfd;
		f[ip + 39] = 2;
		ps = fold(sum16(f + ip + 8, 32, 6 + tl));
	} else {
		f[12] = 0x08;
		f[ip] = 0x45;
		f[ip + 2] = (uint8_t)((20 + tl) >> 8);
		f[ip + 3] = (uint8_t)(20 + tl);
		f[ip + 4] = 0x12;
		f[ip + 5] = 0x34;
		f[ip + 6] = 0x40;		/* DF */
		f[ip + 8] = 64;
		f[ip + 9] = 6;
		f[ip + 12] = 10; f[ip + 15] = 1;
		f[ip + 16] = 10; f[ip + 19] = 2;
		ps = (uint16_t)~fold(sum16(f + ip, 20, 0));
		f[ip + 10] = (uint8_t)(ps >> 8);
		f[ip + 11] = (uint8_t)ps;
		ps = fold(sum16(f + ip + 12, 8, 6 + tl));
	}
	f[th] = 0x9c; f[th + 1] = 0x40;		/* 40000 -> 5201 */
	f[th + 2] = 0x14; f[th + 3] = 0x51;
	f[th + 4] = 0xff; f[th + 5] = 0xff;	/* seq wraps on the way */
	f[th + 6] = 0xfa; f[th + 7] = 0x00;
	f[th + 11] = 1;				/* ack */
	f[th + 12] = (uint8_t)((thl / 4) << 4);
	f[th + 13] = flags;
	f[th + 14] = 0x01;
	for (i = 0; i < opts; i++)
		f[th + 20 + i] = i + 1 < opts ? 1 : 0;	/* NOPs, an EOL */
	f[th + 16] = (uint8_t)(ps >> 8);
	f[th + 17] = (uint8_t)ps;
	for (i = th + thl; i < len; i++)
		f[i] = (uint8_t)(i * 7 + (i >> 8));
	*l4 = th;
	return len;
}

/* Segment @i of @n of the TSO frame @f (TCP at @l4), rebuilt by hand as
 * Linux's tcp_gso_segment makes it, with its TCP checksum complete or,
 * with @partial, the pseudo-header's sum. Return: its length. */
static size_t ref_seg(const uint8_t *f, size_t len, size_t l4, size_t mss,
		      unsigned int i, unsigned int n, bool partial,
		      uint8_t *out)
{
	bool v6 = f[12] == 0x86;
	size_t ip = l4 - (v6 ? 40 : 20), thl = (size_t)(f[l4 + 12] >> 4) * 4;
	size_t at = l4 + thl + i * mss, plen = i + 1 < n ? mss : len - at;
	uint32_t tl = (uint32_t)(thl + plen), seq;
	uint16_t c;

	memcpy(out, f, l4 + thl);
	memcpy(out + l4 + thl, f + at, plen);
	if (v6) {
		out[ip + 4] = (uint8_t)(tl >> 8);
		out[ip + 5] = (uint8_t)tl;
	} else {
		out[ip + 2] = (uint8_t)((20 + tl) >> 8);
		out[ip + 3] = (uint8_t)(20 + tl);
		out[ip + 5] = (uint8_t)(0x34 + i);
		out[ip + 4] = (uint8_t)(0x12 + ((0x34 + i) >> 8));
		out[ip + 10] = out[ip + 11] = 0;
		c = (uint16_t)~fold(sum16(out + ip, 20, 0));
		out[ip + 10] = (uint8_t)(c >> 8);
		out[ip + 11] = (uint8_t)c;
	}
	seq = ((uint32_t)f[l4 + 4] << 24 | (uint32_t)f[l4 + 5] << 16 |
	       (uint32_t)f[l4 + 6] << 8 | f[l4 + 7]) + (uint32_t)(i * mss);
	out[l4 + 4] = (uint8_t)(seq >> 24);
	out[l4 + 5] = (uint8_t)(seq >> 16);
	out[l4 + 6] = (uint8_t)(seq >> 8);
	out[l4 + 7] = (uint8_t)seq;
	if (i + 1 < n)
		out[l4 + 13] &= (uint8_t)~0x09;		/* FIN, PSH */
	if (i)
		out[l4 + 13] &= (uint8_t)~0x80;		/* CWR */
	c = fold(v6 ? sum16(out + ip + 8, 32, 6 + tl) :
		      sum16(out + ip + 12, 8, 6 + tl));
	out[l4 + 16] = (uint8_t)(c >> 8);
	out[l4 + 17] = (uint8_t)c;
	if (!partial) {
		out[l4 + 16] = out[l4 + 17] = 0;
		c = (uint16_t)~fold(sum16(out + l4, tl, c));
		c = c ? c : 0xffff;
		out[l4 + 16] = (uint8_t)(c >> 8);
		out[l4 + 17] = (uint8_t)c;
	}
	return l4 + tl;
}

/* recv_hdr() for frames over several mergeable buffers. */
static int recv_all(unsigned int i, uint8_t *h, uint8_t *f)
{
	struct tport *t = &tp[i];
	struct vring_driver *d = &t->drv[VU_RX];
	size_t hlen = vu_hdr_len(t->dev.features), total;
	unsigned int nb, k;
	uint32_t len;
	int head = vring_driver_get_used(d, &len);

	if (head < 0 || len < hlen)
		return -1;
	guestmem_read(&t->g, t->rx_gpa + (uint64_t)head * BUFSZ, h, hlen);
	guestmem_read(&t->g, t->rx_gpa + (uint64_t)head * BUFSZ + hlen, f,
		      len - hlen);
	total = len - hlen;
	nb = (unsigned int)(h[10] | h[11] << 8);
	for (k = 1; k < nb; k++) {
		head = vring_driver_get_used(d, &len);
		if (head < 0)
			return -1;
		guestmem_read(&t->g, t->rx_gpa + (uint64_t)head * BUFSZ,
			      f + total, len);
		total += len;
	}
	post_rx(i, nb, BUFSZ);
	return (int)total;
}

/* A TSO header for frame @f (TCP at @l4) cut in @mss-byte segments. */
static void tso_hdr(uint8_t *h, const uint8_t *f, size_t l4, uint16_t mss)
{
	need_csum(h, (uint16_t)l4, 16);
	h[1] = f[12] == 0x86 ? 4 : 1;
	if (f[l4 + 13] & 0x80)
		h[1] |= 0x80;				/* ECN: CWR set */
	h[2] = (uint8_t)(l4 + (f[l4 + 12] >> 4) * 4);	/* hdr_len */
	h[4] = (uint8_t)mss;
	h[5] = (uint8_t)(mss >> 8);
}

/* One TSO frame from 0 (split at odd offsets) to a receiver without
 * offloads (segments, checksums complete), one with checksum offload
 * only (segments left NEEDS_CSUM) and one with TSO (the frame whole):
 * each byte for byte as the test's own reference makes it, over IPv4
 * and IPv6, with and without TCP options, FIN, PSH and CWR where Linux
 * puts them, and payloads of k segments exactly, k and a byte, one and
 * a byte, and a single segment (switched as a plain frame). */
TEST(test_switch_tso_segments_match_the_reference)
{
	static const struct { size_t payload, mss; } cut[] = {
		{ 4000, 1000 }, { 4001, 1000 }, { 1449, 1448 },
		{ 1000, 1000 }, { 6000, 536 },
	};
	static uint8_t f[16384], g[16384], want[16384];
	uint8_t h[12], r[12];
	unsigned int c, k, i, n, segs = 0;
	size_t len, l4, sl;

	setup(4);
	tp[0].dev.features |= TSO_BITS;
	tp[2].dev.features |= GCSUM_BIT;
	tp[3].dev.features |= GTSO_BITS;
	send(1, bcast, 60, 1);
	send(2, bcast, 60, 1);
	send(3, bcast, 60, 1);
	count_rx(0);
	count_rx(1);
	count_rx(2);
	count_rx(3);
	for (c = 0; c < sizeof(cut) / sizeof(cut[0]); c++) {
		for (k = 0; k < 4; k++) {
			len = tcp_big(f, bcast, tp[0].mac, k & 1,
				      k & 2 ? 12 : 0, cut[c].payload,
				      k & 2 ? 0x99 : 0x18, &l4);
			n = (unsigned int)((cut[c].payload + cut[c].mss - 1) /
					   cut[c].mss);
			tso_hdr(h, f, l4, (uint16_t)cut[c].mss);
			send_hdr(0, h, f, len, 7);
			for (i = 0; i < n; i++) {
				sl = ref_seg(f, len, l4, cut[c].mss, i, n,
					     false, want);
				CHECK(recv_all(1, r, g) == (int)sl &&
				      r[0] == 0 && r[1] == 0 &&
				      memcmp(g, want, sl) == 0);
				sl = ref_seg(f, len, l4, cut[c].mss, i, n,
					     true, want);
				CHECK(recv_all(2, r, g) == (int)sl &&
				      r[0] == 1 && r[1] == 0 &&
				      r[6] == l4 && r[8] == 16 &&
				      memcmp(g, want, sl) == 0);
			}
			segs += n > 1;
			tx_done(0);
			CHECK(recv_all(1, r, g) < 0 && recv_all(2, r, g) < 0);
			CHECK(recv_all(3, r, g) == (int)len &&
			      memcmp(g, f, len) == 0);
			CHECK(r[0] == 1 && r[6] == l4 && r[8] == 16);
			if (n > 1)
				CHECK(memcmp(r + 1, h + 1, 5) == 0);
			else
				CHECK(r[1] == 0);
		}
	}
	CHECK(sw.port[0].st.rx_bad_header == 0 &&
	      sw.port[0].st.rx_gso == segs);
	CHECK(sw.port[1].st.tx_segmented == segs &&
	      sw.port[2].st.tx_segmented == segs &&
	      sw.port[3].st.tx_segmented == 0);
	teardown(4);
}

/* A tag popped on the way: segments and the whole frame leave untagged,
 * the header's offsets 4 bytes earlier. */
TEST(test_switch_tso_across_vlan_tags)
{
	static const uint16_t t10[] = { 10, 0 };
	struct sw_port_cfg c[3] = { vcfg(0, t10), vcfg(10, NULL),
				    vcfg(10, NULL) };
	static uint8_t f[8192], t[8192], g[8192], want[8192];
	uint8_t h[12], r[12];
	size_t len, l4, sl;
	unsigned int i;

	vsetup(3, c);
	tp[0].dev.features |= TSO_BITS;
	tp[2].dev.features |= GTSO_BITS;
	len = tcp_big(f, bcast, tp[0].mac, false, 0, 3000, 0x18, &l4);
	memcpy(t, f, 12);
	t[12] = 0x81;
	t[14] = 0x20;
	t[15] = 10;
	memcpy(t + 16, f + 12, len - 12);
	tso_hdr(h, t, l4 + 4, 1400);
	send_hdr(0, h, t, len + 4, 3);
	for (i = 0; i < 3; i++) {
		sl = ref_seg(f, len, l4, 1400, i, 3, false, want);
		CHECK(recv_all(1, r, g) == (int)sl &&
		      memcmp(g, want, sl) == 0);
	}
	CHECK(recv_all(2, r, g) == (int)len && memcmp(g, f, len) == 0);
	CHECK(r[1] == 1 && r[2] == l4 + 20 && r[6] == l4 && r[8] == 16);
	teardown(3);
}

/* Headers asking for segmentation that cannot be done, or that was not
 * negotiated, drop the frame and are counted; the port goes on. */
TEST(test_switch_tso_bad_headers)
{
	static uint8_t f[8192], bad[8192];
	uint8_t h[12];
	size_t len, l4;
	unsigned int n = 0, c;

	setup(2);
	tp[0].dev.features |= CSUM_BIT | (1ULL << VIRTIO_NET_F_HOST_TSO4);
	len = tcp_big(f, tp[1].mac, tp[0].mac, false, 0, 3000, 0x18, &l4);
	for (c = 0; c < 12; c++) {
		size_t blen = len;

		memcpy(bad, f, len);
		tso_hdr(h, f, l4, 1000);
		switch (c) {
		case 0: h[1] = 4; break;		/* TSO6: not ours */
		case 1: h[1] = 0x81; break;		/* ECN: not ours */
		case 2: h[1] = 3; break;		/* UDP (UFO) */
		case 3: h[4] = h[5] = 0; break;		/* gso_size 0 */
		case 4: h[0] = 0; break;		/* no NEEDS_CSUM */
		case 5: h[6] = 14; break;		/* not TCP's sum */
		case 6: h[8] = 6; break;
		case 7: bad[12] = 0x86; bad[13] = 0xdd; break;	/* IPv6 */
		case 8: bad[14 + 9] = 17; break;	/* UDP in IPv4 */
		case 9: bad[14 + 6] = 0x20; break;	/* a fragment */
		case 10: bad[l4 + 12] = 0xf0; blen = l4 + 40; break;
		default: bad[14] = 0x44; break;		/* IHL 4 */
		}
		send_hdr(0, h, bad, blen, 2);
		CHECK(count_rx(1) == 0);
		CHECK(sw.port[0].st.rx_bad_header == ++n);
	}
	tso_hdr(h, f, l4, 1000);
	send_hdr(0, h, f, len, 1);
	CHECK(count_rx(1) == 3 && loop.broken[0] == 0 && tx_done(0) == 13);
	/* Without TSO negotiated, a frame over the MTU stays oversize. */
	tp[0].dev.features &= ~(1ULL << VIRTIO_NET_F_HOST_TSO4);
	tp[0].dev.mtu = 1500;
	send_hdr(0, h, f, len, 1);
	CHECK(count_rx(1) == 0 && sw.port[0].st.rx_oversize == 1);
	teardown(2);
}

/* A receiver whose buffers run out part way through a frame's segments
 * holds the frame where it stopped: once it posts more, the next
 * segment goes, none twice, none lost. */
TEST(test_switch_tso_waits_for_buffers_and_goes_on)
{
	static uint8_t f[8192], g[8192], want[8192];
	uint8_t h[12], r[12];
	size_t len, l4, sl;
	unsigned int i;

	setup(2);
	tp[0].dev.features |= TSO_BITS;
	send(1, bcast, 60, 1);
	count_rx(0);
	/* 1 has 2 buffers left. */
	for (i = 0; i < QSZ / 2 - 2; i++)
		send(0, tp[1].mac, 60, (uint8_t)i);
	CHECK(count_rx(1) == QSZ / 2 - 2 && tx_done(0) == QSZ / 2 - 2);
	len = tcp_big(f, tp[1].mac, tp[0].mac, false, 0, 5000, 0x19, &l4);
	tso_hdr(h, f, l4, 1000);
	send_hdr(0, h, f, len, 3);
	CHECK(tx_done(0) == 0 && sw.port[1].st.tx_held == 1);
	for (i = 0; i < 2; i++) {
		sl = ref_seg(f, len, l4, 1000, i, 5, false, want);
		CHECK(recv_all(1, r, g) == (int)sl &&
		      memcmp(g, want, sl) == 0);
	}
	post_rx(1, 3, BUFSZ);		/* (recv_all posted 2 more) */
	sw_kick(&sw, 1, VU_RX);
	while (sw_run(&sw))
		;
	for (i = 2; i < 5; i++) {
		sl = ref_seg(f, len, l4, 1000, i, 5, false, want);
		CHECK(recv_all(1, r, g) == (int)sl &&
		      memcmp(g, want, sl) == 0);
	}
	CHECK(recv_all(1, r, g) < 0 && tx_done(0) == 1);
	CHECK(sw.port[1].st.tx_segmented == 1 &&
	      sw.port[1].st.tx_no_buffer == 0);
	teardown(2);
}

/* Segments of a single byte, more than the receiver's ring can ever
 * hold: they go as long as it posts buffers; once it has been without
 * for rx_wait_ms, the rest is dropped (counted once) and the sender goes
 * on, and the receiver takes the next frame as usual. */
TEST(test_switch_tso_tiny_segments)
{
	static uint8_t f[8192];
	uint8_t h[12], g[BUFSZ];
	size_t len, l4;

	setup(3);
	tp[0].dev.features |= TSO_BITS;
	send(1, bcast, 60, 1);
	send(2, bcast, 60, 1);
	count_rx(0);
	count_rx(1);
	count_rx(2);
	len = tcp_big(f, tp[1].mac, tp[0].mac, false, 0, 3000, 0x18, &l4);
	tso_hdr(h, f, l4, 1);
	send_hdr(0, h, f, len, 1);
	CHECK(count_rx(1) == QSZ / 2 - 1);	/* its buffers left */
	CHECK(tx_done(0) == 0);
	post_rx(1, QSZ / 2, BUFSZ);
	sw_kick(&sw, 1, VU_RX);
	while (sw_run(&sw))
		;
	CHECK(count_rx(1) == QSZ / 2 && tx_done(0) == 0);
	sw_clock(&sw, 1000000 + 20);		/* rx_wait_ms later */
	sw_hold_timer(&sw);
	while (sw_run(&sw))
		;
	CHECK(tx_done(0) == 1 && sw.port[1].st.tx_no_buffer == 1);
	CHECK(sw.port[1].st.tx_segmented == 1);
	post_rx(1, QSZ / 2, BUFSZ);
	send(2, tp[1].mac, 100, 0x61);
	CHECK(recv(1, g) == 100 && g[14] == 0x61);
	teardown(3);
}

/* Uplinks take TSO frames whole with offload, segmented without; the
 * kernel's own (GRO, a tap's TSO) reach a guest in the form it takes. */
TEST(test_switch_tso_and_uplinks)
{
	struct sw_port_cfg on = { .offload = true };
	static uint8_t f[8192], g[8192], want[8192];
	uint8_t h[12], r[12];
	size_t len, l4, sl;
	unsigned int i;

	setup(2);
	tp[0].dev.features |= TSO_BITS;
	uplink_setup(2, &on, 1500);
	len = tcp_big(f, tp[2].mac, tp[0].mac, true, 0, 5000, 0x18, &l4);
	tso_hdr(h, f, l4, 1440);
	send_hdr(0, h, f, len, 4);
	CHECK(up.nsent == 1 && up.sent_len == 12 + len &&
	      memcmp(up.sent + 12, f, len) == 0 && up.sent[1] == 4 &&
	      up.sent[4] == (1440 & 0xff) && up.sent[5] == 1440 >> 8);
	count_rx(1);
	sw_port_remove(&sw, 2);
	uplink_setup(2, NULL, 1500);
	send_hdr(0, h, f, len, 4);
	CHECK(up.nsent == 4 && sw.port[2].st.tx_segmented == 1);
	sl = ref_seg(f, len, l4, 1440, 3, 4, false, want);
	CHECK(up.sent_len == 12 + sl && up.sent[0] == 0 &&
	      memcmp(up.sent + 12, want, sl) == 0);
	/* From the kernel, with DATA_VALID (GRO): to guest 0 (TSO) whole,
	 * to guest 1 in segments with complete checksums. */
	count_rx(1);
	tp[0].dev.features |= GTSO_BITS;
	len = tcp_big(f, bcast, tp[2].mac, false, 0, 2000, 0x18, &l4);
	memset(h, 0, sizeof(h));
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	h[1] = 1;
	h[4] = 1000 & 0xff;
	h[5] = 1000 >> 8;
	uplink_in(2, h, f, len);
	CHECK(recv_all(0, r, g) == (int)len && memcmp(g, f, len) == 0 &&
	      r[0] == 2 && r[1] == 1);
	for (i = 0; i < 2; i++) {
		sl = ref_seg(f, len, l4, 1000, i, 2, false, want);
		CHECK(recv_all(1, r, g) == (int)sl && r[0] == 0 &&
		      memcmp(g, want, sl) == 0);
	}
	CHECK(sw.port[2].st.rx_gso == 1 && sw.port[2].st.rx_bad_header == 0);
	teardown(2);
}

int main(void)
{
	RUN(test_switch_floods_unknown_and_learns);
	RUN(test_switch_broadcast_reaches_all_others);
	RUN(test_switch_follows_an_address_that_moves);
	RUN(test_switch_hairpin_and_port_down_are_counted);
	RUN(test_switch_holds_for_a_receiver_without_buffers);
	RUN(test_switch_gives_up_on_a_stuck_receiver);
	RUN(test_switch_does_not_hold_without_a_timer);
	RUN(test_switch_drops_over_the_mtu_and_runts);
	RUN(test_switch_mac_list_and_max_macs);
	RUN(test_switch_small_receive_buffers_without_mergeable);
	RUN(test_switch_fault_breaks_only_the_owner);
	RUN(test_switch_malformed_chain_breaks_its_port);
	RUN(test_switch_rarp_waits_until_up);
	RUN(test_switch_ages_addresses);
	RUN(test_switch_tells_fdb_events);
	RUN(test_switch_access_ports_keep_vlans_apart);
	RUN(test_switch_trunk_and_access_push_and_pop);
	RUN(test_switch_native_vlan_and_priority_tags);
	RUN(test_switch_plain_ports_carry_every_vlan);
	RUN(test_switch_vlan_change_forgets_addresses);
	RUN(test_switch_uplink_both_ways);
	RUN(test_switch_uplink_without_buffers_holds_its_senders);
	RUN(test_switch_uplink_completes_checksums);
	RUN(test_switch_uplink_trunk);
	RUN(test_switch_checksum_offload_between_guests);
	RUN(test_switch_checksum_offload_across_vlan_tags);
	RUN(test_switch_bad_offload_headers_drop_the_frame_only);
	RUN(test_switch_checksum_offload_and_uplinks);
	RUN(test_switch_tso_segments_match_the_reference);
	RUN(test_switch_tso_across_vlan_tags);
	RUN(test_switch_tso_bad_headers);
	RUN(test_switch_tso_waits_for_buffers_and_goes_on);
	RUN(test_switch_tso_tiny_segments);
	RUN(test_switch_tso_and_uplinks);
	return test_summary();
}
