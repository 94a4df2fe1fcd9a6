/*
 * libFuzzer target: the vhost-user message dispatcher (proto/backend.c).
 *
 * The input is a sequence of messages as a front-end would send them on
 * one connection. Each one is a descriptor byte, a 12-byte header and as
 * many payload bytes as the header's size asks for:
 *
 *   byte 0:    bits 0-3: how many file descriptors come with it (0..15;
 *              more than VU_MAX_FDS is what the loop refuses before
 *              dispatch, so the connection ends there);
 *              bits 4-7: which kinds, rotating through kinds[] below
 *   bytes 1-12 the header (request, flags, size; host byte order)
 *   then       the payload
 *
 * The loop's rules are followed: a header that fails vu_check_header(), a
 * message cut short, or an error from vu_dev_handle() ends the connection
 * (vu_dev_reset) and the rest of the input starts a new one.
 *
 * Checked beyond the sanitizers: every descriptor passed in is consumed
 * (none leaks, none is closed twice: the lowest free descriptor number is
 * the same after an input as before it); a reply fits its buffer; every mapped
 * region can be read at both ends (a region beyond the end of its file
 * would raise SIGBUS here); a kick fd handed to the loop is open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "../../proto/vhost_user.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG_MEM   (1u << 20)
#define SMALL_MEM 4096u

/* One of each kind of descriptor a front-end could send; dup'ed per use. */
enum { K_MEMFD, K_SMALL_MEMFD, K_EVENTFD, K_PIPE_R, K_PIPE_W, K_DEVNULL,
       K_DIR, K_SOCKET, K_NKINDS };
static int kinds[K_NKINDS];

static void die(const char *what)
{
	perror(what);
	abort();
}

static int make_memfd(size_t size)
{
	int fd = memfd_create("fuzz-guest", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd");
	return fd;
}

static int lowest_free_fd(void)
{
	int fd = fcntl(kinds[0], F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		die("dup");
	close(fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2], s[2];

	(void)argc;
	(void)argv;
	kinds[K_MEMFD] = make_memfd(BIG_MEM);
	kinds[K_SMALL_MEMFD] = make_memfd(SMALL_MEM);
	kinds[K_EVENTFD] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe");
	kinds[K_PIPE_R] = p[0];
	kinds[K_PIPE_W] = p[1];
	kinds[K_DEVNULL] = open("/dev/null", O_RDWR | O_CLOEXEC);
	kinds[K_DIR] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
		die("socketpair");
	kinds[K_SOCKET] = s[0];
	for (int i = 0; i < K_NKINDS; i++)
		if (kinds[i] < 0)
			die("descriptor kinds");
	return 0;
}

/* watch_kick and set_call: the loop would watch it or write to it. */
static void op_ring_fd(void *o, unsigned int q, int fd)
{
	(void)o;
	if (q >= VU_NUM_VQ)
		abort();
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
		abort();	/* a closed descriptor */
}

static void op_up(void *o) { (void)o; }
static void op_down(void *o) { (void)o; }
static void op_rarp(void *o, const uint8_t mac[6]) { (void)o; (void)mac; }
static void op_notice(void *o, const char *m) { (void)o; (void)m; }

static const struct vu_ops ops = {
	op_ring_fd, op_ring_fd, op_up, op_down, op_rarp, op_notice,
};

/* What a successful message may leave behind: check it holds. */
static void check_state(const struct vu_dev *dev, const struct vu_msg *reply)
{
	volatile uint8_t sink;

	if (reply->hdr.request && reply->hdr.size > VU_MAX_PAYLOAD)
		abort();
	for (unsigned int i = 0; i < dev->mem.nregions; i++) {
		const struct mem_region *r = &dev->mem.region[i];

		if (!r->size)
			abort();
		sink = r->host[0];
		sink = r->host[r->size - 1];
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_dev dev;
	static struct vu_msg msg, reply;
	int free_fd = lowest_free_fd();
	size_t at = 0;

	vu_dev_init(&dev, &ops, NULL, 0);
	while (size - at >= 1 + sizeof(struct vu_hdr)) {
		unsigned int nfds = data[at] & 15, kind = data[at] >> 4;
		int fds[16];
		const char *why;
		int err;

		at++;
		memset(&msg, 0, sizeof(msg));
		memcpy(&msg.hdr, data + at, sizeof(msg.hdr));
		at += sizeof(msg.hdr);
		if (nfds > VU_MAX_FDS || vu_check_header(&msg.hdr, &why) < 0 ||
		    msg.hdr.size > size - at) {
			vu_dev_reset(&dev);
			continue;
		}
		memcpy(msg.payload.raw, data + at, msg.hdr.size);
		at += msg.hdr.size;
		for (unsigned int i = 0; i < nfds; i++) {
			fds[i] = fcntl(kinds[(kind + i) % K_NKINDS],
				       F_DUPFD_CLOEXEC, 0);
			if (fds[i] < 0)
				die("dup");
		}
		/* What the debug log says of it, as the loop does: reads
		 * only what the payload covers (ASan), never runs over. */
		{
			char what[900];

			if (strlen(vu_msg_describe(&msg, what, sizeof(what))) >=
			    sizeof(what))
				abort();
		}
		err = vu_dev_handle(&dev, &msg, fds, nfds, &reply);
		check_state(&dev, &reply);
		if (err)
			vu_dev_reset(&dev);
	}
	vu_dev_reset(&dev);
	if (lowest_free_fd() != free_fd)
		abort();	/* a descriptor leaked */
	return 0;
}
