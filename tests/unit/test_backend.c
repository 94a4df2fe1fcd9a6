/*
 * Unit tests for the vhost-user back-end dispatcher (proto/backend.c):
 * header and payload rules, file descriptor ownership on every path, ring
 * state (started, enabled, up/down), replies and REPLY_ACK.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "../../proto/vhost_user.h"
#include "../lib/guestmem.h"
#include "test.h"

#define QSZ 256
/* Rings in little-endian order on every host (legacy ones are refused
 * on big-endian hosts). */
#define V1 (1ULL << VIRTIO_F_VERSION_1)

/* What the device asked of its owner. */
static struct {
	int ups, downs, rarps, notices;
	int watched[VU_NUM_VQ];
	int call[VU_NUM_VQ];
	uint8_t mac[6];
} ev;

static void op_watch(void *o, unsigned int q, int fd)
{
	(void)o;
	ev.watched[q] = fd;
}

static void op_set_call(void *o, unsigned int q, int fd)
{
	(void)o;
	ev.call[q] = fd;
}

static void op_up(void *o)
{
	(void)o;
	ev.ups++;
}

static void op_down(void *o)
{
	(void)o;
	ev.downs++;
}

static void op_rarp(void *o, const uint8_t mac[6])
{
	(void)o;
	ev.rarps++;
	memcpy(ev.mac, mac, 6);
}

static void op_notice(void *o, const char *m)
{
	(void)o;
	(void)m;
	ev.notices++;
}

static const struct vu_ops ops = {
	op_watch, op_set_call, op_up, op_down, op_rarp, op_notice,
};

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

struct bed {
	struct vu_dev dev;
	struct guestmem g;
	struct vu_msg reply;
};

static void bed_init(struct bed *b)
{
	memset(&ev, 0, sizeof(ev));
	ev.watched[0] = ev.watched[1] = -2;
	ev.call[0] = ev.call[1] = -2;
	vu_dev_init(&b->dev, &ops, b, 0);
	guestmem_init(&b->g, 1 << 20, 1);
}

static void bed_free(struct bed *b)
{
	vu_dev_reset(&b->dev);
	guestmem_free(&b->g);
}

/* Send a request as the front-end would; fds are dup'ed for the device. */
static int req(struct bed *b, uint32_t request, uint32_t flags,
	       const void *payload, uint32_t size, const int *fds,
	       unsigned int nfds)
{
	struct vu_msg m;
	int dup_fds[VU_MAX_FDS];
	const char *why;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	m.hdr.request = request;
	m.hdr.flags = VU_VERSION | flags;
	m.hdr.size = size;
	if (size)
		memcpy(m.payload.raw, payload, size);
	for (i = 0; i < nfds; i++)
		dup_fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
	if (vu_check_header(&m.hdr, &why) < 0) {
		for (i = 0; i < nfds; i++)
			close(dup_fds[i]);
		return -EPROTO;
	}
	return vu_dev_handle(&b->dev, &m, dup_fds, nfds, &b->reply);
}

static int req_u64(struct bed *b, uint32_t request, uint64_t v)
{
	return req(b, request, 0, &v, sizeof(v), NULL, 0);
}

static int req_state(struct bed *b, uint32_t request, uint32_t q,
		     uint32_t num)
{
	struct vu_vring_state s = { q, num };

	return req(b, request, 0, &s, sizeof(s), NULL, 0);
}

