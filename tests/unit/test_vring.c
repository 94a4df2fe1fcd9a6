/*
 * Unit tests for vring/: the device side driven by the driver side over
 * guest memory mapped twice at different addresses, once as one region and
 * once as eight small regions laid out backwards ("tiny regions"), so that
 * buffers crossing a region boundary must be split.
 */
#define _DEFAULT_SOURCE
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "../../vring/vring.h"
#include "../lib/guestmem.h"
#include "test.h"

#define QSZ	256
#define MEMSZ	(1024 * 1024)
#define IND_MAX	8
#define V1 (1ULL << VIRTIO_F_VERSION_1)
#define FEAT_ALL ((1ULL << VIRTIO_RING_F_EVENT_IDX) | \
		  (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | V1)

struct fixture {
	struct guestmem g;
	struct mem_table t;
	struct vring vr;
	struct vring_driver d;
	uint16_t ndesc[QSZ];
	uint64_t desc_gpa, avail_gpa, used_gpa, ind_gpa, buf_gpa;
	struct iovec iov[VRING_MAX_IOV];
	struct vring_chain ch;
};

static unsigned int tiny;	/* number of regions for this run */

static int fx_init(struct fixture *f, uint64_t features)
{
	struct mem_region_desc d[MEM_MAX_REGIONS];
	int fds[MEM_MAX_REGIONS];
	struct vring_addr a;
	const char *why;

	memset(f, 0, sizeof(*f));
	if (guestmem_init(&f->g, MEMSZ, tiny) < 0)
		return -1;
	guestmem_descs(&f->g, d, fds);
	if (mem_table_map(&f->t, d, fds, tiny, &why) < 0)
		return -1;
	f->desc_gpa = GUESTMEM_GPA_BASE;
	f->avail_gpa = f->desc_gpa + vring_desc_size(QSZ);
	f->used_gpa = (f->avail_gpa + vring_avail_size(QSZ) + 3) & ~3ULL;
	f->ind_gpa = GUESTMEM_GPA_BASE + 8192;
	/* Buffers start just before the end of the first region, so that
	 * with several regions the first ones straddle a boundary. */
	f->buf_gpa = GUESTMEM_GPA_BASE + (tiny > 1 ? MEMSZ / tiny : MEMSZ / 2) -
		     1000;
	vring_driver_init(&f->d, QSZ,
			  guestmem_ptr(&f->g, f->desc_gpa, vring_desc_size(QSZ)),
			  guestmem_ptr(&f->g, f->avail_gpa,
				       vring_avail_size(QSZ)),
			  guestmem_ptr(&f->g, f->used_gpa, vring_used_size(QSZ)),
			  guestmem_ptr(&f->g, f->ind_gpa,
				       QSZ * IND_MAX * sizeof(struct vring_desc)),
			  f->ind_gpa, IND_MAX, f->ndesc, features);
	a.desc = guestmem_uva(&f->g, f->desc_gpa);
	a.avail = guestmem_uva(&f->g, f->avail_gpa);
	a.used = guestmem_uva(&f->g, f->used_gpa);
	if (vring_setup(&f->vr, &f->t, QSZ, &a, features, &why) < 0)
		return -1;
	f->ch.iov = f->iov;
	f->ch.max_iov = VRING_MAX_IOV;
	return 0;
}

static void fx_free(struct fixture *f)
{
	mem_table_unmap(&f->t);
	guestmem_free(&f->g);
}

/* Gather a popped chain's bytes. */
static size_t chain_read(const struct vring_chain *ch, uint8_t *out,
			 size_t max)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < ch->niov && n < max; i++) {
		size_t k = ch->iov[i].iov_len;

		if (k > max - n)
			k = max - n;
		memcpy(out + n, ch->iov[i].iov_base, k);
		n += k;
	}
	return n;
}

