/*
 * switch: the engine. Where each frame goes and how it gets there: ports,
 * the MAC learning table (l2), the one copy from the sender's buffers into
 * each receiver's, backpressure, counters, and what a fault in guest
 * memory costs.
 *
 * Sans I/O, as backend.c is: the event loop (vswitch.c) calls in when
 * something happened (sw_kick, sw_up, sw_down, sw_rarp, sw_hold_timer,
 * sw_age) and runs the ports with work (sw_run); the engine asks the loop
 * for I/O through struct sw_ops (interrupt a guest, report a broken port,
 * arm a timer, log a line). No system calls here, no clock: the loop
 * passes the time in (sw_clock).
 *
 * What it trusts: the vhost-user device state the back-end (backend.c)
 * validated, and the chains vring/ hands out, which it validated on a
 * private copy. What it does not: anything else in guest memory, which a
 * guest may rewrite at any time: each frame's Ethernet header is copied
 * out once, checked, and only that copy is used, here and in every
 * receiver's ring. Guest memory may also vanish (SIGBUS): the loop runs
 * sw_run() under a guard, and after a fault calls sw_fault(), which breaks
 * the port the memory belonged to; from then on nothing touches that
 * port's rings (vring_break) and sw_run() picks up where it was.
 *
 * The MAC learning table (l2.c) is declared here too: this header and
 * vhost_user.h are proto/'s two public headers.
 */
#ifndef SWITCH_H
#define SWITCH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vhost_user.h"

/* ------------------------------------------------------------------ */
/* l2: Ethernet frames and the MAC learning table                       */
/* ------------------------------------------------------------------ */

/*
 * The forwarding database (802.1D style), keyed by VLAN and address: an
 * address may live in two VLANs on different ports. It has a fixed
 * capacity chosen
 * at start-up and never allocates afterwards: when it is full, new
 * addresses are not learned (frames to them are flooded) and no live
 * entry is evicted. Entries expire after the ageing time; a lookup never
 * returns an expired entry, and l2_fdb_age() reclaims them. Time is
 * whatever monotonic seconds the caller passes in. The bucket index is a
 * keyed hash, so a guest cannot aim its addresses at one chain without
 * knowing the key.
 */

#define L2_ALEN		6
#define L2_HLEN		14	/* destination, source, ethertype */
#define L2_NO_PORT	(-1)

static inline bool l2_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;	/* group bit; includes broadcast */
}

static inline bool l2_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[L2_ALEN];

	return memcmp(mac, zero, L2_ALEN) == 0;
}

struct l2_entry {
	uint8_t mac[L2_ALEN];
	uint16_t vid;		/* 0..4094; 0 for untagged on a plain port */
	uint16_t port;
	uint32_t seen;		/* last time a frame came from it */
	uint32_t next;		/* next entry in the bucket, or L2_NIL */
};

struct l2_fdb {
	struct l2_entry *entry;	/* capacity entries */
	uint32_t *bucket;	/* nbuckets heads */
	uint32_t *port_count;	/* entries per port */
	uint32_t capacity;
	uint32_t count;
	uint32_t nbuckets;	/* power of two */
	uint32_t nports;
	uint32_t free;		/* free list through next */
	uint32_t aging;		/* seconds */
	uint64_t key;
};

/*
 * l2_fdb_init - allocate a table for @capacity addresses on ports
 * 0..@nports-1.
 * @aging: seconds an address is remembered without frames from it (> 0)
 * @key:   random hash key
 * Return: 0 or -ENOMEM / -EINVAL.
 */
int l2_fdb_init(struct l2_fdb *f, uint32_t capacity, uint32_t aging,
		uint64_t key, uint32_t nports);

void l2_fdb_free(struct l2_fdb *f);

/* How a frame's source address was taken in. */
enum l2_learn_result {
	L2_REFRESHED,	/* known on this port */
	L2_LEARNED,	/* new entry */
	L2_MOVED,	/* was on another port */
	L2_FULL,	/* table full: not learned */
	L2_PORT_FULL,	/* the port has its most addresses: not learned */
	L2_IGNORED,	/* multicast or zero source: never learned */
};

/*
 * Hints: a caller that sees the same address again and again (a port's
 * last source, its last destination) keeps the entry it was found in, so
 * that the next time costs a comparison instead of a hash and a chain
 * walk. A hint is L2_NO_HINT at first; a stale one is only slower.
 */
#define L2_NO_HINT	UINT32_MAX

