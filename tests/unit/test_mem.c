/*
 * Unit tests for mem/: mapping front-end regions and translating guest and
 * front-end addresses, with guest memory mapped twice (the test's view and
 * mem/'s) at different addresses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../mem/mem.h"
#include "../lib/guestmem.h"
#include "test.h"

#define MB (1024 * 1024)

static int map_guest(struct guestmem *g, struct mem_table *t, size_t size,
		     unsigned int nregions)
{
	struct mem_region_desc d[MEM_MAX_REGIONS];
	int fds[MEM_MAX_REGIONS];
	const char *why;

	memset(t, 0, sizeof(*t));
	if (guestmem_init(g, size, nregions) < 0)
		return -1;
	guestmem_descs(g, d, fds);
	return mem_table_map(t, d, fds, nregions, &why);
}

TEST(test_mem_translates_through_second_mapping)
{
	struct guestmem g;
	struct mem_table t;
	uint64_t plen;
	uint8_t *p;

	REQUIRE(map_guest(&g, &t, 2 * MB, 1) == 0);
	p = mem_gpa(&t, GUESTMEM_GPA_BASE + 100, 10, &plen);
	REQUIRE(p != NULL);
	CHECK(plen == 10);
	/* Not the test's mapping, yet the same bytes. */
	CHECK(p != (uint8_t *)guestmem_ptr(&g, GUESTMEM_GPA_BASE + 100, 10));
	memcpy(guestmem_ptr(&g, GUESTMEM_GPA_BASE + 100, 5), "hello", 5);
	CHECK(memcmp(p, "hello", 5) == 0);
	CHECK(mem_uva(&t, GUESTMEM_UVA_BASE + 100, 10) == p);
	mem_table_unmap(&t);
	CHECK(t.nregions == 0);
	guestmem_free(&g);
}

TEST(test_mem_rejects_addresses_outside_regions)
{
	struct guestmem g;
	struct mem_table t;
	uint64_t plen, end = GUESTMEM_GPA_BASE + 2 * MB;

	REQUIRE(map_guest(&g, &t, 2 * MB, 1) == 0);
	CHECK(mem_gpa(&t, GUESTMEM_GPA_BASE - 1, 1, &plen) == NULL);
	CHECK(mem_gpa(&t, end, 1, &plen) == NULL);
	CHECK(mem_gpa(&t, end - 1, 1, &plen) != NULL && plen == 1);
	/* A range running past the end is cut at the end. */
	CHECK(mem_gpa(&t, end - 4, 100, &plen) != NULL && plen == 4);
	CHECK(mem_gpa(&t, UINT64_MAX, 1, &plen) == NULL);
	CHECK(mem_uva(&t, GUESTMEM_UVA_BASE + 2 * MB - 4, 5) == NULL);
	CHECK(mem_uva(&t, GUESTMEM_UVA_BASE + 2 * MB - 4, 4) != NULL);
	CHECK(mem_uva(&t, GUESTMEM_UVA_BASE, UINT64_MAX) == NULL);
	CHECK(mem_uva(&t, GUESTMEM_GPA_BASE, 1) == NULL);
	mem_table_unmap(&t);
	guestmem_free(&g);
}

TEST(test_mem_buffer_spanning_two_regions)
{
	struct guestmem g;
	struct mem_table t;
	uint64_t plen, b = GUESTMEM_GPA_BASE + MB;	/* region boundary */
	uint8_t *p1, *p2;

	REQUIRE(map_guest(&g, &t, 2 * MB, 2) == 0);
	guestmem_write(&g, b - 3, "abcdef", 6);
	p1 = mem_gpa(&t, b - 3, 6, &plen);
	REQUIRE(p1 != NULL);
	CHECK(plen == 3);
	CHECK(memcmp(p1, "abc", 3) == 0);
	p2 = mem_gpa(&t, b, 3, &plen);
	REQUIRE(p2 != NULL);
	CHECK(plen == 3);
	CHECK(memcmp(p2, "def", 3) == 0);
	/* Each region's own mapping, wherever the kernel placed it. */
	CHECK(p2 == mem_uva(&t, guestmem_uva(&g, b), 3));
	/* A ring must lie inside one region. */
	CHECK(mem_uva(&t, guestmem_uva(&g, b - 3), 6) == NULL);
	mem_table_unmap(&t);
	guestmem_free(&g);
}

static int map_one(int fd, uint64_t gpa, uint64_t size, uint64_t uva,
		   uint64_t off, const char **why)
{
	struct mem_region_desc d = { gpa, size, uva, off };
	struct mem_table t = { 0 };
	int r = mem_table_map(&t, &d, &fd, 1, why);

	mem_table_unmap(&t);
	return r;
}

