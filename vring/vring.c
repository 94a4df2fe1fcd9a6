/*
 * vring: device side of VIRTIO split virtqueues. See vring.h.
 *
 * Section numbers refer to VIRTIO 1.1 (csprd01/cs01).
 */
#define _DEFAULT_SOURCE
#include "vring.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

bool vring_size_valid(uint32_t num)
{
	return num != 0 && num <= VRING_MAX_SIZE && (num & (num - 1)) == 0;
}

static inline uint16_t *used_event(const struct vring *vr)
{
	return &vr->avail->ring[vr->num];
}

static inline uint16_t *avail_event(const struct vring *vr)
{
	return (uint16_t *)&vr->used->ring[vr->num];
}

/*
 * Copy a descriptor out of guest memory. The signal fence stops the compiler
 * from re-loading fields from guest memory later instead of using the copy,
 * so every check below applies to the value that is used.
 */
static inline void desc_read(struct vring_desc *dst,
			     const struct vring_desc *src)
{
	memcpy(dst, src, sizeof(*dst));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The driver broke the rules: the ring is not touched again. */
static int fail(struct vring *vr, int err, const char *why)
{
	vr->err = why;
	vr->broken = true;
	return err;
}

const char *vring_error(const struct vring *vr)
{
	return vr->err ? vr->err : "no error";
}

void vring_break(struct vring *vr, const char *why)
{
	if (!vr->broken)
		fail(vr, 0, why);
}

int vring_setup(struct vring *vr, const struct mem_table *mem, uint32_t num,
		const struct vring_addr *a, uint64_t features, const char **why)
{
	void *desc, *avail, *used;
	uint16_t used_idx;

	memset(vr, 0, sizeof(*vr));
	/* A legacy guest's rings are in its own byte order: little-endian
	 * only where the host is. */
	if (!(features & (1ULL << VIRTIO_F_VERSION_1)) &&
	    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
		*why = "legacy virtio (no VERSION_1) keeps rings in the host's "
		       "big-endian order, which vswitch does not take";
		return -EPROTONOSUPPORT;
	}
	if (!vring_size_valid(num)) {
		*why = "ring size is not a power of two in 1..32768";
		return -EINVAL;
	}
	desc = mem_uva(mem, a->desc, vring_desc_size(num));
	avail = mem_uva(mem, a->avail, vring_avail_size(num));
	used = mem_uva(mem, a->used, vring_used_size(num));
	if (!desc) {
		*why = "descriptor table is not inside one memory region";
		return -EFAULT;
	}
	if (!avail) {
		*why = "avail ring is not inside one memory region";
		return -EFAULT;
	}
	if (!used) {
		*why = "used ring is not inside one memory region";
		return -EFAULT;
	}
	/* 2.6: alignment 16 for the table, 2 for avail, 4 for used. */
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) ||
	    ((uintptr_t)used & 3)) {
		*why = "ring part misaligned";
		return -EINVAL;
	}
	vr->desc = desc;
	vr->avail = avail;
	vr->used = used;
	vr->mem = mem;
	vr->num = (uint16_t)num;	/* 32768 fits; the mask uses num - 1 */
	vr->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vr->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	used_idx = le16toh(__atomic_load_n(&vr->used->idx, __ATOMIC_ACQUIRE));
	/*
	 * Nothing is ever held between bursts, so at rest used->idx equals the
	 * next avail index; the used index is what the driver saw, so that is
	 * where processing resumes (see vring.h).
	 */
	vr->last_avail = used_idx;
	vr->avail_idx = vr->last_avail;
	vr->used_idx = used_idx;
	vr->published = used_idx;
	vr->signalled = used_idx;
	vr->signalled_valid = false;
	return 0;
}

int vring_avail(struct vring *vr)
{
	uint16_t idx, n;

	if (vr->broken)
		return -EIO;
	/* Acquire: the ring entries and descriptors the driver wrote before
	 * it published this index are visible after it (2.6.13). */
	idx = le16toh(__atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE));
	n = (uint16_t)(idx - vr->last_avail);
	if (n > vr->num)
		return fail(vr, -EINVAL,
			    "avail index moved by more than the ring size");
	vr->avail_idx = idx;
	return n;
}

