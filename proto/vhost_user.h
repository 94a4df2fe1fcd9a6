/*
 * vhost-user for a virtio-net device: wire format, the back-end state
 * machine and the front-end side used by tests and tools.
 *
 * Specification: QEMU docs/interop/vhost-user.rst. Messages are host-endian.
 * Nothing here performs I/O: the caller receives messages and their file
 * descriptors, passes them in, sends back the reply that is produced, and
 * watches the descriptors the device asks it to watch (struct vu_ops).
 */
#ifndef VHOST_USER_H
#define VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mem/mem.h"
#include "../vring/vring.h"

/* ---- wire format ---- */

/*
 * Requests this back-end handles: name, number, smallest and largest
 * payload, the file descriptors it carries (VU_FD_*) and where its ring
 * index is (VU_RING_*). The dispatcher checks all of this before any
 * handler runs.
 */
#define VU_REQUESTS(X)                                                   \
	X(GET_FEATURES,          1,  0,  0,   VU_FD_NONE,    VU_RING_NONE) \
	X(SET_FEATURES,          2,  8,  8,   VU_FD_NONE,    VU_RING_NONE) \
	X(SET_OWNER,             3,  0,  0,   VU_FD_NONE,    VU_RING_NONE) \
	X(RESET_OWNER,           4,  0,  0,   VU_FD_NONE,    VU_RING_NONE) \
	X(SET_MEM_TABLE,         5,  40, 264, VU_FD_REGIONS, VU_RING_NONE) \
	X(SET_VRING_NUM,         8,  8,  8,   VU_FD_NONE,    VU_RING_STOPPED) \
	X(SET_VRING_ADDR,        9,  40, 40,  VU_FD_NONE,    VU_RING_STOPPED) \
	X(SET_VRING_BASE,        10, 8,  8,   VU_FD_NONE,    VU_RING_STOPPED) \
	X(GET_VRING_BASE,        11, 8,  8,   VU_FD_NONE,    VU_RING_STATE) \
	X(SET_VRING_KICK,        12, 8,  8,   VU_FD_VRING,   VU_RING_FILE) \
	X(SET_VRING_CALL,        13, 8,  8,   VU_FD_VRING,   VU_RING_FILE) \
	X(SET_VRING_ERR,         14, 8,  8,   VU_FD_VRING,   VU_RING_FILE) \
	X(GET_PROTOCOL_FEATURES, 15, 0,  0,   VU_FD_NONE,    VU_RING_NONE) \
	X(SET_PROTOCOL_FEATURES, 16, 8,  8,   VU_FD_NONE,    VU_RING_NONE) \
	X(GET_QUEUE_NUM,         17, 0,  0,   VU_FD_NONE,    VU_RING_NONE) \
	X(SET_VRING_ENABLE,      18, 8,  8,   VU_FD_NONE,    VU_RING_STATE) \
	X(SEND_RARP,             19, 8,  8,   VU_FD_NONE,    VU_RING_NONE) \
	X(NET_SET_MTU,           20, 8,  8,   VU_FD_NONE,    VU_RING_NONE) \
	X(RESET_DEVICE,          34, 0,  0,   VU_FD_NONE,    VU_RING_NONE)

enum vu_request {
#define VU_ENUM(name, num, min, max, fds, ring) VHOST_USER_##name = num,
	VU_REQUESTS(VU_ENUM)
#undef VU_ENUM
};

/* Where a per-ring request carries its ring index. */
enum vu_ring_rule {
	VU_RING_NONE,	/* not a per-ring request */
	VU_RING_STATE,	/* first u32 of the payload (state, addr) */
	VU_RING_STOPPED,/* same, and the ring must not be started */
	VU_RING_FILE,	/* bits 0-7 of the u64 payload */
};

/* File descriptor rules. */
enum vu_fd_rule {
	VU_FD_NONE,	/* no descriptor */
	VU_FD_REGIONS,	/* one per memory region */
	VU_FD_VRING,	/* one, unless VU_VRING_NOFD is set in the payload */
};

