/*
 * The control socket and vswitch ctl, against the real ./vswitch with
 * guests of the project's own front-end: each command's reply parsed
 * and checked against what the test did (ports it connected, addresses
 * it sent from, frames it counted); the exit statuses and messages of
 * vswitch ctl; and hostile control clients that must not disturb
 * forwarding. Usage: ctl PATH-TO-VSWITCH [TEST...] (only those).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../proto/json.h"
#include "../unit/test.h"
#include "harness.h"

static const char *bin;

#define MAX_TOK 200000

/* A reply, parsed. */
struct reply {
	char *s;
	size_t n;
	struct json_tok *t;
	int ntok;
	int result;		/* its result, or -1 */
	bool ok;
};

static void reply_free(struct reply *r)
{
	free(r->s);
	free(r->t);
	memset(r, 0, sizeof(*r));
}

static const char *ctl_sock(const struct vs *v)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/vswitch.ctl", v->dir);
	return path;
}

static int ctl_connect(const struct vs *v)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", ctl_sock(v));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one line from @fd into a fresh buffer (its newline dropped). */
static char *read_line(int fd, size_t *len)
{
	size_t have = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd p = { fd, POLLIN, 0 };
		char *nl;
		ssize_t r;

		if (poll(&p, 1, H_TIMEOUT_MS) != 1)
			break;
		if (have + 4096 > cap) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		r = recv(fd, buf + have, 1, 0);	/* no further than the line */
		if (r <= 0)
			break;
		have += (size_t)r;
		nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = '\0';
			*len = (size_t)(nl - buf);
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* Line @s parsed into @r: a JSON object. */
static bool parse_event(struct reply *r, char *s, size_t n)
{
	const char *why;
	size_t off;

	r->s = s;
	r->n = n;
	r->t = calloc(MAX_TOK, sizeof(*r->t));
	r->ntok = r->t ? json_parse(s, n, r->t, MAX_TOK, &off, &why) : -1;
	if (r->ntok < 1 || r->t[0].type != JSON_OBJECT) {
		fprintf(stderr, "  not JSON: %.200s\n", s);
		return false;
	}
	return true;
}

/* A reply: an object, "ok" first. */
static bool parse(struct reply *r, char *s, size_t n)
{
	int ok;

	if (!parse_event(r, s, n))
		return false;
	ok = json_get(s, r->t, 0, "ok");
	r->ok = false;
	if (ok < 0 || !json_bool(s, r->t, ok, &r->ok))
		return false;
	/* "ok" comes first, as README promises scripts. */
	if (strncmp(s, r->ok ? "{\"ok\":true" : "{\"ok\":false", 10) != 0)
		return false;
	r->result = json_get(s, r->t, 0, "result");
	return true;
}

/* Has the switch closed connection @fd (and sent nothing more)? */
static bool closed_by_switch(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	return poll(&p, 1, H_TIMEOUT_MS) == 1 && recv(fd, &c, 1, 0) == 0;
}

/* Ask @req on connection @fd; the reply parsed into @r. */
static bool ask_on(int fd, const char *req, struct reply *r)
{
	size_t n;
	char *s;

	memset(r, 0, sizeof(*r));
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return false;
	s = read_line(fd, &n);
	return s && parse(r, s, n);
}

/* Ask @req on a connection of its own. */
static bool ask(const struct vs *v, const char *req, struct reply *r)
{
	int fd = ctl_connect(v);
	bool ok;

	if (fd < 0) {
		fprintf(stderr, "  cannot connect to %s\n", ctl_sock(v));
		return false;
	}
	ok = ask_on(fd, req, r);
	close(fd);
	return ok;
}

/* Value at a path of keys ("switch", "fdb", "entries") under @i. */
static int at(const struct reply *r, int i, const char *k1, const char *k2)
{
	if (i >= 0 && k1)
		i = json_get(r->s, r->t, i, k1);
	if (i >= 0 && k2)
		i = json_get(r->s, r->t, i, k2);
	return i;
}

static long long num(const struct reply *r, int i)
{
	uint64_t v;

	return i >= 0 && json_uint(r->s, r->t, i, &v) ? (long long)v : -1;
}

static bool str_is(const struct reply *r, int i, const char *s)
{
	return i >= 0 && json_eq(r->s, r->t, i, s);
}

/* Does array @arr hold string @s? */
static bool has_str(const struct reply *r, int arr, const char *s)
{
	unsigned int k;
	int e;

	for (k = 0; arr >= 0 && (e = json_at(r->t, arr, k)) >= 0; k++)
		if (str_is(r, e, s))
			return true;
	return false;
}

/* The element of array @arr whose member @key is @val. */
static int find(const struct reply *r, int arr, const char *key,
		const char *val)
{
	unsigned int k;
	int e;

	for (k = 0; arr >= 0 && (e = json_at(r->t, arr, k)) >= 0; k++)
		if (str_is(r, json_get(r->s, r->t, e, key), val))
			return e;
	return -1;
}

/* Does show say port @port is in state @state? */
static bool state_is(const struct vs *v, const char *port, const char *state)
{
	struct reply r;
	char req[64];
	bool ok;

	snprintf(req, sizeof(req), "show %s", port);
	ok = ask(v, req, &r) && r.ok &&
	     str_is(&r, at(&r, json_at(r.t, at(&r, r.result, "ports", NULL),
				       0), "state", NULL), state);
	reply_free(&r);
	return ok;
}

/* Run vswitch ctl with @args (a shell word list) as uid @uid (-1: as
 * we are); its exit status, stdout and stderr. */
static int run_ctl(const char *args, int uid, char *out, size_t size)
{
	char cmd[1024], path[] = "/tmp/vswitch-ctl-out.XXXXXX";
	int fd = mkstemp(path), st;
	pid_t pid;
	ssize_t n;

	if (fd < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "exec %s ctl %s", bin, args);
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (uid >= 0 && (setgid((gid_t)uid) < 0 ||
				 setuid((uid_t)uid) < 0))
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		close(fd);
		unlink(path);
		return -1;
	}
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool start(struct vs *v, unsigned int nports, const char *sw,
		  const char *extra)
{
	struct stat st;
	int i;

	if (vs_start_sw(v, bin, sw, nports, extra, NULL) < 0) {
		fprintf(stderr, "  cannot start %s\n", bin);
		return false;
	}
	/* The control socket comes after the ports'. */
	for (i = 0; i < H_TIMEOUT_MS / 10 && stat(ctl_sock(v), &st) < 0; i++)
		usleep(10000);
	return true;
}

static void stop(struct vs *v)
{
	CHECK(vs_alive(v));
	CHECK(vs_stop(v) == 0);
}

static int connect_n(struct vs *v, struct guest *g, unsigned int n)
{
	unsigned int i;
	char name[8];

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		if (guest_connect(&g[i], vs_sock(v, name), NULL,
				  (uint8_t)(i + 1)) < 0)
			return -1;
	}
	return 0;
}

