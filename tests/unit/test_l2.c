/*
 * Unit tests for proto/l2: the MAC learning table.
 */
#include <string.h>

#include "../../proto/switch.h"
#include "test.h"

static void mac_of(uint8_t *mac, uint32_t n)
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

TEST(test_l2_learn_and_lookup)
{
	struct l2_fdb f;
	uint8_t a[6], b[6];

	REQUIRE(l2_fdb_init(&f, 16, 300, 0x1234, 16) == 0);
	mac_of(a, 1);
	mac_of(b, 2);
	CHECK(l2_lookup(&f, 0, a, 0, NULL) == L2_NO_PORT);
	CHECK(l2_learn(&f, 0, a, 3, 10, 0, NULL) == L2_LEARNED);
	CHECK(l2_learn(&f, 0, a, 3, 11, 0, NULL) == L2_REFRESHED);
	CHECK(l2_lookup(&f, 0, a, 12, NULL) == 3);
	CHECK(l2_lookup(&f, 0, b, 12, NULL) == L2_NO_PORT);
	CHECK(f.count == 1);
	l2_fdb_free(&f);
}

TEST(test_l2_address_moves_between_ports)
{
	struct l2_fdb f;
	uint8_t a[6];

	REQUIRE(l2_fdb_init(&f, 16, 300, 1, 16) == 0);
	mac_of(a, 1);
	CHECK(l2_learn(&f, 0, a, 1, 0, 0, NULL) == L2_LEARNED);
	CHECK(l2_learn(&f, 0, a, 2, 5, 0, NULL) == L2_MOVED);
	CHECK(l2_lookup(&f, 0, a, 5, NULL) == 2);
	CHECK(f.count == 1);
	l2_fdb_free(&f);
}

TEST(test_l2_never_learns_group_or_zero_sources)
{
	struct l2_fdb f;
	uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	uint8_t zero[6] = { 0 };

	REQUIRE(l2_fdb_init(&f, 16, 300, 1, 16) == 0);
	CHECK(l2_learn(&f, 0, bcast, 1, 0, 0, NULL) == L2_IGNORED);
	CHECK(l2_learn(&f, 0, mcast, 1, 0, 0, NULL) == L2_IGNORED);
	CHECK(l2_learn(&f, 0, zero, 1, 0, 0, NULL) == L2_IGNORED);
	CHECK(f.count == 0);
	l2_fdb_free(&f);
}

TEST(test_l2_ageing)
{
	struct l2_fdb f;
	uint8_t a[6], b[6];

	REQUIRE(l2_fdb_init(&f, 16, 10, 1, 16) == 0);
	mac_of(a, 1);
	mac_of(b, 2);
	l2_learn(&f, 0, a, 1, 100, 0, NULL);
	l2_learn(&f, 0, b, 1, 105, 0, NULL);
	CHECK(l2_lookup(&f, 0, a, 109, NULL) == 1);
	CHECK(l2_lookup(&f, 0, a, 110, NULL) == L2_NO_PORT);	/* expired */
	CHECK(l2_fdb_age(&f, 110, NULL, NULL) == 1);
	CHECK(f.count == 1);
	CHECK(l2_lookup(&f, 0, b, 110, NULL) == 1);
	/* An expired entry seen on another port is a fresh learn. */
	CHECK(l2_learn(&f, 0, b, 2, 200, 0, NULL) == L2_LEARNED);
	l2_fdb_free(&f);
}

TEST(test_l2_full_table_learns_nothing_and_evicts_nothing)
{
	struct l2_fdb f;
	uint8_t m[6];
	uint32_t i;

	REQUIRE(l2_fdb_init(&f, 100, 300, 99, 16) == 0);
	for (i = 0; i < 100; i++) {
		mac_of(m, i);
		CHECK(l2_learn(&f, 0, m, (uint16_t)(i % 4), 0, 0, NULL) == L2_LEARNED);
	}
	for (i = 100; i < 10000; i++) {
		mac_of(m, i);
		CHECK(l2_learn(&f, 0, m, 7, 1, 0, NULL) == L2_FULL);
	}
	CHECK(f.count == 100);
	for (i = 0; i < 100; i++) {
		mac_of(m, i);
		CHECK(l2_lookup(&f, 0, m, 2, NULL) == (int)(i % 4));
	}
	/* Space freed by ageing is used again. */
	CHECK(l2_fdb_age(&f, 300, NULL, NULL) == 100);
	mac_of(m, 5000);
	CHECK(l2_learn(&f, 0, m, 7, 301, 0, NULL) == L2_LEARNED);
	l2_fdb_free(&f);
}

TEST(test_l2_flush_port)
{
	struct l2_fdb f;
	uint8_t m[6];
	uint32_t i;

	REQUIRE(l2_fdb_init(&f, 1000, 300, 5, 16) == 0);
	for (i = 0; i < 900; i++) {
		mac_of(m, i);
		l2_learn(&f, 0, m, (uint16_t)(i % 3), 0, 0, NULL);
	}
	CHECK(l2_flush_port(&f, 1) == 300);
	CHECK(f.count == 600);
	for (i = 0; i < 900; i++) {
		mac_of(m, i);
		CHECK(l2_lookup(&f, 0, m, 0, NULL) ==
		      (i % 3 == 1 ? L2_NO_PORT : (int)(i % 3)));
	}
	l2_fdb_free(&f);
}

