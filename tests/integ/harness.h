/*
 * Integration harness: runs the real ./vswitch and plays guests against it
 * with the project's own front-end (proto/frontend.c) and the driver side
 * of vring/, over UNIX sockets, memfd guest memory and real eventfds.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../proto/vhost_user.h"
#include "../../vring/vring.h"
#include "../lib/guestmem.h"

#define H_TIMEOUT_MS 5000	/* how long to wait for anything to happen */
#define H_QSZ_MAX 1024
#define H_MAX_FRAME 65600	/* largest frame a test sends (64 KB of IP) */

/* ---- the switch ---- */

struct vs {
	pid_t pid;
	char dir[64];		/* private directory: config, sockets, log */
	char log[96];
	char cfg[96];
};

/*
 * vs_start - write a configuration with @nports server ports p0..pN-1
 * plus @extra (more INI text, may be NULL), start @bin on it with @env
 * added to the environment (NULL or "NAME=value"), and wait for the
 * server sockets. Return: 0 or -1. The private directory is removed at
 * exit, unless INTEG_KEEP is set in the environment.
 */
int vs_start(struct vs *v, const char *bin, unsigned int nports,
	     const char *extra, const char *env);

/* vs_start with @sw (may be NULL) added to the [switch] section. */
int vs_start_sw(struct vs *v, const char *bin, const char *sw,
		unsigned int nports, const char *extra, const char *env);

/* From /proc: open fds, memory mappings, resident KiB, the "Uid:" line's
 * real uid; -1 when unreadable. */
long vs_fds(const struct vs *v);
long vs_maps(const struct vs *v);
long vs_rss_kb(const struct vs *v);
long vs_uid(const struct vs *v);

/* vs_stop - SIGTERM and wait. Return: exit status, or -1 if it did not
 * exit normally (crash, timeout). */
int vs_stop(struct vs *v);

/*
 * vs_run_config - run @bin on a configuration of @text (in a fresh
 * directory, which the text may name as @DIR@) and wait for it to exit;
 * its output is copied to @out. Return: its exit status, or -1.
 */
int vs_run_config(const char *bin, const char *text, char *out,
		  size_t size);

bool vs_alive(const struct vs *v);

/* Voluntary context switches of the running switch, from /proc: a
 * process that does not wake up does not add any. */
long vs_wakeups(const struct vs *v);

/* CPU time the switch has used so far, in nanoseconds (the first field
 * of /proc/PID/schedstat); -1 when unreadable. A switch stuck in a loop
 * adds about as much as the wall clock does. */
long long vs_cpu_ns(const struct vs *v);
void vs_signal(const struct vs *v, int sig);

/* Path of port @name's socket. */
const char *vs_sock(const struct vs *v, const char *name);

/* Does the log contain @needle? vs_wait_log waits for it. */
bool vs_log_has(const struct vs *v, const char *needle);
bool vs_wait_log(const struct vs *v, const char *needle);

/* How many times does @needle occur in the log? */
int vs_log_count(const struct vs *v, const char *needle);

/* vs_wait_log_count - wait (H_TIMEOUT_MS at most) until the log holds
 * @needle @n times; how many times it does (lines are written by the
 * switch's loop, a moment after what they tell). */
int vs_wait_log_count(const struct vs *v, const char *needle, int n);

/* A counter from port @port's statistics line at shutdown; -1 if none. */
long long vs_stat(const struct vs *v, const char *port, const char *key);

/* ---- a guest ---- */

enum tx_layout {
	TX_ONE_DESC,	/* header and frame in one descriptor */
	TX_HDR_APART,	/* header alone, then the frame (legacy layout) */
	TX_INDIRECT,	/* header and frame in pieces, in an indirect table */
	TX_MIXED,	/* each of the above in turn */
};

/*
 * One part of one ring that can be made to vanish (guest_opts.victim):
 * it lies in a memory region of its own, backed by a file of its own,
 * and guest_cut_victim() shrinks that file under the switch. Everything
 * else stays in the main region.
 */
enum victim_part {
	VICTIM_NONE,		/* no victim: one file, as always */
	VICTIM_DESC,		/* the descriptor table */
	VICTIM_AVAIL,		/* the avail ring: flags, idx, entries and
				 * used_event after them */
	VICTIM_USED_EVENT,	/* used_event alone: the avail ring ends at a
				 * page boundary, the word starts the next
				 * page, and only that page goes */
	VICTIM_USED,		/* the used ring, avail_event included */
	VICTIM_AVAIL_EVENT,	/* avail_event alone, as used_event */
	VICTIM_INDIRECT,	/* the indirect tables; every chain on the
				 * ring is indirect */
	VICTIM_BUFFERS,		/* the frames' buffers; each header is in a
				 * descriptor of its own, in the main region */
	VICTIM_HEADERS,		/* the virtio-net headers, each in a
				 * descriptor of its own; frames stay */
};

