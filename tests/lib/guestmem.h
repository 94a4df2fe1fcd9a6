/*
 * guestmem: guest memory for tests, as a front-end would share it.
 *
 * One memfd holds the guest's RAM. The test maps it once (the "driver"
 * view, as the guest and the front-end see it); the code under test maps it
 * again through mem/, at another address. Guest-physical and front-end
 * virtual addresses start at made-up bases unrelated to either mapping, so
 * a translation that confuses them fails.
 *
 * With several regions, the regions lie in the file in reverse order, and
 * their front-end addresses have gaps between them: guest-physically
 * consecutive bytes on either side of a region boundary are then far apart
 * in both mappings, so a buffer that crosses a boundary must be split.
 *
 * guestmem_init_files() gives each region a memfd of its own instead (as
 * QEMU does for separate memory backends): one region's file can then be
 * shrunk with guestmem_truncate() while the others keep their pages, so a
 * test can take away exactly the guest memory behind one structure.
 */
#ifndef GUESTMEM_H
#define GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "../../mem/mem.h"
#include "../../proto/vhost_user.h"

#define GUESTMEM_GPA_BASE 0x100000ULL
#define GUESTMEM_UVA_BASE 0x7f1200000000ULL

struct guestmem {
	int fd;				/* the one file; -1 with a file per region */
	size_t size;
	uint8_t *map;			/* the test's own mapping of fd */
	unsigned int nregions;
	struct vu_mem_region region[MEM_MAX_REGIONS];
	/* With a file per region: each region's fd and the test's mapping
	 * of it (mmap_offset 0); -1 and NULL in the one-file mode. */
	int rfd[MEM_MAX_REGIONS];
	uint8_t *rmap[MEM_MAX_REGIONS];
};

/* @size bytes split into @nregions equal regions (size a multiple of
 * nregions * page size), in one file. Return: 0 or -errno. */
int guestmem_init(struct guestmem *g, size_t size, unsigned int nregions);

/* The same with each region in a file of its own, mapped on its own by
 * the test; guestmem_descs() hands out one fd per region. Addresses are
 * laid out as guestmem_init() lays them out. Return: 0 or -errno. */
int guestmem_init_files(struct guestmem *g, size_t size,
			unsigned int nregions);

void guestmem_free(struct guestmem *g);

/*
 * guestmem_truncate - shrink the file behind region @r (a file per
 * region only) to @off bytes, a multiple of the page size: the region's
 * pages from @off on lose their backing, and any later access to them,
 * through the test's mapping or the switch's, faults with SIGBUS. The
 * test must not touch them again.
 * Return: 0, -EINVAL (one-file mode, bad region or offset) or -errno.
 */
int guestmem_truncate(struct guestmem *g, unsigned int r, uint64_t off);

/* Region descriptions as mem_table_map() takes them, and the fds. */
void guestmem_descs(const struct guestmem *g, struct mem_region_desc *d,
		    int *fds);

/* The test's pointer to [gpa, gpa + len), or NULL if that range is not
 * inside one region. */
void *guestmem_ptr(const struct guestmem *g, uint64_t gpa, size_t len);

/* The front-end virtual address of @gpa (0 if none). */
uint64_t guestmem_uva(const struct guestmem *g, uint64_t gpa);

/* Copy into or out of guest memory, across region boundaries. */
void guestmem_write(const struct guestmem *g, uint64_t gpa, const void *buf,
		    size_t len);
void guestmem_read(const struct guestmem *g, uint64_t gpa, void *buf,
		   size_t len);

#endif
