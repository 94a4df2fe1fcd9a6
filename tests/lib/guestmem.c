/* guestmem: see guestmem.h. */
#define _GNU_SOURCE
#include "guestmem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int guestmem_init(struct guestmem *g, size_t size, unsigned int nregions)
{
	size_t rs;
	unsigned int i;

	memset(g, 0, sizeof(*g));
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
	g->size = size;
	g->nregions = nregions;
	for (i = 0; i < nregions; i++) {
		g->region[i].gpa = GUESTMEM_GPA_BASE + i * rs;
		g->region[i].size = rs;
		g->region[i].uva = GUESTMEM_UVA_BASE + 2 * i * rs;
		g->region[i].mmap_offset = (nregions - 1 - i) * rs;
	}
	return 0;
fail:
	close(g->fd);
	g->fd = -1;
	return -errno;
}

void guestmem_free(struct guestmem *g)
{
	if (g->map && g->map != MAP_FAILED)
		munmap(g->map, g->size);
	if (g->fd >= 0)
		close(g->fd);
	memset(g, 0, sizeof(*g));
	g->fd = -1;
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
		fds[i] = g->fd;
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

void *guestmem_ptr(const struct guestmem *g, uint64_t gpa, size_t len)
{
	const struct vu_mem_region *r = region_of(g, gpa);

	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return g->map + r->mmap_offset + (gpa - r->gpa);
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
		p = g->map + r->mmap_offset + (gpa - r->gpa);
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