static int req_ring_fd(struct bed *b, uint32_t request, uint32_t q, int fd)
{
	uint64_t v = q | (fd < 0 ? VU_VRING_NOFD : 0);

	return req(b, request, 0, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
}

static int set_mem(struct bed *b)
{
	struct vu_memory m = { .nregions = 1 };
	int fd = b->g.fd;

	m.region[0] = b->g.region[0];
	return req(b, VHOST_USER_SET_MEM_TABLE, 0, &m, 8 + 32, &fd, 1);
}

/* Ring @q laid out at @off bytes into guest memory. */
static int set_ring(struct bed *b, unsigned int q, uint64_t off)
{
	uint64_t base = GUESTMEM_GPA_BASE + off;
	struct vu_vring_addr a = {
		.index = q,
		.desc = guestmem_uva(&b->g, base),
		.avail = guestmem_uva(&b->g, base + 4096),
		.used = guestmem_uva(&b->g, base + 8192),
	};
	int err = req_state(b, VHOST_USER_SET_VRING_NUM, q, QSZ);

	if (!err)
		err = req_state(b, VHOST_USER_SET_VRING_BASE, q, 0);
	if (!err)
		err = req(b, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL,
			  0);
	return err;
}

static int kick(struct bed *b, unsigned int q)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	int err = req_ring_fd(b, VHOST_USER_SET_VRING_KICK, q, fd);

	close(fd);
	return err;
}

/* SET_FEATURES, memory, both rings started. */
static int bring_up(struct bed *b, uint64_t features)
{
	int err = req_u64(b, VHOST_USER_SET_FEATURES, features);

	if (!err)
		err = set_mem(b);
	if (!err)
		err = set_ring(b, 0, 0);
	if (!err)
		err = set_ring(b, 1, 16384);
	if (!err)
		err = kick(b, 0);
	if (!err)
		err = kick(b, 1);
	return err;
}

TEST(test_backend_header_rules)
{
	struct vu_hdr h = { VHOST_USER_GET_FEATURES, VU_VERSION, 0 };
	const char *why;

	CHECK(vu_check_header(&h, &why) == 0);
	h.flags = 2;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	h.flags = VU_VERSION | VU_FLAG_REPLY;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	h.flags = VU_VERSION;
	h.size = 8;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	h.request = 99;
	h.size = 0;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	CHECK(strcmp(vu_request_name(99), "UNKNOWN") == 0);
	h.request = VHOST_USER_SET_MEM_TABLE;
	h.size = 39;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	h.size = 265;
	CHECK(vu_check_header(&h, &why) == -EPROTO);
	h.size = 40;
	CHECK(vu_check_header(&h, &why) == 0);
	CHECK(strcmp(vu_request_name(h.request), "SET_MEM_TABLE") == 0);
}

TEST(test_backend_features_and_replies)
{
	struct bed b;

	bed_init(&b);
	CHECK(req(&b, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0) == 0);
	CHECK(b.reply.hdr.request == VHOST_USER_GET_FEATURES);
	CHECK(b.reply.hdr.flags == (VU_VERSION | VU_FLAG_REPLY));
	CHECK(b.reply.hdr.size == 8 && b.reply.payload.u64 == VU_FEATURES);
	CHECK(req(&b, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL,
		  0) == 0);
	CHECK(b.reply.payload.u64 == VU_PROTOCOL_FEATURES);
	CHECK(req(&b, VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0) == 0);
	CHECK(b.reply.payload.u64 == 1);
	/* Only what was offered may be acked. */
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, 1ULL << 5) == -EINVAL);
	CHECK(req_u64(&b, VHOST_USER_SET_PROTOCOL_FEATURES, 1ULL << 1) ==
	      -EINVAL);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, VU_FEATURES) == 0);
	CHECK(b.reply.hdr.request == 0);	/* no REPLY_ACK yet */
	bed_free(&b);
}

/* A port with offload = off offers none of them, and takes none. */
TEST(test_backend_withheld_offloads)
{
	struct bed b;

	bed_init(&b);
	vu_dev_init(&b.dev, &ops, &b, VU_OFFLOADS);
	CHECK(req(&b, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0) == 0);
	CHECK(b.reply.payload.u64 == (VU_FEATURES & ~VU_OFFLOADS));
	CHECK((b.reply.payload.u64 & (1ULL << VIRTIO_NET_F_CSUM)) == 0);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES,
		      1ULL << VIRTIO_NET_F_GUEST_CSUM) == -EINVAL);
	CHECK(strstr(b.dev.why, "not offered"));
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES,
		      VU_FEATURES & ~VU_OFFLOADS) == 0);
	bed_free(&b);
}