static int send_from(struct guest *from, const uint8_t *src, uint32_t seq)
{
	uint8_t f[128];

	frame_make(f, 60, mac_broadcast, src, seq);
	return guest_send(from, f, 60);
}

static bool drain(struct guest *g, unsigned int n)
{
	uint8_t f[2048];

	while (n--)
		if (guest_recv(g, f, sizeof(f), H_TIMEOUT_MS) < 0)
			return false;
	return true;
}

TEST(test_show_names_ports_peers_and_features)
{
	struct reply r;
	struct guest g[2];
	struct vs v;
	char out[8192];
	int p0, p1, sw;

	REQUIRE(start(&v, 2, NULL, "[port p2]\nvlan = 7\n") &&
		connect_n(&v, g, 2) == 0);
	REQUIRE(vs_wait_log(&v, "port p1: up"));
	REQUIRE(ask(&v, "show", &r) && r.ok);
	sw = at(&r, r.result, "switch", NULL);
	CHECK(str_is(&r, at(&r, sw, "version", NULL), "0.1"));
	CHECK(num(&r, at(&r, sw, "pid", NULL)) == v.pid);
	CHECK(num(&r, at(&r, sw, "ports", NULL)) == 3);
	CHECK(str_is(&r, at(&r, sw, "config", NULL), v.cfg));
	CHECK(str_is(&r, at(&r, sw, "control", NULL), ctl_sock(&v)));
	CHECK(num(&r, at(&r, sw, "fdb", "capacity")) == 4096);
	p0 = find(&r, at(&r, r.result, "ports", NULL), "name", "p0");
	p1 = find(&r, at(&r, r.result, "ports", NULL), "name", "p1");
	REQUIRE(p0 >= 0 && p1 >= 0);
	CHECK(str_is(&r, at(&r, p0, "state", NULL), "up"));
	CHECK(str_is(&r, at(&r, p0, "type", NULL), "vhost-user"));
	CHECK(str_is(&r, at(&r, p0, "socket", NULL), vs_sock(&v, "p0")));
	CHECK(num(&r, at(&r, p0, "peer", "pid")) == getpid());
	CHECK(num(&r, at(&r, p0, "peer", "uid")) == getuid());
	CHECK(has_str(&r, at(&r, p0, "features", NULL), "VERSION_1"));
	CHECK(has_str(&r, at(&r, p0, "features", NULL), "MRG_RXBUF"));
	CHECK(has_str(&r, at(&r, p0, "protocol_features", NULL), "REPLY_ACK"));
	CHECK(num(&r, at(&r, p0, "memory", "regions")) == 1);
	CHECK(num(&r, json_get(r.s, r.t, json_at(r.t, at(&r, p0, "queues",
			NULL), 0), "size")) == g[0].o.qsz);
	reply_free(&r);

	/* One port, and one that is not connected. */
	REQUIRE(ask(&v, "show p2", &r) && r.ok);
	p0 = json_at(r.t, at(&r, r.result, "ports", NULL), 0);
	CHECK(str_is(&r, at(&r, p0, "name", NULL), "p2"));
	CHECK(str_is(&r, at(&r, p0, "state", NULL), "listening"));
	CHECK(num(&r, at(&r, p0, "vlan", NULL)) == 7);
	CHECK(json_at(r.t, at(&r, r.result, "ports", NULL), 1) < 0);
	reply_free(&r);
	REQUIRE(ask(&v, "show nosuch", &r));
	CHECK(!r.ok && str_is(&r, json_get(r.s, r.t, 0, "error"),
			      "no port 'nosuch'"));
	reply_free(&r);

	/* The same through vswitch ctl, as text and as JSON. */
	{
		char args[256];

		snprintf(args, sizeof(args), "-c %s show", v.cfg);
		CHECK(run_ctl(args, -1, out, sizeof(out)) == 0);
		CHECK(strstr(out, "\n  p0:\n") != NULL);
		CHECK(strstr(out, " up\n") != NULL);
		CHECK(strstr(out, " listening\n") != NULL);
		snprintf(args, sizeof(args), "-s %s show p1 --json",
			 ctl_sock(&v));
		CHECK(run_ctl(args, -1, out, sizeof(out)) == 0);
		CHECK(strncmp(out, "{\"ok\":true,\"result\":{", 21) == 0);
		CHECK(strstr(out, "\"name\":\"p1\"") != NULL);
	}
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_stats_fdb_and_metrics_count_what_was_sent)
{
	static const uint8_t extra[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct reply r;
	struct guest g[2];
	struct vs v;
	char line[160];
	unsigned int i;
	int e;

	/* A large table: a dump goes on over many turns of the loop. */
	REQUIRE(start(&v, 2, "fdb_size = 1000000", NULL) &&
		connect_n(&v, g, 2) == 0);
	REQUIRE(vs_wait_log(&v, "port p1: up"));
	for (i = 0; i < 5; i++)
		REQUIRE(send_from(&g[0], g[0].mac, i) == 0);
	REQUIRE(send_from(&g[1], g[1].mac, 10) == 0);
	REQUIRE(send_from(&g[1], extra, 11) == 0);
	REQUIRE(drain(&g[1], 5) && drain(&g[0], 2));

	REQUIRE(ask(&v, "stats", &r) && r.ok);
	CHECK(num(&r, at(&r, at(&r, r.result, "ports", "p0"), "rx_packets",
			 NULL)) == 5);
	CHECK(num(&r, at(&r, at(&r, r.result, "ports", "p0"), "tx_packets",
			 NULL)) == 2);
	CHECK(num(&r, at(&r, at(&r, r.result, "ports", "p1"), "rx_bytes",
			 NULL)) == 120);
	CHECK(num(&r, at(&r, r.result, "switch", "fdb_entries")) == 3);
	reply_free(&r);
	REQUIRE(ask(&v, "stats p1", &r) && r.ok);
	CHECK(at(&r, r.result, "ports", "p0") < 0);
	CHECK(num(&r, at(&r, at(&r, r.result, "ports", "p1"), "tx_packets",
			 NULL)) == 5);
	reply_free(&r);

	/* The FDB: each address on the port it came from. */
	REQUIRE(ask(&v, "fdb", &r) && r.ok);
	CHECK(num(&r, at(&r, r.result, "count", NULL)) == 3);
	mac_make(g[0].mac, 1);
	{
		char m[18];
		int arr = at(&r, r.result, "entries", NULL);

		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x",
			 g[0].mac[0], g[0].mac[1], g[0].mac[2], g[0].mac[3],
			 g[0].mac[4], g[0].mac[5]);
		e = find(&r, arr, "mac", m);
		CHECK(str_is(&r, at(&r, e, "port", NULL), "p0"));
		CHECK(num(&r, at(&r, e, "vlan", NULL)) == 0);
		CHECK(num(&r, at(&r, e, "age_s", NULL)) >= 0);
		e = find(&r, arr, "mac", "02:00:00:00:00:99");
		CHECK(str_is(&r, at(&r, e, "port", NULL), "p1"));
	}
	reply_free(&r);
	REQUIRE(ask(&v, "fdb show p1", &r) && r.ok);
	CHECK(json_at(r.t, at(&r, r.result, "entries", NULL), 1) >= 0);
	CHECK(json_at(r.t, at(&r, r.result, "entries", NULL), 2) < 0);
	reply_free(&r);
	REQUIRE(ask(&v, "fdb vlan 5", &r) && r.ok);
	CHECK(json_at(r.t, at(&r, r.result, "entries", NULL), 0) < 0);
	reply_free(&r);
	REQUIRE(ask(&v, "fdb flush p1", &r) && r.ok);
	CHECK(num(&r, at(&r, r.result, "flushed", NULL)) == 2);
	reply_free(&r);
	REQUIRE(ask(&v, "fdb", &r) && r.ok);
	CHECK(num(&r, at(&r, r.result, "count", NULL)) == 1);
	reply_free(&r);

	/* Metrics: the same counters, in the exposition format. */
	REQUIRE(ask(&v, "metrics", &r) && r.ok);
	{
		static char text[1 << 20];

		REQUIRE(json_str(r.s, r.t, r.result, text, sizeof(text)) > 0);
		CHECK(strstr(text, "vswitch_port_rx_packets_total{port=\"p0\"} "
			     "5\n") != NULL);
		CHECK(strstr(text, "vswitch_port_tx_packets_total{port=\"p1\"} "
			     "5\n") != NULL);
		CHECK(strstr(text, "# TYPE vswitch_port_rx_bytes_total "
			     "counter\n") != NULL);
		CHECK(strstr(text, "vswitch_fdb_entries 1\n") != NULL);
		snprintf(line, sizeof(line), "vswitch_port_up{port=\"p0\","
			 "type=\"vhost-user\"} 1\n");
		CHECK(strstr(text, line) != NULL);
	}
	reply_free(&r);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_port_disable_refuses_the_front_end_until_enabled)
{
	struct reply r;
	struct guest g[2];
	struct vs v;
	uint32_t seq = 1;

	REQUIRE(start(&v, 2, NULL, NULL) && connect_n(&v, g, 2) == 0);
	REQUIRE(vs_wait_log(&v, "port p1: up"));
	REQUIRE(ask(&v, "port p1 disable", &r) && r.ok);
	CHECK(str_is(&r, at(&r, r.result, "state", NULL), "disabled"));
	reply_free(&r);
	CHECK(guest_closed_by_peer(&g[1], H_TIMEOUT_MS));
	guest_close(&g[1]);
	/* Refused while disabled: the connection is closed at once. */
	CHECK(guest_connect(&g[1], vs_sock(&v, "p1"), NULL, 2) < 0);
	CHECK(vs_wait_log(&v, "port p1: refusing a front-end: the port is "
			  "disabled"));
	CHECK(state_is(&v, "p1", "disabled"));
	REQUIRE(ask(&v, "port p1 enable", &r) && r.ok);
	CHECK(str_is(&r, at(&r, r.result, "state", NULL), "listening"));
	reply_free(&r);
	REQUIRE(guest_connect(&g[1], vs_sock(&v, "p1"), NULL, 2) == 0);
	CHECK(pair_exchanges(&g[0], &g[1], &seq));
	REQUIRE(ask(&v, "port p1 sideways", &r));
	CHECK(!r.ok);
	reply_free(&r);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_log_level_and_reload_replies)
{
	struct reply r;
	struct vs v;
	FILE *f;

	REQUIRE(start(&v, 1, NULL, NULL));
	REQUIRE(ask(&v, "log-level warn", &r) && r.ok);
	CHECK(str_is(&r, at(&r, r.result, "log_level", NULL), "warn"));
	CHECK(str_is(&r, at(&r, r.result, "was", NULL), "debug"));
	reply_free(&r);
	REQUIRE(ask(&v, "log-level loud", &r));
	CHECK(!r.ok);
	reply_free(&r);

	/* A good file: the reply names what changed. */
	f = fopen(v.cfg, "a");
	REQUIRE(f);
	fprintf(f, "\n[port extra]\n[port p0]\n");
	fclose(f);
	REQUIRE(ask(&v, "reload", &r));
	CHECK(!r.ok);		/* p0 twice: refused, with the line */
	CHECK(strstr(r.s, "config.ini:") != NULL);
	CHECK(strstr(r.s, "duplicate") != NULL);
	CHECK(strstr(r.s, "keeping the running configuration") != NULL);
	reply_free(&r);
	f = fopen(v.cfg, "w");
	REQUIRE(f);
	fprintf(f, "[switch]\nsocket_dir = %s\nfdb_aging = 77\n[port p0]\n"
		"vlan = 3\nallow_uid = 0, 7\n[port extra]\n", v.dir);
	fclose(f);
	REQUIRE(ask(&v, "reload", &r) && r.ok);
	CHECK(has_str(&r, at(&r, r.result, "changed", NULL), "port extra: "
		      "added"));
	CHECK(has_str(&r, at(&r, r.result, "changed", NULL),
		      "port p0: allow_uid, vlan"));
	CHECK(has_str(&r, at(&r, r.result, "changed", NULL), "switch: "
		      "fdb_aging, log_level"));
	reply_free(&r);
	CHECK(state_is(&v, "extra", "listening"));
	/* The same uids in another order: no change. */
	f = fopen(v.cfg, "w");
	REQUIRE(f);
	fprintf(f, "[switch]\nsocket_dir = %s\nfdb_aging = 77\n[port p0]\n"
		"vlan = 3\nallow_uid = 7\nallow_uid = 0\n[port extra]\n",
		v.dir);
	fclose(f);
	REQUIRE(ask(&v, "reload", &r) && r.ok);
	CHECK(json_at(r.t, at(&r, r.result, "changed", NULL), 0) < 0);
	reply_free(&r);
	stop(&v);
}

