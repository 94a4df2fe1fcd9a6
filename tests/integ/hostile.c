/*
 * Hostile front-ends and guests against the real ./vswitch.
 *
 * One switch runs the whole suite. Ports p0 and p1 hold a well-behaved
 * pair of guests; every case gets a fresh port of its own for the
 * offender, misbehaves there, and then checks:
 *   - the outcome: the offender's connection closed, its ring broken, or
 *     its frame dropped, as the case says;
 *   - exactly one log line naming the offender's port and the reason;
 *   - the switch still runs, and the pair still exchanges frames, with
 *     nothing unexpected in their rings.
 * At the end the switch holds exactly the fds and mappings it held with
 * only the pair connected: nothing any offender brought in is left.
 *
 * Usage: hostile PATH-TO-VSWITCH
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "harness.h"
#include "../unit/test.h"

#define NPORTS 64		/* the switch's most */
#define BIG_V4 65000		/* payload of a 64 KB TCP frame over IPv4 */
#define BIG_V6 65400		/* and over IPv6 */

static struct vs v;
static struct guest good[2];
static unsigned int next_port = 2;
static char port[16];		/* the current case's port */
static long case_log_start;	/* size of the log when the case began */
static uint32_t seq = 1;

/* Take the next port for this case: p2..p62 in turn, each free again
 * once its last offender is gone. What the case logs is looked for in
 * the log from here on. */
static const char *fresh_port(void)
{
	struct stat st;

	snprintf(port, sizeof(port), "p%u", next_port);
	next_port = next_port + 1 < NPORTS - 1 ? next_port + 1 : 2;
	case_log_start = stat(v.log, &st) == 0 ? (long)st.st_size : 0;
	return port;
}

/* How many times has the switch logged @needle since the case began? */
static int case_log_count(const char *needle)
{
	FILE *f = fopen(v.log, "r");
	char *buf, *p;
	long size;
	int n = 0;

	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	size = ftell(f) - case_log_start;
	buf = size > 0 ? calloc(1, (size_t)size + 1) : NULL;
	if (buf) {
		fseek(f, case_log_start, SEEK_SET);
		size = (long)fread(buf, 1, (size_t)size, f);
		buf[size] = '\0';
		for (p = buf; (p = strstr(p, needle)); p += strlen(needle))
			n++;
		free(buf);
	}
	fclose(f);
	return n;
}

/* Wait until the case has logged @needle. */
static bool case_wait_log(const char *needle)
{
	time_t deadline = time(NULL) + H_TIMEOUT_MS / 1000;

	while (!case_log_count(needle)) {
		if (time(NULL) > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

/* ---- what every case checks at its end ---- */

enum outcome {
	CLOSED,		/* the switch closed the connection */
	DROPPED,	/* a frame dropped, the port keeps working */
	WORKS,		/* nothing wrong: the port works */
};

static bool pair_ok(void)
{
	return pair_exchanges(&good[0], &good[1], &seq);
}

/* Has the switch closed @fd's connection? */
static bool closed(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[64];

	while (poll(&p, 1, H_TIMEOUT_MS) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;	/* replies before the close are read */
	}
	return false;
}

/* The end of every case: one log line "port pN: ...@reason...". */
static void verdict(const char *reason)
{
	char needle[256];
	int n;

	snprintf(needle, sizeof(needle), "port %s: %s", port, reason);
	CHECK(case_wait_log(needle));
	n = case_log_count(needle);
	if (n != 1)
		fprintf(stderr, "  \"%s\" logged %d times\n", needle, n);
	CHECK(n == 1);
	CHECK(vs_alive(&v));
	CHECK(pair_ok());
}

/* ---- raw messages ---- */

static int raw_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", vs_sock(&v, port));
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("raw connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * Send a header claiming @size payload bytes followed by @len bytes of
 * @payload, with @nfds descriptors attached to the first byte.
 */
static int raw_send(int fd, uint32_t req, uint32_t flags, uint32_t size,
		    const void *payload, size_t len, const int *fds,
		    unsigned int nfds)
{
	uint8_t buf[12 + 512];
	struct vu_hdr h = { req, flags, size };
	struct iovec iov = { buf, 12 + len };
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		size_t align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (len > 512 || nfds > 16)
		return -1;
	memcpy(buf, &h, 12);
	if (len)
		memcpy(buf + 12, payload, len);
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + len) ? 0 : -1;
}

/* A well-formed message on a raw connection. */
static int raw_msg(int fd, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds)
{
	return raw_send(fd, req, VU_VERSION, size, payload, size, fds, nfds);
}

/* Connect raw, send one message, expect the connection closed and
 * @reason logged. */
static void raw_case(uint32_t req, uint32_t flags, uint32_t size,
		     const void *payload, size_t len, const int *fds,
		     unsigned int nfds, bool hangup, const char *reason)
{
	int fd;

	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	CHECK(raw_send(fd, req, flags, size, payload, len, fds, nfds) == 0);
	if (hangup)
		shutdown(fd, SHUT_WR);
	CHECK(closed(fd));
	close(fd);
	verdict(reason);
}

/* A guest connected on a fresh port. */
static int offender(struct guest *gu, const struct guest_opts *o)
{
	fresh_port();
	return guest_connect(gu, vs_sock(&v, port), o, 0x40);
}

/* Wait for @name's statistics line in this case's log (SIGUSR1 sent). */
static bool case_stats(const char *name)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "port %s: stats", name);
	return case_wait_log(needle);
}

/* A request on the offender's connection that must fail (the switch
 * acknowledges negatively, then closes). */
static void bad_request(struct guest *gu, uint32_t req, const void *payload,
			uint32_t size, const int *fds, unsigned int nfds,
			const char *reason)
{
	CHECK(vu_fe_request(&gu->fe, req, payload, size, fds, nfds, NULL) < 0);
	CHECK(guest_closed_by_peer(gu, H_TIMEOUT_MS));
	guest_close(gu);
	verdict(reason);
}

/* ---- messages ---- */

TEST(test_header_cut_short)
{
	/* Messages are host-endian: a GET_FEATURES header in this host's
	 * order, cut after 6 of its 12 bytes. */
	struct vu_hdr h = { VHOST_USER_GET_FEATURES, VU_VERSION, 0 };
	int fd;

	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	CHECK(send(fd, &h, 6, MSG_NOSIGNAL) == 6);
	shutdown(fd, SHUT_WR);
	CHECK(closed(fd));
	close(fd);
	verdict("connection closed in the middle of a message (6 of 12 bytes)");
}

TEST(test_size_larger_than_the_payload_sent)
{
	uint64_t f = 0;

	raw_case(VHOST_USER_SET_FEATURES, VU_VERSION, 8, &f, 4, NULL, 0, true,
		 "connection closed in the middle of a message (16 of 20 bytes)");
}

TEST(test_size_wrong_for_the_request)
{
	uint32_t f = 0;

	raw_case(VHOST_USER_SET_FEATURES, VU_VERSION, 4, &f, 4, NULL, 0, false,
		 "request 2 (SET_FEATURES), 4 bytes: payload size does not fit");
}

TEST(test_truncated_memory_table)
{
	struct vu_memory mt = { .nregions = 1 };

	raw_case(VHOST_USER_SET_MEM_TABLE, VU_VERSION, 40, &mt, 20, NULL, 0,
		 true, "connection closed in the middle of a message (32 of 52");
}

TEST(test_payload_over_the_largest)
{
	uint8_t big[300] = { 0 };

	raw_case(VHOST_USER_SET_MEM_TABLE, VU_VERSION, 300, big, 300, NULL, 0,
		 false, "request 5 (SET_MEM_TABLE), 300 bytes: payload size");
}

TEST(test_unknown_request)
{
	uint64_t x = 0;

	raw_case(99, VU_VERSION, 8, &x, 8, NULL, 0, false,
		 "request 99 (UNKNOWN), 8 bytes: unknown request");
}

TEST(test_wrong_version_bits)
{
	raw_case(VHOST_USER_GET_FEATURES, 2, 0, NULL, 0, NULL, 0, false,
		 "request 1 (GET_FEATURES), 0 bytes: unsupported protocol version");
}

TEST(test_reply_flag_on_a_request)
{
	raw_case(VHOST_USER_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 0, NULL,
		 0, NULL, 0, false, "request 1 (GET_FEATURES), 0 bytes: request carries the "
		 "reply flag");
}

TEST(test_missing_fd)
{
	uint64_t q = 0;

	raw_case(VHOST_USER_SET_VRING_CALL, VU_VERSION, 8, &q, 8, NULL, 0,
		 false, "SET_VRING_CALL: 0 file descriptors, expected 1");
}

TEST(test_extra_fds_are_all_closed)
{
	int fds[3];
	long before = vs_fds(&v);
	unsigned int i;

	for (i = 0; i < 3; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	raw_case(VHOST_USER_SET_OWNER, VU_VERSION, 0, NULL, 0, fds, 3, false,
		 "SET_OWNER: 3 file descriptors, expected 0");
	for (i = 0; i < 3; i++)
		close(fds[i]);
	CHECK(vs_fds(&v) == before);
}

TEST(test_more_fds_than_any_message_takes)
{
	int fds[12];
	long before = vs_fds(&v);
	unsigned int i;

	for (i = 0; i < 12; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	raw_case(VHOST_USER_SET_OWNER, VU_VERSION, 0, NULL, 0, fds, 12, false,
		 "message with more than 8 file descriptors");
	for (i = 0; i < 12; i++)
		close(fds[i]);
	CHECK(vs_fds(&v) == before);
}

TEST(test_fds_in_the_middle_of_a_message)
{
	uint8_t hdr[12];
	struct vu_hdr h = { VHOST_USER_SET_FEATURES, VU_VERSION, 8 };
	uint64_t f = 0;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	memcpy(hdr, &h, 12);
	CHECK(send(fd, hdr, 12, MSG_NOSIGNAL) == 12);
	usleep(50000);		/* the header arrives on its own */
	{
		struct iovec iov = { &f, 8 };
		union {
			char b[CMSG_SPACE(sizeof(int))];
			size_t align;
		} cbuf;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.b,
				     .msg_controllen = sizeof(cbuf.b) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &efd, sizeof(int));
		CHECK(sendmsg(fd, &mh, MSG_NOSIGNAL) == 8);
	}
	CHECK(closed(fd));
	close(fd);
	close(efd);
	verdict("file descriptors in the middle of a message");
}

TEST(test_fd_that_cannot_be_mapped)
{
	struct vu_memory mt = { .nregions = 1 };
	int efd = eventfd(0, EFD_CLOEXEC);

	mt.region[0] = (struct vu_mem_region){ 0, 1 << 20, 0x10000000, 0 };
	raw_case(VHOST_USER_SET_MEM_TABLE, VU_VERSION, 40, &mt, 40, &efd, 1,
		 false, "SET_MEM_TABLE: memory table: region fd is not a mappable "
		 "file");
	close(efd);
}

/* Every per-ring request with ring index 2 (there are two rings). */
static void ring_index_case(uint32_t req, const char *name)
{
	struct vu_vring_addr a = { .index = 2 };
	struct vu_vring_state st = { 2, 1 };
	uint64_t file = 2;
	int efd = eventfd(0, EFD_CLOEXEC);
	char reason[96];

	snprintf(reason, sizeof(reason),
		 "%s: ring index 2 out of range (2 rings)", name);
	if (req == VHOST_USER_SET_VRING_ADDR)
		raw_case(req, VU_VERSION, sizeof(a), &a, sizeof(a), NULL, 0,
			 false, reason);
	else if (req >= VHOST_USER_SET_VRING_KICK &&
		 req <= VHOST_USER_SET_VRING_ERR)
		raw_case(req, VU_VERSION, 8, &file, 8, &efd, 1, false, reason);
	else
		raw_case(req, VU_VERSION, sizeof(st), &st, sizeof(st), NULL, 0,
			 false, reason);
	close(efd);
}

TEST(test_ring_index_out_of_range_num)
{
	ring_index_case(VHOST_USER_SET_VRING_NUM, "SET_VRING_NUM");
}

TEST(test_ring_index_out_of_range_addr)
{
	ring_index_case(VHOST_USER_SET_VRING_ADDR, "SET_VRING_ADDR");
}

TEST(test_ring_index_out_of_range_base)
{
	ring_index_case(VHOST_USER_SET_VRING_BASE, "SET_VRING_BASE");
}

TEST(test_ring_index_out_of_range_get_base)
{
	ring_index_case(VHOST_USER_GET_VRING_BASE, "GET_VRING_BASE");
}

TEST(test_ring_index_out_of_range_kick)
{
	ring_index_case(VHOST_USER_SET_VRING_KICK, "SET_VRING_KICK");
}

TEST(test_ring_index_out_of_range_call)
{
	ring_index_case(VHOST_USER_SET_VRING_CALL, "SET_VRING_CALL");
}

TEST(test_ring_index_out_of_range_err)
{
	ring_index_case(VHOST_USER_SET_VRING_ERR, "SET_VRING_ERR");
}

TEST(test_ring_index_out_of_range_enable)
{
	ring_index_case(VHOST_USER_SET_VRING_ENABLE, "SET_VRING_ENABLE");
}

TEST(test_kick_before_the_memory_table)
{
	uint64_t q = 0;
	int efd = eventfd(0, EFD_CLOEXEC);

	raw_case(VHOST_USER_SET_VRING_KICK, VU_VERSION, 8, &q, 8, &efd, 1,
		 false, "SET_VRING_KICK: ring 0: kick fd before the memory table");
	close(efd);
}

/* A memory table of one region of @g, as QEMU would send it. */
static struct vu_memory table_of(const struct guestmem *g)
{
	struct vu_memory mt = { .nregions = g->nregions };

	memcpy(mt.region, g->region, g->nregions * sizeof(mt.region[0]));
	return mt;
}

TEST(test_kick_before_the_ring_addresses)
{
	struct guestmem g;
	struct vu_memory mt;
	struct vu_vring_state num = { 0, 256 };
	uint64_t q = 0;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	REQUIRE(guestmem_init(&g, 1 << 20, 1) == 0);
	mt = table_of(&g);
	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_MEM_TABLE, &mt, 40, &g.fd, 1) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_VRING_NUM, &num, 8, NULL, 0) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_VRING_KICK, &q, 8, &efd, 1) == 0);
	CHECK(closed(fd));
	close(fd);
	close(efd);
	guestmem_free(&g);
	verdict("SET_VRING_KICK: ring 0: kick fd before the ring size and "
		"addresses");
}

