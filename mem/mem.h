/*
 * mem: guest memory shared by a vhost-user front-end.
 *
 * The front-end (QEMU, DPDK virtio_user) describes guest RAM as up to
 * MEM_MAX_REGIONS regions, each backed by a file descriptor (memfd or a
 * hugetlbfs file) and known by three addresses: its guest-physical address
 * (used inside descriptors), its address in the front-end's own address
 * space (used for ring addresses) and, once mapped here, a host pointer.
 *
 * This module is the only code that turns a guest or front-end address into
 * a pointer. Every lookup is bounds-checked in a way that cannot overflow:
 * a range is accepted only when it lies entirely inside one region.
 */
#ifndef MEM_H
#define MEM_H

#include <stdint.h>
#include <stddef.h>

#ifndef MEM_MAX_REGIONS
#define MEM_MAX_REGIONS 8	/* VHOST_MEMORY_BASELINE_NREGIONS */
#endif

/* One region as the front-end describes it (host byte order). */
struct mem_region_desc {
	uint64_t gpa;		/* guest-physical address of the first byte */
	uint64_t size;		/* length in bytes, > 0 */
	uint64_t uva;		/* front-end virtual address of the first byte */
	uint64_t mmap_offset;	/* offset of the first byte in the fd */
};

/* A mapped region. */
struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint8_t *host;		/* our pointer to the first byte */
	void *map;		/* what mmap() returned */
	size_t map_len;		/* what was passed to mmap() */
};

struct mem_table {
	unsigned int nregions;
	struct mem_region region[MEM_MAX_REGIONS];
};

/*
 * mem_table_map - validate and map a set of regions into an empty table.
 * @t:     table to fill; must be empty (zeroed or cleared)
 * @d:     region descriptions
 * @fds:   one file descriptor per region; not closed here (the caller keeps
 *         ownership and may close them once this returns: mappings outlive
 *         their descriptors)
 * @n:     number of regions, 1..MEM_MAX_REGIONS
 * @why:   on failure, set to a static string naming what was wrong
 *
 * Each fd must be a regular file (memfd, hugetlbfs or tmpfs file) at least
 * mmap_offset + size bytes long, so that no access through the mapping can
 * fault with SIGBUS while the file keeps its size. Regions must not overlap
 * in guest-physical or front-end address space.
 *
 * Return: 0, or -EINVAL (bad description), -EBADF (fd not a regular file),
 * -ERANGE (region beyond the end of its file), or the -errno of a failed
 * fstat/mmap. On failure the table is left empty.
 */
int mem_table_map(struct mem_table *t, const struct mem_region_desc *d,
		  const int *fds, unsigned int n, const char **why);

/* mem_table_unmap - unmap every region and leave the table empty. */
void mem_table_unmap(struct mem_table *t);

/*
 * mem_gpa - translate a guest-physical range, possibly only its first part.
 * @t:     table
 * @gpa:   start of the range
 * @len:   length of the range, > 0
 * @plen:  set to the number of bytes, 1..len, that are contiguous from the
 *         returned pointer (the range may continue in another region)
 *
 * Return: host pointer to @gpa, or NULL when @gpa is in no region.
 */
static inline void *mem_gpa(const struct mem_table *t, uint64_t gpa,
			    uint64_t len, uint64_t *plen)
{
	unsigned int i;

	for (i = 0; i < t->nregions; i++) {
		const struct mem_region *r = &t->region[i];
		uint64_t off, room;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		if (off >= r->size)
			continue;
		room = r->size - off;
		*plen = len < room ? len : room;
		return r->host + off;
	}
	return NULL;
}

/*
 * mem_uva - translate a front-end virtual range that must be contiguous.
 *
 * Return: host pointer to @uva, or NULL unless [@uva, @uva + @len) lies
 * entirely inside one region.
 */
void *mem_uva(const struct mem_table *t, uint64_t uva, uint64_t len);

#endif /* MEM_H */