/* The next event line on @fd: its "event" member is @ev. */
static bool next_event(int fd, const char *ev, struct reply *r)
{
	size_t n;
	char *s = read_line(fd, &n);

	memset(r, 0, sizeof(*r));
	if (!s || !parse_event(r, s, n))
		return false;
	if (!str_is(r, json_get(r->s, r->t, 0, "event"), ev)) {
		fprintf(stderr, "  expected event %s, got %s\n", ev, s);
		return false;
	}
	return true;
}

TEST(test_events_follow_ports_and_addresses)
{
	static const uint8_t moving[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	struct reply r;
	struct guest g[2];
	struct vs v;
	int fd;

	REQUIRE(start(&v, 2, "fdb_aging = 1", NULL));
	fd = ctl_connect(&v);
	REQUIRE(fd >= 0);
	REQUIRE(ask_on(fd, "events", &r) && r.ok);
	reply_free(&r);
	REQUIRE(connect_n(&v, g, 2) == 0);
	CHECK(next_event(fd, "connect", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "port"), "p0"));
	CHECK(num(&r, json_get(r.s, r.t, 0, "pid")) == getpid());
	reply_free(&r);
	CHECK(next_event(fd, "up", &r));
	reply_free(&r);
	CHECK(next_event(fd, "connect", &r));
	reply_free(&r);
	CHECK(next_event(fd, "up", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "port"), "p1"));
	reply_free(&r);
	REQUIRE(send_from(&g[0], moving, 1) == 0);
	REQUIRE(drain(&g[1], 1));
	CHECK(next_event(fd, "learned", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "mac"), "02:00:00:00:00:42"));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "port"), "p0"));
	CHECK(num(&r, json_get(r.s, r.t, 0, "vlan")) == 0);
	reply_free(&r);
	REQUIRE(send_from(&g[1], moving, 2) == 0);
	REQUIRE(drain(&g[0], 1));
	CHECK(next_event(fd, "moved", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "port"), "p1"));
	reply_free(&r);
	/* Ageing of one second: the sweep runs within a few. */
	CHECK(next_event(fd, "aged", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "mac"), "02:00:00:00:00:42"));
	reply_free(&r);
	guest_close(&g[0]);
	CHECK(next_event(fd, "down", &r));
	reply_free(&r);
	CHECK(next_event(fd, "disconnect", &r));
	CHECK(str_is(&r, json_get(r.s, r.t, 0, "port"), "p0"));
	reply_free(&r);
	close(fd);
	guest_close(&g[1]);
	stop(&v);
}