TEST(test_backend_reply_ack)
{
	struct bed b;
	uint64_t mtu = 1500;

	bed_init(&b);
	CHECK(req_u64(&b, VHOST_USER_SET_PROTOCOL_FEATURES,
		      1ULL << VU_PROTOCOL_F_REPLY_ACK) == 0);
	CHECK(req(&b, VHOST_USER_NET_SET_MTU, VU_FLAG_NEED_REPLY, &mtu, 8,
		  NULL, 0) == 0);
	CHECK(b.reply.hdr.request == VHOST_USER_NET_SET_MTU);
	CHECK(b.reply.payload.u64 == 0);
	CHECK(b.dev.mtu == 1500);
	mtu = 20;
	CHECK(req(&b, VHOST_USER_NET_SET_MTU, VU_FLAG_NEED_REPLY, &mtu, 8,
		  NULL, 0) == -EINVAL);
	CHECK(b.reply.payload.u64 != 0);	/* negative acknowledgement */
	/* GET requests answer with their own reply, not an ack. */
	CHECK(req(&b, VHOST_USER_GET_FEATURES, VU_FLAG_NEED_REPLY, NULL, 0,
		  NULL, 0) == 0);
	CHECK(b.reply.payload.u64 == VU_FEATURES);
	bed_free(&b);
}

TEST(test_backend_fd_count_rules)
{
	struct bed b;
	int fd = eventfd(0, EFD_CLOEXEC), two[2] = { fd, fd };
	int before = open_fds();
	uint64_t v = 0;

	bed_init(&b);
	before = open_fds();
	/* A request that takes none, with one. */
	CHECK(req(&b, VHOST_USER_SET_OWNER, 0, NULL, 0, &fd, 1) == -EINVAL);
	/* A ring fd message with two, and with none but no NOFD flag. */
	CHECK(req(&b, VHOST_USER_SET_VRING_CALL, 0, &v, 8, two, 2) == -EINVAL);
	CHECK(req(&b, VHOST_USER_SET_VRING_CALL, 0, &v, 8, NULL, 0) == -EINVAL);
	/* Reserved bits. */
	v = 1ULL << 20;
	CHECK(req(&b, VHOST_USER_SET_VRING_CALL, 0, &v, 8, &fd, 1) == -EINVAL);
	/* A memory table whose fd count does not match. */
	{
		struct vu_memory m = { .nregions = 2 };

		m.region[0] = b.g.region[0];
		m.region[1] = b.g.region[0];
		CHECK(req(&b, VHOST_USER_SET_MEM_TABLE, 0, &m, 8 + 64, &fd,
			  1) == -EINVAL);
		m.nregions = 0;
		CHECK(req(&b, VHOST_USER_SET_MEM_TABLE, 0, &m, 8 + 64, NULL,
			  0) == -EINVAL);
		m.nregions = 3;	/* more regions than the payload holds */
		CHECK(req(&b, VHOST_USER_SET_MEM_TABLE, 0, &m, 8 + 64, two,
			  2) == -EINVAL);
	}
	/* Every fd passed in was closed, on every error path. */
	CHECK(open_fds() == before);
	close(fd);
	bed_free(&b);
}