struct guest_opts {
	uint64_t features;	/* acked as far as offered */
	uint64_t protocol;	/* protocol features to ack */
	unsigned int nregions;	/* 1, or up to 8 for tiny regions */
	unsigned int qsz;	/* ring size */
	size_t rxbuf;		/* receive buffer size */
	enum tx_layout layout;
	bool no_enable;		/* stop before SET_VRING_ENABLE */
	bool rx_later;		/* no receive buffers until guest_fill_rx() */
	bool pipe_kicks;	/* kick through pipes, not eventfds */
	/* With a victim, memory is two regions in two files, the main
	 * one as without (nregions is ignored) and the victim's. */
	enum victim_part victim;
	unsigned int victim_q;	/* its ring: VU_RX or VU_TX */
};

/* guest_fill_rx - post every receive buffer the ring has room for (as a
 * driver does when its interface comes up), and kick. */
struct guest;
void guest_fill_rx(struct guest *gu);

/* Features like QEMU's guest: everything offered. */
#define GUEST_ALL_FEATURES VU_FEATURES
#define GUEST_ALL_PROTOCOL VU_PROTOCOL_FEATURES

/* Defaults for everything not set: 8 MiB in one region, rings of 256,
 * 2048-byte receive buffers, every feature, mixed layouts. */
struct guest_opts guest_defaults(void);

struct guest {
	struct guest_opts o;
	struct guestmem g;
	int sock;
	struct vu_fe fe;
	uint64_t features;
	size_t hlen;
	uint8_t mac[6];
	struct vring_driver ring[VU_NUM_VQ];
	uint16_t ndesc[VU_NUM_VQ][H_QSZ_MAX];
	uint64_t desc_gpa[VU_NUM_VQ], avail_gpa[VU_NUM_VQ], used_gpa[VU_NUM_VQ];
	uint64_t ind_gpa[VU_NUM_VQ];
	uint64_t hdr_gpa[VU_NUM_VQ];	/* headers kept apart (victims) */
	uint64_t rx_gpa, tx_gpa;	/* buffer areas */
	uint64_t rx_buf_of[H_QSZ_MAX];	/* by head */
	bool victim_cut;		/* guest_cut_victim() done */
	unsigned int rx_next_slot;
	int kick[VU_NUM_VQ];		/* written to kick */
	int kick_dev[VU_NUM_VQ];	/* given to the device: the same
					 * eventfd, or the pipe's read end */
	int call[VU_NUM_VQ];
	unsigned int sent;
};

/*
 * guest_connect - connect to @path (waiting for it to appear), do the
 * handshake (SEED steps 3-5) with @o (NULL: defaults), post receive
 * buffers, and start both rings. The guest's MAC is 52:54:00:00:00:@id.
 * Return: 0 or a negative errno.
 */
int guest_connect(struct guest *gu, const char *path,
		  const struct guest_opts *o, uint8_t id);

/* guest_attach - the same on an already connected socket (client-mode
 * ports: the test listened and vswitch connected). */
int guest_attach(struct guest *gu, int sock, const struct guest_opts *o,
		 uint8_t id);

/* SET_VRING_ENABLE for both rings, for guests connected with no_enable. */
int guest_enable(struct guest *gu);

/* SET_VRING_ENABLE @on for ring @q alone, then a round trip. */
int guest_enable_ring(struct guest *gu, unsigned int q, bool on);

/* Wait until the switch has given back every transmit buffer. */
bool guest_tx_done(struct guest *gu);

/* The same without waiting: has it, right now? */
bool guest_tx_reaped(struct guest *gu);

/* @a and @b have no frame waiting, and exchange one each way (600 and
 * 1514 bytes, sequence numbers *@seq on, which it advances); what a
 * well-behaved pair must still do after anything a test did. */
bool pair_exchanges(struct guest *a, struct guest *b, uint32_t *seq);

/* @from sends a broadcast that each of @others[0..n-1] must receive.
 * Return: 0 or -1. */
int announce_port(struct guest *from, struct guest *others, unsigned int n,
		  uint32_t seq);

/* Send a frame (after an all-zero virtio-net header); kicks when the
 * device wants it. Return: 0, or a negative errno. */
int guest_send(struct guest *gu, const uint8_t *frame, size_t len);

/* guest_send after the virtio-net header @h, as it is (fields
 * little-endian; its first hlen bytes). */
int guest_send_hdr(struct guest *gu, const struct virtio_net_hdr *h,
		   const uint8_t *frame, size_t len);

/* guest_queue - guest_send without publishing: the chain is in the avail
 * ring, but the switch cannot see it before guest_publish(). */
