/*
 * vring: VIRTIO split virtqueues (VIRTIO 1.1 section 2.6).
 *
 * The device side walks the chains a driver makes available, validating
 * every guest-controlled value once, on a private copy, and hands back host
 * iovecs translated by mem/. Used entries are written as chains complete and
 * published with one release store per burst; whether the driver wants an
 * interrupt is decided at that point. The driver side is what the project's
 * own front-end (tests, benchmarks) uses to play the guest.
 *
 * No system calls: signalling eventfds is the caller's business.
 * Rings are little-endian (VERSION_1, and legacy on little-endian hosts;
 * legacy rings on a big-endian host are refused); every access goes
 * through le*toh/htole*.
 */
#ifndef VRING_H
#define VRING_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>

#include "../mem/mem.h"

/* Transport feature bits (VIRTIO 1.1 section 6). */
#define VIRTIO_F_ANY_LAYOUT		27
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

#define VRING_MAX_SIZE		32768	/* largest split ring (2.6) */
/* Ring sizes are kept in 16 bits and indices masked with num - 1. */
_Static_assert(VRING_MAX_SIZE <= 32768 &&
	       (VRING_MAX_SIZE & (VRING_MAX_SIZE - 1)) == 0,
	       "split ring sizes are powers of two up to 32768");

#ifndef VRING_MAX_IOV
#define VRING_MAX_IOV		1024	/* host pieces in one chain */
#endif

/* Guest-visible layout; all fields little-endian. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];	/* num entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];	/* num entries, then avail_event */
};

/* The layout of 2.6, which the sizes below and the walk rely on. */
_Static_assert(sizeof(struct vring_desc) == 16, "descriptor");
_Static_assert(sizeof(struct vring_avail) == 4 &&
	       offsetof(struct vring_avail, ring) == 4, "avail ring");
_Static_assert(sizeof(struct vring_used_elem) == 8, "used element");
_Static_assert(sizeof(struct vring_used) == 4 &&
	       offsetof(struct vring_used, ring) == 4, "used ring");

/* Bytes of each part for a ring of @num entries, event fields included. */
static inline size_t vring_desc_size(unsigned int num)
{
	return 16 * (size_t)num;
}

static inline size_t vring_avail_size(unsigned int num)
{
	return 6 + 2 * (size_t)num;
}

static inline size_t vring_used_size(unsigned int num)
{
	return 6 + 8 * (size_t)num;
}

/* Is @num a valid split ring size: a power of two in 1..32768? */
bool vring_size_valid(uint32_t num);

