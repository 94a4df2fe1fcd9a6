/*
 * vhost-user front-end: the requests a QEMU or DPDK virtio_user front-end
 * sends to bring a virtio-net back-end up (SEED.md steps 3-5). The caller
 * moves the bytes (struct vu_fe_io). See vhost_user.h.
 */
#include "vhost_user.h"

#include <errno.h>
#include <string.h>

static bool has_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_VRING_BASE:
		return true;
	default:
		return false;
	}
}

int vu_fe_request(struct vu_fe *fe, uint32_t request, const void *payload,
		  uint32_t size, const int *fds, unsigned int nfds,
		  struct vu_msg *reply)
{
	struct vu_msg m, ack;
	bool acked = (fe->protocol & (1ULL << VU_PROTOCOL_F_REPLY_ACK)) &&
		     !has_reply(request);
	int err;

	if (size > sizeof(m.payload))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.hdr.request = request;
	m.hdr.flags = VU_VERSION | (acked ? VU_FLAG_NEED_REPLY : 0);
	m.hdr.size = size;
	if (size)
		memcpy(m.payload.raw, payload, size);
	err = fe->io.send(fe->io.ctx, &m, fds, nfds);
	if (err)
		return err;
	if (!reply && !acked)
		return 0;
	if (!reply)
		reply = &ack;
	err = fe->io.recv(fe->io.ctx, reply);
	if (err)
		return err;
	if (reply->hdr.request != request ||
	    (reply->hdr.flags & (VU_VERSION_MASK | VU_FLAG_REPLY)) !=
	    (VU_VERSION | VU_FLAG_REPLY))
		return -EPROTO;
	if (acked && (reply->hdr.size != 8 || reply->payload.u64 != 0))
		return -EPROTO;
	return 0;
}

static int get_u64(struct vu_fe *fe, uint32_t request, uint64_t *v)
{
	struct vu_msg r;
	int err = vu_fe_request(fe, request, NULL, 0, NULL, 0, &r);

	if (err)
		return err;
	if (r.hdr.size != sizeof(uint64_t))
		return -EPROTO;
	*v = r.payload.u64;
	return 0;
}

static int set_u64(struct vu_fe *fe, uint32_t request, uint64_t v)
{
	return vu_fe_request(fe, request, &v, sizeof(v), NULL, 0, NULL);
}

int vu_fe_connect(struct vu_fe *fe, const struct vu_fe_io *io,
		  uint64_t want_protocol)
{
	int err;

	memset(fe, 0, sizeof(*fe));
	fe->io = *io;
	err = vu_fe_request(fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL);
	if (!err)
		err = get_u64(fe, VHOST_USER_GET_FEATURES, &fe->dev_features);
	if (err ||
	    !(fe->dev_features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return err;
	err = get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &fe->dev_protocol);
	if (err)
		return err;
	err = set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES,
		      want_protocol & fe->dev_protocol);
	if (err)
		return err;
	fe->protocol = want_protocol & fe->dev_protocol;
	if (fe->protocol & (1ULL << VU_PROTOCOL_F_MQ))
		err = get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &fe->queue_pairs);
	return err;
}

static int ring_fd(struct vu_fe *fe, uint32_t request, unsigned int q, int fd)
{
	uint64_t v = q | (fd < 0 ? VU_VRING_NOFD : 0);

	return vu_fe_request(fe, request, &v, sizeof(v), &fd, fd < 0 ? 0 : 1,
			     NULL);
}

static int ring_state(struct vu_fe *fe, uint32_t request, unsigned int q,
		      uint32_t num)
{
	struct vu_vring_state s = { q, num };

	return vu_fe_request(fe, request, &s, sizeof(s), NULL, 0, NULL);
}

int vu_fe_start(struct vu_fe *fe, uint64_t want,
		const struct vu_mem_region *regions, const int *fds,
		unsigned int nregions, const struct vu_fe_ring *rings,
		unsigned int nrings)
{
	struct vu_memory mt;
	unsigned int q;
	int err = 0;

	if (nregions == 0 || nregions > MEM_MAX_REGIONS)
		return -EINVAL;
	for (q = 0; q < nrings && !err; q++)
		err = ring_fd(fe, VHOST_USER_SET_VRING_CALL, q,
			      rings[q].call_fd);
	if (err)
		return err;
	fe->features = want & fe->dev_features;
	err = set_u64(fe, VHOST_USER_SET_FEATURES, fe->features);
	if (err)
		return err;
	memset(&mt, 0, sizeof(mt));
	mt.nregions = nregions;
	memcpy(mt.region, regions, nregions * sizeof(*regions));
	err = vu_fe_request(fe, VHOST_USER_SET_MEM_TABLE, &mt,
			    8 + nregions * sizeof(*regions), fds, nregions,
			    NULL);
	for (q = 0; q < nrings && !err; q++) {
		const struct vu_fe_ring *r = &rings[q];
		struct vu_vring_addr a = {
			.index = q, .desc = r->desc, .used = r->used,
			.avail = r->avail,
		};

		err = ring_state(fe, VHOST_USER_SET_VRING_NUM, q, r->num);
		if (!err)
			err = ring_state(fe, VHOST_USER_SET_VRING_BASE, q,
					 r->base);
		if (!err)
			err = vu_fe_request(fe, VHOST_USER_SET_VRING_ADDR, &a,
					    sizeof(a), NULL, 0, NULL);
		if (!err)
			err = ring_fd(fe, VHOST_USER_SET_VRING_KICK, q,
				      r->kick_fd);
	}
	return err;
}

int vu_fe_enable(struct vu_fe *fe, unsigned int nrings, bool on)
{
	unsigned int q;
	int err = 0;

	if (!(fe->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0;
	for (q = 0; q < nrings && !err; q++)
		err = ring_state(fe, VHOST_USER_SET_VRING_ENABLE, q, on);
	return err;
}

int vu_fe_stop(struct vu_fe *fe, unsigned int nrings, uint16_t *bases)
{
	unsigned int q;

	for (q = 0; q < nrings; q++) {
		struct vu_vring_state s = { q, 0 };
		struct vu_msg r;
		int err = vu_fe_request(fe, VHOST_USER_GET_VRING_BASE, &s,
					sizeof(s), NULL, 0, &r);

		if (err)
			return err;
		if (r.hdr.size != sizeof(s) || r.payload.state.index != q)
			return -EPROTO;
		bases[q] = (uint16_t)r.payload.state.num;
	}
	return 0;
}