TEST(test_mem_rejects_bad_regions)
{
	int fd = memfd_create("t", MFD_CLOEXEC), pfd[2];
	const char *why;

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, MB) == 0);
	CHECK(map_one(fd, 0, 0, 0, 0, &why) == -EINVAL);
	CHECK(map_one(fd, UINT64_MAX - 10, 4096, 0, 0, &why) == -EINVAL);
	CHECK(map_one(fd, 0, 4096, UINT64_MAX - 10, 0, &why) == -EINVAL);
	CHECK(map_one(fd, 0, 4096, 0, UINT64_MAX - 100, &why) == -EINVAL);
	/* Beyond the end of the file: SIGBUS on access, so refused. */
	CHECK(map_one(fd, 0, 2 * MB, 0, 0, &why) == -ERANGE);
	CHECK(map_one(fd, 0, MB, 0, 4096, &why) == -ERANGE);
	/* Not a file. */
	REQUIRE(pipe(pfd) == 0);
	CHECK(map_one(pfd[0], 0, 4096, 0, 0, &why) == -EBADF);
	close(pfd[0]);
	close(pfd[1]);
	/* An unaligned offset is fine. */
	CHECK(map_one(fd, 0, 4096, 0, 100, &why) == 0);
	close(fd);
}

TEST(test_mem_rejects_read_only_fd)
{
	char path[] = "/tmp/vswitch-test-XXXXXX";
	int fd = mkstemp(path), ro;
	const char *why;

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 65536) == 0);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	REQUIRE(ro >= 0);
	CHECK(map_one(ro, 0, 65536, 0, 0, &why) == -EACCES);
	close(ro);
	close(fd);
}

TEST(test_mem_rejects_overlap)
{
	int fd = memfd_create("t", MFD_CLOEXEC);
	struct mem_region_desc d[2] = {
		{ 0, 8192, 0x10000, 0 },
		{ 4096, 8192, 0x20000, 0 },
	};
	int fds[2] = { fd, fd };
	struct mem_table t = { 0 };
	const char *why;

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, MB) == 0);
	CHECK(mem_table_map(&t, d, fds, 2, &why) == -EINVAL);
	CHECK(t.nregions == 0);
	d[1].gpa = 8192;
	d[1].uva = 0x11000;	/* front-end addresses overlap */
	CHECK(mem_table_map(&t, d, fds, 2, &why) == -EINVAL);
	d[1].uva = 0x12000;
	CHECK(mem_table_map(&t, d, fds, 2, &why) == 0);
	CHECK(t.nregions == 2);
	mem_table_unmap(&t);
	CHECK(mem_table_map(&t, d, fds, 0, &why) == -EINVAL);
	CHECK(mem_table_map(&t, d, fds, MEM_MAX_REGIONS + 1, &why) == -EINVAL);
	close(fd);
}

/*
 * A region whose mmap_offset lies above 4 GiB (a front-end's memory file
 * is as large as the guest): 64-bit offsets on 32-bit hosts too.
 */
TEST(test_mem_region_offset_above_4gib)
{
	const uint64_t off = (4ULL << 30) + 65536;
	int fd = memfd_create("t", MFD_CLOEXEC);
	struct mem_region_desc d = { 0, 65536, 0x10000, off };
	struct mem_table t = { 0 };
	const char *why;
	uint64_t plen;
	uint8_t *p;

	REQUIRE(fd >= 0);
	REQUIRE(sizeof(off_t) == 8);
	REQUIRE(ftruncate(fd, (off_t)(off + 65536)) == 0);
	REQUIRE(pwrite(fd, "far", 3, (off_t)(off + 100)) == 3);
	CHECK(mem_table_map(&t, &d, &fd, 1, &why) == 0);
	p = mem_gpa(&t, 100, 3, &plen);
	CHECK(p != NULL && plen == 3 && memcmp(p, "far", 3) == 0);
	mem_table_unmap(&t);
	close(fd);
}

TEST(test_mem_failure_leaves_table_empty)
{
	int fd = memfd_create("t", MFD_CLOEXEC), pfd[2];
	struct mem_region_desc d[2] = {
		{ 0, 8192, 0x10000, 0 },
		{ 8192, 8192, 0x20000, 0 },
	};
	int fds[2];
	struct mem_table t = { 0 };
	const char *why;

	REQUIRE(fd >= 0 && pipe(pfd) == 0);
	REQUIRE(ftruncate(fd, MB) == 0);
	fds[0] = fd;
	fds[1] = pfd[0];	/* the second region cannot be mapped */
	CHECK(mem_table_map(&t, d, fds, 2, &why) == -EBADF);
	CHECK(t.nregions == 0);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

int main(void)
{
	RUN(test_mem_translates_through_second_mapping);
	RUN(test_mem_rejects_addresses_outside_regions);
	RUN(test_mem_buffer_spanning_two_regions);
	RUN(test_mem_rejects_bad_regions);
	RUN(test_mem_rejects_read_only_fd);
	RUN(test_mem_rejects_overlap);
	RUN(test_mem_region_offset_above_4gib);
	RUN(test_mem_failure_leaves_table_empty);
	return test_summary();
}