TEST(test_socket_mode_group_and_allow_uid)
{
	struct reply r;
	struct stat st;
	struct vs v;
	char out[2048], args[256];

	REQUIRE(start(&v, 1, "control_perm = 0666\ncontrol_group = 4\n"
		      "control_owner = 2\ncontrol_allow_uid = 12345", NULL));
	REQUIRE(stat(ctl_sock(&v), &st) == 0);
	CHECK((st.st_mode & 0777) == 0666);
	CHECK(st.st_gid == 4 && st.st_uid == 2);
	/* Root may always ask; uid 65534 is not in the list. */
	REQUIRE(ask(&v, "show", &r) && r.ok);
	reply_free(&r);
	snprintf(args, sizeof(args), "-s %s show", ctl_sock(&v));
	REQUIRE(chmod(v.dir, 0755) == 0);
	CHECK(run_ctl(args, 65534, out, sizeof(out)) == 1);
	CHECK(strstr(out, "not allowed: uid not in control_allow_uid") != NULL);
	CHECK(vs_wait_log(&v, "control: refusing uid 65534"));
	stop(&v);

	/* The default mode: only its owner (root) may connect. */
	REQUIRE(start(&v, 1, NULL, NULL));
	REQUIRE(stat(ctl_sock(&v), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	REQUIRE(chmod(v.dir, 0755) == 0);
	snprintf(args, sizeof(args), "-s %s show", ctl_sock(&v));
	CHECK(run_ctl(args, 65534, out, sizeof(out)) == 1);
	CHECK(strstr(out, "Permission denied") != NULL);
	CHECK(strstr(out, "control_perm") != NULL);
	stop(&v);
}

TEST(test_ctl_exit_statuses_and_messages)
{
	char out[4096], args[512], path[160];
	struct vs v;
	FILE *f;

	REQUIRE(start(&v, 1, NULL, NULL));
	snprintf(args, sizeof(args), "-c %s show nosuch", v.cfg);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 1);
	CHECK(strstr(out, "vswitch ctl: no port 'nosuch'") != NULL);
	snprintf(args, sizeof(args), "-c %s", v.cfg);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 2);
	CHECK(strstr(out, "usage: vswitch ctl") != NULL);
	CHECK(run_ctl("-x show", -1, out, sizeof(out)) == 2);
	snprintf(args, sizeof(args), "-c %s metrics >/dev/full", v.cfg);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 1);
	CHECK(strstr(out, "vswitch ctl: writing the output: No space left") !=
	      NULL);
	snprintf(args, sizeof(args), "-c %s frobnicate", v.cfg);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 1);
	CHECK(strstr(out, "unknown command 'frobnicate'") != NULL);
	stop(&v);
	/* Not running: its socket is gone. */
	snprintf(args, sizeof(args), "-c %s show", v.cfg);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 3);
	CHECK(strstr(out, "vswitch is not running") != NULL);
	/* A configuration without a control socket. */
	snprintf(path, sizeof(path), "%s/none.ini", v.dir);
	f = fopen(path, "w");
	REQUIRE(f);
	fprintf(f, "[switch]\nsocket_dir = %s\ncontrol =\n[port a]\n", v.dir);
	fclose(f);
	snprintf(args, sizeof(args), "-c %s show", path);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 2);
	CHECK(strstr(out, "has no control socket") != NULL);
	snprintf(args, sizeof(args), "-c %s/missing.ini show", v.dir);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 2);
	CHECK(strstr(out, "cannot open") != NULL);
}