TEST(test_backend_reports_call_fds)
{
	struct bed b;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int before;

	bed_init(&b);
	before = open_fds();
	/* A rejected message reports nothing. */
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 2, e1) == -EINVAL);
	CHECK(ev.call[0] == -2 && ev.call[1] == -2);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 1, e1) == 0);
	CHECK(ev.call[1] >= 0 && ev.call[1] == b.dev.vq[1].call_fd);
	CHECK(ev.call[0] == -2);
	/* A replacement is reported; the old fd is closed. */
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 1, e2) == 0);
	CHECK(ev.call[1] >= 0 && ev.call[1] == b.dev.vq[1].call_fd);
	CHECK(open_fds() == before + 1);
	/* NOFD: none. */
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 1, -1) == 0);
	CHECK(ev.call[1] == -1 && b.dev.vq[1].call_fd == -1);
	CHECK(open_fds() == before);
	/* A reset drops every call fd the device held. */
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 0, e1) == 0);
	CHECK(ev.call[0] >= 0);
	vu_dev_reset(&b.dev);
	CHECK(ev.call[0] == -1);
	CHECK(open_fds() == before);
	close(e1);
	close(e2);
	bed_free(&b);
}

TEST(test_backend_ring_index_rules)
{
	static const uint32_t per_ring[] = {
		VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE,
		VHOST_USER_GET_VRING_BASE, VHOST_USER_SET_VRING_ENABLE,
	};
	struct vu_vring_addr a = { .index = VU_NUM_VQ };
	struct bed b;
	int fd = eventfd(0, EFD_CLOEXEC);
	size_t i;

	bed_init(&b);
	for (i = 0; i < sizeof(per_ring) / sizeof(per_ring[0]); i++) {
		CHECK(req_state(&b, per_ring[i], VU_NUM_VQ, 1) == -EINVAL);
		CHECK(req_state(&b, per_ring[i], 255, 1) == -EINVAL);
	}
	CHECK(req(&b, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0) ==
	      -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 2, fd) == -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 2, fd) == -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_ERR, 255, fd) == -EINVAL);
	close(fd);
	bed_free(&b);
}

/* What the debug log says of a message: its values, and only what its
 * payload covers. */
TEST(test_backend_describes_messages)
{
	struct vu_msg m;
	char buf[200];

	memset(&m, 0, sizeof(m));
	m.hdr.request = VHOST_USER_SET_VRING_NUM;
	m.hdr.size = 8;
	m.payload.state.index = 1;
	m.payload.state.num = 256;
	CHECK(strcmp(vu_msg_describe(&m, buf, sizeof(buf)),
		     "ring 1 num 256") == 0);
	m.hdr.request = VHOST_USER_SET_VRING_KICK;
	m.payload.u64 = 1 | VU_VRING_NOFD;
	CHECK(strcmp(vu_msg_describe(&m, buf, sizeof(buf)),
		     "ring 1 (no fd)") == 0);
	m.hdr.size = 4;		/* shorter than the request's payload */
	CHECK(strcmp(vu_msg_describe(&m, buf, sizeof(buf)), "") == 0);
	m.hdr.request = VHOST_USER_GET_FEATURES;
	m.hdr.size = 0;
	CHECK(strcmp(vu_msg_describe(&m, buf, sizeof(buf)), "") == 0);
	/* Eight regions claimed, one sent: one described. */
	m.hdr.request = VHOST_USER_SET_MEM_TABLE;
	m.hdr.size = 8 + sizeof(struct vu_mem_region);
	m.payload.memory.nregions = 8;
	m.payload.memory.region[0] = (struct vu_mem_region){ 0x1000, 0x2000,
							     0x3000, 0 };
	m.payload.memory.region[1].gpa = 0xdead;
	CHECK(strcmp(vu_msg_describe(&m, buf, sizeof(buf)),
		     "8 regions; gpa 0x1000 size 0x2000 uva 0x3000 offset "
		     "0x0") == 0);
	/* A buffer too small is filled, terminated, not overrun. */
	CHECK(strlen(vu_msg_describe(&m, buf, 12)) == 11);
}

TEST(test_backend_rejects_bad_ring_values)
{
	struct bed b;
	struct vu_vring_addr a = { .index = 0, .flags = 1 };

	bed_init(&b);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_NUM, 0, 0) == -EINVAL);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_NUM, 0, 100) == -EINVAL);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_NUM, 0, 65536) == -EINVAL);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_BASE, 0, 70000) == -EINVAL);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 0, 2) == -EINVAL);
	CHECK(req(&b, VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0) ==
	      -EOPNOTSUPP);
	bed_free(&b);
}