TEST(test_split_transmit_roundtrip)
{
	struct fixture f;
	struct vring_seg s[3];
	uint8_t out[3000], in[3000];
	uint32_t len;
	int head, i;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	for (i = 0; i < 3000; i++)
		in[i] = (uint8_t)(i * 7);
	/* 12-byte header, then the frame in two pieces. */
	s[0] = (struct vring_seg){ f.buf_gpa, 12, false };
	s[1] = (struct vring_seg){ f.buf_gpa + 12, 1500, false };
	s[2] = (struct vring_seg){ f.buf_gpa + 2000, 1488, false };
	guestmem_write(&f.g, f.buf_gpa, in, 1512);
	guestmem_write(&f.g, f.buf_gpa + 2000, in + 1512, 1488);
	head = vring_driver_add(&f.d, s, 3, false);
	REQUIRE(head >= 0);
	vring_driver_kick(&f.d);

	CHECK(vring_avail(&f.vr) == 1);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_READ) == 1);
	CHECK(f.ch.head == head);
	CHECK(f.ch.len == 3000);
	CHECK(f.ch.niov >= 3);
	CHECK(f.ch.niov == (tiny > 1 ? 4u : 3u));	/* one piece split */
	CHECK(chain_read(&f.ch, out, sizeof(out)) == 3000);
	CHECK(memcmp(out, in, 3000) == 0);
	CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == 0);

	vring_push(&f.vr, f.ch.head, 0);
	CHECK(vring_driver_get_used(&f.d, &len) == -EAGAIN);	/* unpublished */
	vring_publish(&f.vr);
	CHECK(vring_driver_get_used(&f.d, &len) == head);
	CHECK(len == 0);
	CHECK(f.d.num_free == QSZ);
	fx_free(&f);
}

TEST(test_split_receive_write)
{
	struct fixture f;
	struct vring_seg s = { 0, 2048, true };
	uint8_t data[2048], back[2048];
	uint32_t len;
	size_t off = 0;
	unsigned int i;
	int head;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	s.gpa = f.buf_gpa;
	head = vring_driver_add(&f.d, &s, 1, false);
	REQUIRE(head >= 0);
	vring_driver_kick(&f.d);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_WRITE) == 1);
	CHECK(f.ch.len == 2048);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	for (i = 0; i < f.ch.niov; i++) {
		memcpy(f.ch.iov[i].iov_base, data + off, f.ch.iov[i].iov_len);
		off += f.ch.iov[i].iov_len;
	}
	vring_push(&f.vr, f.ch.head, 2048);
	CHECK(vring_publish(&f.vr));	/* first interrupt always goes */
	CHECK(vring_driver_get_used(&f.d, &len) == head);
	CHECK(len == 2048);
	guestmem_read(&f.g, f.buf_gpa, back, sizeof(back));
	CHECK(memcmp(back, data, sizeof(data)) == 0);
	fx_free(&f);
}

TEST(test_split_indirect_chain)
{
	struct fixture f;
	struct vring_seg s[4];
	uint8_t out[400];
	int i;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	for (i = 0; i < 4; i++) {
		s[i] = (struct vring_seg){ f.buf_gpa + 4096 + 100 * i, 100,
					   false };
		memset(guestmem_ptr(&f.g, s[i].gpa, 100), 'a' + i, 100);
	}
	REQUIRE(vring_driver_add(&f.d, s, 4, true) >= 0);
	CHECK(f.d.num_free == QSZ - 1);	/* one slot for four buffers */
	vring_driver_kick(&f.d);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_READ) == 1);
	CHECK(f.ch.len == 400);
	CHECK(chain_read(&f.ch, out, sizeof(out)) == 400);
	CHECK(out[0] == 'a' && out[150] == 'b' && out[399] == 'd');
	fx_free(&f);
}

/* Post a one-buffer chain, then let @mangle break it before the device
 * looks; the walk must fail with @err. */
static void expect_broken(void (*mangle)(struct fixture *, int head),
			  uint64_t features, enum vring_dir dir, int err)
{
	struct fixture f;
	struct vring_seg s = { 0, 64, dir == VRING_WRITE };
	int head;

	REQUIRE(fx_init(&f, features) == 0);
	s.gpa = f.buf_gpa + 8192;
	head = vring_driver_add(&f.d, &s, 1, false);
	REQUIRE(head >= 0);
	mangle(&f, head);
	vring_driver_kick(&f.d);
	CHECK(vring_pop(&f.vr, &f.ch, dir) == err);
	CHECK(strcmp(vring_error(&f.vr), "no error") != 0);
	fx_free(&f);
}

static void set_desc(struct fixture *f, int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	f->d.desc[i].addr = htole64(addr);
	f->d.desc[i].len = htole32(len);
	f->d.desc[i].flags = htole16(flags);
	f->d.desc[i].next = htole16(next);
}