/*
 * l2_learn - note that @mac was seen in VLAN @vid on @port at @now. A new
 * address is not learned when the table is full, or when @port already
 * has @max entries (0: no limit); nothing is ever evicted to make room.
 * @hint: NULL, or where the address's entry was last found (updated)
 */
enum l2_learn_result l2_learn(struct l2_fdb *f, uint16_t vid,
			      const uint8_t *mac, uint16_t port, uint32_t now,
			      uint32_t max, uint32_t *hint);

/* l2_lookup - the port @mac was last seen on in VLAN @vid, or L2_NO_PORT
 * when unknown or expired. @hint as for l2_learn. */
int l2_lookup(const struct l2_fdb *f, uint16_t vid, const uint8_t *mac,
	      uint32_t now, uint32_t *hint);

/* l2_flush_port - forget every address learned on @port. Return: how many. */
uint32_t l2_flush_port(struct l2_fdb *f, uint16_t port);

/* l2_flush_all - forget every address, in one sweep. Return: how many. */
uint32_t l2_flush_all(struct l2_fdb *f);

/* l2_fdb_age - forget expired addresses, telling @told (unless NULL) of
 * each before it goes. Return: how many. */
typedef void (*l2_gone_fn)(void *arg, const struct l2_entry *e);
uint32_t l2_fdb_age(struct l2_fdb *f, uint32_t now, l2_gone_fn told,
		    void *arg);

/* ------------------------------------------------------------------ */
/* The engine                                                           */
/* ------------------------------------------------------------------ */

#ifndef SW_MAX_PORTS
#define SW_MAX_PORTS 64		/* ports; port sets are bits of a uint64_t */
#endif
_Static_assert(SW_MAX_PORTS <= 64,
	       "port sets (the run mask, a port's waiters) are uint64_t bits");
#ifndef SW_BURST
#define SW_BURST 32		/* frames between used-ring publications */
#endif
#ifndef SW_BUDGET_FRAMES
#define SW_BUDGET_FRAMES 256	/* frames from one ring before others run */
#endif
#ifndef SW_BUDGET_BYTES
#define SW_BUDGET_BYTES (1u << 20)
#endif
#ifndef SW_RX_CHAINS
#define SW_RX_CHAINS 256	/* receive buffers one frame may use */
#endif
#ifndef SW_MAC_LIST_MAX
#define SW_MAC_LIST_MAX 16	/* addresses in a port's mac list */
#endif
#define SW_L2_OVERHEAD 18	/* Ethernet header and one VLAN tag */
#define SW_MAX_FRAME (65535 + SW_L2_OVERHEAD)
#define SW_VLAN_MAX 4094	/* VLAN ids are 1..4094 */

/*
 * Per-port counters. "rx" is what the switch received from the port (a
 * guest's transmissions), "tx" what it delivered to it (into a guest's
 * receive ring). Counters only grow. Each with what it counts (the
 * help text of vswitch ctl metrics).
 */
#define SW_PORT_STATS(X)                                                 \
	X(rx_packets, "Frames received from the port and switched.")     \
	X(rx_bytes, "Bytes of the frames received and switched.") \
	X(tx_packets, "Frames delivered to the port.") \
	X(tx_bytes, "Bytes of the frames delivered to the port.")        \
	X(rx_runt, "Frames from the port shorter than an Ethernet header.") \
	X(rx_oversize, "Frames from the port longer than its MTU allows.") \
	X(rx_bad_src, "Frames with a multicast or zero source address.") \
	X(rx_disabled, "Frames sent on a ring the front-end had disabled.") \
	X(rx_mac_denied, "Frames whose source is not in the port's mac list.") \
	X(rx_vlan_denied, "Frames in a VLAN (or none) the port does not carry.") \
	X(rx_not_learned, "Frames whose source went unlearned (FDB, max_macs full).") \
	X(rx_fragmented, "Frames in more pieces than the switch gathers.") \
	X(rx_bad_header, "Frames whose virtio-net header is not valid for them.") \
	X(rx_hairpin, "Frames whose destination is on the port they came from.") \
	X(rx_dst_down, "Frames whose destination's port is not up.")     \
	X(rx_csum_partial, "Frames that left their checksum to the switch.") \
	X(rx_gso, "Frames that left segmentation to the switch (TSO, GRO).") \
	X(tx_no_buffer, "Frames dropped: the guest had no free receive buffer.") \
	X(tx_before_buffers, "Frames dropped: no receive buffer posted yet.") \
	X(tx_held, "Times senders waited for the port's receive buffers.") \
	X(tx_small_buffer, "Frames dropped: receive buffers too small.") \
	X(tx_fragmented, "Frames dropped: receive buffers in too many pieces.") \
	X(tx_refused, "Of tx_packets, frames the kernel refused.")       \
	X(tx_oversize, "Frames dropped: longer than the receiver's MTU allows.") \
	X(tx_csum_completed, "Frames whose checksum the switch completed.") \
	X(tx_segmented, "Frames the switch segmented for the port.")

