/*
 * Uplinks against the real ./vswitch: TAP ports and AF_PACKET ports, with
 * guests played by the project's own front-end on one side and the
 * kernel's side of the interfaces on the other.
 *
 * Everything runs in a network namespace of its own: the program
 * unshares one at start (so vswitch, the taps, bridges and veths it makes
 * and every packet socket live only there, and go with it), with a mount
 * namespace whose /sys shows that network namespace; the root
 * namespace's interfaces are never touched. The kernel's side of a tap is
 * read and written through an AF_PACKET socket on the tap interface, of
 * an af_packet port's veth through one on the veth's peer; for offloads,
 * with PACKET_VNET_HDR, so that it sends and gets 64 KB TSO frames and
 * checksums left to do as the kernel hands them over. Needs root (a
 * network namespace, CAP_NET_ADMIN, CAP_NET_RAW): without it every case
 * fails.
 *
 * Usage: uplinks PATH-TO-VSWITCH [TEST...]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "harness.h"
#include "../unit/test.h"

static const char *bin;
static bool netns_ok;
static uint32_t seq = 1;

static const uint8_t kmac[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };	/* kernel side */

/* Run a shell command; false (and said) when it fails. */
__attribute__((format(printf, 1, 2)))
static bool sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r != 0)
		fprintf(stderr, "  '%s' failed (%d)\n", cmd, r);
	return r == 0;
}

/* ---- the kernel's side: a packet socket on an interface ---- */

static int pkt_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			htons(ETH_P_ALL)), one = 1;

	if (fd < 0)
		return -1;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool pkt_send(int fd, const uint8_t *f, size_t len)
{
	return send(fd, f, len, 0) == (ssize_t)len;
}

static int vpkt_recv(int fd, struct virtio_net_hdr *h, uint8_t *f,
		     size_t max, int ms);

/*
 * The next frame the interface received (not one sent on it), in @f, a
 * VLAN tag the kernel took off put back: its length, or -1 when none
 * comes within @ms.
 */
static int pkt_recv(int fd, uint8_t *f, size_t max, int ms)
{
	return vpkt_recv(fd, NULL, f, max, ms);
}

/*
 * The kernel's side with virtio-net headers (PACKET_VNET_HDR): each frame
 * read or written after the 10-byte header of what the kernel did or left
 * to do, 64 KB frames too. The socket has the header's 16-bit fields in
 * the host's order; these functions take and give them little-endian, as
 * the harness's headers are.
 */
#define VNET_HLEN 10