TEST(test_need_reply_on_every_request_works)
{
	struct guest_opts o = guest_defaults();
	struct guest gu;
	struct vu_msg r;
	uint8_t f[100];

	/* REPLY_ACK negotiated: the harness's front-end sets NEED_REPLY on
	 * every request without a reply of its own and checks every ack. */
	o.protocol = VU_PROTOCOL_FEATURES;
	REQUIRE(offender(&gu, &o) == 0);
	/* On a request with a reply, NEED_REPLY changes nothing: exactly
	 * one reply, so the next request's reply is its own. */
	REQUIRE(raw_send(gu.sock, VHOST_USER_GET_FEATURES,
			 VU_VERSION | VU_FLAG_NEED_REPLY, 0, NULL, 0, NULL,
			 0) == 0);
	REQUIRE(recv(gu.sock, &r, 12 + 8, MSG_WAITALL) == 20);
	CHECK(r.hdr.request == VHOST_USER_GET_FEATURES);
	CHECK(vu_fe_request(&gu.fe, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0,
			    NULL, 0, &r) == 0);
	CHECK(r.payload.u64 == VU_PROTOCOL_FEATURES);
	frame_make(f, 60, mac_broadcast, gu.mac, seq++);
	REQUIRE(guest_send(&gu, f, 60) == 0);
	CHECK(guest_recv(&good[0], f, sizeof(f), H_TIMEOUT_MS) == 60);
	CHECK(guest_recv(&good[1], f, sizeof(f), H_TIMEOUT_MS) == 60);
	guest_close(&gu);
	verdict("front-end disconnected: connection closed");
}

TEST(test_flood_of_messages)
{
	int fd, i;

	/* A hundred thousand requests that need no reply, pipelined: the
	 * switch works through them while the pair keeps exchanging. */
	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	for (i = 0; i < 100000; i++)
		if (raw_msg(fd, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0) < 0)
			break;
	CHECK(i == 100000);
	CHECK(pair_ok());
	close(fd);
	verdict("front-end disconnected: connection closed");
}

TEST(test_flood_of_requests_never_reading_replies)
{
	int fd, i;

	/* Replies pile up until the socket is full: the switch gives up on
	 * the front-end instead of blocking. */
	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	{
		int small = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	for (i = 0; i < 200000; i++)
		if (raw_msg(fd, VHOST_USER_GET_FEATURES, NULL, 0, NULL, 0) < 0)
			break;
	shutdown(fd, SHUT_WR);
	CHECK(closed(fd));
	close(fd);
	verdict("front-end disconnected: cannot send replies");
}

/* ---- memory tables ---- */

static void table_case(struct vu_memory *mt, int file, const char *reason)
{
	int fds[MEM_MAX_REGIONS];
	unsigned int i, n = mt->nregions > MEM_MAX_REGIONS ? MEM_MAX_REGIONS :
			    mt->nregions;

	for (i = 0; i < n; i++)
		fds[i] = file;
	raw_case(VHOST_USER_SET_MEM_TABLE, VU_VERSION, 8 + 32 * n, mt,
		 8 + 32 * n, fds, n, false, reason);
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(test_too_many_regions)
{
	struct vu_memory mt = { .nregions = 9 };
	int fd = memfd_of(1 << 20);

	table_case(&mt, fd, "SET_MEM_TABLE: 9 memory regions (1..8 allowed)");
	close(fd);
}

TEST(test_region_of_size_zero)
{
	struct vu_memory mt = { .nregions = 1 };
	int fd = memfd_of(1 << 20);

	mt.region[0] = (struct vu_mem_region){ 0, 0, 0x10000000, 0 };
	table_case(&mt, fd, "SET_MEM_TABLE: memory table: region of size 0");
	close(fd);
}

TEST(test_overlapping_regions)
{
	struct vu_memory mt = { .nregions = 2 };
	int fd = memfd_of(1 << 20);

	mt.region[0] = (struct vu_mem_region){ 0, 1 << 19, 0x10000000, 0 };
	mt.region[1] = (struct vu_mem_region){ 1 << 18, 1 << 19, 0x20000000,
					       1 << 19 };
	table_case(&mt, fd, "SET_MEM_TABLE: memory table: memory regions "
		   "overlap");
	close(fd);
}

TEST(test_offset_plus_size_overflows)
{
	struct vu_memory mt = { .nregions = 1 };
	int fd = memfd_of(1 << 20);

	mt.region[0] = (struct vu_mem_region){ 0, 1 << 20, 0x10000000,
					       UINT64_MAX - 4096 };
	table_case(&mt, fd, "SET_MEM_TABLE: memory table: region mmap_offset "
		   "+ size overflows");
	close(fd);
}

TEST(test_region_larger_than_its_file)
{
	struct vu_memory mt = { .nregions = 1 };
	int fd = memfd_of(1 << 20);

	mt.region[0] = (struct vu_mem_region){ 0, 2 << 20, 0x10000000, 0 };
	table_case(&mt, fd,
		   "SET_MEM_TABLE: memory table: region extends beyond the "
		   "end of its file");
	close(fd);
}

TEST(test_region_in_a_read_only_file)
{
	struct vu_memory mt = { .nregions = 1 };
	char path[64];
	int fd = memfd_of(1 << 20), ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	mt.region[0] = (struct vu_mem_region){ 0, 1 << 20, 0x10000000, 0 };
	table_case(&mt, ro, "SET_MEM_TABLE: memory table: cannot map region");
	close(ro);
	close(fd);
}

TEST(test_regions_replaced_while_rings_run)
{
	struct guest gu;
	struct vu_memory mt;
	uint8_t f[100];

	REQUIRE(offender(&gu, NULL) == 0);
	/* The same memory again: the rings keep running on it. */
	mt = table_of(&gu.g);
	REQUIRE(vu_fe_request(&gu.fe, VHOST_USER_SET_MEM_TABLE, &mt, 40,
			      &gu.g.fd, 1, NULL) == 0);
	frame_make(f, 60, mac_broadcast, gu.mac, seq);
	REQUIRE(guest_send(&gu, f, 60) == 0);
	CHECK(guest_recv(&good[0], f, sizeof(f), H_TIMEOUT_MS) == 60);
	CHECK(guest_recv(&good[1], f, sizeof(f), H_TIMEOUT_MS) == 60);
	/* Memory that no longer holds the running rings. */
	mt.region[0].uva += 1ULL << 32;
	bad_request(&gu, VHOST_USER_SET_MEM_TABLE, &mt, 40, &gu.g.fd, 1,
		    "SET_MEM_TABLE: ring 0: descriptor table is not inside one "
		    "memory region");
}

/* Set up ring 0 of a raw connection at @desc/@avail/@used (front-end
 * addresses) and kick it. VERSION_1 is negotiated first, as any guest
 * does: without it, a big-endian switch refuses the ring before it looks
 * at the addresses. */
static void ring_addr_case(uint64_t desc, uint64_t avail, uint64_t used,
			   const char *reason)
{
	struct guestmem g;
	struct vu_memory mt;
	struct vu_vring_state num = { 0, 256 };
	struct vu_vring_addr a = { .index = 0 };
	uint64_t q = 0, f = 1ULL << VIRTIO_F_VERSION_1;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	REQUIRE(guestmem_init(&g, 1 << 20, 2) == 0);
	mt = table_of(&g);
	a.desc = guestmem_uva(&g, GUESTMEM_GPA_BASE) + desc;
	a.avail = guestmem_uva(&g, GUESTMEM_GPA_BASE) + avail;
	a.used = guestmem_uva(&g, GUESTMEM_GPA_BASE) + used;
	fresh_port();
	fd = raw_connect();
	REQUIRE(fd >= 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_FEATURES, &f, 8, NULL, 0) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64,
		      (int[]){ g.fd, g.fd }, 2) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_VRING_NUM, &num, 8, NULL, 0) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
		      0) == 0);
	CHECK(raw_msg(fd, VHOST_USER_SET_VRING_KICK, &q, 8, &efd, 1) == 0);
	CHECK(closed(fd));
	close(fd);
	close(efd);
	guestmem_free(&g);
	verdict(reason);
}

