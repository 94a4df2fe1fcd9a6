/*
 * switch: the engine. See switch.h for what it trusts and how the loop
 * drives it.
 *
 * How a frame moves: sw_run() runs a port with transmit work (port_tx);
 * tx_loop() takes its chains in bursts, forward_frame() checks each
 * frame's Ethernet header (one copy, out of guest memory) and decides
 * where it goes, deliver() copies it, once, straight into each receiver's
 * buffers; flush_burst() publishes the used entries and interrupts whom
 * it must. A receiver without buffers makes a unicast frame wait in the
 * sender's ring (hold) for at most rx_wait_ms.
 */
#define _DEFAULT_SOURCE
#include "switch.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

/* ------------------------------------------------------------------ */
/* Small things                                                         */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 4, 5)))
static void sw_log(struct sw *sw, int port, enum sw_log_level level,
		   const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sw->ops->log(sw->opaque, port, level, line);
}

static unsigned int port_index(const struct sw *sw, const struct sw_port *p)
{
	(void)sw;
	return p->index;
}

static bool port_ready(const struct sw_port *p)
{
	return p->in_use && p->up && !p->broken;
}

static void set_runnable(struct sw *sw, const struct sw_port *p)
{
	sw->run_mask |= 1ULL << port_index(sw, p);
}

/* The port's MTU: what the front-end set (NET_SET_MTU), or the uplink's
 * interface's; 0 when none is known. */
static uint32_t port_mtu(const struct sw_port *p)
{
	return p->kind == SW_VHOST_USER ? p->dev->mtu : p->mtu;
}

static uint64_t frame_max(const struct sw_port *p)
{
	uint32_t mtu = port_mtu(p);

	return mtu ? (uint64_t)mtu + SW_L2_OVERHEAD : SW_MAX_FRAME;
}

/* ------------------------------------------------------------------ */
/* VLANs (see struct sw_port_cfg)                                       */
/* ------------------------------------------------------------------ */

#define ETH_P_8021Q 0x8100

static bool in_trunk(const struct sw_port_cfg *c, uint16_t vid)
{
	return c->trunk && (c->trunk_vids[vid / 64] >> (vid % 64) & 1);
}

/*
 * The VLAN a frame arriving on a port of @c belongs to: @tagged with
 * @vid, or untagged. Return: the VLAN, or -1 when the port does not take
 * the frame.
 */
static int ingress_vlan(const struct sw_port_cfg *c, bool tagged,
			uint16_t vid)
{
	if (tagged && vid > SW_VLAN_MAX)
		return -1;		/* 4095 is reserved */
	if (!c->vlan && !c->trunk)
		return tagged ? vid : 0;
	if (!tagged || vid == 0)
		return c->vlan ? c->vlan : -1;
	if (!c->trunk)
		return -1;		/* an access port takes no tags */
	return in_trunk(c, vid) || vid == c->vlan ? vid : -1;
}

/* How a frame of VLAN @v leaves a port of @c. Return: -1 it does not,
 * 0 untagged, 1 tagged. */
static int egress_tag(const struct sw_port_cfg *c, uint16_t v)
{
	if (!c->vlan && !c->trunk)
		return v != 0;
	if (v == c->vlan)
		return 0;
	return in_trunk(c, v) ? 1 : -1;
}

static bool same_vlans(const struct sw_port_cfg *a,
		       const struct sw_port_cfg *b)
{
	return a->vlan == b->vlan && a->trunk == b->trunk &&
	       memcmp(a->trunk_vids, b->trunk_vids,
		      sizeof(a->trunk_vids)) == 0;
}

/* ------------------------------------------------------------------ */
/* Checksums (RFC 1071)                                                 */
/* ------------------------------------------------------------------ */

/* The one's complement sum of @n bytes at @p, as big-endian 16-bit words
 * (an odd last byte the high half of one), added to @s and folded to 16
 * bits. Summed in the host's order, a word at a time, then turned (RFC
 * 1071 2(B)). */
static uint16_t csum_end(const uint8_t *p, size_t n, uint64_t s)
{
	uint32_t w;
	uint16_t h;

	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&w, p, 4);
		s += w;
	}
	if (n >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		n -= 2;
	}
	if (n) {
		const uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		s += h;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return be16toh((uint16_t)s);
}

/* The sum of @n bytes at @p, as csum_end() makes it. */
static uint16_t csum_bytes(const uint8_t *p, size_t n)
{
	uint64_t s = 0, s1 = 0, s2 = 0, s3 = 0;
	uint32_t w, w1, w2, w3;

	/* Four sums at once: the additions do not wait for each other. */
	for (; n >= 16; p += 16, n -= 16) {
		memcpy(&w, p, 4);
		memcpy(&w1, p + 4, 4);
		memcpy(&w2, p + 8, 4);
		memcpy(&w3, p + 12, 4);
		s += w;
		s1 += w1;
		s2 += w2;
		s3 += w3;
	}
	return csum_end(p, n, s + s1 + s2 + s3);
}

/* A sum of 16-bit words, folded to 16 bits (not complemented). */
static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A sum being taken over bytes that come in pieces. */
struct csum {
	uint32_t sum;
	size_t n;			/* bytes so far */
};

/*
 * Copy @n bytes from @p to @d, and the one's complement sum of them
 * (as csum_end() makes it), in one pass: sixteen bytes at a time,
 * their 16-bit halves added in 32-bit lanes (where the target has
 * vectors; plain words where it has not), which cannot carry out within
 * a block of 64 Ki rounds.
 */
static uint16_t csum_copy(uint8_t *d, const uint8_t *p, size_t n)
{
	typedef uint32_t v4u32 __attribute__((vector_size(16)));
	uint64_t s = 0;
	unsigned int k;

	while (n >= 32) {
		v4u32 lo = { 0 }, hi = { 0 }, lo1 = { 0 }, hi1 = { 0 }, a, b;
		size_t m = n < (size_t)1 << 21 ? n : (size_t)1 << 21;

		n -= m & ~(size_t)31;
		for (; m >= 32; p += 32, d += 32, m -= 32) {
			memcpy(&a, p, 16);
			memcpy(&b, p + 16, 16);
			memcpy(d, &a, 16);
			memcpy(d + 16, &b, 16);
			lo += a & 0xffff;
			hi += a >> 16;
			lo1 += b & 0xffff;
			hi1 += b >> 16;
		}
		for (k = 0; k < 4; k++)
			s += (uint64_t)lo[k] + hi[k] + lo1[k] + hi1[k];
	}
	memcpy(d, p, n);
	return csum_end(p, n, s);
}

/* Copy @n bytes from @p to @d, summing them into @c. */
static void csum_more_copy(struct csum *c, uint8_t *d, const uint8_t *p,
			   size_t n)
{
	uint16_t s = csum_copy(d, p, n);

	/* Bytes starting at an odd offset sit in the other half of
	 * their words. */
	if (c->n & 1)
		s = (uint16_t)(s << 8 | s >> 8);
	c->sum += s;
	c->n += n;
}

/* The checksum to store: the sum's complement, 0 sent as 0xffff (as
 * Linux's own software checksums do). */
static uint16_t csum_final(const struct csum *c)
{
	uint32_t s = c->sum;

	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = ~s & 0xffff;
	return s ? (uint16_t)s : 0xffff;
}

/*
 * iov_copy() for pieces that span more than one buffer; with @c, the
 * bytes copied from @from on (counted from the copy's first byte) are
 * summed into it in the same pass.
 */
static void iov_copy_pieces(const struct iovec *dst, size_t doff,
			    const struct iovec *src, size_t soff, size_t len,
			    struct csum *c, size_t from)
{
	size_t done = 0;

	while (doff >= dst->iov_len)
		doff -= (dst++)->iov_len;
	while (soff >= src->iov_len)
		soff -= (src++)->iov_len;
	while (len) {
		size_t n = len;
		uint8_t *d = (uint8_t *)dst->iov_base + doff;

		if (n > dst->iov_len - doff)
			n = dst->iov_len - doff;
		if (n > src->iov_len - soff)
			n = src->iov_len - soff;
		if (c && done + n > from) {
			const uint8_t *p = (const uint8_t *)src->iov_base +
					   soff;
			size_t skip = done < from ? from - done : 0;

			memcpy(d, p, skip);
			csum_more_copy(c, d + skip, p + skip, n - skip);
		} else {
			memcpy(d, (const uint8_t *)src->iov_base + soff, n);
		}
		done += n;
		len -= n;
		doff += n;
		soff += n;
		if (doff == dst->iov_len) {
			dst++;
			doff = 0;
		}
		if (soff == src->iov_len) {
			src++;
			soff = 0;
		}
	}
}

/*
 * Copy @len bytes from @src, starting @soff bytes in, to @dst, starting
 * @doff bytes in. The caller has checked that both hold enough; pieces are
 * never empty. Most copies lie within the first piece on both sides.
 */
