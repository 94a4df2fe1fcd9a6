/*
 * vring: driver side of a split virtqueue, as a guest's virtio driver runs
 * it. Used by the project's own front-end to play the guest in tests and
 * benchmarks. See vring.h.
 */
#define _DEFAULT_SOURCE
#include "vring.h"

#include <endian.h>
#include <errno.h>

void vring_driver_init(struct vring_driver *d, unsigned int num,
		       void *desc, void *avail, void *used, void *ind,
		       uint64_t ind_gpa, unsigned int ind_max,
		       uint16_t *chain_ndesc, uint64_t features)
{
	unsigned int i;

	d->desc = desc;
	d->avail = avail;
	d->used = used;
	d->ind = ind;
	d->ind_gpa = ind_gpa;
	d->ind_max = ind ? ind_max : 0;
	d->chain_ndesc = chain_ndesc;
	d->num = (uint16_t)num;
	d->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	d->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	/* The free list runs through the descriptors' next fields. */
	for (i = 0; i < num; i++)
		d->desc[i].next = htole16((uint16_t)(i + 1));
	d->free_head = 0;
	d->num_free = (uint16_t)num;
	d->avail_idx = 0;
	d->kicked_idx = 0;
	d->last_used = 0;
}

static void fill(struct vring_desc *t, const struct vring_seg *s,
		 uint16_t flags)
{
	t->addr = htole64(s->gpa);
	t->len = htole32(s->len);
	t->flags = htole16(flags | (s->write ? VRING_DESC_F_WRITE : 0));
}

int vring_driver_add(struct vring_driver *d, const struct vring_seg *segs,
		     unsigned int nseg, bool indirect)
{
	uint16_t head = d->free_head, i = head;
	unsigned int k;

	if (nseg == 0 || (indirect && (!d->ind || nseg > d->ind_max)))
		return -EINVAL;
	if (d->num_free < (indirect ? 1 : nseg))
		return -ENOSPC;
	if (indirect) {
		struct vring_desc *t = d->ind + (size_t)head * d->ind_max;

		for (k = 0; k < nseg; k++) {
			fill(&t[k], &segs[k], k + 1 < nseg ?
			     VRING_DESC_F_NEXT : 0);
			t[k].next = htole16((uint16_t)(k + 1));
		}
		d->free_head = le16toh(d->desc[head].next);
		d->desc[head].addr = htole64(d->ind_gpa + (uint64_t)head *
					     d->ind_max *
					     sizeof(struct vring_desc));
		d->desc[head].len = htole32(nseg * sizeof(struct vring_desc));
		d->desc[head].flags = htole16(VRING_DESC_F_INDIRECT);
		d->chain_ndesc[head] = 1;
		d->num_free--;
	} else {
		for (k = 0; k < nseg; k++) {
			fill(&d->desc[i], &segs[k], k + 1 < nseg ?
			     VRING_DESC_F_NEXT : 0);
			i = le16toh(d->desc[i].next);
		}
		d->free_head = i;
		d->chain_ndesc[head] = (uint16_t)nseg;
		d->num_free = (uint16_t)(d->num_free - nseg);
	}
	d->avail->ring[d->avail_idx & (d->num - 1)] = htole16(head);
	d->avail_idx++;
	return head;
}

bool vring_driver_kick(struct vring_driver *d)
{
	uint16_t old = d->kicked_idx, new = d->avail_idx;

	if (new == old)
		return false;
	/* Release: ring entries and descriptors before the index. */
	__atomic_store_n(&d->avail->idx, htole16(new), __ATOMIC_RELEASE);
	d->kicked_idx = new;
	/* The index store must be visible before the suppression read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->event_idx) {
		uint16_t ev = le16toh(__atomic_load_n(
			(uint16_t *)&d->used->ring[d->num], __ATOMIC_RELAXED));

		return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	}
	return !(le16toh(__atomic_load_n(&d->used->flags, __ATOMIC_RELAXED)) &
		 VRING_USED_F_NO_NOTIFY);
}

int vring_driver_get_used(struct vring_driver *d, uint32_t *len)
{
	uint16_t idx = le16toh(__atomic_load_n(&d->used->idx,
					       __ATOMIC_ACQUIRE));
	struct vring_used_elem e;
	uint16_t head, i, n, k;

	if (idx == d->last_used)
		return -EAGAIN;
	e = d->used->ring[d->last_used & (d->num - 1)];
	d->last_used++;
	head = (uint16_t)le32toh(e.id);
	if (le32toh(e.id) >= d->num || d->chain_ndesc[head] == 0)
		return -EINVAL;
	*len = le32toh(e.len);
	n = d->chain_ndesc[head];
	d->chain_ndesc[head] = 0;
	for (i = head, k = 1; k < n; k++)
		i = le16toh(d->desc[i].next);
	d->desc[i].next = htole16(d->free_head);
	d->free_head = head;
	d->num_free = (uint16_t)(d->num_free + n);
	return head;
}

void vring_driver_want_interrupts(struct vring_driver *d, bool on)
{
	if (d->event_idx)
		__atomic_store_n(&d->avail->ring[d->num],
				 htole16((uint16_t)(on ? d->last_used :
						    d->last_used - 1)),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&d->avail->flags,
				 htole16(on ? 0 : VRING_AVAIL_F_NO_INTERRUPT),
				 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
