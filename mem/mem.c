/*
 * mem: map a vhost-user front-end's memory regions and translate addresses.
 * See mem.h.
 */
#define _GNU_SOURCE
#include "mem.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/* Does [a, a + alen) intersect [b, b + blen)? Lengths are > 0 and neither
 * range wraps (checked before). */
static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			  uint64_t blen)
{
	return a < b ? b - a < alen : a - b < blen;
}

static int region_check(const struct mem_region_desc *d, const char **why)
{
	if (d->size == 0) {
		*why = "region of size 0";
		return -EINVAL;
	}
	if (d->gpa > UINT64_MAX - d->size + 1 ||
	    d->uva > UINT64_MAX - d->size + 1) {
		*why = "region wraps around the address space";
		return -EINVAL;
	}
	if (d->mmap_offset > UINT64_MAX - d->size) {
		*why = "region mmap_offset + size overflows";
		return -EINVAL;
	}
	return 0;
}

/*
 * The mapping granule of @fd: the huge page size on hugetlbfs (mappings and
 * their offsets must be multiples of it there), else the base page size.
 */
static uint64_t map_granule(int fd, const struct stat *st)
{
	struct statfs sfs;
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t g = pg > 0 ? (uint64_t)pg : 4096;

	/* f_type is signed on some targets: its 32 bits compared. */
	if (fstatfs(fd, &sfs) == 0 &&
	    (uint32_t)sfs.f_type == (uint32_t)HUGETLBFS_MAGIC &&
	    st->st_blksize > 0 &&
	    ((uint64_t)st->st_blksize & ((uint64_t)st->st_blksize - 1)) == 0)
		g = (uint64_t)st->st_blksize;
	return g;
}

static int region_map(struct mem_region *r, const struct mem_region_desc *d,
		      int fd, const char **why)
{
	struct stat st;
	uint64_t g, off, delta, len;
	void *p;

	if (fstat(fd, &st) < 0) {
		*why = "cannot stat region fd";
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "region fd is not a mappable file";
		return -EBADF;
	}
	if (st.st_size < 0 || d->mmap_offset + d->size > (uint64_t)st.st_size) {
		*why = "region extends beyond the end of its file";
		return -ERANGE;
	}
	g = map_granule(fd, &st);
	off = d->mmap_offset & ~(g - 1);
	delta = d->mmap_offset - off;
	/* delta + size <= mmap_offset + size, which does not overflow. */
	len = delta + d->size;
	if (len > SIZE_MAX - (g - 1)) {
		*why = "region too large to map";
		return -EINVAL;
	}
	len = (len + g - 1) & ~(g - 1);
	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)off);
	if (p == MAP_FAILED) {
		*why = "cannot map region";
		return -errno;
	}
	/* Guest RAM has no place in a core dump of the switch. */
	(void)madvise(p, (size_t)len, MADV_DONTDUMP);
	r->gpa = d->gpa;
	r->size = d->size;
	r->uva = d->uva;
	r->map = p;
	r->map_len = (size_t)len;
	r->host = (uint8_t *)p + delta;
	return 0;
}

int mem_table_map(struct mem_table *t, const struct mem_region_desc *d,
		  const int *fds, unsigned int n, const char **why)
{
	unsigned int i, j;
	int err;

	*why = NULL;
	if (n == 0 || n > MEM_MAX_REGIONS) {
		*why = "bad number of memory regions";
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		err = region_check(&d[i], why);
		if (err)
			return err;
		for (j = 0; j < i; j++) {
			if (ranges_overlap(d[i].gpa, d[i].size, d[j].gpa,
					   d[j].size) ||
			    ranges_overlap(d[i].uva, d[i].size, d[j].uva,
					   d[j].size)) {
				*why = "memory regions overlap";
				return -EINVAL;
			}
		}
	}
	for (i = 0; i < n; i++) {
		err = region_map(&t->region[i], &d[i], fds[i], why);
		if (err) {
			t->nregions = i;
			mem_table_unmap(t);
			return err;
		}
	}
	t->nregions = n;
	return 0;
}

void mem_table_unmap(struct mem_table *t)
{
	unsigned int i;

	for (i = 0; i < t->nregions; i++)
		munmap(t->region[i].map, t->region[i].map_len);
	memset(t, 0, sizeof(*t));
}

void *mem_uva(const struct mem_table *t, uint64_t uva, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < t->nregions; i++) {
		const struct mem_region *r = &t->region[i];
		uint64_t off;

		if (uva < r->uva)
			continue;
		off = uva - r->uva;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}