/* Malformed requests: an error reply each, and the third in a row
 * closes the connection; a good one in between resets the count. */
TEST(test_malformed_requests_get_errors_then_a_close)
{
	static const char *bad[] = { "frob", "show a b c", "\x01\x02",
				     "stats \xff" };
	struct reply r;
	struct vs v;
	unsigned int i;
	int fd;

	REQUIRE(start(&v, 1, NULL, NULL));
	fd = ctl_connect(&v);
	REQUIRE(fd >= 0);
	REQUIRE(ask_on(fd, bad[0], &r) && !r.ok);
	reply_free(&r);
	REQUIRE(ask_on(fd, "show", &r) && r.ok);
	reply_free(&r);
	for (i = 1; i < 4; i++) {
		REQUIRE(ask_on(fd, bad[i], &r) && !r.ok);
		CHECK(i < 3 || strstr(r.s, "closing") != NULL);
		reply_free(&r);
	}
	CHECK(closed_by_switch(fd));
	close(fd);
	/* Unknown commands alone, three in a row, close it too. */
	fd = ctl_connect(&v);
	REQUIRE(fd >= 0);
	for (i = 0; i < 3; i++) {
		REQUIRE(ask_on(fd, "frob", &r) && !r.ok);
		reply_free(&r);
	}
	CHECK(closed_by_switch(fd));
	close(fd);
	/* The longest request: 4095 bytes, then "\r\n"; one more is too
	 * long. */
	fd = ctl_connect(&v);
	REQUIRE(fd >= 0);
	{
		static char line[4097];

		memset(line, ' ', sizeof(line));
		memcpy(line, "show", 4);
		line[4095] = '\r';
		line[4096] = '\0';
		REQUIRE(ask_on(fd, line, &r));
		CHECK(r.ok);
		reply_free(&r);
		line[4095] = ' ';
		REQUIRE(ask_on(fd, line, &r));
		CHECK(!r.ok && strstr(r.s, "longer than 4095 bytes") != NULL);
		reply_free(&r);
	}
	close(fd);
	REQUIRE(ask(&v, "show", &r) && r.ok);
	reply_free(&r);
	stop(&v);
}

