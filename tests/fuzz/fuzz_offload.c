/*
 * libFuzzer target: the engine's offloads (proto/switch.c) over frames and
 * virtio-net headers the fuzzer writes: header validation, the parse of
 * the IP and TCP headers, segmentation, checksums, VLAN push and pop.
 *
 * The frame comes from the kernel's side (an uplink, which may ask for
 * any segmentation), and floods to two uplinks: one that takes offloads
 * (offload = on: the frame whole, as it came) and one that does not
 * (every segment cut and every checksum completed by the switch). The
 * input is:
 *
 *   byte 0     VLANs: 0 none; 1 the sender is a trunk of VLAN 10 (its
 *              frame is tagged) and the receivers access ports of it;
 *              2 the other way round
 *   bytes 1-10 the virtio-net header (little-endian)
 *   the rest   the frame; its addresses are overwritten (a broadcast
 *              from a fixed unicast source), and with byte 0 = 1 its
 *              tag too (a priority tag, VLAN 0, is the frame's own VLAN:
 *              popped, or rewritten to VLAN 10 by an access port)
 *
 * Every frame the receivers get is checked, as it arrives, against the
 * target's own reference: the whole frame as the receiver should see it
 * (its tag pushed or popped) for the first; for the second the same with
 * its checksum completed, or, for a frame the switch segments, each
 * segment rebuilt by hand as Linux's tcp_gso_segment makes it. A frame
 * the switch refuses must reach neither. Any difference aborts.
 */
#define _DEFAULT_SOURCE
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/switch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VNET 12				/* the uplinks' header */
#define MAXF (SW_MAX_FRAME + 4)

static struct sw sw;
static uint8_t in[VNET + MAXF];		/* what the kernel hands over */
static uint8_t u[MAXF];			/* the frame as receivers see it */
static size_t ulen;
static uint8_t out[VNET + MAXF];	/* the uplink buffer */
static uint8_t seg[MAXF];

/* What the reference expects. */
static struct {
	bool gso;			/* segmented for port 2 */
	bool sum;			/* a checksum to complete */
	size_t start, off;		/* in u */
	size_t l4, thl, mss, nseg;
	unsigned int got[3];		/* frames each port got */
	unsigned int n[3];		/* frames each port must get */
} want;

static void die(const char *what, unsigned int port, unsigned int i)
{
	fprintf(stderr, "fuzz_offload: port %u frame %u: %s\n", port, i,
		what);
	abort();
}

static uint32_t sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Complete a checksum from @start, stored at @start + @off, 0 as
 * 0xffff; the field holds the pseudo-header's sum (or anything). */
static void complete(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint16_t c = (uint16_t)~fold(sum(f + start, len - start, 0));

	put16(f + start + off, c ? c : 0xffff);
}

/* Where u's IP header starts. */
static size_t u_l3(void)
{
	return u[12] == 0x81 && u[13] == 0 ? 18 : 14;
}

/* Segment @i of u, by hand. Return: its length. */
static size_t segment(unsigned int i)
{
	size_t l3 = u_l3(), hl = want.l4 + want.thl, at = hl + i * want.mss;
	size_t plen = i + 1 < want.nseg ? want.mss : ulen - at;
	uint32_t tl = (uint32_t)(want.thl + plen), seq;
	bool v6 = u[l3 - 2] == 0x86;
	uint8_t *ip, *th;

	memcpy(seg, u, hl);
	memcpy(seg + hl, u + at, plen);
	ip = seg + l3;
	th = seg + want.l4;
	if (v6) {
		put16(ip + 4, (uint16_t)tl);
	} else {
		put16(ip + 2, (uint16_t)(want.l4 - l3 + tl));
		put16(ip + 4, (uint16_t)((ip[4] << 8 | ip[5]) + i));
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~fold(sum(ip, want.l4 - l3, 0)));
	}
	seq = ((uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
	       (uint32_t)th[6] << 8 | th[7]) + (uint32_t)(i * want.mss);
	th[4] = (uint8_t)(seq >> 24);
	th[5] = (uint8_t)(seq >> 16);
	th[6] = (uint8_t)(seq >> 8);
	th[7] = (uint8_t)seq;
	if (i + 1 < want.nseg)
		th[13] &= (uint8_t)~0x09;
	if (i)
		th[13] &= (uint8_t)~0x80;
	put16(th + 16, fold(v6 ? sum(ip + 8, 32, 6 + tl) :
				 sum(ip + 12, 8, 6 + tl)));
	complete(seg, want.l4 + tl, want.l4, 16);
	return want.l4 + tl;
}