struct sw_port_stats {
#define X(name, help) uint64_t name;
	SW_PORT_STATS(X)
#undef X
};

/*
 * What a port may do, from its configuration (sw_port_set).
 *
 * VLANs, as OVS's tag and trunks: with neither vlan nor trunk, the port
 * carries every VLAN, tagged frames in theirs and untagged ones in VLAN
 * 0 (so, without VLANs anywhere, one LAN as always). vlan alone: an
 * access port, untagged on the wire and in that VLAN inside; tagged
 * frames arriving are dropped. trunk alone: tagged frames of the listed
 * VLANs, nothing else. Both: a trunk whose native VLAN (vlan) goes
 * untagged. A VLAN 0 (priority) tag reads as untagged.
 */
struct sw_port_cfg {
	unsigned int nmacs;			/* 0: any source */
	uint8_t mac[SW_MAC_LIST_MAX][L2_ALEN];	/* sources it may send from */
	uint32_t max_macs;			/* 0: only the FDB's size */
	uint16_t vlan;				/* access/native VLAN, 0: none */
	bool trunk;				/* trunk_vids is set */
	uint64_t trunk_vids[64];		/* VLAN v is bit v % 64 of [v / 64] */
	/* An uplink: frames whose checksum was left to the device go to
	 * the kernel as they are (else it is completed here). A guest
	 * port: what its front-end negotiated decides. */
	bool offload;
};

/* Log levels of the lines the engine asks the loop to log. */
enum sw_log_level { SW_LOG_WARN, SW_LOG_INFO, SW_LOG_DEBUG };

/* The timers the engine asks for; each fires sw_hold_timer / sw_age. */
enum sw_timer { SW_TIMER_HOLD, SW_TIMER_AGING };

/* Kinds of port: a guest's vhost-user device, or an uplink (a TAP device
 * or an AF_PACKET socket on an interface: the kernel's side). */
enum sw_kind { SW_VHOST_USER, SW_UPLINK };

/* What happened to an FDB entry (sw_ops.fdb_event). */
enum sw_fdb_event { SW_FDB_LEARNED, SW_FDB_MOVED, SW_FDB_AGED };

/*
 * What the engine asks of the loop. @opaque is what sw_init() was given;
 * ports are named by their index.
 */
struct sw_ops {
	/* Interrupt the guest on port @port's ring @q (its call fd). */
	void (*signal)(void *opaque, unsigned int port, unsigned int q);
	/* Port @port broke (ring @q, or VU_NUM_VQ for the device; the line
	 * saying why is logged): signal its error fd, and disconnect it
	 * at the end of the loop's turn (sw_port_broken() says why). */
	void (*broken)(void *opaque, unsigned int port, unsigned int q);
	/* One shot in @ms milliseconds. Return: false when it cannot be
	 * set (the engine then goes without). */
	bool (*arm_timer)(void *opaque, enum sw_timer t, unsigned int ms);
	/* A line about port @port (-1: the switch), without newline. */
	void (*log)(void *opaque, int port, enum sw_log_level level,
		    const char *line);
	/* Uplinks. A buffer for a frame to uplink @port, with room for
	 * @len bytes, or NULL when none is free: the frame then waits
	 * in its sender's ring, when it may (see sw_uplink_room), or is
	 * dropped and counted. The engine fills it and hands it to
	 * uplink_send (the loop's again from then on), or, when a fault
	 * interrupted the copy, back to uplink_drop. */
	void *(*uplink_buf)(void *opaque, unsigned int port, size_t len);
	void (*uplink_send)(void *opaque, unsigned int port, void *buf,
			    size_t len);
	void (*uplink_drop)(void *opaque, unsigned int port, void *buf);
	/* An address learned on, moved to, or aged out of port @port,
	 * while sw_set_events() asks for them; may be NULL. */
	void (*fdb_event)(void *opaque, enum sw_fdb_event ev,
			  unsigned int port, uint16_t vlan,
			  const uint8_t *mac);
};