int guest_queue(struct guest *gu, const uint8_t *frame, size_t len);

/* Publish what was added to ring @q, and do not kick even if the device
 * asks for it. */
void guest_publish(struct guest *gu, unsigned int q);

/* Kick ring @q whether or not the device asked for it: writes the kick
 * fd, and reads nothing in guest memory. */
void guest_notify(struct guest *gu, unsigned int q);

/*
 * guest_cut_victim - shrink the victim's file (guest_opts.victim) under
 * the switch: to nothing, or for the two event words to the page
 * boundary their ring ends at, so that only the word vanishes. From
 * then on the harness no longer writes transmit headers (frames go
 * after whatever header was there); the test must not
 * use any other part of the victim again: with the memory gone it
 * would fault, here as in the switch.
 * Return: 0, -EINVAL (no victim) or a negative errno.
 */
int guest_cut_victim(struct guest *gu);

/*
 * guest_recv - wait up to @timeout_ms for a frame and copy it (header
 * stripped, mergeable buffers joined) to @buf, or with @buf NULL only
 * check its header and measure it. Receive buffers are posted again.
 * Return: the frame length, -ETIMEDOUT, or another negative errno when
 * what the switch wrote is malformed (-EPROTO: a header the guest did not
 * negotiate, or a checksum to complete outside the frame).
 * guest_recv_hdr - the same, with the header the frame came with in @h
 * (fields little-endian).
 */
int guest_recv(struct guest *gu, uint8_t *buf, size_t max, int timeout_ms);
int guest_recv_hdr(struct guest *gu, struct virtio_net_hdr *h, uint8_t *buf,
		   size_t max, int timeout_ms);

/* Publish what was added to ring @q and kick if the device wants it. */
void guest_kick(struct guest *gu, unsigned int q);

/* guest_pending - is a received frame waiting (without waiting)? */
bool guest_pending(struct guest *gu);

/* A round trip (GET_FEATURES): the switch has handled everything sent
 * before it. Return: 0 or a negative errno. */
int guest_sync(struct guest *gu);

/* guest_stop - GET_VRING_BASE on both rings, as on a guest reset. */
int guest_stop(struct guest *gu, uint16_t bases[VU_NUM_VQ]);

/* Close the connection and free everything. Closing a closed guest
 * again does nothing. */
void guest_close(struct guest *gu);

/* Has the switch closed our connection (within @timeout_ms)? */
bool guest_closed_by_peer(struct guest *gu, int timeout_ms);

/* ---- frames ---- */

/* Build a test frame: @dst, the guest's MAC as source, a private
 * ethertype, @seq, filled to @len bytes with a pattern from @seq. */
size_t frame_make(uint8_t *buf, size_t len, const uint8_t *dst,
		  const uint8_t *src, uint32_t seq);

/* Does @buf hold exactly what frame_make() built for these arguments? */
bool frame_check(const uint8_t *buf, size_t len, const uint8_t *dst,
		 const uint8_t *src, uint32_t seq);

/*
 * l4_frame - an IPv4 (or with @v6 IPv6) frame from @src to @dst carrying
 * TCP (@proto 6, a 24-byte header with an MSS option) or UDP (17) with
 * @payload bytes from @seq, its L4 checksum left as a guest leaves it
 * with NEEDS_CSUM (the pseudo-header's sum); @h (if not NULL) gets the
 * matching virtio-net header. Return: the frame's length.
 * l4_complete - complete that checksum as the test's own reference: the
 * sum from @start, stored at @start + @off, 0 as 0xffff.
 * l4_csum_ok - does the frame's TCP or UDP checksum verify (tagged or
 * not)?
 */
size_t l4_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		bool v6, uint8_t proto, size_t payload, uint32_t seq,
		struct virtio_net_hdr *h);
void l4_complete(uint8_t *f, size_t len, size_t start, size_t off);
/*
 * l4_tso - make @h (from l4_frame, TCP) ask for segments of @mss bytes.
 * l4_segment - segment @i of TCP frame @f cut into @mss-byte segments,
 * as the test's own reference makes it (Linux's tcp_gso_segment: IP
 * lengths, IPv4 id + i and header checksum, seq + i * mss, FIN and PSH
 * last, CWR first), its checksum complete or, with @partial, the
 * pseudo-header's sum. Return: its length, 0 past the last.
 */
void l4_tso(struct virtio_net_hdr *h, const uint8_t *f, uint16_t mss);
size_t l4_segment(const uint8_t *f, size_t len, size_t mss, unsigned int i,
		  bool partial, uint8_t *out);
bool l4_csum_ok(const uint8_t *f, size_t len);

extern const uint8_t mac_broadcast[6];

/* MAC 52:54:00:00:00:@id */
void mac_make(uint8_t *mac, uint8_t id);

#endif