static void *f_buf(void *o, unsigned int port, size_t len)
{
	(void)o;
	(void)port;
	return len <= sizeof(out) ? out : NULL;
}

static void f_send(void *o, unsigned int port, void *buf, size_t len)
{
	const uint8_t *f = (const uint8_t *)buf + VNET;
	unsigned int i = want.got[port]++;
	size_t n = len - VNET;

	(void)o;
	if (port == 1 || !want.gso) {
		/* Whole: as the receiver sees it, completed for port 2. */
		memcpy(seg, u, ulen);
		if (port == 2 && want.sum)
			complete(seg, ulen, want.start, want.off);
		if (i || n != ulen || memcmp(f, seg, n))
			die("not the frame expected", port, i);
		if (port == 2 && ((const uint8_t *)buf)[0])
			die("a flag left to a port without offloads", port, i);
		if (port == 1 && want.gso != (((const uint8_t *)buf)[1] != 0))
			die("segmentation not passed on as it was", port, i);
		if (port == 1 && want.sum &&
		    (((const uint8_t *)buf)[0] != 1 ||
		     (size_t)(((const uint8_t *)buf)[6] |
			      ((const uint8_t *)buf)[7] << 8) != want.start))
			die("checksum not passed on where it was", port, i);
		return;
	}
	if (i >= want.nseg || segment(i) != n || memcmp(f, seg, n))
		die("not the segment expected", port, i);
	if (((const uint8_t *)buf)[0] || ((const uint8_t *)buf)[1])
		die("a segment with offloads left", port, i);
}

static void f_drop(void *o, unsigned int port, void *buf)
{
	(void)o;
	(void)port;
	(void)buf;
}

static void f_signal(void *o, unsigned int port, unsigned int q)
{
	(void)o;
	(void)port;
	(void)q;
}

static bool f_timer(void *o, enum sw_timer t, unsigned int ms)
{
	(void)o;
	(void)t;
	(void)ms;
	return true;
}

static void f_log(void *o, int port, enum sw_log_level l, const char *m)
{
	(void)o;
	(void)port;
	(void)l;
	(void)m;
}

static const struct sw_ops ops = {
	f_signal, f_signal, f_timer, f_log, f_buf, f_send, f_drop, NULL,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sw_init(&sw, &ops, NULL, 64, 300, 1) == 0 ? 0 : -1;
}

/*
 * What the reference expects of the input in @in: whether the frame is
 * one to segment (the kernel may ask for TCP's of IPv4 or IPv6), where
 * its checksum is to be completed. Only the cases the switch accepts
 * matter: a frame it refuses must reach no one.
 */
static void expect(const uint8_t *h, int delta)
{
	size_t l3 = u_l3(), l4;
	uint8_t type = h[1] & 0x7f;
	uint16_t gso_size = (uint16_t)(h[4] | h[5] << 8);

	memset(&want, 0, sizeof(want));
	want.start = (size_t)((h[6] | h[7] << 8) + delta);
	want.off = (size_t)(h[8] | h[9] << 8);
	want.sum = h[0] & 1;
	if ((type != 1 && type != 4) || ulen < l3 + 20)
		return;
	if (type == 1) {
		if (u[l3] >> 4 != 4)
			return;
		l4 = l3 + (size_t)(u[l3] & 15) * 4;
	} else {
		l4 = l3 + 40;
	}
	if (ulen < l4 + 20 || ulen < l4 + (size_t)(u[l4 + 12] >> 4) * 4)
		return;
	want.l4 = l4;
	want.thl = (size_t)(u[l4 + 12] >> 4) * 4;
	want.mss = gso_size;
	if (gso_size && ulen - l4 - want.thl > gso_size) {
		want.gso = true;
		want.nseg = (ulen - l4 - want.thl + gso_size - 1) / gso_size;
	}
}