/* One port. Private to switch.c but for what the functions return. */
struct sw_port {
	uint16_t index;			/* in sw->port[] */
	bool in_use;
	bool up;			/* sw_up, until sw_down */
	enum sw_kind kind;
	struct vu_dev *dev;		/* a vhost-user port's device */
	/* An uplink's: its MTU (0: none known), the virtio-net header
	 * before each frame (10 or 12 bytes), its byte order. */
	uint32_t mtu;
	size_t vnet_hlen;
	bool vnet_le;
	struct sw_port_cfg cfg;
	const char *broken;		/* why; the loop disconnects it */
	bool dirty;			/* receive ring has unpublished entries */
	/* Backpressure: senders whose next frame waits for receive
	 * buffers here (bit = port), since when it took no frame while
	 * one waited (0: none waits), and whether it let a wait run out
	 * (frames for it are then dropped until it takes one). */
	uint64_t rx_waiters;
	uint64_t hold_since_ms;
	bool rx_stuck;
	bool rx_kicks_on;		/* receive-ring kicks requested */
	bool rarp_pending;		/* SEND_RARP to announce when it runs */
	uint8_t rarp_mac[L2_ALEN];
	uint32_t src_hint, dst_hint;	/* FDB entries of the last addresses */
	/* A frame being segmented for a receiver that ran out of buffers
	 * part way: it waits in this port's transmit ring (chain
	 * seg_head), and goes on at segment seg_next (0: none waits). */
	uint32_t seg_next;
	uint16_t seg_head, seg_dst;
	/* Since it came up: has its transmit ring held a frame, has the
	 * guest kicked it, and has vswitch said that a kick into a ring
	 * that never moved means unshared memory? */
	bool tx_moved, tx_kicked, idle_told;
	bool rx_moved;			/* has it posted a receive buffer? */
	struct sw_port_stats st;
};

/*
 * The engine: every port, the FDB, and the scratch one frame needs. Large
 * (the scratch iovecs): one static instance.
 */
struct sw {
	const struct sw_ops *ops;
	void *opaque;
	struct sw_port port[SW_MAX_PORTS];
	struct l2_fdb fdb;
	uint64_t fdb_full;		/* source addresses not learned */
	uint32_t rx_wait_ms;		/* backpressure: longest wait */
	uint64_t now_ms;		/* sw_clock() */
	uint32_t now_s;
	bool hold_armed, aging_armed;

	/* Ports with transmit work left, the one record of it; the pass
	 * sw_run() is in (ports not yet run), the port it runs, and where
	 * the next pass starts (round robin). */
	uint64_t run_mask;
	uint64_t pass, pass_first;
	int running;
	unsigned int run_start;

	/* Ports with unpublished receive entries in the current burst. */
	uint16_t dirty_list[SW_MAX_PORTS];
	unsigned int ndirty;

	/* What the current burst holds that a fault could leave half
	 * done: the transmit chain taken, the receive chains of one
	 * frame. */
	struct {
		int src;
		uint16_t tx_head;
		bool tx_held;
		int dst;
		unsigned int rx_held;
		int up_port;		/* an uplink buffer being filled */
		void *up_buf;
	} burst;
	/* Segments built since the sender's budget last counted them: a
	 * frame cut into many costs its sender as many frames. */
	uint32_t segments;
	bool debug;			/* addresses learned are logged */
	bool events;			/* ... and told to ops->fdb_event */

	/* Scratch: one transmit chain, one frame's receive chains. */
	struct iovec tx_iov[VRING_MAX_IOV];
	struct iovec rx_iov[VRING_MAX_IOV];
	struct vring_chain rx_chain[SW_RX_CHAINS];
};

/*
 * sw_init - an engine with no ports, an FDB of @fdb_size addresses aged
 * after @aging seconds, hashed with @key. Return: 0 or -ENOMEM/-EINVAL.
 * sw_free - give back what sw_init() took.
 */
int sw_init(struct sw *sw, const struct sw_ops *ops, void *opaque,
	    uint32_t fdb_size, uint32_t aging, uint64_t key);
void sw_free(struct sw *sw);

/* sw_resize_fdb - a new, empty FDB of @size addresses (every address is
 * learned again). Return: 0, or -ENOMEM keeping the old one. */
int sw_resize_fdb(struct sw *sw, uint32_t size);

/* The backpressure wait (rx_wait_ms; 0: frames never wait) and the
 * FDB's ageing time, as configured. */
void sw_set_limits(struct sw *sw, uint32_t rx_wait_ms, uint32_t aging);

/* sw_set_debug - whether debug lines are wanted (they cost a format). */
void sw_set_debug(struct sw *sw, bool on);

/* sw_set_events - whether ops->fdb_event wants to hear of addresses
 * learned, moved and aged. */
void sw_set_events(struct sw *sw, bool on);