static int vpkt_open(const char *ifname)
{
	int fd = pkt_open(ifname), one = 1, big = 4 << 20;

	if (fd >= 0 &&
	    (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
			sizeof(one)) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big,
			sizeof(big)) < 0 ||
	     setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big,
			sizeof(big)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* @h's 16-bit fields from little-endian to the host's order, or back. */
static struct virtio_net_hdr vnet_swap(const struct virtio_net_hdr *h,
				       bool to_host)
{
	struct virtio_net_hdr x = *h;

	x.hdr_len = to_host ? le16toh(h->hdr_len) : htole16(h->hdr_len);
	x.gso_size = to_host ? le16toh(h->gso_size) : htole16(h->gso_size);
	x.csum_start = to_host ? le16toh(h->csum_start) :
				 htole16(h->csum_start);
	x.csum_offset = to_host ? le16toh(h->csum_offset) :
				  htole16(h->csum_offset);
	return x;
}

static bool vpkt_send(int fd, const struct virtio_net_hdr *h,
		      const uint8_t *f, size_t len)
{
	struct virtio_net_hdr x = vnet_swap(h, true);
	struct iovec iov[2] = { { &x, VNET_HLEN }, { (void *)f, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = sendmsg(fd, &mh, 0);

	if (n < 0)
		fprintf(stderr, "  packet socket refused the frame: %s\n",
			strerror(errno));
	return n == (ssize_t)(VNET_HLEN + len);
}

/*
 * The next frame the interface received, in @f after its header in @h, a
 * VLAN tag the kernel took off put back (and a checksum left to do moved
 * with the bytes after it): its length, or -1 when none comes within
 * @ms.
 */
static int vpkt_recv(int fd, struct virtio_net_hdr *h, uint8_t *f,
		     size_t max, int ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
			struct cmsghdr align;
		} cm;
		struct sockaddr_ll sll;
		struct iovec iov[2] = { { h, VNET_HLEN }, { f + 4, max - 4 } };
		struct msghdr mh = { &sll, sizeof(sll), h ? iov : iov + 1,
				     h ? 2 : 1, cm.b, sizeof(cm.b), 0 };
		size_t hl = h ? VNET_HLEN : 0;
		struct pollfd p = { fd, POLLIN, 0 };
		struct cmsghdr *c;
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
			     (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left < 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if (h)
			memset(h, 0, sizeof(*h));
		n = recvmsg(fd, &mh, 0);
		if (n < (ssize_t)hl + 12 || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (mh.msg_flags & MSG_TRUNC) {
			fprintf(stderr, "  a frame longer than %zu bytes\n",
				max - 4);
			return -1;
		}
		if (h)
			*h = vnet_swap(h, false);
		n -= (ssize_t)hl;
		memmove(f, f + 4, 12);
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct tpacket_auxdata a;

			memcpy(&a, CMSG_DATA(c), sizeof(a));
			if (c->cmsg_level != SOL_PACKET ||
			    c->cmsg_type != PACKET_AUXDATA ||
			    !(a.tp_status & TP_STATUS_VLAN_VALID))
				continue;
			f[12] = 0x81;
			f[13] = 0;
			f[14] = (uint8_t)(a.tp_vlan_tci >> 8);
			f[15] = (uint8_t)a.tp_vlan_tci;
			if (h && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
				h->csum_start = htole16((uint16_t)
					(le16toh(h->csum_start) + 4));
			return (int)n + 4;
		}
		memmove(f + 12, f + 16, (size_t)n - 12);
		return (int)n;
	}
}

/* Frames the interface received within @ms, all taken (after a
 * virtio-net header each with @vnet). */
static int pkt_drain(int fd, bool vnet, int ms)
{
	static uint8_t f[H_MAX_FRAME + 64];
	struct virtio_net_hdr h;
	int n = 0;

	while (vpkt_recv(fd, vnet ? &h : NULL, f, sizeof(f), ms) >= 0)
		n++;
	return n;
}

/* A tagged copy of frame @f (@len bytes) in @t: @len + 4 bytes. */
static size_t tag_frame(uint8_t *t, const uint8_t *f, size_t len,
			uint16_t tci)
{
	memcpy(t, f, 12);
	t[12] = 0x81;
	t[13] = 0;
	t[14] = (uint8_t)(tci >> 8);
	t[15] = (uint8_t)tci;
	memcpy(t + 16, f + 12, len - 12);
	return len + 4;
}

/* ---- the switch ---- */

/* Start the switch with @nports guest ports p0.. and @extra; wait for
 * @up ("port NAME: up") when not NULL. */
static bool start(struct vs *v, unsigned int nports, const char *extra,
		  const char *up)
{
	if (!netns_ok)
		return false;
	if (vs_start(v, bin, nports, extra, NULL) < 0)
		return false;
	return !up || vs_wait_log(v, up);
}

static void stop(struct vs *v)
{
	CHECK(vs_stop(v) == 0);
}

/* How often the switch logged @needle. */
static int count(struct vs *v, const char *needle)
{
	return vs_log_count(v, needle);
}

/* Wait until the switch logged @needle @n times. */
static bool wait_count(struct vs *v, const char *needle, int n)
{
	int i;

	for (i = 0; i < 1000 && count(v, needle) < n; i++)
		usleep(10000);
	return count(v, needle) >= n;
}

/* A configuration of one guest port and @extra, for a reload. */
static void write_cfg(FILE *cf, const struct vs *v, const char *extra)
{
	fprintf(cf, "[switch]\nsocket_dir = %s\nlog_level = debug\n"
		"[port p0]\n%s", v->dir, extra);
	fclose(cf);
}

/* ---- the cases ---- */

/*
 * A tap vswitch creates: a guest's broadcast reaches the kernel's side
 * and the other guest; a frame from the kernel's side reaches the guest
 * it is for, and only it; a guest's frame for the kernel's address goes
 * to the tap only. The tap is gone once vswitch stops.
 */
TEST(test_tap_created_frames_both_ways)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4];
	struct guest gu[2];
	struct vs v;
	int pkt, n;

	REQUIRE(start(&v, 2, "[port lan]\ntype = tap\nifname = vs-lan\n",
		      "port lan: up: tap vs-lan (created)"));
	REQUIRE(guest_connect(&gu[0], vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&gu[1], vs_sock(&v, "p1"), NULL, 2) == 0);
	pkt = pkt_open("vs-lan");
	REQUIRE(pkt >= 0);
	frame_make(f, 60, mac_broadcast, gu[0].mac, seq);
	REQUIRE(guest_send(&gu[0], f, 60) == 0);
	n = pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS);
	CHECK(n == 60 && frame_check(g, 60, mac_broadcast, gu[0].mac, seq));
	CHECK(guest_recv(&gu[1], g, sizeof(g), H_TIMEOUT_MS) == 60);
	seq++;
	frame_make(f, 1000, gu[0].mac, kmac, seq);
	REQUIRE(pkt_send(pkt, f, 1000));
	CHECK(guest_recv(&gu[0], g, sizeof(g), H_TIMEOUT_MS) == 1000 &&
	      frame_check(g, 1000, gu[0].mac, kmac, seq));
	seq++;
	frame_make(f, 1514, kmac, gu[1].mac, seq);
	REQUIRE(guest_send(&gu[1], f, 1514) == 0);
	n = pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS);
	CHECK(n == 1514 && frame_check(g, 1514, kmac, gu[1].mac, seq));
	seq++;
	CHECK(!guest_pending(&gu[0]) && !guest_pending(&gu[1]));
	close(pkt);
	guest_close(&gu[0]);
	guest_close(&gu[1]);
	stop(&v);
	CHECK(if_nametoindex("vs-lan") == 0);
	CHECK(vs_stat(&v, "lan", "rx_packets") == 1);
	CHECK(vs_stat(&v, "lan", "tx_packets") == 2);
}

/*
 * A guest's burst to the kernel's side of a tap, larger than the switch's
 * pool of buffers for it: the frames beyond wait in the guest's ring for
 * buffers to come back from the kernel, and every one arrives.
 */
TEST(test_a_burst_to_an_uplink_waits_for_buffers)
{
	uint8_t f[H_MAX_FRAME + 4];
	int big = 4 << 20, pkt, i, n = 120;
	struct guest gu;
	struct vs v;

	REQUIRE(start(&v, 1, "[port lan]\ntype = tap\nifname = vs-lan\n",
		      "port lan: up: tap vs-lan (created)"));
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	pkt = pkt_open("vs-lan");
	REQUIRE(pkt >= 0);
	REQUIRE(setsockopt(pkt, SOL_SOCKET, SO_RCVBUFFORCE, &big,
			   sizeof(big)) == 0);
	/* The kernel's side is learned: the burst is unicast. */
	frame_make(f, 60, gu.mac, kmac, seq++);
	REQUIRE(pkt_send(pkt, f, 60));
	CHECK(guest_recv(&gu, f, sizeof(f), H_TIMEOUT_MS) == 60);
	for (i = 0; i < n; i++) {
		frame_make(f, 60, kmac, gu.mac, seq + (uint32_t)i);
		REQUIRE(guest_queue(&gu, f, 60) == 0);
	}
	guest_publish(&gu, VU_TX);
	guest_notify(&gu, VU_TX);
	CHECK(guest_tx_done(&gu));
	CHECK(pkt_drain(pkt, false, 500) == n);
	seq += (uint32_t)n;
	close(pkt);
	guest_close(&gu);
	stop(&v);
	CHECK(vs_stat(&v, "lan", "tx_packets") == n);
	CHECK(vs_stat(&v, "lan", "tx_no_buffer") == 0);
	CHECK(vs_stat(&v, "lan", "tx_held") > 0);
}