TEST(test_backend_kick_needs_memory_and_addresses)
{
	struct bed b;
	int fd = eventfd(0, EFD_CLOEXEC);

	bed_init(&b);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, fd) == -EINVAL);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, V1) == 0);
	CHECK(set_mem(&b) == 0);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, fd) == -EINVAL);
	CHECK(set_ring(&b, 0, 0) == 0);
	/* Polling instead of a kick fd is not supported. */
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, -1) ==
	      -EOPNOTSUPP);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, fd) == 0);
	CHECK(b.dev.vq[0].started);
	CHECK(ev.watched[0] >= 0);
	/* A started ring's geometry cannot change under it. */
	CHECK(req_state(&b, VHOST_USER_SET_VRING_NUM, 0, 64) == -EBUSY);
	close(fd);
	bed_free(&b);
}

TEST(test_backend_rejects_rings_outside_memory)
{
	struct bed b;

	bed_init(&b);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, V1) == 0);
	CHECK(set_mem(&b) == 0);
	CHECK(set_ring(&b, 0, (1 << 20) - 4096) == 0);	/* stored only */
	CHECK(kick(&b, 0) == -EFAULT);
	CHECK(!b.dev.vq[0].started);
	bed_free(&b);
}

TEST(test_backend_up_without_protocol_features)
{
	struct bed b;

	bed_init(&b);
	CHECK(bring_up(&b, 1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(ev.ups == 1 && b.dev.up);
	CHECK(vu_vq_enabled(&b.dev, 0) && vu_vq_enabled(&b.dev, 1));
	bed_free(&b);
	CHECK(ev.downs == 1);
}

TEST(test_backend_up_waits_for_enable)
{
	struct bed b;

	bed_init(&b);
	CHECK(bring_up(&b, VU_FEATURES) == 0);
	CHECK(ev.ups == 0);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 0, 1) == 0);
	CHECK(ev.ups == 0);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 1, 1) == 0);
	CHECK(ev.ups == 1);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 1, 0) == 0);
	CHECK(ev.downs == 1 && !b.dev.up);
	bed_free(&b);
}

TEST(test_backend_enable_before_start_is_kept)
{
	struct bed b;

	bed_init(&b);
	/* QEMU enables rings before it sets features or starts them. */
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 0, 1) == 0);
	CHECK(req_state(&b, VHOST_USER_SET_VRING_ENABLE, 1, 1) == 0);
	CHECK(bring_up(&b, VU_FEATURES) == 0);
	CHECK(ev.ups == 1);
	bed_free(&b);
}

