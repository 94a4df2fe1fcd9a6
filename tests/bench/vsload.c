/*
 * vsload: a paced load generator and latency probe for `make bench`.
 *
 * It plays guests with the project's own front-end (tests/integ/harness.c:
 * proto/frontend.c and the driver side of vring/), so it works against any
 * vhost-user back-end that listens: vswitch, or DPDK's vhost PMD.
 *
 *   vsload rate SOCK_A SOCK_B   -r FRAMES_PER_S [-s SIZE] [-t S] [-w S]
 *                               [-i TICK_US] [-p PID]
 *       A sends to B and B to A, half the rate each way, in a burst every
 *       TICK_US microseconds (one kick per burst, as a driver that batches
 *       would); counts what arrives, and asks for an interrupt after
 *       each burst received, as a driver that has emptied its ring does.
 *   vsload ping SOCK_A SOCK_B   [-n COUNT] [-s SIZE] [-p PID]
 *       one frame in flight: A sends to B, B answers A; each round trip is
 *       timed with CLOCK_MONOTONIC. Both sides spin on their used rings,
 *       but ask for an interrupt on every frame, as an idle guest would,
 *       so that the back-end signals as it would to a real guest.
 *   vsload flood SOCK_A SOCK_B  [-q INFLIGHT,...] [-s SIZE,...] [-t S] [-w S]
 *                               [-p PID | -P PIDFILE] [-l]
 *       full rate, closed loop, as testpmd's "start tx_first": INFLIGHT
 *       frames (64 unless told; rounded down to even) travel, half A to B
 *       and half B to A, and each one received is replaced by a new one
 *       from the same sender; frames still out after 50 ms with nothing
 *       arriving count as lost and are replaced too.
 *       Both guests poll their rings and ask for no interrupt, as a
 *       polling driver does. One line per SIZE and INFLIGHT, each after
 *       its own warm-up.
 *   vsload uplink SOCK IFNAME  [-s SIZE,...] [-q INFLIGHT] [-t S] [-w S] [-p PID]
 *       one guest on SOCK, whose switch has an uplink port whose kernel
 *       end is IFNAME (a tap, or the far end of a veth; vsload runs in
 *       its network namespace). Per SIZE, two lines:
 *       dir=to_kernel: the guest sends as fast as its TX ring is given
 *       back, at most INFLIGHT (512 unless told) frames outstanding, to
 *       a unicast address nobody has; received counts what the kernel
 *       saw arrive on IFNAME (rx_packets in /sys/class/net).
 *       dir=from_kernel: a packet socket on IFNAME (PACKET_QDISC_BYPASS)
 *       sends batches of 32 frames to the guest with sendmmsg as fast as
 *       the kernel takes them, between which the guest drains its RX
 *       ring, polling; received counts what the guest got. Both run on
 *       one CPU, as the guest and the rest of the host would share it.
 *   vsload tso SOCK_A SOCK_B    [-g | -G] [-q INFLIGHT] [-t S] [-w S]
 *                               [-p PID | -P PIDFILE] [-l]
 *       A sends B 64 KB TCP frames to segment (TSO: 64,000 bytes of
 *       payload, gso_size 1448), INFLIGHT (16) out at a time, as fast as
 *       they come back, polling. B takes them whole (GUEST_TSO4), or with
 *       -g negotiates no TSO (the switch segments them, each segment's
 *       checksum left to B), with -G no checksum offload either (the
 *       switch completes every checksum). received_gbps counts the TCP
 *       payload B got.
 *   vsload idle SOCK...         connect to every socket, send one broadcast
 *       from each guest, then wait for SIGTERM or SIGINT.
 *   vsload wake -c CPU          [-i TICK_US] [-t S]
 *       no switch at all: what one sleep and wake-up costs on this
 *       machine. A child on CPU blocks reading an eventfd that vsload
 *       writes every TICK_US; its CPU time per wake-up is the floor that
 *       any process sleeping until it is kicked pays, at that rate.
 *
 * With -l, vsload listens on the socket paths and waits (60 s at most) for
 * a back-end that connects as a vhost-user client, such as OVS's
 * dpdkvhostuserclient ports; -P then names the back-end's pidfile, read
 * once it has connected.
 *
 * SIZE is the Ethernet frame size with its 4-byte FCS (64..1518), as in
 * RFC 2544: SIZE - 4 bytes go on the ring. With -p, the CPU time of process
 * PID (all its threads, from /proc/PID/task/N/schedstat, in ns) and how
 * many times it was put on a CPU (switch_runs) are measured over the same
 * window, and so are vsload's own CPU time and the whole
 * machine's (from /proc/stat), so that the caller can say how busy the rest
 * of the machine was.
 *
 * Output: one line "VSLOAD mode=... key=value ..." on stdout. Exit status 0,
 * or 1 when the rig breaks (cannot connect, ...). Nothing here judges a
 * figure.
 */
