/*
 * l2: Ethernet frame helpers and the MAC learning table (forwarding
 * database, 802.1D style).
 *
 * The table has a fixed capacity chosen at start-up and never allocates
 * afterwards: when it is full, new addresses are not learned (frames to
 * them are flooded) and no live entry is evicted. Entries expire after the
 * ageing time; a lookup never returns an expired entry, and l2_fdb_age()
 * reclaims them. Time is whatever monotonic seconds the caller passes in.
 * The bucket index is a keyed hash, so a guest cannot aim its addresses at
 * one chain without knowing the key.
 */
#ifndef L2_H
#define L2_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define L2_ALEN		6
#define L2_HLEN		14	/* destination, source, ethertype */
#define L2_NO_PORT	(-1)

static inline bool l2_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;	/* group bit; includes broadcast */
}

static inline bool l2_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[L2_ALEN];

	return memcmp(mac, zero, L2_ALEN) == 0;
}

struct l2_entry {
	uint8_t mac[L2_ALEN];
	uint16_t port;
	uint32_t seen;		/* last time a frame came from it */
	uint32_t next;		/* next entry in the bucket, or L2_NIL */
};

struct l2_fdb {
	struct l2_entry *entry;	/* capacity entries */
	uint32_t *bucket;	/* nbuckets heads */
	uint32_t *port_count;	/* entries per port */
	uint32_t capacity;
	uint32_t count;
	uint32_t nbuckets;	/* power of two */
	uint32_t nports;
	uint32_t free;		/* free list through next */
	uint32_t aging;		/* seconds */
	uint64_t key;
};

/*
 * l2_fdb_init - allocate a table for @capacity addresses on ports
 * 0..@nports-1.
 * @aging: seconds an address is remembered without frames from it (> 0)
 * @key:   random hash key
 * Return: 0 or -ENOMEM / -EINVAL.
 */
int l2_fdb_init(struct l2_fdb *f, uint32_t capacity, uint32_t aging,
		uint64_t key, uint32_t nports);

void l2_fdb_free(struct l2_fdb *f);

/* How a frame's source address was taken in. */
enum l2_learn_result {
	L2_REFRESHED,	/* known on this port */
	L2_LEARNED,	/* new entry */
	L2_MOVED,	/* was on another port */
	L2_FULL,	/* table full: not learned */
	L2_PORT_FULL,	/* the port has its most addresses: not learned */
	L2_IGNORED,	/* multicast or zero source: never learned */
};

/*
 * Hints: a caller that sees the same address again and again (a port's
 * last source, its last destination) keeps the entry it was found in, so
 * that the next time costs a comparison instead of a hash and a chain
 * walk. A hint is L2_NO_HINT at first; a stale one is only slower.
 */
#define L2_NO_HINT	UINT32_MAX

/*
 * l2_learn - note that @mac was seen on @port at @now. A new address is
 * not learned when the table is full, or when @port already has @max
 * entries (0: no limit); nothing is ever evicted to make room.
 * @hint: NULL, or where the address's entry was last found (updated)
 */
enum l2_learn_result l2_learn(struct l2_fdb *f, const uint8_t *mac,
			      uint16_t port, uint32_t now, uint32_t max,
			      uint32_t *hint);

/* l2_lookup - the port @mac was last seen on, or L2_NO_PORT when unknown
 * or expired. @hint as for l2_learn. */
int l2_lookup(const struct l2_fdb *f, const uint8_t *mac, uint32_t now,
	      uint32_t *hint);

/* l2_flush_port - forget every address learned on @port. Return: how many. */
uint32_t l2_flush_port(struct l2_fdb *f, uint16_t port);

/* l2_fdb_age - forget expired addresses. Return: how many. */
uint32_t l2_fdb_age(struct l2_fdb *f, uint32_t now);

#endif /* L2_H */