static void mangle_head(struct fixture *f, int head)
{
	(void)head;
	f->d.avail->ring[(f->d.avail_idx - 1) & (QSZ - 1)] = htole16(QSZ);
}

static void mangle_next(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 64, VRING_DESC_F_NEXT, QSZ + 5);
}

static void mangle_loop(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 64, VRING_DESC_F_NEXT, 7);
	set_desc(f, 7, f->buf_gpa, 64, VRING_DESC_F_NEXT, (uint16_t)head);
}

static void mangle_self_loop(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 64, VRING_DESC_F_NEXT, (uint16_t)head);
}

static struct vring_desc *ind_table(struct fixture *f, int n)
{
	return guestmem_ptr(&f->g, f->ind_gpa, n * sizeof(struct vring_desc));
}

static void mangle_indirect_loop(struct fixture *f, int head)
{
	struct vring_desc *t = ind_table(f, 4);

	t[0] = (struct vring_desc){ htole64(f->buf_gpa), htole32(8),
				    htole16(VRING_DESC_F_NEXT), htole16(1) };
	t[1] = (struct vring_desc){ htole64(f->buf_gpa), htole32(8),
				    htole16(VRING_DESC_F_NEXT), htole16(0) };
	set_desc(f, head, f->ind_gpa, 4 * 16, VRING_DESC_F_INDIRECT, 0);
}

static void mangle_nested_indirect(struct fixture *f, int head)
{
	struct vring_desc *t = ind_table(f, 2);

	t[0] = (struct vring_desc){ htole64(f->ind_gpa), htole32(32),
				    htole16(VRING_DESC_F_INDIRECT), 0 };
	set_desc(f, head, f->ind_gpa, 2 * 16, VRING_DESC_F_INDIRECT, 0);
}

static void mangle_indirect_next(struct fixture *f, int head)
{
	set_desc(f, head, f->ind_gpa, 32,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 3);
}

static void mangle_indirect_len(struct fixture *f, int head)
{
	set_desc(f, head, f->ind_gpa, 33, VRING_DESC_F_INDIRECT, 0);
}

static void mangle_indirect_zero(struct fixture *f, int head)
{
	set_desc(f, head, f->ind_gpa, 0, VRING_DESC_F_INDIRECT, 0);
}

static void mangle_indirect_huge(struct fixture *f, int head)
{
	set_desc(f, head, f->ind_gpa, (QSZ + 1) * 16, VRING_DESC_F_INDIRECT,
		 0);
}

static void mangle_indirect_outside(struct fixture *f, int head)
{
	set_desc(f, head, 0x10, 32, VRING_DESC_F_INDIRECT, 0);
}

static void mangle_zero_len(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 0, 0, 0);
}

static void mangle_huge_len(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, UINT32_MAX, 0, 0);
}

static void mangle_outside(struct fixture *f, int head)
{
	set_desc(f, head, GUESTMEM_GPA_BASE + MEMSZ + 4096, 64, 0, 0);
}

static void mangle_wrap(struct fixture *f, int head)
{
	set_desc(f, head, UINT64_MAX - 10, 64, 0, 0);
}

static void mangle_writable(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 64, VRING_DESC_F_WRITE, 0);
}

static void mangle_readable(struct fixture *f, int head)
{
	set_desc(f, head, f->buf_gpa, 64, 0, 0);
}

static void mangle_avail_jump(struct fixture *f, int head)
{
	(void)head;
	f->d.avail_idx = (uint16_t)(f->d.avail_idx + QSZ);
}

TEST(test_split_rejects_head_out_of_range)
{
	expect_broken(mangle_head, FEAT_ALL, VRING_READ, -EINVAL);
}

TEST(test_split_rejects_next_out_of_range)
{
	expect_broken(mangle_next, FEAT_ALL, VRING_READ, -EINVAL);
}

TEST(test_split_rejects_descriptor_loop)
{
	expect_broken(mangle_loop, FEAT_ALL, VRING_READ, -ELOOP);
	expect_broken(mangle_self_loop, FEAT_ALL, VRING_READ, -ELOOP);
}