#define _GNU_SOURCE
#include "../integ/harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sched.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_GUESTS	16
#define TX_SLOT		2048	/* bytes of guest memory per TX head */
#define MAX_LEN		1514	/* frame bytes on the ring, FCS excluded */

static struct guest guests[MAX_GUESTS];

static void die(const char *what, int err)
{
	fprintf(stderr, "vsload: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- CPU accounting ---- */

/* CPU time of every thread of @pid, in ns, and how many times they were
 * put on a CPU (@runs, if not NULL: wake-ups and preemptions); -1 if
 * unreadable. */
static long long task_cpu_ns(pid_t pid, long long *runs)
{
	char path[64];
	long long sum = 0, nruns = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[320];
		long long ns, wait, n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int)pid,
			 e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lld %lld %lld", &ns, &wait, &n) == 3) {
			sum += ns;
			nruns += n;
		}
		fclose(f);
	}
	closedir(d);
	if (runs)
		*runs = nruns;
	return sum;
}

/* Non-idle time of all CPUs together, in seconds, from /proc/stat. */
static double machine_busy_s(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return -1;
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	       (double)sysconf(_SC_CLK_TCK);
}

struct window {
	double t, busy;
	long long sw, sw_runs, self;
};

static void window_mark(struct window *w, pid_t pid)
{
	w->t = now_s();
	w->busy = machine_busy_s();
	w->sw = pid > 0 ? task_cpu_ns(pid, &w->sw_runs) : -1;
	w->self = task_cpu_ns(getpid(), NULL);
}

/* Print the CPU figures of the window [a, b]. */
static void window_print(const struct window *a, const struct window *b)
{
	double secs = b->t - a->t;

	printf(" seconds=%.4f", secs);
	if (a->sw >= 0 && b->sw >= 0)
		printf(" switch_cpu_s=%.6f switch_runs=%lld",
		       (double)(b->sw - a->sw) * 1e-9, b->sw_runs - a->sw_runs);
	else
		printf(" switch_cpu_s=NA switch_runs=NA");
	printf(" self_cpu_s=%.6f machine_busy_s=%.3f",
	       (double)(b->self - a->self) * 1e-9, b->busy - a->busy);
}

/* ---- guests ---- */

static struct guest_opts load_opts(void)
{
	struct guest_opts o = guest_defaults();

	o.layout = TX_ONE_DESC;
	o.qsz = 1024;		/* as testpmd's virtio_user ports here */
	return o;
}

/* tso -g / -G: what guest B (1) does not take. */
static uint64_t b_withholds;

static void connect_guest(unsigned int i, const char *path)
{
	struct guest_opts o = load_opts();
	int err;

	if (i == 1)
		o.features &= ~b_withholds;
	err = guest_connect(&guests[i], path, &o, (uint8_t)(i + 1));
	if (err)
		die(path, err);
}

/* A listening socket at @path (replacing what is there). */
static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		die(path, fd < 0 ? errno : ENAMETOOLONG);
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
		die(path, errno);
	return fd;
}

/* Guest @i on the first connection to @lfd (60 s at most); the socket
 * file at @path is removed once it is taken. */
static void accept_guest(unsigned int i, int lfd, const char *path)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	struct guest_opts o = load_opts();
	int fd, err;

	if (poll(&p, 1, 60000) != 1)
		die(path, ETIMEDOUT);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die(path, errno);
	close(lfd);
	unlink(path);
	err = guest_attach(&guests[i], fd, &o, (uint8_t)(i + 1));
	if (err)
		die(path, err);
}

/* Write a zero virtio-net header and @frame into TX slot @slot of @gu. */
static void write_slot(struct guest *gu, unsigned int slot,
		       const uint8_t *frame, size_t len)
{
	static const uint8_t hdr[12];
	uint64_t gpa = gu->tx_gpa + (uint64_t)slot * TX_SLOT;

	guestmem_write(&gu->g, gpa, hdr, gu->hlen);
	guestmem_write(&gu->g, gpa + gu->hlen, frame, len);
}

/* Put one frame on @gu's TX ring without kicking; with @frame NULL the
 * slot already holds it (prefill). Return: 0, or -ENOSPC when the ring is
 * full (after reaping what the device gave back). */
static int put_frame(struct guest *gu, const uint8_t *frame, size_t len)
{
	struct vring_driver *d = &gu->ring[VU_TX];
	struct vring_seg s;
	uint64_t gpa;

	if (d->num_free < 1) {
		guest_tx_reaped(gu);
		if (d->num_free < 1)
			return -ENOSPC;
	}
	gpa = gu->tx_gpa + (uint64_t)d->free_head * TX_SLOT;
	if (frame)
		write_slot(gu, d->free_head, frame, len);
	s = (struct vring_seg){ gpa, (uint32_t)(gu->hlen + len), false };
	if (vring_driver_add(d, &s, 1, false) < 0)
		return -ENOSPC;
	gu->sent++;
	return 0;
}