TEST(test_ring_outside_every_region)
{
	ring_addr_case(1ULL << 40, 8192, 16384,
		       "SET_VRING_KICK: ring 0: descriptor table is not inside "
		       "one memory region");
}

TEST(test_ring_straddling_a_region_end)
{
	/* Two regions of 512 KiB, far apart in front-end addresses: a used
	 * ring that starts 1 KiB before the first one's end. */
	ring_addr_case(0, 8192, (512 << 10) - 1024,
		       "SET_VRING_KICK: ring 0: used ring is not inside one "
		       "memory region");
}

TEST(test_kick_fd_that_is_not_an_eventfd)
{
	struct guest gu;
	int mfd = memfd_of(4096);
	uint64_t q = VU_TX;

	REQUIRE(offender(&gu, NULL) == 0);
	bad_request(&gu, VHOST_USER_SET_VRING_KICK, &q, 8, &mfd, 1,
		    "SET_VRING_KICK: ring 1: fd is not an eventfd or a pipe");
	close(mfd);
}

TEST(test_call_fd_pipe_nobody_reads)
{
	struct guest gu;
	uint8_t f[60];
	uint64_t q = VU_TX;
	long before = vs_fds(&v);
	int pfd[2], i, efd;

	/* A pipe is a legal call fd; this one is never read. Once it is
	 * full, writes to it wait in the kernel: the switch goes on. */
	REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(vu_fe_request(&gu.fe, VHOST_USER_SET_VRING_CALL, &q, 8,
			      &pfd[1], 1, NULL) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	for (i = 0; i < 20000; i++) {
		int spins = 0;

		vring_driver_want_interrupts(&gu.ring[VU_TX], true);
		frame_make(f, sizeof(f), gu.mac, gu.mac, (uint32_t)i);
		if (guest_send(&gu, f, sizeof(f)) < 0)
			break;
		/* Its interrupts go into the pipe: watch the ring. */
		while (!guest_tx_reaped(&gu) && spins++ < 100000)
			usleep(10);
	}
	CHECK(i == 20000);
	CHECK(pair_ok());
	/* The front-end gives the ring an eventfd instead: the interrupt
	 * waiting on the full pipe is cancelled, and the next ones reach
	 * the eventfd. */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	REQUIRE(efd >= 0);
	REQUIRE(vu_fe_request(&gu.fe, VHOST_USER_SET_VRING_CALL, &q, 8, &efd,
			      1, NULL) == 0);
	vring_driver_want_interrupts(&gu.ring[VU_TX], true);
	REQUIRE(guest_send(&gu, f, sizeof(f)) == 0);
	{
		struct pollfd p = { efd, POLLIN, 0 };

		CHECK(poll(&p, 1, H_TIMEOUT_MS) == 1);
	}
	{
		char needle[64];

		snprintf(needle, sizeof(needle),
			 "port %s: interrupting the guest", port);
		CHECK(!case_log_count(needle));
	}
	guest_close(&gu);
	close(pfd[0]);
	close(pfd[1]);
	close(efd);
	verdict("front-end disconnected: connection closed");
	CHECK(vs_fds(&v) == before);
}

/* ---- rings ---- */

static void bad_ring_size(uint32_t num, const char *reason)
{
	struct vu_vring_state st = { 0, num };

	raw_case(VHOST_USER_SET_VRING_NUM, VU_VERSION, 8, &st, 8, NULL, 0,
		 false, reason);
}

TEST(test_ring_size_zero)
{
	bad_ring_size(0, "SET_VRING_NUM: ring 0: size 0 is not a power of two");
}

TEST(test_ring_size_not_a_power_of_two)
{
	bad_ring_size(100,
		      "SET_VRING_NUM: ring 0: size 100 is not a power of two");
}

TEST(test_ring_size_over_32768)
{
	bad_ring_size(65536,
		      "SET_VRING_NUM: ring 0: size 65536 is not a power of two");
}

/* The guest side of a hostile ring: post one transmit chain of @n
 * segments (or a receive chain is mangled in place), let @mangle break
 * it, kick. */
typedef void (*mangler)(struct guest *gu, int head);

static struct vring_desc *desc_of(struct guest *gu, unsigned int q, int i)
{
	return &gu->ring[q].desc[i];
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static void *ind_table(struct guest *gu, unsigned int q, size_t n)
{
	return guestmem_ptr(&gu->g, gu->ind_gpa[q], n * 16);
}

/* An offender whose next transmit chain @mangle breaks. */
static void tx_case(mangler mangle, const char *reason)
{
	struct guest gu;
	struct vring_seg s;
	int head;

	REQUIRE(offender(&gu, NULL) == 0);
	s = (struct vring_seg){ gu.tx_gpa, 80, false };
	head = vring_driver_add(&gu.ring[VU_TX], &s, 1, false);
	REQUIRE(head >= 0);
	mangle(&gu, head);
	guest_kick(&gu, VU_TX);
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict(reason);
}

/* An offender whose next receive chain @mangle breaks; a broadcast
 * from the pair makes the switch walk it. */
static void rx_case(mangler mangle, const char *reason)
{
	struct guest gu;
	uint8_t f[100];
	int head;

	REQUIRE(offender(&gu, NULL) == 0);
	head = le16toh(gu.ring[VU_RX].avail->ring[0]);
	mangle(&gu, head);
	frame_make(f, 60, mac_broadcast, good[0].mac, seq);
	REQUIRE(guest_send(&good[0], f, 60) == 0);
	CHECK(guest_recv(&good[1], f, sizeof(f), H_TIMEOUT_MS) == 60);
	seq++;
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict(reason);
}

static void m_head(struct guest *gu, int head)
{
	struct vring_driver *d = &gu->ring[VU_TX];

	(void)head;
	d->avail->ring[(d->avail_idx - 1) & (d->num - 1)] = htole16(d->num);
}

static void m_next(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->tx_gpa, 80, VRING_DESC_F_NEXT,
		 4000);
}

static void m_loop(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->tx_gpa, 80, VRING_DESC_F_NEXT,
		 200);
	set_desc(desc_of(gu, VU_TX, 200), gu->tx_gpa, 80, VRING_DESC_F_NEXT,
		 (uint16_t)head);
}

static void m_longer_than_ring(struct guest *gu, int head)
{
	unsigned int i, n = gu->ring[VU_TX].num;

	/* Every descriptor chained to the next, the last back to the
	 * first: longer than the ring, which no chain may be. */
	(void)head;
	for (i = 0; i < n; i++)
		set_desc(desc_of(gu, VU_TX, (int)i), gu->tx_gpa, 16,
			 VRING_DESC_F_NEXT, (uint16_t)((i + 1) % n));
}

static void m_ind_loop(struct guest *gu, int head)
{
	struct vring_desc *t = ind_table(gu, VU_TX, 2);

	set_desc(&t[0], gu->tx_gpa, 40, VRING_DESC_F_NEXT, 1);
	set_desc(&t[1], gu->tx_gpa, 40, VRING_DESC_F_NEXT, 0);
	set_desc(desc_of(gu, VU_TX, head), gu->ind_gpa[VU_TX], 32,
		 VRING_DESC_F_INDIRECT, 0);
}