TEST(test_split_rejects_loop_in_indirect_table)
{
	expect_broken(mangle_indirect_loop, FEAT_ALL, VRING_READ, -ELOOP);
}

TEST(test_split_rejects_nested_indirect)
{
	expect_broken(mangle_nested_indirect, FEAT_ALL, VRING_READ, -EINVAL);
}

TEST(test_split_rejects_indirect_with_next)
{
	expect_broken(mangle_indirect_next, FEAT_ALL, VRING_READ, -EINVAL);
}

TEST(test_split_rejects_bad_indirect_length)
{
	expect_broken(mangle_indirect_len, FEAT_ALL, VRING_READ, -EINVAL);
	expect_broken(mangle_indirect_zero, FEAT_ALL, VRING_READ, -EINVAL);
	expect_broken(mangle_indirect_huge, FEAT_ALL, VRING_READ, -EINVAL);
	expect_broken(mangle_indirect_outside, FEAT_ALL, VRING_READ, -EFAULT);
}

TEST(test_split_rejects_indirect_not_negotiated)
{
	expect_broken(mangle_indirect_len, 1ULL << VIRTIO_F_VERSION_1,
		      VRING_READ, -EINVAL);
}

TEST(test_split_rejects_bad_lengths_and_addresses)
{
	expect_broken(mangle_zero_len, FEAT_ALL, VRING_READ, -EINVAL);
	expect_broken(mangle_huge_len, FEAT_ALL, VRING_READ, -EFAULT);
	expect_broken(mangle_outside, FEAT_ALL, VRING_READ, -EFAULT);
	expect_broken(mangle_wrap, FEAT_ALL, VRING_READ, -EFAULT);
}

TEST(test_split_rejects_wrong_direction)
{
	expect_broken(mangle_writable, FEAT_ALL, VRING_READ, -EINVAL);
	expect_broken(mangle_readable, FEAT_ALL, VRING_WRITE, -EINVAL);
}

TEST(test_split_rejects_avail_index_jump)
{
	expect_broken(mangle_avail_jump, FEAT_ALL, VRING_READ, -EINVAL);
}

/* More pieces than the caller holds is the caller's limit, not a
 * fault: the chain is taken (to be given back or returned unused) and
 * the ring stays usable. */
TEST(test_split_too_many_pieces_is_taken_ring_usable)
{
	struct fixture f;
	struct vring_seg s[8];
	int i, h1, h2;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	for (i = 0; i < 8; i++)
		s[i] = (struct vring_seg){ f.buf_gpa + 4096 + 64 * i, 16,
					   false };
	h1 = vring_driver_add(&f.d, s, 8, false);
	h2 = vring_driver_add(&f.d, s, 2, false);
	REQUIRE(h1 >= 0 && h2 >= 0);
	vring_driver_kick(&f.d);
	f.ch.max_iov = 4;
	CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == -E2BIG);
	CHECK(f.ch.head == h1 && f.ch.len == 8 * 16 && f.ch.niov == 0);
	vring_unpop(&f.vr, 1);
	CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == -E2BIG);
	vring_push(&f.vr, f.ch.head, 0);
	CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == 1);
	CHECK(f.ch.head == h2 && f.ch.niov == 2);
	fx_free(&f);
}

/*
 * A broken ring is never touched again: with every byte of the device's
 * view of guest memory made inaccessible, no call faults. (A switch whose
 * guest memory vanished would otherwise fault on the same ring for ever.)
 */
static void broken_ring_case(uint64_t features)
{
	struct fixture f;
	struct vring_seg s;
	unsigned int i;

	REQUIRE(fx_init(&f, features) == 0);
	s = (struct vring_seg){ f.buf_gpa, 64, false };
	REQUIRE(vring_driver_add(&f.d, &s, 1, false) >= 0);
	vring_driver_kick(&f.d);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_READ) == 1);
	vring_break(&f.vr, "memory gone");
	for (i = 0; i < f.t.nregions; i++)
		REQUIRE(mprotect(f.t.region[i].map, f.t.region[i].map_len,
				 PROT_NONE) == 0);
	vring_push(&f.vr, f.ch.head, 0);
	CHECK(!vring_publish(&f.vr));
	vring_kick_disable(&f.vr);
	CHECK(!vring_kick_enable(&f.vr));
	CHECK(vring_avail(&f.vr) == -EIO);
	CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == -EIO);
	CHECK(strcmp(vring_error(&f.vr), "memory gone") == 0);
	fx_free(&f);
}

