/*
 * libFuzzer target: the split-ring walker (vring/vring.c) over guest memory
 * the fuzzer writes.
 *
 * Guest memory is 64 KiB in two regions of a memfd (tests/lib/guestmem:
 * reversed in the file, apart in the front-end's address space), mapped
 * once for the "guest" and once through mem/ for the device, at another
 * address. The input is:
 *
 *   byte 0     bits 0-3: log2 of the ring size; bit 4: take the size from
 *              bytes 1-2 instead (any value, valid or not)
 *   bytes 1-2  that size (little-endian)
 *   byte 3     bit 0: EVENT_IDX, bit 1: INDIRECT_DESC, bit 2: receive
 *              (device writes) instead of transmit, bit 3: at most 4 host
 *              pieces per chain instead of VRING_MAX_IOV
 *   bytes 4-9  guest-physical offsets of the descriptor table, avail and
 *              used rings (little-endian; any value)
 *   the rest   guest memory, from its first byte
 *
 * The device attaches to the ring and takes every chain it offers, as the
 * switch does: each chain's pieces are checked to lie inside the device's
 * mapping and to add up to the chain's length, their first and last bytes
 * are read (transmit) or written (receive, which may overwrite the ring
 * itself, as a hostile guest can arrange), and the chain is returned in
 * the used ring. The walk ends at an empty ring or a broken one.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../../mem/mem.h"
#include "../../vring/vring.h"
#include "../lib/guestmem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE (64u << 10)
#define HDR_SIZE 10

static struct guestmem g;
static struct mem_table t;	/* the device's view */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mem_region_desc d[MEM_MAX_REGIONS];
	int fds[MEM_MAX_REGIONS];
	const char *why;

	(void)argc;
	(void)argv;
	if (guestmem_init(&g, MEM_SIZE, 2) < 0)
		abort();
	guestmem_descs(&g, d, fds);
	if (mem_table_map(&t, d, fds, g.nregions, &why) < 0)
		abort();
	return 0;
}

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Is [p, p + len) inside one of the device's regions? */
static int in_device_memory(const uint8_t *p, size_t len)
{
	for (unsigned int i = 0; i < t.nregions; i++) {
		const struct mem_region *r = &t.region[i];

		if (p >= r->host && len <= r->size &&
		    (size_t)(p - r->host) <= r->size - len)
			return 1;
	}
	return 0;
}

static void check_chain(const struct vring *vr, const struct vring_chain *ch,
			enum vring_dir dir)
{
	volatile uint8_t sink = 0;
	uint64_t sum = 0;

	if (ch->head >= vr->num || ch->niov == 0 || ch->niov > ch->max_iov)
		abort();
	for (unsigned int i = 0; i < ch->niov; i++) {
		uint8_t *p = ch->iov[i].iov_base;
		size_t n = ch->iov[i].iov_len;

		if (n == 0 || !in_device_memory(p, n))
			abort();
		sum += n;
		if (dir == VRING_WRITE) {
			p[0] = 0xa5;
			p[n - 1] = 0x5a;
		} else {
			sink = (uint8_t)(sink + p[0] + p[n - 1]);
		}
	}
	if (sum != ch->len)
		abort();
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct iovec iov[VRING_MAX_IOV];
	struct vring_chain ch = { .iov = iov };
	struct vring_addr a;
	struct vring vr;
	enum vring_dir dir;
	uint64_t features = 0;
	const char *why;
	uint32_t num;
	unsigned int taken = 0, budget;

	if (size < HDR_SIZE)
		return 0;
	num = data[0] & 0x10 ? le16_at(data + 1) : 1u << (data[0] & 15);
	if (data[3] & 1)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (data[3] & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	dir = data[3] & 4 ? VRING_WRITE : VRING_READ;
	ch.max_iov = data[3] & 8 ? 4 : VRING_MAX_IOV;
	a.desc = guestmem_uva(&g, GUESTMEM_GPA_BASE + le16_at(data + 4));
	a.avail = guestmem_uva(&g, GUESTMEM_GPA_BASE + le16_at(data + 6));
	a.used = guestmem_uva(&g, GUESTMEM_GPA_BASE + le16_at(data + 8));

	memset(g.map, 0, g.size);
	size -= HDR_SIZE;
	guestmem_write(&g, GUESTMEM_GPA_BASE, data + HDR_SIZE,
		       size < MEM_SIZE ? size : MEM_SIZE);

	if (vring_setup(&vr, &t, num, &a, features, &why) < 0)
		return 0;
	/* A well-behaved ring offers at most num chains at once; returning
	 * them lets a hostile driver offer more, so bound the walk. */
	budget = 2 * vr.num + 2;
	while (taken < budget) {
		int r = vring_pop(&vr, &ch, dir);

		if (r <= 0) {
			if (r < 0 && !vring_error(&vr))
				abort();	/* a broken ring names why */
			break;
		}
		check_chain(&vr, &ch, dir);
		taken++;
		if (taken % 7 == 3) {	/* the switch gives back what it
					 * could not deliver */
			vring_unpop(&vr, 1);
			continue;
		}
		vring_push(&vr, ch.head, dir == VRING_WRITE ?
			   (uint32_t)(ch.len < 1514 ? ch.len : 1514) : 0);
		if (taken % 32 == 0)
			vring_publish(&vr);
	}
	vring_publish(&vr);
	if (vring_kick_enable(&vr))
		vring_kick_disable(&vr);
	return 0;
}