/*
 * A client following events that half-closes (as socat does when its
 * input ends), with or without a newline after "events", still gets
 * them; when it goes altogether, its slot and descriptor go too.
 */
TEST(test_events_after_a_half_close)
{
	static const char *req[] = { "events", "events\n" };
	struct reply r;
	struct guest g;
	struct vs v;
	unsigned int i;
	long fds;
	int fd;

	REQUIRE(start(&v, 2, NULL, NULL));
	fds = vs_fds(&v);
	for (i = 0; i < 2; i++) {
		size_t n;
		char *s;

		fd = ctl_connect(&v);
		REQUIRE(fd >= 0);
		REQUIRE(send(fd, req[i], strlen(req[i]), 0) ==
			(ssize_t)strlen(req[i]));
		REQUIRE(shutdown(fd, SHUT_WR) == 0);
		s = read_line(fd, &n);
		REQUIRE(s && parse(&r, s, n) && r.ok);
		reply_free(&r);
		REQUIRE(guest_connect(&g, vs_sock(&v, i ? "p1" : "p0"), NULL,
				      1) == 0);
		CHECK(next_event(fd, "connect", &r));
		reply_free(&r);
		guest_close(&g);
		close(fd);
	}
	/* Both go: the timer looks for their hang-up every ten seconds. */
	for (i = 0; i < 2500 && vs_fds(&v) > fds; i++)
		usleep(10000);
	CHECK(vs_fds(&v) == fds);
	stop(&v);
}

/*
 * reload moving the control socket: to a path that cannot be opened (the
 * reply lists it under "failed", vswitch ctl exits 1, the socket stays
 * where it was), then to a new path while a port takes the old one.
 */