/* Write the header and @frame into every TX slot of @gu, for put_frame()
 * with no frame. */
static void prefill(struct guest *gu, const uint8_t *frame, size_t len)
{
	unsigned int i;

	for (i = 0; i < gu->o.qsz; i++)
		write_slot(gu, i, frame, len);
}

/* Ask for an interrupt on the next received frame, as a guest driver does
 * when it has emptied its receive ring (NAPI), and consume the ones that
 * came: the back-end pays for signalling as with a real guest. */
static void rx_interrupts_on(struct guest *gu)
{
	uint64_t v;

	vring_driver_want_interrupts(&gu->ring[VU_RX], true);
	if (read(gu->call[VU_RX], &v, sizeof(v)) < 0 && errno != EAGAIN)
		die("read call eventfd", errno);
}

/* Receive everything waiting on @gu and ask for an interrupt, or when
 * @polling, as a polling driver does: no interrupt, and the frames are
 * checked and measured where they are, not copied out. Return: frames
 * received; *bad counts those that came back malformed or of the wrong
 * length. */
static unsigned long drain(struct guest *gu, size_t want_len,
			   unsigned long *bad, bool polling)
{
	uint8_t buf[H_MAX_FRAME];
	unsigned long n = 0;

	while (guest_pending(gu)) {
		int r = guest_recv(gu, polling ? NULL : buf, sizeof(buf), 0);

		if (r < 0) {
			(*bad)++;
			break;
		}
		if (want_len && (size_t)r != want_len)
			(*bad)++;
		n++;
	}
	if (n && !polling)
		rx_interrupts_on(gu);
	return n;
}

/* Each guest broadcasts once, so that a learning switch knows everyone;
 * then wait a little and throw away whatever arrived. */
static void learn(unsigned int n)
{
	uint8_t f[60];
	unsigned long bad = 0;
	unsigned int i;
	double end;

	for (i = 0; i < n; i++) {
		frame_make(f, sizeof(f), mac_broadcast, guests[i].mac, i);
		if (guest_send(&guests[i], f, sizeof(f)) < 0)
			die("broadcast", EIO);
	}
	end = now_s() + 0.05;
	while (now_s() < end) {
		for (i = 0; i < n; i++)
			drain(&guests[i], 0, &bad, false);
		usleep(1000);
	}
	for (i = 0; i < n; i++)
		drain(&guests[i], 0, &bad, false);
}

/* ---- modes ---- */

#define MAX_LIST	8

struct opts {
	double rate, seconds, warmup;
	unsigned int size, tick_us;
	unsigned int sizes[MAX_LIST], nsizes;		/* flood: -s */
	unsigned int inflight[MAX_LIST], ninflight;	/* flood: -q */
	unsigned long count;
	pid_t pid;
	const char *pidfile;
	int cpu;
	bool listen;
	unsigned int gtso;	/* tso: 1 -g, 2 -G */
};

static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static int mode_rate(const struct opts *o)
{
	size_t len = o->size - 4;
	uint8_t fa[MAX_LEN], fb[MAX_LEN];
	unsigned long sent[2] = { 0 }, recvd[2] = { 0 }, full = 0, bad = 0;
	unsigned long sent0[2] = { 0 }, recvd0[2] = { 0 }, full0 = 0;
	double tick = o->tick_us * 1e-6, start, next, mstart, end;
	struct window wa, wb;
	bool measuring = false;
	unsigned int k;

	frame_make(fa, len, guests[1].mac, guests[0].mac, 1);
	frame_make(fb, len, guests[0].mac, guests[1].mac, 2);
	start = next = now_s();
	mstart = start + o->warmup;
	end = mstart + o->seconds;
	for (;;) {
		double t = now_s(), due;

		if (!measuring && t >= mstart) {
			measuring = true;
			window_mark(&wa, o->pid);
			for (k = 0; k < 2; k++) {
				sent0[k] = sent[k];
				recvd0[k] = recvd[k];
			}
			full0 = full;
		}
		if (t >= end)
			break;
		/* Frames due by now, per direction, since the start. */
		due = (t - start) * o->rate / 2;
		for (k = 0; k < 2; k++) {
			struct guest *gu = &guests[k];
			bool any = false;

			while ((double)sent[k] + 1 <= due) {
				if (put_frame(gu, k ? fb : fa, len) < 0) {
					/* Ring full: the frame is not sent
					 * at all (a NIC would drop it). */
					full++;
					sent[k]++;
					continue;
				}
				sent[k]++;
				any = true;
			}
			if (any)
				guest_kick(gu, VU_TX);
		}
		for (k = 0; k < 2; k++)
			recvd[1 - k] += drain(&guests[1 - k], len, &bad, false);
		next += tick;
		if (next < now_s())
			next = now_s();
		sleep_until(next);
	}
	window_mark(&wb, o->pid);
	for (k = 0; k < 2; k++)
		recvd[1 - k] += drain(&guests[1 - k], len, &bad, false);
	{
		unsigned long s = sent[0] + sent[1] - sent0[0] - sent0[1];
		unsigned long f = full - full0;
		unsigned long r = recvd[0] + recvd[1] - recvd0[0] - recvd0[1];

		printf("VSLOAD mode=rate size=%u offered_fps=%.0f sent=%lu "
		       "ring_full=%lu received=%lu bad=%lu received_fps=%.0f",
		       o->size, o->rate, s - f, f, r, bad,
		       (double)r / (wb.t - wa.t));
		window_print(&wa, &wb);
		printf("\n");
	}
	return 0;
}