/* Switch the walk to the indirect table @d points to (2.6.5.3). */
static int enter_indirect(struct vring *vr, const struct vring_desc *d,
			  uint16_t flags, bool nested,
			  const struct vring_desc **table, uint32_t *tsize)
{
	uint64_t addr = le64toh(d->addr), plen;
	uint32_t len = le32toh(d->len);
	void *p;

	if (!vr->indirect)
		return fail(vr, -EINVAL, "indirect descriptor not negotiated");
	if (nested)
		return fail(vr, -EINVAL, "nested indirect descriptor");
	if (flags & VRING_DESC_F_NEXT)
		return fail(vr, -EINVAL, "indirect descriptor with NEXT set");
	if (len == 0 || len % sizeof(struct vring_desc))
		return fail(vr, -EINVAL,
			    "indirect table length not a multiple of 16");
	if (len / sizeof(struct vring_desc) > vr->num)
		return fail(vr, -EINVAL, "indirect table longer than the ring");
	p = mem_gpa(vr->mem, addr, len, &plen);
	if (!p || plen < len)
		return fail(vr, -EFAULT,
			    "indirect table not inside one memory region");
	*table = p;
	*tsize = len / sizeof(struct vring_desc);
	return 0;
}

/*
 * Translate one buffer descriptor into host pieces. Pieces past the
 * caller's max_iov are checked and counted, not stored: the chain is
 * walked to its end either way.
 */
static int add_buffer(struct vring *vr, struct vring_chain *ch,
		      const struct vring_desc *d, uint16_t flags,
		      enum vring_dir dir)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool writable = flags & VRING_DESC_F_WRITE;

	if (writable != (dir == VRING_WRITE))
		return fail(vr, -EINVAL, dir == VRING_READ ?
			    "device-writable descriptor in a transmit chain" :
			    "device-readable descriptor in a receive chain");
	if (len == 0)
		return fail(vr, -EINVAL, "zero-length descriptor");
	if (len - 1 > UINT64_MAX - addr)
		return fail(vr, -EFAULT, "descriptor wraps around");
	ch->len += len;
	while (len) {
		uint64_t plen;
		void *p = mem_gpa(vr->mem, addr, len, &plen);

		if (!p)
			return fail(vr, -EFAULT,
				    "descriptor outside guest memory");
		if (ch->niov < ch->max_iov) {
			ch->iov[ch->niov].iov_base = p;
			ch->iov[ch->niov].iov_len = (size_t)plen;
		}
		ch->niov++;
		addr += plen;
		len -= (uint32_t)plen;
	}
	return 0;
}

/* The head descriptor of the chain @ahead places after the next one to
 * take, or NULL. A hint for prefetching only: nothing is validated. */
static const struct vring_desc *head_ahead(const struct vring *vr,
					   uint16_t ahead)
{
	uint16_t i;

	if ((uint16_t)(vr->avail_idx - vr->last_avail) <= ahead)
		return NULL;
	i = le16toh(__atomic_load_n(
		&vr->avail->ring[(uint16_t)(vr->last_avail + ahead) &
				 (vr->num - 1)], __ATOMIC_RELAXED));
	return i < vr->num ? &vr->desc[i] : NULL;
}

/*
 * Start the cache misses of the next chains while this one is copied: the
 * driver wrote them on another CPU. The next chain's first buffer (its
 * descriptor was fetched one chain ago) and the head descriptor of the one
 * after. Prefetches never fault, and the values read here decide nothing
 * but what to prefetch: vring_pop() validates the chains when it takes
 * them.
 */
static void prefetch_ahead(const struct vring *vr, enum vring_dir dir)
{
	const struct vring_desc *d = head_ahead(vr, 0);
	uint64_t plen, a;
	void *p;

	if (d) {
		/* A hint only, torn or not: a plain copy, which needs no
		 * 64-bit atomics where the target has none. */
		memcpy(&a, &d->addr, sizeof(a));
		p = mem_gpa(vr->mem, le64toh(a), 1, &plen);
		if (p && dir == VRING_WRITE)
			__builtin_prefetch(p, 1);
		else if (p)
			__builtin_prefetch(p, 0);
	}
	d = head_ahead(vr, 1);
	if (d)
		__builtin_prefetch(d);
}