/* sw_clock - the time, from the loop, once per turn: monotonic ms. */
void sw_clock(struct sw *sw, uint64_t now_ms);

/*
 * sw_port_add - port @i (unused) takes part from now on, a vhost-user
 * port whose device is @dev (it must stay valid until sw_port_remove).
 * sw_port_set - its configuration, again at any time (a reload).
 * sw_port_remove - port @i is gone: nothing about it is left.
 */
void sw_port_add(struct sw *sw, unsigned int i, struct vu_dev *dev,
		 const struct sw_port_cfg *cfg);
void sw_port_set(struct sw *sw, unsigned int i, const struct sw_port_cfg *cfg);
void sw_port_remove(struct sw *sw, unsigned int i);

/*
 * sw_uplink_add - port @i (unused) is an uplink, down until sw_up():
 * frames to it go to ops->uplink_buf/uplink_send, frames from it come in
 * through sw_uplink_rx(), each after a virtio-net header of @vnet_hlen
 * bytes (10 or 12) in @vnet_le or host byte order.
 * sw_uplink_mtu - its interface's MTU (0: not known).
 */
void sw_uplink_add(struct sw *sw, unsigned int i, const struct sw_port_cfg *cfg,
		   size_t vnet_hlen, bool vnet_le);
void sw_uplink_mtu(struct sw *sw, unsigned int i, uint32_t mtu);

/*
 * sw_uplink_rx - uplink @i received @len bytes in @buf: a virtio-net
 * header, then a frame. It is switched at once (copied into the guests it
 * goes to; frames from an uplink never wait for a guest's buffers), and
 * @buf, which the engine may write to (a checksum the kernel left to be
 * completed), is the caller's again when this returns. The header is
 * checked: a segmented (GRO) frame, which needs offloads, is dropped and
 * counted. Run guarded, like sw_run() (it writes into guests' memory);
 * after a fault the frame is not taken up again.
 */
void sw_uplink_rx(struct sw *sw, unsigned int i, void *buf, size_t len);

/* sw_uplink_room - a buffer uplink_buf gave for uplink @i is free again:
 * senders held for want of one (uplink_buf returned NULL) go on. */
void sw_uplink_room(struct sw *sw, unsigned int i);

/* sw_uplink_refused - the kernel would not take a frame uplink_send gave
 * it for uplink @i (its queue was full): counted, no more. */
void sw_uplink_refused(struct sw *sw, unsigned int i);

/* sw_forget - the front-end on port @i is gone, or a new one came: what
 * the last one left (a broken state, a pending announcement) goes. */
void sw_forget(struct sw *sw, unsigned int i);

/* sw_up / sw_down - the device's rings are all enabled / one is not any
 * more (backend.c's up and down), or an uplink's interface is there and
 * up / is not. sw_down returns how many learned addresses it forgot. */
void sw_up(struct sw *sw, unsigned int i);
uint32_t sw_down(struct sw *sw, unsigned int i);

/* sw_kick - the guest on port @i kicked ring @q. */
void sw_kick(struct sw *sw, unsigned int i, unsigned int q);

/* sw_rarp - announce @mac from port @i (SEND_RARP), once it is up. */
void sw_rarp(struct sw *sw, unsigned int i, const uint8_t *mac);

/*
 * sw_break - port @i broke (ring @q, or the device as a whole with
 * VU_NUM_VQ) for @why (a static string): it takes no more part, its
 * rings are never touched again, the reason is logged once and
 * ops->broken called. A second call does nothing.
 */
void sw_break(struct sw *sw, unsigned int i, unsigned int q, const char *why);

/* Why port @i broke, or NULL. */
static inline const char *sw_port_broken(const struct sw *sw, unsigned int i)
{
	return sw->port[i].broken;
}

/*
 * sw_run - run each port with transmit work once: take its frames (up to
 * a budget), switch them, publish, interrupt. Run guarded: after a fault
 * in guest memory (and sw_fault), call it again, and it goes on where it
 * was. Return: true when ports have work left for the next turn.
 */
bool sw_run(struct sw *sw);

/*
 * sw_fault - guest memory at @addr faulted while the engine ran (or while
 * the back-end set up a ring): break the port it belongs to, give back
 * what the burst held of other ports' rings. Touches no guest memory.
 * Return: the port, or -1 when @addr is in no port's memory (a bug).
 */
int sw_fault(struct sw *sw, const void *addr);

/* sw_hold_timer / sw_age - the timers the engine asked for fired. */
void sw_hold_timer(struct sw *sw);
void sw_age(struct sw *sw);

#endif /* SWITCH_H */