TEST(test_split_broken_ring_is_never_touched)
{
	broken_ring_case(FEAT_ALL);
	broken_ring_case(FEAT_ALL & ~(1ULL << VIRTIO_RING_F_EVENT_IDX));
}

TEST(test_split_unpop_gives_chains_back)
{
	struct fixture f;
	struct vring_seg s = { 0, 64, true };
	int h1, h2;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	s.gpa = f.buf_gpa;
	h1 = vring_driver_add(&f.d, &s, 1, false);
	h2 = vring_driver_add(&f.d, &s, 1, false);
	vring_driver_kick(&f.d);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_WRITE) == 1);
	CHECK(f.ch.head == h1);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_WRITE) == 1);
	CHECK(f.ch.head == h2);
	vring_unpop(&f.vr, 2);
	REQUIRE(vring_pop(&f.vr, &f.ch, VRING_WRITE) == 1);
	CHECK(f.ch.head == h1);
	fx_free(&f);
}

/* Publish @n used entries and report whether an interrupt is due. */
static bool use_n(struct fixture *f, int n)
{
	struct vring_seg s = { f->buf_gpa, 64, false };
	uint32_t len;
	int i;

	for (i = 0; i < n; i++)
		vring_driver_add(&f->d, &s, 1, false);
	vring_driver_kick(&f->d);
	for (i = 0; i < n; i++) {
		if (vring_pop(&f->vr, &f->ch, VRING_READ) != 1)
			return false;
		vring_push(&f->vr, f->ch.head, 0);
	}
	i = vring_publish(&f->vr);
	while (vring_driver_get_used(&f->d, &len) >= 0)
		;
	return i;
}

TEST(test_split_event_idx_interrupts)
{
	struct fixture f;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	CHECK(use_n(&f, 1));		/* the first one always */
	/* The driver asks to hear when its next entry is used. */
	vring_driver_want_interrupts(&f.d, true);
	CHECK(use_n(&f, 3));
	/* ... and then not at all. */
	vring_driver_want_interrupts(&f.d, false);
	CHECK(!use_n(&f, 3));
	CHECK(!use_n(&f, 5));
	vring_driver_want_interrupts(&f.d, true);
	CHECK(use_n(&f, 2));
	CHECK(!vring_publish(&f.vr));	/* nothing new: no interrupt */
	fx_free(&f);
}