/* Frames from A to B and from B to A at full rate: a closed loop of
 * @inflight frames of @size bytes. */
static void flood_one(const struct opts *o, unsigned int size,
		      unsigned int inflight)
{
	size_t len = size - 4;
	uint8_t fa[MAX_LEN], fb[MAX_LEN];
	unsigned long out[2] = { 0 }, sent[2] = { 0 }, recvd[2] = { 0 };
	unsigned long sent0 = 0, recvd0 = 0, bad = 0, lost = 0;
	unsigned int per = inflight / 2 ? inflight / 2 : 1, k;
	double t, mstart, end, limit, moved;
	struct window wa, wb;
	bool measuring = false;

	frame_make(fa, len, guests[1].mac, guests[0].mac, 1);
	frame_make(fb, len, guests[0].mac, guests[1].mac, 2);
	prefill(&guests[0], fa, len);
	prefill(&guests[1], fb, len);
	moved = now_s();
	mstart = moved + o->warmup;
	end = mstart + o->seconds;
	for (;;) {
		t = now_s();
		/* Nothing arrived for 50 ms: what is out was dropped (a
		 * back-end may drop while its port comes up). New frames
		 * take its place, or the loop would shrink for good. */
		if (t - moved > 0.05) {
			lost += out[0] + out[1];
			out[0] = out[1] = 0;
			moved = t;
		}
		if (!measuring && t >= mstart) {
			measuring = true;
			window_mark(&wa, o->pid);
			sent0 = sent[0] + sent[1];
			recvd0 = recvd[0] + recvd[1];
		}
		if (t >= end)
			break;
		for (k = 0; k < 2; k++) {
			struct guest *gu = &guests[k];
			unsigned long n;
			bool any = false;

			while (out[k] < per && put_frame(gu, NULL, len) == 0) {
				out[k]++;
				sent[k]++;
				any = true;
			}
			if (any)
				guest_kick(gu, VU_TX);
			n = drain(&guests[1 - k], len, &bad, true);
			recvd[k] += n;
			out[k] -= n < out[k] ? n : out[k];
			if (n)
				moved = t;
		}
	}
	window_mark(&wb, o->pid);
	/* What is still in flight arrives before the next figure starts. */
	limit = now_s() + 1.0;
	while ((out[0] || out[1]) && now_s() < limit) {
		for (k = 0; k < 2; k++) {
			unsigned long n = drain(&guests[1 - k], len, &bad,
						true);

			out[k] -= n < out[k] ? n : out[k];
		}
	}
	printf("VSLOAD mode=flood size=%u inflight=%u sent=%lu received=%lu "
	       "bad=%lu lost=%lu received_fps=%.0f", size, 2 * per,
	       sent[0] + sent[1] - sent0, recvd[0] + recvd[1] - recvd0, bad,
	       lost + out[0] + out[1],
	       (double)(recvd[0] + recvd[1] - recvd0) / (wb.t - wa.t));
	window_print(&wa, &wb);
	printf("\n");
	fflush(stdout);
}

#define TSO_PAYLOAD 64000
#define TSO_MSS 1448
/* Where A's one TSO frame lives: above everything else the harness and
 * the TX slots use in its 16 MiB. */
#define TSO_FRAME_GPA (GUESTMEM_GPA_BASE + (12u << 20))

