/*
 * vhost-user back-end for one virtio-net device: the message dispatcher and
 * the ring state machine. See vhost_user.h.
 *
 * Every message is checked against its rule (payload size, descriptors,
 * ring index) in one place, vu_check_header() and check_message(), before a
 * handler sees it. Handlers take the descriptors they keep by setting their
 * slot to -1; vu_dev_handle() closes whatever is left, on every path.
 */
#define _GNU_SOURCE
#include "vhost_user.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* One message being handled: the request, its fds and the reply. */
struct vu_call {
	const struct vu_msg *m;
	int *fds;		/* a handler keeps one by setting it to -1 */
	struct vu_msg *reply;
	unsigned int q;		/* ring index of a per-ring request */
	bool pipe;		/* its fd is a pipe, not an eventfd */
};

typedef int (*vu_handler)(struct vu_dev *dev, struct vu_call *c);

struct vu_rule {
	const char *name;
	uint16_t min, max;
	enum vu_fd_rule fds;
	enum vu_ring_rule ring;
	vu_handler handle;
};

#define VU_DECLARE(name, num, min, max, fds, ring) \
	static int handle_##name(struct vu_dev *dev, struct vu_call *c);
VU_REQUESTS(VU_DECLARE)
#undef VU_DECLARE

#define VU_RULE(name, num, min, max, fds, ring) \
	[num] = { #name, min, max, fds, ring, handle_##name },
static const struct vu_rule rules[] = {
	VU_REQUESTS(VU_RULE)
};
#undef VU_RULE

static const struct vu_rule *rule_of(uint32_t request)
{
	if (request >= sizeof(rules) / sizeof(rules[0]) ||
	    !rules[request].handle)
		return NULL;
	return &rules[request];
}

const char *vu_request_name(uint32_t request)
{
	const struct vu_rule *r = rule_of(request);

	return r ? r->name : "UNKNOWN";
}

const char *vu_feature_name(unsigned int bit)
{
	switch (bit) {
	case VIRTIO_NET_F_CSUM: return "CSUM";
	case VIRTIO_NET_F_GUEST_CSUM: return "GUEST_CSUM";
	case VIRTIO_NET_F_MTU: return "MTU";
	case VIRTIO_NET_F_GUEST_TSO4: return "GUEST_TSO4";
	case VIRTIO_NET_F_GUEST_TSO6: return "GUEST_TSO6";
	case VIRTIO_NET_F_GUEST_ECN: return "GUEST_ECN";
	case VIRTIO_NET_F_HOST_TSO4: return "HOST_TSO4";
	case VIRTIO_NET_F_HOST_TSO6: return "HOST_TSO6";
	case VIRTIO_NET_F_HOST_ECN: return "HOST_ECN";
	case VIRTIO_NET_F_MRG_RXBUF: return "MRG_RXBUF";
	case VIRTIO_NET_F_GUEST_ANNOUNCE: return "GUEST_ANNOUNCE";
	case VIRTIO_F_ANY_LAYOUT: return "ANY_LAYOUT";
	case VIRTIO_RING_F_INDIRECT_DESC: return "INDIRECT_DESC";
	case VIRTIO_RING_F_EVENT_IDX: return "EVENT_IDX";
	case VHOST_USER_F_PROTOCOL_FEATURES: return "PROTOCOL_FEATURES";
	case VIRTIO_F_VERSION_1: return "VERSION_1";
	}
	return NULL;
}

const char *vu_protocol_feature_name(unsigned int bit)
{
	switch (bit) {
	case VU_PROTOCOL_F_MQ: return "MQ";
	case VU_PROTOCOL_F_RARP: return "RARP";
	case VU_PROTOCOL_F_REPLY_ACK: return "REPLY_ACK";
	case VU_PROTOCOL_F_MTU: return "MTU";
	case VU_PROTOCOL_F_RESET_DEVICE: return "RESET_DEVICE";
	}
	return NULL;
}

__attribute__((format(printf, 4, 5)))
static void add(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	*at = n < 0 ? len : *at + (size_t)n;
}

const char *vu_msg_describe(const struct vu_msg *m, char *buf, size_t len)
{
	const struct vu_rule *r = rule_of(m->hdr.request);
	uint32_t size = m->hdr.size, n, i;
	const uint8_t *mac = m->payload.raw;
	size_t at = 0;

	buf[0] = 0;
	if (!r || r->min == 0 || size < r->min || size > VU_MAX_PAYLOAD)
		return buf;
	switch (m->hdr.request) {
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		add(buf, len, &at, "0x%llx",
		    (unsigned long long)m->payload.u64);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		n = m->payload.memory.nregions;
		add(buf, len, &at, "%u region%s", n, n == 1 ? "" : "s");
		for (i = 0; i < n && i < MEM_MAX_REGIONS &&
		     8 + (i + 1) * sizeof(struct vu_mem_region) <= size; i++) {
			const struct vu_mem_region *g =
				&m->payload.memory.region[i];

			add(buf, len, &at, "; gpa 0x%llx size 0x%llx uva "
			    "0x%llx offset 0x%llx", (unsigned long long)g->gpa,
			    (unsigned long long)g->size,
			    (unsigned long long)g->uva,
			    (unsigned long long)g->mmap_offset);
		}
		break;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		add(buf, len, &at, "ring %u %s %u", m->payload.state.index,
		    m->hdr.request == VHOST_USER_SET_VRING_NUM ? "num" :
		    m->hdr.request == VHOST_USER_SET_VRING_ENABLE ? "enable" :
		    "base", m->payload.state.num);
		break;
	case VHOST_USER_SET_VRING_ADDR:
		add(buf, len, &at, "ring %u flags 0x%x desc 0x%llx used 0x%llx "
		    "avail 0x%llx log 0x%llx", m->payload.addr.index,
		    m->payload.addr.flags,
		    (unsigned long long)m->payload.addr.desc,
		    (unsigned long long)m->payload.addr.used,
		    (unsigned long long)m->payload.addr.avail,
		    (unsigned long long)m->payload.addr.log);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		add(buf, len, &at, "ring %llu%s", (unsigned long long)
		    (m->payload.u64 & VU_VRING_INDEX_MASK),
		    m->payload.u64 & VU_VRING_NOFD ? " (no fd)" : "");
		break;
	case VHOST_USER_SEND_RARP:
		add(buf, len, &at, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		    mac[1], mac[2], mac[3], mac[4], mac[5]);
		break;
	case VHOST_USER_NET_SET_MTU:
		add(buf, len, &at, "%llu", (unsigned long long)m->payload.u64);
		break;
	}
	return buf;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct vu_dev *dev, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
	va_end(ap);
	return err;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void vu_dev_init(struct vu_dev *dev, const struct vu_ops *ops, void *opaque,
		 uint64_t withheld)
{
	unsigned int q;

	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->opaque = opaque;
	dev->offered = VU_FEATURES & ~withheld;
	for (q = 0; q < VU_NUM_VQ; q++) {
		dev->vq[q].kick_fd = -1;
		dev->vq[q].call_fd = -1;
		dev->vq[q].err_fd = -1;
	}
}

bool vu_vq_enabled(const struct vu_dev *dev, unsigned int q)
{
	const struct vu_vq *vq = &dev->vq[q];

	if (!vq->started)
		return false;
	/* Without PROTOCOL_FEATURES a started ring is enabled. */
	if (!(dev->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return true;
	return vq->enabled;
}

/* Tell the owner when the whole device comes up or goes down. */
static void update_up(struct vu_dev *dev)
{
	bool up = true;
	unsigned int q;

	for (q = 0; q < VU_NUM_VQ; q++)
		up = up && vu_vq_enabled(dev, q);
	if (up == dev->up)
		return;
	dev->up = up;
	if (up)
		dev->ops->up(dev->opaque);
	else
		dev->ops->down(dev->opaque);
}

/* Stop a ring (GET_VRING_BASE, reset): no access to it after this. */
static void stop_ring(struct vu_dev *dev, unsigned int q)
{
	struct vu_vq *vq = &dev->vq[q];

	if (!vq->started)
		return;
	vq->base = vq->vr.last_avail;
	vq->started = false;
	update_up(dev);
	dev->ops->watch_kick(dev->opaque, q, -1);
	close_fd(&vq->kick_fd);
}

static bool any_started(const struct vu_dev *dev)
{
	unsigned int q;

	for (q = 0; q < VU_NUM_VQ; q++)
		if (dev->vq[q].started)
			return true;
	return false;
}

void vu_dev_reset(struct vu_dev *dev)
{
	unsigned int q;

	for (q = 0; q < VU_NUM_VQ; q++)
		stop_ring(dev, q);
	for (q = 0; q < VU_NUM_VQ; q++) {
		struct vu_vq *vq = &dev->vq[q];

		if (vq->call_fd >= 0) {
			close_fd(&vq->call_fd);
			dev->ops->set_call(dev->opaque, q, -1);
		}
		close_fd(&vq->err_fd);
		memset(vq, 0, sizeof(*vq));
		vq->kick_fd = vq->call_fd = vq->err_fd = -1;
	}
	mem_table_unmap(&dev->mem);
	dev->features = 0;
	dev->protocol = 0;
	dev->mtu = 0;
	dev->why[0] = '\0';
}

int vu_check_header(const struct vu_hdr *hdr, const char **why)
{
	const struct vu_rule *r = rule_of(hdr->request);

	if ((hdr->flags & VU_VERSION_MASK) != VU_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTO;
	}
	if (hdr->flags & VU_FLAG_REPLY) {
		*why = "request carries the reply flag";
		return -EPROTO;
	}
	if (!r) {
		*why = "unknown request";
		return -EPROTO;
	}
	if (hdr->size < r->min || hdr->size > r->max) {
		*why = "payload size does not fit the request";
		return -EPROTO;
	}
	return 0;
}

static unsigned int ring_index(const struct vu_rule *r, const struct vu_msg *m)
{
	return r->ring == VU_RING_FILE ?
	       (unsigned int)(m->payload.u64 & VU_VRING_INDEX_MASK) :
	       m->payload.state.index;
}

/*
 * Kick, call and error fds are eventfds, or pipes where a front-end has
 * none (vhost-user "Support for platforms other than Linux"). Anything
 * else could read as always ready (a regular file, /dev/zero) and spin
 * the loop, or never be ready at all.
 */
static bool notify_fd_ok(int fd, bool *pipe)
{
	char path[32], link[32];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return false;
	*pipe = S_ISFIFO(st.st_mode);
	if (*pipe)
		return true;
	if ((st.st_mode & S_IFMT) != 0)
		return false;	/* eventfds are anonymous inodes */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT;	/* no /proc: trust the inode type */
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

/* The payload-dependent rules: descriptor count and kind, ring index. */
static int check_message(struct vu_dev *dev, const struct vu_rule *r,
			 const struct vu_msg *m, const int *fds,
			 unsigned int nfds, bool *pipe)
{
	unsigned int want = 0, n;

	switch (r->fds) {
	case VU_FD_NONE:
		break;
	case VU_FD_REGIONS:
		n = m->payload.memory.nregions;
		if (n == 0 || n > MEM_MAX_REGIONS)
			return fail(dev, -EINVAL,
				    "%u memory regions (1..%u allowed)", n,
				    MEM_MAX_REGIONS);
		if (m->hdr.size < 8 + n * sizeof(struct vu_mem_region))
			return fail(dev, -EINVAL,
				    "memory table of %u bytes holds fewer than %u regions",
				    m->hdr.size, n);
		want = n;
		break;
	case VU_FD_VRING:
		if (m->payload.u64 & ~(uint64_t)(VU_VRING_INDEX_MASK |
						  VU_VRING_NOFD))
			return fail(dev, -EINVAL,
				    "reserved bits set in 0x%llx",
				    (unsigned long long)m->payload.u64);
		want = m->payload.u64 & VU_VRING_NOFD ? 0 : 1;
		break;
	}
	if (nfds != want)
		return fail(dev, -EINVAL, "%u file descriptors, expected %u",
			    nfds, want);
	if (r->fds == VU_FD_VRING && nfds && !notify_fd_ok(fds[0], pipe))
		return fail(dev, -EINVAL, "ring %u: fd is not an eventfd or a pipe",
			    ring_index(r, m));
	if (r->ring == VU_RING_NONE)
		return 0;
	if (ring_index(r, m) >= VU_NUM_VQ)
		return fail(dev, -EINVAL, "ring index %u out of range (%u rings)",
			    ring_index(r, m), VU_NUM_VQ);
	if (r->ring == VU_RING_STOPPED && dev->vq[ring_index(r, m)].started)
		return fail(dev, -EBUSY, "ring %u is started",
			    ring_index(r, m));
	return 0;
}

int vu_dev_handle(struct vu_dev *dev, const struct vu_msg *msg, int *fds,
		  unsigned int nfds, struct vu_msg *reply)
{
	const struct vu_rule *r = rule_of(msg->hdr.request);
	struct vu_call c = { msg, fds, reply, 0, false };
	/* Decided on the state before the message: the front-end asks for
	 * an acknowledgement only once REPLY_ACK was negotiated. */
	bool ack = (msg->hdr.flags & VU_FLAG_NEED_REPLY) &&
		   (dev->protocol & (1ULL << VU_PROTOCOL_F_REPLY_ACK));
	unsigned int i;
	int err;

	memset(&reply->hdr, 0, sizeof(reply->hdr));
	dev->why[0] = '\0';
	if (!r)
		err = fail(dev, -EPROTO, "unknown request");
	else
		err = check_message(dev, r, msg, fds, nfds, &c.pipe);
	if (!err) {
		if (r->ring != VU_RING_NONE)
			c.q = ring_index(r, msg);
		err = r->handle(dev, &c);
	}
	for (i = 0; i < nfds; i++)
		close_fd(&fds[i]);

	/* REPLY_ACK: a status for every request that has no reply of its
	 * own, when the front-end asked for one. */
	if (ack && reply->hdr.request == 0) {
		reply->hdr.request = msg->hdr.request;
		reply->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
		reply->hdr.size = sizeof(reply->payload.u64);
		reply->payload.u64 = err ? 1 : 0;
	}
	update_up(dev);
	return err;
}

static void reply_u64(struct vu_call *c, uint64_t v)
{
	c->reply->hdr.request = c->m->hdr.request;
	c->reply->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	c->reply->hdr.size = sizeof(c->reply->payload.u64);
	c->reply->payload.u64 = v;
}

static int handle_GET_FEATURES(struct vu_dev *dev, struct vu_call *c)
{
	reply_u64(c, dev->offered);
	return 0;
}

static int handle_SET_FEATURES(struct vu_dev *dev, struct vu_call *c)
{
	uint64_t f = c->m->payload.u64;

	if (f & ~dev->offered)
		return fail(dev, -EINVAL, "features 0x%llx were not offered",
			    (unsigned long long)(f & ~dev->offered));
	if (f != dev->features && any_started(dev))
		return fail(dev, -EBUSY, "features changed while rings run");
	dev->features = f;
	return 0;
}

/* Marks the session's owner; nothing to keep. */
static int handle_SET_OWNER(struct vu_dev *dev, struct vu_call *c)
{
	(void)dev;
	(void)c;
	return 0;
}

/* Deprecated; the spec recommends treating it as "disable all rings". */
static int handle_RESET_OWNER(struct vu_dev *dev, struct vu_call *c)
{
	unsigned int q;

	(void)c;
	for (q = 0; q < VU_NUM_VQ; q++)
		stop_ring(dev, q);
	return 0;
}

static int setup_ring(struct vu_dev *dev, unsigned int q)
{
	struct vu_vq *vq = &dev->vq[q];
	const char *why;
	int err;

	err = vring_setup(&vq->vr, &dev->mem, vq->num, &vq->addr,
			  dev->features, &why);
	if (err)
		return fail(dev, err, "ring %u: %s", q, why);
	if (vq->vr.last_avail != vq->base && dev->ops->notice) {
		char msg[96];

		snprintf(msg, sizeof(msg),
			 "ring %u: resuming at used index %u, not base %u",
			 q, vq->vr.last_avail, vq->base);
		dev->ops->notice(dev->opaque, msg);
	}
	return 0;
}

static int handle_SET_MEM_TABLE(struct vu_dev *dev, struct vu_call *c)
{
	const struct vu_memory *mt = &c->m->payload.memory;
	struct mem_region_desc d[MEM_MAX_REGIONS];
	struct mem_table t = { 0 };
	const char *why;
	unsigned int i, q;
	int err;

	for (i = 0; i < mt->nregions; i++) {
		d[i].gpa = mt->region[i].gpa;
		d[i].size = mt->region[i].size;
		d[i].uva = mt->region[i].uva;
		d[i].mmap_offset = mt->region[i].mmap_offset;
	}
	err = mem_table_map(&t, d, c->fds, mt->nregions, &why);
	if (err)
		return fail(dev, err, "memory table: %s", why);
	/* Rings that run keep running on the new table: the switch holds
	 * no pointer into guest memory between bursts. */
	mem_table_unmap(&dev->mem);
	dev->mem = t;
	for (q = 0; q < VU_NUM_VQ; q++) {
		if (!dev->vq[q].started)
			continue;
		dev->vq[q].base = dev->vq[q].vr.last_avail;
		err = setup_ring(dev, q);
		if (err)
			return err;
	}
	return 0;
}

static int handle_SET_VRING_NUM(struct vu_dev *dev, struct vu_call *c)
{
	uint32_t num = c->m->payload.state.num;

	if (!vring_size_valid(num))
		return fail(dev, -EINVAL,
			    "ring %u: size %u is not a power of two in 1..%u",
			    c->q, num, VRING_MAX_SIZE);
	dev->vq[c->q].num = num;
	dev->vq[c->q].num_set = true;
	return 0;
}

static int handle_SET_VRING_ADDR(struct vu_dev *dev, struct vu_call *c)
{
	const struct vu_vring_addr *a = &c->m->payload.addr;
	struct vu_vq *vq = &dev->vq[c->q];

	if (a->flags & (1u << VU_VRING_F_LOG))
		return fail(dev, -EOPNOTSUPP,
			    "ring %u: dirty logging is not supported", c->q);
	if (a->flags)
		return fail(dev, -EINVAL, "ring %u: unknown flags 0x%x", c->q,
			    a->flags);
	vq->addr.desc = a->desc;
	vq->addr.avail = a->avail;
	vq->addr.used = a->used;
	vq->addr_set = true;
	return 0;
}

static int handle_SET_VRING_BASE(struct vu_dev *dev, struct vu_call *c)
{
	uint32_t base = c->m->payload.state.num;

	if (base > UINT16_MAX)
		return fail(dev, -EINVAL, "ring %u: base %u out of range",
			    c->q, base);
	dev->vq[c->q].base = (uint16_t)base;
	return 0;
}

static int handle_GET_VRING_BASE(struct vu_dev *dev, struct vu_call *c)
{
	struct vu_msg *r = c->reply;

	stop_ring(dev, c->q);
	r->hdr.request = c->m->hdr.request;
	r->hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	r->hdr.size = sizeof(r->payload.state);
	r->payload.state.index = c->q;
	r->payload.state.num = dev->vq[c->q].base;
	return 0;
}

static int handle_SET_VRING_KICK(struct vu_dev *dev, struct vu_call *c)
{
	struct vu_vq *vq = &dev->vq[c->q];
	int err;

	if (c->m->payload.u64 & VU_VRING_NOFD)
		return fail(dev, -EOPNOTSUPP,
			    "ring %u: polling (no kick fd) is not supported",
			    c->q);
	if (!dev->mem.nregions)
		return fail(dev, -EINVAL,
			    "ring %u: kick fd before the memory table", c->q);
	if (!vq->num_set || !vq->addr_set)
		return fail(dev, -EINVAL,
			    "ring %u: kick fd before the ring size and addresses",
			    c->q);
	stop_ring(dev, c->q);
	err = setup_ring(dev, c->q);
	if (err)
		return err;
	vq->kick_fd = c->fds[0];
	vq->kick_pipe = c->pipe;
	c->fds[0] = -1;
	vq->started = true;
	dev->ops->watch_kick(dev->opaque, c->q, vq->kick_fd);
	return 0;
}

/* Take the message's fd into @slot (or none, with VU_VRING_NOFD). */
static void replace_fd(int *slot, struct vu_call *c)
{
	close_fd(slot);
	if (!(c->m->payload.u64 & VU_VRING_NOFD)) {
		*slot = c->fds[0];
		c->fds[0] = -1;
	}
}

static int handle_SET_VRING_CALL(struct vu_dev *dev, struct vu_call *c)
{
	replace_fd(&dev->vq[c->q].call_fd, c);
	dev->ops->set_call(dev->opaque, c->q, dev->vq[c->q].call_fd);
	return 0;
}

static int handle_SET_VRING_ERR(struct vu_dev *dev, struct vu_call *c)
{
	replace_fd(&dev->vq[c->q].err_fd, c);
	return 0;
}

static int handle_GET_PROTOCOL_FEATURES(struct vu_dev *dev, struct vu_call *c)
{
	(void)dev;
	reply_u64(c, VU_PROTOCOL_FEATURES);
	return 0;
}

static int handle_SET_PROTOCOL_FEATURES(struct vu_dev *dev, struct vu_call *c)
{
	uint64_t f = c->m->payload.u64;

	if (f & ~VU_PROTOCOL_FEATURES)
		return fail(dev, -EINVAL,
			    "protocol features 0x%llx were not offered",
			    (unsigned long long)(f & ~VU_PROTOCOL_FEATURES));
	dev->protocol = f;
	return 0;
}

static int handle_GET_QUEUE_NUM(struct vu_dev *dev, struct vu_call *c)
{
	(void)dev;
	/* Queue pairs, as QEMU's and DPDK's net devices read it. */
	reply_u64(c, VU_QUEUE_PAIRS);
	return 0;
}

static int handle_SET_VRING_ENABLE(struct vu_dev *dev, struct vu_call *c)
{
	uint32_t on = c->m->payload.state.num;

	if (on > 1)
		return fail(dev, -EINVAL, "ring %u: enable value %u", c->q, on);
	dev->vq[c->q].enabled = on;
	return 0;
}

static int handle_SEND_RARP(struct vu_dev *dev, struct vu_call *c)
{
	dev->ops->rarp(dev->opaque, c->m->payload.raw);
	return 0;
}

static int handle_NET_SET_MTU(struct vu_dev *dev, struct vu_call *c)
{
	uint64_t mtu = c->m->payload.u64;

	/* VIRTIO 1.1 5.1.4.1: mtu is at least 68 and fits in 16 bits. */
	if (mtu < 68 || mtu > 65535)
		return fail(dev, -EINVAL, "MTU %llu out of range 68..65535",
			    (unsigned long long)mtu);
	dev->mtu = (uint32_t)mtu;
	return 0;
}

static int handle_RESET_DEVICE(struct vu_dev *dev, struct vu_call *c)
{
	(void)c;
	vu_dev_reset(dev);
	return 0;
}