TEST(test_backend_get_vring_base_stops_ring)
{
	struct bed b;
	struct vu_vring_state s = { 1, 0 };
	int before;

	bed_init(&b);
	before = open_fds();
	CHECK(bring_up(&b, 1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(b.dev.up);
	CHECK(req(&b, VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0) ==
	      0);
	CHECK(b.reply.hdr.request == VHOST_USER_GET_VRING_BASE);
	CHECK(b.reply.payload.state.index == 1);
	CHECK(b.reply.payload.state.num == 0);
	CHECK(!b.dev.vq[1].started && !b.dev.up && ev.downs == 1);
	CHECK(ev.watched[1] == -1);
	CHECK(b.dev.vq[1].kick_fd == -1);
	/* Started again after a new kick fd. */
	CHECK(kick(&b, 1) == 0);
	CHECK(b.dev.up && ev.ups == 2);
	vu_dev_reset(&b.dev);
	CHECK(b.dev.mem.nregions == 0 && !b.dev.up);
	CHECK(open_fds() == before);	/* kick, call, err fds all closed */
	bed_free(&b);
}

TEST(test_backend_memory_table_replaced_while_running)
{
	struct bed b;

	bed_init(&b);
	CHECK(bring_up(&b, 1ULL << VIRTIO_F_VERSION_1) == 0);
	REQUIRE(b.dev.up);
	CHECK(set_mem(&b) == 0);
	CHECK(b.dev.up);
	CHECK(b.dev.vq[0].vr.desc != NULL);
	bed_free(&b);
}

TEST(test_backend_features_frozen_while_running)
{
	struct bed b;

	bed_init(&b);
	CHECK(bring_up(&b, 1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES,
		      1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, VU_FEATURES) == -EBUSY);
	bed_free(&b);
}

TEST(test_backend_rarp_mtu_reset)
{
	struct bed b;
	uint8_t mac[8] = { 0x52, 0x54, 0, 1, 2, 3 };
	uint64_t mtu = 65536;

	bed_init(&b);
	CHECK(req(&b, VHOST_USER_SEND_RARP, 0, mac, 8, NULL, 0) == 0);
	CHECK(ev.rarps == 1 && memcmp(ev.mac, mac, 6) == 0);
	CHECK(req(&b, VHOST_USER_NET_SET_MTU, 0, &mtu, 8, NULL, 0) == -EINVAL);
	mtu = 68;
	CHECK(req(&b, VHOST_USER_NET_SET_MTU, 0, &mtu, 8, NULL, 0) == 0);
	CHECK(bring_up(&b, 1ULL << VIRTIO_F_VERSION_1) == 0);
	CHECK(req(&b, VHOST_USER_RESET_DEVICE, 0, NULL, 0, NULL, 0) == 0);
	CHECK(!b.dev.up && b.dev.mem.nregions == 0 && b.dev.features == 0);
	CHECK(b.dev.mtu == 0);
	CHECK(req(&b, VHOST_USER_RESET_OWNER, 0, NULL, 0, NULL, 0) == 0);
	bed_free(&b);
}

TEST(test_backend_notify_fds_must_be_eventfds_or_pipes)
{
	struct bed b;
	int pfd[2], mfd;

	bed_init(&b);
	REQUIRE(pipe(pfd) == 0);
	mfd = memfd_create("notify", MFD_CLOEXEC);
	REQUIRE(mfd >= 0);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 0, mfd) == -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_ERR, 1, b.g.fd) == -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_CALL, 0, pfd[1]) == 0);
	CHECK(req_u64(&b, VHOST_USER_SET_FEATURES, V1) == 0);
	CHECK(set_mem(&b) == 0);
	CHECK(set_ring(&b, 0, 0) == 0);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, mfd) == -EINVAL);
	CHECK(req_ring_fd(&b, VHOST_USER_SET_VRING_KICK, 0, pfd[0]) == 0);
	close(pfd[0]);
	close(pfd[1]);
	close(mfd);
	bed_free(&b);
}

int main(void)
{
	RUN(test_backend_header_rules);
	RUN(test_backend_features_and_replies);
	RUN(test_backend_withheld_offloads);
	RUN(test_backend_reply_ack);
	RUN(test_backend_fd_count_rules);
	RUN(test_backend_ring_index_rules);
	RUN(test_backend_rejects_bad_ring_values);
	RUN(test_backend_describes_messages);
	RUN(test_backend_kick_needs_memory_and_addresses);
	RUN(test_backend_reports_call_fds);
	RUN(test_backend_rejects_rings_outside_memory);
	RUN(test_backend_up_without_protocol_features);
	RUN(test_backend_up_waits_for_enable);
	RUN(test_backend_enable_before_start_is_kept);
	RUN(test_backend_get_vring_base_stops_ring);
	RUN(test_backend_memory_table_replaced_while_running);
	RUN(test_backend_features_frozen_while_running);
	RUN(test_backend_rarp_mtu_reset);
	RUN(test_backend_notify_fds_must_be_eventfds_or_pipes);
	return test_summary();
}