TEST(test_l2_rejects_bad_sizes)
{
	struct l2_fdb f;

	CHECK(l2_fdb_init(&f, 0, 300, 0, 16) < 0);
	CHECK(l2_fdb_init(&f, 16, 0, 0, 16) < 0);
	CHECK(l2_fdb_init(&f, (1u << 24) + 1, 300, 0, 16) < 0);
	CHECK(l2_fdb_init(&f, 16, 300, 0, 0) < 0);
}

TEST(test_l2_per_port_limit)
{
	struct l2_fdb f;
	uint8_t m[6];
	uint32_t i;

	REQUIRE(l2_fdb_init(&f, 100, 300, 7, 16) == 0);
	for (i = 0; i < 10; i++) {
		mac_of(m, i);
		CHECK(l2_learn(&f, 0, m, 1, 0, 4, NULL) ==
		      (i < 4 ? L2_LEARNED : L2_PORT_FULL));
	}
	CHECK(f.port_count[1] == 4 && f.count == 4);
	/* Others still learn; an address moving in counts against the
	 * new port's limit too. */
	mac_of(m, 50);
	CHECK(l2_learn(&f, 0, m, 2, 0, 4, NULL) == L2_LEARNED);
	CHECK(l2_learn(&f, 0, m, 1, 1, 4, NULL) == L2_PORT_FULL);
	CHECK(l2_lookup(&f, 0, m, 1, NULL) == 2);
	mac_of(m, 0);
	CHECK(l2_learn(&f, 0, m, 2, 1, 4, NULL) == L2_MOVED);
	CHECK(f.port_count[1] == 3 && f.port_count[2] == 2);
	CHECK(l2_flush_port(&f, 1) == 3);
	CHECK(f.port_count[1] == 0 && f.count == 2);
	l2_fdb_free(&f);
}

TEST(test_l2_hints_follow_the_table)
{
	static const uint8_t zero[6];
	struct l2_fdb f;
	uint8_t a[6], b[6];
	uint32_t hs = L2_NO_HINT, hd = L2_NO_HINT, hz;

	REQUIRE(l2_fdb_init(&f, 8, 10, 3, 4) == 0);
	mac_of(a, 1);
	mac_of(b, 2);
	CHECK(l2_learn(&f, 0, a, 1, 0, 0, &hs) == L2_LEARNED);
	CHECK(hs < f.capacity && memcmp(f.entry[hs].mac, a, 6) == 0);
	CHECK(l2_learn(&f, 0, a, 1, 5, 0, &hs) == L2_REFRESHED);
	CHECK(f.entry[hs].seen == 5);
	CHECK(l2_lookup(&f, 0, a, 6, &hd) == 1 && hd == hs);
	/* Expiry holds with a hint too. */
	CHECK(l2_lookup(&f, 0, a, 15, &hd) == L2_NO_PORT);
	/* A hint for another address is only a miss. */
	CHECK(l2_lookup(&f, 0, b, 6, &hd) == L2_NO_PORT && hd == L2_NO_HINT);
	hd = hs;
	CHECK(l2_lookup(&f, 0, b, 6, &hd) == L2_NO_PORT);
	/* The address moves: the hint follows the table, not the past. */
	CHECK(l2_learn(&f, 0, a, 2, 6, 0, &hs) == L2_MOVED);
	hd = hs;
	CHECK(l2_lookup(&f, 0, a, 6, &hd) == 2);
	/* Flushed: the entry is free, and a hint to it matches nothing,
	 * not even the zero address free entries hold. */
	hz = hs;
	CHECK(l2_flush_port(&f, 2) == 1);
	CHECK(l2_lookup(&f, 0, a, 6, &hd) == L2_NO_PORT);
	CHECK(l2_lookup(&f, 0, zero, 6, &hz) == L2_NO_PORT);
	hz = hs;
	CHECK(l2_learn(&f, 0, zero, 2, 6, 0, &hz) == L2_IGNORED);
	CHECK(f.count == 0);
	l2_fdb_free(&f);
}

/* The same address in two VLANs is two entries, on two ports. */
TEST(test_l2_vlans_are_apart)
{
	struct l2_fdb f;
	uint8_t a[6];

	REQUIRE(l2_fdb_init(&f, 16, 300, 11, 16) == 0);
	mac_of(a, 1);
	CHECK(l2_learn(&f, 10, a, 1, 0, 0, NULL) == L2_LEARNED);
	CHECK(l2_learn(&f, 20, a, 2, 0, 0, NULL) == L2_LEARNED);
	CHECK(l2_lookup(&f, 10, a, 1, NULL) == 1);
	CHECK(l2_lookup(&f, 20, a, 1, NULL) == 2);
	CHECK(l2_lookup(&f, 0, a, 1, NULL) == L2_NO_PORT);
	CHECK(f.count == 2);
	CHECK(l2_learn(&f, 10, a, 1, 1, 0, NULL) == L2_REFRESHED);
	CHECK(l2_flush_port(&f, 2) == 1);
	CHECK(l2_lookup(&f, 10, a, 1, NULL) == 1);
	l2_fdb_free(&f);
}

int main(void)
{
	RUN(test_l2_learn_and_lookup);
	RUN(test_l2_address_moves_between_ports);
	RUN(test_l2_never_learns_group_or_zero_sources);
	RUN(test_l2_ageing);
	RUN(test_l2_full_table_learns_nothing_and_evicts_nothing);
	RUN(test_l2_flush_port);
	RUN(test_l2_rejects_bad_sizes);
	RUN(test_l2_per_port_limit);
	RUN(test_l2_hints_follow_the_table);
	RUN(test_l2_vlans_are_apart);
	return test_summary();
}