#define VU_VERSION		0x1
#define VU_VERSION_MASK		0x3
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)

#define VU_VRING_INDEX_MASK	0xffu
#define VU_VRING_NOFD		(1u << 8)
#define VU_VRING_F_LOG		0	/* SET_VRING_ADDR flags bit */

#define VU_MAX_FDS		MEM_MAX_REGIONS
#define VU_MAX_PAYLOAD		264	/* the largest accepted: a memory table */

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* payload bytes */
};

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;		/* note: used before avail on the wire */
	uint64_t avail;
	uint64_t log;
};

struct vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct vu_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region region[MEM_MAX_REGIONS];
};

/* The wire format (host-endian, no padding), as the spec lays it out. */
_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vu_vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vu_vring_addr) == 40 &&
	       offsetof(struct vu_vring_addr, used) == 16 &&
	       offsetof(struct vu_vring_addr, avail) == 24, "vring address");
_Static_assert(sizeof(struct vu_mem_region) == 32, "memory region");
_Static_assert(sizeof(struct vu_memory) == 8 + 32 * MEM_MAX_REGIONS &&
	       sizeof(struct vu_memory) <= VU_MAX_PAYLOAD, "memory table");

struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_memory memory;
		uint8_t raw[VU_MAX_PAYLOAD];
	} payload;
};

/* Feature bits (virtio-net and vhost) beyond the ring ones in vring.h. */
#define VIRTIO_NET_F_CSUM		0	/* the device completes checksums */
#define VIRTIO_NET_F_GUEST_CSUM		1	/* the driver does */
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_GUEST_TSO4		7	/* the driver takes TSO frames */
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9	/* ... with ECN (CWR) */
#define VIRTIO_NET_F_HOST_TSO4		11	/* the device segments */
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_GUEST_ANNOUNCE	21
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ		0
#define VU_PROTOCOL_F_RARP		2
#define VU_PROTOCOL_F_REPLY_ACK		3
#define VU_PROTOCOL_F_MTU		4
#define VU_PROTOCOL_F_RESET_DEVICE	13

/* The offloads among them: a port with offload = off offers none. */
#define VU_OFFLOADS                                                      \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |  \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) | \
	 (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) | \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN))

/*
 * What this back-end offers, all implemented end to end, offloads
 * included: checksums and TCP segmentation (with ECN) both ways.
 */
#define VU_FEATURES                                                      \
	(VU_OFFLOADS |                                                    \
	 (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ANY_LAYOUT) |   \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                          \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) |                              \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_MTU) |  \
	 (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) |                          \
	 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))

#define VU_PROTOCOL_FEATURES                                             \
	((1ULL << VU_PROTOCOL_F_MQ) | (1ULL << VU_PROTOCOL_F_RARP) |      \
	 (1ULL << VU_PROTOCOL_F_REPLY_ACK) | (1ULL << VU_PROTOCOL_F_MTU) | \
	 (1ULL << VU_PROTOCOL_F_RESET_DEVICE))

/* One queue pair: ring 0 receives (device writes), ring 1 transmits. */
#define VU_QUEUE_PAIRS		1
#define VU_NUM_VQ		(2 * VU_QUEUE_PAIRS)
#define VU_RX			0
#define VU_TX			1

/* The virtio-net header (VIRTIO 1.1 5.1.6); 10 bytes without num_buffers. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1	/* flags */
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_GSO_NONE		0	/* gso_type */
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_ECN		0x80	/* with TCPV4 or TCPV6 */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;	/* little-endian; with MRG_RXBUF or VERSION_1 */
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12 &&
	       offsetof(struct virtio_net_hdr, num_buffers) == 10,
	       "virtio-net header");

/* Readable name of a request number ("SET_MEM_TABLE", or "UNKNOWN"). */
const char *vu_request_name(uint32_t request);