static void m_ind_nested(struct guest *gu, int head)
{
	struct vring_desc *t = ind_table(gu, VU_TX, 1);

	set_desc(&t[0], gu->ind_gpa[VU_TX], 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(desc_of(gu, VU_TX, head), gu->ind_gpa[VU_TX], 16,
		 VRING_DESC_F_INDIRECT, 0);
}

static void m_ind_len(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->ind_gpa[VU_TX], 40,
		 VRING_DESC_F_INDIRECT, 0);
}

static void m_ind_huge(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->ind_gpa[VU_TX],
		 (gu->ring[VU_TX].num + 1) * 16, VRING_DESC_F_INDIRECT, 0);
}

static void m_zero_len(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->tx_gpa, 0, 0, 0);
}

static void m_4g_len(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->tx_gpa, UINT32_MAX, 0, 0);
}

static void m_wrap(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), UINT64_MAX - 15, 64, 0, 0);
}

static void m_writable(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_TX, head), gu->tx_gpa, 80, VRING_DESC_F_WRITE,
		 0);
}

static void m_avail_jump(struct guest *gu, int head)
{
	struct vring_driver *d = &gu->ring[VU_TX];

	(void)head;
	d->avail_idx = (uint16_t)(d->avail_idx + d->num);
}

static void m_rx_readable(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_RX, head), gu->rx_gpa, 2048, 0, 0);
}

static void m_rx_outside(struct guest *gu, int head)
{
	set_desc(desc_of(gu, VU_RX, head), 1ULL << 40, 2048,
		 VRING_DESC_F_WRITE, 0);
}

TEST(test_head_out_of_range)
{
	tx_case(m_head, "transmit ring broken: chain head out of range");
}

TEST(test_next_out_of_range)
{
	tx_case(m_next, "transmit ring broken: next descriptor out of range");
}

TEST(test_descriptor_loop)
{
	tx_case(m_loop, "transmit ring broken: descriptor loop");
}

TEST(test_chain_longer_than_the_ring)
{
	tx_case(m_longer_than_ring, "transmit ring broken: descriptor loop");
}

TEST(test_loop_inside_an_indirect_table)
{
	tx_case(m_ind_loop,
		"transmit ring broken: descriptor loop in indirect table");
}

TEST(test_nested_indirect)
{
	tx_case(m_ind_nested, "transmit ring broken: nested indirect descriptor");
}

TEST(test_indirect_length_not_a_multiple_of_16)
{
	tx_case(m_ind_len, "transmit ring broken: indirect table length not a "
		"multiple of 16");
}

TEST(test_indirect_table_larger_than_the_ring)
{
	tx_case(m_ind_huge,
		"transmit ring broken: indirect table longer than the ring");
}

TEST(test_zero_length_descriptor)
{
	tx_case(m_zero_len, "transmit ring broken: zero-length descriptor");
}

TEST(test_4_gib_descriptor)
{
	tx_case(m_4g_len,
		"transmit ring broken: descriptor outside guest memory");
}

TEST(test_address_that_wraps)
{
	tx_case(m_wrap, "transmit ring broken: descriptor wraps around");
}

TEST(test_writable_descriptor_in_a_transmit_chain)
{
	tx_case(m_writable, "transmit ring broken: device-writable descriptor "
		"in a transmit chain");
}

TEST(test_avail_index_jumps_past_the_ring)
{
	tx_case(m_avail_jump, "transmit ring broken: avail index moved by more "
		"than the ring size");
}

TEST(test_readable_descriptor_in_a_receive_chain)
{
	rx_case(m_rx_readable, "receive ring broken: device-readable "
		"descriptor in a receive chain");
}

TEST(test_receive_buffer_outside_memory)
{
	rx_case(m_rx_outside,
		"receive ring broken: descriptor outside guest memory");
}

/* ---- legal but unusual: a frame's cost, never the port ---- */

/* @from sends a @len-byte frame to @dst. */
static bool send_frame(struct guest *from, const uint8_t *dst, size_t len)
{
	uint8_t f[H_MAX_FRAME];

	frame_make(f, len, dst, from->mac, seq++);
	return guest_send(from, f, len) == 0;
}

/* A frame the pair sent @gu arrives in its receive ring? */
static bool offender_got(struct guest *gu, uint16_t head, size_t len,
			 uint64_t gpa, uint32_t fseq)
{
	struct vring_driver *d = &gu->ring[VU_RX];
	uint8_t f[H_MAX_FRAME];
	uint32_t used_len;
	int h, i;

	for (i = 0; i < 500; i++) {
		h = vring_driver_get_used(d, &used_len);
		if (h >= 0)
			break;
		usleep(10000);
	}
	if (h != head || used_len != gu->hlen + len)
		return false;
	guestmem_read(&gu->g, gpa + gu->hlen, f, len);
	return frame_check(f, len, gu->mac, good[0].mac, fseq);
}

/*
 * A transmit chain in more pieces than the switch gathers at once
 * (VRING_MAX_IOV, 1024): a header descriptor, then an indirect table
 * of 1024 two-byte pieces. Legal, so the frame is dropped and counted,
 * and the port goes on.
 */
TEST(test_transmit_chain_in_too_many_pieces_costs_a_frame)
{
	struct guest_opts o = guest_defaults();
	struct vring_desc *t;
	struct vring_seg s[2];
	struct guest gu;
	uint8_t f[2048];
	unsigned int i, n;
	int head;

	o.qsz = 1024;
	REQUIRE(offender(&gu, &o) == 0);
	n = gu.ring[VU_TX].num;
	frame_make(f, sizeof(f), good[0].mac, gu.mac, seq++);
	guestmem_write(&gu.g, gu.tx_gpa + gu.hlen, f, sizeof(f));
	t = ind_table(&gu, VU_TX, n);
	for (i = 0; i < n; i++)
		set_desc(&t[i], gu.tx_gpa + gu.hlen + 2 * i, 2,
			 i + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	s[0] = (struct vring_seg){ gu.tx_gpa, (uint32_t)gu.hlen, false };
	s[1] = s[0];
	head = vring_driver_add(&gu.ring[VU_TX], s, 2, false);
	REQUIRE(head >= 0);
	set_desc(desc_of(&gu, VU_TX, le16toh(desc_of(&gu, VU_TX, head)->next)),
		 gu.ind_gpa[VU_TX], n * 16, VRING_DESC_F_INDIRECT, 0);
	guest_kick(&gu, VU_TX);
	REQUIRE(guest_tx_done(&gu));
	/* Dropped: the pair got nothing (pair_ok checks), the port works. */
	REQUIRE(send_frame(&gu, good[0].mac, 100));
	CHECK(guest_recv(&good[0], f, sizeof(f), H_TIMEOUT_MS) == 100);
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(port));
	CHECK(vs_stat(&v, port, "rx_fragmented") == 1);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&gu);
	verdict("dropped a 2048-byte frame: in more than 1024 buffer pieces");
}

/*
 * Receive buffers that come in more pieces than the switch gathers for
 * one frame: six chains, each an indirect table of 200 eight-byte
 * buffers. A 9000-byte frame would take 1127 pieces: it is dropped and
 * counted, the buffers stay posted, and the next, smaller frame goes
 * into the first of them.
 */
TEST(test_receive_buffers_in_too_many_pieces_cost_a_frame)
{
	struct guest_opts o = guest_defaults();
	struct vring_driver *d;
	struct guest gu;
	uint64_t tab = GUESTMEM_GPA_BASE + (8u << 20);
	uint64_t buf = GUESTMEM_GPA_BASE + (10u << 20);
	uint8_t f[9000];
	uint32_t len;
	int head[6];
	unsigned int c, k;

	o.layout = TX_ONE_DESC;		/* one descriptor per receive chain */
	REQUIRE(offender(&gu, &o) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	d = &gu.ring[VU_RX];
	/* Use up every posted buffer, and take them back unreposted. */
	for (k = 0; k < d->num; k++)
		REQUIRE(send_frame(&good[0], gu.mac, 60));
	for (k = 0; k < 500 && d->num_free < d->num; k++) {
		while (vring_driver_get_used(d, &len) >= 0)
			;
		usleep(10000);
	}
	REQUIRE(d->num_free == d->num);
	for (c = 0; c < 6; c++) {
		struct vring_seg s = { buf, 8, true };
		struct vring_desc *t = guestmem_ptr(&gu.g, tab + 4096 * c,
						    200 * 16);

		for (k = 0; k < 200; k++)
			set_desc(&t[k], buf + 1600 * c + 8 * k, 8,
				 VRING_DESC_F_WRITE |
				 (k < 199 ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(k + 1));
		head[c] = vring_driver_add(d, &s, 1, false);
		REQUIRE(head[c] >= 0);
		set_desc(desc_of(&gu, VU_RX, head[c]), tab + 4096 * c,
			 200 * 16, VRING_DESC_F_INDIRECT, 0);
	}
	guest_kick(&gu, VU_RX);
	frame_make(f, sizeof(f), gu.mac, good[0].mac, seq++);
	REQUIRE(guest_send(&good[0], f, sizeof(f)) == 0);
	frame_make(f, 60, gu.mac, good[0].mac, seq);
	REQUIRE(guest_send(&good[0], f, 60) == 0);
	CHECK(offender_got(&gu, (uint16_t)head[0], 60, buf, seq++));
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(port));
	CHECK(vs_stat(&v, port, "tx_fragmented") == 1);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&gu);
	verdict("dropped a 9000-byte frame for it: its receive buffers come "
		"in more than 1024 pieces");
}

/*
 * A guest that rewrites descriptors while the switch reads them: the
 * test writes chains of one descriptor straight into the ring and
 * publishes them in batches, while a thread keeps changing the lengths,
 * flags and links of those very descriptors (never the addresses, so
 * whatever does get through is addressed to the offender itself). The
 * switch must walk each chain on its own copy: it forwards it or breaks
 * the ring, and never reads outside guest memory.
 */