TEST(test_split_flags_interrupts)
{
	struct fixture f;

	REQUIRE(fx_init(&f, 1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(use_n(&f, 1));
	vring_driver_want_interrupts(&f.d, false);
	CHECK(!use_n(&f, 2));
	vring_driver_want_interrupts(&f.d, true);
	CHECK(use_n(&f, 2));
	fx_free(&f);
}

TEST(test_split_kick_suppression)
{
	struct fixture f;
	struct vring_seg s = { 0, 64, false };
	uint64_t feats[2] = { FEAT_ALL, 1ULL << VIRTIO_F_VERSION_1 };
	int i;

	for (i = 0; i < 2; i++) {
		REQUIRE(fx_init(&f, feats[i]) == 0);
		s.gpa = f.buf_gpa;
		vring_kick_disable(&f.vr);
		CHECK(!vring_kick_enable(&f.vr));	/* empty */
		vring_driver_add(&f.d, &s, 1, false);
		CHECK(vring_driver_kick(&f.d));		/* kicks on */
		CHECK(vring_pop(&f.vr, &f.ch, VRING_READ) == 1);
		vring_kick_disable(&f.vr);
		vring_driver_add(&f.d, &s, 1, false);
		CHECK(!vring_driver_kick(&f.d));	/* kicks off */
		/* Re-enabling sees the chain that came meanwhile. */
		CHECK(vring_kick_enable(&f.vr));
		fx_free(&f);
	}
}

TEST(test_split_setup_rejects_bad_rings)
{
	struct fixture f;
	struct vring vr;
	struct vring_addr a;
	const char *why;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	a.desc = guestmem_uva(&f.g, f.desc_gpa);
	a.avail = guestmem_uva(&f.g, f.avail_gpa);
	a.used = guestmem_uva(&f.g, f.used_gpa);
	CHECK(vring_setup(&vr, &f.t, 0, &a, V1, &why) == -EINVAL);
	CHECK(vring_setup(&vr, &f.t, 3, &a, V1, &why) == -EINVAL);
	CHECK(vring_setup(&vr, &f.t, 65536, &a, V1, &why) == -EINVAL);
	CHECK(vring_setup(&vr, &f.t, QSZ, &a, V1, &why) == 0);
	a.used += 2;
	CHECK(vring_setup(&vr, &f.t, QSZ, &a, V1, &why) == -EINVAL);
	a.used -= 2;
	a.desc = GUESTMEM_UVA_BASE - 4096;
	CHECK(vring_setup(&vr, &f.t, QSZ, &a, V1, &why) == -EFAULT);
	/* A used ring running past the end of its region. */
	a.desc = guestmem_uva(&f.g, f.desc_gpa);
	a.used = guestmem_uva(&f.g, GUESTMEM_GPA_BASE + MEMSZ / tiny - 64);
	CHECK(vring_setup(&vr, &f.t, QSZ, &a, V1, &why) == -EFAULT);
	fx_free(&f);
}

/*
 * A legacy guest (no VERSION_1) keeps its rings in its own byte order:
 * taken on a little-endian host, refused, with the reason, on a
 * big-endian one (this case runs on both in CI).
 */
TEST(test_split_legacy_rings_on_this_host)
{
	struct fixture f;
	struct vring vr;
	struct vring_addr a;
	const char *why = NULL;
	int r;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	a.desc = guestmem_uva(&f.g, f.desc_gpa);
	a.avail = guestmem_uva(&f.g, f.avail_gpa);
	a.used = guestmem_uva(&f.g, f.used_gpa);
	r = vring_setup(&vr, &f.t, QSZ, &a, FEAT_ALL & ~V1, &why);
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
		CHECK(r == -EPROTONOSUPPORT && why &&
		      strstr(why, "legacy virtio") != NULL);
	else
		CHECK(r == 0);
	fx_free(&f);
}

TEST(test_split_resumes_from_used_index)
{
	struct fixture f;
	struct vring vr;
	struct vring_addr a;
	const char *why;

	REQUIRE(fx_init(&f, FEAT_ALL) == 0);
	f.d.used->idx = htole16(1234);
	a.desc = guestmem_uva(&f.g, f.desc_gpa);
	a.avail = guestmem_uva(&f.g, f.avail_gpa);
	a.used = guestmem_uva(&f.g, f.used_gpa);
	REQUIRE(vring_setup(&vr, &f.t, QSZ, &a, FEAT_ALL, &why) == 0);
	CHECK(vr.last_avail == 1234);
	CHECK(vr.used_idx == 1234);
	fx_free(&f);
}

static void run_all(void)
{
	RUN(test_split_transmit_roundtrip);
	RUN(test_split_receive_write);
	RUN(test_split_indirect_chain);
	RUN(test_split_rejects_head_out_of_range);
	RUN(test_split_rejects_next_out_of_range);
	RUN(test_split_rejects_descriptor_loop);
	RUN(test_split_rejects_loop_in_indirect_table);
	RUN(test_split_rejects_nested_indirect);
	RUN(test_split_rejects_indirect_with_next);
	RUN(test_split_rejects_bad_indirect_length);
	RUN(test_split_rejects_indirect_not_negotiated);
	RUN(test_split_rejects_bad_lengths_and_addresses);
	RUN(test_split_rejects_wrong_direction);
	RUN(test_split_rejects_avail_index_jump);
	RUN(test_split_too_many_pieces_is_taken_ring_usable);
	RUN(test_split_broken_ring_is_never_touched);
	RUN(test_split_unpop_gives_chains_back);
	RUN(test_split_event_idx_interrupts);
	RUN(test_split_flags_interrupts);
	RUN(test_split_kick_suppression);
	RUN(test_split_setup_rejects_bad_rings);
	RUN(test_split_legacy_rings_on_this_host);
	RUN(test_split_resumes_from_used_index);
}

int main(void)
{
	printf("-- one region\n");
	tiny = 1;
	run_all();
	printf("-- tiny regions (8, laid out backwards)\n");
	tiny = 8;
	run_all();
	return test_summary();
}