/*
 * An af_packet port on a veth: frames cross between a guest and the
 * veth's peer both ways, and the switch does not take back what it sent
 * on the interface (a guest's broadcast reaches the other guest once).
 */
TEST(test_af_packet_on_a_veth)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4];
	struct guest gu[2];
	struct vs v;
	int pkt;

	REQUIRE(sh("ip link add vs-wan type veth peer name vs-peer && "
		   "ip link set vs-wan up && ip link set vs-peer up"));
	REQUIRE(start(&v, 2, "[port wan]\ntype = af_packet\nifname = vs-wan\n",
		      "port wan: up: af_packet vs-wan"));
	REQUIRE(guest_connect(&gu[0], vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&gu[1], vs_sock(&v, "p1"), NULL, 2) == 0);
	pkt = pkt_open("vs-peer");
	REQUIRE(pkt >= 0);
	frame_make(f, 300, mac_broadcast, gu[0].mac, seq);
	REQUIRE(guest_send(&gu[0], f, 300) == 0);
	CHECK(pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS) == 300 &&
	      frame_check(g, 300, mac_broadcast, gu[0].mac, seq));
	CHECK(guest_recv(&gu[1], g, sizeof(g), H_TIMEOUT_MS) == 300);
	seq++;
	frame_make(f, 700, gu[0].mac, kmac, seq);	/* learned: 0 only */
	REQUIRE(pkt_send(pkt, f, 700));
	CHECK(guest_recv(&gu[0], g, sizeof(g), H_TIMEOUT_MS) == 700 &&
	      frame_check(g, 700, gu[0].mac, kmac, seq));
	seq++;
	usleep(100000);
	CHECK(!guest_pending(&gu[0]) && !guest_pending(&gu[1]));
	close(pkt);
	guest_close(&gu[0]);
	guest_close(&gu[1]);
	stop(&v);
	sh("ip link del vs-wan");
	CHECK(vs_stat(&v, "wan", "rx_packets") == 1);
	CHECK(vs_stat(&v, "p1", "tx_packets") == 1);
}

/* An af_packet port on an interface that is a Linux bridge's port gets a
 * warning, and works all the same. */
TEST(test_af_packet_on_a_bridge_port_is_warned_about)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4];
	struct guest gu;
	struct vs v;
	int pkt, i, n;

	REQUIRE(sh("ip link add vs-br type bridge && "
		   "ip link add vs-wan type veth peer name vs-peer && "
		   "ip link set vs-wan master vs-br && ip link set vs-br up && "
		   "ip link set vs-wan up && ip link set vs-peer up"));
	REQUIRE(start(&v, 1, "[port wan]\ntype = af_packet\nifname = vs-wan\n",
		      "port wan: up: af_packet vs-wan"));
	CHECK(count(&v, "vs-wan is a port of a Linux bridge") == 1);
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	pkt = pkt_open("vs-peer");
	REQUIRE(pkt >= 0);
	frame_make(f, 100, mac_broadcast, gu.mac, seq);
	REQUIRE(guest_send(&gu, f, 100) == 0);
	/* The bridge may send a frame of its own first: skipped, said. */
	for (i = 0, n = 0; i < 4 && n >= 0; i++) {
		n = pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS);
		if (n == 100 && frame_check(g, 100, mac_broadcast, gu.mac, seq))
			break;
		if (n >= 14)
			fprintf(stderr, "  vs-peer got a %d-byte frame of type "
				"%02x%02x from %02x:%02x:%02x:%02x:%02x:%02x\n",
				n, g[12], g[13], g[6], g[7], g[8], g[9], g[10],
				g[11]);
	}
	CHECK(i < 4 && n == 100);
	seq++;
	close(pkt);
	guest_close(&gu);
	stop(&v);
	sh("ip link del vs-wan && ip link del vs-br");
}

/*
 * VLANs on an uplink: a trunk tap carries an access guest's frames
 * tagged, and takes tagged frames of its VLANs to the guest untagged;
 * frames of other VLANs, a VLAN 4095 tag and stacked tags whose outer
 * VLAN is not carried are dropped and counted, a QinQ frame whose outer
 * VLAN is carried keeps its inner tag.
 */
TEST(test_tap_trunk_with_access_guests)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4], t[H_MAX_FRAME + 8];
	struct guest gu[2];
	struct vs v;
	int pkt, n;

	REQUIRE(start(&v, 0, "[port a]\nvlan = 10\n[port b]\nvlan = 20\n"
		      "[port lan]\ntype = tap\nifname = vs-lan\ntrunk = 10, 20\n",
		      "port lan: up"));
	REQUIRE(guest_connect(&gu[0], vs_sock(&v, "a"), NULL, 1) == 0);
	REQUIRE(guest_connect(&gu[1], vs_sock(&v, "b"), NULL, 2) == 0);
	pkt = pkt_open("vs-lan");
	REQUIRE(pkt >= 0);
	frame_make(f, 100, mac_broadcast, gu[0].mac, seq);
	REQUIRE(guest_send(&gu[0], f, 100) == 0);
	n = pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS);
	CHECK(n == 104 && g[12] == 0x81 && (g[14] << 8 | g[15]) == 10 &&
	      memcmp(g + 16, f + 12, 88) == 0);
	seq++;
	/* VLAN 20 from the kernel's side: to b, untagged. */
	frame_make(f, 100, gu[1].mac, kmac, seq);
	REQUIRE(pkt_send(pkt, t, tag_frame(t, f, 100, 20)));
	CHECK(guest_recv(&gu[1], g, sizeof(g), H_TIMEOUT_MS) == 100 &&
	      frame_check(g, 100, gu[1].mac, kmac, seq));
	seq++;
	/* Refused: VLAN 30, VLAN 4095, QinQ with an outer 30. */
	frame_make(f, 100, mac_broadcast, kmac, seq++);
	REQUIRE(pkt_send(pkt, t, tag_frame(t, f, 100, 30)));
	REQUIRE(pkt_send(pkt, t, tag_frame(t, f, 100, 4095)));
	tag_frame(g, f, 100, 20);
	REQUIRE(pkt_send(pkt, t, tag_frame(t, g, 104, 30)));
	/* QinQ, outer 10: a gets it with the inner tag 20 in it. */
	REQUIRE(pkt_send(pkt, t, tag_frame(t, g, 104, 10)));
	n = guest_recv(&gu[0], g, sizeof(g), H_TIMEOUT_MS);
	CHECK(n == 104 && g[12] == 0x81 && (g[14] << 8 | g[15]) == 20);
	usleep(100000);
	CHECK(!guest_pending(&gu[0]) && !guest_pending(&gu[1]));
	close(pkt);
	guest_close(&gu[0]);
	guest_close(&gu[1]);
	stop(&v);
	CHECK(vs_stat(&v, "lan", "rx_vlan_denied") == 3);
}