/* Ring addresses in the front-end's virtual address space. */
struct vring_addr {
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/* Device side of one split ring. Fields are private to vring.c except as
 * documented on the functions below. */
struct vring {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct mem_table *mem;
	uint16_t num;
	uint16_t last_avail;	/* next avail slot to take */
	uint16_t avail_idx;	/* avail->idx as last read */
	uint16_t used_idx;	/* next used slot to fill */
	uint16_t published;	/* used->idx as last stored */
	uint16_t signalled;	/* used->idx at the last interrupt decision */
	bool signalled_valid;
	bool event_idx;
	bool indirect;
	bool broken;		/* never touch guest memory again */
	const char *err;	/* why the ring was found broken */
};

/*
 * vring_setup - attach to a ring in guest memory.
 * @vr:       ring state to initialise
 * @mem:      the front-end's memory; must stay mapped while the ring is used
 * @num:      ring size (vring_size_valid)
 * @a:        front-end virtual addresses of the three parts
 * @features: negotiated feature bits (EVENT_IDX, INDIRECT_DESC matter)
 * @why:      on failure, a static string naming the problem
 *
 * Each part must translate, at its full length, into one memory region, and
 * be aligned as 2.6 requires (16, 2, 4). Processing starts at the used index
 * found in guest memory: this device never holds a chain between bursts, so
 * at rest that equals the next avail index, and after a crash of either side
 * with chains in flight it is what the driver saw. The caller compares
 * last_avail with the base the front-end sent (SET_VRING_BASE) to report a
 * difference.
 *
 * Return: 0, -EINVAL (bad size or alignment) or -EFAULT (not in memory).
 */
int vring_setup(struct vring *vr, const struct mem_table *mem, uint32_t num,
		const struct vring_addr *a, uint64_t features, const char **why);

/* Which way a chain's buffers go, from the device's point of view. */
enum vring_dir {
	VRING_READ,	/* device reads: transmit chains */
	VRING_WRITE,	/* device writes: receive chains */
};

/* One chain taken from the avail ring. */
struct vring_chain {
	struct iovec *iov;	/* caller's array of max_iov entries */
	unsigned int max_iov;
	unsigned int niov;	/* host pieces filled in */
	uint64_t len;		/* total bytes */
	uint16_t head;		/* descriptor id to return in the used ring */
};

/*
 * vring_pop - take the next available chain and translate it.
 * @vr:  ring
 * @ch:  iov/max_iov set by the caller; the rest is filled in
 * @dir: every descriptor must go this way
 *
 * Validates, on a private copy of each descriptor: head and next in range,
 * no loop (at most num descriptors per table), INDIRECT only when
 * negotiated, not nested and not with NEXT, indirect tables a non-zero
 * multiple of 16 bytes no longer than the ring and inside one region, no
 * zero-length descriptor, no descriptor that wraps or leaves guest memory,
 * every descriptor in direction @dir, at most max_iov host pieces.
 *
 * Return: 1 with @ch filled in; 0 when the ring is empty; -E2BIG when the
 * chain is well formed but has more host pieces than max_iov: it is taken
 * all the same (head and len set, no pieces), for the caller to give back
 * with vring_unpop() or return unused with vring_push(), and the ring
 * stays usable. Any other negative errno means the driver broke the rules
 * and the ring is now broken: -EINVAL malformed, -EFAULT address outside
 * guest memory, -ELOOP descriptor loop; vring_error() names it. On a
 * broken ring: -EIO, touching nothing.
 */
int vring_pop(struct vring *vr, struct vring_chain *ch, enum vring_dir dir);

/* Why the ring broke; a static string. */
const char *vring_error(const struct vring *vr);

/*
 * vring_break - the owner gives up on the ring (its guest memory faulted,
 * the device is being disconnected): from now on no vring_* call touches
 * the ring's guest memory again. vring_pop and vring_avail return -EIO,
 * vring_push does nothing, vring_publish and vring_kick_enable return
 * false, vring_kick_disable does nothing. A ring the driver broke
 * (vring_pop failed) is in the same state. Only vring_setup() starts
 * afresh.
 */
void vring_break(struct vring *vr, const char *why);

/*
 * vring_avail - how many chains the driver has made available.
 * Return: 0..num, -EINVAL when the avail index moved by more than num
 * (the ring is then broken), or -EIO on a broken ring.
 */
int vring_avail(struct vring *vr);

/* vring_unpop - give back the last @n chains taken and not yet pushed. */
void vring_unpop(struct vring *vr, unsigned int n);

/* vring_push - record chain @head as used with @len bytes written. Not
 * visible to the driver until vring_publish(). */
void vring_push(struct vring *vr, uint16_t head, uint32_t len);

/*
 * vring_publish - make pushed entries visible (one release store of
 * used->idx) and decide whether the driver wants an interrupt for them.
 *
 * Return: true when the caller should signal the ring's call eventfd.
 */
bool vring_publish(struct vring *vr);

/*
 * vring_kick_disable / vring_kick_enable - suppress or request the driver's
 * notifications (kicks) for new available chains.
 *
 * vring_kick_enable() returns true when chains became available meanwhile:
 * the caller must process the ring again instead of sleeping, or a kick
 * could be lost.
 */
void vring_kick_disable(struct vring *vr);
bool vring_kick_enable(struct vring *vr);

/* ---- driver side, for the project's own front-end ---- */

/* One buffer segment as a driver posts it. */
struct vring_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;	/* device-writable */
};

struct vring_driver {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *ind;		/* indirect tables, ind_max per head */
	uint64_t ind_gpa;		/* guest address of ind */
	unsigned int ind_max;
	uint16_t *chain_ndesc;		/* per head: descriptors to free */
	uint16_t num;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;
	uint16_t kicked_idx;		/* avail idx at the last kick decision */
	uint16_t last_used;
	bool event_idx;
	bool indirect;
};

/*
 * vring_driver_init - lay out an empty ring in memory the caller owns.
 * @desc, @avail, @used: the three parts, zeroed, sized as above
 * @ind, @ind_gpa, @ind_max: room for one indirect table of @ind_max
 *                  descriptors per head (NULL if indirect is not used)
 * @chain_ndesc:    array of @num entries for bookkeeping
 */
void vring_driver_init(struct vring_driver *d, unsigned int num,
		       void *desc, void *avail, void *used, void *ind,
		       uint64_t ind_gpa, unsigned int ind_max,
		       uint16_t *chain_ndesc, uint64_t features);

/*
 * vring_driver_add - post one chain (readable segments first).
 * @indirect: put the chain in this head's indirect table
 * Return: head id, or -ENOSPC (ring full) / -EINVAL (bad segments).
 */
int vring_driver_add(struct vring_driver *d, const struct vring_seg *segs,
		     unsigned int nseg, bool indirect);

/* vring_driver_kick - publish added chains; true when the device asked to
 * be notified (the caller writes the kick eventfd). */
bool vring_driver_kick(struct vring_driver *d);

/*
 * vring_driver_get_used - take the next used entry.
 * Return: head id with *len set, or -EAGAIN when there is none.
 */
int vring_driver_get_used(struct vring_driver *d, uint32_t *len);

/* vring_driver_want_interrupts - ask for (or suppress) used notifications. */
void vring_driver_want_interrupts(struct vring_driver *d, bool on);

#endif /* VRING_H */