static inline void iov_copy(const struct iovec *dst, size_t doff,
			    const struct iovec *src, size_t soff, size_t len)
{
	if (doff < dst->iov_len && len <= dst->iov_len - doff &&
	    soff < src->iov_len && len <= src->iov_len - soff)
		memcpy((uint8_t *)dst->iov_base + doff,
		       (const uint8_t *)src->iov_base + soff, len);
	else if (len)
		iov_copy_pieces(dst, doff, src, soff, len, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

int sw_init(struct sw *sw, const struct sw_ops *ops, void *opaque,
	    uint32_t fdb_size, uint32_t aging, uint64_t key)
{
	unsigned int i;

	memset(sw, 0, sizeof(*sw));
	sw->ops = ops;
	sw->opaque = opaque;
	sw->running = -1;
	sw->burst.src = sw->burst.dst = sw->burst.up_port = -1;
	for (i = 0; i < SW_MAX_PORTS; i++) {
		sw->port[i].index = (uint16_t)i;
		sw->port[i].src_hint = sw->port[i].dst_hint = L2_NO_HINT;
	}
	return l2_fdb_init(&sw->fdb, fdb_size, aging, key, SW_MAX_PORTS);
}

void sw_free(struct sw *sw)
{
	l2_fdb_free(&sw->fdb);
}

int sw_resize_fdb(struct sw *sw, uint32_t size)
{
	struct l2_fdb n;
	int err;

	err = l2_fdb_init(&n, size, sw->fdb.aging, sw->fdb.key, SW_MAX_PORTS);
	if (err)
		return err;
	l2_fdb_free(&sw->fdb);
	sw->fdb = n;
	return 0;
}

void sw_set_limits(struct sw *sw, uint32_t rx_wait_ms, uint32_t aging)
{
	sw->rx_wait_ms = rx_wait_ms;
	sw->fdb.aging = aging;
}

void sw_set_debug(struct sw *sw, bool on)
{
	sw->debug = on;
}

void sw_set_events(struct sw *sw, bool on)
{
	sw->events = on && sw->ops->fdb_event;
}

/* Address @mac in VLAN @vlan was learned on, moved to or aged out of
 * port @id: a debug line, and an event, for whoever asked. */
static void note_mac(struct sw *sw, unsigned int id, enum sw_fdb_event ev,
		     const uint8_t *mac, uint16_t vlan)
{
	static const char *const what[] = {
		[SW_FDB_LEARNED] = "learned", [SW_FDB_MOVED] = "moved here:",
		[SW_FDB_AGED] = "aged out:",
	};

	if (sw->debug)
		sw_log(sw, (int)id, SW_LOG_DEBUG, "%s %02x:%02x:%02x:%02x:"
		       "%02x:%02x (VLAN %u)", what[ev], mac[0], mac[1],
		       mac[2], mac[3], mac[4], mac[5], vlan);
	if (sw->events)
		sw->ops->fdb_event(sw->opaque, ev, id, vlan, mac);
}

void sw_clock(struct sw *sw, uint64_t now_ms)
{
	sw->now_ms = now_ms;
	sw->now_s = (uint32_t)(now_ms / 1000);
}

void sw_port_add(struct sw *sw, unsigned int i, struct vu_dev *dev,
		 const struct sw_port_cfg *cfg)
{
	struct sw_port *p = &sw->port[i];

	memset(p, 0, sizeof(*p));
	p->index = (uint16_t)i;
	p->in_use = true;
	p->kind = SW_VHOST_USER;
	p->dev = dev;
	p->cfg = *cfg;
	p->src_hint = p->dst_hint = L2_NO_HINT;
}

void sw_uplink_add(struct sw *sw, unsigned int i, const struct sw_port_cfg *cfg,
		   size_t vnet_hlen, bool vnet_le)
{
	struct sw_port *p = &sw->port[i];

	memset(p, 0, sizeof(*p));
	p->index = (uint16_t)i;
	p->in_use = true;
	p->kind = SW_UPLINK;
	p->cfg = *cfg;
	p->vnet_hlen = vnet_hlen;
	p->vnet_le = vnet_le;
	p->src_hint = p->dst_hint = L2_NO_HINT;
}

void sw_uplink_mtu(struct sw *sw, unsigned int i, uint32_t mtu)
{
	sw->port[i].mtu = mtu;
}

void sw_port_set(struct sw *sw, unsigned int i, const struct sw_port_cfg *cfg)
{
	/* What was learned in VLANs the port may no longer carry goes. */
	if (!same_vlans(&sw->port[i].cfg, cfg))
		l2_flush_port(&sw->fdb, (uint16_t)i);
	sw->port[i].cfg = *cfg;
}

/* Let every port waiting for @dst's receive buffers run again. */
static void release_waiters(struct sw *sw, struct sw_port *dst)
{
	uint64_t w = dst->rx_waiters;

	dst->rx_waiters = 0;
	while (w) {
		struct sw_port *p = &sw->port[__builtin_ctzll(w)];

		w &= w - 1;
		if (p->in_use)
			set_runnable(sw, p);
	}
}

void sw_port_remove(struct sw *sw, unsigned int i)
{
	struct sw_port *p = &sw->port[i];
	uint64_t bit = 1ULL << i;
	unsigned int j;

	l2_flush_port(&sw->fdb, (uint16_t)i);
	release_waiters(sw, p);
	for (j = 0; j < SW_MAX_PORTS; j++)
		sw->port[j].rx_waiters &= ~bit;
	sw->run_mask &= ~bit;
	sw->pass &= ~bit;
	sw->pass_first &= ~bit;
	p->in_use = false;
	p->dev = NULL;
}

void sw_forget(struct sw *sw, unsigned int i)
{
	struct sw_port *p = &sw->port[i];

	p->broken = NULL;
	p->rarp_pending = false;
}

void sw_up(struct sw *sw, unsigned int i)
{
	struct sw_port *p = &sw->port[i];

	p->up = true;
	p->seg_next = 0;		/* its rings start afresh */
	p->tx_moved = p->tx_kicked = p->idle_told = p->rx_moved = false;
	if (p->kind != SW_VHOST_USER)
		return;
	/* Receive buffers are taken when frames arrive: no kicks needed. */
	vring_kick_disable(&p->dev->vq[VU_RX].vr);
	/* Kicks may have come before the rings were enabled. */
	set_runnable(sw, p);
}

uint32_t sw_down(struct sw *sw, unsigned int i)
{
	struct sw_port *p = &sw->port[i];

	/* Frames waiting for it go on, to be dropped as undeliverable. */
	p->up = false;
	release_waiters(sw, p);
	p->rx_stuck = false;
	p->rx_kicks_on = false;
	p->hold_since_ms = 0;
	return l2_flush_port(&sw->fdb, (uint16_t)i);
}

void sw_kick(struct sw *sw, unsigned int i, unsigned int q)
{
	struct sw_port *p = &sw->port[i];

	if (q == VU_TX) {
		p->tx_kicked = true;
		set_runnable(sw, p);
	} else if (p->rx_waiters) {
		/* Receive buffers posted: senders waiting for them retry. */
		p->rx_stuck = false;
		release_waiters(sw, p);
	}
}

void sw_uplink_room(struct sw *sw, unsigned int i)
{
	struct sw_port *p = &sw->port[i];

	if (p->rx_waiters) {
		p->rx_stuck = false;
		release_waiters(sw, p);
	}
}

void sw_rarp(struct sw *sw, unsigned int i, const uint8_t *mac)
{
	struct sw_port *p = &sw->port[i];

	/* Sent from the port's next run, where guest memory is guarded. */
	memcpy(p->rarp_mac, mac, L2_ALEN);
	p->rarp_pending = true;
	set_runnable(sw, p);
}

void sw_break(struct sw *sw, unsigned int i, unsigned int q, const char *why)
{
	struct sw_port *p = &sw->port[i];
	unsigned int r;

	if (p->broken)
		return;
	p->broken = why;
	/* Nothing, on any path, touches the guest's rings again: after a
	 * fault, touching them would fault again. */
	for (r = 0; r < VU_NUM_VQ && p->kind == SW_VHOST_USER && p->dev; r++)
		vring_break(&p->dev->vq[r].vr, why);
	if (q < VU_NUM_VQ)
		sw_log(sw, (int)i, SW_LOG_WARN, "%s ring broken: %s; "
		       "disconnecting", q == VU_RX ? "receive" : "transmit",
		       why);
	else
		sw_log(sw, (int)i, SW_LOG_WARN, "broken: %s; disconnecting",
		       why);
	sw->ops->broken(sw->opaque, i, q);
}

/* ------------------------------------------------------------------ */
/* Faults                                                               */
/* ------------------------------------------------------------------ */

static int port_owning(const struct sw *sw, const void *addr)
{
	const uint8_t *a = addr;
	unsigned int i, r;

	for (i = 0; i < SW_MAX_PORTS; i++) {
		const struct mem_table *t;

		if (!sw->port[i].in_use || sw->port[i].kind != SW_VHOST_USER)
			continue;
		t = &sw->port[i].dev->mem;
		for (r = 0; r < t->nregions; r++) {
			const uint8_t *m = t->region[r].map;

			if (a >= m && (size_t)(a - m) < t->region[r].map_len)
				return (int)i;
		}
	}
	return -1;
}

int sw_fault(struct sw *sw, const void *addr)
{
	int bad = port_owning(sw, addr);

	if (bad < 0)
		return -1;
	sw_break(sw, (unsigned int)bad, VU_NUM_VQ,
		 "guest memory lost its backing (SIGBUS)");
	/* Receive chains taken for the frame being delivered go back to
	 * their ring, unless that ring is the one that faulted. */
	if (sw->burst.dst >= 0 && sw->burst.dst != bad)
		vring_unpop(&sw->port[sw->burst.dst].dev->vq[VU_RX].vr,
			    sw->burst.rx_held);
	sw->burst.dst = -1;
	sw->burst.rx_held = 0;
	if (sw->burst.src == bad)
		sw->burst.tx_held = false;
	/* A buffer for an uplink being filled from the faulting memory. */
	if (sw->burst.up_buf)
		sw->ops->uplink_drop(sw->opaque,
				     (unsigned int)sw->burst.up_port,
				     sw->burst.up_buf);
	sw->burst.up_buf = NULL;
	sw->burst.up_port = -1;
	return bad;
}

/* ------------------------------------------------------------------ */
/* Where a frame goes                                                   */
/* ------------------------------------------------------------------ */

/* What became of a frame for one destination. */
enum delivery {
	DELIVERED,
	DROPPED,	/* counted on the destination */
	NO_BUFFER,	/* its receive ring is empty: the frame may wait */
};

#define SW_IPPROTO_TCP 6

/* TCP's flags that segmentation touches. */
#define SW_TCP_FIN 0x01
#define SW_TCP_PSH 0x08
#define SW_TCP_CWR 0x80

/* Room for the IP and TCP headers of a frame to segment: IPv4's 60 and
 * TCP's 60 at most. */
#define SW_L34_MAX 120

/*
 * One frame being switched: its Ethernet header as read (once) from the
 * sender's memory, checked and classified. Everything downstream uses
 * this copy, never the sender's memory, which the guest may have
 * rewritten since; only the bytes after the header are read again, by
 * the copy into each receiver (for a frame to segment: after its TCP
 * header, whose copy is here too).
 */
struct frame {
	const struct vring_chain *tx;	/* the sender's buffers */
	size_t src_hlen;		/* its virtio-net header */
	uint64_t len;			/* frame length, header included */
	uint8_t eth[L2_HLEN + 4];	/* the checked copy */
	bool tagged;			/* eth holds an 802.1Q tag */
	uint16_t tci;
	uint16_t vlan;			/* the VLAN it is switched in */
	/* From its virtio-net header, checked: NEEDS_CSUM (the checksum
	 * at csum_start + csum_off, counted from the Ethernet header, is
	 * still to be completed) and DATA_VALID (from the kernel). */
	uint8_t offload;
	uint16_t csum_start, csum_off;
	/* Segmentation (TSO) asked for: gso is its gso_type (TCPV4 or
	 * TCPV6, with the ECN bit), 0 for none; l34 the IP and TCP
	 * headers, parsed and checked, ip_hlen + tcp_hlen bytes long. */
	uint8_t gso;
	uint16_t gso_size;
	uint8_t ip_hlen, tcp_hlen;
	uint8_t l34[SW_L34_MAX];
};

/* Bytes of the header @f arrived with (14, or 18 with a tag). */
static size_t in_hlen(const struct frame *f)
{
	return f->tagged ? L2_HLEN + 4 : L2_HLEN;
}

/* Where @f's payload starts: after the TCP header of a frame to
 * segment. */
static size_t hdrs_len(const struct frame *f)
{
	return in_hlen(f) + f->ip_hlen + f->tcp_hlen;
}

/* A guest's virtio-net header is little-endian under VERSION_1, in the
 * guest's (the host's) order before it. */
static bool guest_le(const struct vu_dev *d)
{
	return d->features & (1ULL << VIRTIO_F_VERSION_1);
}

/* A 16-bit header field to (or from) the host's order: little-endian with
 * @le, else already in it. */
static uint16_t hdr16(bool le, uint16_t v)
{
	return le ? le16toh(v) : v;
}

static bool has(const struct vu_dev *d, unsigned int bit)
{
	return d->features & (1ULL << bit);
}

/* Does @dst take frames whose checksum is left to it? */
static bool takes_csum(const struct sw_port *dst)
{
	return dst->kind == SW_VHOST_USER ?
	       has(dst->dev, VIRTIO_NET_F_GUEST_CSUM) : dst->cfg.offload;
}

/* Does @dst take frame @f unsegmented? */
static bool takes_gso(const struct sw_port *dst, const struct frame *f)
{
	if (dst->kind != SW_VHOST_USER)
		return dst->cfg.offload;
	if ((f->gso & VIRTIO_NET_HDR_GSO_ECN) &&
	    !has(dst->dev, VIRTIO_NET_F_GUEST_ECN))
		return false;
	return has(dst->dev, (f->gso & ~VIRTIO_NET_HDR_GSO_ECN) ==
			     VIRTIO_NET_HDR_GSO_TCPV4 ?
			     VIRTIO_NET_F_GUEST_TSO4 : VIRTIO_NET_F_GUEST_TSO6);
}

/*
 * What goes into one receiver for one frame, or one segment of it: a
 * virtio-net header (host order) and the frame's headers, built here,
 * then @body_len bytes of the sender's frame from @body_off. With @sum,
 * a checksum is completed on the way: @seed (the bytes summed before the
 * body's) plus the body's bytes from @sum_from, as they land in the
 * receiver's buffers, stored at @sum_at (from the start of @head).
 */
struct out {
	struct virtio_net_hdr vh;
	uint8_t head[L2_HLEN + 4 + SW_L34_MAX];
	size_t head_len;
	uint64_t body_off, body_len;
	bool sum;
	uint32_t seed;
	size_t sum_from, sum_at;
};

/* @o's header as @dst reads it: fields little-endian with @le. */
static void vh_out(const struct out *o, bool le, struct virtio_net_hdr *h)
{
	*h = o->vh;
	if (le) {
		h->hdr_len = htole16(h->hdr_len);
		h->gso_size = htole16(h->gso_size);
		h->csum_start = htole16(h->csum_start);
		h->csum_offset = htole16(h->csum_offset);
		h->num_buffers = htole16(h->num_buffers);
	}
}

/*
 * Copy @o's body to @doff in @dst, completing its checksum on the way if
 * it has one to complete: the checksum lands in @o->head (written after
 * this), or in the body, in @dst.
 */
static void copy_body_sum(const struct iovec *dst, size_t doff,
			  const struct frame *f, struct out *o)
{
	size_t from = f->src_hlen + o->body_off;
	struct csum c = { o->seed, 0 };
	uint8_t v[2];
	struct iovec viov = { v, 2 };
	uint16_t x;

	iov_copy_pieces(dst, doff, f->tx->iov, from, o->body_len, &c,
			o->sum_from);
	x = csum_final(&c);
	v[0] = (uint8_t)(x >> 8);
	v[1] = (uint8_t)x;
	if (o->sum_at + 2 <= o->head_len)
		memcpy(o->head + o->sum_at, v, 2);
	else
		iov_copy(dst, doff + o->sum_at - o->head_len, &viov, 0, 2);
}

static inline void copy_body(const struct iovec *dst, size_t doff,
			     const struct frame *f, struct out *o)
{
	if (o->sum)
		copy_body_sum(dst, doff, f, o);
	else
		iov_copy(dst, doff, f->tx->iov, f->src_hlen + o->body_off,
			 o->body_len);
}

/*
 * The Ethernet header @f leaves with when it goes out @tag (tagged or
 * not), into @out; the tag is pushed or popped here, so that the frame is
 * still copied once. A tag that stays keeps its priority bits. Return:
 * its length.
 */
static inline size_t out_header(const struct frame *f, bool tag,
				uint8_t *out)
{
	const uint8_t *type = f->eth + (f->tagged ? 16 : 12);
	size_t n = 12;

	memcpy(out, f->eth, 12);
	if (tag) {
		uint16_t tci = (uint16_t)((f->tagged ? f->tci & 0xf000 : 0) |
					  f->vlan);

		out[n++] = ETH_P_8021Q >> 8;
		out[n++] = ETH_P_8021Q & 0xff;
		out[n++] = (uint8_t)(tci >> 8);
		out[n++] = (uint8_t)tci;
	}
	out[n++] = type[0];
	out[n++] = type[1];
	return n;
}

static enum delivery oversize(struct sw *sw, struct sw_port *dst,
			      uint64_t len)
{
	dst->st.tx_oversize++;
	sw_log(sw, (int)port_index(sw, dst), SW_LOG_WARN, "dropped a "
	       "%llu-byte frame for it: over its MTU %u + %u",
	       (unsigned long long)len, port_mtu(dst), SW_L2_OVERHEAD);
	return DROPPED;
}

/* A frame for guest @dst dropped for want of a receive buffer: counted
 * apart while its driver has posted none yet (it is not up: frames
 * flooded while a guest boots are no drop of a running one). */
static void no_buffer(struct sw_port *dst)
{
	if (dst->rx_moved || dst->kind != SW_VHOST_USER)
		dst->st.tx_no_buffer++;
	else
		dst->st.tx_before_buffers++;
}

/*
 * Take receive buffers from @dst for @need bytes (@flen of them the
 * frame's), into sw->rx_chain[0..*n) and sw->rx_iov. With @may_wait, an
 * empty receive ring is reported (NO_BUFFER) instead of counted as a
 * drop. Return: DELIVERED when they are there.
 */
static inline enum delivery rx_take(struct sw *sw, struct sw_port *dst,
				    uint64_t need, uint64_t flen,
				    bool may_wait, unsigned int *taken)
{
	struct vring *rx = &dst->dev->vq[VU_RX].vr;
	bool mrg = has(dst->dev, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t have = 0;
	unsigned int n = 0, niov = 0;
	int r;

	sw->burst.dst = (int)port_index(sw, dst);
	sw->burst.rx_held = 0;
	while (have < need) {
		struct vring_chain *c = &sw->rx_chain[n];

		if (n == SW_RX_CHAINS) {
			vring_unpop(rx, n);
			dst->st.tx_small_buffer++;
			return DROPPED;
		}
		c->iov = sw->rx_iov + niov;
		c->max_iov = VRING_MAX_IOV - niov;
		r = vring_pop(rx, c, VRING_WRITE);
		if (r == -E2BIG) {
			/* The switch's scratch ran out, not the guest's
			 * buffers: the frame is dropped, they stay posted. */
			vring_unpop(rx, n + 1);
			dst->st.tx_fragmented++;
			sw_log(sw, (int)port_index(sw, dst), SW_LOG_WARN,
			       "dropped a %llu-byte frame for it: its receive "
			       "buffers come in more than %u pieces",
			       (unsigned long long)flen, VRING_MAX_IOV);
			return DROPPED;
		}
		if (r <= 0) {
			vring_unpop(rx, n);
			if (r < 0)
				sw_break(sw, port_index(sw, dst), VU_RX,
					 vring_error(rx));
			else if (may_wait && n == 0)
				return NO_BUFFER;
			else
				no_buffer(dst);
			return DROPPED;
		}
		dst->rx_moved = true;
		sw->burst.rx_held = ++n;
		niov += c->niov;
		have += c->len;
		if (!mrg && have < need) {
			vring_unpop(rx, n);
			dst->st.tx_small_buffer++;
			return DROPPED;
		}
	}
	*taken = n;
	return DELIVERED;
}

/* Give the @n buffers rx_take() took back to @dst's guest, @need bytes
 * written (@flen of them a frame's), and count it. */
static inline void rx_give(struct sw *sw, struct sw_port *dst,
			   unsigned int n, uint64_t need, uint64_t flen)
{
	struct vring *rx = &dst->dev->vq[VU_RX].vr;
	uint64_t left = need;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t w = sw->rx_chain[i].len < left ? sw->rx_chain[i].len :
			     left;

		vring_push(rx, sw->rx_chain[i].head, (uint32_t)w);
		left -= w;
	}
	if (!dst->dirty) {
		dst->dirty = true;
		sw->dirty_list[sw->ndirty++] = (uint16_t)port_index(sw, dst);
	}
	dst->st.tx_packets++;
	dst->st.tx_bytes += flen;
	dst->rx_stuck = false;
	dst->hold_since_ms = 0;
	if (dst->rx_kicks_on) {
		vring_kick_disable(rx);
		dst->rx_kicks_on = false;
	}
}

/*
 * Frame @f into @dst's receive ring as it is (nothing left to do for
 * it), tagged or not (@tag), straight from the sender's buffers: the
 * only copy a frame ever gets. The common case, at its cheapest: both
 * headers written straight into the first buffer.
 */
static enum delivery deliver_guest_plain(struct sw *sw, const struct frame *f,
					 struct sw_port *dst, bool tag,
					 bool may_wait)
{
	size_t hlen = vu_hdr_len(dst->dev->features);
	size_t eth = tag ? L2_HLEN + 4 : L2_HLEN;
	uint64_t flen = f->len - in_hlen(f) + eth, need = hlen + flen;
	struct virtio_net_hdr h;
	uint8_t head[sizeof(h) + L2_HLEN + 4];
	struct iovec hiov = { head, hlen + eth };
	enum delivery ret;
	unsigned int n;

	if (flen > frame_max(dst))
		return oversize(sw, dst, flen);
	ret = rx_take(sw, dst, need, flen, may_wait, &n);
	if (ret == DELIVERED) {
		/* An all-zero header but num_buffers when it exists
		 * (VIRTIO 1.1 5.1.6.4: 1 without MRG_RXBUF). */
		memset(&h, 0, sizeof(h));
		h.num_buffers = guest_le(dst->dev) ? htole16((uint16_t)n) :
						     (uint16_t)n;
		if (sw->rx_iov[0].iov_len >= sizeof(head)) {
			uint8_t *d = sw->rx_iov[0].iov_base;

			memcpy(d, &h, sizeof(h));
			out_header(f, tag, d + hlen);
		} else {
			memcpy(head, &h, hlen);
			out_header(f, tag, head + hlen);
			iov_copy(sw->rx_iov, 0, &hiov, 0, hiov.iov_len);
		}
		iov_copy(sw->rx_iov, hlen + eth, f->tx->iov,
			 f->src_hlen + in_hlen(f), f->len - in_hlen(f));
		rx_give(sw, dst, n, need, flen);
	}
	sw->burst.dst = -1;
	sw->burst.rx_held = 0;
	return ret;
}

/*
 * Put @o, for frame @f, into @dst's receive ring, straight from the
 * sender's buffers. With @may_wait, an empty receive ring is reported
 * instead of counted as a drop.
 */
static enum delivery deliver_guest(struct sw *sw, const struct frame *f,
				   struct sw_port *dst, struct out *o,
				   bool may_wait)
{
	size_t hlen = vu_hdr_len(dst->dev->features);
	uint64_t flen = o->head_len + o->body_len, need = hlen + flen;
	struct virtio_net_hdr h;
	uint8_t head[sizeof(h) + sizeof(o->head)];
	struct iovec hiov = { head, hlen + o->head_len };
	enum delivery ret;
	unsigned int n;

	ret = rx_take(sw, dst, need, flen, may_wait, &n);
	if (ret == DELIVERED) {
		/* The virtio-net header (with num_buffers), the frame's
		 * headers right after it, and the body; the body first, as
		 * a checksum completed on the way may land in the
		 * headers. */
		o->vh.num_buffers = (uint16_t)n;
		vh_out(o, guest_le(dst->dev), &h);
		copy_body(sw->rx_iov, hlen + o->head_len, f, o);
		if (sw->rx_iov[0].iov_len >= hiov.iov_len) {
			uint8_t *d = sw->rx_iov[0].iov_base;

			memcpy(d, &h, hlen);
			memcpy(d + hlen, o->head, o->head_len);
		} else {
			memcpy(head, &h, hlen);
			memcpy(head + hlen, o->head, o->head_len);
			iov_copy(sw->rx_iov, 0, &hiov, 0, hiov.iov_len);
		}
		rx_give(sw, dst, n, need, flen);
		dst->st.tx_csum_completed += o->sum;
	}
	sw->burst.dst = -1;
	sw->burst.rx_held = 0;
	return ret;
}

/*
 * @o to uplink @dst: copied once, from the sender's buffers into a buffer
 * of the loop's (after a virtio-net header), which the loop writes to the
 * kernel; the sender's buffers are free once this returns. With every
 * buffer of the loop's still on its way to the kernel, NO_BUFFER when the
 * frame may wait (the sender is held until sw_uplink_room()), else the
 * frame is dropped and counted.
 */
static enum delivery deliver_uplink(struct sw *sw, const struct frame *f,
				    struct sw_port *dst, struct out *o,
				    bool may_wait)
{
	unsigned int id = port_index(sw, dst);
	uint64_t flen = o->head_len + o->body_len;
	struct virtio_net_hdr h;
	struct iovec out;
	uint8_t *buf;

	buf = sw->ops->uplink_buf(sw->opaque, id, dst->vnet_hlen + flen);
	if (!buf) {
		if (may_wait)
			return NO_BUFFER;
		dst->st.tx_no_buffer++;
		return DROPPED;
	}
	sw->burst.up_port = (int)id;
	sw->burst.up_buf = buf;
	out.iov_base = buf + dst->vnet_hlen + o->head_len;
	out.iov_len = o->body_len;
	copy_body(&out, 0, f, o);
	vh_out(o, dst->vnet_le, &h);
	memcpy(buf, &h, dst->vnet_hlen);
	memcpy(buf + dst->vnet_hlen, o->head, o->head_len);
	sw->burst.up_buf = NULL;
	sw->burst.up_port = -1;
	sw->ops->uplink_send(sw->opaque, id, buf, dst->vnet_hlen + flen);
	dst->st.tx_packets++;
	dst->st.tx_bytes += flen;
	dst->st.tx_csum_completed += o->sum;
	dst->rx_stuck = false;
	dst->hold_since_ms = 0;
	return DELIVERED;
}

static inline enum delivery put(struct sw *sw, const struct frame *f,
				struct sw_port *dst, struct out *o,
				bool may_wait)
{
	return dst->kind == SW_VHOST_USER ?
	       deliver_guest(sw, f, dst, o, may_wait) :
	       deliver_uplink(sw, f, dst, o, may_wait);
}


/* The TCP pseudo-header's sum for @f's IP header @ip, its length
 * left out (it changes from one segment to the next). */
static uint32_t pseudo_sum(const struct frame *f, const uint8_t *ip)
{
	bool v4 = (f->gso & ~VIRTIO_NET_HDR_GSO_ECN) ==
		  VIRTIO_NET_HDR_GSO_TCPV4;

	return (uint32_t)csum_bytes(ip + (v4 ? 12 : 8), v4 ? 8 : 32) +
	       SW_IPPROTO_TCP;
}

/*
 * Segment @f for @dst, which does not take it whole, as Linux's
 * tcp_gso_segment does: each segment gets the IP and TCP headers with
 * IPv4's total length, id + i and header checksum (IPv6's payload
 * length), TCP's sequence number + i * mss, FIN and PSH on the last
 * segment only, CWR on the first only, and the next gso_size bytes,
 * copied once straight into @dst's buffers. Its TCP checksum is left to
 * @dst (the pseudo-header's sum, NEEDS_CSUM) when it takes that, else
 * completed on the way. With @next, segments go from *@next on (where a
 * wait stopped them); receive buffers running out stop them there: with
 * @may_wait the rest waits (NO_BUFFER, *@next set), else it is dropped
 * (counted once).
 */
static enum delivery deliver_segments(struct sw *sw, const struct frame *f,
				      struct sw_port *dst, bool tag,
				      bool may_wait, uint32_t *next)
{
	uint64_t off = hdrs_len(f), payload = f->len - off;
	uint32_t mss = f->gso_size, i, nseg = (uint32_t)
		((payload + mss - 1) / mss);
	bool v4 = (f->gso & ~VIRTIO_NET_HDR_GSO_ECN) ==
		  VIRTIO_NET_HDR_GSO_TCPV4;
	bool partial = takes_csum(dst);
	struct out o;
	size_t l3, l4;
	uint16_t id0 = (uint16_t)(f->l34[4] << 8 | f->l34[5]);
	uint32_t seq0, ip_sum = 0, ph_sum, tcp_sum;
	enum delivery r;

	memset(&o.vh, 0, sizeof(o.vh));
	l3 = out_header(f, tag, o.head);
	l4 = l3 + f->ip_hlen;
	o.head_len = l4 + f->tcp_hlen;
	if (o.head_len + mss > frame_max(dst))
		return oversize(sw, dst, o.head_len + mss);
	memcpy(o.head + l3, f->l34, (size_t)f->ip_hlen + f->tcp_hlen);
	memcpy(&seq0, o.head + l4 + 4, 4);
	seq0 = be32toh(seq0);
	/* The fields that change from one segment to the next are summed
	 * apart, each time; the rest once, here, with them left out. */
	if (v4) {
		memset(o.head + l3 + 2, 0, 4);		/* length, id */
		memset(o.head + l3 + 10, 0, 2);		/* checksum */
		ip_sum = csum_bytes(o.head + l3, f->ip_hlen);
	}
	ph_sum = pseudo_sum(f, o.head + l3);
	memset(o.head + l4 + 4, 0, 4);			/* sequence */
	o.head[l4 + 13] = 0;				/* flags */
	memset(o.head + l4 + 16, 0, 2);			/* checksum */
	tcp_sum = csum_bytes(o.head + l4, f->tcp_hlen);
	if (partial) {
		o.vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		o.vh.csum_start = (uint16_t)l4;
		o.vh.csum_offset = 16;
	}
	o.sum = !partial;
	o.sum_from = 0;
	o.sum_at = l4 + 16;
	i = next && *next < nseg ? *next : 0;
	for (; i < nseg; i++) {
		uint8_t *ip = o.head + l3, *th = o.head + l4;
		uint32_t plen = i + 1 < nseg ? mss : (uint32_t)(payload -
								  (uint64_t)i * mss);
		uint32_t tcp_len = f->tcp_hlen + plen, seq = seq0 + i * mss;
		uint8_t flags = f->l34[f->ip_hlen + 13];
		uint16_t x, y;

		if (v4) {
			x = (uint16_t)(f->ip_hlen + tcp_len);
			y = (uint16_t)(id0 + i);
			ip[2] = (uint8_t)(x >> 8);
			ip[3] = (uint8_t)x;
			ip[4] = (uint8_t)(y >> 8);
			ip[5] = (uint8_t)y;
			x = (uint16_t)~csum_fold(ip_sum + x + y);
			ip[10] = (uint8_t)(x >> 8);
			ip[11] = (uint8_t)x;
		} else {
			ip[4] = (uint8_t)(tcp_len >> 8);
			ip[5] = (uint8_t)tcp_len;
		}
		th[4] = (uint8_t)(seq >> 24);
		th[5] = (uint8_t)(seq >> 16);
		th[6] = (uint8_t)(seq >> 8);
		th[7] = (uint8_t)seq;
		if (i + 1 < nseg)
			flags &= (uint8_t)~(SW_TCP_FIN | SW_TCP_PSH);
		if (i)
			flags &= (uint8_t)~SW_TCP_CWR;
		th[13] = flags;
		o.seed = ph_sum + tcp_len;
		if (partial) {
			x = csum_fold(o.seed);
			th[16] = (uint8_t)(x >> 8);
			th[17] = (uint8_t)x;
		} else {
			o.seed += tcp_sum + (seq >> 16) + (seq & 0xffff) +
				  flags;
		}
		o.body_off = off + (uint64_t)i * mss;
		o.body_len = plen;
		r = put(sw, f, dst, &o, may_wait);
		if (r == NO_BUFFER && next)
			*next = i;
		if (r != DELIVERED)
			return r;
		dst->st.tx_segmented += i == 0;
		sw->segments++;
	}
	return DELIVERED;
}

/*
 * Frame @f to @dst, in the form @dst takes: tagged or not as it carries
 * the frame's VLAN; its checksum left (NEEDS_CSUM) or completed; whole,
 * with the checked copy of its headers, or segmented. With @may_wait,
 * an empty receive ring is reported (NO_BUFFER), not counted as a drop;
 * a frame being segmented then sets *@next where it stopped, and goes on
 * from there the next time.
 */
static inline __attribute__((always_inline)) enum delivery
deliver(struct sw *sw, const struct frame *f,
				    struct sw_port *dst, bool may_wait,
				    uint32_t *next)
{
	bool tag = egress_tag(&dst->cfg, f->vlan) == 1;
	int delta;
	struct out o;

	if (f->gso && !takes_gso(dst, f))
		return deliver_segments(sw, f, dst, tag, may_wait, next);
	if (!(f->offload | f->gso) && dst->kind == SW_VHOST_USER)
		return deliver_guest_plain(sw, f, dst, tag, may_wait);
	memset(&o.vh, 0, sizeof(o.vh));
	o.head_len = out_header(f, tag, o.head);
	delta = (int)o.head_len - (int)in_hlen(f);
	o.sum = false;
	if (f->gso) {
		/* Passed on whole: the segments it makes must fit. */
		o.vh.gso_type = f->gso;
		o.vh.gso_size = f->gso_size;
		memcpy(o.head + o.head_len, f->l34,
		       (size_t)f->ip_hlen + f->tcp_hlen);
		o.head_len += (size_t)f->ip_hlen + f->tcp_hlen;
		o.vh.hdr_len = (uint16_t)o.head_len;
		o.body_off = hdrs_len(f);
		if (o.head_len + f->gso_size > frame_max(dst))
			return oversize(sw, dst, o.head_len + f->gso_size);
	} else {
		o.body_off = in_hlen(f);
		if (f->len + delta > frame_max(dst))
			return oversize(sw, dst, f->len + delta);
	}
	o.body_len = f->len - o.body_off;
	if (f->offload & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (takes_csum(dst)) {
			o.vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			o.vh.csum_start = (uint16_t)(f->csum_start + delta);
			o.vh.csum_offset = f->csum_off;
		} else {
			o.sum = true;
			o.seed = 0;
			o.sum_from = f->csum_start - o.body_off;
			o.sum_at = f->csum_start + delta + f->csum_off;
		}
	} else if ((f->offload & VIRTIO_NET_HDR_F_DATA_VALID) &&
		   dst->kind == SW_VHOST_USER && takes_csum(dst)) {
		o.vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return put(sw, f, dst, &o, may_wait);
}

static bool arm_hold(struct sw *sw)
{
	if (!sw->hold_armed)
		sw->hold_armed = sw->ops->arm_timer(sw->opaque, SW_TIMER_HOLD,
						    sw->rx_wait_ms);
	return sw->hold_armed;
}

/*
 * Backpressure: @src's next frame is for @dst, whose receive ring is
 * empty (an uplink: whose buffers are all on their way to the kernel).
 * The frame stays in @src's transmit ring and @src stops until @dst's
 * guest posts receive buffers (its kick; an uplink: sw_uplink_room()),
 * @dst goes down, or rx_wait_ms pass: a receiver that merely lags loses
 * nothing, and one that is stuck costs its senders one wait, after which
 * frames for it are dropped until it takes one again. Ports not sending
 * to @dst never wait. Return: false when no deadline can be set: the
 * frame does not wait then.
 */
static bool hold(struct sw *sw, struct sw_port *src, struct sw_port *dst)
{
	if (!arm_hold(sw))
		return false;
	/* The deadline runs from the first wait until the guest takes a
	 * frame: kicks that post nothing do not extend it. */
	if (!dst->hold_since_ms) {
		dst->hold_since_ms = sw->now_ms ? sw->now_ms : 1;
		dst->st.tx_held++;
	}
	dst->rx_waiters |= 1ULL << port_index(sw, src);
	if (dst->kind != SW_VHOST_USER)
		return true;
	dst->rx_kicks_on = true;
	/* Buffers posted since the ring was found empty sent no kick. */
	if (vring_kick_enable(&dst->dev->vq[VU_RX].vr))
		set_runnable(sw, src);
	return true;
}

/* rx_wait_ms after the first wait began: give up on receivers that
 * still have not posted a buffer. */
void sw_hold_timer(struct sw *sw)
{
	bool more = false;
	unsigned int i;

	sw->hold_armed = false;
	for (i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *d = &sw->port[i];

		if (!d->rx_waiters)
			continue;
		if (sw->now_ms - d->hold_since_ms + 1 < sw->rx_wait_ms) {
			more = true;
			continue;
		}
		d->rx_stuck = true;
		d->hold_since_ms = 0;
		sw_log(sw, (int)i, SW_LOG_DEBUG, "no receive buffer for %u ms: "
		       "dropping frames for it until it posts one",
		       sw->rx_wait_ms);
		release_waiters(sw, d);
	}
	if (more)
		arm_hold(sw);
}

/* Sweep the FDB every quarter ageing time (1..60 s) while it has entries:
 * an idle, empty switch sets no timer at all. */
static void arm_aging(struct sw *sw)
{
	uint32_t period = sw->fdb.aging / 4;

	if (sw->aging_armed || sw->fdb.count == 0)
		return;
	period = period < 1 ? 1 : period > 60 ? 60 : period;
	/* Without room now, the next address learned tries again. */
	sw->aging_armed = sw->ops->arm_timer(sw->opaque, SW_TIMER_AGING,
					     period * 1000);
}

static void aged(void *arg, const struct l2_entry *e)
{
	note_mac(arg, e->port, SW_FDB_AGED, e->mac, e->vid);
}

void sw_age(struct sw *sw)
{
	sw->aging_armed = false;
	l2_fdb_age(&sw->fdb, sw->now_s, (sw->debug | sw->events) ? aged : NULL,
		   sw);
	arm_aging(sw);
}

static bool mac_allowed(const struct sw_port_cfg *cfg, const uint8_t *mac)
{
	unsigned int i;

	for (i = 0; i < cfg->nmacs; i++)
		if (memcmp(cfg->mac[i], mac, L2_ALEN) == 0)
			return true;
	return false;
}

/*
 * The offload fields of a guest's virtio-net header at the start of @tx
 * (it may span buffers), copied once, 16-bit fields in the host's order.
 * DATA_VALID is not taken from a guest: it is the device's to say (VIRTIO
 * 1.1 5.1.6.2).
 */
static void read_offload(const struct vu_dev *dev,
			 const struct vring_chain *tx,
			 struct virtio_net_hdr *h)
{
	struct iovec hv = { h, offsetof(struct virtio_net_hdr, num_buffers) };
	bool le = guest_le(dev);

	if (tx->iov[0].iov_len >= hv.iov_len)
		memcpy(h, tx->iov[0].iov_base, hv.iov_len);
	else
		iov_copy(&hv, 0, tx->iov, 0, hv.iov_len);
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_size = hdr16(le, h->gso_size);
	h->csum_start = hdr16(le, h->csum_start);
	h->csum_offset = hdr16(le, h->csum_offset);
}

/*
 * The IP and TCP headers of @f, which asks to be segmented as @type
 * (TCPV4 or TCPV6): copied once into f->l34, lengths parsed from them
 * (never taken from the header's hdr_len) and checked as Linux's GSO
 * code needs them. Return: NULL, or what is wrong.
 */
static const char *take_l34(struct frame *f, uint8_t type)
{
	const uint8_t *et = f->eth + (f->tagged ? 16 : 12), *ip = f->l34;
	uint64_t room = f->len - in_hlen(f);
	struct iovec l = { f->l34, room < SW_L34_MAX ? room : SW_L34_MAX };

	iov_copy(&l, 0, f->tx->iov, f->src_hlen + in_hlen(f), l.iov_len);
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (et[0] != 0x08 || et[1] != 0x00 || l.iov_len < 20 ||
		    ip[0] >> 4 != 4 || (ip[0] & 15) < 5)
			return "asks for TCPv4 segmentation of a frame that is "
			       "not IPv4";
		if (ip[9] != SW_IPPROTO_TCP)
			return "asks for TCPv4 segmentation of a frame that is "
			       "not TCP";
		if ((ip[6] & 0x3f) || ip[7])
			return "asks for segmentation of an IPv4 fragment";
		f->ip_hlen = (uint8_t)((ip[0] & 15) * 4);
	} else {
		if (et[0] != 0x86 || et[1] != 0xdd || l.iov_len < 40 ||
		    ip[0] >> 4 != 6)
			return "asks for TCPv6 segmentation of a frame that is "
			       "not IPv6";
		if (ip[6] != SW_IPPROTO_TCP)
			return "asks for TCPv6 segmentation of a frame whose "
			       "next header is not TCP";
		f->ip_hlen = 40;
	}
	if (l.iov_len < (size_t)f->ip_hlen + 20 ||
	    ip[f->ip_hlen + 12] >> 4 < 5 ||
	    l.iov_len < (size_t)f->ip_hlen + (ip[f->ip_hlen + 12] >> 4) * 4)
		return "asks for segmentation of a frame whose TCP header is "
		       "cut short";
	f->tcp_hlen = (uint8_t)((ip[f->ip_hlen + 12] >> 4) * 4);
	return NULL;
}

/*
 * Take what header @h (16-bit fields in the host's order) asks of frame
 * @f into it, checked against the frame as Linux's virtio_net_hdr_to_skb
 * checks it: a checksum left after the Ethernet header and inside the
 * frame; segmentation only as negotiated (@features of a guest; the
 * kernel, @kernel, may ask for any), of TCP only, with NEEDS_CSUM at
 * TCP's checksum (from a guest), by segments of at least a byte. A frame
 * no longer than one segment is switched as it is. Return: NULL, or why
 * it cannot be taken.
 */
static const char *take_offload(struct frame *f,
				const struct virtio_net_hdr *h, bool kernel,
				uint64_t features)
{
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	const char *bad;

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* The sum starts after the Ethernet header (and its tag,
		 * which may be popped), and its 2 bytes are in the frame. */
		if (h->csum_start < in_hlen(f) || h->csum_start > f->len ||
		    h->csum_offset > f->len - h->csum_start ||
		    f->len - h->csum_start - h->csum_offset < 2)
			return "puts its checksum outside the frame";
		f->offload = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		f->csum_start = h->csum_start;
		f->csum_off = h->csum_offset;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		f->offload = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return NULL;
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    type != VIRTIO_NET_HDR_GSO_TCPV6)
		return "asks for a segmentation other than TCP's";
	if (!kernel &&
	    (!(features & (1ULL << (type == VIRTIO_NET_HDR_GSO_TCPV4 ?
				     VIRTIO_NET_F_HOST_TSO4 :
				     VIRTIO_NET_F_HOST_TSO6))) ||
	     ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	      !(features & (1ULL << VIRTIO_NET_F_HOST_ECN)))))
		return "asks for segmentation that was not negotiated";
	if (!kernel && !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "asks for segmentation without NEEDS_CSUM";
	if (!h->gso_size)
		return "asks for segments of 0 bytes";
	if ((bad = take_l34(f, type)))
		return bad;
	if ((f->offload & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (f->csum_start != in_hlen(f) + f->ip_hlen || f->csum_off != 16))
		return "puts TCP's checksum elsewhere than in its header";
	if (f->len - hdrs_len(f) > h->gso_size) {
		f->gso = h->gso_type;
		f->gso_size = h->gso_size;
	}
	return NULL;
}

static bool rx_oversize(struct sw *sw, struct sw_port *src, uint64_t len)
{
	src->st.rx_oversize++;
	sw_log(sw, (int)port_index(sw, src), SW_LOG_WARN, "dropped a "
	       "%llu-byte frame: over %s %u + %u", (unsigned long long)len,
	       port_mtu(src) ? "its MTU" : "the largest MTU",
	       port_mtu(src) ? port_mtu(src) : 65535, SW_L2_OVERHEAD);
	return false;
}


/*
 * Switch one frame received from @src. Return: true when it must wait in
 * @src's transmit ring for its destination's receive buffers (hold()).
 */
static bool forward_frame(struct sw *sw, struct sw_port *src,
			  const struct vring_chain *tx, size_t hlen,
			  const struct virtio_net_hdr *vh)
{
	unsigned int id = port_index(sw, src), i;
	bool guest = src->kind == SW_VHOST_USER, big;
	uint64_t feat = guest ? src->dev->features : 0, limit;
	struct frame f;
	struct iovec eiov = { f.eth, 0 };
	struct virtio_net_hdr h;
	const uint8_t *mac;
	const char *bad;
	int out, v;

	/* Not zeroed whole: the headers' room is only ever read once
	 * filled. */
	f.tx = tx;
	f.src_hlen = hlen;
	f.offload = f.gso = 0;

	if (tx->len < hlen + L2_HLEN) {
		src->st.rx_runt++;
		sw_log(sw, (int)id, SW_LOG_WARN, "dropped a %llu-byte frame: "
		       "shorter than the %zu-byte virtio-net and Ethernet "
		       "headers", (unsigned long long)tx->len, hlen + L2_HLEN);
		return false;
	}
	f.len = tx->len - hlen;
	/* A frame to segment may be larger than the MTU; checked again
	 * once its header says what it is. */
	limit = frame_max(src);
	big = (vh && vh->gso_type) ||
	      (feat & ((1ULL << VIRTIO_NET_F_HOST_TSO4) |
		       (1ULL << VIRTIO_NET_F_HOST_TSO6)));
	if (f.len > (big ? SW_MAX_FRAME : limit))
		return rx_oversize(sw, src, f.len);
	/* The one read of the header (and of a tag after it): everything
	 * below uses this copy. */
	eiov.iov_len = f.len < sizeof(f.eth) ? (size_t)f.len : sizeof(f.eth);
	if (tx->iov[0].iov_len >= hlen + sizeof(f.eth)) {
		memcpy(f.eth, (const uint8_t *)tx->iov[0].iov_base + hlen,
		       sizeof(f.eth));
	} else {
		memset(f.eth, 0, sizeof(f.eth));
		iov_copy(&eiov, 0, tx->iov, hlen, eiov.iov_len);
	}
	mac = f.eth + L2_ALEN;
	if (l2_is_multicast(mac) || l2_is_zero(mac)) {
		src->st.rx_bad_src++;
		sw_log(sw, (int)id, SW_LOG_WARN, "dropped a frame from "
		       "%02x:%02x:%02x:%02x:%02x:%02x: not a unicast source "
		       "address", mac[0], mac[1], mac[2], mac[3], mac[4],
		       mac[5]);
		return false;
	}
	if (src->cfg.nmacs && !mac_allowed(&src->cfg, mac)) {
		src->st.rx_mac_denied++;
		sw_log(sw, (int)id, SW_LOG_WARN, "dropped a frame from "
		       "%02x:%02x:%02x:%02x:%02x:%02x: not in the port's mac "
		       "list", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return false;
	}
	f.tagged = f.eth[12] == ETH_P_8021Q >> 8 &&
		   f.eth[13] == (ETH_P_8021Q & 0xff);
	if (f.tagged && f.len < L2_HLEN + 4) {
		src->st.rx_runt++;
		sw_log(sw, (int)id, SW_LOG_WARN, "dropped a %llu-byte frame: "
		       "a VLAN tag cut short", (unsigned long long)f.len);
		return false;
	}
	/* A guest that negotiated CSUM (or TSO) may leave checksums and
	 * segmentation to the switch: its virtio-net header, read once
	 * too. */
	if (!vh && (feat & ((1ULL << VIRTIO_NET_F_CSUM) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO4) |
			    (1ULL << VIRTIO_NET_F_HOST_TSO6)))) {
		read_offload(src->dev, tx, &h);
		vh = &h;
	}
	if (vh && (vh->flags || vh->gso_type) &&
	    (bad = take_offload(&f, vh, !guest, feat))) {
		src->st.rx_bad_header++;
		sw_log(sw, (int)id, SW_LOG_WARN, "dropped a %llu-byte frame: "
		       "its virtio-net header %s", (unsigned long long)f.len,
		       bad);
		return false;
	}
	if (big && !f.gso && f.len > limit)
		return rx_oversize(sw, src, f.len);
	f.tci = f.tagged ? (uint16_t)(f.eth[14] << 8 | f.eth[15]) : 0;
	v = ingress_vlan(&src->cfg, f.tagged, f.tci & 0xfff);
	if (v < 0) {
		src->st.rx_vlan_denied++;
		if (f.tagged)
			sw_log(sw, (int)id, SW_LOG_WARN, "dropped a frame "
			       "tagged for VLAN %u: not one the port carries",
			       f.tci & 0xfff);
		else
			sw_log(sw, (int)id, SW_LOG_WARN, "dropped an untagged "
			       "frame: the port carries tagged frames only");
		return false;
	}
	f.vlan = (uint16_t)v;
	out = l2_is_multicast(f.eth) ? L2_NO_PORT :
	      l2_lookup(&sw->fdb, f.vlan, f.eth, sw->now_s, &src->dst_hint);
	if (out == (int)id) {
		src->st.rx_hairpin++;
	} else if (out != L2_NO_PORT) {
		struct sw_port *dst = &sw->port[out];

		if (!port_ready(dst) || egress_tag(&dst->cfg, f.vlan) < 0) {
			src->st.rx_dst_down++;
		} else {
			/* A frame stopped part way through its segments
			 * goes on where it stopped, if it is the same. */
			if (src->seg_head != tx->head ||
			    src->seg_dst != (uint16_t)out)
				src->seg_next = 0;
			if (deliver(sw, &f, dst, guest && sw->rx_wait_ms &&
				    !dst->rx_stuck, &src->seg_next) ==
			    NO_BUFFER) {
				src->seg_head = tx->head;
				src->seg_dst = (uint16_t)out;
				if (hold(sw, src, dst))
					return true;
				no_buffer(dst);
			}
			src->seg_next = 0;
		}
	} else {
		/* Flooded frames never wait: a retry would copy them to
		 * the ports that had room twice. They stay in their
		 * VLAN. */
		for (i = 0; i < SW_MAX_PORTS; i++)
			if (i != id && port_ready(&sw->port[i]) &&
			    egress_tag(&sw->port[i].cfg, f.vlan) >= 0)
				deliver(sw, &f, &sw->port[i], false, NULL);
	}
	src->st.rx_packets++;
	src->st.rx_bytes += f.len;
	if (f.offload | f.gso) {
		src->st.rx_csum_partial += f.offload ==
					   VIRTIO_NET_HDR_F_NEEDS_CSUM;
		src->st.rx_gso += f.gso != 0;
	}
	switch (l2_learn(&sw->fdb, f.vlan, mac, (uint16_t)id, sw->now_s,
			 src->cfg.max_macs, &src->src_hint)) {
	case L2_LEARNED:
		arm_aging(sw);
		if (sw->debug | sw->events)
			note_mac(sw, id, SW_FDB_LEARNED, mac, f.vlan);
		break;
	case L2_MOVED:
		if (sw->debug | sw->events)
			note_mac(sw, id, SW_FDB_MOVED, mac, f.vlan);
		break;
	case L2_FULL:
		sw->fdb_full++;
		src->st.rx_not_learned++;
		break;
	case L2_PORT_FULL:
		src->st.rx_not_learned++;
		break;
	default:
		break;
	}
	return false;
}

/* Publish the receive rings frames went into, and interrupt the guests
 * that asked for it. (A broken ring publishes nothing: vring_publish()
 * returns false.) */
static void flush_dirty(struct sw *sw)
{
	unsigned int i;

	for (i = 0; i < sw->ndirty; i++) {
		unsigned int d = sw->dirty_list[i];
		struct sw_port *p = &sw->port[d];

		p->dirty = false;
		if (p->in_use && vring_publish(&p->dev->vq[VU_RX].vr))
			sw->ops->signal(sw->opaque, d, VU_RX);
	}
	sw->ndirty = 0;
}

/* End of a burst: that, and the sender's used entries. */
static void flush_burst(struct sw *sw, struct sw_port *src)
{
	flush_dirty(sw);
	if (vring_publish(&src->dev->vq[VU_TX].vr))
		sw->ops->signal(sw->opaque, port_index(sw, src), VU_TX);
}

/*
 * SEND_RARP: after a migration, announce the guest's address to the other
 * ports with a broadcast RARP (ethertype 0x8035) as if the guest had sent
 * it, which also teaches the FDB where it now is.
 */
static void send_rarp(struct sw *sw, struct sw_port *p, const uint8_t *mac)
{
	static const uint8_t body[] = {
		0x80, 0x35,		/* ethertype RARP */
		0x00, 0x01,		/* hardware: Ethernet */
		0x08, 0x00,		/* protocol: IPv4 */
		6, 4,			/* address lengths */
		0x00, 0x03,		/* reverse request */
	};
	uint8_t buf[12 + 60];		/* virtio-net header, minimum frame */
	size_t hlen = vu_hdr_len(p->dev->features);
	uint8_t *f = buf + hlen;
	struct iovec iov = { buf, hlen + 60 };
	struct vring_chain ch = { .iov = &iov, .niov = 1, .len = hlen + 60 };

	memset(buf, 0, sizeof(buf));
	memset(f, 0xff, L2_ALEN);
	memcpy(f + 6, mac, L2_ALEN);
	memcpy(f + 12, body, sizeof(body));
	memcpy(f + 22, mac, L2_ALEN);	/* sender hardware address */
	memcpy(f + 32, mac, L2_ALEN);	/* target hardware address */
	forward_frame(sw, p, &ch, hlen, NULL);
}

/*
 * The transmit loop of port_tx(): up to the budget, in bursts. A ring that
 * is started but disabled is drained and its frames discarded, as the
 * vhost-user spec requires.
 */
/*
 * @p's transmit ring @vr is empty. The guest writes the ring's index
 * before it kicks (VIRTIO 1.1 2.6.13.6): a kick while the index has never
 * left 0 means the guest's writes land where vswitch does not see them.
 * Its RAM is then a private mapping (QEMU's memory backend without
 * share=on): the port is up but moves nothing. Said once a session; with
 * EVENT_IDX such a guest kicks only once, as it reads vswitch's requests
 * for kicks from its own copy.
 */
static void idle_ring(struct sw *sw, struct sw_port *p,
		      const struct vring *vr)
{
	if (p->tx_moved || !p->tx_kicked || p->idle_told ||
	    vr->avail_idx != 0 || vr->last_avail != 0)
		return;
	p->idle_told = true;
	sw_log(sw, (int)port_index(sw, p), SW_LOG_WARN, "the guest kicked "
	       "its transmit ring, which has never held a frame: its memory "
	       "is likely not shared with vswitch (QEMU: share=on on its "
	       "memory backend)");
}

static void tx_loop(struct sw *sw, struct sw_port *p, bool enabled,
		    size_t hlen)
{
	struct vring *vr = &p->dev->vq[VU_TX].vr;
	struct vring_chain ch = { .iov = sw->tx_iov,
				  .max_iov = VRING_MAX_IOV };
	unsigned int frames = 0, n = 0;
	uint64_t bytes = 0;
	int r;

	vring_kick_disable(vr);
	while (!p->broken) {
		if (frames >= SW_BUDGET_FRAMES || bytes >= SW_BUDGET_BYTES) {
			set_runnable(sw, p);
			break;
		}
		r = vring_pop(vr, &ch, VRING_READ);
		if (r < 0 && r != -E2BIG) {
			sw_break(sw, port_index(sw, p), VU_TX,
				 vring_error(vr));
			break;
		}
		if (r == 0) {
			/* Ask for kicks again, then look once more: a chain
			 * added meanwhile would otherwise wait forever. */
			if (!vring_kick_enable(vr)) {
				idle_ring(sw, p, vr);
				break;
			}
			vring_kick_disable(vr);
			continue;
		}
		p->tx_moved = true;
		sw->burst.tx_head = ch.head;
		sw->burst.tx_held = true;
		if (r == -E2BIG) {
			/* In more pieces than the switch gathers (a
			 * limit of its own, not a fault): dropped. */
			p->st.rx_fragmented++;
			sw_log(sw, (int)port_index(sw, p), SW_LOG_WARN,
			       "dropped a %llu-byte frame: in more than %u "
			       "buffer pieces",
			       (unsigned long long)(ch.len - hlen),
			       VRING_MAX_IOV);
		} else if (!enabled) {
			p->st.rx_disabled++;
		} else if (forward_frame(sw, p, &ch, hlen, NULL)) {
			/* Waits for its receiver, in the guest's ring. */
			vring_unpop(vr, 1);
			sw->burst.tx_held = false;
			break;
		}
		vring_push(vr, ch.head, 0);
		sw->burst.tx_held = false;
		frames++;
		bytes += ch.len;
		if (sw->segments) {
			/* Each segment built counts as a frame. */
			frames += sw->segments < SW_BUDGET_FRAMES ?
				  sw->segments : SW_BUDGET_FRAMES;
			sw->segments = 0;
		}
		if (++n == SW_BURST) {
			flush_burst(sw, p);
			n = 0;
		}
	}
}

/*
 * Run @p: announce a pending RARP, process its transmit ring, publish.
 * An enabled ring of a device not yet up is left alone until it is.
 * Run again after a fault (sw_run), it first gives the guest back the
 * chain a fault elsewhere interrupted.
 */
static void port_tx(struct sw *sw, struct sw_port *p)
{
	struct vu_vq *vq = &p->dev->vq[VU_TX];
	bool enabled = vu_vq_enabled(p->dev, VU_TX);
	size_t hlen = vu_hdr_len(p->dev->features);

	if (sw->burst.src != (int)port_index(sw, p)) {
		sw->burst.src = (int)port_index(sw, p);
		sw->burst.tx_held = false;
	}
	/* A fault elsewhere interrupted this frame: it was delivered as far
	 * as it got; give the guest its buffer back. */
	if (sw->burst.tx_held)
		vring_push(&vq->vr, sw->burst.tx_head, 0);
	sw->burst.tx_held = false;
	if (!p->broken && vq->started && (!enabled || p->dev->up)) {
		/* Announced once the port is up: an address learned on a
		 * port that never came up would outlive it (only going
		 * down forgets). */
		if (p->rarp_pending && p->dev->up) {
			p->rarp_pending = false;
			send_rarp(sw, p, p->rarp_mac);
		}
		tx_loop(sw, p, enabled, hlen);
	}
	/* What the burst delivered before a fault broke this port is
	 * published all the same. */
	flush_burst(sw, p);
}

void sw_uplink_rx(struct sw *sw, unsigned int i, void *buf, size_t len)
{
	struct sw_port *p = &sw->port[i];
	struct virtio_net_hdr h;
	struct iovec iov;
	struct vring_chain ch = { .iov = &iov, .niov = 1 };
	uint8_t *b = buf;

	if (!port_ready(p))
		return;
	if (len < p->vnet_hlen) {
		p->st.rx_runt++;
		return;
	}
	memset(&h, 0, sizeof(h));
	memcpy(&h, b, p->vnet_hlen < sizeof(h) ? p->vnet_hlen : sizeof(h));
	iov.iov_base = b + p->vnet_hlen;
	iov.iov_len = len - p->vnet_hlen;
	ch.len = iov.iov_len;
	/* What the kernel left to the device, or checked already, and
	 * segments put together (GRO, or a tap's TSO). */
	h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	h.gso_size = hdr16(p->vnet_le, h.gso_size);
	h.csum_start = hdr16(p->vnet_le, h.csum_start);
	h.csum_offset = hdr16(p->vnet_le, h.csum_offset);
	forward_frame(sw, p, &ch, 0, &h);
	/* Not charged to the next guest's budget. */
	sw->segments = 0;
}

void sw_uplink_refused(struct sw *sw, unsigned int i)
{
	sw->port[i].st.tx_refused++;
}

bool sw_run(struct sw *sw)
{
	/* What frames from uplinks brought guests since the last turn is
	 * published first. */
	flush_dirty(sw);
	/* A new pass takes the ports with work; one a fault interrupted
	 * goes on with the port it was running, then the rest. */
	if (sw->running < 0 && !sw->pass) {
		uint64_t m = sw->run_mask;
		uint64_t first = m & (~0ULL << sw->run_start);

		/* Those from run_start on first, then the others. */
		sw->pass = m;
		sw->pass_first = first;
		sw->run_mask = 0;
		sw->run_start = (sw->run_start + 1) % SW_MAX_PORTS;
	}
	for (;;) {
		struct sw_port *p;

		if (sw->running < 0) {
			uint64_t from = sw->pass_first ? sw->pass_first :
					sw->pass;

			if (!from)
				break;
			sw->running = __builtin_ctzll(from);
			sw->pass &= ~(1ULL << sw->running);
			sw->pass_first &= ~(1ULL << sw->running);
		}
		p = &sw->port[sw->running];
		if (p->in_use && p->kind == SW_VHOST_USER)
			port_tx(sw, p);
		sw->running = -1;
		sw->burst.src = -1;
	}
	return sw->run_mask != 0;
}