/* Name of virtio feature bit @bit ("MRG_RXBUF", "VERSION_1"), or of
 * vhost-user protocol feature bit @bit ("REPLY_ACK"); NULL for a bit
 * this back-end neither offers nor knows. */
const char *vu_feature_name(unsigned int bit);
const char *vu_protocol_feature_name(unsigned int bit);

/*
 * vu_msg_describe - what message @m (as received, not yet checked) says,
 * for the debug log: its values ("ring 0 num 256", the features, each
 * memory region, ...), into @buf of @len bytes; only what its payload
 * size covers is read. Return: @buf ("" for a request without values).
 */
const char *vu_msg_describe(const struct vu_msg *m, char *buf, size_t len);

/* ---- back-end ---- */

/* What the device asks of the loop that owns it. */
struct vu_ops {
	/*
	 * Watch ring @q's kick eventfd or pipe (@fd >= 0, kick_pipe tells
	 * which), or stop watching it (@fd == -1). The device owns the fd
	 * and closes it only after asking to stop watching it.
	 */
	void (*watch_kick)(void *opaque, unsigned int q, int fd);
	/*
	 * Ring @q's call fd is now @fd (-1: none). The device owns it; the
	 * loop drops here what it still has in flight on the old one.
	 */
	void (*set_call)(void *opaque, unsigned int q, int fd);
	/* Every ring started and enabled: frames may flow. */
	void (*up)(void *opaque);
	/* The device stopped: no ring may be touched until up() again. */
	void (*down)(void *opaque);
	/* SEND_RARP: announce @mac on the device's behalf. */
	void (*rarp)(void *opaque, const uint8_t mac[6]);
	/* Something worth a log line that is not an error. */
	void (*notice)(void *opaque, const char *msg);
};

struct vu_vq {
	struct vring vr;	/* valid while started */
	struct vring_addr addr;
	uint32_t num;
	uint16_t base;		/* from SET_VRING_BASE */
	int kick_fd;		/* -1 when none */
	bool kick_pipe;		/* kick_fd is a pipe, not an eventfd */
	int call_fd;
	int err_fd;
	bool num_set;
	bool addr_set;
	bool started;		/* kick fd set, rings translated */
	bool enabled;		/* SET_VRING_ENABLE */
};

struct vu_dev {
	const struct vu_ops *ops;
	void *opaque;
	uint64_t offered;		/* VU_FEATURES, or fewer (vu_dev_init) */
	uint64_t features;		/* acked by SET_FEATURES */
	uint64_t protocol;		/* acked by SET_PROTOCOL_FEATURES */
	struct mem_table mem;
	struct vu_vq vq[VU_NUM_VQ];
	uint32_t mtu;			/* 0 when not set */
	bool up;
	char why[160];			/* why the last message failed */
};

/* vu_dev_init - a fresh device, not connected, offering VU_FEATURES less
 * @withheld. What it offers never changes afterwards: a front-end that
 * comes back must find what it negotiated before. */
void vu_dev_init(struct vu_dev *dev, const struct vu_ops *ops, void *opaque,
		 uint64_t withheld);

/*
 * vu_check_header - validate a header before its payload is read.
 *
 * Return: 0, or -EPROTO with *why naming the problem (unknown request,
 * wrong version, payload size not allowed for the request).
 */
int vu_check_header(const struct vu_hdr *hdr, const char **why);

/*
 * vu_dev_handle - handle one message whose header passed vu_check_header().
 * @dev:   device
 * @msg:   header and hdr.size bytes of payload
 * @fds:   the descriptors received with it; every one is consumed: kept by
 *         the device or closed here, on success and on error alike
 * @nfds:  how many
 * @reply: filled in when a reply is due (reply->hdr.size payload bytes
 *         follow the header); reply->hdr.request is 0 when none is due
 *
 * Return: 0, or a negative errno with dev->why set: the connection must be
 * closed (after sending the reply, if any: a negative acknowledgement).
 */
int vu_dev_handle(struct vu_dev *dev, const struct vu_msg *msg, int *fds,
		  unsigned int nfds, struct vu_msg *reply);