TEST(test_reload_moves_the_control_socket)
{
	char out[4096], args[256], old[128], path[160];
	struct reply r;
	struct guest g;
	struct vs v;
	FILE *f;

	REQUIRE(start(&v, 1, NULL, NULL));
	snprintf(old, sizeof(old), "%s", ctl_sock(&v));
	f = fopen(v.cfg, "w");
	REQUIRE(f);
	fprintf(f, "[switch]\nsocket_dir = %s\ncontrol = /proc/nope/x.ctl\n"
		"[port p0]\n", v.dir);
	fclose(f);
	snprintf(args, sizeof(args), "-s %s reload", old);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 1);
	CHECK(strstr(out, "control socket /proc/nope/x.ctl: ") != NULL);
	CHECK(strstr(out, "it stays as it was") != NULL);
	CHECK(strstr(out, "1 change could not be made") != NULL);
	REQUIRE(ask(&v, "show", &r) && r.ok);
	reply_free(&r);

	f = fopen(v.cfg, "w");
	REQUIRE(f);
	fprintf(f, "[switch]\nsocket_dir = %s\ncontrol = new.ctl\n[port p0]\n"
		"[port p1]\nsocket = vswitch.ctl\n", v.dir);
	fclose(f);
	REQUIRE(ask(&v, "reload", &r) && r.ok);
	CHECK(json_at(r.t, at(&r, r.result, "failed", NULL), 0) < 0);
	CHECK(has_str(&r, at(&r, r.result, "changed", NULL), "port p1: added"));
	reply_free(&r);
	snprintf(path, sizeof(path), "%s/new.ctl", v.dir);
	snprintf(args, sizeof(args), "-s %s show p1 --json", path);
	CHECK(run_ctl(args, -1, out, sizeof(out)) == 0);
	CHECK(strstr(out, "\"state\":\"listening\"") != NULL);
	REQUIRE(guest_connect(&g, old, NULL, 1) == 0);
	CHECK(vs_wait_log(&v, "port p1: up"));
	guest_close(&g);
	stop(&v);
}

/*
 * Hostile control clients, all at once, while two guests exchange
 * frames: garbage, a 1 MiB line, a client that asks and never reads,
 * 1,000 connections, sleepers. The pair keeps exchanging, a well-behaved
 * show is answered throughout, and when they are gone the switch holds
 * no more descriptors than before.
 */
TEST(test_hostile_control_clients_do_not_disturb_forwarding)
{
	static char big[1 << 20];
	struct reply r;
	struct guest g[2];
	struct vs v;
	uint32_t seq = 1;
	int many[1000], sleepers[20], garbage, liner, deaf;
	long fds;
	unsigned int i, n = 0, round;

	REQUIRE(start(&v, 2, NULL, NULL) && connect_n(&v, g, 2) == 0);
	REQUIRE(vs_wait_log(&v, "port p1: up"));
	REQUIRE(pair_exchanges(&g[0], &g[1], &seq));
	fds = vs_fds(&v);

	garbage = ctl_connect(&v);
	liner = ctl_connect(&v);
	deaf = ctl_connect(&v);
	REQUIRE(garbage >= 0 && liner >= 0 && deaf >= 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7919 >> 3);
	CHECK(send(garbage, big, 4096, MSG_NOSIGNAL | MSG_DONTWAIT) > 0);
	memset(big, 'a', sizeof(big));
	fcntl(liner, F_SETFL, O_NONBLOCK);
	CHECK(send(liner, big, sizeof(big), MSG_NOSIGNAL) > 0);
	/* Asks, over and over, and never reads a reply. */
	fcntl(deaf, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 2000; i++)
		if (send(deaf, "metrics\n", 8, MSG_NOSIGNAL) < 0)
			break;
	for (i = 0; i < 20; i++)
		sleepers[i] = ctl_connect(&v);
	for (round = 0; round < 10; round++) {
		for (i = round * 100; i < (round + 1) * 100; i++) {
			many[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
					 0);
			if (many[i] >= 0) {
				struct sockaddr_un a = { .sun_family = AF_UNIX };

				snprintf(a.sun_path, sizeof(a.sun_path), "%s",
					 ctl_sock(&v));
				if (connect(many[i], (struct sockaddr *)&a,
					    sizeof(a)) == 0)
					n++;
			}
		}
		CHECK(pair_exchanges(&g[0], &g[1], &seq));
		CHECK(ask(&v, "show", &r) && r.ok);
		reply_free(&r);
	}
	CHECK(n > 0);
	CHECK(vs_alive(&v));
	for (i = 0; i < 1000; i++)
		if (many[i] >= 0)
			close(many[i]);
	for (i = 0; i < 20; i++)
		if (sleepers[i] >= 0)
			close(sleepers[i]);
	close(garbage);
	close(liner);
	close(deaf);
	for (i = 0; i < 5; i++) {
		CHECK(pair_exchanges(&g[0], &g[1], &seq));
		CHECK(ask(&v, "show", &r) && r.ok);
		reply_free(&r);
	}
	/* Closed connections go as their closes are seen. */
	for (i = 0; i < 500 && vs_fds(&v) > fds; i++)
		usleep(10000);
	CHECK(vs_fds(&v) == fds);
	guest_close(&g[0]);
	guest_close(&g[1]);
	stop(&v);
}