struct scribbler {
	struct vring_driver *d;
	uint64_t rx_gpa;	/* scribble_rx: where buffers really are */
	volatile bool armed;	/* scribble_heads: out of range too */
	volatile bool stop;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	struct vring_driver *d = s->d;
	uint64_t x = 88172645463325252ULL;

	while (!s->stop) {
		unsigned int i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (unsigned int)(x % d->num);
		__atomic_store_n(&d->desc[i].len,
				 htole32((uint32_t)((x >> 16) % 3000)),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&d->desc[i].flags,
				 htole16((uint16_t)((x >> 40) & 7)),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&d->desc[i].next,
				 htole16((uint16_t)((x >> 48) % d->num)),
				 __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(test_guest_rewrites_descriptors_while_read)
{
	struct scribbler s = { 0 };
	struct guest gu;
	struct vring_driver *d;
	pthread_t t;
	uint8_t f[200];
	unsigned int round, i;
	time_t deadline;

	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	REQUIRE(guest_tx_done(&gu));
	d = &gu.ring[VU_TX];
	frame_make(f, sizeof(f), gu.mac, gu.mac, 0);
	for (i = 0; i < d->num; i++)
		guestmem_write(&gu.g, gu.tx_gpa + 256 * i + gu.hlen, f,
			       sizeof(f));
	s.d = d;
	REQUIRE(pthread_create(&t, NULL, scribble, &s) == 0);
	/* Rounds until the switch notices, bounded in time rather than in
	 * number: on a busy machine the scribbler may get little CPU. */
	deadline = time(NULL) + 20;
	for (round = 0; time(NULL) < deadline && !guest_closed_by_peer(&gu, 0);
	     round++) {
		uint16_t used = le16toh(__atomic_load_n(&d->used->idx,
							__ATOMIC_ACQUIRE));

		/* Half a ring at a time, once the last half was used. */
		if ((uint16_t)(d->avail_idx - used) > d->num / 2) {
			usleep(100);
			continue;
		}
		for (i = 0; i < d->num / 2; i++) {
			uint16_t h = (uint16_t)((d->avail_idx + i) &
						(d->num - 1));

			set_desc(&d->desc[h], gu.tx_gpa + 256 * h,
				 (uint32_t)(gu.hlen + sizeof(f)), 0, 0);
			d->avail->ring[h] = htole16(h);
		}
		d->avail_idx = (uint16_t)(d->avail_idx + d->num / 2);
		guest_kick(&gu, VU_TX);
	}
	s.stop = true;
	pthread_join(t, NULL);
	/* Broken sooner or later: one line says why. */
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict("transmit ring broken: ");
}

/*
 * A guest that rewrites the chain heads in its avail ring while the
 * switch reads them: the descriptors are all well-formed one-descriptor
 * chains and stay so; a thread keeps rewriting avail entries, now and
 * then (once some chains went through) to a head out of range. The
 * switch reads each entry once: every
 * head it hands back in the used ring is one it checked, and the first
 * out-of-range one it takes breaks the ring.
 */
static void *scribble_heads(void *arg)
{
	struct scribbler *s = arg;
	struct vring_driver *d = s->d;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	while (!s->stop) {
		uint16_t head;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		head = (uint16_t)((x >> 32) % d->num);
		if (s->armed && (x >> 16) % 4096 == 0)
			head = (uint16_t)(head + d->num);	/* out of range */
		__atomic_store_n(&d->avail->ring[x % d->num], htole16(head),
				 __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(test_guest_rewrites_the_avail_ring_while_read)
{
	struct scribbler s = { 0 };
	struct vring_driver *d;
	struct guest gu;
	uint16_t checked;
	unsigned int i, bad = 0, used_n = 0;
	uint8_t f[200];
	pthread_t t;
	time_t deadline;

	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	REQUIRE(guest_tx_done(&gu));
	d = &gu.ring[VU_TX];
	checked = le16toh(d->used->idx);
	frame_make(f, sizeof(f), gu.mac, gu.mac, 0);
	for (i = 0; i < d->num; i++) {
		guestmem_write(&gu.g, gu.tx_gpa + 256 * i + gu.hlen, f,
			       sizeof(f));
		set_desc(&d->desc[i], gu.tx_gpa + 256 * i,
			 (uint32_t)(gu.hlen + sizeof(f)), 0, 0);
	}
	s.d = d;
	REQUIRE(pthread_create(&t, NULL, scribble_heads, &s) == 0);
	deadline = time(NULL) + 20;
	while (time(NULL) < deadline && !guest_closed_by_peer(&gu, 0)) {
		uint16_t used = le16toh(__atomic_load_n(&d->used->idx,
							__ATOMIC_ACQUIRE));

		for (; checked != used; checked++, used_n++)
			bad += le32toh(d->used->ring[checked &
						     (d->num - 1)].id) >=
			       d->num;
		/* Heads out of range once some went through: the first
		 * batch read could otherwise be the last. */
		s.armed = used_n > 0;
		if ((uint16_t)(d->avail_idx - used) > d->num / 2) {
			usleep(100);
			continue;
		}
		for (i = 0; i < d->num / 2; i++) {
			uint16_t h = (uint16_t)((d->avail_idx + i) &
						(d->num - 1));

			d->avail->ring[h] = htole16(h);
		}
		d->avail_idx = (uint16_t)(d->avail_idx + d->num / 2);
		guest_kick(&gu, VU_TX);
	}
	s.stop = true;
	pthread_join(t, NULL);
	printf("  %u chains used, %u with a head that was not checked\n",
	       used_n, bad);
	CHECK(used_n > 0);
	CHECK(bad == 0);
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict("transmit ring broken: chain head out of range");
}

/*
 * A receiver that rewrites its receive descriptors (address, length,
 * flags, link) while the switch writes frames into them, while the pair
 * sends it frames: addresses in its memory, outside it, across its end;
 * lengths from zero up. The switch writes each frame where the
 * descriptor it checked says, inside the guest's memory, or breaks the
 * ring; nothing else (the sanitizers and valgrind runs of this suite see
 * a write anywhere else).
 */
static void *scribble_rx(void *arg)
{
	struct scribbler *s = arg;
	struct vring_driver *d = s->d;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	static const uint16_t flags[] = {
		VRING_DESC_F_WRITE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		VRING_DESC_F_INDIRECT, 0,
	};

	while (!s->stop) {
		uint64_t addr;
		unsigned int i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (unsigned int)(x % d->num);
		/* Mostly what a guest may write (a buffer somewhere in its
		 * receive area, any length, device-writable); one write in
		 * a thousand is not: outside its memory, across its end,
		 * or the wrong flags. */
		if ((x >> 8) % 1000) {
			addr = s->rx_gpa + (x >> 12) % (256 * 2064);
			__atomic_store_n(&d->desc[i].flags,
					 htole16(VRING_DESC_F_WRITE),
					 __ATOMIC_RELAXED);
		} else {
			addr = (x >> 12) % 2 ? (x >> 13) % GUESTMEM_GPA_BASE :
			       GUESTMEM_GPA_BASE + (16u << 20) - 100;
			__atomic_store_n(&d->desc[i].flags,
					 htole16(flags[(x >> 40) % 4]),
					 __ATOMIC_RELAXED);
		}
		__atomic_store_n(&d->desc[i].addr, htole64(addr),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&d->desc[i].len,
				 htole32((uint32_t)((x >> 20) % 3000 + 1)),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&d->desc[i].next,
				 htole16((uint16_t)((x >> 48) % d->num)),
				 __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(test_receiver_rewrites_its_descriptors_while_written)
{
	struct guest_opts o = guest_defaults();
	struct scribbler s = { 0 };
	struct vring_driver *d;
	struct guest gu;
	uint8_t f[1000];
	pthread_t t;
	time_t deadline;
	unsigned int i, sent;

	o.layout = TX_ONE_DESC;	/* one descriptor per receive chain */
	REQUIRE(offender(&gu, &o) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	d = &gu.ring[VU_RX];
	s.d = d;
	s.rx_gpa = gu.rx_gpa;
	REQUIRE(pthread_create(&t, NULL, scribble_rx, &s) == 0);
	deadline = time(NULL) + 20;
	frame_make(f, sizeof(f), gu.mac, good[0].mac, 0);
	for (sent = 0; time(NULL) < deadline && !guest_closed_by_peer(&gu, 0);
	     sent++) {
		uint16_t used = le16toh(__atomic_load_n(&d->used->idx,
							__ATOMIC_ACQUIRE));

		/* Post again what the switch used, as the same heads. */
		for (i = 0; d->avail_idx != (uint16_t)(used + d->num); i++) {
			uint16_t h = (uint16_t)(d->avail_idx & (d->num - 1));

			d->avail->ring[h] = htole16(h);
			d->avail_idx++;
		}
		if (i)
			guest_kick(&gu, VU_RX);
		if (guest_send(&good[0], f, sizeof(f)) < 0)
			break;
	}
	s.stop = true;
	pthread_join(t, NULL);
	printf("  %u frames sent before the ring broke\n", sent);
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	/* Frames sent once the offender was gone flooded to p1. */
	CHECK(guest_tx_done(&good[0]));
	for (i = 0; i < 2; i++)
		while (guest_pending(&good[i]))
			guest_recv(&good[i], f, sizeof(f), 0);
	verdict("receive ring broken: ");
}

/*
 * The Ethernet header is read from the guest once: a guest (a second
 * vCPU) that rewrites the addresses of its frames while the switch
 * forwards them gets delivered exactly the header that was checked. The
 * offender sits on the port whose mac list allows only its own address;
 * a thread keeps rewriting each frame's source (its own, another
 * unicast, a multicast, zero) and destination (either of the pair, or
 * broadcast). Every frame the pair receives must come from the allowed
 * source, and none may reach one of the pair addressed to the other.
 */
struct flipper {
	struct guest *gu;
	unsigned int n;			/* frames, one per ring slot */
	uint8_t src[4][6], dst[3][6];
	volatile bool stop;
};

static void *flip(void *arg)
{
	struct flipper *fl = arg;
	unsigned int k = 0;

	while (!fl->stop) {
		unsigned int i, j;

		for (i = 0; i < fl->n; i++, k++) {
			volatile uint8_t *f = guestmem_ptr(
				&fl->gu->g, fl->gu->tx_gpa + 256 * i +
				fl->gu->hlen, 12);

			for (j = 0; j < 6; j++) {
				f[j] = fl->dst[k % 3][j];
				f[6 + j] = fl->src[k % 4][j];
			}
		}
	}
	return NULL;
}

/* Take what the pair received; count frames with a header the switch
 * must not have let through. */
static void drain_pair(unsigned int *got, unsigned int *bad)
{
	uint8_t f[H_MAX_FRAME], me[6];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		while (guest_pending(&good[i])) {
			int n = guest_recv(&good[i], f, sizeof(f), 0);

			if (n < 12)
				continue;
			/* A frame for the other one of the pair went to
			 * the wrong port. (Torn rewrites make other
			 * destinations too: multicast and unknown ones,
			 * flooded to both.) */
			(*got)++;
			mac_make(me, 0x40);
			if (memcmp(f + 6, me, 6) != 0 ||
			    memcmp(f, good[1 - i].mac, 6) == 0)
				(*bad)++;
		}
	}
}

TEST(test_guest_rewrites_the_ethernet_header_while_read)
{
	static const uint8_t other[6] = { 0x52, 0x54, 0, 0, 0, 0x41 };
	static const uint8_t mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	struct flipper fl = { 0 };
	struct vring_driver *d;
	struct guest gu;
	unsigned int i, got = 0, bad = 0, sent = 0;
	uint8_t f[60];
	pthread_t t;
	time_t deadline;

	snprintf(port, sizeof(port), "locked");
	REQUIRE(guest_connect(&gu, vs_sock(&v, port), NULL, 0x40) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	REQUIRE(guest_tx_done(&gu));
	d = &gu.ring[VU_TX];
	fl.gu = &gu;
	fl.n = d->num;
	memcpy(fl.src[0], gu.mac, 6);
	memcpy(fl.src[1], other, 6);
	memcpy(fl.src[2], mcast, 6);
	memcpy(fl.dst[0], good[0].mac, 6);
	memcpy(fl.dst[1], good[1].mac, 6);
	memcpy(fl.dst[2], mac_broadcast, 6);
	for (i = 0; i < d->num; i++) {
		frame_make(f, sizeof(f), good[0].mac, gu.mac, i);
		guestmem_write(&gu.g, gu.tx_gpa + 256 * i + gu.hlen, f,
			       sizeof(f));
	}
	REQUIRE(pthread_create(&t, NULL, flip, &fl) == 0);
	deadline = time(NULL) + 10;
	while (sent < 200000 && time(NULL) < deadline) {
		uint16_t used = le16toh(__atomic_load_n(&d->used->idx,
							__ATOMIC_ACQUIRE));

		drain_pair(&got, &bad);
		if ((uint16_t)(d->avail_idx - used) > d->num / 2) {
			usleep(50);
			continue;
		}
		for (i = 0; i < d->num / 2; i++) {
			uint16_t h = (uint16_t)((d->avail_idx + i) &
						(d->num - 1));

			set_desc(&d->desc[h], gu.tx_gpa + 256 * h,
				 (uint32_t)(gu.hlen + sizeof(f)), 0, 0);
			d->avail->ring[h] = htole16(h);
		}
		d->avail_idx = (uint16_t)(d->avail_idx + d->num / 2);
		sent += d->num / 2;
		guest_kick(&gu, VU_TX);
	}
	fl.stop = true;
	pthread_join(t, NULL);
	usleep(100000);
	drain_pair(&got, &bad);
	printf("  %u frames sent, %u received, %u with a header that was "
	       "not checked\n", sent, got, bad);
	CHECK(got > 0);
	CHECK(bad == 0);
	/* Nothing says the guest misbehaved but the counters. */
	vs_signal(&v, SIGUSR1);
	CHECK(case_wait_log("port locked: stats"));
	CHECK(vs_stat(&v, "locked", "rx_mac_denied") > 0);
	CHECK(vs_stat(&v, "locked", "rx_bad_src") > 0);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&gu);
	CHECK(vs_alive(&v));
	CHECK(pair_ok());
}

/*
 * The virtio-net header is read from the guest once too: a guest that
 * leaves checksums to the switch (CSUM) and rewrites each frame's header
 * while the switch reads it gets exactly one reading of it used. Each
 * header is cut across two descriptors (5 bytes, then the rest with the
 * frame's first bytes); a thread keeps rewriting it as valid (UDP's
 * checksum at 34 + 6) and as four invalid ones (start past the frame,
 * offset past the frame, start inside the Ethernet header, segmentation
 * asked for). Torn mixes of them are all invalid too. The pair takes
 * checksums left (GUEST_CSUM): every header it is handed must be the
 * valid one; a third guest that does not take them must get every
 * checksum complete. The other readings are dropped and counted, and the
 * offender stays connected.
 */
struct hflipper {
	struct guest *gu;
	unsigned int n;			/* chains, one per slot */
	volatile bool stop;
};

static void *flip_headers(void *arg)
{
	static const uint16_t h[5][3] = {	/* gso_type, start, offset */
		{ 0, 34, 6 }, { 0, 0xfff0, 6 }, { 0, 34, 0xfff0 },
		{ 0, 10, 6 }, { 1, 34, 6 },
	};
	struct hflipper *fl = arg;
	unsigned int k = 0;

	while (!fl->stop) {
		unsigned int i;

		for (i = 0; i < fl->n; i++, k++) {
			volatile uint8_t *p = guestmem_ptr(
				&fl->gu->g, fl->gu->tx_gpa + 256 * i, 12);
			const uint16_t *w = h[k % 5];

			p[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			p[1] = (uint8_t)w[0];
			p[6] = (uint8_t)w[1];
			p[7] = (uint8_t)(w[1] >> 8);
			p[8] = (uint8_t)w[2];
			p[9] = (uint8_t)(w[2] >> 8);
		}
	}
	return NULL;
}

/* Take what the pair and @plain received; count the frames whose header
 * or checksum the switch must not have let through. */
static void drain_offload(struct guest *plain, unsigned int *got,
			  unsigned int *bad)
{
	struct guest *to[3] = { &good[0], &good[1], plain };
	uint8_t f[H_MAX_FRAME];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		while (guest_pending(to[i])) {
			struct virtio_net_hdr h;
			int n = guest_recv_hdr(to[i], &h, f, sizeof(f), 0);

			if (n >= 0 && f[12] != 0x08)
				continue;	/* not the offender's */
			(*got)++;
			if (n < 0 || (i < 2 && (h.flags != 1 ||
						le16toh(h.csum_start) != 34 ||
						le16toh(h.csum_offset) != 6)) ||
			    (i == 2 && (h.flags || !l4_csum_ok(f, (size_t)n))))
				(*bad)++;
		}
	}
}

TEST(test_guest_rewrites_the_offload_header_while_read)
{
	struct guest_opts po = guest_defaults();
	struct hflipper fl = { 0 };
	struct vring_driver *d;
	struct guest gu, plain;
	struct virtio_net_hdr vh;
	unsigned int i, got = 0, bad = 0, sent = 0, nch;
	uint8_t f[256];
	size_t len;
	pthread_t t;
	time_t deadline;
	char off_port[16], plain_port[16];

	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(gu.features & (1ULL << VIRTIO_NET_F_CSUM));
	snprintf(off_port, sizeof(off_port), "%s", port);
	po.features &= ~(1ULL << VIRTIO_NET_F_GUEST_CSUM);
	fresh_port();
	snprintf(plain_port, sizeof(plain_port), "%s", port);
	REQUIRE(guest_connect(&plain, vs_sock(&v, plain_port), &po,
			      0x41) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	REQUIRE(guest_recv(&plain, f, sizeof(f), H_TIMEOUT_MS) > 0);
	REQUIRE(guest_tx_done(&gu));
	d = &gu.ring[VU_TX];
	fl.gu = &gu;
	nch = fl.n = d->num / 2;		/* two descriptors a chain */
	len = l4_frame(f, mac_broadcast, gu.mac, false, 17, 100, 7, &vh);
	for (i = 0; i < nch; i++) {
		guestmem_write(&gu.g, gu.tx_gpa + 256 * i, &vh, gu.hlen);
		guestmem_write(&gu.g, gu.tx_gpa + 256 * i + gu.hlen, f, len);
	}
	REQUIRE(pthread_create(&t, NULL, flip_headers, &fl) == 0);
	deadline = time(NULL) + 10;
	while (sent < 50000 && time(NULL) < deadline) {
		uint16_t used = le16toh(__atomic_load_n(&d->used->idx,
							__ATOMIC_ACQUIRE));

		drain_offload(&plain, &got, &bad);
		if (used != d->avail_idx) {
			usleep(50);
			continue;
		}
		for (i = 0; i < nch; i++) {
			uint16_t h = (uint16_t)((d->avail_idx + i) & (nch - 1));
			uint64_t a = gu.tx_gpa + 256 * h;

			set_desc(&d->desc[2 * h], a, 5, VRING_DESC_F_NEXT,
				 (uint16_t)(2 * h + 1));
			set_desc(&d->desc[2 * h + 1], a + 5,
				 (uint32_t)(gu.hlen + len - 5), 0, 0);
			d->avail->ring[(d->avail_idx + i) & (d->num - 1)] =
				htole16((uint16_t)(2 * h));
		}
		d->avail_idx = (uint16_t)(d->avail_idx + nch);
		sent += nch;
		guest_kick(&gu, VU_TX);
	}
	fl.stop = true;
	pthread_join(t, NULL);
	usleep(100000);
	drain_offload(&plain, &got, &bad);
	printf("  %u frames sent, %u received, %u with a header or checksum "
	       "that was not checked\n", sent, got, bad);
	CHECK(got > 0);
	CHECK(bad == 0);
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(off_port) && case_stats(plain_port));
	CHECK(vs_stat(&v, off_port, "rx_csum_partial") > 0);
	CHECK(vs_stat(&v, off_port, "rx_bad_header") > 0);
	CHECK(vs_stat(&v, plain_port, "tx_csum_completed") > 0);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&plain);
	guest_close(&gu);
	CHECK(vs_alive(&v));
	CHECK(pair_ok());
}

/*
 * Segmentation asked for in every way it must not be: each frame is
 * dropped and counted, with one line naming the field, and the offender
 * stays connected.
 */
TEST(test_bad_segmentation_headers_cost_a_frame)
{
	static const char *const why[] = {
		"asks for segments of 0 bytes",
		"asks for a segmentation other than TCP's",
		"asks for segmentation without NEEDS_CSUM",
		"puts TCP's checksum elsewhere than in its header",
		"asks for TCPv4 segmentation of a frame that is not IPv4",
		"asks for segmentation of a frame whose TCP header is cut short",
		"asks for segmentation that was not negotiated",
	};
	struct guest_opts o = guest_defaults();
	static uint8_t f[H_MAX_FRAME];
	struct virtio_net_hdr h;
	struct guest gu;
	unsigned int c;
	size_t len;

	o.features &= ~(1ULL << VIRTIO_NET_F_HOST_ECN);
	REQUIRE(offender(&gu, &o) == 0);
	REQUIRE(announce_port(&gu, good, 2, seq++) == 0);
	for (c = 0; c < sizeof(why) / sizeof(why[0]); c++) {
		char needle[160];

		len = l4_frame(f, good[0].mac, gu.mac, false, 6, 5000, c, &h);
		l4_tso(&h, f, 1400);
		switch (c) {
		case 0: h.gso_size = 0; break;
		case 1: h.gso_type = VIRTIO_NET_HDR_GSO_UDP; break;
		case 2: h.flags = 0; break;
		case 3: h.csum_offset = htole16(6); break;
		case 4: h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			len = l4_frame(f, good[0].mac, gu.mac, true, 6, 5000,
				       c, NULL);
			break;
		case 5: f[34 + 12] = 0xf0; len = 34 + 40; break;
		default: h.gso_type |= VIRTIO_NET_HDR_GSO_ECN; break;
		}
		REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
		snprintf(needle, sizeof(needle), "port %s: dropped a %zu-byte "
			 "frame: its virtio-net header %s", port, len, why[c]);
		CHECK(case_wait_log(needle));
	}
	CHECK(guest_tx_done(&gu));
	CHECK(!guest_pending(&good[0]));
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(port));
	CHECK(vs_stat(&v, port, "rx_bad_header") == (long long)c);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&gu);
	CHECK(pair_ok());
}

/*
 * A 64 KB TSO frame cut into segments of one byte, to a receiver that
 * takes no segmentation and never empties its ring, and a whole one to a
 * receiver that takes them but not in mergeable buffers, and posts
 * buffers of 2 KB, and to one that takes them in mergeable buffers of 48
 * bytes: the first gets what fits, the rest is dropped and counted; the
 * others get nothing, counted; meanwhile and afterwards the pair
 * forwards as ever.
 */
TEST(test_tso_frames_into_receivers_that_cannot_take_them)
{
	struct guest_opts so = guest_defaults(), to = guest_defaults();
	struct guest_opts mo = guest_defaults();
	static uint8_t f[H_MAX_FRAME];
	struct virtio_net_hdr h;
	struct guest gu, sink, tiny, crumbs;
	char sink_port[16], tiny_port[16], crumbs_port[16];
	size_t len;

	REQUIRE(offender(&gu, NULL) == 0);
	so.features &= ~((1ULL << VIRTIO_NET_F_GUEST_TSO4) |
			 (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			 (1ULL << VIRTIO_NET_F_GUEST_ECN));
	fresh_port();
	snprintf(sink_port, sizeof(sink_port), "%s", port);
	REQUIRE(guest_connect(&sink, vs_sock(&v, sink_port), &so, 0x41) == 0);
	to.features &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	fresh_port();
	snprintf(tiny_port, sizeof(tiny_port), "%s", port);
	REQUIRE(guest_connect(&tiny, vs_sock(&v, tiny_port), &to, 0x42) == 0);
	mo.rxbuf = 48;
	fresh_port();
	snprintf(crumbs_port, sizeof(crumbs_port), "%s", port);
	REQUIRE(guest_connect(&crumbs, vs_sock(&v, crumbs_port), &mo,
			      0x43) == 0);
	REQUIRE(announce_port(&sink, good, 2, seq++) == 0);
	REQUIRE(announce_port(&tiny, good, 2, seq++) == 0);
	REQUIRE(announce_port(&crumbs, good, 2, seq++) == 0);
	len = l4_frame(f, sink.mac, gu.mac, false, 6, BIG_V4, 1, &h);
	l4_tso(&h, f, 1);
	REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
	CHECK(pair_ok());
	len = l4_frame(f, tiny.mac, gu.mac, true, 6, BIG_V6, 2, &h);
	l4_tso(&h, f, 1400);
	REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
	len = l4_frame(f, crumbs.mac, gu.mac, false, 6, BIG_V4, 3, &h);
	l4_tso(&h, f, 1400);
	REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
	CHECK(guest_tx_done(&gu));
	CHECK(pair_ok());
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(sink_port) && case_stats(tiny_port) &&
	      case_stats(crumbs_port));
	CHECK(vs_stat(&v, sink_port, "tx_segmented") == 1);
	CHECK(vs_stat(&v, sink_port, "tx_packets") > 100);
	CHECK(vs_stat(&v, sink_port, "tx_no_buffer") == 1);
	CHECK(vs_stat(&v, tiny_port, "tx_small_buffer") == 1);
	/* 48-byte buffers: more pieces than the switch gathers, or than
	 * the ring holds. */
	CHECK(vs_stat(&v, crumbs_port, "tx_small_buffer") +
	      vs_stat(&v, crumbs_port, "tx_no_buffer") == 1);
	CHECK(!guest_closed_by_peer(&crumbs, 0));
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&crumbs);
	guest_close(&tiny);
	guest_close(&sink);
	guest_close(&gu);
	CHECK(vs_alive(&v));
	CHECK(pair_ok());
}

/*
 * A 64 KB TSO frame cut into 65,000 segments of one byte, to a receiver
 * that takes neither segmentation nor checksums and empties its ring as
 * it goes: every segment arrives once, in order, exactly as the
 * reference makes it; while the frame is part way through (the
 * receiver's ring full, the rest of the frame waiting), the pair
 * forwards, many times over.
 */
TEST(test_65000_segments_do_not_stall_other_ports)
{
	struct guest_opts so = guest_defaults();
	static uint8_t f[H_MAX_FRAME], got[128], want[128];
	struct virtio_net_hdr h;
	struct guest gu, sink;
	char sink_port[16];
	unsigned int i, pairs = 0, bad = 0;
	size_t len, wl;
	int n;

	REQUIRE(offender(&gu, NULL) == 0);
	so.features &= ~((1ULL << VIRTIO_NET_F_GUEST_TSO4) |
			 (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
			 (1ULL << VIRTIO_NET_F_GUEST_ECN) |
			 (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	fresh_port();
	snprintf(sink_port, sizeof(sink_port), "%s", port);
	REQUIRE(guest_connect(&sink, vs_sock(&v, sink_port), &so, 0x41) == 0);
	REQUIRE(announce_port(&sink, good, 2, seq++) == 0);
	len = l4_frame(f, sink.mac, gu.mac, false, 6, BIG_V4, 7, &h);
	l4_tso(&h, f, 1);
	REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
	for (i = 0; i < BIG_V4; i++) {
		/* Each time the receiver's ring has filled (and at the
		 * start), the rest of the frame waits and the pair goes
		 * on. */
		if (i % so.qsz == 0 && pair_ok())
			pairs++;
		n = guest_recv(&sink, got, sizeof(got), H_TIMEOUT_MS);
		wl = l4_segment(f, len, 1, i, false, want);
		if (n < 0 || (size_t)n != wl || memcmp(got, want, wl) != 0 ||
		    !l4_csum_ok(got, (size_t)n)) {
			fprintf(stderr, "  segment %u (%d bytes) is not "
				"the reference's (%zu bytes)\n", i, n, wl);
			bad++;
			if (n < 0)
				break;
		}
	}
	CHECK(bad == 0);
	CHECK(pairs == (BIG_V4 + so.qsz - 1) / so.qsz);
	CHECK(l4_segment(f, len, 1, BIG_V4, false, want) == 0);
	CHECK(guest_tx_done(&gu));
	CHECK(!guest_pending(&sink));
	vs_signal(&v, SIGUSR1);
	CHECK(case_stats(sink_port));
	CHECK(vs_stat(&v, sink_port, "tx_segmented") == 1);
	CHECK(vs_stat(&v, sink_port, "tx_packets") == BIG_V4);
	CHECK(vs_stat(&v, sink_port, "tx_csum_completed") == BIG_V4);
	CHECK(vs_stat(&v, sink_port, "tx_no_buffer") == 0);
	CHECK(!guest_closed_by_peer(&gu, 0));
	guest_close(&sink);
	guest_close(&gu);
	CHECK(vs_alive(&v));
	CHECK(pair_ok());
}

/* ---- guest memory that vanishes ---- */

TEST(test_memory_truncated_under_a_sender)
{
	struct guest gu;
	struct vring_seg s;

	/* The chain is posted, then the file shrinks: the switch's access
	 * faults (SIGBUS) and only this port goes. */
	REQUIRE(offender(&gu, NULL) == 0);
	s = (struct vring_seg){ gu.tx_gpa, 80, false };
	REQUIRE(vring_driver_add(&gu.ring[VU_TX], &s, 1, false) >= 0);
	vring_driver_kick(&gu.ring[VU_TX]);
	REQUIRE(ftruncate(gu.g.fd, 0) == 0);
	{
		uint64_t one = 1;

		CHECK(write(gu.kick[VU_TX], &one, 8) == 8);
	}
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict("broken: guest memory lost its backing (SIGBUS)");
}

/*
 * The same without EVENT_IDX: the switch then writes used->flags to turn
 * the guest's kicks off and on, and that store into vanished memory
 * faults as well. Once the port is broken nothing may touch its rings
 * again, or the switch faults on the same store for ever.
 */
TEST(test_memory_truncated_under_a_sender_without_event_idx)
{
	struct guest_opts o = guest_defaults();
	struct guest gu;
	struct vring_seg s;
	uint64_t one = 1;

	o.features &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
	REQUIRE(offender(&gu, &o) == 0);
	s = (struct vring_seg){ gu.tx_gpa, 80, false };
	REQUIRE(vring_driver_add(&gu.ring[VU_TX], &s, 1, false) >= 0);
	vring_driver_kick(&gu.ring[VU_TX]);
	REQUIRE(ftruncate(gu.g.fd, 0) == 0);
	CHECK(write(gu.kick[VU_TX], &one, 8) == 8);
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict("broken: guest memory lost its backing (SIGBUS)");
}

TEST(test_memory_truncated_under_a_receiver)
{
	struct guest gu;
	uint8_t f[100];

	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(ftruncate(gu.g.fd, 0) == 0);
	/* A broadcast: delivering to the offender faults. */
	frame_make(f, 60, mac_broadcast, good[0].mac, seq);
	REQUIRE(guest_send(&good[0], f, 60) == 0);
	CHECK(guest_recv(&good[1], f, sizeof(f), H_TIMEOUT_MS) == 60);
	seq++;
	CHECK(guest_closed_by_peer(&gu, H_TIMEOUT_MS));
	guest_close(&gu);
	verdict("broken: guest memory lost its backing (SIGBUS)");
}

/* ---- frames ---- */

TEST(test_frame_larger_than_the_mtu)
{
	struct guest gu;
	uint64_t mtu = 1000;
	uint8_t f[1500];

	REQUIRE(offender(&gu, NULL) == 0);
	REQUIRE(vu_fe_request(&gu.fe, VHOST_USER_NET_SET_MTU, &mtu, 8, NULL, 0,
			      NULL) == 0);
	frame_make(f, 1500, good[0].mac, gu.mac, seq++);
	REQUIRE(guest_send(&gu, f, 1500) == 0);
	REQUIRE(guest_tx_done(&gu));
	guest_close(&gu);
	verdict("dropped a 1500-byte frame: over its MTU 1000 + 18");
}

TEST(test_runt_frame)
{
	struct guest gu;
	uint8_t f[18];

	REQUIRE(offender(&gu, NULL) == 0);
	frame_make(f, sizeof(f), good[0].mac, gu.mac, seq++);
	REQUIRE(guest_send(&gu, f, 10) == 0);
	REQUIRE(guest_tx_done(&gu));
	guest_close(&gu);
	verdict("dropped a 22-byte frame: shorter than the 26-byte virtio-net "
		"and Ethernet headers");
}

TEST(test_same_error_a_million_times)
{
	struct guest gu;
	uint8_t f[18];
	char needle[64];
	time_t t0;
	long secs;
	int i, lines;

	REQUIRE(offender(&gu, NULL) == 0);
	frame_make(f, sizeof(f), good[0].mac, gu.mac, 0);
	t0 = time(NULL);
	for (i = 0; i < 1000000; i++)
		if (guest_send(&gu, f, 10) < 0)
			break;
	CHECK(i == 1000000);
	REQUIRE(guest_tx_done(&gu));
	guest_close(&gu);
	snprintf(needle, sizeof(needle), "port %s: front-end disconnected",
		 port);
	CHECK(case_wait_log(needle));
	snprintf(needle, sizeof(needle), "port %s: dropped a", port);
	lines = case_log_count(needle);
	secs = (long)(time(NULL) - t0) + 1;
	printf("  %d log lines for a million runt frames in %ld s\n", lines,
	       secs);
	/* 20 at once (connected and up took two), then two a second. */
	CHECK(lines >= 1 && lines <= 20 + 2 * secs);
	CHECK(pair_ok());
}

int main(int argc, char **argv)
{
	long fds0, maps0;

	if (argc != 2) {
		fprintf(stderr, "usage: hostile PATH-TO-VSWITCH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* p0..p62, and one port whose mac list allows only the
	 * offenders' own address. */
	if (vs_start(&v, argv[1], NPORTS - 1,
		     "[port locked]\nmac = 52:54:00:00:00:40\n", NULL) < 0 ||
	    guest_connect(&good[0], vs_sock(&v, "p0"), NULL, 1) < 0 ||
	    guest_connect(&good[1], vs_sock(&v, "p1"), NULL, 2) < 0 ||
	    announce_port(&good[0], &good[1], 1, 0) < 0 ||
	    announce_port(&good[1], &good[0], 1, 0) < 0) {
		fprintf(stderr, "cannot start the switch and the pair\n");
		return 1;
	}
	fds0 = vs_fds(&v);
	maps0 = vs_maps(&v);

	RUN(test_header_cut_short);
	RUN(test_size_larger_than_the_payload_sent);
	RUN(test_size_wrong_for_the_request);
	RUN(test_truncated_memory_table);
	RUN(test_payload_over_the_largest);
	RUN(test_unknown_request);
	RUN(test_wrong_version_bits);
	RUN(test_reply_flag_on_a_request);
	RUN(test_missing_fd);
	RUN(test_extra_fds_are_all_closed);
	RUN(test_more_fds_than_any_message_takes);
	RUN(test_fds_in_the_middle_of_a_message);
	RUN(test_fd_that_cannot_be_mapped);
	RUN(test_ring_index_out_of_range_num);
	RUN(test_ring_index_out_of_range_addr);
	RUN(test_ring_index_out_of_range_base);
	RUN(test_ring_index_out_of_range_get_base);
	RUN(test_ring_index_out_of_range_kick);
	RUN(test_ring_index_out_of_range_call);
	RUN(test_ring_index_out_of_range_err);
	RUN(test_ring_index_out_of_range_enable);
	RUN(test_kick_before_the_memory_table);
	RUN(test_kick_before_the_ring_addresses);
	RUN(test_need_reply_on_every_request_works);
	RUN(test_flood_of_messages);
	RUN(test_flood_of_requests_never_reading_replies);
	RUN(test_too_many_regions);
	RUN(test_region_of_size_zero);
	RUN(test_overlapping_regions);
	RUN(test_offset_plus_size_overflows);
	RUN(test_region_larger_than_its_file);
	RUN(test_region_in_a_read_only_file);
	RUN(test_regions_replaced_while_rings_run);
	RUN(test_ring_outside_every_region);
	RUN(test_ring_straddling_a_region_end);
	RUN(test_kick_fd_that_is_not_an_eventfd);
	RUN(test_call_fd_pipe_nobody_reads);
	RUN(test_ring_size_zero);
	RUN(test_ring_size_not_a_power_of_two);
	RUN(test_ring_size_over_32768);
	RUN(test_head_out_of_range);
	RUN(test_next_out_of_range);
	RUN(test_descriptor_loop);
	RUN(test_chain_longer_than_the_ring);
	RUN(test_loop_inside_an_indirect_table);
	RUN(test_nested_indirect);
	RUN(test_indirect_length_not_a_multiple_of_16);
	RUN(test_indirect_table_larger_than_the_ring);
	RUN(test_zero_length_descriptor);
	RUN(test_4_gib_descriptor);
	RUN(test_address_that_wraps);
	RUN(test_writable_descriptor_in_a_transmit_chain);
	RUN(test_avail_index_jumps_past_the_ring);
	RUN(test_readable_descriptor_in_a_receive_chain);
	RUN(test_receive_buffer_outside_memory);
	RUN(test_transmit_chain_in_too_many_pieces_costs_a_frame);
	RUN(test_receive_buffers_in_too_many_pieces_cost_a_frame);
	RUN(test_guest_rewrites_descriptors_while_read);
	RUN(test_guest_rewrites_the_avail_ring_while_read);
	RUN(test_receiver_rewrites_its_descriptors_while_written);
	RUN(test_guest_rewrites_the_ethernet_header_while_read);
	RUN(test_guest_rewrites_the_offload_header_while_read);
	RUN(test_bad_segmentation_headers_cost_a_frame);
	RUN(test_tso_frames_into_receivers_that_cannot_take_them);
	RUN(test_65000_segments_do_not_stall_other_ports);
	RUN(test_memory_truncated_under_a_sender);
	RUN(test_memory_truncated_under_a_sender_without_event_idx);
	RUN(test_memory_truncated_under_a_receiver);
	RUN(test_frame_larger_than_the_mtu);
	RUN(test_runt_frame);
	RUN(test_same_error_a_million_times);

	/* Everything every offender brought is gone. */
	test_current = "test_nothing_left_behind";
	test_case_failed = 0;
	CHECK(vs_fds(&v) == fds0);
	CHECK(vs_maps(&v) == maps0);
	if (vs_fds(&v) != fds0 || vs_maps(&v) != maps0)
		fprintf(stderr, "  fds %ld -> %ld, mappings %ld -> %ld\n",
			fds0, vs_fds(&v), maps0, vs_maps(&v));
	CHECK(vs_stop(&v) == 0);
	if (test_case_failed)
		test_failed++, printf("FAIL test_nothing_left_behind\n");
	else
		test_passed++, printf("ok   test_nothing_left_behind\n");
	guest_close(&good[0]);
	guest_close(&good[1]);
	return test_summary();
}