static int mode_tso(const struct opts *o)
{
	static uint8_t f[TSO_PAYLOAD + 64];
	struct guest *a = &guests[0], *b = &guests[1];
	struct vring_driver *d = &a->ring[VU_TX];
	struct virtio_net_hdr h;
	size_t len = l4_frame(f, b->mac, a->mac, false, 6, TSO_PAYLOAD, 1, &h);
	size_t hdrs = len - TSO_PAYLOAD;
	unsigned long sent = 0, sent0 = 0, frames = 0, frames0 = 0, bad = 0;
	unsigned long lost = 0;		/* frames given up on */
	uint64_t payload = 0, payload0 = 0;
	unsigned int per = o->inflight[0], i;
	double t, mstart, end, moved;
	struct window wa, wb;
	bool measuring = false;

	l4_tso(&h, f, TSO_MSS);
	guestmem_write(&a->g, TSO_FRAME_GPA, f, len);
	for (i = 0; i < a->o.qsz; i++)
		guestmem_write(&a->g, a->tx_gpa + (uint64_t)i * TX_SLOT, &h,
			       a->hlen);
	vring_driver_want_interrupts(&b->ring[VU_RX], false);
	moved = now_s();
	mstart = moved + o->warmup;
	end = mstart + o->seconds;
	for (;;) {
		t = now_s();
		/* Nothing arrived for 50 ms: what is out was dropped (a
		 * back-end may drop while its ports come up), as in flood. */
		if (t - moved > 0.05) {
			lost = sent - payload / TSO_PAYLOAD;
			moved = t;
		}
		if (!measuring && t >= mstart) {
			measuring = true;
			window_mark(&wa, o->pid);
			sent0 = sent;
			frames0 = frames;
			payload0 = payload;
		}
		if (t >= end)
			break;
		/* Frames out: sent less the payload that came back and the
		 * frames given up on. */
		while (sent - payload / TSO_PAYLOAD - lost < per) {
			struct vring_seg s[2] = {
				{ a->tx_gpa + (uint64_t)d->free_head * TX_SLOT,
				  (uint32_t)a->hlen, false },
				{ TSO_FRAME_GPA, (uint32_t)len, false },
			};

			if (d->num_free < 2)
				guest_tx_reaped(a);
			if (d->num_free < 2 ||
			    vring_driver_add(d, s, 2, false) < 0)
				break;
			sent++;
		}
		guest_kick(a, VU_TX);
		while (guest_pending(b)) {
			int r = guest_recv(b, NULL, 1u << 20, 0);

			if (r < (int)hdrs) {
				bad++;
				break;
			}
			payload += (uint64_t)r - hdrs;
			frames++;
			moved = t;
		}
	}
	window_mark(&wb, o->pid);
	printf("VSLOAD mode=tso segmented=%u sent=%lu received_frames=%lu "
	       "bad=%lu received_gbps=%.3f", o->gtso, sent - sent0,
	       frames - frames0,
	       bad, (double)(payload - payload0) * 8 / 1e9 / (wb.t - wa.t));
	window_print(&wa, &wb);
	printf("\n");
	return 0;
}

static int mode_flood(const struct opts *o)
{
	unsigned int si, qi, k;

	/* A polling driver asks for no interrupts. */
	for (k = 0; k < 2; k++)
		vring_driver_want_interrupts(&guests[k].ring[VU_RX], false);
	for (si = 0; si < o->nsizes; si++)
		for (qi = 0; qi < o->ninflight; qi++)
			flood_one(o, o->sizes[si], o->inflight[qi]);
	return 0;
}

/* ---- uplink ---- */

#define GEN_BATCH	32

/* The kernel's end of the uplink, as a host on the LAN: the guest sends
 * to it, and it sends to the guest. */
static const uint8_t mac_kernel[6] = { 0x02, 0x76, 0x6b, 0, 0, 1 };

/* rx_packets of interface @ifname, or -1. */
static long long if_rx_packets(const char *ifname)
{
	char path[96];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_packets",
		 ifname);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* A packet socket that sends on @ifname, bypassing the qdisc. */
static int gen_open(const char *ifname, struct sockaddr_ll *to)
{
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("packet socket", errno);
	memset(to, 0, sizeof(*to));
	to->sll_family = AF_PACKET;
	to->sll_ifindex = (int)if_nametoindex(ifname);
	if (to->sll_ifindex == 0)
		die(ifname, errno);
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) < 0)
		die("PACKET_QDISC_BYPASS", errno);
	return fd;
}

static void up_print(const char *dir, unsigned int size, unsigned long sent,
		     unsigned long received, const struct window *a,
		     const struct window *b)
{
	printf("VSLOAD mode=uplink dir=%s size=%u sent=%lu received=%lu "
	       "received_fps=%.0f", dir, size, sent, received,
	       (double)received / (b->t - a->t));
	window_print(a, b);
	printf("\n");
	fflush(stdout);
}