/* A frame sent on @ifname reaches guest @gu. */
static bool reaches(struct guest *gu, const char *ifname)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4];
	int pkt = pkt_open(ifname);
	bool ok;

	if (pkt < 0)
		return false;
	frame_make(f, 80, gu->mac, kmac, seq);
	ok = pkt_send(pkt, f, 80) &&
	     guest_recv(gu, g, sizeof(g), H_TIMEOUT_MS) == 80 &&
	     frame_check(g, 80, gu->mac, kmac, seq);
	seq++;
	close(pkt);
	return ok;
}

/*
 * A tap deleted under the running switch: the port goes down, vswitch
 * makes it again, and frames flow as before. An af_packet interface
 * taken down and up again: down, and back once it is up.
 */
TEST(test_interfaces_that_go_and_come_back)
{
	struct guest gu;
	struct vs v;

	REQUIRE(sh("ip link add vs-wan type veth peer name vs-peer && "
		   "ip link set vs-wan up && ip link set vs-peer up"));
	REQUIRE(start(&v, 1, "[port lan]\ntype = tap\nifname = vs-lan\n"
		      "[port wan]\ntype = af_packet\nifname = vs-wan\n",
		      "port wan: up"));
	REQUIRE(vs_wait_log(&v, "port lan: up"));
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(sh("ip link del vs-lan"));
	CHECK(wait_count(&v, "port lan: down", 1));
	CHECK(wait_count(&v, "port lan: up: tap vs-lan (created)", 2));
	CHECK(reaches(&gu, "vs-lan"));
	REQUIRE(sh("ip link set vs-wan down"));
	CHECK(wait_count(&v, "port wan: down", 1));
	REQUIRE(sh("ip link set vs-wan up"));
	CHECK(wait_count(&v, "port wan: up: af_packet vs-wan", 2));
	CHECK(reaches(&gu, "vs-peer"));
	guest_close(&gu);
	stop(&v);
	CHECK(if_nametoindex("vs-lan") == 0);
	sh("ip link del vs-wan");
}

/*
 * A persistent tap that exists already is attached, made a port of the
 * configured bridge, and at exit left in place, out of the bridge. A
 * reload that removes an uplink closes it; one that adds it opens it.
 */
TEST(test_existing_tap_in_a_bridge_and_reload)
{
	struct vs v;
	FILE *cf;

	REQUIRE(sh("ip tuntap add dev vs-per mode tap vnet_hdr && "
		   "ip link add br-lan type bridge && ip link set br-lan up"));
	REQUIRE(start(&v, 1, "[port lan]\ntype = tap\nifname = vs-per\n"
		      "bridge = br-lan\n", "port lan: up: tap vs-per, MTU"));
	CHECK(vs_log_has(&v, "in bridge br-lan"));
	CHECK(sh("ip -o link show vs-per | grep -q 'master br-lan'"));
	cf = fopen(v.cfg, "w");
	REQUIRE(cf != NULL);
	write_cfg(cf, &v, "");
	vs_signal(&v, SIGHUP);
	CHECK(vs_wait_log(&v, "port lan: down"));
	CHECK(sh("! ip -o link show vs-per | grep -q master"));
	cf = fopen(v.cfg, "w");
	REQUIRE(cf != NULL);
	write_cfg(cf, &v, "[port lan]\ntype = tap\nifname = vs-per\n"
		  "bridge = br-lan\n");
	vs_signal(&v, SIGHUP);
	CHECK(wait_count(&v, "port lan: up: tap vs-per", 2));
	stop(&v);
	CHECK(if_nametoindex("vs-per") != 0);
	CHECK(sh("! ip -o link show vs-per | grep -q master"));
	sh("ip link del vs-per; ip link del br-lan");
}

/*
 * Frames from the network are untrusted too: frames longer than the
 * interface's MTU are dropped and counted (the kernel itself sends no
 * frame shorter than an Ethernet header, not even for root); a flood of
 * random
 * source addresses from the kernel's side fills the table but pushes
 * none of the guests' entries out (their frames to each other stay
 * unicast and never reach the tap).
 */