int vring_pop(struct vring *vr, struct vring_chain *ch, enum vring_dir dir)
{
	const struct vring_desc *table = vr->desc;
	uint32_t tsize = vr->num, count = 0;
	bool indirect = false;
	uint16_t i;
	int r;

	if (vr->broken)
		return -EIO;
	if (vr->last_avail == vr->avail_idx) {
		r = vring_avail(vr);
		if (r <= 0)
			return r;
	}
	i = le16toh(__atomic_load_n(
		&vr->avail->ring[vr->last_avail & (vr->num - 1)],
		__ATOMIC_RELAXED));
	if (i >= vr->num)
		return fail(vr, -EINVAL, "chain head out of range");
	ch->head = i;
	ch->niov = 0;
	ch->len = 0;
	for (;;) {
		struct vring_desc d;
		uint16_t flags;

		/* A table of n descriptors holds no chain longer than n. */
		if (++count > tsize)
			return fail(vr, -ELOOP, indirect ?
				    "descriptor loop in indirect table" :
				    "descriptor loop");
		desc_read(&d, &table[i]);
		flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			r = enter_indirect(vr, &d, flags, indirect, &table,
					   &tsize);
			if (r)
				return r;
			indirect = true;
			count = 0;
			i = 0;
			continue;
		}
		r = add_buffer(vr, ch, &d, flags, dir);
		if (r)
			return r;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= tsize)
			return fail(vr, -EINVAL, "next descriptor out of range");
	}
	vr->last_avail++;
	if (ch->niov > ch->max_iov) {
		/* Well formed, but in more pieces than the caller holds. */
		ch->niov = 0;
		return -E2BIG;
	}
	prefetch_ahead(vr, dir);
	return 1;
}

void vring_unpop(struct vring *vr, unsigned int n)
{
	vr->last_avail = (uint16_t)(vr->last_avail - n);
}

void vring_push(struct vring *vr, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (vr->broken)
		return;
	e = &vr->used->ring[vr->used_idx & (vr->num - 1)];
	e->id = htole32(head);
	e->len = htole32(len);
	vr->used_idx++;
}

bool vring_publish(struct vring *vr)
{
	uint16_t new = vr->used_idx, old;

	if (vr->broken || new == vr->published)
		return false;
	/* Release: the used elements are visible before the index that
	 * covers them (2.6.8.2). */
	__atomic_store_n(&vr->used->idx, htole16(new), __ATOMIC_RELEASE);
	vr->published = new;
	/* Order the index store before reading the driver's suppression
	 * fields: a store then a load needs a full fence (2.6.10.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vr->event_idx)
		return !(le16toh(__atomic_load_n(&vr->avail->flags,
						 __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);

	old = vr->signalled;
	vr->signalled = new;
	if (!vr->signalled_valid) {
		vr->signalled_valid = true;
		return true;
	}
	/* 2.6.10.2: interrupt when used_event lies in [old, new). */
	{
		uint16_t ev = le16toh(__atomic_load_n(used_event(vr),
						      __ATOMIC_RELAXED));

		return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	}
}

void vring_kick_disable(struct vring *vr)
{
	/* With EVENT_IDX the driver kicks only when it passes avail_event;
	 * leaving the old value there is enough. */
	if (!vr->broken && !vr->event_idx)
		__atomic_store_n(&vr->used->flags,
				 htole16(VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
}

bool vring_kick_enable(struct vring *vr)
{
	if (vr->broken)
		return false;
	if (vr->event_idx)
		__atomic_store_n(avail_event(vr), htole16(vr->last_avail),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vr->used->flags, 0, __ATOMIC_RELAXED);
	/* The driver may have added a chain while kicks were off and seen
	 * no reason to kick: order the store above before re-reading the
	 * avail index (2.6.10.1), so one side always sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE)) !=
	       vr->last_avail;
}