/* Guest to kernel: TX as fast as the switch gives the ring back. */
static void up_to_kernel(const struct opts *o, const char *ifname,
			 unsigned int size)
{
	struct guest *gu = &guests[0];
	struct vring_driver *d = &gu->ring[VU_TX];
	unsigned int limit = o->inflight[0] < gu->o.qsz ? o->inflight[0]
							: gu->o.qsz;
	size_t len = size - 4;
	uint8_t f[MAX_LEN];
	unsigned long sent = 0, sent0 = 0;
	long long rx0 = 0, rx1;
	double t, mstart, end;
	struct window wa, wb;
	bool measuring = false;

	frame_make(f, len, mac_kernel, gu->mac, 3);
	prefill(gu, f, len);
	mstart = now_s() + o->warmup;
	end = mstart + o->seconds;
	for (;;) {
		bool any = false;

		t = now_s();
		if (!measuring && t >= mstart) {
			measuring = true;
			window_mark(&wa, o->pid);
			rx0 = if_rx_packets(ifname);
			sent0 = sent;
		}
		if (t >= end)
			break;
		guest_tx_reaped(gu);
		while (gu->o.qsz - d->num_free < limit &&
		       put_frame(gu, NULL, len) == 0) {
			sent++;
			any = true;
		}
		if (any)
			guest_kick(gu, VU_TX);
	}
	window_mark(&wb, o->pid);
	rx1 = if_rx_packets(ifname);
	if (rx0 < 0 || rx1 < 0)
		die(ifname, ENOENT);
	up_print("to_kernel", size, sent - sent0, (unsigned long)(rx1 - rx0),
		 &wa, &wb);
	/* What is still queued leaves before the next figure starts. */
	t = now_s() + 1.0;
	while (d->num_free < gu->o.qsz && now_s() < t)
		guest_tx_reaped(gu);
}

/* Kernel to guest: a packet socket on @ifname sends, the guest drains. */
static void up_from_kernel(const struct opts *o, int fd,
			   const struct sockaddr_ll *to, unsigned int size)
{
	struct guest *gu = &guests[0];
	size_t len = size - 4;
	uint8_t f[MAX_LEN];
	struct iovec iov = { f, len };
	struct mmsghdr mm[GEN_BATCH];
	unsigned long sent = 0, recvd = 0, sent0 = 0, recvd0 = 0, bad = 0;
	double t, mstart, end;
	struct window wa, wb;
	bool measuring = false;
	unsigned int i;

	frame_make(f, len, gu->mac, mac_kernel, 4);
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < GEN_BATCH; i++) {
		mm[i].msg_hdr.msg_name = (void *)to;
		mm[i].msg_hdr.msg_namelen = sizeof(*to);
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	mstart = now_s() + o->warmup;
	end = mstart + o->seconds;
	for (;;) {
		int n;

		t = now_s();
		if (!measuring && t >= mstart) {
			measuring = true;
			window_mark(&wa, o->pid);
			sent0 = sent;
			recvd0 = recvd;
		}
		if (t >= end)
			break;
		n = sendmmsg(fd, mm, GEN_BATCH, MSG_DONTWAIT);
		if (n > 0)
			sent += (unsigned long)n;
		else if (errno != ENOBUFS && errno != EAGAIN)
			die("sendmmsg", errno);
		recvd += drain(gu, len, &bad, true);
	}
	window_mark(&wb, o->pid);
	up_print("from_kernel", size, sent - sent0, recvd - recvd0, &wa, &wb);
	t = now_s() + 0.2;
	while (now_s() < t)
		drain(gu, 0, &bad, true);
}

