/* guestmem: see guestmem.h. */
#define _GNU_SOURCE
#include "guestmem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

/* Addresses as both modes lay them out: guest-physically consecutive
 * regions, with gaps between them in the front-end's address space. */
static void layout(struct guestmem *g, size_t size, unsigned int nregions)
{
	size_t rs = size / nregions;
	unsigned int i;

	g->size = size;
	g->nregions = nregions;
	for (i = 0; i < nregions; i++) {
		g->region[i].gpa = GUESTMEM_GPA_BASE + i * rs;
		g->region[i].size = rs;
		g->region[i].uva = GUESTMEM_UVA_BASE + 2 * i * rs;
		g->region[i].mmap_offset = 0;
	}
}

static void clear(struct guestmem *g)
{
	unsigned int i;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	for (i = 0; i < MEM_MAX_REGIONS; i++)
		g->rfd[i] = -1;
}

int guestmem_init(struct guestmem *g, size_t size, unsigned int nregions)
{
	size_t rs;
	unsigned int i;

	clear(g);
	if (nregions == 0 || nregions > MEM_MAX_REGIONS || size % nregions)
		return -EINVAL;
	rs = size / nregions;
	g->fd = memfd_create("guestmem", MFD_CLOEXEC);
	if (g->fd < 0)
		return -errno;
	if (ftruncate(g->fd, (off_t)size) < 0)
		goto fail;
	g->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd,
		      0);
	if (g->map == MAP_FAILED)
		goto fail;
	layout(g, size, nregions);
	for (i = 0; i < nregions; i++)
		g->region[i].mmap_offset = (nregions - 1 - i) * rs;
	return 0;
fail:
	close(g->fd);
	g->fd = -1;
	return -errno;
}

int guestmem_init_files(struct guestmem *g, size_t size,
			unsigned int nregions)
{
	unsigned int i;
	int err;

	clear(g);
	if (nregions == 0 || nregions > MEM_MAX_REGIONS || size % nregions)
		return -EINVAL;
	layout(g, size, nregions);
	for (i = 0; i < nregions; i++) {
		size_t rs = g->region[i].size;
		void *p;

		g->rfd[i] = memfd_create("guestmem-region", MFD_CLOEXEC);
		if (g->rfd[i] < 0 || ftruncate(g->rfd[i], (off_t)rs) < 0)
			goto fail;
		p = mmap(NULL, rs, PROT_READ | PROT_WRITE, MAP_SHARED,
			 g->rfd[i], 0);
		if (p == MAP_FAILED)
			goto fail;
		g->rmap[i] = p;
	}
	return 0;
fail:
	err = -errno;
	guestmem_free(g);
	return err;
}

void guestmem_free(struct guestmem *g)
{
	unsigned int i;

	if (g->map && g->map != MAP_FAILED)
		munmap(g->map, g->size);
	if (g->fd >= 0)
		close(g->fd);
	/* A file per region: the one-file fd is -1 (never 0, as in a
	 * zeroed struct, whose rfd[] are not fds). */
	for (i = 0; g->fd < 0 && i < g->nregions && i < MEM_MAX_REGIONS;
	     i++) {
		if (g->rmap[i])
			munmap(g->rmap[i], g->region[i].size);
		if (g->rfd[i] >= 0)
			close(g->rfd[i]);
	}
	clear(g);
}

int guestmem_truncate(struct guestmem *g, unsigned int r, uint64_t off)
{
	long pg = sysconf(_SC_PAGESIZE);

	if (r >= g->nregions || !g->rmap[r] || off > g->region[r].size ||
	    pg <= 0 || off % (uint64_t)pg)
		return -EINVAL;
	return ftruncate(g->rfd[r], (off_t)off) < 0 ? -errno : 0;
}

void guestmem_descs(const struct guestmem *g, struct mem_region_desc *d,
		    int *fds)
{
	unsigned int i;

	for (i = 0; i < g->nregions; i++) {
		d[i].gpa = g->region[i].gpa;
		d[i].size = g->region[i].size;
		d[i].uva = g->region[i].uva;
		d[i].mmap_offset = g->region[i].mmap_offset;
		fds[i] = g->rmap[i] ? g->rfd[i] : g->fd;
	}
}

static const struct vu_mem_region *region_of(const struct guestmem *g,
					     uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < g->nregions; i++)
		if (gpa >= g->region[i].gpa &&
		    gpa - g->region[i].gpa < g->region[i].size)
			return &g->region[i];
	return NULL;
}

/* The test's pointer to the first byte of region @r. */
static uint8_t *region_map(const struct guestmem *g,
			  const struct vu_mem_region *r)
{
	unsigned int i = (unsigned int)(r - g->region);

	return g->rmap[i] ? g->rmap[i] : g->map + r->mmap_offset;
}

void *guestmem_ptr(const struct guestmem *g, uint64_t gpa, size_t len)
{
	const struct vu_mem_region *r = region_of(g, gpa);

	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return region_map(g, r) + (gpa - r->gpa);
}

uint64_t guestmem_uva(const struct guestmem *g, uint64_t gpa)
{
	const struct vu_mem_region *r = region_of(g, gpa);

	return r ? r->uva + (gpa - r->gpa) : 0;
}

static void copy(const struct guestmem *g, uint64_t gpa, uint8_t *buf,
		 size_t len, int to_guest)
{
	while (len) {
		const struct vu_mem_region *r = region_of(g, gpa);
		size_t room, n;
		uint8_t *p;

		if (!r)
			return;
		room = r->size - (gpa - r->gpa);
		n = len < room ? len : room;
		p = region_map(g, r) + (gpa - r->gpa);
		if (to_guest)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		gpa += n;
		buf += n;
		len -= n;
	}
}

void guestmem_write(const struct guestmem *g, uint64_t gpa, const void *buf,
		    size_t len)
{
	copy(g, gpa, (uint8_t *)buf, len, 1);
}

void guestmem_read(const struct guestmem *g, uint64_t gpa, void *buf,
		   size_t len)
{
	copy(g, gpa, buf, len, 0);
}