/* How many frames each receiver must get of a frame the switch took:
 * none when what it would get is over the largest MTU. */
static void expect_counts(void)
{
	bool fits = want.gso ? want.l4 + want.thl + want.mss <= SW_MAX_FRAME :
			       ulen <= SW_MAX_FRAME;

	want.n[1] = fits;
	want.n[2] = fits ? (want.gso ? (unsigned int)want.nseg : 1) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t vid = 10;
	struct sw_port_cfg src = { 0 }, on = { .offload = true }, off = { 0 };
	struct sw_port_cfg *access[2] = { &on, &off };
	uint8_t mode;
	size_t flen, i;
	int delta = 0;
	bool prio;

	if (size < 1 + 10 + 14 || size - 11 > MAXF - 4)
		return 0;
	mode = data[0] % 3;
	flen = size - 11;
	memset(in, 0, VNET);
	memcpy(in, data + 1, 10);
	memcpy(in + VNET, data + 11, flen);
	memset(in + VNET, 0xff, 6);
	memcpy(in + VNET + 6, "\x52\x54\x00\x12\x34\x56", 6);
	if (mode == 1) {
		if (flen < 18)
			return 0;
		memcpy(in + VNET + 12, "\x81\x00\x00\x0a", 4);
	}
	/* The frame as the receivers should see it. A priority tag (VLAN
	 * 0) is the frame's own VLAN: it goes, or (mode 2) becomes VLAN
	 * 10's, keeping its priority. */
	prio = flen >= 18 && in[VNET + 12] == 0x81 && in[VNET + 13] == 0 &&
	       !(in[VNET + 14] & 0x0f) && !in[VNET + 15];
	if (mode == 1 || (mode == 0 && prio)) {
		memcpy(u, in + VNET, 12);
		memcpy(u + 12, in + VNET + 16, flen - 16);
		ulen = flen - 4;
		delta = -4;
	} else if (mode == 2 && prio) {
		memcpy(u, in + VNET, flen);
		u[14] = (uint8_t)(u[14] & 0xf0);
		u[15] = 10;
		ulen = flen;
	} else if (mode == 2) {
		memcpy(u, in + VNET, 12);
		memcpy(u + 12, "\x81\x00\x00\x0a", 4);
		memcpy(u + 16, in + VNET + 12, flen - 12);
		ulen = flen + 4;
		delta = 4;
	} else {
		memcpy(u, in + VNET, flen);
		ulen = flen;
	}
	if (mode == 1) {
		src.trunk = true;
		src.trunk_vids[0] = 1ULL << vid;
		on.vlan = off.vlan = vid;
	} else if (mode == 2) {
		src.vlan = vid;
		for (i = 0; i < 2; i++) {
			access[i]->trunk = true;
			access[i]->trunk_vids[0] = 1ULL << vid;
		}
	}
	expect(in, delta);
	sw_uplink_add(&sw, 0, &src, VNET, true);
	sw_uplink_add(&sw, 1, &on, VNET, true);
	sw_uplink_add(&sw, 2, &off, VNET, true);
	for (i = 0; i < 3; i++)
		sw_up(&sw, (unsigned int)i);
	sw_uplink_rx(&sw, 0, in, VNET + flen);
	while (sw_run(&sw))
		;
	/* Through to both, or to neither. */
	if (sw.port[0].st.rx_packets) {
		expect_counts();
		if (want.got[1] != want.n[1] || want.got[2] != want.n[2])
			die("frames missing", 0, 0);
	} else if (want.got[1] || want.got[2]) {
		die("a refused frame went through", 0, 0);
	}
	for (i = 0; i < 3; i++)
		sw_port_remove(&sw, (unsigned int)i);
	return 0;
}