static int mode_uplink(const struct opts *o, const char *ifname)
{
	struct sockaddr_ll to;
	int fd = gen_open(ifname, &to);
	unsigned int si;

	uint8_t f[60];
	unsigned long bad = 0;
	double end;

	/* The kernel's end speaks first, so that a learning switch sends
	 * the guest's frames to it alone. */
	frame_make(f, sizeof(f), guests[0].mac, mac_kernel, 5);
	if (sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		die("sendto", errno);
	end = now_s() + 0.05;
	while (now_s() < end) {
		drain(&guests[0], 0, &bad, false);
		usleep(1000);
	}
	vring_driver_want_interrupts(&guests[0].ring[VU_RX], false);
	for (si = 0; si < o->nsizes; si++) {
		up_to_kernel(o, ifname, o->sizes[si]);
		up_from_kernel(o, fd, &to, o->sizes[si]);
	}
	close(fd);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Spin until @gu has a frame, for at most 1 s. Return: true if it has. */
static bool spin_for(struct guest *gu)
{
	double limit = now_s() + 1.0;
	unsigned int i = 0;

	while (!guest_pending(gu)) {
		if (++i % 4096 == 0 && now_s() > limit)
			return false;
	}
	return true;
}

static int mode_ping(const struct opts *o)
{
	size_t len = o->size - 4;
	uint8_t fa[MAX_LEN], fb[MAX_LEN], buf[H_MAX_FRAME];
	unsigned long i, n = 0, lost = 0, warm = o->count / 10 + 10;
	double *rtt = calloc(o->count, sizeof(double)), sum = 0;
	struct window wa, wb;

	if (!rtt)
		die("calloc", ENOMEM);
	frame_make(fa, len, guests[1].mac, guests[0].mac, 1);
	frame_make(fb, len, guests[0].mac, guests[1].mac, 2);
	for (i = 0; i < warm + o->count; i++) {
		double t0, t1;

		if (i == warm)
			window_mark(&wa, o->pid);
		t0 = now_s();
		if (put_frame(&guests[0], fa, len) < 0)
			die("ping: A's TX ring full", ENOSPC);
		guest_kick(&guests[0], VU_TX);
		if (!spin_for(&guests[1]) ||
		    guest_recv(&guests[1], buf, sizeof(buf), 0) != (int)len) {
			lost++;
			continue;
		}
		rx_interrupts_on(&guests[1]);
		if (put_frame(&guests[1], fb, len) < 0)
			die("ping: B's TX ring full", ENOSPC);
		guest_kick(&guests[1], VU_TX);
		if (!spin_for(&guests[0]) ||
		    guest_recv(&guests[0], buf, sizeof(buf), 0) != (int)len) {
			lost++;
			continue;
		}
		t1 = now_s();
		rx_interrupts_on(&guests[0]);
		if (i >= warm) {
			rtt[n++] = (t1 - t0) * 1e6;
			sum += (t1 - t0) * 1e6;
		}
	}
	window_mark(&wb, o->pid);
	printf("VSLOAD mode=ping size=%u count=%lu lost=%lu", o->size, n, lost);
	if (n) {
		qsort(rtt, n, sizeof(double), cmp_double);
		printf(" p50_us=%.2f p99_us=%.2f min_us=%.2f mean_us=%.2f "
		       "max_us=%.2f", rtt[n / 2], rtt[(n * 99) / 100], rtt[0],
		       sum / (double)n, rtt[n - 1]);
	} else {
		printf(" p50_us=NA p99_us=NA");
	}
	window_print(&wa, &wb);
	printf("\n");
	free(rtt);
	return 0;
}

static int mode_idle(unsigned int n)
{
	sigset_t set;
	int sig;

	learn(n);
	printf("VSLOAD mode=idle ports=%u ready\n", n);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	return 0;
}

static int mode_wake(const struct opts *o)
{
	unsigned long n, total = (unsigned long)(o->seconds * 1e6 / o->tick_us);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct window wa, wb;
	uint64_t one = 1;
	double next;
	pid_t child;

	if (efd < 0)
		die("eventfd", errno);
	child = fork();
	if (child < 0)
		die("fork", errno);
	if (child == 0) {
		cpu_set_t set;
		uint64_t v;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			_exit(1);
		while (read(efd, &v, sizeof(v)) == sizeof(v))
			;
		_exit(0);
	}
	sleep_until(now_s() + 0.1);
	window_mark(&wa, child);
	next = wa.t;
	for (n = 0; n < total; n++) {
		next += o->tick_us * 1e-6;
		sleep_until(next);
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd write", errno);
	}
	sleep_until(next + o->tick_us * 1e-6);
	window_mark(&wb, child);
	/* A child that is gone (it could not move to CPU) measured nothing. */
	if (waitpid(child, NULL, WNOHANG) != 0) {
		fprintf(stderr, "vsload: wake: the sleeping child exited "
			"(cannot run on CPU %d?)\n", o->cpu);
		exit(1);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("VSLOAD mode=wake tick_us=%u wakes=%lu", o->tick_us, n);
	if (wa.sw >= 0 && wb.sw >= 0 && n)
		printf(" wake_cpu_us=%.3f", (double)(wb.sw - wa.sw) * 1e-3 /
		       (double)n);
	else
		printf(" wake_cpu_us=NA");
	window_print(&wa, &wb);
	printf("\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vsload rate SOCK_A SOCK_B -r FPS [-s SIZE] [-t S] [-w S] [-i US] [-p PID]\n"
		"       vsload ping SOCK_A SOCK_B [-n COUNT] [-s SIZE] [-p PID]\n"
		"       vsload flood SOCK_A SOCK_B [-q INFLIGHT,...] [-s SIZE,...] [-t S] [-w S]\n"
		"                    [-p PID | -P PIDFILE] [-l]\n"
		"       vsload uplink SOCK IFNAME [-s SIZE,...] [-q INFLIGHT] [-t S] [-w S] [-p PID]\n"
		"       vsload tso SOCK_A SOCK_B [-g | -G] [-q INFLIGHT] [-t S] [-w S]\n"
		"                  [-p PID | -P PIDFILE] [-l]\n"
		"       vsload idle SOCK...\n"
		"       vsload wake -c CPU [-i US] [-t S]\n");
	exit(2);
}

/* A comma-separated list of numbers in [lo, hi] into @v (at most
 * MAX_LIST). Return: how many, or 0 if it is not one. */
static unsigned int parse_list(const char *arg, unsigned int *v,
			       unsigned long lo, unsigned long hi)
{
	unsigned int n = 0;
	char *end;

	for (;;) {
		unsigned long x = strtoul(arg, &end, 10);

		if (end == arg || x < lo || x > hi || n == MAX_LIST)
			return 0;
		v[n++] = (unsigned int)x;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return 0;
		arg = end + 1;
	}
}

/* The pid in @path (a pidfile), or die. */
static pid_t read_pidfile(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0)
		die(path, f ? EINVAL : errno);
	fclose(f);
	return (pid_t)pid;
}

int main(int argc, char **argv)
{
	struct opts o = { .rate = 0, .seconds = 2, .warmup = 0.5, .size = 64,
			  .tick_us = 100, .count = 20000, .pid = 0, .cpu = -1,
			  .sizes = { 64 }, .nsizes = 1,
			  .inflight = { 64 }, .ninflight = 1 };
	const char *mode;
	unsigned int i, nsock;
	int lfd[MAX_GUESTS];
	bool qset = false;
	sigset_t set;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "r:s:t:w:i:n:p:P:q:c:lgG")) != -1) {
		switch (c) {
		case 'r': o.rate = atof(optarg); break;
		case 's':
			o.nsizes = parse_list(optarg, o.sizes, 64, MAX_LEN + 4);
			if (!o.nsizes)
				usage();
			o.size = o.sizes[0];
			break;
		case 'q':
			o.ninflight = parse_list(optarg, o.inflight, 1, 1024);
			if (!o.ninflight)
				usage();
			qset = true;
			break;
		case 't': o.seconds = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'i': o.tick_us = (unsigned int)atoi(optarg); break;
		case 'n': o.count = strtoul(optarg, NULL, 10); break;
		case 'p': o.pid = (pid_t)atoi(optarg); break;
		case 'P': o.pidfile = optarg; break;
		case 'c': o.cpu = atoi(optarg); break;
		case 'l': o.listen = true; break;
		case 'g': o.gtso = 1; break;
		case 'G': o.gtso = 2; break;
		default: usage();
		}
	}
	nsock = (unsigned int)(argc - optind);
	if (strcmp(mode, "wake") == 0) {
		if (nsock || o.cpu < 0 || o.cpu >= CPU_SETSIZE ||
		    o.tick_us == 0 || o.seconds <= 0)
			usage();
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		mode_wake(&o);
		fflush(stdout);
		return 0;
	}
	if (strcmp(mode, "uplink") == 0) {
		if (nsock != 2 || o.listen || o.pidfile || o.ninflight > 1 ||
		    o.seconds <= 0 || o.warmup < 0)
			usage();
		if (!qset)
			o.inflight[0] = 512;
		connect_guest(0, argv[optind]);
		learn(1);
		mode_uplink(&o, argv[optind + 1]);
		fflush(stdout);
		guest_close(&guests[0]);
		return 0;
	}
	/* A window that never opens would print what was never measured. */
	if (o.tick_us == 0 || nsock < 1 || nsock > MAX_GUESTS ||
	    o.count == 0 || o.seconds <= 0 || o.warmup < 0)
		usage();
	if (strcmp(mode, "idle") != 0 &&
	    (nsock != 2 || (strcmp(mode, "rate") == 0 && o.rate <= 0)))
		usage();
	if (strcmp(mode, "flood") != 0 &&
	    (((o.listen || o.pidfile) && strcmp(mode, "tso") != 0) ||
	     o.nsizes > 1 || o.ninflight > 1))
		usage();
	if (strcmp(mode, "tso") == 0) {
		if (!qset)
			o.inflight[0] = 16;
		if (o.gtso)
			b_withholds = (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
				      (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
				      (1ULL << VIRTIO_NET_F_GUEST_ECN);
		if (o.gtso == 2)
			b_withholds |= 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	} else if (o.gtso) {
		usage();
	}
	if (o.pid && o.pidfile)
		usage();
	/* SIGTERM and SIGINT wait for sigwait in idle mode; elsewhere they
	 * kill as usual. */
	if (strcmp(mode, "idle") == 0) {
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	/* Sleep as exactly as the kernel can: pacing ticks are short. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (o.listen) {
		/* Both listen before either is accepted: a back-end may
		 * connect its ports in any order. */
		for (i = 0; i < nsock; i++)
			lfd[i] = listen_on(argv[optind + i]);
		for (i = 0; i < nsock; i++)
			accept_guest(i, lfd[i], argv[optind + i]);
	} else {
		for (i = 0; i < nsock; i++)
			connect_guest(i, argv[optind + i]);
	}
	if (o.pidfile)
		o.pid = read_pidfile(o.pidfile);
	if (strcmp(mode, "idle") == 0)
		return mode_idle(nsock);
	learn(2);
	if (strcmp(mode, "rate") == 0)
		mode_rate(&o);
	else if (strcmp(mode, "ping") == 0)
		mode_ping(&o);
	else if (strcmp(mode, "flood") == 0)
		mode_flood(&o);
	else if (strcmp(mode, "tso") == 0)
		mode_tso(&o);
	else
		usage();
	fflush(stdout);
	for (i = 0; i < nsock; i++)
		guest_close(&guests[i]);
	return 0;
}