/* A client that connects and says nothing is closed after the idle
 * time (ten seconds). */
TEST(test_idle_client_is_closed)
{
	struct vs v;
	struct pollfd p;
	char c;
	int fd;

	REQUIRE(start(&v, 1, NULL, NULL));
	fd = ctl_connect(&v);
	REQUIRE(fd >= 0);
	p.fd = fd;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 20000) == 1 && recv(fd, &c, 1, 0) == 0);
	close(fd);
	stop(&v);
}

/* Wait until @file holds @needle; what it holds in @out. */
static bool file_has(const char *file, const char *needle, char *out,
		     size_t size)
{
	int i;

	for (i = 0; i < 3 * H_TIMEOUT_MS / 10; i++) {
		FILE *f = fopen(file, "r");

		out[0] = '\0';
		if (f) {
			out[fread(out, 1, size - 1, f)] = '\0';
			fclose(f);
		}
		if (strstr(out, needle))
			return true;
		usleep(10000);
	}
	fprintf(stderr, "  %s never held \"%s\": %s\n", file, needle, out);
	return false;
}

/* Every command as text, as people read it: aligned columns, a table
 * for the FDB, metrics as they are, events one a line. */
TEST(test_text_output_of_each_command)
{
	char out[1 << 16], args[256], file[160], *line;
	struct guest g[2];
	struct vs v;
	pid_t pid;
	int st;

	REQUIRE(start(&v, 2, NULL, "[port p2]\ntrunk = 10\ntrunk = 20-30\n") &&
		connect_n(&v, g, 2) == 0);
	REQUIRE(vs_wait_log(&v, "port p1: up"));
	REQUIRE(send_from(&g[0], g[0].mac, 1) == 0 && drain(&g[1], 1));
#define CTL(cmd)                                                         \
	(snprintf(args, sizeof(args), "-c %s %s", v.cfg, cmd),           \
	 run_ctl(args, -1, out, sizeof(out)))
	CHECK(CTL("fdb") == 0);
	line = strstr(out, "entries:\n  VLAN  MAC                PORT  AGE_S\n"
		      "  0     52:54:00:00:00:01  p0    ");
	CHECK(line != NULL);
	CHECK(CTL("stats p0") == 0);
	CHECK(strncmp(out, "ports:\n  p0:\n    rx_packets         1\n", 38)
	      == 0);
	CHECK(CTL("show p2") == 0);
	CHECK(strstr(out, "    trunk        10,20-30\n") != NULL);
	CHECK(CTL("metrics") == 0);
	CHECK(strncmp(out, "# HELP vswitch_info The switch's version.\n", 42)
	      == 0);
	CHECK(CTL("log-level info") == 0);
	CHECK(strcmp(out, "log_level  info\nwas        debug\n") == 0);
	CHECK(CTL("fdb flush") == 0);
	CHECK(strcmp(out, "flushed  1\n") == 0);
	CHECK(CTL("reload") == 0);
	CHECK(strstr(out, "\nchanged  -\nfailed   -\n") != NULL);
#undef CTL

	/* events, until it is stopped. */
	snprintf(file, sizeof(file), "%s/events.txt", v.dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		execl(bin, bin, "ctl", "-c", v.cfg, "events", (char *)NULL);
		_exit(127);
	}
	REQUIRE(pid > 0);
	CHECK(file_has(file, "events follow, one a line\n", out, sizeof(out)));
	guest_close(&g[1]);
	CHECK(file_has(file, " port=p1 why=connection closed\n", out,
		       sizeof(out)));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	CHECK(strstr(out, "event=down time=") != NULL);
	CHECK(strstr(out, "event=disconnect time=") != NULL);
	guest_close(&g[0]);
	stop(&v);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ctl PATH-TO-VSWITCH [TEST...]\n");
		return 2;
	}
	bin = argv[1];
	test_select(argv + 2);
	signal(SIGPIPE, SIG_IGN);
	RUN(test_show_names_ports_peers_and_features);
	RUN(test_stats_fdb_and_metrics_count_what_was_sent);
	RUN(test_port_disable_refuses_the_front_end_until_enabled);
	RUN(test_log_level_and_reload_replies);
	RUN(test_events_follow_ports_and_addresses);
	RUN(test_socket_mode_group_and_allow_uid);
	RUN(test_ctl_exit_statuses_and_messages);
	RUN(test_text_output_of_each_command);
	RUN(test_malformed_requests_get_errors_then_a_close);
	RUN(test_events_after_a_half_close);
	RUN(test_reload_moves_the_control_socket);
	RUN(test_hostile_control_clients_do_not_disturb_forwarding);
	RUN(test_idle_client_is_closed);
	return test_summary();
}