TEST(test_frames_from_the_network_are_checked)
{
	uint8_t f[H_MAX_FRAME + 4], g[H_MAX_FRAME + 4];
	struct guest gu[2];
	struct vs v;
	unsigned int i;
	int pkt;

	REQUIRE(netns_ok);
	REQUIRE(vs_start_sw(&v, bin, "fdb_size = 64", 2,
			    "[port lan]\ntype = tap\nifname = vs-lan\n",
			    NULL) == 0);
	REQUIRE(vs_wait_log(&v, "port lan: up"));
	REQUIRE(guest_connect(&gu[0], vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(guest_connect(&gu[1], vs_sock(&v, "p1"), NULL, 2) == 0);
	pkt = pkt_open("vs-lan");
	REQUIRE(pkt >= 0);
	/* The guests learned first. */
	frame_make(f, 60, mac_broadcast, gu[0].mac, seq++);
	REQUIRE(guest_send(&gu[0], f, 60) == 0);
	frame_make(f, 60, mac_broadcast, gu[1].mac, seq++);
	REQUIRE(guest_send(&gu[1], f, 60) == 0);
	CHECK(guest_recv(&gu[0], g, sizeof(g), H_TIMEOUT_MS) == 60);
	CHECK(guest_recv(&gu[1], g, sizeof(g), H_TIMEOUT_MS) == 60);
	pkt_drain(pkt, false, 100);
	/* A frame over the MTU (raised on the interface behind the
	 * switch's back), and a bare header, which is fine. */
	frame_make(f, 60, gu[0].mac, kmac, seq++);
	REQUIRE(pkt_send(pkt, f, 14));
	CHECK(guest_recv(&gu[0], g, sizeof(g), H_TIMEOUT_MS) == 14);
	REQUIRE(sh("ip link set vs-lan mtu 4000"));
	frame_make(f, 3000, gu[0].mac, kmac, seq++);
	REQUIRE(pkt_send(pkt, f, 3000));
	/* 10,000 random sources, to a nobody: flooded to the guests. */
	for (i = 0; i < 10000; i++) {
		uint8_t src[6] = { 0x02, 0x77, (uint8_t)(i >> 16),
				   (uint8_t)(i >> 8), (uint8_t)i, 0x01 };

		frame_make(f, 60, mac_broadcast, src, i);
		if (!pkt_send(pkt, f, 60))
			usleep(1000);
		if (i % 64 == 0) {
			while (guest_pending(&gu[0]))
				guest_recv(&gu[0], g, sizeof(g), 0);
			while (guest_pending(&gu[1]))
				guest_recv(&gu[1], g, sizeof(g), 0);
		}
	}
	usleep(200000);
	while (guest_pending(&gu[0]))
		guest_recv(&gu[0], g, sizeof(g), 0);
	while (guest_pending(&gu[1]))
		guest_recv(&gu[1], g, sizeof(g), 0);
	pkt_drain(pkt, false, 50);
	/* The guests still reach each other privately. */
	frame_make(f, 200, gu[1].mac, gu[0].mac, seq);
	REQUIRE(guest_send(&gu[0], f, 200) == 0);
	CHECK(guest_recv(&gu[1], g, sizeof(g), H_TIMEOUT_MS) == 200 &&
	      frame_check(g, 200, gu[1].mac, gu[0].mac, seq));
	seq++;
	CHECK(pkt_drain(pkt, false, 100) == 0);
	close(pkt);
	guest_close(&gu[0]);
	guest_close(&gu[1]);
	stop(&v);
	CHECK(vs_stat(&v, "lan", "rx_oversize") == 1);
	CHECK(vs_stat(&v, "lan", "rx_not_learned") > 0);
}

/* ---- offloads through uplinks ---- */

/* An uplink under test and the kernel's side of it. */
struct upl {
	const char *cfg;	/* the port's configuration */
	const char *up;		/* what the switch logs once it is up */
	const char *port;	/* its name */
	const char *kside;	/* the interface the kernel's side uses */
	bool veth;		/* on a veth pair made for it */
};

static const struct upl up_tap = {
	"[port lan]\ntype = tap\nifname = vs-lan\n",
	"port lan: up: tap vs-lan (created)", "lan", "vs-lan", false,
};

static const struct upl up_veth = {
	"[port wan]\ntype = af_packet\nifname = vs-wan\n",
	"port wan: up: af_packet vs-wan", "wan", "vs-peer", true,
};

static bool upl_make(const struct upl *u)
{
	return !u->veth ||
	       sh("ip link add vs-wan type veth peer name vs-peer && "
		  "ip link set vs-wan up && ip link set vs-peer up");
}

static void upl_gone(const struct upl *u)
{
	if (u->veth)
		sh("ip link del vs-wan");
}

/* Start the switch with @n guest ports p0.. and uplink @u; with @vlan,
 * the guests are access ports of that VLAN and the uplink a trunk of
 * it. */
static bool upl_start(struct vs *v, const struct upl *u, unsigned int n,
		      uint16_t vlan)
{
	char cfg[512];
	size_t at = 0;
	unsigned int i;

	if (!vlan)
		return start(v, n, u->cfg, u->up);
	for (i = 0; i < n; i++)
		at += (size_t)snprintf(cfg + at, sizeof(cfg) - at,
				       "[port p%u]\nvlan = %u\n", i, vlan);
	snprintf(cfg + at, sizeof(cfg) - at, "%strunk = %u\n", u->cfg, vlan);
	return start(v, 0, cfg, u->up);
}

/* Frame @f (@len bytes) after header @h as it is on an uplink that
 * carries it tagged for @vlan (0: untagged), in @t after @th: the tag
 * after the addresses, and the checksum's start 4 bytes on. Return: its
 * length. */
static size_t on_wire(uint8_t *t, struct virtio_net_hdr *th,
		      const uint8_t *f, size_t len,
		      const struct virtio_net_hdr *h, uint16_t vlan)
{
	*th = *h;
	if (!vlan) {
		memcpy(t, f, len);
		return len;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		th->csum_start = htole16((uint16_t)(le16toh(h->csum_start) +
						    4));
	if (h->hdr_len)
		th->hdr_len = htole16((uint16_t)(le16toh(h->hdr_len) + 4));
	return tag_frame(t, f, len, vlan);
}

/*
 * Frame @k of the four each case sends, from @src to @dst, numbered @n,
 * with its header in @h: a 64 KB TSO frame over IPv4 (MSS 1448), a 60 KB
 * one over IPv6 with ECN (CWR set, MSS 1400), then a UDP frame over IPv4
 * and a TCP one over IPv6 whose checksums are left (NEEDS_CSUM). Return:
 * its length.
 */
#define OFF_FRAMES 4

static size_t off_frame(uint8_t *f, unsigned int k, const uint8_t *dst,
			const uint8_t *src, uint32_t n,
			struct virtio_net_hdr *h)
{
	size_t len;

	switch (k) {
	case 0:
		len = l4_frame(f, dst, src, false, 6, 64000, n, h);
		l4_tso(h, f, 1448);
		break;
	case 1:
		len = l4_frame(f, dst, src, true, 6, 60000, n, h);
		l4_tso(h, f, 1400);
		f[le16toh(h->csum_start) + 13] |= 0x80;		/* CWR */
		h->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		break;
	case 2:
		len = l4_frame(f, dst, src, false, 17, 1000, n, h);
		break;
	default:
		len = l4_frame(f, dst, src, true, 6, 700, n, h);
		break;
	}
	return len;
}

/* Does header @a ask what @b asks (all but hdr_len, which the kernel
 * sets to what its buffer's linear part holds)? Said when not. */
static bool same_offload(const struct virtio_net_hdr *a,
			 const struct virtio_net_hdr *b)
{
	if (a->flags == b->flags && a->gso_type == b->gso_type &&
	    a->gso_size == b->gso_size && a->csum_start == b->csum_start &&
	    a->csum_offset == b->csum_offset)
		return true;
	fprintf(stderr, "  header flags %u gso %u/%u csum %u+%u, not "
		"%u %u/%u %u+%u\n", a->flags, a->gso_type,
		le16toh(a->gso_size), le16toh(a->csum_start),
		le16toh(a->csum_offset), b->flags, b->gso_type,
		le16toh(b->gso_size), le16toh(b->csum_start),
		le16toh(b->csum_offset));
	return false;
}

/* Is what @who got (@n bytes, or an error) @want (@len bytes)? Said
 * when not. */
static bool same_bytes(const char *who, const uint8_t *got, int n,
		       const uint8_t *want, size_t len)
{
	size_t i;

	if (n != (int)len) {
		fprintf(stderr, "  %s got %d bytes, not %zu\n", who, n, len);
		return false;
	}
	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	if (i < len)
		fprintf(stderr, "  %s got %zu bytes that differ from byte %zu "
			"on\n", who, len, i);
	return i == len;
}

/* The kernel's side reads @want (@len bytes) whole, after a header that
 * asks what @h asks. */
static bool kernel_got(int fd, const struct virtio_net_hdr *h,
		       const uint8_t *want, size_t len)
{
	static uint8_t got[H_MAX_FRAME + 64];
	struct virtio_net_hdr kh;
	int n = vpkt_recv(fd, &kh, got, sizeof(got), H_TIMEOUT_MS);

	if (!same_bytes("the kernel", got, n, want, len))
		return false;
	return same_offload(&kh, h);
}

/* Guest @gu's next frame is @want (@len bytes) after header @h (its
 * first 10 bytes), or with @h NULL after a header that leaves nothing
 * to do, its checksum complete. */
static bool guest_got(struct guest *gu, const struct virtio_net_hdr *h,
		      const uint8_t *want, size_t len)
{
	static uint8_t got[H_MAX_FRAME + 64];
	struct virtio_net_hdr rh;
	int n = guest_recv_hdr(gu, &rh, got, sizeof(got), H_TIMEOUT_MS);

	if (!same_bytes("the guest", got, n, want, len))
		return false;
	if (h ? memcmp(&rh, h, VNET_HLEN) != 0 :
		rh.flags || rh.gso_type || !l4_csum_ok(got, len)) {
		struct virtio_net_hdr none = { 0 };

		same_offload(&rh, h ? h : &none);
		fprintf(stderr, "  hdr_len %u\n", le16toh(rh.hdr_len));
		return false;
	}
	return true;
}

/*
 * Offloads from a guest to uplink @u (with @vlan, tagged for it): TSO
 * frames of 64 KB (IPv4, and IPv6 with ECN) and frames whose checksum is
 * left reach the kernel's side whole, one frame each, byte for byte as
 * the guest sent them, after a header that asks the kernel for the same
 * segmentation and checksum; the switch neither segments nor sums
 * anything, and counts what it received and sent.
 */
static void offloads_to(const struct upl *u, uint16_t vlan)
{
	static uint8_t f[H_MAX_FRAME], t[H_MAX_FRAME + 4], g[H_MAX_FRAME];
	struct virtio_net_hdr h = { 0 }, th;
	struct guest gu;
	unsigned int k;
	size_t len;
	struct vs v;
	int pkt;

	REQUIRE(upl_make(u));
	REQUIRE(upl_start(&v, u, 1, vlan));
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	pkt = vpkt_open(u->kside);
	REQUIRE(pkt >= 0);
	/* The kernel's side is learned: the guest's frames are unicast. */
	frame_make(f, 60, gu.mac, kmac, seq);
	len = on_wire(t, &th, f, 60, &h, vlan);
	REQUIRE(vpkt_send(pkt, &th, t, len));
	CHECK(guest_recv(&gu, g, sizeof(g), H_TIMEOUT_MS) == 60 &&
	      frame_check(g, 60, gu.mac, kmac, seq));
	seq++;
	for (k = 0; k < OFF_FRAMES; k++) {
		len = off_frame(f, k, kmac, gu.mac, seq++, &h);
		REQUIRE(guest_send_hdr(&gu, &h, f, len) == 0);
		len = on_wire(t, &th, f, len, &h, vlan);
		CHECK(kernel_got(pkt, &th, t, len));
	}
	CHECK(guest_tx_done(&gu));
	CHECK(pkt_drain(pkt, true, 100) == 0);
	CHECK(vs_alive(&v));
	close(pkt);
	guest_close(&gu);
	stop(&v);
	upl_gone(u);
	CHECK(vs_stat(&v, "p0", "rx_packets") == OFF_FRAMES);
	CHECK(vs_stat(&v, "p0", "rx_gso") == 2);
	CHECK(vs_stat(&v, "p0", "rx_csum_partial") == OFF_FRAMES);
	CHECK(vs_stat(&v, "p0", "rx_bad_header") == 0);
	CHECK(vs_stat(&v, u->port, "tx_packets") == OFF_FRAMES);
	CHECK(vs_stat(&v, u->port, "tx_segmented") == 0);
	CHECK(vs_stat(&v, u->port, "tx_csum_completed") == 0);
	CHECK(vs_stat(&v, u->port, "tx_oversize") == 0);
	CHECK(vs_stat(&v, u->port, "tx_refused") == 0);
}

/*
 * Offloads from uplink @u (with @vlan, tagged for it) to three guests:
 * the kernel's side sends each of the frames of offloads_to() to each
 * guest, with the header the kernel checks (virtio_net_hdr_to_skb) and
 * passes on. A guest that negotiated everything (GUEST_TSO4/6,
 * GUEST_ECN, GUEST_CSUM) gets each whole after the same header; one with
 * GUEST_CSUM only gets the TSO frames as the test's own segments, their
 * checksums left; one with neither gets those segments and the other
 * frames with checksums complete, after headers that leave nothing to
 * do. The uplink counts what it received, the guests what was segmented
 * and summed for them.
 */
static void offloads_from(const struct upl *u, uint16_t vlan)
{
	static uint8_t f[H_MAX_FRAME], t[H_MAX_FRAME + 4], g[H_MAX_FRAME];
	static uint8_t seg[H_MAX_FRAME];
	static const uint64_t tso = (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
				    (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
				    (1ULL << VIRTIO_NET_F_GUEST_ECN);
	struct virtio_net_hdr h, sh, th;
	long long completed = 0;
	struct guest gu[3];
	unsigned int k, r, i;
	char name[3][4];
	size_t len, n;
	struct vs v;
	bool ok;
	int pkt;

	REQUIRE(upl_make(u));
	REQUIRE(upl_start(&v, u, 3, vlan));
	for (r = 0; r < 3; r++) {
		struct guest_opts o = guest_defaults();

		if (r > 0)
			o.features &= ~tso;
		if (r > 1)
			o.features &= ~(1ULL << VIRTIO_NET_F_GUEST_CSUM);
		snprintf(name[r], sizeof(name[r]), "p%u", r);
		REQUIRE(guest_connect(&gu[r], vs_sock(&v, name[r]), &o,
				      (uint8_t)(r + 1)) == 0);
	}
	CHECK(gu[0].features & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
	CHECK(!(gu[1].features & tso) &&
	      (gu[1].features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)));
	pkt = vpkt_open(u->kside);
	REQUIRE(pkt >= 0);
	/* The guests are learned: the kernel's frames to them unicast. */
	for (r = 0; r < 3; r++) {
		frame_make(f, 60, mac_broadcast, gu[r].mac, seq);
		REQUIRE(guest_send(&gu[r], f, 60) == 0);
		for (i = 0; i < 3; i++)
			CHECK(i == r ||
			      (guest_recv(&gu[i], g, sizeof(g),
					  H_TIMEOUT_MS) == 60 &&
			       frame_check(g, 60, mac_broadcast, gu[r].mac,
					   seq)));
		CHECK(vpkt_recv(pkt, &th, t, sizeof(t), H_TIMEOUT_MS) ==
		      60 + (vlan ? 4 : 0));
		seq++;
	}
	for (k = 0; k < OFF_FRAMES; k++) {
		for (r = 0; r < 3; r++) {
			len = off_frame(f, k, gu[r].mac, kmac, seq++, &h);
			n = on_wire(t, &th, f, len, &h, vlan);
			REQUIRE(vpkt_send(pkt, &th, t, n));
			if (r == 0 || (!h.gso_type && r == 1)) {
				CHECK(guest_got(&gu[r], &h, f, len));
				continue;
			}
			if (!h.gso_type) {	/* r 2: summed for it */
				l4_complete(f, len, le16toh(h.csum_start),
					    le16toh(h.csum_offset));
				CHECK(guest_got(&gu[r], NULL, f, len));
				completed++;
				continue;
			}
			memset(&sh, 0, sizeof(sh));
			if (r == 1) {
				sh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
				sh.csum_start = h.csum_start;
				sh.csum_offset = h.csum_offset;
			}
			/* Past a segment missing, the others are not
			 * waited for. */
			for (i = 0; (n = l4_segment(f, len,
						    le16toh(h.gso_size), i,
						    r == 1, seg)); i++) {
				ok = guest_got(&gu[r], r == 1 ? &sh : NULL,
					       seg, n);
				CHECK(ok);
				if (!ok)
					break;
				completed += r == 2;
			}
		}
	}
	for (r = 0; r < 3; r++)
		CHECK(!guest_pending(&gu[r]));
	CHECK(pkt_drain(pkt, true, 100) == 0);
	CHECK(vs_alive(&v));
	close(pkt);
	for (r = 0; r < 3; r++)
		guest_close(&gu[r]);
	stop(&v);
	upl_gone(u);
	CHECK(vs_stat(&v, u->port, "rx_packets") == 3 * OFF_FRAMES);
	CHECK(vs_stat(&v, u->port, "rx_gso") == 3 * 2);
	CHECK(vs_stat(&v, u->port, "rx_csum_partial") == 3 * OFF_FRAMES);
	CHECK(vs_stat(&v, u->port, "rx_bad_header") == 0);
	CHECK(vs_stat(&v, "p0", "tx_segmented") == 0);
	CHECK(vs_stat(&v, "p0", "tx_csum_completed") == 0);
	CHECK(vs_stat(&v, "p1", "tx_segmented") == 2);
	CHECK(vs_stat(&v, "p1", "tx_csum_completed") == 0);
	CHECK(vs_stat(&v, "p2", "tx_segmented") == 2);
	CHECK(vs_stat(&v, "p2", "tx_csum_completed") == completed);
}

/* offloads_to() and offloads_from() with a tap vswitch creates (its
 * TUNSETOFFLOAD: TUN_F_CSUM, TSO4, TSO6, TSO_ECN). */
TEST(test_offloads_from_a_guest_to_a_tap)
{
	offloads_to(&up_tap, 0);
}

TEST(test_offloads_from_a_tap_to_guests)
{
	offloads_from(&up_tap, 0);
}

/* The same with an af_packet port on a veth (PACKET_VNET_HDR both
 * ways), the kernel's side on the veth's peer. */
TEST(test_offloads_from_a_guest_to_an_af_packet_port)
{
	offloads_to(&up_veth, 0);
}

TEST(test_offloads_from_an_af_packet_port_to_guests)
{
	offloads_from(&up_veth, 0);
}

/* All four on uplinks that are trunks of VLAN 10, to and from guests
 * that are its access ports: the kernel's side sends and gets the frames
 * tagged, with their checksums' start 4 bytes further on (an af_packet
 * port gets the tag from the kernel apart, and puts it back). */
TEST(test_offloads_tagged_on_trunk_uplinks)
{
	offloads_to(&up_tap, 10);
	offloads_from(&up_tap, 10);
	offloads_to(&up_veth, 10);
	offloads_from(&up_veth, 10);
}

/* The effective capabilities of the running switch, from /proc. */
static unsigned long long cap_eff(const struct vs *v)
{
	char path[64], line[128];
	unsigned long long caps = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)v->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return caps;
}

/*
 * Run as an unprivileged user with an uplink: vswitch keeps
 * CAP_NET_ADMIN and CAP_NET_RAW and nothing else, and with them makes
 * the tap again when it is deleted.
 */
TEST(test_unprivileged_user_keeps_what_uplinks_need)
{
	struct guest gu;
	struct vs v;

	REQUIRE(netns_ok);
	REQUIRE(vs_start_sw(&v, bin, "user = nobody", 1,
			    "[port lan]\ntype = tap\nifname = vs-lan\n",
			    NULL) == 0);
	CHECK(vs_wait_log(&v, "keeping CAP_NET_ADMIN and CAP_NET_RAW"));
	CHECK(vs_uid(&v) == 65534);
	CHECK(cap_eff(&v) == (1ULL << 12 | 1ULL << 13));
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	REQUIRE(sh("ip link del vs-lan"));
	CHECK(wait_count(&v, "port lan: up: tap vs-lan (created)", 2));
	CHECK(reaches(&gu, "vs-lan"));
	guest_close(&gu);
	REQUIRE(chmod(v.dir, 0777) == 0);
	stop(&v);
	CHECK(if_nametoindex("vs-lan") == 0);
}

/* vswitch ctl @args against @v's switch, its standard output in @out:
 * the exit status. */
static int ctl(const struct vs *v, const char *args, char *out, size_t size)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s ctl -c %s %s", bin, v->cfg, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

/*
 * vswitch ctl on an uplink: show has its kind, state, interface and
 * VLANs; port disable closes it (the tap vswitch created goes) and
 * enable opens it again, and frames flow through it once more.
 */
TEST(test_ctl_shows_disables_and_enables_an_uplink)
{
	uint8_t f[1514], g[H_MAX_FRAME + 4];
	struct guest gu;
	struct vs v;
	char out[8192];
	int pkt, n;
	FILE *cf;

	REQUIRE(start(&v, 0, "[port p0]\nvlan = 5\n[port lan]\ntype = tap\n"
		      "ifname = vs-lan\nvlan = 5\ntrunk = 10\ntrunk = 20-30\n",
		      "port lan: up: tap vs-lan (created)"));
	REQUIRE(guest_connect(&gu, vs_sock(&v, "p0"), NULL, 1) == 0);
	CHECK(ctl(&v, "show lan --json", out, sizeof(out)) == 0);
	CHECK(strstr(out, "\"name\":\"lan\",\"type\":\"tap\","
		     "\"state\":\"up\",\"interface\":\"vs-lan\"") != NULL);
	CHECK(strstr(out, "\"vlan\":5,\"trunk\":\"10,20-30\"") != NULL);
	CHECK(ctl(&v, "port lan disable", out, sizeof(out)) == 0);
	CHECK(strstr(out, "state  disabled\n") != NULL);
	CHECK(if_nametoindex("vs-lan") == 0);
	CHECK(ctl(&v, "show lan", out, sizeof(out)) == 0);
	CHECK(strstr(out, " disabled\n") != NULL);
	/* A reload that reopens it (a new MTU) leaves it disabled. */
	cf = fopen(v.cfg, "a");
	REQUIRE(cf);
	fprintf(cf, "mtu = 1400\n");
	fclose(cf);
	CHECK(ctl(&v, "reload", out, sizeof(out)) == 0);
	CHECK(strstr(out, "port lan: mtu (reopened)") != NULL);
	CHECK(ctl(&v, "show lan", out, sizeof(out)) == 0);
	CHECK(strstr(out, " disabled\n") != NULL);
	CHECK(if_nametoindex("vs-lan") == 0);
	CHECK(ctl(&v, "port lan enable", out, sizeof(out)) == 0);
	CHECK(strstr(out, "state  up\n") != NULL);
	CHECK(if_nametoindex("vs-lan") != 0);
	pkt = pkt_open("vs-lan");
	REQUIRE(pkt >= 0);
	frame_make(f, 60, mac_broadcast, gu.mac, seq);
	REQUIRE(guest_send(&gu, f, 60) == 0);
	n = pkt_recv(pkt, g, sizeof(g), H_TIMEOUT_MS);
	CHECK(n == 60 && frame_check(g, 60, mac_broadcast, gu.mac, seq));
	seq++;
	close(pkt);
	guest_close(&gu);
	stop(&v);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: uplinks PATH-TO-VSWITCH [TEST...]\n");
		return 2;
	}
	bin = argv[1];
	test_select(argv + 2);
	signal(SIGPIPE, SIG_IGN);
	/* A network namespace of our own for everything, vswitch too, and
	 * a /sys that shows its interfaces (as ip netns exec makes). */
	netns_ok = unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 &&
		   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		   umount2("/sys", MNT_DETACH) == 0 &&
		   mount("sysfs", "/sys", "sysfs", 0, NULL) == 0 &&
		   sh("ip link set lo up && "
		      "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6");
	if (!netns_ok)
		fprintf(stderr, "cannot make a network namespace (needs root): "
			"every case fails\n");
	RUN(test_tap_created_frames_both_ways);
	RUN(test_a_burst_to_an_uplink_waits_for_buffers);
	RUN(test_af_packet_on_a_veth);
	RUN(test_af_packet_on_a_bridge_port_is_warned_about);
	RUN(test_tap_trunk_with_access_guests);
	RUN(test_interfaces_that_go_and_come_back);
	RUN(test_existing_tap_in_a_bridge_and_reload);
	RUN(test_frames_from_the_network_are_checked);
	RUN(test_unprivileged_user_keeps_what_uplinks_need);
	RUN(test_offloads_from_a_guest_to_a_tap);
	RUN(test_offloads_from_a_tap_to_guests);
	RUN(test_ctl_shows_disables_and_enables_an_uplink);
	RUN(test_offloads_from_a_guest_to_an_af_packet_port);
	RUN(test_offloads_from_an_af_packet_port_to_guests);
	RUN(test_offloads_tagged_on_trunk_uplinks);
	return test_summary();
}
