/*
 * l2: the MAC learning table. See switch.h.
 */
#include "switch.h"

#include <errno.h>
#include <stdlib.h>

#define L2_NIL UINT32_MAX

/* A keyed 64-bit mix of the VLAN and address (splitmix64 finaliser); the
 * key keeps guests from predicting which bucket an address lands in. */
static uint32_t bucket_of(const struct l2_fdb *f, uint16_t vid,
			  const uint8_t *mac)
{
	uint64_t k = (uint64_t)vid << 48 |
		     (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 |
		     (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
		     (uint64_t)mac[4] << 8 | (uint64_t)mac[5];

	k = (k ^ f->key) + 0x9e3779b97f4a7c15ULL;
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (uint32_t)k & (f->nbuckets - 1);
}

static bool expired(const struct l2_fdb *f, const struct l2_entry *e,
		    uint32_t now)
{
	return now - e->seen >= f->aging;
}

int l2_fdb_init(struct l2_fdb *f, uint32_t capacity, uint32_t aging,
		uint64_t key, uint32_t nports)
{
	uint32_t i, nb = 1;

	if (capacity == 0 || capacity > (1u << 24) || aging == 0 ||
	    nports == 0 || nports > 65536)
		return -EINVAL;
	while (nb < 2 * capacity)
		nb <<= 1;
	f->entry = calloc(capacity, sizeof(*f->entry));
	f->bucket = malloc(nb * sizeof(*f->bucket));
	f->port_count = calloc(nports, sizeof(*f->port_count));
	if (!f->entry || !f->bucket || !f->port_count) {
		l2_fdb_free(f);
		return -ENOMEM;
	}
	for (i = 0; i < nb; i++)
		f->bucket[i] = L2_NIL;
	for (i = 0; i < capacity; i++)
		f->entry[i].next = i + 1 < capacity ? i + 1 : L2_NIL;
	f->capacity = capacity;
	f->count = 0;
	f->nbuckets = nb;
	f->nports = nports;
	f->free = 0;
	f->aging = aging;
	f->key = key;
	return 0;
}

void l2_fdb_free(struct l2_fdb *f)
{
	free(f->entry);
	free(f->bucket);
	free(f->port_count);
	f->entry = NULL;
	f->bucket = NULL;
	f->port_count = NULL;
	f->capacity = f->count = 0;
}

static bool same(const struct l2_entry *e, uint16_t vid, const uint8_t *mac)
{
	return e->vid == vid && memcmp(e->mac, mac, L2_ALEN) == 0;
}

/* Is entry @hint live and holding (@vid, @mac)? Free entries hold the
 * zero address, which is never learned. */
static struct l2_entry *hinted(const struct l2_fdb *f, uint16_t vid,
			       const uint8_t *mac, const uint32_t *hint)
{
	struct l2_entry *e;

	if (!hint || *hint >= f->capacity || l2_is_zero(mac))
		return NULL;
	e = &f->entry[*hint];
	return same(e, vid, mac) ? e : NULL;
}

/* Find (@vid, @mac); *link is set to the slot that points at it (for
 * removal). */
static struct l2_entry *find(const struct l2_fdb *f, uint16_t vid,
			     const uint8_t *mac, uint32_t **link)
{
	uint32_t *l = &f->bucket[bucket_of(f, vid, mac)];

	while (*l != L2_NIL) {
		struct l2_entry *e = &f->entry[*l];

		if (same(e, vid, mac)) {
			if (link)
				*link = l;
			return e;
		}
		l = &e->next;
	}
	return NULL;
}

enum l2_learn_result l2_learn(struct l2_fdb *f, uint16_t vid,
			      const uint8_t *mac, uint16_t port, uint32_t now,
			      uint32_t max, uint32_t *hint)
{
	struct l2_entry *e = hinted(f, vid, mac, hint);
	uint32_t b, i;

	if (e && e->port == port) {	/* the common case: one compare */
		e->seen = now;
		return L2_REFRESHED;
	}
	if (l2_is_multicast(mac) || l2_is_zero(mac) || port >= f->nports)
		return L2_IGNORED;
	if (!e)
		e = find(f, vid, mac, NULL);
	if (hint)
		*hint = e ? (uint32_t)(e - f->entry) : L2_NO_HINT;
	if (e) {
		bool moved;

		if (e->port == port) {
			e->seen = now;
			return L2_REFRESHED;
		}
		if (max && f->port_count[port] >= max)
			return L2_PORT_FULL;
		moved = !expired(f, e, now);
		f->port_count[e->port]--;
		f->port_count[port]++;
		e->port = port;
		e->seen = now;
		return moved ? L2_MOVED : L2_LEARNED;
	}
	if (max && f->port_count[port] >= max)
		return L2_PORT_FULL;
	if (f->free == L2_NIL)
		return L2_FULL;
	i = f->free;
	e = &f->entry[i];
	f->free = e->next;
	memcpy(e->mac, mac, L2_ALEN);
	e->vid = vid;
	e->port = port;
	e->seen = now;
	b = bucket_of(f, vid, mac);
	e->next = f->bucket[b];
	f->bucket[b] = i;
	f->count++;
	f->port_count[port]++;
	if (hint)
		*hint = i;
	return L2_LEARNED;
}

int l2_lookup(const struct l2_fdb *f, uint16_t vid, const uint8_t *mac,
	      uint32_t now, uint32_t *hint)
{
	const struct l2_entry *e = hinted(f, vid, mac, hint);

	if (!e) {
		e = find(f, vid, mac, NULL);
		if (hint)
			*hint = e ? (uint32_t)(e - f->entry) : L2_NO_HINT;
	}

	if (!e || expired(f, e, now))
		return L2_NO_PORT;
	return e->port;
}

/* Unlink the entry *link points at and put it on the free list. */
static void unlink_entry(struct l2_fdb *f, uint32_t *link)
{
	uint32_t i = *link;
	struct l2_entry *e = &f->entry[i];

	*link = e->next;
	e->next = f->free;
	f->free = i;
	memset(e->mac, 0, L2_ALEN);	/* no hint matches a free entry */
	f->count--;
	f->port_count[e->port]--;
}

/* Remove every entry for which @gone says so, telling @told (when not
 * NULL) of each first; bounded by nbuckets plus the entries visited, each
 * once. */
static uint32_t sweep(struct l2_fdb *f,
		      bool (*gone)(const struct l2_fdb *, const struct l2_entry *,
				   uint32_t),
		      uint32_t arg, l2_gone_fn told, void *told_arg)
{
	uint32_t b, n = 0;

	for (b = 0; b < f->nbuckets && f->count; b++) {
		uint32_t *l = &f->bucket[b];

		while (*l != L2_NIL) {
			if (gone(f, &f->entry[*l], arg)) {
				if (told)
					told(told_arg, &f->entry[*l]);
				unlink_entry(f, l);
				n++;
			} else {
				l = &f->entry[*l].next;
			}
		}
	}
	return n;
}

static bool on_port(const struct l2_fdb *f, const struct l2_entry *e,
		    uint32_t port)
{
	(void)f;
	return e->port == port;
}

uint32_t l2_flush_port(struct l2_fdb *f, uint16_t port)
{
	return sweep(f, on_port, port, NULL, NULL);
}

static bool any(const struct l2_fdb *f, const struct l2_entry *e,
		uint32_t arg)
{
	(void)f;
	(void)e;
	(void)arg;
	return true;
}

uint32_t l2_flush_all(struct l2_fdb *f)
{
	return sweep(f, any, 0, NULL, NULL);
}

uint32_t l2_fdb_age(struct l2_fdb *f, uint32_t now, l2_gone_fn told,
		    void *arg)
{
	return sweep(f, expired, now, told, arg);
}