/*
 * vu_dev_reset - forget the connection's state: stop every ring (going
 * down if up), close the kick, call and error fds, unmap guest memory and
 * clear negotiated features. Used on disconnect and RESET_DEVICE.
 */
void vu_dev_reset(struct vu_dev *dev);

/* Is ring @q started and enabled (effective enable: without
 * PROTOCOL_FEATURES a started ring is enabled)? */
bool vu_vq_enabled(const struct vu_dev *dev, unsigned int q);

/* ---- front-end (what QEMU or DPDK's virtio_user do; SEED steps 3-5) ---- */

/* How the front-end moves messages; provided by the caller. */
struct vu_fe_io {
	/* Send @m (header and hdr.size payload bytes) with @nfds fds.
	 * Return: 0 or a negative errno. */
	int (*send)(void *ctx, const struct vu_msg *m, const int *fds,
		    unsigned int nfds);
	/* Receive one message (a reply). Return: 0 or a negative errno. */
	int (*recv)(void *ctx, struct vu_msg *m);
	void *ctx;
};

struct vu_fe {
	struct vu_fe_io io;
	uint64_t dev_features;		/* what the back-end offers */
	uint64_t dev_protocol;
	uint64_t features;		/* what was acked */
	uint64_t protocol;
	uint64_t queue_pairs;		/* GET_QUEUE_NUM, when MQ */
};

/* One ring as the front-end sets it up. Fds stay the caller's. */
struct vu_fe_ring {
	uint32_t num;
	uint16_t base;
	uint64_t desc, avail, used;	/* front-end virtual addresses */
	int kick_fd;
	int call_fd;			/* -1: none (VU_VRING_NOFD) */
};

/*
 * vu_fe_request - send one request; when @reply is not NULL or REPLY_ACK
 * is negotiated, wait for the reply (NEED_REPLY is set on requests that
 * have no reply of their own).
 * Return: 0, -EPROTO for a malformed or negative reply, or the transport's
 * negative errno.
 */
int vu_fe_request(struct vu_fe *fe, uint32_t request, const void *payload,
		  uint32_t size, const int *fds, unsigned int nfds,
		  struct vu_msg *reply);

/*
 * vu_fe_connect - SEED step 3: SET_OWNER, GET_FEATURES and, when offered,
 * GET/SET_PROTOCOL_FEATURES (acking @want_protocol & offered) and
 * GET_QUEUE_NUM.
 */
int vu_fe_connect(struct vu_fe *fe, const struct vu_fe_io *io,
		  uint64_t want_protocol);

/*
 * vu_fe_start - SEED step 5: SET_VRING_CALL for every ring, SET_FEATURES
 * (@want & offered), SET_MEM_TABLE, then for every ring SET_VRING_NUM,
 * BASE, ADDR and KICK. With PROTOCOL_FEATURES the rings stay disabled
 * until vu_fe_enable().
 */
int vu_fe_start(struct vu_fe *fe, uint64_t want,
		const struct vu_mem_region *regions, const int *fds,
		unsigned int nregions, const struct vu_fe_ring *rings,
		unsigned int nrings);

/* vu_fe_enable - SET_VRING_ENABLE @on for rings 0..@nrings-1 (only with
 * PROTOCOL_FEATURES acked; a no-op otherwise). */
int vu_fe_enable(struct vu_fe *fe, unsigned int nrings, bool on);

/* vu_fe_stop - GET_VRING_BASE for each ring; bases returned in @bases. */
int vu_fe_stop(struct vu_fe *fe, unsigned int nrings, uint16_t *bases);

/* Virtio-net header length the driver uses: 12 with MRG_RXBUF or
 * VERSION_1, else 10. */
static inline size_t vu_hdr_len(uint64_t features)
{
	return features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			   (1ULL << VIRTIO_F_VERSION_1)) ? 12 : 10;
}

#endif /* VHOST_USER_H */
