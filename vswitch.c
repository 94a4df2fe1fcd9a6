/*
 * vswitch: a virtual switch for vhost-user guests.
 *
 * QEMU guests (or any vhost-user front-end) attach a virtio-net NIC to one
 * of the switch's ports over a UNIX socket; the switch maps their memory,
 * runs their virtqueues and bridges frames between them with a MAC learning
 * table. One io_uring event loop does all waiting: accepting and connecting
 * sockets, vhost-user messages, guest kicks, signals and timers. Nothing
 * polls: with no traffic the process sleeps in io_uring_enter().
 *
 * This file holds the program: options, configuration, logging, sockets
 * and the ports' lifecycle, the SIGBUS guard, and the only io_uring code;
 * it does the I/O of the modules it drives. Where frames go and how they
 * are moved is the engine's business (proto/switch.c); the vhost-user
 * protocol is proto/backend.c's, rings vring/'s, guest memory mem/'s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <ini.h>
#include <liburing.h>

#include "mem/mem.h"
#include "vring/vring.h"
#include "proto/vhost_user.h"
#include "proto/json.h"
#include "proto/switch.h"

#ifndef VSWITCH_VERSION
#define VSWITCH_VERSION "0.1"

/*
 * What runs when someone asks or a port comes and goes (the
 * configuration, setting ports and uplinks up and down, the control
 * socket, vswitch ctl, start-up) is compiled for size, not speed: no
 * frame goes through it. GCC's pragma; other compilers optimise it as
 * the rest.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define VS_SMALL 1
#else
#define VS_SMALL 0
#endif
#endif
#define VS_MAX_PORTS SW_MAX_PORTS	/* configured ports */
#ifndef VS_CALL_CHECK
#define VS_CALL_CHECK 16	/* interrupts per ring per waited-for one */
#endif
#ifndef VS_BACKOFF_MIN_MS
#define VS_BACKOFF_MIN_MS 100
#endif
#ifndef VS_BACKOFF_MAX_MS
#define VS_BACKOFF_MAX_MS 4000
#endif
#ifndef VS_URING_ENTRIES
#define VS_URING_ENTRIES 256
#endif

#define VS_PATH_MAX 256
#define VS_NAME_MAX 32
#define VS_SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* ------------------------------------------------------------------ */
/* Logging                                                              */
/* ------------------------------------------------------------------ */

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static int log_level = LOG_INFO;

#ifndef VS_LOG_BURST
#define VS_LOG_BURST 20		/* lines a port may log in a row */
#endif
#ifndef VS_LOG_EVERY_MS
#define VS_LOG_EVERY_MS 500	/* then one more line per this */
#endif

#ifndef VS_LOG_QUEUE
#define VS_LOG_QUEUE 65536	/* bytes of log lines not yet written */
#endif

/*
 * Where log lines wait to be written. Before the event loop runs (and
 * after it stops) lines go to stderr at once. While it runs they are
 * queued here and written by io_uring, one write in flight at a time
 * (log_submit, from the loop): stderr may be a pipe whose reader has
 * stalled (procd's log daemon, a terminal on hold), and a blocking write
 * from the loop would stop every port with it. A line that does not fit
 * is dropped and counted; the next one that fits says how many went.
 */
static struct {
	char buf[VS_LOG_QUEUE];
	size_t head;		/* first byte not yet written */
	size_t len;		/* bytes queued from head, wrapping */
	size_t writing;		/* of them, in the write in flight */
	uint64_t dropped;	/* lines since the last one queued */
	uint64_t total_dropped;
	bool queue;		/* the loop runs: queue, do not write */
} logq;

static void log_append(const char *s, size_t n)
{
	size_t tail = (logq.head + logq.len) % sizeof(logq.buf);
	size_t k = n < sizeof(logq.buf) - tail ? n : sizeof(logq.buf) - tail;

	memcpy(logq.buf + tail, s, k);
	memcpy(logq.buf, s + k, n - k);
	logq.len += n;
}

/* Put out one line of @n bytes, its newline included. */
static void log_out(const char *line, size_t n)
{
	char note[64];
	int m = 0;

	if (!logq.queue) {
		fwrite(line, 1, n, stderr);
		return;
	}
	if (logq.dropped)
		m = snprintf(note, sizeof(note), "warn: %llu log line%s dropped"
			     " (stderr not read)\n",
			     (unsigned long long)logq.dropped,
			     logq.dropped == 1 ? "" : "s");
	if (n + (size_t)m > sizeof(logq.buf) - logq.len) {
		logq.dropped++;
		logq.total_dropped++;
		return;
	}
	if (m) {
		log_append(note, (size_t)m);
		logq.dropped = 0;
	}
	log_append(line, n);
}

/*
 * What a port has left to log: a token bucket, so that a guest or
 * front-end repeating a mistake cannot flood the log. Warnings and
 * errors have one bucket, informational lines (connections, up, down)
 * another, so that a storm of one kind does not hide the other. Debug
 * lines (asked for with -v or log_level = debug) are not limited.
 */
struct log_limit {
	uint32_t tokens;
	uint64_t last_ms;
	uint64_t suppressed;	/* since the last line that went out */
	uint64_t total_suppressed;
};

struct port;
static const char *port_name(const struct port *p);
static struct log_limit *port_log_limit(struct port *p, int level);
static void port_note_error(struct port *p, const char *msg, size_t n);

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* May @p log one more line at @level now? Counts the lines it may not. */
static bool log_allowed(struct port *p, int level)
{
	struct log_limit *l = port_log_limit(p, level);
	uint64_t now_ms = monotonic_ms(), n;

	n = (now_ms - l->last_ms) / VS_LOG_EVERY_MS;
	if (n) {
		l->tokens = n >= VS_LOG_BURST - l->tokens ? VS_LOG_BURST :
			    l->tokens + (uint32_t)n;
		l->last_ms = now_ms;
	}
	if (!l->tokens) {
		l->suppressed++;
		l->total_suppressed++;
		return false;
	}
	l->tokens--;
	if (l->suppressed) {
		char line[96];
		int m = snprintf(line, sizeof(line), "warn: port %s: %llu log "
				 "line%s suppressed\n", port_name(p),
				 (unsigned long long)l->suppressed,
				 l->suppressed == 1 ? "" : "s");

		log_out(line, (size_t)m < sizeof(line) ? (size_t)m :
			sizeof(line) - 1);
		l->suppressed = 0;
	}
	return true;
}

__attribute__((format(printf, 4, 0)))
static void vlog(int level, struct port *p, int errnum, const char *fmt,
		 va_list ap)
{
	char buf[1024];
	size_t n, msg;

	if (level > log_level)
		return;
	if (p && level != LOG_DEBUG && !log_allowed(p, level))
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "%s: ", level_names[level]);
	if (p)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "port %s: ",
				      port_name(p));
	msg = n;
	if (n < sizeof(buf))
		n += (size_t)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (errnum && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ": %s",
				      strerror(errnum));
	/* Cut to fit, newline included. */
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	/* A port's last warning, for vswitch ctl show: the line as it went
	 * out (what the rate limit held back costs no formatting). */
	if (p && level <= LOG_WARN && msg < n)
		port_note_error(p, buf + msg, n - msg);
	buf[n++] = '\n';
	log_out(buf, n);
}

#define LOG_FN(fname, level, with_errno)                                 \
	__attribute__((format(printf, 2, 3)))                            \
	static void fname(struct port *p, const char *fmt, ...)          \
	{                                                                \
		int e = with_errno ? errno : 0;                          \
		va_list ap;                                              \
		va_start(ap, fmt);                                       \
		vlog(level, p, e, fmt, ap);                              \
		va_end(ap);                                              \
	}
LOG_FN(log_errx, LOG_ERROR, 0)
LOG_FN(log_warn, LOG_WARN, 1)
LOG_FN(log_warnx, LOG_WARN, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)
#undef LOG_FN

#if VS_SMALL
#pragma GCC push_options
#pragma GCC optimize("Os")
#endif

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

/*
 * Every key, once: name, type, default, and range for numbers. These lists
 * generate the structures, the defaults, the parser and the dump (-t).
 * config.ini.example documents each key.
 */
#define SWITCH_KEYS(X)                                  \
	X(socket_dir, PATH,  "run",    0, 0)            \
	X(fdb_size,   UINT,  "4096",   1, 1u << 24)     \
	X(fdb_aging,  UINT,  "300",    1, 1000000)      \
	X(rx_wait_ms, UINT,  "20",     0, 10000)        \
	X(log_level,  LEVEL, "info",   0, 0)            \
	X(user,       USER,  "",       0, 0)            \
	X(control,    SOCKET, "vswitch.ctl", 0, 0)      \
	X(control_owner, USER, "",     0, 0)            \
	X(control_group, GROUP, "",    0, 0)            \
	X(control_perm, PERM, "",      0, 0)            \
	X(control_allow_uid, USERS, "", 0, 0)

#define PORT_KEYS(X)                                    \
	X(type,       TYPE,  "vhost-user", 0, 0)        \
	X(socket,     PATH,  "",       0, 0)            \
	X(mode,       MODE,  "server", 0, 0)            \
	X(owner,      USER,  "",       0, 0)            \
	X(group,      GROUP, "",       0, 0)            \
	X(perm,       PERM,  "",       0, 0)            \
	X(allow_uid,  USERS, "",       0, 0)            \
	X(mac,        MACS,  "",       0, 0)            \
	X(max_macs,   UINT,  "0",      0, 1u << 24)     \
	X(vlan,       VLAN,  "",       0, 0)            \
	X(trunk,      VIDS,  "",       0, 0)            \
	X(ifname,     IFNAME, "",      0, 0)            \
	X(bridge,     IFNAME, "",      0, 0)            \
	X(mtu,        UINT,  "0",      0, 65535)          \
	X(offload,    BOOL,  "on",     0, 0)

#ifndef VS_LIST_MAX
#define VS_LIST_MAX 16		/* entries in an allow_uid or mac list */
#endif

enum cfg_type {
	CFG_PATH, CFG_UINT, CFG_LEVEL, CFG_MODE, CFG_USER, CFG_GROUP,
	CFG_PERM, CFG_USERS, CFG_MACS, CFG_VLAN, CFG_VIDS, CFG_TYPE,
	CFG_IFNAME, CFG_BOOL,
	CFG_SOCKET,	/* a path, or empty: none */
};

/* Keys a line may give again, adding to what earlier lines gave. */
static bool cfg_is_list(enum cfg_type t)
{
	return t == CFG_USERS || t == CFG_MACS || t == CFG_VIDS;
}
enum port_mode { MODE_SERVER, MODE_CLIENT };
static const char *const mode_names[] = { "server", "client" };
/* What is on the other side of a port: a guest's vhost-user front-end,
 * or the kernel (a TAP device, an AF_PACKET socket on an interface). */
enum port_type { TYPE_VHOST_USER, TYPE_TAP, TYPE_AF_PACKET };
static const char *const type_names[] = { "vhost-user", "tap", "af_packet" };
#define VS_IFNAME_MAX 16		/* IFNAMSIZ */

struct cfg_ids {
	unsigned int n;
	uint32_t id[VS_LIST_MAX];
};

struct cfg_macs {
	unsigned int n;
	uint8_t mac[VS_LIST_MAX][6];
};

/* A set of VLAN ids (1..4094), a bit each. */
struct cfg_vids {
	bool set;
	uint64_t bits[64];
};

#define CFG_FIELD_PATH(k)	char k[VS_PATH_MAX]
#define CFG_FIELD_SOCKET(k)	char k[VS_PATH_MAX]	/* "": none */
#define CFG_FIELD_UINT(k)	uint32_t k
#define CFG_FIELD_LEVEL(k)	int k
#define CFG_FIELD_MODE(k)	int k
#define CFG_FIELD_USER(k)	int64_t k	/* uid, -1: not set */
#define CFG_FIELD_GROUP(k)	int64_t k	/* gid, -1: not set */
#define CFG_FIELD_PERM(k)	int32_t k	/* mode bits, -1: not set */
#define CFG_FIELD_USERS(k)	struct cfg_ids k
#define CFG_FIELD_MACS(k)	struct cfg_macs k
#define CFG_FIELD_VLAN(k)	uint16_t k	/* 0: not set */
#define CFG_FIELD_VIDS(k)	struct cfg_vids k
#define CFG_FIELD_TYPE(k)	int k
#define CFG_FIELD_IFNAME(k)	char k[VS_IFNAME_MAX]	/* "": not set */
#define CFG_FIELD_BOOL(k)	bool k

enum {
#define X(k, t, d, lo, hi) SWITCH_KEY_##k,
	SWITCH_KEYS(X)
#undef X
	SWITCH_NKEYS
};

enum {
#define X(k, t, d, lo, hi) PORT_KEY_##k,
	PORT_KEYS(X)
#undef X
	PORT_NKEYS
};

struct switch_cfg {
#define X(k, t, d, lo, hi) CFG_FIELD_##t(k);
	SWITCH_KEYS(X)
#undef X
	int line[SWITCH_NKEYS];		/* where each key was set, 0: default */
};

struct port_cfg {
	char name[VS_NAME_MAX];
#define X(k, t, d, lo, hi) CFG_FIELD_##t(k);
	PORT_KEYS(X)
#undef X
	int line[PORT_NKEYS];
	int section_line;
	char path[VS_SUN_PATH_MAX];	/* resolved socket path */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *def;
	uint32_t min, max;
};

static const struct cfg_key switch_keys[] = {
#define X(k, t, d, lo, hi) \
	{ #k, CFG_##t, offsetof(struct switch_cfg, k), d, lo, hi },
	SWITCH_KEYS(X)
#undef X
};

static const struct cfg_key port_keys[] = {
#define X(k, t, d, lo, hi) \
	{ #k, CFG_##t, offsetof(struct port_cfg, k), d, lo, hi },
	PORT_KEYS(X)
#undef X
};

struct config {
	char file[VS_PATH_MAX];
	char dir[VS_PATH_MAX];		/* directory of the file */
	char socket_dir[VS_PATH_MAX];	/* resolved */
	char control[VS_SUN_PATH_MAX];	/* resolved; "": none */
	struct switch_cfg sw;
	int switch_line;		/* [switch] header, 0 if none */
	unsigned int nports;
	struct port_cfg port[VS_MAX_PORTS];
};

/* A configuration error: where and why. */
struct cfg_error {
	int line;			/* 0: the file as a whole */
	char why[VS_PATH_MAX + 2 * VS_SUN_PATH_MAX];
};

/* A decimal number in min..max, digits only. */
static int parse_number(const char *v, unsigned long min, unsigned long max,
			unsigned long *out, const char **why)
{
	unsigned long n;
	char *end;

	if (*v < '0' || *v > '9') {
		*why = "not a number";
		return -1;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*end) {
		*why = "not a number";
		return -1;
	}
	if (errno || n < min || n > max) {
		*why = "out of range";
		return -1;
	}
	*out = n;
	return 0;
}

/* A user or group, by name or number. */
static int parse_id(const char *v, bool group, int64_t *out, const char **why)
{
	unsigned long n;

	if (*v >= '0' && *v <= '9') {
		if (parse_number(v, 0, UINT32_MAX - 1, &n, why) < 0)
			return -1;
		*out = (int64_t)n;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(v);

		if (!g) {
			*why = "no such group";
			return -1;
		}
		*out = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(v);

		if (!pw) {
			*why = "no such user";
			return -1;
		}
		*out = pw->pw_uid;
	}
	return 0;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* xx:xx:xx:xx:xx:xx, hex digits, and nothing else. (No scanf: in a
 * static build it brings the C library's float parsing along.) */
static int parse_mac(const char *v, uint8_t *mac, const char **why)
{
	unsigned int i;

	for (i = 0; i < 6; i++, v += 3) {
		int hi = hex_digit(v[0]), lo = hi < 0 ? -1 : hex_digit(v[1]);

		if (lo < 0 || v[2] != (i < 5 ? ':' : '\0')) {
			*why = "not a MAC address (xx:xx:xx:xx:xx:xx)";
			return -1;
		}
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (l2_is_multicast(mac) || l2_is_zero(mac)) {
		*why = "not a unicast MAC address";
		return -1;
	}
	return 0;
}

/* A list of users or MACs, separated by blanks or commas; a key given
 * again adds to its list (a line holds fewer than the list may). */
static int parse_list(const char *v, enum cfg_type t, void *field,
		      const char **why)
{
	struct cfg_ids *ids = field;
	struct cfg_macs *macs = field;
	char buf[VS_PATH_MAX], *tok, *save;
	unsigned int n = t == CFG_MACS ? macs->n : ids->n;
	int64_t id;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, " \t,", &save); tok;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (n == VS_LIST_MAX) {
			*why = "more entries than the list holds";
			return -1;
		}
		if (t == CFG_MACS) {
			if (parse_mac(tok, macs->mac[n], why) < 0)
				return -1;
		} else {
			if (parse_id(tok, false, &id, why) < 0)
				return -1;
			ids->id[n] = (uint32_t)id;
		}
		n++;
	}
	if (t == CFG_MACS)
		macs->n = n;
	else
		ids->n = n;
	return 0;
}

/* VLAN ids and ranges ("10, 20-30"), added to @set. */
static int parse_vids(const char *v, struct cfg_vids *set, const char **why)
{
	char buf[VS_PATH_MAX], *tok, *save, *dash;
	unsigned long lo, hi, i;

	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, " \t,", &save); tok;
	     tok = strtok_r(NULL, " \t,", &save)) {
		dash = strchr(tok, '-');
		if (dash)
			*dash = '\0';
		if (parse_number(tok, 1, SW_VLAN_MAX, &lo, why) < 0 ||
		    (dash && parse_number(dash + 1, 1, SW_VLAN_MAX, &hi,
					  why) < 0)) {
			*why = "not VLAN ids or ranges of them (1..4094)";
			return -1;
		}
		if (!dash)
			hi = lo;
		if (hi < lo) {
			*why = "a VLAN range that runs backwards";
			return -1;
		}
		for (i = lo; i <= hi; i++)
			set->bits[i / 64] |= 1ULL << (i % 64);
		set->set = true;
	}
	return 0;
}

static int parse_value(const struct cfg_key *k, const char *v, void *base,
		       const char **why)
{
	char *field = (char *)base + k->off;
	unsigned long n;
	int i;

	if (!*v && !cfg_is_list(k->type) && k->type != CFG_SOCKET) {
		*why = "empty value";
		return -1;
	}
	/* "key =;x" reads as the value ";x", "key = ;x" as a comment. */
	if (*v == ';' || *v == '#') {
		*why = "value starts with a comment character";
		return -1;
	}
	switch (k->type) {
	case CFG_PATH:
	case CFG_SOCKET:
		if (strlen(v) >= VS_PATH_MAX) {
			*why = "path too long";
			return -1;
		}
		strcpy(field, v);
		return 0;
	case CFG_UINT:
		if (parse_number(v, k->min, k->max, &n, why) < 0)
			return -1;
		*(uint32_t *)(void *)field = (uint32_t)n;
		return 0;
	case CFG_LEVEL:
		for (i = 0; i <= LOG_DEBUG; i++) {
			if (strcmp(v, level_names[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		*why = "not one of error, warn, info, debug";
		return -1;
	case CFG_MODE:
		for (i = 0; i <= MODE_CLIENT; i++) {
			if (strcmp(v, mode_names[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		*why = "not one of server, client";
		return -1;
	case CFG_USER:
	case CFG_GROUP:
		return parse_id(v, k->type == CFG_GROUP,
				(int64_t *)(void *)field, why);
	case CFG_PERM:
		if (strspn(v, "01234567") != strlen(v) || strlen(v) > 4 ||
		    strtoul(v, NULL, 8) > 0777) {
			*why = "not permission bits in octal (0..0777)";
			return -1;
		}
		*(int32_t *)(void *)field = (int32_t)strtoul(v, NULL, 8);
		return 0;
	case CFG_USERS:
	case CFG_MACS:
		return parse_list(v, k->type, field, why);
	case CFG_VLAN:
		if (parse_number(v, 1, SW_VLAN_MAX, &n, why) < 0) {
			*why = "not a VLAN id (1..4094)";
			return -1;
		}
		*(uint16_t *)(void *)field = (uint16_t)n;
		return 0;
	case CFG_VIDS:
		return parse_vids(v, (struct cfg_vids *)(void *)field, why);
	case CFG_TYPE:
		for (i = 0; i <= TYPE_AF_PACKET; i++) {
			if (strcmp(v, type_names[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		*why = "not one of vhost-user, tap, af_packet";
		return -1;
	case CFG_IFNAME:
		/* As the kernel's dev_valid_name() has it. */
		if (strlen(v) >= VS_IFNAME_MAX || strcmp(v, ".") == 0 ||
		    strcmp(v, "..") == 0 || strpbrk(v, "/: \t")) {
			*why = "not an interface name (1-15 characters, no '/', "
			       "':' or blanks)";
			return -1;
		}
		strcpy(field, v);
		return 0;
	case CFG_BOOL:
		if (strcmp(v, "on") && strcmp(v, "off")) {
			*why = "not one of on, off";
			return -1;
		}
		*(bool *)(void *)field = strcmp(v, "on") == 0;
		return 0;
	}
	return -1;
}

/* The defaults; keys without one are "not set". */
static void set_defaults(const struct cfg_key *keys, size_t n, void *base)
{
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		char *field = (char *)base + keys[i].off;

		switch (keys[i].type) {
		case CFG_USER:
		case CFG_GROUP:
			*(int64_t *)(void *)field = -1;
			break;
		case CFG_PERM:
			*(int32_t *)(void *)field = -1;
			break;
		case CFG_VLAN:
			*(uint16_t *)(void *)field = 0;
			break;
		case CFG_VIDS:
			memset(field, 0, sizeof(struct cfg_vids));
			break;
		case CFG_IFNAME:
			field[0] = '\0';
			break;
		default:
			if (*keys[i].def)
				parse_value(&keys[i], keys[i].def, base, &why);
			else if (keys[i].type == CFG_PATH)
				field[0] = '\0';
			else
				parse_value(&keys[i], "", base, &why);
			break;
		}
	}
}

static bool vid_in(const struct cfg_vids *set, unsigned int v)
{
	return set->bits[v / 64] >> (v % 64) & 1;
}

/* A set of VLANs as ranges, one a line (the key accumulates). */
static void dump_vids(FILE *f, const char *name, const struct cfg_vids *set)
{
	unsigned int v = 1, lo, n = 0;

	while (v <= SW_VLAN_MAX) {
		if (!vid_in(set, v)) {
			v++;
			continue;
		}
		for (lo = v; v + 1 <= SW_VLAN_MAX && vid_in(set, v + 1); v++)
			;
		if (n++)
			fprintf(f, "\n%s =", name);
		if (lo == v)
			fprintf(f, " %u", v);
		else
			fprintf(f, " %u-%u", lo, v);
		v++;
	}
}

/*
 * dump_keys - every key of @keys in @base, with its value. @skip: keys
 * that do not apply (a bit each), shown commented out like keys not set,
 * so that the dump reads back as the same configuration.
 */
static void dump_keys(FILE *f, const struct cfg_key *keys, size_t n,
		      const void *base, uint64_t skip)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < n; i++) {
		const char *field = (const char *)base + keys[i].off;
		const struct cfg_ids *ids = (const void *)field;
		const struct cfg_macs *macs = (const void *)field;
		const struct cfg_vids *vids = (const void *)field;
		int64_t id = -1;
		int32_t perm = -1;
		bool unset = false;

		/* Keys not set are shown commented out: the dump reads back
		 * as the same configuration. */
		switch (keys[i].type) {
		case CFG_USER:
		case CFG_GROUP:
			id = *(const int64_t *)(const void *)field;
			unset = id < 0;
			break;
		case CFG_PERM:
			perm = *(const int32_t *)(const void *)field;
			unset = perm < 0;
			break;
		case CFG_USERS:
			unset = ids->n == 0;
			break;
		case CFG_MACS:
			unset = macs->n == 0;
			break;
		case CFG_VLAN:
			unset = *(const uint16_t *)(const void *)field == 0;
			break;
		case CFG_VIDS:
			unset = !vids->set;
			break;
		case CFG_PATH:
		case CFG_IFNAME:
			unset = !field[0];
			break;
		default:
			break;
		}
		if (skip >> i & 1) {
			fprintf(f, ";%s =\n", keys[i].name);
			continue;
		}
		fprintf(f, "%s%s =", unset ? ";" : "", keys[i].name);
		switch (keys[i].type) {
		case CFG_PATH:
		case CFG_SOCKET:
			if (field[0])
				fprintf(f, " %s", field);
			break;
		case CFG_UINT:
			fprintf(f, " %u", *(const uint32_t *)(const void *)field);
			break;
		case CFG_LEVEL:
			fprintf(f, " %s",
				level_names[*(const int *)(const void *)field]);
			break;
		case CFG_MODE:
			fprintf(f, " %s",
				mode_names[*(const int *)(const void *)field]);
			break;
		case CFG_USER:
		case CFG_GROUP:
			if (id >= 0)
				fprintf(f, " %lld", (long long)id);
			break;
		case CFG_PERM:
			if (perm >= 0)
				fprintf(f, " %04o", (unsigned int)perm);
			break;
		/* Lists one value per line (the key accumulates): a full
		 * list would not fit in one line. */
		case CFG_USERS:
			for (j = 0; j < ids->n; j++) {
				if (j)
					fprintf(f, "\n%s =", keys[i].name);
				fprintf(f, " %u", ids->id[j]);
			}
			break;
		case CFG_MACS:
			for (j = 0; j < macs->n; j++) {
				if (j)
					fprintf(f, "\n%s =", keys[i].name);
				fprintf(f, " %02x:%02x:%02x:%02x:%02x:%02x",
					macs->mac[j][0], macs->mac[j][1],
					macs->mac[j][2], macs->mac[j][3],
					macs->mac[j][4], macs->mac[j][5]);
			}
			break;
		case CFG_VLAN:
			if (!unset)
				fprintf(f, " %u",
					*(const uint16_t *)(const void *)field);
			break;
		case CFG_VIDS:
			dump_vids(f, keys[i].name, vids);
			break;
		case CFG_TYPE:
			fprintf(f, " %s",
				type_names[*(const int *)(const void *)field]);
			break;
		case CFG_IFNAME:
			if (!unset)
				fprintf(f, " %s", field);
			break;
		case CFG_BOOL:
			fprintf(f, " %s", *(const bool *)(const void *)field ?
				"on" : "off");
			break;
		}
		fputc('\n', f);
	}
}

/* The port keys that do not apply to a port of @type, a bit each. */
static uint64_t keys_not_for(int type)
{
	const uint64_t vhost = 1ULL << PORT_KEY_socket | 1ULL << PORT_KEY_mode |
			       1ULL << PORT_KEY_owner | 1ULL << PORT_KEY_group |
			       1ULL << PORT_KEY_perm | 1ULL << PORT_KEY_allow_uid;
	const uint64_t tap = 1ULL << PORT_KEY_bridge | 1ULL << PORT_KEY_mtu;

	_Static_assert(PORT_NKEYS <= 64, "port keys fit a mask");
	switch (type) {
	case TYPE_VHOST_USER:
		return tap | 1ULL << PORT_KEY_ifname;
	case TYPE_TAP:
		return vhost;
	default:
		return vhost | tap;
	}
}

static void config_dump(FILE *f, const struct config *c)
{
	unsigned int i;

	fprintf(f, "[switch]\n");
	dump_keys(f, switch_keys, SWITCH_NKEYS, &c->sw, 0);
	for (i = 0; i < c->nports; i++) {
		fprintf(f, "\n[port %s]\n", c->port[i].name);
		dump_keys(f, port_keys, PORT_NKEYS, &c->port[i],
			  keys_not_for(c->port[i].type));
	}
}

enum cfg_section { SEC_NONE, SEC_SWITCH, SEC_PORT, SEC_BAD };

struct cfg_parse {
	struct config *c;
	FILE *f;
	int line;
	enum cfg_section sec;
	struct port_cfg *port;
	struct cfg_error err;
	char *buf;
	size_t cap;
};

__attribute__((format(printf, 3, 4)))
static void cfg_fail(struct cfg_error *e, int line, const char *fmt, ...)
{
	va_list ap;

	if (e->why[0])
		return;		/* the first error is the one reported */
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VS_NAME_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A "[...]" header line; @s points at the '['. */
static void cfg_section(struct cfg_parse *ps, const char *s)
{
	const char *end = strchr(s, ']');
	char text[VS_PATH_MAX], *name;
	struct config *c = ps->c;
	unsigned int i;
	size_t len;

	ps->sec = SEC_BAD;
	if (!end) {
		cfg_fail(&ps->err, ps->line, "section header without ']'");
		return;
	}
	len = (size_t)(end - s - 1);
	if (len >= sizeof(text)) {
		cfg_fail(&ps->err, ps->line, "section name too long");
		return;
	}
	memcpy(text, s + 1, len);
	text[len] = '\0';
	if (strcmp(text, "switch") == 0) {
		if (c->switch_line) {
			cfg_fail(&ps->err, ps->line,
				 "duplicate [switch] section (first at line %d)",
				 c->switch_line);
			return;
		}
		c->switch_line = ps->line;
		ps->sec = SEC_SWITCH;
		return;
	}
	if (strncmp(text, "port", 4) != 0 || (text[4] != ' ' && text[4] != '\t')) {
		cfg_fail(&ps->err, ps->line, "unknown section [%s]", text);
		return;
	}
	name = text + 4;
	name += strspn(name, " \t");
	if (!name_valid(name)) {
		cfg_fail(&ps->err, ps->line,
			 "bad port name '%s' (1-%d of A-Z a-z 0-9 _ . -)",
			 name, VS_NAME_MAX - 1);
		return;
	}
	for (i = 0; i < c->nports; i++) {
		if (strcmp(c->port[i].name, name) == 0) {
			cfg_fail(&ps->err, ps->line,
				 "duplicate port %s (first at line %d)", name,
				 c->port[i].section_line);
			return;
		}
	}
	if (c->nports == VS_MAX_PORTS) {
		cfg_fail(&ps->err, ps->line, "too many ports (at most %d)",
			 VS_MAX_PORTS);
		return;
	}
	ps->port = &c->port[c->nports++];
	memset(ps->port, 0, sizeof(*ps->port));
	strcpy(ps->port->name, name);
	ps->port->section_line = ps->line;
	set_defaults(port_keys, PORT_NKEYS, ps->port);
	ps->sec = SEC_PORT;
}

/*
 * inih's line reader. It counts lines, refuses lines longer than inih's
 * buffer (instead of letting inih split them), strips leading blanks (so
 * nothing is taken for a continuation line) and handles section headers
 * itself, so that a section with no keys is checked too.
 */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	ssize_t n = getline(&ps->buf, &ps->cap, ps->f);
	char *s;
	size_t len;

	if (n < 0)
		return NULL;
	ps->line++;
	s = ps->buf;
	len = (size_t)n;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (len > (size_t)num - 2) {
		cfg_fail(&ps->err, ps->line,
			 "line longer than %d characters", num - 2);
		str[0] = '\0';
		return str;
	}
	if (strlen(s) != len) {
		/* The rest of the line would be silently ignored. */
		cfg_fail(&ps->err, ps->line, "NUL byte in line");
		str[0] = '\0';
		return str;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[')
		cfg_section(ps, s);
	snprintf(str, (size_t)num, "%s\n", s);
	return str;
}

static int cfg_set(struct cfg_parse *ps, const struct cfg_key *keys,
		   size_t nkeys, void *base, int *lines, const char *name,
		   const char *value)
{
	const char *why;
	size_t i;

	for (i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (lines[i] && !cfg_is_list(keys[i].type)) {
			cfg_fail(&ps->err, ps->line,
				 "duplicate key '%s' (first at line %d)",
				 name, lines[i]);
			return 0;
		}
		lines[i] = ps->line;
		if (parse_value(&keys[i], value, base, &why) < 0) {
			if (keys[i].type == CFG_UINT)
				cfg_fail(&ps->err, ps->line,
					 "%s = %s: %s (%u..%u)", name, value,
					 why, keys[i].min, keys[i].max);
			else
				cfg_fail(&ps->err, ps->line, "%s = %s: %s",
					 name, value, why);
			return 0;
		}
		return 1;
	}
	if (ps->sec == SEC_SWITCH)
		cfg_fail(&ps->err, ps->line, "unknown key '%s' in [switch]",
			 name);
	else
		cfg_fail(&ps->err, ps->line, "unknown key '%s' in [port %s]",
			 name, ps->port->name);
	return 0;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct cfg_parse *ps = user;

	(void)section;
	switch (ps->sec) {
	case SEC_NONE:
		cfg_fail(&ps->err, ps->line, "key '%s' outside any section",
			 name);
		return 0;
	case SEC_SWITCH:
		return cfg_set(ps, switch_keys, SWITCH_NKEYS, &ps->c->sw,
			       ps->c->sw.line, name, value);
	case SEC_PORT:
		return cfg_set(ps, port_keys, PORT_NKEYS, ps->port,
			       ps->port->line, name, value);
	case SEC_BAD:
		return 0;	/* already reported at the header */
	}
	return 0;
}

/* Join @dir and @rel (unless @rel is absolute) into @out. */
static int join_path(char *out, size_t size, const char *dir, const char *rel)
{
	int n = rel[0] == '/' ? snprintf(out, size, "%s", rel) :
		snprintf(out, size, "%s/%s", dir, rel);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Keys that belong to one kind of port, on a port of another kind; an
 * uplink without its interface; two uplinks on one interface.
 */
static void config_check_types(struct config *c, struct cfg_error *e)
{
	static const int vhost_only[] = {
		PORT_KEY_socket, PORT_KEY_mode, PORT_KEY_owner,
		PORT_KEY_group, PORT_KEY_perm, PORT_KEY_allow_uid,
	};
	static const int tap_only[] = { PORT_KEY_bridge, PORT_KEY_mtu };
	unsigned int i, j, k;

	for (i = 0; i < c->nports; i++) {
		const struct port_cfg *pc = &c->port[i];

		if (pc->type == TYPE_VHOST_USER) {
			if (pc->line[PORT_KEY_ifname] ||
			    pc->line[PORT_KEY_bridge] ||
			    pc->line[PORT_KEY_mtu]) {
				k = pc->line[PORT_KEY_ifname] ? PORT_KEY_ifname :
				    pc->line[PORT_KEY_bridge] ? PORT_KEY_bridge :
				    PORT_KEY_mtu;
				cfg_fail(e, pc->line[k], "%s is for tap and "
					 "af_packet ports", port_keys[k].name);
				return;
			}
			continue;
		}
		for (k = 0; k < sizeof(vhost_only) / sizeof(vhost_only[0]);
		     k++) {
			if (pc->line[vhost_only[k]]) {
				cfg_fail(e, pc->line[vhost_only[k]], "%s is for "
					 "vhost-user ports",
					 port_keys[vhost_only[k]].name);
				return;
			}
		}
		for (k = 0; pc->type == TYPE_AF_PACKET &&
		     k < sizeof(tap_only) / sizeof(tap_only[0]); k++) {
			if (pc->line[tap_only[k]]) {
				cfg_fail(e, pc->line[tap_only[k]], "%s is for "
					 "tap ports (an af_packet port uses its "
					 "interface as it is)",
					 port_keys[tap_only[k]].name);
				return;
			}
		}
		if (pc->mtu && pc->mtu < 68) {
			cfg_fail(e, pc->line[PORT_KEY_mtu], "mtu = %u: out of "
				 "range (68..65535, or 0 to leave it)", pc->mtu);
			return;
		}
		if (!pc->ifname[0]) {
			cfg_fail(e, pc->section_line, "port %s: type %s needs "
				 "ifname", pc->name, type_names[pc->type]);
			return;
		}
		for (j = 0; j < i; j++) {
			if (c->port[j].type != TYPE_VHOST_USER &&
			    strcmp(c->port[j].ifname, pc->ifname) == 0) {
				cfg_fail(e, pc->line[PORT_KEY_ifname],
					 "port %s: interface %s already used by "
					 "port %s", pc->name, pc->ifname,
					 c->port[j].name);
				return;
			}
		}
	}
}

/* Resolve socket paths and check them against each other. */
static void config_resolve(struct config *c, struct cfg_error *e)
{
	unsigned int i, j;

	if (join_path(c->socket_dir, sizeof(c->socket_dir), c->dir,
		      c->sw.socket_dir) < 0) {
		cfg_fail(e, c->sw.line[SWITCH_KEY_socket_dir],
			 "socket_dir too long");
		return;
	}
	if (c->sw.control[0] &&
	    join_path(c->control, sizeof(c->control), c->socket_dir,
		      c->sw.control) < 0) {
		cfg_fail(e, c->sw.line[SWITCH_KEY_control] ?
			 c->sw.line[SWITCH_KEY_control] :
			 c->sw.line[SWITCH_KEY_socket_dir],
			 "control socket path longer than %zu bytes",
			 VS_SUN_PATH_MAX - 1);
		return;
	}
	for (i = 0; i < c->nports; i++) {
		struct port_cfg *pc = &c->port[i];
		int line = pc->line[PORT_KEY_socket] ? pc->line[PORT_KEY_socket] :
			   pc->section_line;
		char rel[VS_PATH_MAX + 8];

		if (pc->type != TYPE_VHOST_USER)
			continue;
		if (!pc->socket[0]) {	/* the default, shown as such by -t */
			snprintf(rel, sizeof(rel), "%s.sock", pc->name);
			strcpy(pc->socket, rel);
		}
		snprintf(rel, sizeof(rel), "%s", pc->socket);
		if (join_path(pc->path, sizeof(pc->path), c->socket_dir,
			      rel) < 0) {
			cfg_fail(e, line,
				 "port %s: socket path longer than %zu bytes",
				 pc->name, VS_SUN_PATH_MAX - 1);
			return;
		}
		for (j = 0; j < i; j++) {
			if (c->port[j].type == TYPE_VHOST_USER &&
			    strcmp(c->port[j].path, pc->path) == 0) {
				cfg_fail(e, line,
					 "port %s: socket %s already used by port %s",
					 pc->name, pc->path, c->port[j].name);
				return;
			}
		}
		if (c->sw.control[0] && strcmp(pc->path, c->control) == 0) {
			cfg_fail(e, line, "port %s: socket %s is the control "
				 "socket", pc->name, pc->path);
			return;
		}
	}
}

/*
 * config_read - parse the configuration in @f into @c, whose file and dir
 * are already set (relative paths in it are taken from dir).
 * Return: 0, or -1 with @e set (line 0 when the file as a whole is wrong).
 */
static int config_read(FILE *f, struct config *c, struct cfg_error *e)
{
	struct cfg_parse ps = { .c = c, .f = f };
	int r;

	set_defaults(switch_keys, SWITCH_NKEYS, &c->sw);
	r = ini_parse_stream(cfg_reader, &ps, cfg_handler, &ps);
	if (ferror(f))
		cfg_fail(&ps.err, 0, "cannot read: %s", strerror(errno));
	free(ps.buf);
	/* inih reports syntax errors (no '=', no ']') only by line. */
	if (r > 0 && (!ps.err.why[0] || r < ps.err.line)) {
		memset(&ps.err, 0, sizeof(ps.err));
		cfg_fail(&ps.err, r, "syntax error (expected 'key = value')");
	}
	*e = ps.err;
	if (e->why[0])
		return -1;
	if (c->nports == 0) {
		cfg_fail(e, 0, "no [port NAME] section: nothing to switch");
		return -1;
	}
	config_check_types(c, e);
	if (!e->why[0])
		config_resolve(c, e);
	return e->why[0] ? -1 : 0;
}

/* config_load - config_read() on @file. */
static int config_load(const char *file, struct config *c, struct cfg_error *e)
{
	char *slash, *abs;
	FILE *f;
	int r;

	memset(c, 0, sizeof(*c));
	memset(e, 0, sizeof(*e));
	if (strlen(file) >= sizeof(c->file)) {
		cfg_fail(e, 0, "file name too long");
		return -1;
	}
	strcpy(c->file, file);
	strcpy(c->dir, file);
	slash = strrchr(c->dir, '/');
	if (!slash)
		strcpy(c->dir, ".");
	else if (slash == c->dir)
		c->dir[1] = '\0';
	else
		*slash = '\0';
	/* Paths in logs are clearer absolute. */
	abs = realpath(c->dir, NULL);
	if (abs && strlen(abs) < sizeof(c->dir))
		strcpy(c->dir, abs);
	free(abs);

	f = fopen(file, "r");
	if (!f) {
		cfg_fail(e, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	r = config_read(f, c, e);
	fclose(f);
	return r;
}

static void print_cfg_error(const char *file, const struct cfg_error *e)
{
	if (e->line)
		fprintf(stderr, "%s:%d: %s\n", file, e->line, e->why);
	else
		fprintf(stderr, "%s: %s\n", file, e->why);
}

#if VS_SMALL
#pragma GCC pop_options
#endif

/* ------------------------------------------------------------------ */
/* Ports                                                                */
/* ------------------------------------------------------------------ */

struct port {
	bool in_use;
	uint16_t id;			/* slot; also the FDB port number */
	struct port_cfg cfg;

	int listen_fd;			/* server mode */
	uint32_t listen_gen;
	dev_t sock_dev;			/* the socket file we created */
	ino_t sock_ino;

	/* An uplink's device (tap fd or packet socket): see Uplinks. */
	int up_fd;			/* -1 when closed */
	int up_txfd;			/* what frames are sent on: up_fd, or
					 * an af_packet port's second socket */
	uint32_t up_gen;		/* requests of an older fd are stale */
	int ifindex;
	bool created;			/* the tap is ours: closing deletes it */
	bool in_bridge;			/* vswitch made it a port of cfg.bridge */
	bool up_seen;			/* it was up once */
	bool ignore_outgoing;		/* PACKET_IGNORE_OUTGOING took */
	bool bridge_warned;

	int conn_fd;			/* the front-end; -1 when none */
	int connect_fd;			/* client mode: connection attempt */
	uint32_t gen;			/* connection generation */
	struct vu_dev dev;

	/* The message being received: header, then payload. */
	struct vu_msg msg;
	size_t msg_have;
	size_t msg_want;
	int msg_fds[VU_MAX_FDS];
	unsigned int msg_nfds;

	/* Rings (the engine, sw.port[id], forwards their frames). */
	uint64_t kick_buf[VU_NUM_VQ];	/* where a pipe's kick is read */
	uint32_t kick_gen[VU_NUM_VQ];
	int kick_fd[VU_NUM_VQ];
	bool call_pending[VU_NUM_VQ];
	bool call_again[VU_NUM_VQ];
	uint32_t calls[VU_NUM_VQ];
	bool call_failed_logged;

	struct log_limit log[2];	/* warnings, information */

	/* Timer: reconnect (client) or accept retry (server). */
	struct __kernel_timespec timer_ts;
	uint32_t timer_gen;
	bool timer_armed;
	unsigned int backoff_ms;
	bool waiting_logged;
	struct sockaddr_un addr;

	/* What vswitch ctl shows: taken down by it (port PORT disable),
	 * the front-end's credentials while connected, the last warning
	 * or error logged about the port and when, and why its last
	 * connection ended. */
	bool disabled;
	struct ucred peer;
	char last_error[200];
	uint64_t last_error_ms;
	char last_down[120];
};

static struct port ports[VS_MAX_PORTS];

/*
 * What a port slot's recvmsg uses besides the message buffer: one
 * recvmsg at a time. A connection's first recvmsg waits (wanted) while
 * one of a connection that is gone is still in flight (busy), and the
 * area belongs to the slot, not to the port, so that a port a reload
 * sets up in a removed port's slot does not share it either.
 */
static struct recv_area {
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		size_t align;	/* as struct cmsghdr */
	} cbuf;
	bool busy;
	bool wanted;
} recv_areas[VS_MAX_PORTS];
static struct sw sw;			/* the engine: where frames go */
static struct config cfg;
static bool running;		/* past start-up: ports are announced */
static bool stopping;
static bool verbose;		/* -v: debug whatever the file says */

static const char *port_name(const struct port *p)
{
	return p->cfg.name;
}

static struct log_limit *port_log_limit(struct port *p, int level)
{
	return &p->log[level <= LOG_WARN ? 0 : 1];
}

static void port_note_error(struct port *p, const char *msg, size_t n)
{
	if (n >= sizeof(p->last_error))
		n = sizeof(p->last_error) - 1;
	memcpy(p->last_error, msg, n);
	p->last_error[n] = '\0';
	p->last_error_ms = monotonic_ms();
}

/* ------------------------------------------------------------------ */
/* io_uring                                                             */
/* ------------------------------------------------------------------ */

static struct io_uring ring;
static bool uring_multishot_accept = true;
static bool uring_quiet_calls;	/* CQE_SKIP_SUCCESS and CANCEL_ALL */
static unsigned int uring_setup_flags;

/*
 * user_data of every request:
 *   bits 63..56  what the request is (enum ud_type)
 *   bits 55..40  port slot
 *   bits 39..32  ring index
 *   bits 31..0   generation of the object the request belongs to
 * A completion whose generation is no longer current belongs to a
 * connection, fd or timer that is gone; its handler ignores it.
 */
enum ud_type {
	UD_NONE,	/* cancellations: nothing to do */
	UD_ACCEPT,
	UD_CONNECT,
	UD_RECV,
	UD_KICK,
	UD_CALL,
	UD_CALL_QUIET,	/* completes only on error */
	UD_ERR,
	UD_TIMER,	/* per-port timer */
	UD_AGING,	/* FDB ageing */
	UD_HOLD,	/* backpressure deadline */
	UD_SIGNAL,
	UD_LOG,		/* a write of queued log lines */
	UD_UP_RX,	/* an uplink's read or recvmsg; ring field: buffer */
	UD_UP_TX,	/* an uplink's write or send; ring field: buffer */
	UD_CTL_ACCEPT,	/* the control socket's */
	UD_CTL_RECV,	/* a control client's; port field: its slot */
	UD_CTL_SEND,
	UD_CTL_TIMER,	/* control clients' idle deadline */
};

_Static_assert(VS_MAX_PORTS <= 0x10000 && VU_NUM_VQ <= 0x100 &&
	       UD_CTL_TIMER < 0x100, "user_data fields hold their values");

static inline uint64_t ud_pack(enum ud_type t, unsigned int port,
			       unsigned int q, uint32_t gen)
{
	return (uint64_t)t << 56 | (uint64_t)(port & 0xffff) << 40 |
	       (uint64_t)(q & 0xff) << 32 | gen;
}

static inline enum ud_type ud_type(uint64_t ud)
{
	return (enum ud_type)(ud >> 56);
}

static inline unsigned int ud_port(uint64_t ud)
{
	return (unsigned int)(ud >> 40) & 0xffff;
}

static inline unsigned int ud_ring(uint64_t ud)
{
	return (unsigned int)(ud >> 32) & 0xff;
}

static inline uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)ud;
}

/*
 * Completions are taken out of the ring into this queue before they are
 * handled: the loop takes all there are, then handles them in order.
 * Making room for submissions (submit(), below) may take more while
 * handlers run; they queue behind the rest of the turn's.
 */
#ifndef VS_DONE_MAX
#define VS_DONE_MAX (8 * VS_URING_ENTRIES)	/* twice the CQ ring */
#endif
static struct done {
	uint64_t ud;
	int32_t res;
	uint32_t flags;
} done_q[VS_DONE_MAX];
static unsigned int done_head, ndone;

/* Take the ring's completions, as many as the queue has room for. */
static void take_completions(void)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&ring, head, cqe) {
		if (ndone == VS_DONE_MAX)
			break;
		done_q[(done_head + ndone++) % VS_DONE_MAX] = (struct done){
			cqe->user_data, cqe->res, cqe->flags };
		n++;
	}
	io_uring_cq_advance(&ring, n);
}

/*
 * Submit what is queued. A kernel that will not take it now (-EBUSY: its
 * completion ring overflowed and wants room; -EAGAIN, -ENOMEM: short of
 * memory; -EINTR) gets the completions moved out of its way, the
 * overflowed ones flushed in, and two more tries. Return: what
 * io_uring_submit() last returned.
 */
static int submit(void)
{
	int r = io_uring_submit(&ring), tries;

	for (tries = 0; tries < 2 && r < 0; tries++) {
		take_completions();
		io_uring_get_events(&ring);
		take_completions();
		r = io_uring_submit(&ring);
	}
	return r;
}

/*
 * A submission queue entry for @ud. When the queue is full what it
 * holds is submitted first. Return: NULL when the kernel takes nothing
 * even so: the caller gives up that one operation, and says what that
 * costs; the reason is logged here, once until an entry is had again.
 */
static struct io_uring_sqe *get_sqe(uint64_t ud)
{
	static bool failed;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	int r;

	if (!sqe) {
		r = submit();
		sqe = io_uring_get_sqe(&ring);
		if (!sqe) {
			if (!failed) {
				errno = r < 0 ? -r : EBUSY;
				log_warn(NULL, "io_uring takes no more requests");
			}
			failed = true;
			return NULL;
		}
	}
	failed = false;
	io_uring_sqe_set_data64(sqe, ud);
	return sqe;
}

/* A timeout of @ms milliseconds, kept in @ts until it completes.
 * Return: false when it could not be set (see get_sqe). */
static bool prep_timeout_ms(struct __kernel_timespec *ts, unsigned int ms,
			    uint64_t ud)
{
	struct io_uring_sqe *sqe = get_sqe(ud);

	if (!sqe)
		return false;
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long long)(ms % 1000) * 1000000;
	io_uring_prep_timeout(sqe, ts, 0, 0);
	return true;
}

/*
 * Submit what is queued. Called before any fd is closed: a queued request
 * names its fd by number, which must still mean the same file when the
 * kernel looks it up at submission.
 */
static void flush_sq(void)
{
	int r = submit();

	if (r < 0) {
		errno = -r;
		log_warn(NULL, "io_uring_submit before closing a descriptor");
	}
}

/* Write what the log queue holds: one write in flight at a time, from
 * where the queue starts to where it ends or wraps. */
static void log_submit(void)
{
	size_t n = sizeof(logq.buf) - logq.head;
	struct io_uring_sqe *sqe;

	if (logq.writing || !logq.len)
		return;
	sqe = get_sqe(ud_pack(UD_LOG, 0, 0, 0));
	if (!sqe)
		return;		/* tried again next turn */
	if (n > logq.len)
		n = logq.len;
	/* Offset -1: the file position, for a stderr that is a file. */
	io_uring_prep_write(sqe, STDERR_FILENO, logq.buf + logq.head,
			    (unsigned int)n, (uint64_t)-1);
	logq.writing = n;
}

/* Lines of log in @n queued bytes from @off. */
static uint64_t log_lines(size_t off, size_t n)
{
	uint64_t lines = 0;

	while (n--) {
		lines += logq.buf[off] == '\n';
		off = (off + 1) % sizeof(logq.buf);
	}
	return lines;
}

static void on_log_written(int res)
{
	logq.writing = 0;
	if (res == -EINTR || res == -EAGAIN || res == -ECANCELED)
		return;		/* tried again from the next turn */
	if (res < 0) {
		/* stderr is gone or refuses (closed pipe, full disk):
		 * what waits is dropped, later lines are tried anew. */
		uint64_t lost = log_lines(logq.head, logq.len);

		logq.dropped += lost;
		logq.total_dropped += lost;
		logq.head = logq.len = 0;
		return;
	}
	logq.head = (logq.head + (size_t)res) % sizeof(logq.buf);
	logq.len -= (size_t)res;
}

/*
 * At exit: the log queue's last lines, written at once. A write still
 * in flight is waited for, and a stderr nobody reads is waited for, but
 * not for ever: vswitch stops all the same.
 */
static void log_finish(void)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;
	struct pollfd pfd = { STDERR_FILENO, POLLOUT, 0 };

	for (; ndone; ndone--, done_head = (done_head + 1) % VS_DONE_MAX)
		if (ud_type(done_q[done_head].ud) == UD_LOG)
			on_log_written(done_q[done_head].res);
	io_uring_submit(&ring);
	while (logq.writing &&
	       io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
		if (ud_type(io_uring_cqe_get_data64(cqe)) == UD_LOG)
			on_log_written(cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	logq.queue = false;
	if (logq.writing)
		return;		/* stuck: the rest cannot follow it */
	while (logq.len && poll(&pfd, 1, 1000) == 1) {
		size_t n = sizeof(logq.buf) - logq.head;
		ssize_t w;

		if (n > logq.len)
			n = logq.len;
		if (n > PIPE_BUF)
			n = PIPE_BUF;	/* fits the room POLLOUT promises */
		w = write(STDERR_FILENO, logq.buf + logq.head, n);
		if (w <= 0)
			break;
		logq.head = (logq.head + (size_t)w) % sizeof(logq.buf);
		logq.len -= (size_t)w;
	}
}

/* Cancel the request @ud. Without room for it (see get_sqe) the request
 * runs its course; its completion is stale and ignored when it comes. */
static void cancel(uint64_t ud, int flags)
{
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_NONE, 0, 0, 0));

	if (sqe)
		io_uring_prep_cancel64(sqe, ud, flags);
}

/* ------------------------------------------------------------------ */
/* The engine's I/O and the SIGBUS guard                              */
/* ------------------------------------------------------------------ */

/* Cancel ring @q's interrupt writes still in flight: one that blocks (a
 * full pipe nobody reads) would otherwise wait for ever, and hold back
 * the ones after it. */
static void cancel_calls(struct port *p, unsigned int q)
{
	if (p->call_pending[q])
		cancel(ud_pack(UD_CALL, p->id, q, p->gen), 0);
	if (uring_quiet_calls)
		cancel(ud_pack(UD_CALL_QUIET, p->id, q, p->gen),
		       IORING_ASYNC_CANCEL_ALL);
}

static void signal_ring(struct port *p, unsigned int q)
{
	static const uint64_t one = 1;
	int fd = p->dev.vq[q].call_fd;
	struct io_uring_sqe *sqe;
	bool quiet;

	if (fd < 0)
		return;
	/* While a waited-for write is in flight, a later one follows it. */
	if (p->call_pending[q]) {
		p->call_again[q] = true;
		return;
	}
	/*
	 * Most writes complete at once and post nothing (a completion would
	 * cost the loop one more trip into the kernel per wake-up). Every
	 * VS_CALL_CHECK-th is waited for: a call fd that blocks (a full
	 * pipe, a saturated eventfd) holds at most that many writes before
	 * the ring's interrupts pause behind it.
	 */
	quiet = uring_quiet_calls && ++p->calls[q] % VS_CALL_CHECK;
	sqe = get_sqe(ud_pack(quiet ? UD_CALL_QUIET : UD_CALL, p->id, q,
			      p->gen));
	if (!sqe)
		return;		/* this interrupt is lost; the next one goes */
	io_uring_prep_write(sqe, fd, &one, sizeof(one), 0);
	if (quiet)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	else
		p->call_pending[q] = true;
}

static struct __kernel_timespec hold_ts, aging_ts;

static void op_sw_signal(void *opaque, unsigned int port, unsigned int q)
{
	(void)opaque;
	signal_ring(&ports[port], q);
}

/* A port broke: tell the front-end on the ring's error fd, if it gave
 * one; the loop disconnects it at the end of its turn (reap_broken). */
static void op_sw_broken(void *opaque, unsigned int port, unsigned int q)
{
	static const uint64_t one = 1;
	struct port *p = &ports[port];
	int fd;

	(void)opaque;
	q = q < VU_NUM_VQ ? q : VU_RX;
	fd = p->dev.vq[q].err_fd;
	if (fd >= 0) {
		struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_ERR, p->id, q,
							   p->gen));

		if (sqe)
			io_uring_prep_write(sqe, fd, &one, sizeof(one), 0);
	}
}

static bool op_sw_arm_timer(void *opaque, enum sw_timer t, unsigned int ms)
{
	(void)opaque;
	return t == SW_TIMER_HOLD ?
	       prep_timeout_ms(&hold_ts, ms, ud_pack(UD_HOLD, 0, 0, 0)) :
	       prep_timeout_ms(&aging_ts, ms, ud_pack(UD_AGING, 0, 0, 0));
}

static void op_sw_log(void *opaque, int port, enum sw_log_level level,
		      const char *line)
{
	struct port *p = port >= 0 ? &ports[port] : NULL;

	(void)opaque;
	switch (level) {
	case SW_LOG_WARN:
		log_warnx(p, "%s", line);
		break;
	case SW_LOG_INFO:
		log_info(p, "%s", line);
		break;
	case SW_LOG_DEBUG:
		log_debug(p, "%s", line);
		break;
	}
}

static void *op_sw_uplink_buf(void *opaque, unsigned int port, size_t len);
static void op_sw_uplink_send(void *opaque, unsigned int port, void *buf,
			      size_t len);
static void op_sw_uplink_drop(void *opaque, unsigned int port, void *buf);
static void op_sw_fdb_event(void *opaque, enum sw_fdb_event ev,
			    unsigned int port, uint16_t vlan,
			    const uint8_t *mac);
static void ctl_port_event(const char *event, const struct port *p,
			   const char *why);

static const struct sw_ops sw_ops = {
	.signal = op_sw_signal,
	.broken = op_sw_broken,
	.arm_timer = op_sw_arm_timer,
	.log = op_sw_log,
	.uplink_buf = op_sw_uplink_buf,
	.uplink_send = op_sw_uplink_send,
	.uplink_drop = op_sw_uplink_drop,
	.fdb_event = op_sw_fdb_event,
};

/*
 * Guest memory can vanish under a mapping: a front-end that shrinks the
 * file behind a region makes the next access to it fault with SIGBUS.
 * Code that touches guest memory runs guarded: a sigsetjmp() point the
 * SIGBUS handler jumps back to. guard_recover() has the engine break the
 * port whose mapping faulted (sw_fault) and give back what its burst held
 * of other ports' rings; the guarded code then runs again, and the engine
 * goes on where it was without the broken port, so a fault costs exactly
 * one port and the loop always ends. A SIGBUS outside a guard, or in no
 * port's memory, is a bug: the process dies of it.
 *
 * The rule that makes "runs again" safe: once a port is broken, nothing
 * touches its rings. sw_break() breaks both rings at vring level, and a
 * broken ring's vring_* calls touch no guest memory (vring.h,
 * vring_break); chains taken before the fault are given back or dropped
 * by sw_fault(), never read again.
 *
 * Every place the data path touches guest memory, all inside a guard
 * (run_ports() for forwarding, handle_message() for ring set-up), and the
 * test that takes the memory away from under exactly it (faults.c, each
 * with and without EVENT_IDX, as sender and as receiver):
 *   avail idx and ring entries  vring_avail, vring_pop, vring_kick_enable
 *                               (idx re-read), prefetch_ahead   *_avail_ring_*
 *   used_event (EVENT_IDX)      vring_publish                   *_used_event_*
 *   avail->flags (no EVENT_IDX) vring_publish                   *_avail_ring_*
 *   descriptor table            vring_pop, prefetch_ahead       *_descriptor_table_*
 *   indirect tables             vring_pop                       *_indirect_tables_*
 *   used idx, entries           vring_push, vring_publish       *_used_ring_*
 *   used idx at ring start      vring_setup                     *_restarted_after_*
 *   used->flags (no EVENT_IDX)  vring_kick_disable/_enable      *_used_ring_*
 *   avail_event (EVENT_IDX)     vring_kick_enable               *_avail_event_*
 *   TX buffers                  forward_frame (Ethernet header),
 *                               deliver (the rest)              sender_buffers_*
 *   RX buffers                  deliver                         receiver_buffers_*
 *   virtio-net header           deliver writes a receiver's     receiver_headers_*;
 *                               (a sender's is not read)        sender_headers_* works
 *   RARP                        send_rarp -> deliver            rarp_*
 * (forward_frame, deliver and send_rarp are in proto/switch.c.)
 */
static sigjmp_buf guard_env;
static volatile sig_atomic_t guard_on;
static void *volatile guard_addr;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!guard_on) {
		/* Not a guest's doing: let the retried access kill us. */
		signal(sig, SIG_DFL);
		return;
	}
	guard_on = 0;
	guard_addr = si->si_addr;
	siglongjmp(guard_env, 1);
}

/* After a fault: the engine breaks the port it came from and hands back
 * the other ports' chains. Return: the port. */
static struct port *guard_recover(void)
{
	int bad = sw_fault(&sw, guard_addr);

	if (bad < 0) {
		log_errx(NULL, "SIGBUS at %p, outside guest memory", guard_addr);
		abort();
	}
	return &ports[bad];
}

/* Run each port with work left once, guarded; more remains for the next
 * turn. */
static void run_ports(void)
{
	guard_on = 1;
	if (sigsetjmp(guard_env, 0)) {
		guard_recover();
		guard_on = 1;
	}
	sw_run(&sw);
	guard_on = 0;
}

/* ------------------------------------------------------------------ */
/* Connections and the vhost-user device                                */
/* ------------------------------------------------------------------ */

static void arm_recv(struct port *p)
{
	struct recv_area *ra = &recv_areas[p->id];
	struct io_uring_sqe *sqe;
	size_t hdr = sizeof(p->msg.hdr);

	if (ra->busy) {
		ra->wanted = true;
		return;
	}
	sqe = get_sqe(ud_pack(UD_RECV, p->id, 0, p->gen));
	if (!sqe) {
		sw_break(&sw, p->id, VU_NUM_VQ, "cannot receive its messages "
			 "(io_uring full)");
		return;
	}
	if (p->msg_have < hdr) {
		ra->iov.iov_base = (uint8_t *)&p->msg.hdr + p->msg_have;
		ra->iov.iov_len = hdr - p->msg_have;
	} else {
		ra->iov.iov_base = p->msg.payload.raw + (p->msg_have - hdr);
		ra->iov.iov_len = p->msg_want - p->msg_have;
	}
	memset(&ra->mh, 0, sizeof(ra->mh));
	ra->mh.msg_iov = &ra->iov;
	ra->mh.msg_iovlen = 1;
	ra->mh.msg_control = ra->cbuf.buf;
	ra->mh.msg_controllen = sizeof(ra->cbuf.buf);
	io_uring_prep_recvmsg(sqe, p->conn_fd, &ra->mh, MSG_CMSG_CLOEXEC);
	ra->busy = true;
}

/*
 * Watch a ring's kick fd. An eventfd is polled with one multishot poll
 * (5.13+) and never read: each kick, an eventfd write, wakes the poll and
 * posts one completion, with nothing to submit again, and the count it
 * leaves behind is harmless (polling back-ends never read it either). A
 * pipe has to be drained, so it is read, one kick per read.
 */
static void arm_kick(struct port *p, unsigned int q)
{
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_KICK, p->id, q,
						   p->kick_gen[q]));

	if (!sqe) {
		sw_break(&sw, p->id, q,
			 "cannot watch its kick fd (io_uring full)");
		return;
	}
	if (p->dev.vq[q].kick_pipe)
		io_uring_prep_read(sqe, p->kick_fd[q], &p->kick_buf[q],
				   sizeof(p->kick_buf[q]), 0);
	else
		io_uring_prep_poll_multishot(sqe, p->kick_fd[q], POLLIN);
}

/*
 * Ring @q's call fd changed. Writes still waiting on the old one are
 * cancelled, and one interrupt follows on the new one if any was held
 * back by them.
 */
static void op_set_call(void *opaque, unsigned int q, int fd)
{
	struct port *p = opaque;

	(void)fd;
	if (p->call_pending[q])
		p->call_again[q] = true;
	cancel_calls(p, q);
}

static void arm_timer(struct port *p, unsigned int ms)
{
	if (p->timer_armed)
		return;
	p->timer_armed = prep_timeout_ms(&p->timer_ts, ms,
					 ud_pack(UD_TIMER, p->id, 0,
						 p->timer_gen));
	if (!p->timer_armed)
		log_errx(p, "no timer for the next %s: it waits for a reload "
			 "or a restart", p->cfg.mode == MODE_CLIENT ?
			 "connection attempt" : "accept");
}

static void op_watch_kick(void *opaque, unsigned int q, int fd)
{
	struct port *p = opaque;

	if (p->kick_fd[q] >= 0)
		cancel(ud_pack(UD_KICK, p->id, q, p->kick_gen[q]), 0);
	p->kick_gen[q]++;
	p->kick_fd[q] = fd;
	if (fd >= 0)
		arm_kick(p, q);
}

static void op_up(void *opaque)
{
	struct port *p = opaque;
	const struct vu_dev *d = &p->dev;

	log_info(p, "up: %u queue pair, rings of %u/%u, %u memory region%s, "
		 "features 0x%llx%s", VU_QUEUE_PAIRS, d->vq[VU_RX].num,
		 d->vq[VU_TX].num, d->mem.nregions,
		 d->mem.nregions == 1 ? "" : "s",
		 (unsigned long long)d->features,
		 d->mtu ? "" : ", no MTU set");
	sw_up(&sw, p->id);
	ctl_port_event("up", p, NULL);
}

static void op_down(void *opaque)
{
	struct port *p = opaque;
	uint32_t n = sw_down(&sw, p->id);

	log_info(p, "down (%u learned address%s forgotten)", n,
		 n == 1 ? "" : "es");
	ctl_port_event("down", p, NULL);
}

static void op_rarp(void *opaque, const uint8_t mac[6])
{
	struct port *p = opaque;

	log_info(p, "announcing %02x:%02x:%02x:%02x:%02x:%02x (RARP)",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	sw_rarp(&sw, p->id, mac);
}

static void op_notice(void *opaque, const char *msg)
{
	log_info(opaque, "%s", msg);
}

static const struct vu_ops port_ops = {
	.watch_kick = op_watch_kick,
	.set_call = op_set_call,
	.up = op_up,
	.down = op_down,
	.rarp = op_rarp,
	.notice = op_notice,
};

static void start_connect(struct port *p);

static void schedule_retry(struct port *p, int err)
{
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : VS_BACKOFF_MIN_MS;
	if (p->backoff_ms > VS_BACKOFF_MAX_MS)
		p->backoff_ms = VS_BACKOFF_MAX_MS;
	if (!p->waiting_logged) {
		log_info(p, "waiting for the front-end at %s (%s)",
			 p->cfg.path, strerror(err));
		p->waiting_logged = true;
	} else {
		log_debug(p, "connect: %s; retrying in %u ms", strerror(err),
			  p->backoff_ms);
	}
	arm_timer(p, p->backoff_ms);
}

static void msg_reset(struct port *p)
{
	unsigned int i;

	for (i = 0; i < p->msg_nfds; i++)
		close(p->msg_fds[i]);
	p->msg_nfds = 0;
	p->msg_have = 0;
	p->msg_want = sizeof(p->msg.hdr);
}

/* Is the peer on @fd a user the port's allow_uid list admits? */
static bool peer_allowed(struct port *p, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	unsigned int i;

	if (!p->cfg.allow_uid.n)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn(p, "reading the front-end's credentials");
		return false;
	}
	for (i = 0; i < p->cfg.allow_uid.n; i++)
		if (p->cfg.allow_uid.id[i] == cred.uid)
			return true;
	log_warnx(p, "refusing a front-end running as uid %u (pid %d): not in "
		  "allow_uid", (unsigned int)cred.uid, (int)cred.pid);
	return false;
}

static void port_connected(struct port *p, int fd)
{
	socklen_t len = sizeof(p->peer);
	unsigned int q;

	p->conn_fd = fd;
	p->gen++;
	sw_forget(&sw, p->id);		/* what a previous front-end left */
	p->backoff_ms = 0;
	p->waiting_logged = false;
	p->call_failed_logged = false;
	for (q = 0; q < VU_NUM_VQ; q++) {
		p->call_pending[q] = false;
		p->call_again[q] = false;
	}
	msg_reset(p);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &p->peer, &len) < 0)
		memset(&p->peer, 0, sizeof(p->peer));
	log_info(p, "front-end connected (pid %d, uid %u)", (int)p->peer.pid,
		 (unsigned int)p->peer.uid);
	ctl_port_event("connect", p, NULL);
	arm_recv(p);
}

/* Close the connection and forget everything the front-end set up. */
static void disconnect(struct port *p, const char *why)
{
	unsigned int q;

	if (p->conn_fd < 0)
		return;
	cancel(ud_pack(UD_RECV, p->id, 0, p->gen), 0);
	recv_areas[p->id].wanted = false;
	/* A write to a call or error fd that never drains (a pipe nobody
	 * reads) would otherwise hold it open for ever. */
	for (q = 0; q < VU_NUM_VQ; q++) {
		cancel_calls(p, q);
		cancel(ud_pack(UD_ERR, p->id, q, p->gen), 0);
	}
	flush_sq();
	vu_dev_reset(&p->dev);
	msg_reset(p);
	flush_sq();
	close(p->conn_fd);
	p->conn_fd = -1;
	p->gen++;
	sw_forget(&sw, p->id);
	snprintf(p->last_down, sizeof(p->last_down), "%s",
		 why ? why : "connection closed");
	if (why)
		log_info(p, "front-end disconnected: %s", why);
	else
		log_info(p, "front-end disconnected");
	ctl_port_event("disconnect", p, p->last_down);
	if (p->cfg.mode == MODE_CLIENT && !stopping && !p->disabled)
		arm_timer(p, VS_BACKOFF_MIN_MS);
}

static void send_reply(struct port *p, const struct vu_msg *reply)
{
	struct iovec iov[2] = {
		{ (void *)&reply->hdr, sizeof(reply->hdr) },
		{ (void *)reply->payload.raw, reply->hdr.size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t len = sizeof(reply->hdr) + reply->hdr.size;
	ssize_t n;

	/* Replies are a few bytes and the front-end waits for them: the
	 * socket buffer has room unless the peer stopped reading. */
	n = sendmsg(p->conn_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)len) {
		if (n < 0)
			log_warn(p, "sending the %s reply",
				 vu_request_name(reply->hdr.request));
		else
			log_warnx(p, "short %s reply",
				  vu_request_name(reply->hdr.request));
		sw_break(&sw, p->id, VU_NUM_VQ, "cannot send replies");
	}
}

static void handle_message(struct port *p)
{
	struct vu_msg reply;
	uint32_t req = p->msg.hdr.request;
	unsigned int nfds = p->msg_nfds;
	int err;

	if (log_level >= LOG_DEBUG) {
		char what[900];

		vu_msg_describe(&p->msg, what, sizeof(what));
		log_debug(p, "%s%s%s (%u bytes, %u fd%s)", vu_request_name(req),
			  what[0] ? ": " : "", what, p->msg.hdr.size, nfds,
			  nfds == 1 ? "" : "s");
	}
	/* The message may close fds that queued requests name. */
	flush_sq();
	/* Setting up rings reads the guest's memory: guarded. A fault
	 * leaves the device half set up: drop the connection. */
	guard_on = 1;
	if (sigsetjmp(guard_env, 0)) {
		guard_recover();
		disconnect(p, NULL);
		return;
	}
	err = vu_dev_handle(&p->dev, &p->msg, p->msg_fds, nfds, &reply);
	guard_on = 0;
	p->msg_nfds = 0;	/* vu_dev_handle consumed them */
	if (reply.hdr.request)
		send_reply(p, &reply);
	if (err) {
		log_warnx(p, "%s: %s; closing the connection",
			  vu_request_name(req), p->dev.why);
		disconnect(p, NULL);
		return;
	}
	if (sw_port_broken(&sw, p->id)) {
		disconnect(p, sw_port_broken(&sw, p->id));
		return;
	}
	msg_reset(p);
	arm_recv(p);
}

/*
 * Take the descriptors a completed recvmsg on @mh brought: up to @max
 * into @fds (counted in *@nfds), the others closed. Return: -1 when some
 * had to be closed.
 */
static int take_fds(struct msghdr *mh, int *fds, unsigned int *nfds,
		    unsigned int max)
{
	struct cmsghdr *c;
	int bad = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int *in = (int *)(void *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			if (*nfds < max) {
				fds[(*nfds)++] = in[i];
			} else {
				close(in[i]);
				bad = -1;
			}
		}
	}
	return bad;
}

/*
 * A recvmsg of a connection that is gone completed. What it brought is
 * dropped, descriptors closed; the current connection's first recvmsg,
 * which waited for the buffers, goes out now.
 */
static void on_stale_recv(struct port *p, int res)
{
	struct recv_area *ra = &recv_areas[p->id];
	unsigned int n = 0;

	if (res > 0)
		take_fds(&ra->mh, NULL, &n, 0);
	if (ra->wanted) {
		ra->wanted = false;
		if (p->in_use && p->conn_fd >= 0)
			arm_recv(p);
	}
}

static void on_recv(struct port *p, int res)
{
	const char *why;
	bool first = p->msg_have == 0;
	unsigned int had = p->msg_nfds;

	if (res == 0 && p->msg_have) {
		log_warnx(p, "connection closed in the middle of a message "
			  "(%zu of %zu bytes)", p->msg_have, p->msg_want);
		disconnect(p, NULL);
		return;
	}
	if (res <= 0) {
		disconnect(p, res == 0 ? "connection closed" :
			   strerror(-res));
		return;
	}
	if (take_fds(&recv_areas[p->id].mh, p->msg_fds, &p->msg_nfds,
		     VU_MAX_FDS) < 0 ||
	    (recv_areas[p->id].mh.msg_flags & MSG_CTRUNC)) {
		log_warnx(p, "message with more than %u file descriptors; "
			  "closing the connection", VU_MAX_FDS);
		disconnect(p, NULL);
		return;
	}
	if (!first && p->msg_nfds != had) {
		log_warnx(p, "file descriptors in the middle of a message; "
			  "closing the connection");
		disconnect(p, NULL);
		return;
	}
	p->msg_have += (size_t)res;
	if (p->msg_have == sizeof(p->msg.hdr) &&
	    p->msg_want == sizeof(p->msg.hdr)) {
		if (vu_check_header(&p->msg.hdr, &why) < 0) {
			log_warnx(p, "request %u (%s), %u bytes: %s; closing "
				  "the connection", p->msg.hdr.request,
				  vu_request_name(p->msg.hdr.request),
				  p->msg.hdr.size, why);
			disconnect(p, NULL);
			return;
		}
		p->msg_want += p->msg.hdr.size;
	}
	if (p->msg_have < p->msg_want) {
		arm_recv(p);
		return;
	}
	handle_message(p);
}

static void on_kick(struct port *p, unsigned int q, uint32_t gen, int res,
		    unsigned int flags)
{
	if (gen != p->kick_gen[q]) {
		/* From a ring's previous kick fd: the front-end may reuse
		 * the same eventfd, so treat it as a kick. */
		if (res > 0 && q == VU_TX)
			sw_kick(&sw, p->id, VU_TX);
		return;
	}
	if (res <= 0) {
		if (res != -ECANCELED)
			sw_break(&sw, p->id, q, res == 0 ?
				 "kick fd at end of file" :
				 p->dev.vq[q].kick_pipe ?
				 "kick fd read failed" : "kick fd poll failed");
		return;
	}
	/* A read, or a multishot poll the kernel ended (a full completion
	 * queue ends it), is submitted again. */
	if (!(flags & IORING_CQE_F_MORE))
		arm_kick(p, q);
	sw_kick(&sw, p->id, q);
}

static void on_call_done(struct port *p, unsigned int q, uint32_t gen,
			 int res, bool quiet)
{
	if (gen != p->gen)
		return;
	if (!quiet)
		p->call_pending[q] = false;
	/* Cancelled (its fd was replaced): no failure. */
	if (res < 0 && res != -ECANCELED && res != -EINTR &&
	    !p->call_failed_logged) {
		errno = -res;
		log_warn(p, "interrupting the guest (ring %u)", q);
		p->call_failed_logged = true;
	}
	if (!quiet && p->call_again[q]) {
		p->call_again[q] = false;
		signal_ring(p, q);
	}
}

/* ------------------------------------------------------------------ */
/* Uplinks: TAP devices and AF_PACKET sockets                           */
/* ------------------------------------------------------------------ */

/*
 * An uplink is the kernel's side of the switch: a TAP device (vswitch
 * creates it, or attaches to a persistent one) or an AF_PACKET socket on
 * an existing interface (a NIC, a veth). Frames cross in both directions
 * through the io_uring loop: VS_UP_RX reads (or recvmsgs) are in flight
 * at any time, each into a buffer of the port's pool, and a frame for the
 * uplink is copied by the engine into a free buffer of the pool and
 * written from there (so the guest's buffer is free at once, and no
 * write ever reads guest memory that may be unmapped before it runs).
 * Buffers belong to the port's slot and stay allocated; one is reused
 * only once the kernel gave back the request that used it. Each frame
 * comes with a virtio-net header (IFF_VNET_HDR, PACKET_VNET_HDR) that
 * says what the kernel did or left to do (a checksum to complete, a
 * segmented frame).
 *
 * An interface that goes away or down costs its port only: the port goes
 * down (one line), and vswitch tries again with back-off until it is
 * back. A tap vswitch created is deleted when it closes it.
 */
#ifndef VS_UP_RX
#define VS_UP_RX 16		/* receive requests in flight per uplink */
#endif
#ifndef VS_UP_TX
#define VS_UP_TX 64		/* frames being written per uplink */
#endif
/* Room for a tag put back (af_packet), a virtio-net header, a frame. */
#define VS_UP_HEADROOM 4
#define VS_UP_BUF (VS_UP_HEADROOM + 12 + SW_MAX_FRAME + 8)
#define VS_TAP_VNET_HLEN 12	/* TUNSETVNETHDRSZ: as with MRG_RXBUF */
#define VS_PACKET_VNET_HLEN 10	/* PACKET_VNET_HDR's, fixed */

_Static_assert(VS_UP_RX <= 32 && VS_UP_TX <= 64,
	       "buffers in use are bits of a uint32_t and a uint64_t");

struct uplink_pool {
	uint8_t rx[VS_UP_RX][VS_UP_BUF];
	uint8_t tx[VS_UP_TX][VS_UP_BUF];
	uint32_t rx_busy;		/* a request in flight uses it */
	uint64_t tx_busy;
	/* af_packet: what each recvmsg fills in besides the frame. */
	struct msghdr mh[VS_UP_RX];
	struct iovec iov[VS_UP_RX];
	struct sockaddr_ll sll[VS_UP_RX];
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} cm[VS_UP_RX];
};

static struct uplink_pool *pools[VS_MAX_PORTS];

static bool is_uplink(const struct port *p)
{
	return p->cfg.type != TYPE_VHOST_USER;
}

#if VS_SMALL
#pragma GCC push_options
#pragma GCC optimize("Os")
#endif

/* An ioctl on interface @name with @ifr (whose name it fills in). */
static int if_ioctl(unsigned long req, const char *name, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	r = ioctl(fd, req, ifr);
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* Is interface @name there, and up? Return: 1 up, 0 down, -1 gone. */
static int if_state(const char *name)
{
	struct ifreq ifr = { 0 };

	if (if_ioctl(SIOCGIFFLAGS, name, &ifr) < 0)
		return -1;
	return (ifr.ifr_flags & IFF_UP) != 0;
}

/*
 * Open a TAP device for @p: attach to the persistent tap of that name,
 * or create one (deleted again when vswitch closes it). Return: 0, or
 * -1 with *why set.
 */
static int tap_open(struct port *p, const char **why)
{
	static char msg[160];
	struct ifreq ifr = { 0 };
	int fd, hlen = VS_TAP_VNET_HLEN, le = 1;
	bool existed = if_nametoindex(p->cfg.ifname) != 0;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "/dev/net/tun: %s", strerror(errno));
		*why = msg;
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->cfg.ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(msg, sizeof(msg), "%s", errno == EINVAL || errno == EBUSY ?
			 "exists and is not a tap vswitch can attach to" :
			 strerror(errno));
		goto fail;
	}
	/* Headers little-endian whatever the host: TUNSETVNETLE (needed on
	 * big-endian hosts only, where it must work). With offload, the
	 * kernel leaves checksums and segmentation of the frames it hands
	 * over to the switch (which does them for receivers that do not
	 * take that). */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hlen) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD,
		  (unsigned long)(p->cfg.offload ? TUN_F_CSUM | TUN_F_TSO4 |
				  TUN_F_TSO6 | TUN_F_TSO_ECN : 0)) < 0 ||
	    (ioctl(fd, TUNSETVNETLE, &le) < 0 &&
	     __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)) {
		snprintf(msg, sizeof(msg), "setting up its headers: %s",
			 strerror(errno));
		goto fail;
	}
	p->created = !existed;
	if (p->cfg.mtu) {
		struct ifreq m = { .ifr_mtu = (int)p->cfg.mtu };

		if (if_ioctl(SIOCSIFMTU, p->cfg.ifname, &m) < 0) {
			snprintf(msg, sizeof(msg), "mtu %u: %s", p->cfg.mtu,
				 strerror(errno));
			goto fail;
		}
	}
	/* Set up once: later opens (the tap came back) leave it as the
	 * operator has it, unless vswitch made it again. */
	if (p->created || !p->up_seen) {
		struct ifreq f = { 0 };

		if (if_ioctl(SIOCGIFFLAGS, p->cfg.ifname, &f) < 0 ||
		    (f.ifr_flags |= IFF_UP,
		     if_ioctl(SIOCSIFFLAGS, p->cfg.ifname, &f) < 0)) {
			snprintf(msg, sizeof(msg), "setting it up: %s",
				 strerror(errno));
			goto fail;
		}
	}
	p->up_fd = p->up_txfd = fd;
	if (p->cfg.bridge[0]) {
		struct ifreq b = { .ifr_ifindex =
				   (int)if_nametoindex(p->cfg.ifname) };

		if (if_ioctl(SIOCBRADDIF, p->cfg.bridge, &b) == 0)
			p->in_bridge = true;
		else if (errno != EBUSY)
			log_warn(p, "adding %s to bridge %s", p->cfg.ifname,
				 p->cfg.bridge);
	}
	return 0;
fail:
	close(fd);
	*why = msg;
	return -1;
}

/*
 * Open an AF_PACKET socket on @p's interface: promiscuous, with virtio-net
 * headers and the VLAN tags the NIC stripped (auxdata), not seeing what it
 * sends itself. Return: 0, 1 when the interface is not there or not up
 * (try again later), or -1 with *why set.
 */
static int packet_open(struct port *p, const char **why)
{
	static char msg[160];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd, txfd, one = 1, state = if_state(p->cfg.ifname);
	char path[64 + VS_IFNAME_MAX];

	if (state < 1)
		return 1;
	sll.sll_ifindex = (int)if_nametoindex(p->cfg.ifname);
	mr.mr_ifindex = sll.sll_ifindex;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "packet socket: %s", strerror(errno));
		*why = msg;
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
		       sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one,
		       sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		       sizeof(mr)) < 0) {
		int e = errno;

		close(fd);
		if (e == ENODEV || e == ENXIO || e == ENETDOWN)
			return 1;
		snprintf(msg, sizeof(msg), "%s", strerror(e));
		*why = msg;
		return -1;
	}
	/* Linux 4.20+; before it, outgoing frames are told apart by their
	 * packet type (on_up_rx). */
	p->ignore_outgoing = setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING,
					&one, sizeof(one)) == 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/brport",
		 p->cfg.ifname);
	if (!p->bridge_warned && access(path, F_OK) == 0) {
		log_warnx(p, "%s is a port of a Linux bridge: frames the bridge "
			  "forwards there reach vswitch as well", p->cfg.ifname);
		p->bridge_warned = true;
	}
	/* Frames go out through a socket of their own that receives
	 * nothing: each one sent wakes the socket's waiters when the
	 * kernel frees it, and the receiving socket always has one (its
	 * pending read). */
	txfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	sll.sll_protocol = 0;
	if (txfd < 0 ||
	    setsockopt(txfd, SOL_PACKET, PACKET_VNET_HDR, &one,
		       sizeof(one)) < 0 ||
	    bind(txfd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;

		if (txfd >= 0)
			close(txfd);
		close(fd);
		if (e == ENODEV || e == ENXIO || e == ENETDOWN)
			return 1;
		snprintf(msg, sizeof(msg), "sending socket: %s", strerror(e));
		*why = msg;
		return -1;
	}
	p->up_fd = fd;
	p->up_txfd = txfd;
	return 0;
}

#if VS_SMALL
#pragma GCC pop_options
#endif

static struct uplink_pool *pool_of(const struct port *p)
{
	return pools[p->id];
}

/* Read the next frame into receive buffer @k, unless it is in use. */
static void arm_up_rx(struct port *p, unsigned int k)
{
	struct uplink_pool *pl = pool_of(p);
	struct io_uring_sqe *sqe;
	uint8_t *buf = pl->rx[k] + VS_UP_HEADROOM;
	size_t len = VS_UP_BUF - VS_UP_HEADROOM;

	if (pl->rx_busy >> k & 1)
		return;
	sqe = get_sqe(ud_pack(UD_UP_RX, p->id, k, p->up_gen));
	if (!sqe)
		return;		/* one reader fewer until the port reopens */
	if (p->cfg.type == TYPE_TAP) {
		io_uring_prep_read(sqe, p->up_fd, buf, (unsigned int)len,
				   (uint64_t)-1);
	} else {
		pl->iov[k] = (struct iovec){ buf, len };
		pl->mh[k] = (struct msghdr){
			.msg_name = &pl->sll[k],
			.msg_namelen = sizeof(pl->sll[k]),
			.msg_iov = &pl->iov[k], .msg_iovlen = 1,
			.msg_control = pl->cm[k].buf,
			.msg_controllen = sizeof(pl->cm[k].buf),
		};
		io_uring_prep_recvmsg(sqe, p->up_fd, &pl->mh[k], 0);
	}
	pl->rx_busy |= 1u << k;
}

#if VS_SMALL
#pragma GCC push_options
#pragma GCC optimize("Os")
#endif

static void uplink_retry(struct port *p)
{
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : VS_BACKOFF_MIN_MS;
	if (p->backoff_ms > VS_BACKOFF_MAX_MS)
		p->backoff_ms = VS_BACKOFF_MAX_MS;
	arm_timer(p, p->backoff_ms);
}

/*
 * Open @p's uplink and start it. Return: 0 (up, or waiting for its
 * interface with a retry armed), or -1 with *why set (it cannot work as
 * configured: a start-up error).
 */
static int uplink_open(struct port *p, const char **why)
{
	struct ifreq m = { 0 };
	unsigned int k;
	int r;

	if (!pools[p->id]) {
		void *m0 = mmap(NULL, sizeof(struct uplink_pool),
				PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);

		if (m0 == MAP_FAILED) {
			*why = "no memory for its buffers";
			return -1;
		}
		pools[p->id] = m0;
	}
	r = p->cfg.type == TYPE_TAP ? tap_open(p, why) : packet_open(p, why);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (!p->waiting_logged)
			log_info(p, "waiting for interface %s to be there and "
				 "up", p->cfg.ifname);
		p->waiting_logged = true;
		uplink_retry(p);
		return 0;
	}
	p->up_gen++;
	p->up_seen = true;
	p->waiting_logged = false;
	p->backoff_ms = 0;
	p->ifindex = (int)if_nametoindex(p->cfg.ifname);
	if (if_ioctl(SIOCGIFMTU, p->cfg.ifname, &m) == 0)
		sw_uplink_mtu(&sw, p->id, (uint32_t)m.ifr_mtu);
	sw_up(&sw, p->id);
	for (k = 0; k < VS_UP_RX; k++)
		arm_up_rx(p, k);
	log_info(p, "up: %s %s%s, MTU %d%s%s", type_names[p->cfg.type],
		 p->cfg.ifname, p->created ? " (created)" : "", m.ifr_mtu,
		 p->in_bridge ? ", in bridge " : "",
		 p->in_bridge ? p->cfg.bridge : "");
	ctl_port_event("up", p, NULL);
	return 0;
}

/*
 * Wait, a second at most, until no request on @p's uplink is in flight:
 * each holds the device open, and a tap vswitch created goes only with
 * the last reference. Their completions, stale, are taken out of the
 * queue here.
 */
static void uplink_quiesce(struct port *p)
{
	struct uplink_pool *pl = pool_of(p);
	struct __kernel_timespec ts = { .tv_nsec = 100000000 };
	int tries;

	for (tries = 0; (pl->rx_busy || pl->tx_busy) && tries < 10; tries++) {
		struct io_uring_cqe *cqe;
		unsigned int i;

		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		take_completions();
		for (i = 0; i < ndone; i++) {
			struct done *d = &done_q[(done_head + i) % VS_DONE_MAX];
			enum ud_type t = ud_type(d->ud);

			if ((t != UD_UP_RX && t != UD_UP_TX) ||
			    ud_port(d->ud) != p->id)
				continue;
			if (t == UD_UP_RX)
				pl->rx_busy &= ~(1u << ud_ring(d->ud));
			else
				pl->tx_busy &= ~(1ULL << ud_ring(d->ud));
			d->ud = ud_pack(UD_NONE, 0, 0, 0);
		}
	}
}

/* Stop @p's uplink: nothing in flight touches its fd any more, and a tap
 * vswitch created is gone. */
static void uplink_close(struct port *p, const char *why)
{
	struct uplink_pool *pl = pool_of(p);
	unsigned int k, n;

	if (p->up_fd < 0)
		return;
	for (k = 0; k < VS_UP_RX; k++)
		if (pl->rx_busy >> k & 1)
			cancel(ud_pack(UD_UP_RX, p->id, k, p->up_gen), 0);
	for (k = 0; k < VS_UP_TX; k++)
		if (pl->tx_busy >> k & 1)
			cancel(ud_pack(UD_UP_TX, p->id, k, p->up_gen), 0);
	uplink_quiesce(p);
	if (p->in_bridge && !p->created) {
		struct ifreq b = { .ifr_ifindex = p->ifindex };

		if_ioctl(SIOCBRDELIF, p->cfg.bridge, &b);
	}
	p->in_bridge = false;
	if (p->up_txfd != p->up_fd)
		close(p->up_txfd);
	close(p->up_fd);
	p->up_fd = p->up_txfd = -1;
	p->up_gen++;
	n = sw_down(&sw, p->id);
	log_info(p, "down (%u learned address%s forgotten): %s", n,
		 n == 1 ? "" : "es", why);
	ctl_port_event("down", p, why);
}

/* The uplink failed while it ran: down, and again after a while. */
static void uplink_fail(struct port *p, int err)
{
	uplink_close(p, strerror(err));
	if (!stopping && !p->disabled)
		uplink_retry(p);
}

#if VS_SMALL
#pragma GCC pop_options
#endif

/* Transmit buffer @k is free again. */
static void up_tx_free(struct port *p, unsigned int k)
{
	pool_of(p)->tx_busy &= ~(1ULL << k);
}

/* Switch a frame from uplink @id: guests' memory is written, so guarded.
 * After a fault the frame is not taken up again. */
static void uplink_rx_guarded(unsigned int id, void *buf, size_t len)
{
	guard_on = 1;
	if (sigsetjmp(guard_env, 0))
		guard_recover();
	else
		sw_uplink_rx(&sw, id, buf, len);
	guard_on = 0;
}

static void on_up_rx(struct port *p, unsigned int k, uint32_t gen, int res)
{
	struct uplink_pool *pl = pool_of(p);
	uint8_t *buf = pl->rx[k] + VS_UP_HEADROOM;
	size_t len;

	pl->rx_busy &= ~(1u << k);
	if (gen != p->up_gen || p->up_fd < 0) {
		/* A request of a closed fd: the buffer serves the open one. */
		if (p->in_use && p->up_fd >= 0)
			arm_up_rx(p, k);
		return;
	}
	if (res == -EAGAIN || res == -EINTR || res == -ENOBUFS ||
	    res == -ECANCELED) {
		arm_up_rx(p, k);
		return;
	}
	if (res <= 0) {
		uplink_fail(p, res == 0 ? EPIPE : -res);
		return;
	}
	len = (size_t)res;
	if (len > VS_UP_BUF - VS_UP_HEADROOM) {
		/* A tap's read says how long the frame was, even when it
		 * was cut short to fit the buffer. */
		log_warnx(p, "a frame longer than %d bytes cut short: "
			  "dropped", VS_UP_BUF - VS_UP_HEADROOM);
		goto next;
	}
	if (p->cfg.type == TYPE_AF_PACKET) {
		struct msghdr *mh = &pl->mh[k];
		struct cmsghdr *c;

		if (mh->msg_flags & MSG_TRUNC) {
			/* Larger than even the largest frame: a 64 KiB GRO
			 * frame would have fitted. Not taken apart. */
			log_warnx(p, "a frame longer than %d bytes cut short: "
				  "dropped", VS_UP_BUF);
			goto next;
		}
		if (!p->ignore_outgoing &&
		    pl->sll[k].sll_pkttype == PACKET_OUTGOING)
			goto next;
		/* A VLAN tag the NIC took off goes back where it was,
		 * into the headroom, as the frame was on the wire. */
		for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
			struct tpacket_auxdata aux;
			struct virtio_net_hdr h;
			uint16_t tpid;

			if (c->cmsg_level != SOL_PACKET ||
			    c->cmsg_type != PACKET_AUXDATA ||
			    c->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (!(aux.tp_status & TP_STATUS_VLAN_VALID) ||
			    len < VS_PACKET_VNET_HLEN + 12)
				continue;
			tpid = aux.tp_status & TP_STATUS_VLAN_TPID_VALID ?
			       aux.tp_vlan_tpid : 0x8100;
			memmove(buf - 4, buf, VS_PACKET_VNET_HLEN + 12);
			buf -= 4;
			buf[VS_PACKET_VNET_HLEN + 12] = (uint8_t)(tpid >> 8);
			buf[VS_PACKET_VNET_HLEN + 13] = (uint8_t)tpid;
			buf[VS_PACKET_VNET_HLEN + 14] =
				(uint8_t)(aux.tp_vlan_tci >> 8);
			buf[VS_PACKET_VNET_HLEN + 15] =
				(uint8_t)aux.tp_vlan_tci;
			len += 4;
			/* A checksum left to complete starts 4 bytes on. */
			memcpy(&h, buf, VS_PACKET_VNET_HLEN);
			if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
				h.csum_start = (uint16_t)(h.csum_start + 4);
				memcpy(buf, &h, VS_PACKET_VNET_HLEN);
			}
		}
	}
	uplink_rx_guarded(p->id, buf, len);
next:
	arm_up_rx(p, k);
}

static void on_up_tx(struct port *p, unsigned int k, uint32_t gen, int res)
{
	up_tx_free(p, k);
	sw_uplink_room(&sw, p->id);
	if (gen != p->up_gen || p->up_fd < 0 || res >= 0 ||
	    res == -ECANCELED)
		return;
	/* A kernel queue that is full costs this frame (counted); an
	 * interface that went costs the port until it is back. */
	if (res == -EAGAIN || res == -ENOBUFS || res == -EINTR)
		sw_uplink_refused(&sw, p->id);
	else
		uplink_fail(p, -res);
}

static void *op_sw_uplink_buf(void *opaque, unsigned int port, size_t len)
{
	struct port *p = &ports[port];
	struct uplink_pool *pl = pool_of(p);
	unsigned int k;

	(void)opaque;
	if (p->up_fd < 0 || len > VS_UP_BUF || !~pl->tx_busy)
		return NULL;
	k = (unsigned int)__builtin_ctzll(~pl->tx_busy);
	if (k >= VS_UP_TX)
		return NULL;
	pl->tx_busy |= 1ULL << k;
	return pl->tx[k];
}

static unsigned int tx_index(const struct port *p, const void *buf)
{
	return (unsigned int)(((const uint8_t *)buf - pool_of(p)->tx[0]) /
			      VS_UP_BUF);
}

static void op_sw_uplink_send(void *opaque, unsigned int port, void *buf,
			      size_t len)
{
	struct port *p = &ports[port];
	unsigned int k = tx_index(p, buf);
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_UP_TX, p->id, k,
						   p->up_gen));

	(void)opaque;
	if (!sqe) {
		up_tx_free(p, k);
		sw_uplink_refused(&sw, p->id);
		return;
	}
	if (p->cfg.type == TYPE_TAP)
		io_uring_prep_write(sqe, p->up_fd, buf, (unsigned int)len,
				    (uint64_t)-1);
	else
		io_uring_prep_send(sqe, p->up_txfd, buf, len, MSG_DONTWAIT);
}

static void op_sw_uplink_drop(void *opaque, unsigned int port, void *buf)
{
	(void)opaque;
	up_tx_free(&ports[port], tx_index(&ports[port], buf));
}

/* ------------------------------------------------------------------ */
/* Sockets                                                              */
/* ------------------------------------------------------------------ */

static void arm_accept(struct port *p)
{
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_ACCEPT, p->id, 0,
						   p->listen_gen));

	if (!sqe) {
		arm_timer(p, 1000);	/* try again then */
		return;
	}
	if (uring_multishot_accept)
		io_uring_prep_multishot_accept(sqe, p->listen_fd, NULL, NULL,
					       SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, p->listen_fd, NULL, NULL,
				     SOCK_CLOEXEC);
}

/* Has the other end of connection @fd hung up? */
static bool peer_closed(int fd)
{
	struct pollfd pfd = { fd, POLLRDHUP, 0 };

	return poll(&pfd, 1, 0) > 0 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void on_accept(struct port *p, uint32_t gen, int res,
		      unsigned int flags)
{
	if (gen != p->listen_gen || p->listen_fd < 0) {
		if (res >= 0)
			close(res);
		return;
	}
	if (res == -EINVAL && uring_multishot_accept) {
		/* Kernels before 5.19 have no multishot accept. */
		log_info(NULL, "multishot accept unavailable; using "
			 "single-shot accept");
		uring_multishot_accept = false;
		arm_accept(p);
		return;
	}
	if (res < 0) {
		errno = -res;
		log_warn(p, "accept");
		/* Out of fds or memory: wait before trying again. */
		if (!(flags & IORING_CQE_F_MORE))
			arm_timer(p, 1000);
		return;
	}
	/* The front-end may have closed and connected again before its
	 * close was seen here: the old connection then goes first. */
	if (p->conn_fd >= 0 && peer_closed(p->conn_fd))
		disconnect(p, "connection closed");
	if (p->disabled) {
		log_info(p, "refusing a front-end: the port is disabled");
		close(res);
	} else if (p->conn_fd >= 0) {
		log_warnx(p, "refusing a second front-end connection "
			  "(one at a time)");
		close(res);
	} else if (!peer_allowed(p, res)) {
		close(res);
	} else {
		port_connected(p, res);
	}
	if (!(flags & IORING_CQE_F_MORE))
		arm_accept(p);
}

static void start_connect(struct port *p)
{
	struct io_uring_sqe *sqe;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_warn(p, "socket");
		schedule_retry(p, errno);
		return;
	}
	sqe = get_sqe(ud_pack(UD_CONNECT, p->id, 0, p->gen));
	if (!sqe) {
		close(fd);
		schedule_retry(p, EBUSY);
		return;
	}
	p->connect_fd = fd;
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&p->addr,
			      sizeof(p->addr));
}

static void on_connect(struct port *p, uint32_t gen, int res)
{
	int fd = p->connect_fd;

	if (gen != p->gen || fd < 0)
		return;
	p->connect_fd = -1;
	if (res < 0) {
		close(fd);
		schedule_retry(p, -res);
		return;
	}
	if (!peer_allowed(p, fd)) {
		close(fd);
		schedule_retry(p, EPERM);
		return;
	}
	port_connected(p, fd);
}

static void on_timer(struct port *p, uint32_t gen)
{
	if (gen != p->timer_gen || !p->in_use)
		return;
	p->timer_armed = false;
	p->timer_gen++;
	if (stopping ||
	    (p->disabled && (is_uplink(p) || p->cfg.mode == MODE_CLIENT)))
		return;
	if (is_uplink(p)) {
		const char *why;

		if (p->up_fd < 0 && uplink_open(p, &why) < 0) {
			log_errx(p, "%s; trying again", why);
			uplink_retry(p);
		}
	} else if (p->cfg.mode == MODE_CLIENT) {
		if (p->conn_fd < 0 && p->connect_fd < 0)
			start_connect(p);
	} else if (p->listen_fd >= 0) {
		arm_accept(p);
	}
}

#if VS_SMALL
#pragma GCC push_options
#pragma GCC optimize("Os")
#endif

/* Directories vswitch made, removed again (if empty) when it stops or
 * fails to start: it leaves nothing behind. */
static char made_dirs[2 * VS_MAX_PORTS][VS_PATH_MAX];
static unsigned int nmade_dirs;

static void remove_made_dirs(void)
{
	while (nmade_dirs)
		rmdir(made_dirs[--nmade_dirs]);
}

/*
 * mkdir -p for the directory part of @path. Return: 0, or -1 with @why
 * naming the directory that could not be made and the reason.
 */
static int make_parent_dirs(const char *path, char *why, size_t size)
{
	char buf[VS_PATH_MAX];
	char *s;

	snprintf(buf, sizeof(buf), "%s", path);
	s = strrchr(buf, '/');
	if (!s || s == buf)
		return 0;
	*s = '\0';
	for (s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (mkdir(buf, 0755) == 0) {
				if (nmade_dirs < sizeof(made_dirs) /
						 sizeof(made_dirs[0]))
					strcpy(made_dirs[nmade_dirs++], buf);
			} else if (errno != EEXIST) {
				snprintf(why, size, "cannot create directory "
					 "%s: %s", buf, strerror(errno));
				return -1;
			}
			*s = c;
			if (!c)
				return 0;
		}
	}
}

/*
 * Replace a socket file left by a crash; refuse one a live process still
 * listens on. Return: 0, or -1 with *why set.
 */
static int clear_stale_socket(const struct sockaddr_un *addr, const char **why)
{
	struct stat st;
	int fd, r;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : (*why = strerror(errno), -1);
	if (!S_ISSOCK(st.st_mode)) {
		*why = "exists and is not a socket";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (r == 0 || errno == EAGAIN) {
		*why = "in use by a running listener";
		return -1;
	}
	if (unlink(addr->sun_path) < 0 && errno != ENOENT) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

/*
 * A listening UNIX socket at @path, its directories made as needed, a
 * stale socket file replaced; mode @perm (-1: what the umask allows),
 * owner @owner and group @group (-1: as they come) are final before
 * anyone can connect: created private, then opened up, then listening.
 * Return: the fd, with @st the file's, or -1 with *why set.
 */
static int listen_socket(const char *path, int32_t perm, int64_t owner,
			 int64_t group, struct stat *st, const char **why)
{
	static char dir_why[VS_PATH_MAX + 64];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t mask;
	int fd, r;

	if (make_parent_dirs(path, dir_why, sizeof(dir_why)) < 0) {
		*why = dir_why;
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (clear_stale_socket(&addr, why) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	mask = umask(077);
	r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(mask);
	if (r < 0 ||
	    chmod(path, perm >= 0 ? (mode_t)perm : 0777 & ~mask) < 0 ||
	    ((owner >= 0 || group >= 0) &&
	     chown(path, (uid_t)owner, (gid_t)group) < 0) ||
	    listen(fd, 16) < 0 || stat(path, st) < 0) {
		*why = strerror(errno);
		if (r == 0)
			unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Open a port: a listening socket in server mode, the first connection
 * attempt in client mode. Return: 0, or -1 with *why set.
 */
static int port_open(struct port *p, const char **why)
{
	struct stat st;
	int fd;

	if (is_uplink(p))
		return uplink_open(p, why);
	memset(&p->addr, 0, sizeof(p->addr));
	p->addr.sun_family = AF_UNIX;
	strcpy(p->addr.sun_path, p->cfg.path);
	if (p->cfg.mode == MODE_CLIENT) {
		start_connect(p);
		return 0;
	}
	fd = listen_socket(p->cfg.path, p->cfg.perm, p->cfg.owner,
			   p->cfg.group, &st, why);
	if (fd < 0)
		return -1;
	p->sock_dev = st.st_dev;
	p->sock_ino = st.st_ino;
	p->listen_fd = fd;
	arm_accept(p);
	if (running)
		log_info(p, "listening on %s", p->cfg.path);
	return 0;
}

/* A port's counters, by name, with what each counts: one table for the
 * log line, vswitch ctl stats and metrics. */
static const struct counter {
	const char *name;
	const char *help;
	size_t off;
} counters[] = {
#define X(name, help) { #name, help, offsetof(struct sw_port_stats, name) },
	SW_PORT_STATS(X)
#undef X
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

static uint64_t counter_of(unsigned int port, const struct counter *c)
{
	uint64_t v;

	memcpy(&v, (const char *)&sw.port[port].st + c->off, sizeof(v));
	return v;
}

static void port_log_stats(struct port *p)
{
	char buf[1024];
	unsigned int i;
	size_t n;

	/* Past the rate limit: the counters are always reported. */
	if (log_level < LOG_INFO)
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "info: port %s: stats",
			     port_name(p));
	for (i = 0; i < NCOUNTERS && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s=%llu",
				      counters[i].name, (unsigned long long)
				      counter_of(p->id, &counters[i]));
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      " log_suppressed=%llu\n",
				      (unsigned long long)
				      (p->log[0].total_suppressed +
				       p->log[1].total_suppressed));
	log_out(buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

/* Close a port: its connection, its listener and its socket file. */
static void port_close(struct port *p)
{
	struct stat st;

	disconnect(p, stopping ? "switch stopping" : "port removed");
	if (is_uplink(p))
		uplink_close(p, stopping ? "switch stopping" : "port removed");
	if (p->listen_fd >= 0) {
		cancel(ud_pack(UD_ACCEPT, p->id, 0, p->listen_gen), 0);
		p->listen_gen++;
		flush_sq();
		close(p->listen_fd);
		p->listen_fd = -1;
		/* Remove the socket file only if it is still ours. */
		if (stat(p->cfg.path, &st) == 0 && st.st_dev == p->sock_dev &&
		    st.st_ino == p->sock_ino)
			unlink(p->cfg.path);
	}
	if (p->connect_fd >= 0) {
		cancel(ud_pack(UD_CONNECT, p->id, 0, p->gen), 0);
		flush_sq();
		close(p->connect_fd);
		p->connect_fd = -1;
	}
	if (p->timer_armed) {
		cancel(ud_pack(UD_TIMER, p->id, 0, p->timer_gen), 0);
		p->timer_armed = false;
		p->timer_gen++;
	}
	if (running)	/* a start that failed says only why */
		port_log_stats(p);
	sw_port_remove(&sw, p->id);
	p->in_use = false;
}

/* What the engine needs of a port's configuration. */
static struct sw_port_cfg port_sw_cfg(const struct port_cfg *pc)
{
	struct sw_port_cfg c = { .nmacs = pc->mac.n,
				 .max_macs = pc->max_macs,
				 .vlan = pc->vlan, .trunk = pc->trunk.set,
				 .offload = pc->offload };

	_Static_assert(VS_LIST_MAX <= SW_MAC_LIST_MAX, "mac lists fit");
	_Static_assert(sizeof(c.trunk_vids) == sizeof(pc->trunk.bits),
		       "VLAN sets are the same size");
	memcpy(c.mac, pc->mac.mac, sizeof(pc->mac.mac));
	memcpy(c.trunk_vids, pc->trunk.bits, sizeof(c.trunk_vids));
	return c;
}

/* Set up slot @p for @pc; generations carry on so that completions for
 * the slot's previous port stay stale. */
static void port_init(struct port *p, uint16_t id, const struct port_cfg *pc)
{
	uint32_t gen = p->gen + 1, lgen = p->listen_gen + 1;
	uint32_t tgen = p->timer_gen + 1, ugen = p->up_gen + 1;
	uint32_t kgen[VU_NUM_VQ];
	struct sw_port_cfg c;
	unsigned int q;

	for (q = 0; q < VU_NUM_VQ; q++)
		kgen[q] = p->kick_gen[q] + 1;
	memset(p, 0, sizeof(*p));
	p->in_use = true;
	p->id = id;
	p->cfg = *pc;
	p->gen = gen;
	p->listen_gen = lgen;
	p->timer_gen = tgen;
	p->up_gen = ugen;
	p->listen_fd = p->conn_fd = p->connect_fd = p->up_fd = -1;
	p->up_txfd = -1;
	for (q = 0; q < VU_NUM_VQ; q++) {
		p->kick_gen[q] = kgen[q];
		p->kick_fd[q] = -1;
	}
	/* Full from the start: how long the machine has been up says
	 * nothing about what the port may log. */
	for (q = 0; q < 2; q++) {
		p->log[q].tokens = VS_LOG_BURST;
		p->log[q].last_ms = monotonic_ms();
	}
	vu_dev_init(&p->dev, &port_ops, p, pc->offload ? 0 : VU_OFFLOADS);
	c = port_sw_cfg(pc);
	if (pc->type == TYPE_VHOST_USER)
		sw_port_add(&sw, id, &p->dev, &c);
	else
		sw_uplink_add(&sw, id, &c, pc->type == TYPE_TAP ?
			      VS_TAP_VNET_HLEN : VS_PACKET_VNET_HLEN,
			      pc->type == TYPE_TAP);
}

/* ------------------------------------------------------------------ */
/* Configuration changes                                                */
/* ------------------------------------------------------------------ */

/* Is @a the same socket or interface as @b, set up the same way? Then a
 * reload keeps the port's guest or device; otherwise it reopens it. */
static bool same_device(const struct port_cfg *a, const struct port_cfg *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == TYPE_VHOST_USER)
		return strcmp(a->path, b->path) == 0 && a->mode == b->mode;
	return strcmp(a->ifname, b->ifname) == 0 &&
	       strcmp(a->bridge, b->bridge) == 0 && a->mtu == b->mtu;
}

static struct port *find_port(const char *name)
{
	unsigned int i;

	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use && strcmp(ports[i].cfg.name, name) == 0)
			return &ports[i];
	return NULL;
}

static const struct port_cfg *find_port_cfg(const struct config *c,
					    const char *name)
{
	unsigned int i;

	for (i = 0; i < c->nports; i++)
		if (strcmp(c->port[i].name, name) == 0)
			return &c->port[i];
	return NULL;
}

/*
 * What a reload could not do, a line each: logged, and listed in the
 * reply of vswitch ctl reload when it asked (reload_failed).
 */
static struct jw *reload_failed;

__attribute__((format(printf, 2, 3)))
static void reload_fail(struct port *p, const char *fmt, ...)
{
	char why[VS_PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_errx(p, "%s", why);
	if (reload_failed) {
		char line[sizeof(why) + VS_NAME_MAX + 8];

		snprintf(line, sizeof(line), "%s%s%s%s", p ? "port " : "",
			 p ? port_name(p) : "", p ? ": " : "", why);
		jw_str(reload_failed, NULL, line);
	}
}

/*
 * Make the running switch match @c: remove ports that are gone or whose
 * socket changed, open new ones. At start-up (@startup) any failure is
 * fatal and reported against the configuration line; on reload it is
 * logged and the rest goes on.
 */
static int apply_config(const struct config *c, bool startup)
{
	char off[VS_MAX_PORTS][VS_NAME_MAX];	/* disabled, reopened */
	unsigned int i, slot, noff = 0;
	int err = 0;

	log_level = verbose ? LOG_DEBUG : c->sw.log_level;
	sw_set_debug(&sw, log_level >= LOG_DEBUG);
	for (i = 0; i < VS_MAX_PORTS; i++) {
		const struct port_cfg *pc;

		if (!ports[i].in_use)
			continue;
		pc = find_port_cfg(c, ports[i].cfg.name);
		if (pc && same_device(pc, &ports[i].cfg)) {
			struct sw_port_cfg swc = port_sw_cfg(pc);

			ports[i].cfg = *pc;
			sw_port_set(&sw, i, &swc);
			continue;
		}
		/* A port disabled stays so when it is opened again. */
		if (pc && ports[i].disabled)
			strcpy(off[noff++], pc->name);
		port_close(&ports[i]);
	}
	for (i = 0; i < c->nports; i++) {
		const struct port_cfg *pc = &c->port[i];
		const char *why;
		struct port *p;
		unsigned int k;

		if (find_port(pc->name))
			continue;
		for (slot = 0; slot < VS_MAX_PORTS && ports[slot].in_use; slot++)
			;
		p = &ports[slot];
		port_init(p, (uint16_t)slot, pc);
		for (k = 0; k < noff && !p->disabled; k++)
			p->disabled = strcmp(off[k], pc->name) == 0;
		/* Disabled: a server socket listens (and refuses), nothing
		 * else opens until it is enabled. */
		if ((p->disabled && (is_uplink(p) ||
				     pc->mode == MODE_CLIENT)) ||
		    port_open(p, &why) == 0)
			continue;
		if (startup && pc->type != TYPE_VHOST_USER) {
			struct cfg_error e = {
				.line = pc->line[PORT_KEY_ifname],
			};

			snprintf(e.why, sizeof(e.why), "port %s: %s %s: %s",
				 pc->name, type_names[pc->type], pc->ifname,
				 why);
			print_cfg_error(c->file, &e);
			err = -1;
		} else if (startup) {
			/* Blame the key that made the path. */
			struct cfg_error e = {
				.line = pc->line[PORT_KEY_socket] ?
					pc->line[PORT_KEY_socket] :
					c->sw.line[SWITCH_KEY_socket_dir] ?
					c->sw.line[SWITCH_KEY_socket_dir] :
					pc->section_line,
			};

			snprintf(e.why, sizeof(e.why), "port %s: socket %s: %s",
				 pc->name, pc->path, why);
			print_cfg_error(c->file, &e);
			err = -1;
		} else if (pc->type != TYPE_VHOST_USER) {
			reload_fail(p, "cannot open %s %s: %s",
				    type_names[pc->type], pc->ifname, why);
		} else {
			reload_fail(p, "cannot open socket %s: %s", pc->path,
				    why);
		}
		sw_port_remove(&sw, p->id);
		p->in_use = false;
	}
	return err;
}


/* ------------------------------------------------------------------ */
/* Control socket (vswitch ctl)                                         */
/* ------------------------------------------------------------------ */

/*
 * [switch] control: a UNIX socket that vswitch ctl (or socat) asks. A
 * request is one line of words; its reply one line of JSON,
 * {"ok":true,"result":...} or {"ok":false,"error":"..."}, "ok" first.
 * The loop serves it as it serves the ports: accept, recv and send are
 * requests on the ring, at most one recv and one send in flight per
 * client, so a client that is slow, silent or hostile costs a slot and
 * some memory, never a wait.
 *
 * Bounds: VS_CTL_CLIENTS clients at once; a request line of VS_CTL_LINE
 * bytes; a client's next request is read only once its reply is sent,
 * so it holds one reply at most (an FDB dump is made a piece at a time,
 * as it is sent); VS_CTL_BAD_MAX malformed requests in a row close the
 * connection; a client that neither asks nor reads for VS_CTL_IDLE_MS
 * is closed (one reading events is not: it waits for them); events wait
 * in VS_CTL_EVENTS bytes per client, and those that do not fit are
 * counted and the client is told how many.
 */
#define VS_CTL_CLIENTS 16
#define VS_CTL_SLOTS (2 * VS_CTL_CLIENTS)	/* and those closing */
#define VS_CTL_LINE 4096
#define VS_CTL_BAD_MAX 3
#define VS_CTL_IDLE_MS 10000
#define VS_CTL_EVENTS 65536
#define VS_CTL_CHUNK 65536	/* of an FDB dump, made at a time */
#define VS_CTL_BUCKETS 16384	/* FDB buckets looked at a turn */
#define VS_CTL_WORDS 8
#define VS_CTL_IN (VS_CTL_LINE + 1)	/* a line and its "\r\n" */

static int reload(struct jw *w, char *why, size_t size);

enum ctl_stream { CTL_NONE, CTL_FDB, CTL_EVENTS };

struct ctl_client {
	int fd;			/* -1: closed (free once nothing is in
				 * flight: the kernel may still use in, out) */
	uint32_t gen;
	bool recv_busy, send_busy;
	bool eof;		/* the client has sent all it will */
	bool closing;		/* close once the reply is sent */
	bool spoke;		/* it sent a whole request */
	uint64_t turn;		/* the loop's turn it came in */
	uint64_t last_ms;	/* last progress, either way */
	unsigned int bad;	/* malformed requests in a row */
	char *in;		/* VS_CTL_IN bytes, while connected */
	size_t in_len;
	struct jw out;
	size_t out_off;		/* of out, sent */
	enum ctl_stream stream;
	uint32_t fdb_bucket;	/* FDB dump: where it goes on */
	int fdb_port, fdb_vlan;	/* ... and its filters (-1: any) */
	uint64_t lost;		/* events that found no room */
};

static struct ctl_client ctl[VS_CTL_SLOTS];
static int ctl_fd = -1;
static uint32_t ctl_gen;		/* the listener's */
static char ctl_path[VS_SUN_PATH_MAX];
static dev_t ctl_dev;
static ino_t ctl_ino;
static unsigned int ctl_nevents;	/* clients reading events */
static bool ctl_timer_armed, ctl_accept_wanted;
static uint32_t ctl_timer_gen;
static struct __kernel_timespec ctl_ts;
static struct jw ctl_ev;		/* the event being made */
static uint64_t loop_turn, start_ms;

static void ctl_timer_update(void);

static bool ctl_active(const struct ctl_client *c)
{
	return c->fd >= 0;
}

static void ctl_free_if_idle(struct ctl_client *c)
{
	if (c->fd < 0 && !c->recv_busy && !c->send_busy) {
		jw_free(&c->out);
		free(c->in);
		c->in = NULL;
		c->stream = CTL_NONE;
	}
}

static void ctl_drop(struct ctl_client *c)
{
	unsigned int i = (unsigned int)(c - ctl);

	if (c->fd < 0)
		return;
	if (c->recv_busy)
		cancel(ud_pack(UD_CTL_RECV, i, 0, c->gen), 0);
	if (c->send_busy)
		cancel(ud_pack(UD_CTL_SEND, i, 0, c->gen), 0);
	flush_sq();
	close(c->fd);
	c->fd = -1;
	c->gen++;
	if (c->stream == CTL_EVENTS && --ctl_nevents == 0)
		sw_set_events(&sw, false);
	c->stream = CTL_NONE;
	ctl_free_if_idle(c);
}

static void ctl_arm_recv(struct ctl_client *c)
{
	unsigned int i = (unsigned int)(c - ctl);
	struct io_uring_sqe *sqe;

	if (!ctl_active(c) || c->recv_busy || c->eof ||
	    c->in_len >= VS_CTL_IN)
		return;
	sqe = get_sqe(ud_pack(UD_CTL_RECV, i, 0, c->gen));
	if (!sqe) {
		ctl_drop(c);
		return;
	}
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len,
			   VS_CTL_IN - c->in_len, 0);
	c->recv_busy = true;
}

static void ctl_arm_send(struct ctl_client *c)
{
	unsigned int i = (unsigned int)(c - ctl);
	struct io_uring_sqe *sqe;

	if (!ctl_active(c) || c->send_busy ||
	    (c->out_off >= c->out.len && c->stream != CTL_FDB))
		return;
	sqe = get_sqe(ud_pack(UD_CTL_SEND, i, 0, c->gen));
	if (!sqe) {
		ctl_drop(c);
		return;
	}
	/* A dump whose last piece found nothing to send goes on at the
	 * loop's next turn: a no-op's completion brings it back. */
	if (c->out_off >= c->out.len)
		io_uring_prep_nop(sqe);
	else
		io_uring_prep_send(sqe, c->fd, c->out.buf + c->out_off,
				   c->out.len - c->out_off, MSG_NOSIGNAL);
	c->send_busy = true;
}

/* The end of a reply: the top-level object closed, and the newline. */
static void ctl_finish(struct ctl_client *c)
{
	jw_end(&c->out);
	jw_raw(&c->out, "\n", 1);
	if (c->out.failed) {
		static const char oom[] =
			"{\"ok\":false,\"error\":\"out of memory\"}\n";

		jw_reset(&c->out);
		jw_raw(&c->out, oom, sizeof(oom) - 1);
		c->stream = CTL_NONE;
	}
}

/* A reply {"ok":true,"result":...}: the result's value comes next. */
static struct jw *ctl_ok(struct ctl_client *c)
{
	jw_object(&c->out, NULL);
	jw_bool(&c->out, "ok", true);
	return &c->out;
}

__attribute__((format(printf, 2, 3)))
static void ctl_error(struct ctl_client *c, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	jw_reset(&c->out);
	jw_object(&c->out, NULL);
	jw_bool(&c->out, "ok", false);
	jw_str(&c->out, "error", why);
	ctl_finish(c);
}

/* A request that is not one: counted, and the connection closed after
 * VS_CTL_BAD_MAX of them in a row. */
__attribute__((format(printf, 2, 3)))
static void ctl_bad(struct ctl_client *c, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (++c->bad >= VS_CTL_BAD_MAX) {
		c->closing = true;
		ctl_error(c, "%s; %u malformed requests: closing", why,
			  c->bad);
	} else {
		ctl_error(c, "%s", why);
	}
}

static void mac_string(char *out, const uint8_t *m)
{
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
}

/* "10,20-30": a set of VLANs as ranges. */
static void vids_string(char *out, size_t size, const struct cfg_vids *set)
{
	unsigned int v = 1, lo;
	size_t n = 0;

	out[0] = '\0';
	while (v <= SW_VLAN_MAX && n < size) {
		if (!vid_in(set, v)) {
			v++;
			continue;
		}
		for (lo = v; v + 1 <= SW_VLAN_MAX && vid_in(set, v + 1); v++)
			;
		n += (size_t)snprintf(out + n, size - n, lo == v ? "%s%u" :
				      "%s%u-%u", n ? "," : "", lo, v);
		v++;
	}
}

static const char *port_state(const struct port *p)
{
	if (p->disabled)
		return "disabled";
	if (is_uplink(p))
		return p->up_fd >= 0 ? "up" : "waiting";
	if (p->conn_fd >= 0)
		return sw_port_broken(&sw, p->id) ? "broken" :
		       sw.port[p->id].up ? "up" : "connected";
	if (p->cfg.mode == MODE_CLIENT)
		return "connecting";
	return p->listen_fd >= 0 ? "listening" : "closed";
}

static void ctl_features(struct jw *w, const char *key, uint64_t bits,
			 const char *(*name)(unsigned int))
{
	unsigned int b;

	jw_array(w, key);
	for (b = 0; b < 64; b++) {
		char num[16];

		if (!(bits >> b & 1))
			continue;
		snprintf(num, sizeof(num), "bit %u", b);
		jw_str(w, NULL, name(b) ? name(b) : num);
	}
	jw_end(w);
}

static void ctl_port(struct jw *w, const struct port *p, uint64_t now)
{
	const struct sw_port *sp = &sw.port[p->id];
	const struct vu_dev *d = &p->dev;
	char buf[VS_PATH_MAX];
	unsigned int i;

	jw_object(w, NULL);
	jw_str(w, "name", port_name(p));
	jw_str(w, "type", type_names[p->cfg.type]);
	jw_str(w, "state", port_state(p));
	if (sw_port_broken(&sw, p->id))
		jw_str(w, "broken", sw_port_broken(&sw, p->id));
	if (is_uplink(p)) {
		jw_str(w, "interface", p->cfg.ifname);
		if (p->cfg.bridge[0])
			jw_str(w, "bridge", p->cfg.bridge);
		jw_uint(w, "mtu", sp->mtu);
	} else {
		jw_str(w, "socket", p->cfg.path);
		jw_str(w, "mode", mode_names[p->cfg.mode]);
	}
	if (p->cfg.vlan)
		jw_uint(w, "vlan", p->cfg.vlan);
	else
		jw_null(w, "vlan");
	vids_string(buf, sizeof(buf), &p->cfg.trunk);
	jw_str(w, "trunk", p->cfg.trunk.set ? buf : NULL);
	jw_array(w, "macs");
	for (i = 0; i < p->cfg.mac.n; i++) {
		mac_string(buf, p->cfg.mac.mac[i]);
		jw_str(w, NULL, buf);
	}
	jw_end(w);
	jw_uint(w, "max_macs", p->cfg.max_macs);
	jw_bool(w, "offload", p->cfg.offload);
	jw_uint(w, "fdb_entries", sw.fdb.port_count[p->id]);
	if (!is_uplink(p) && p->conn_fd >= 0) {
		uint64_t bytes = 0;

		jw_object(w, "peer");
		jw_int(w, "pid", p->peer.pid);
		jw_uint(w, "uid", p->peer.uid);
		jw_uint(w, "gid", p->peer.gid);
		jw_end(w);
		ctl_features(w, "features", d->features, vu_feature_name);
		ctl_features(w, "protocol_features", d->protocol,
			     vu_protocol_feature_name);
		if (d->mtu)
			jw_uint(w, "mtu", d->mtu);
		else
			jw_null(w, "mtu");
		jw_array(w, "queues");
		for (i = 0; i < VU_NUM_VQ; i++) {
			jw_object(w, NULL);
			jw_str(w, "ring", i == VU_RX ? "rx" : "tx");
			jw_uint(w, "size", d->vq[i].num);
			jw_bool(w, "started", d->vq[i].started);
			jw_bool(w, "enabled", vu_vq_enabled(d, i));
			jw_end(w);
		}
		jw_end(w);
		for (i = 0; i < d->mem.nregions; i++)
			bytes += d->mem.region[i].size;
		jw_object(w, "memory");
		jw_uint(w, "regions", d->mem.nregions);
		jw_uint(w, "bytes", bytes);
		jw_end(w);
	}
	if (p->last_error[0]) {
		jw_str(w, "last_error", p->last_error);
		jw_uint(w, "last_error_age_s", (now - p->last_error_ms) / 1000);
	}
	if (p->last_down[0])
		jw_str(w, "last_disconnect", p->last_down);
	jw_end(w);
}

static void ctl_show(struct ctl_client *c, const struct port *only)
{
	static const struct {
		unsigned int flag;
		const char *name;
	} setup[] = {
		{ IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL" },
		{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
		{ IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER" },
		{ IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN" },
	};
	struct jw *w = ctl_ok(c);
	uint64_t now = monotonic_ms();
	unsigned int i, n = 0;

	for (i = 0; i < VS_MAX_PORTS; i++)
		n += ports[i].in_use;
	jw_object(w, "result");
	jw_object(w, "switch");
	jw_str(w, "version", VSWITCH_VERSION);
	jw_int(w, "pid", getpid());
	jw_uint(w, "uptime_s", (now - start_ms) / 1000);
	jw_str(w, "config", cfg.file);
	jw_str(w, "log_level", level_names[log_level]);
	jw_uint(w, "ports", n);
	jw_object(w, "fdb");
	jw_uint(w, "entries", sw.fdb.count);
	jw_uint(w, "capacity", sw.fdb.capacity);
	jw_uint(w, "aging_s", sw.fdb.aging);
	jw_uint(w, "unlearned", sw.fdb_full);
	jw_end(w);
	jw_object(w, "io_uring");
	jw_array(w, "setup");
	for (i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		if (uring_setup_flags & setup[i].flag)
			jw_str(w, NULL, setup[i].name);
	jw_end(w);
	jw_bool(w, "multishot_accept", uring_multishot_accept);
	jw_bool(w, "quiet_calls", uring_quiet_calls);
	jw_end(w);
	jw_str(w, "control", ctl_path);
	jw_end(w);
	jw_array(w, "ports");
	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use && (!only || only == &ports[i]))
			ctl_port(w, &ports[i], now);
	jw_end(w);
	jw_end(w);
	ctl_finish(c);
}

static void ctl_stats(struct ctl_client *c, const struct port *only)
{
	struct jw *w = ctl_ok(c);
	unsigned int i;

	jw_object(w, "result");
	jw_object(w, "ports");
	for (i = 0; i < VS_MAX_PORTS; i++) {
		const struct port *p = &ports[i];
		unsigned int k;

		if (!p->in_use || (only && only != p))
			continue;
		jw_object(w, port_name(p));
		for (k = 0; k < NCOUNTERS; k++)
			jw_uint(w, counters[k].name, counter_of(i, &counters[k]));
		jw_uint(w, "log_suppressed", p->log[0].total_suppressed +
			p->log[1].total_suppressed);
		jw_end(w);
	}
	jw_end(w);
	jw_object(w, "switch");
	jw_uint(w, "fdb_entries", sw.fdb.count);
	jw_uint(w, "fdb_unlearned", sw.fdb_full);
	jw_uint(w, "log_dropped", logq.total_dropped);
	jw_end(w);
	jw_end(w);
	ctl_finish(c);
}

/* The next piece of an FDB dump, and its end when the table's is
 * reached. The table may change between pieces, as with any dump of a
 * live table: an entry that moves buckets meanwhile may be missed or
 * shown twice. */
static void ctl_fdb_chunk(struct ctl_client *c)
{
	const struct l2_fdb *f = &sw.fdb;
	struct jw *w = &c->out;
	uint32_t end = c->fdb_bucket + VS_CTL_BUCKETS;
	bool first = w->len > 0;	/* the reply's head is in it */
	char mac[18];

	while (c->fdb_bucket < f->nbuckets && c->fdb_bucket < end &&
	       w->len < VS_CTL_CHUNK) {
		uint32_t e = f->bucket[c->fdb_bucket++], steps = 0;

		for (; e < f->capacity && steps++ < f->capacity;
		     e = f->entry[e].next) {
			const struct l2_entry *le = &f->entry[e];

			if ((c->fdb_port >= 0 && le->port != c->fdb_port) ||
			    (c->fdb_vlan >= 0 && le->vid != c->fdb_vlan) ||
			    le->port >= VS_MAX_PORTS)
				continue;
			mac_string(mac, le->mac);
			jw_object(w, NULL);
			jw_uint(w, "vlan", le->vid);
			jw_str(w, "mac", mac);
			jw_str(w, "port", ports[le->port].in_use ?
			       port_name(&ports[le->port]) : "?");
			jw_uint(w, "age_s", sw.now_s - le->seen);
			jw_end(w);
		}
	}
	/* Out of memory after pieces went: the reply cannot be whole. */
	if (w->failed && !first) {
		ctl_drop(c);
		return;
	}
	if (c->fdb_bucket >= f->nbuckets) {
		jw_end(w);	/* entries */
		jw_end(w);	/* result */
		ctl_finish(c);
		c->stream = CTL_NONE;
	}
}

static void ctl_fdb(struct ctl_client *c, const struct port *only, int vlan)
{
	struct jw *w = ctl_ok(c);

	jw_object(w, "result");
	jw_uint(w, "capacity", sw.fdb.capacity);
	jw_uint(w, "count", sw.fdb.count);
	jw_uint(w, "aging_s", sw.fdb.aging);
	jw_array(w, "entries");
	c->stream = CTL_FDB;
	c->fdb_bucket = 0;
	c->fdb_port = only ? only->id : -1;
	c->fdb_vlan = vlan;
	ctl_fdb_chunk(c);
}

/* A metric's help and type lines. */
static void metric_head(struct jw *m, const char *name, const char *type,
			const char *help)
{
	jw_printf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The Prometheus text exposition format (0.0.4). Port names are label
 * values as they are: the configuration allows only [A-Za-z0-9_.-].
 */
static void ctl_metrics(struct ctl_client *c)
{
	struct jw m;
	unsigned int i, k;

	jw_init(&m, 0);
	metric_head(&m, "vswitch_info", "gauge", "The switch's version.");
	jw_printf(&m, "vswitch_info{version=\"%s\"} 1\n", VSWITCH_VERSION);
	metric_head(&m, "vswitch_uptime_seconds", "gauge",
		    "Seconds since the switch started.");
	jw_printf(&m, "vswitch_uptime_seconds %llu\n",
		  (unsigned long long)(monotonic_ms() - start_ms) / 1000);
	metric_head(&m, "vswitch_fdb_entries", "gauge",
		    "Addresses in the FDB.");
	jw_printf(&m, "vswitch_fdb_entries %u\n", sw.fdb.count);
	metric_head(&m, "vswitch_fdb_capacity", "gauge",
		    "Addresses the FDB holds at most (fdb_size).");
	jw_printf(&m, "vswitch_fdb_capacity %u\n", sw.fdb.capacity);
	metric_head(&m, "vswitch_fdb_unlearned_total", "counter",
		    "Source addresses not learned: the FDB was full.");
	jw_printf(&m, "vswitch_fdb_unlearned_total %llu\n",
		  (unsigned long long)sw.fdb_full);
	metric_head(&m, "vswitch_log_dropped_total", "counter",
		    "Log lines dropped: stderr was not read.");
	jw_printf(&m, "vswitch_log_dropped_total %llu\n",
		  (unsigned long long)logq.total_dropped);
	metric_head(&m, "vswitch_port_up", "gauge",
		    "1 when the port forwards frames, else 0.");
	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use)
			jw_printf(&m, "vswitch_port_up{port=\"%s\",type=\"%s\"}"
				  " %d\n", port_name(&ports[i]),
				  type_names[ports[i].cfg.type],
				  sw.port[i].up);
	metric_head(&m, "vswitch_port_fdb_entries", "gauge",
		    "Addresses learned on the port.");
	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use)
			jw_printf(&m, "vswitch_port_fdb_entries{port=\"%s\"} "
				  "%u\n", port_name(&ports[i]),
				  sw.fdb.port_count[i]);
	for (k = 0; k < NCOUNTERS; k++) {
		char name[64];

		snprintf(name, sizeof(name), "vswitch_port_%s_total",
			 counters[k].name);
		metric_head(&m, name, "counter", counters[k].help);
		for (i = 0; i < VS_MAX_PORTS; i++)
			if (ports[i].in_use)
				jw_printf(&m, "%s{port=\"%s\"} %llu\n", name,
					  port_name(&ports[i]),
					  (unsigned long long)
					  counter_of(i, &counters[k]));
	}
	jw_strn(ctl_ok(c), "result", m.buf ? m.buf : "", m.len);
	c->out.failed |= m.failed;
	jw_free(&m);
	ctl_finish(c);
}

/*
 * Events: one line of JSON each, {"event":..., "time":..., "port":...}
 * and what the event has besides, to every client that asked for them.
 * ctl_event_begin() returns NULL when none did.
 */
static struct jw *ctl_event_begin(const char *event, const struct port *p)
{
	if (!ctl_nevents)
		return NULL;
	jw_reset(&ctl_ev);
	jw_object(&ctl_ev, NULL);
	jw_str(&ctl_ev, "event", event);
	jw_uint(&ctl_ev, "time", (uint64_t)time(NULL));
	if (p)
		jw_str(&ctl_ev, "port", port_name(p));
	return &ctl_ev;
}

/* Append @n bytes to @c's queue of events, if they fit; the buffer was
 * sized when the client asked for events and never moves while a send
 * of it is in flight. */
static bool ctl_queue(struct ctl_client *c, const char *s, size_t n)
{
	if (c->out.len + n > c->out.cap || c->out.len + n >
	    c->out_off + VS_CTL_EVENTS)
		return false;
	memcpy(c->out.buf + c->out.len, s, n);
	c->out.len += n;
	return true;
}

static void ctl_event_end(void)
{
	unsigned int i;

	jw_end(&ctl_ev);
	jw_raw(&ctl_ev, "\n", 1);
	if (ctl_ev.failed)
		return;
	for (i = 0; i < VS_CTL_SLOTS; i++) {
		struct ctl_client *c = &ctl[i];

		if (!ctl_active(c) || c->stream != CTL_EVENTS)
			continue;
		if (c->lost) {
			char note[80];
			int n = snprintf(note, sizeof(note), "{\"event\":\"lost\","
					 "\"count\":%llu}\n",
					 (unsigned long long)c->lost);

			if (!ctl_queue(c, note, (size_t)n)) {
				c->lost++;
				continue;
			}
			c->lost = 0;
		}
		if (!ctl_queue(c, ctl_ev.buf, ctl_ev.len))
			c->lost++;
		ctl_arm_send(c);
	}
}

static void ctl_port_event(const char *event, const struct port *p,
			   const char *why)
{
	struct jw *w = ctl_event_begin(event, p);

	if (!w)
		return;
	if (why)
		jw_str(w, "why", why);
	if (strcmp(event, "connect") == 0) {
		jw_int(w, "pid", p->peer.pid);
		jw_uint(w, "uid", p->peer.uid);
	}
	ctl_event_end();
}

static void op_sw_fdb_event(void *opaque, enum sw_fdb_event ev,
			    unsigned int port, uint16_t vlan,
			    const uint8_t *mac)
{
	static const char *const names[] = {
		[SW_FDB_LEARNED] = "learned", [SW_FDB_MOVED] = "moved",
		[SW_FDB_AGED] = "aged",
	};
	struct jw *w;
	char m[18];

	(void)opaque;
	w = ctl_event_begin(names[ev], port < VS_MAX_PORTS &&
			    ports[port].in_use ? &ports[port] : NULL);
	if (!w)
		return;
	mac_string(m, mac);
	jw_str(w, "mac", m);
	jw_uint(w, "vlan", vlan);
	ctl_event_end();
}

static void ctl_events(struct ctl_client *c)
{
	struct jw *w = ctl_ok(c);

	jw_str(w, "result", "events follow, one a line");
	ctl_finish(c);
	if (c->out.failed)
		return;
	/* Room for the queue, made now: it must not move while a send of
	 * it is in flight. */
	if (c->out.cap < c->out.len + VS_CTL_EVENTS) {
		char *b = realloc(c->out.buf, c->out.len + VS_CTL_EVENTS + 1);

		if (!b) {
			ctl_error(c, "out of memory");
			return;
		}
		c->out.buf = b;
		c->out.cap = c->out.len + VS_CTL_EVENTS;
	}
	c->stream = CTL_EVENTS;
	c->in_len = 0;		/* what it sends from now on is not read */
	if (ctl_nevents++ == 0)
		sw_set_events(&sw, true);
}

/* Take @p down for vswitch ctl (its front-end disconnected, refused
 * until enabled; its uplink closed), or back up. */
static void port_disable(struct port *p, bool off)
{
	const char *why;

	if (p->disabled == off)
		return;
	p->disabled = off;
	if (off) {
		log_info(p, "disabled by vswitch ctl");
		disconnect(p, "port disabled");
		if (is_uplink(p))
			uplink_close(p, "port disabled");
		if (p->connect_fd >= 0) {
			cancel(ud_pack(UD_CONNECT, p->id, 0, p->gen), 0);
			flush_sq();
			close(p->connect_fd);
			p->connect_fd = -1;
			p->gen++;
		}
	} else {
		log_info(p, "enabled by vswitch ctl");
		p->backoff_ms = 0;
		if (is_uplink(p) && p->up_fd < 0 && !p->timer_armed &&
		    uplink_open(p, &why) < 0) {
			log_errx(p, "%s; trying again", why);
			uplink_retry(p);
		} else if (!is_uplink(p) && p->cfg.mode == MODE_CLIENT &&
			   p->conn_fd < 0 && p->connect_fd < 0 &&
			   !p->timer_armed) {
			start_connect(p);
		}
	}
	ctl_port_event(off ? "disabled" : "enabled", p, NULL);
}

static struct port *ctl_find_port(struct ctl_client *c, const char *name)
{
	struct port *p = find_port(name);

	if (!p)
		ctl_error(c, "no port '%s'", name);
	return p;
}

static const char ctl_commands[] =
	"show [PORT], stats [PORT], fdb [show] [PORT] [vlan N], "
	"fdb flush [PORT], port PORT disable|enable, log-level [LEVEL], "
	"reload, metrics, events";

static void ctl_dispatch(struct ctl_client *c, char **word, unsigned int n);

/* One request: its words (@n of them, at least one). */
static void ctl_request(struct ctl_client *c, char **word, unsigned int n)
{
	unsigned int bad = c->bad;

	ctl_dispatch(c, word, n);
	if (c->bad == bad)	/* a request, answered: the count starts over */
		c->bad = 0;
}

static void ctl_dispatch(struct ctl_client *c, char **word, unsigned int n)
{
	const char *cmd = word[0];
	struct port *p = NULL;
	unsigned int i;

	if (strcmp(cmd, "show") == 0 || strcmp(cmd, "stats") == 0) {
		if (n > 2) {
			ctl_bad(c, "usage: %s [PORT]", cmd);
			return;
		}
		if (n == 2 && !(p = ctl_find_port(c, word[1])))
			return;
		if (cmd[1] == 'h')
			ctl_show(c, p);
		else
			ctl_stats(c, p);
	} else if (strcmp(cmd, "fdb") == 0) {
		bool flush = n > 1 && strcmp(word[1], "flush") == 0;
		unsigned long vlan = (unsigned long)-1;
		const char *why;

		i = n > 1 && (flush || strcmp(word[1], "show") == 0) ? 2 : 1;
		if (i < n && strcmp(word[i], "vlan") != 0 &&
		    !(p = ctl_find_port(c, word[i++])))
			return;
		if (!flush && i + 1 < n && strcmp(word[i], "vlan") == 0) {
			if (parse_number(word[i + 1], 0, SW_VLAN_MAX, &vlan,
					 &why) < 0) {
				ctl_bad(c, "vlan %s: not a VLAN id (0..4094)",
					word[i + 1]);
				return;
			}
			i += 2;
		}
		if (i != n) {
			ctl_bad(c, "usage: fdb [show] [PORT] [vlan N] | "
				"fdb flush [PORT]");
			return;
		}
		if (flush) {
			uint32_t k = p ? l2_flush_port(&sw.fdb, p->id) :
				     l2_flush_all(&sw.fdb);

			log_info(p, "FDB flushed by vswitch ctl: %u address%s "
				 "forgotten", k, k == 1 ? "" : "es");
			jw_object(ctl_ok(c), "result");
			jw_uint(&c->out, "flushed", k);
			jw_end(&c->out);
			ctl_finish(c);
		} else {
			ctl_fdb(c, p, vlan == (unsigned long)-1 ? -1 :
				(int)vlan);
		}
	} else if (strcmp(cmd, "port") == 0) {
		if (n != 3 || (strcmp(word[2], "disable") != 0 &&
			       strcmp(word[2], "enable") != 0)) {
			ctl_bad(c, "usage: port PORT disable|enable");
			return;
		}
		if (!(p = ctl_find_port(c, word[1])))
			return;
		port_disable(p, word[2][0] == 'd');
		jw_object(ctl_ok(c), "result");
		jw_str(&c->out, "port", port_name(p));
		jw_str(&c->out, "state", port_state(p));
		jw_end(&c->out);
		ctl_finish(c);
	} else if (strcmp(cmd, "log-level") == 0) {
		int was = log_level;

		if (n > 2) {
			ctl_bad(c, "usage: log-level [error|warn|info|debug]");
			return;
		}
		for (i = 0; n == 2 && i <= LOG_DEBUG; i++)
			if (strcmp(word[1], level_names[i]) == 0)
				break;
		if (n == 2 && i > LOG_DEBUG) {
			ctl_bad(c, "log-level %s: not one of error, warn, "
				"info, debug", word[1]);
			return;
		}
		if (n == 2) {
			log_level = (int)i;
			sw_set_debug(&sw, log_level >= LOG_DEBUG);
			log_info(NULL, "log level %s (was %s), set by vswitch "
				 "ctl", level_names[i], level_names[was]);
		}
		jw_object(ctl_ok(c), "result");
		jw_str(&c->out, "log_level", level_names[log_level]);
		jw_str(&c->out, "was", level_names[was]);
		jw_end(&c->out);
		ctl_finish(c);
	} else if (strcmp(cmd, "reload") == 0 && n == 1) {
		char why[sizeof(((struct cfg_error *)0)->why) + VS_PATH_MAX + 16];

		jw_object(ctl_ok(c), "result");
		jw_str(&c->out, "config", cfg.file);
		if (reload(&c->out, why, sizeof(why)) < 0) {
			ctl_error(c, "%s; keeping the running configuration",
				  why);
			return;
		}
		jw_end(&c->out);
		ctl_finish(c);
	} else if (strcmp(cmd, "metrics") == 0 && n == 1) {
		ctl_metrics(c);
	} else if (strcmp(cmd, "events") == 0 && n == 1) {
		ctl_events(c);
	} else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "metrics") == 0 ||
		   strcmp(cmd, "events") == 0) {
		ctl_bad(c, "%s takes no arguments", cmd);
	} else {
		ctl_bad(c, "unknown command '%.32s' (commands: %s)", cmd,
			ctl_commands);
	}
}

/* Split @line into words and answer it. */
static void ctl_line(struct ctl_client *c, char *line, size_t len)
{
	char *word[VS_CTL_WORDS + 1], *s;
	unsigned int n = 0;
	size_t i;

	if (len && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (len >= VS_CTL_LINE) {
		ctl_bad(c, "request longer than %d bytes", VS_CTL_LINE - 1);
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch < 0x20 && ch != '\t') {
			ctl_bad(c, "request is not text (byte 0x%02x at %zu)",
				ch, i);
			return;
		}
		if (ch >= 0x7f) {
			ctl_bad(c, "request is not ASCII (byte 0x%02x at %zu)",
				ch, i);
			return;
		}
	}
	for (s = strtok(line, " \t"); s; s = strtok(NULL, " \t")) {
		if (n == VS_CTL_WORDS) {
			ctl_bad(c, "request has more than %d words",
				VS_CTL_WORDS);
			return;
		}
		word[n++] = s;
	}
	if (n)
		ctl_request(c, word, n);
}

/*
 * Answer what the client sent, one request at a time: the next is taken
 * once the reply to this one is sent. Read more when no whole request is
 * waiting.
 */
static void ctl_process(struct ctl_client *c)
{
	while (ctl_active(c) && !c->closing && c->stream == CTL_NONE &&
	       c->out_off >= c->out.len) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t len;

		jw_reset(&c->out);
		c->out_off = 0;
		if (!nl && c->in_len == VS_CTL_IN) {
			c->in_len = 0;
			c->closing = true;
			ctl_error(c, "request longer than %d bytes: closing",
				  VS_CTL_LINE - 1);
			break;
		}
		if (!nl && !(c->eof && c->in_len)) {
			if (c->eof)
				c->closing = true;
			ctl_arm_recv(c);
			break;
		}
		len = nl ? (size_t)(nl - c->in) : c->in_len;
		c->spoke = true;
		{
			char line[VS_CTL_IN + 1];

			memcpy(line, c->in, len);
			c->in_len -= nl ? len + 1 : len;
			memmove(c->in, c->in + (nl ? len + 1 : len), c->in_len);
			ctl_line(c, line, len);
		}
	}
	if (!ctl_active(c))
		return;
	ctl_arm_send(c);
	if (c->closing && !c->send_busy)
		ctl_drop(c);
	else if (c->stream == CTL_EVENTS)
		ctl_arm_recv(c);	/* to see it hang up */
}

/* A recv or send of @c's, whose flag is @busy, completed with @res:
 * does the client go on? */
static bool ctl_done(struct ctl_client *c, bool *busy, int res)
{
	*busy = false;
	if (!ctl_active(c)) {
		ctl_free_if_idle(c);
		return false;
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		ctl_drop(c);
		return false;
	}
	return true;
}

static void on_ctl_recv(struct ctl_client *c, int res)
{
	if (!ctl_done(c, &c->recv_busy, res))
		return;
	c->last_ms = monotonic_ms();
	if (res == 0)
		c->eof = true;
	if (c->stream == CTL_EVENTS) {
		/* What it sends is not read; once it has sent all it
		 * will, the timer looks for its hang-up. */
		if (c->eof)
			ctl_timer_update();
		else
			ctl_arm_recv(c);
		return;
	}
	if (res > 0)
		c->in_len += (size_t)res;
	ctl_process(c);
}

static void on_ctl_send(struct ctl_client *c, int res)
{
	if (!ctl_done(c, &c->send_busy, res))
		return;
	if (res > 0) {
		c->out_off += (size_t)res;
		c->last_ms = monotonic_ms();
	}
	if (c->stream == CTL_EVENTS) {
		/* Unsent events to the front: room for more. */
		memmove(c->out.buf, c->out.buf + c->out_off,
			c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
		ctl_arm_send(c);
		return;
	}
	if (c->out_off < c->out.len) {
		ctl_arm_send(c);
		return;
	}
	if (c->stream == CTL_FDB) {
		c->out.len = c->out_off = 0;	/* the writer's state stays */
		ctl_fdb_chunk(c);
		ctl_arm_send(c);
		return;
	}
	ctl_process(c);
}

static void arm_ctl_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_CTL_ACCEPT, 0, 0,
						   ctl_gen));

	if (!sqe) {
		ctl_accept_wanted = true;	/* in a second */
		ctl_timer_update();
		return;
	}
	if (uring_multishot_accept)
		io_uring_prep_multishot_accept(sqe, ctl_fd, NULL, NULL,
					       SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, ctl_fd, NULL, NULL, SOCK_CLOEXEC);
}

/* Tell the client on @fd why it goes, in a reply of its own (a few
 * bytes: the socket has room, or the client gets nothing). */
static void ctl_say(int fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n",
			 why);

	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug(NULL, "control: telling a client \"%s\": %s", why,
			  strerror(errno));
}

/* Say no to a connection, and close it. */
static void ctl_refuse(int fd, const char *why)
{
	ctl_say(fd, why);
	close(fd);
}

/* Is the peer on @fd one control_allow_uid lets in? Root and the
 * switch's own user always are. */
static bool ctl_allowed(int fd)
{
	static uint64_t told_ms;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	unsigned int i;

	if (!cfg.sw.control_allow_uid.n)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	for (i = 0; i < cfg.sw.control_allow_uid.n; i++)
		if (cfg.sw.control_allow_uid.id[i] == cr.uid)
			return true;
	/* A local user may try as often as it likes: one line a second. */
	if (monotonic_ms() - told_ms >= 1000) {
		told_ms = monotonic_ms();
		log_warnx(NULL, "control: refusing uid %u (pid %d): not in "
			  "control_allow_uid", (unsigned int)cr.uid,
			  (int)cr.pid);
	}
	return false;
}

/*
 * A slot for a new client: a free one; else, with VS_CTL_CLIENTS
 * connected, the one connected longest that has not asked anything
 * since an earlier turn of the loop (connected and silent: it had its
 * chance to speak) is closed to make room.
 */
static struct ctl_client *ctl_slot(void)
{
	struct ctl_client *free_slot = NULL, *silent = NULL;
	unsigned int i, n = 0;

	for (i = 0; i < VS_CTL_SLOTS; i++) {
		struct ctl_client *c = &ctl[i];

		if (ctl_active(c)) {
			n++;
			if (!c->spoke && c->stream == CTL_NONE &&
			    c->turn < loop_turn &&
			    (!silent || c->last_ms < silent->last_ms))
				silent = c;
		} else if (!c->recv_busy && !c->send_busy && !free_slot) {
			free_slot = c;
		}
	}
	if (n >= VS_CTL_CLIENTS) {
		if (!silent)
			return NULL;
		ctl_say(silent->fd, "closed to make room for another client: "
			"it said nothing");
		ctl_drop(silent);
	}
	return free_slot;
}

static void on_ctl_accept(uint32_t gen, int res, unsigned int flags)
{
	struct ctl_client *c;

	if (gen != ctl_gen || ctl_fd < 0) {
		if (res >= 0)
			close(res);
		return;
	}
	if (res == -EINVAL && uring_multishot_accept) {
		uring_multishot_accept = false;
		arm_ctl_accept();
		return;
	}
	if (res < 0) {
		errno = -res;
		log_warn(NULL, "control: accept");
		if (!(flags & IORING_CQE_F_MORE)) {
			ctl_accept_wanted = true;	/* in a second */
			ctl_timer_update();
		}
		return;
	}
	if (!(flags & IORING_CQE_F_MORE))
		arm_ctl_accept();
	if (!ctl_allowed(res)) {
		ctl_refuse(res, "not allowed: uid not in control_allow_uid");
		return;
	}
	c = ctl_slot();
	if (!c) {
		ctl_refuse(res, "too many control clients");
		return;
	}
	gen = c->gen + 1;
	jw_free(&c->out);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->fd = -1;
	/* Zeroed: what io_uring's recv writes, valgrind cannot see. */
	c->in = calloc(1, VS_CTL_IN);
	if (!c->in) {
		ctl_refuse(res, "out of memory");
		return;
	}
	c->fd = res;
	c->turn = loop_turn;
	c->last_ms = monotonic_ms();
	jw_init(&c->out, 0);
	ctl_arm_recv(c);
	ctl_timer_update();
}

/*
 * Does the timer look after @c? A client that asks and reads is closed
 * when idle for VS_CTL_IDLE_MS; one following events is not (it waits
 * for them), but once it has half-closed, no recv can see it go: the
 * timer looks for its hang-up as often.
 */
static bool ctl_timed(const struct ctl_client *c)
{
	return ctl_active(c) && (c->stream != CTL_EVENTS || c->eof);
}

/* Has the peer of @fd gone altogether (not only stopped sending)? */
static bool hung_up(int fd)
{
	struct pollfd pfd = { fd, 0, 0 };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
}

/* Arm the timer for the earliest idle deadline, or a second for an
 * accept that waits. */
static void ctl_timer_update(void)
{
	uint64_t now = monotonic_ms(), first = UINT64_MAX;
	unsigned int i;

	if (ctl_timer_armed)
		return;
	for (i = 0; i < VS_CTL_SLOTS; i++)
		if (ctl_timed(&ctl[i]) &&
		    ctl[i].last_ms + VS_CTL_IDLE_MS < first)
			first = ctl[i].last_ms + VS_CTL_IDLE_MS;
	if (ctl_accept_wanted && now + 1000 < first)
		first = now + 1000;
	if (first == UINT64_MAX)
		return;
	ctl_timer_armed = prep_timeout_ms(&ctl_ts, first > now ?
					  (unsigned int)(first - now) : 1,
					  ud_pack(UD_CTL_TIMER, 0, 0,
						  ctl_timer_gen));
}

static void on_ctl_timer(uint32_t gen)
{
	uint64_t now = monotonic_ms();
	unsigned int i;

	if (gen != ctl_timer_gen)
		return;
	ctl_timer_armed = false;
	ctl_timer_gen++;
	for (i = 0; i < VS_CTL_SLOTS; i++) {
		struct ctl_client *c = &ctl[i];

		if (!ctl_timed(c) || now - c->last_ms < VS_CTL_IDLE_MS)
			continue;
		if (c->stream != CTL_EVENTS) {
			log_debug(NULL, "control: closing a client idle for "
				  "%u s", VS_CTL_IDLE_MS / 1000);
			ctl_drop(c);
		} else if (hung_up(c->fd)) {
			ctl_drop(c);
		} else {
			c->last_ms = now;
		}
	}
	if (ctl_accept_wanted && ctl_fd >= 0) {
		ctl_accept_wanted = false;
		arm_ctl_accept();
	}
	ctl_timer_update();
}

/* The control socket's mode: control_perm, or 0600. */
static mode_t ctl_perm(const struct config *c)
{
	return c->sw.control_perm >= 0 ? (mode_t)c->sw.control_perm : 0600;
}

/*
 * Open the control socket @c names (none when it names none), and only
 * then close the one open before, if any. Return: 0, or -1 with *why set
 * (the one open before stays).
 */
static void ctl_close(bool clients);

static int ctl_open(const struct config *c, const char **why)
{
	struct stat st;
	int fd;

	if (!c->control[0])
		return 0;
	fd = listen_socket(c->control, (int32_t)ctl_perm(c),
			   c->sw.control_owner, c->sw.control_group, &st, why);
	if (fd < 0)
		return -1;
	ctl_close(false);
	ctl_fd = fd;
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	strcpy(ctl_path, c->control);
	ctl_gen++;
	arm_ctl_accept();
	return 0;
}

/* Close the control socket: its listener, and with @clients its
 * clients too. */
static void ctl_close(bool clients)
{
	struct stat st;
	unsigned int i;

	if (ctl_fd >= 0) {
		cancel(ud_pack(UD_CTL_ACCEPT, 0, 0, ctl_gen), 0);
		ctl_gen++;
		flush_sq();
		close(ctl_fd);
		ctl_fd = -1;
		if (stat(ctl_path, &st) == 0 && st.st_dev == ctl_dev &&
		    st.st_ino == ctl_ino)
			unlink(ctl_path);
		ctl_path[0] = '\0';
	}
	for (i = 0; clients && i < VS_CTL_SLOTS; i++)
		ctl_drop(&ctl[i]);
	if (ctl_timer_armed && clients) {
		cancel(ud_pack(UD_CTL_TIMER, 0, 0, ctl_timer_gen), 0);
		ctl_timer_armed = false;
		ctl_timer_gen++;
	}
}

/*
 * On reload, before the ports: the control socket as @next has it. A
 * new path is opened before the old one is closed; a new owner, group or
 * mode is given to the open socket. Return: 0, or -1 with @why (@size
 * bytes) saying what could not be done: the socket then stays as it was.
 */
static int ctl_apply(const struct config *old, const struct config *next,
		     char *why, size_t size)
{
	const char *err;

	if (!next->control[0]) {
		ctl_close(false);
		return 0;
	}
	if (strcmp(old->control, next->control) == 0 && ctl_fd >= 0) {
		if (old->sw.control_owner == next->sw.control_owner &&
		    old->sw.control_group == next->sw.control_group &&
		    old->sw.control_perm == next->sw.control_perm)
			return 0;
		if (chmod(ctl_path, ctl_perm(next)) == 0 &&
		    ((next->sw.control_owner < 0 &&
		      next->sw.control_group < 0) ||
		     chown(ctl_path, (uid_t)next->sw.control_owner,
			   (gid_t)next->sw.control_group) == 0))
			return 0;
		snprintf(why, size, "control socket %s: %s", ctl_path,
			 strerror(errno));
		return -1;
	}
	if (ctl_open(next, &err) < 0) {
		snprintf(why, size, "control socket %s: %s", next->control,
			 err);
		return -1;
	}
	log_info(NULL, "control socket %s", next->control);
	return 0;
}

/* The size of a key's field. */
static size_t cfg_field_size(enum cfg_type t)
{
	switch (t) {
	case CFG_PATH:
	case CFG_SOCKET:
		return VS_PATH_MAX;
	case CFG_UINT:
		return sizeof(uint32_t);
	case CFG_LEVEL:
	case CFG_MODE:
	case CFG_TYPE:
		return sizeof(int);
	case CFG_USER:
	case CFG_GROUP:
		return sizeof(int64_t);
	case CFG_PERM:
		return sizeof(int32_t);
	case CFG_USERS:
		return sizeof(struct cfg_ids);
	case CFG_MACS:
		return sizeof(struct cfg_macs);
	case CFG_VLAN:
		return sizeof(uint16_t);
	case CFG_VIDS:
		return sizeof(struct cfg_vids);
	case CFG_IFNAME:
		return VS_IFNAME_MAX;
	case CFG_BOOL:
		return sizeof(bool);
	}
	return 0;
}

/* Is every entry of list @a in list @b (uids, or addresses)? */
static bool list_within(enum cfg_type t, const void *a, const void *b)
{
	const struct cfg_ids *ia = a, *ib = b;
	const struct cfg_macs *ma = a, *mb = b;
	unsigned int n = t == CFG_USERS ? ia->n : ma->n, i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < (t == CFG_USERS ? ib->n : mb->n); j++)
			if (t == CFG_USERS ? ia->id[i] == ib->id[j] :
			    memcmp(ma->mac[i], mb->mac[j], 6) == 0)
				break;
		if (j == (t == CFG_USERS ? ib->n : mb->n))
			return false;
	}
	return true;
}

/* Do fields @a and @b of type @t hold the same value? Lists are sets:
 * the order they were written in is not a change. */
static bool field_same(enum cfg_type t, const void *a, const void *b)
{
	if (t == CFG_USERS || t == CFG_MACS)
		return list_within(t, a, b) && list_within(t, b, a);
	return memcmp(a, b, cfg_field_size(t)) == 0;
}

/* "fdb_size, rx_wait_ms": the keys whose values differ between @a and
 * @b (both zeroed before they were read: no stray bytes differ). */
static void keys_changed(char *out, size_t size, const struct cfg_key *keys,
			 size_t nkeys, const void *a, const void *b)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < nkeys && n < size; i++)
		if (!field_same(keys[i].type, (const char *)a + keys[i].off,
				(const char *)b + keys[i].off))
			n += (size_t)snprintf(out + n, size - n, "%s%s",
					      n ? ", " : "", keys[i].name);
}

/* What a reload from @old to @next changes, a line each, into array
 * "changed" of @w, and to the log. */
static void config_diff(const struct config *old, const struct config *next,
			struct jw *w)
{
	char keys[512], line[600];
	unsigned int i;

	if (w)
		jw_array(w, "changed");
#define CHANGE(...)                                                      \
	do {                                                             \
		snprintf(line, sizeof(line), __VA_ARGS__);               \
		log_info(NULL, "reload: %s", line);                      \
		if (w)                                                   \
			jw_str(w, NULL, line);                           \
	} while (0)
	keys_changed(keys, sizeof(keys), switch_keys, SWITCH_NKEYS, &old->sw,
		     &next->sw);
	if (keys[0])
		CHANGE("switch: %s", keys);
	for (i = 0; i < old->nports; i++)
		if (!find_port_cfg(next, old->port[i].name))
			CHANGE("port %s: removed", old->port[i].name);
	for (i = 0; i < next->nports; i++) {
		const struct port_cfg *a = find_port_cfg(old,
							 next->port[i].name);
		const struct port_cfg *b = &next->port[i];

		if (!a) {
			CHANGE("port %s: added", b->name);
			continue;
		}
		keys_changed(keys, sizeof(keys), port_keys, PORT_NKEYS, a, b);
		if (keys[0])
			CHANGE("port %s: %s%s", b->name, keys,
			       same_device(a, b) ? "" : " (reopened)");
	}
#undef CHANGE
	if (w)
		jw_end(w);
}

/*
 * Read the configuration file again and make the running switch match
 * it (SIGHUP, vswitch ctl reload). What changed goes to the log, and
 * into @w when not NULL. Return: 0, or -1 with @why (@size bytes) saying
 * why the file was refused (FILE:LINE: reason); the running
 * configuration then stays.
 */
static int reload(struct jw *w, char *why, size_t size)
{
	static struct config next;
	struct cfg_error e;
	unsigned int i;

	log_info(NULL, "reloading %s", cfg.file);
	if (config_load(cfg.file, &next, &e) < 0) {
		if (e.line)
			snprintf(why, size, "%s:%d: %s", cfg.file, e.line,
				 e.why);
		else
			snprintf(why, size, "%s: %s", cfg.file, e.why);
		log_errx(NULL, "%s; keeping the running configuration", why);
		return -1;
	}
	if (next.sw.fdb_size != cfg.sw.fdb_size &&
	    sw_resize_fdb(&sw, next.sw.fdb_size) < 0) {
		log_errx(NULL, "cannot resize the FDB to %u entries",
			 next.sw.fdb_size);
		next.sw.fdb_size = cfg.sw.fdb_size;
	}
	sw_set_limits(&sw, next.sw.rx_wait_ms, next.sw.fdb_aging);
	if (next.sw.user != cfg.sw.user) {
		log_warnx(NULL, "user changed: takes effect at restart");
		next.sw.user = cfg.sw.user;
	}
	/* What a port offers its front-end stays as it was: a front-end
	 * that comes back to find a feature gone cannot reconnect. */
	for (i = 0; i < next.nports; i++) {
		struct port *p = find_port(next.port[i].name);

		if (p && p->cfg.offload != next.port[i].offload) {
			log_warnx(p, "offload changed: takes effect at restart");
			next.port[i].offload = p->cfg.offload;
		}
	}
	config_diff(&cfg, &next, w);
	/* The control socket first: a port may take the path it had. */
	if (w)
		jw_array(w, "failed");
	reload_failed = w;
	if (ctl_apply(&cfg, &next, why, size) < 0) {
		reload_fail(NULL, "%s; it stays as it was", why);
		strcpy(next.control, cfg.control);
		strcpy(next.sw.control, cfg.sw.control);
		next.sw.control_owner = cfg.sw.control_owner;
		next.sw.control_group = cfg.sw.control_group;
		next.sw.control_perm = cfg.sw.control_perm;
	}
	apply_config(&next, false);
	reload_failed = NULL;
	if (w)
		jw_end(w);
	cfg = next;
	return 0;
}

#if VS_SMALL
#pragma GCC pop_options
#endif

/* ------------------------------------------------------------------ */
/* Event loop                                                           */
/* ------------------------------------------------------------------ */

static int signal_fd = -1;
static struct signalfd_siginfo signal_info;
static bool signal_armed;

/* Read the next signal; without room now (see get_sqe), the loop tries
 * again every turn. */
static void arm_signal(void)
{
	struct io_uring_sqe *sqe = get_sqe(ud_pack(UD_SIGNAL, 0, 0, 0));

	signal_armed = sqe != NULL;
	if (sqe)
		io_uring_prep_read(sqe, signal_fd, &signal_info,
				   sizeof(signal_info), 0);
}

/* The switch's own counters: the FDB's, and log lines lost to a stderr
 * nobody read. */
static void log_fdb(void)
{
	log_info(NULL, "fdb: %u of %u entries in use; %llu address%s "
		 "found it full and went unlearned", sw.fdb.count,
		 sw.fdb.capacity, (unsigned long long)sw.fdb_full,
		 sw.fdb_full == 1 ? "" : "es");
	if (logq.total_dropped)
		log_warnx(NULL, "%llu log line%s dropped since the start "
			  "(stderr not read)",
			  (unsigned long long)logq.total_dropped,
			  logq.total_dropped == 1 ? "" : "s");
}

/* SIGUSR1: every port's counters and the FDB's, as at exit. */
static void log_counters(void)
{
	unsigned int i;

	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use)
			port_log_stats(&ports[i]);
	log_fdb();
}

static void on_signal(int res)
{
	if (res != (int)sizeof(signal_info)) {
		log_errx(NULL, "reading signals failed (%d)", res);
		stopping = true;
		return;
	}
	switch (signal_info.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		log_info(NULL, "%s: stopping",
			 signal_info.ssi_signo == SIGTERM ? "SIGTERM" :
			 "SIGINT");
		stopping = true;
		return;
	case SIGHUP: {
		char why[sizeof(((struct cfg_error *)0)->why) + VS_PATH_MAX + 16];

		reload(NULL, why, sizeof(why));
		break;
	}
	case SIGUSR1:
		log_counters();
		break;
	}
	arm_signal();
}

static void handle_done(const struct done *cqe)
{
	uint64_t ud = cqe->ud;
	struct port *p = &ports[ud_port(ud) % VS_MAX_PORTS];
	unsigned int q = ud_ring(ud) % VU_NUM_VQ;
	uint32_t gen = ud_gen(ud);

	switch (ud_type(ud)) {
	case UD_NONE:
		break;
	case UD_ACCEPT:
		on_accept(p, gen, cqe->res, cqe->flags);
		break;
	case UD_CONNECT:
		on_connect(p, gen, cqe->res);
		break;
	case UD_RECV:
		recv_areas[p->id].busy = false;
		if (gen == p->gen && p->conn_fd >= 0)
			on_recv(p, cqe->res);
		else
			on_stale_recv(p, cqe->res);
		break;
	case UD_KICK:
		if (p->in_use)
			on_kick(p, q, gen, cqe->res, cqe->flags);
		break;
	case UD_CALL:
	case UD_CALL_QUIET:
		on_call_done(p, q, gen, cqe->res,
			     ud_type(ud) == UD_CALL_QUIET);
		break;
	case UD_ERR:
		break;
	case UD_TIMER:
		on_timer(p, gen);
		break;
	case UD_HOLD:
		sw_hold_timer(&sw);
		break;
	case UD_AGING:
		sw_age(&sw);
		break;
	case UD_SIGNAL:
		on_signal(cqe->res);
		break;
	case UD_LOG:
		on_log_written(cqe->res);
		break;
	case UD_UP_RX:
		if (pools[p->id] && ud_ring(ud) < VS_UP_RX)
			on_up_rx(p, ud_ring(ud), gen, cqe->res);
		break;
	case UD_UP_TX:
		if (pools[p->id] && ud_ring(ud) < VS_UP_TX)
			on_up_tx(p, ud_ring(ud), gen, cqe->res);
		break;
	case UD_CTL_ACCEPT:
		on_ctl_accept(gen, cqe->res, cqe->flags);
		break;
	case UD_CTL_RECV:
	case UD_CTL_SEND:
		if (ud_port(ud) < VS_CTL_SLOTS) {
			struct ctl_client *c = &ctl[ud_port(ud)];

			if (ud_type(ud) == UD_CTL_RECV)
				on_ctl_recv(c, gen == c->gen ? cqe->res :
					    -ECANCELED);
			else
				on_ctl_send(c, gen == c->gen ? cqe->res :
					    -ECANCELED);
		}
		break;
	case UD_CTL_TIMER:
		on_ctl_timer(gen);
		break;
	}
}

/* Disconnect ports whose rings broke while frames moved. */
static void reap_broken(void)
{
	unsigned int i;

	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use && sw_port_broken(&sw, i))
			disconnect(&ports[i], sw_port_broken(&sw, i));
}

/* Take the ring's completions and handle them, and those they bring. */
static void handle_completions(void)
{
	take_completions();
	while (ndone) {
		struct done d = done_q[done_head];

		done_head = (done_head + 1) % VS_DONE_MAX;
		ndone--;
		handle_done(&d);
	}
}

static void event_loop(void)
{
	while (!stopping) {
		int r;

		loop_turn++;
		if (!signal_armed)
			arm_signal();
		log_submit();
		/* Sleep only when no port has work left over, and no
		 * completion waits in the queue. */
		if (sw.run_mask || ndone)
			r = io_uring_submit_and_get_events(&ring);
		else
			r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			errno = -r;
			log_warn(NULL, "io_uring_enter");
		}
		sw_clock(&sw, monotonic_ms());
		handle_completions();
		run_ports();
		reap_broken();
	}
}

#if VS_SMALL
#pragma GCC push_options
#pragma GCC optimize("Os")
#endif

/*
 * Set up the ring with the cheapest options the kernel has, falling back
 * for older kernels (OpenWrt 23.05 runs 5.15). VSWITCH_URING_COMPAT=1 in
 * the environment forces the 5.15 path, for testing it on new kernels.
 */
/*
 * Say why the kernel gave no io_uring (@err from io_uring_setup), in one
 * line: a kernel built without it, one that turns it off, or a sandbox
 * that refuses the call.
 */
static void uring_unavailable(int err)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	char line[16];
	int disabled = 0;

	if (f) {
		if (fgets(line, sizeof(line), f))
			disabled = (int)strtol(line, NULL, 10);
		fclose(f);
	}
	if (err == ENOSYS)
		log_errx(NULL, "no io_uring in this kernel: vswitch needs one "
			 "built with CONFIG_IO_URING (OpenWrt: KERNEL_IO_URING)");
	else if (err == EPERM && disabled)
		log_errx(NULL, "io_uring is disabled on this kernel "
			 "(sysctl kernel.io_uring_disabled = %d): vswitch "
			 "needs it set to 0%s", disabled,
			 disabled == 1 ? ", or to run in the group "
			 "kernel.io_uring_group names" : "");
	else if (err == EPERM)
		log_errx(NULL, "io_uring_setup was refused (Operation not "
			 "permitted): a seccomp filter or a container's "
			 "profile forbids io_uring, which vswitch needs");
	else
		log_errx(NULL, "cannot set up io_uring: %s", strerror(err));
}

static int uring_init(void)
{
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
			IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		0,
	};
	static const int needed[] = {
		IORING_OP_READ, IORING_OP_WRITE, IORING_OP_RECVMSG,
		IORING_OP_ACCEPT, IORING_OP_CONNECT, IORING_OP_TIMEOUT,
		IORING_OP_ASYNC_CANCEL, IORING_OP_POLL_ADD, IORING_OP_SEND,
		IORING_OP_RECV, IORING_OP_NOP,
	};
	const char *compat = getenv("VSWITCH_URING_COMPAT");
	bool compat515 = compat && strcmp(compat, "1") == 0;
	bool ring_fd_registered;
	struct io_uring_probe *probe;
	struct io_uring_params params;
	size_t i;
	int r = -EINVAL;

	if (compat515)
		uring_multishot_accept = false;
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (uring_multishot_accept == false && tries[i])
			continue;
		memset(&params, 0, sizeof(params));
		params.flags = tries[i] | IORING_SETUP_CQSIZE;
		params.cq_entries = 4 * VS_URING_ENTRIES;
		r = io_uring_queue_init_params(VS_URING_ENTRIES, &ring, &params);
		if (r == 0)
			break;
	}
	if (r < 0) {
		uring_unavailable(-r);
		return -1;
	}
	uring_setup_flags = params.flags;
	/* Both arrived before DEFER_TASKRUN (6.1). */
	uring_quiet_calls = (params.flags & IORING_SETUP_DEFER_TASKRUN) &&
			    (params.features & IORING_FEAT_CQE_SKIP);
	if (!(params.features & IORING_FEAT_NODROP))
		log_warnx(NULL, "kernel may drop io_uring completions under "
			  "load (no IORING_FEAT_NODROP)");
	probe = io_uring_get_probe_ring(&ring);
	for (i = 0; probe && i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!io_uring_opcode_supported(probe, needed[i])) {
			log_errx(NULL, "kernel io_uring lacks opcode %d",
				 needed[i]);
			io_uring_free_probe(probe);
			return -1;
		}
	}
	if (probe)
		io_uring_free_probe(probe);
	/*
	 * The ring's own fd registered (5.18+) saves looking it up on every
	 * io_uring_enter; without it the fd is used as it is. The call fds
	 * are not registered files: that saves a file reference per
	 * interrupt, but where it was measured it let the loop fall asleep
	 * sooner after each frame and doubled the one-frame round trip.
	 */
	ring_fd_registered = !compat515 &&
			     io_uring_register_ring_fd(&ring) == 1;
	log_debug(NULL, "io_uring set up with flags 0x%x%s", params.flags,
		  ring_fd_registered ? ", ring fd registered" : "");
	return 0;
}

static int signals_init(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus };
	sigset_t set;

	/* SA_NODEFER: the handler leaves by siglongjmp() to a sigsetjmp()
	 * that does not save the mask, so SIGBUS must not stay blocked. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	return signal_fd < 0 ? -1 : 0;
}

/*
 * [switch] user: after the sockets exist, become that user and its
 * groups for good. Directories vswitch made are handed over first, so
 * that it can still remove its sockets when it stops.
 */
static int drop_privileges(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	bool uplinks = false;
	unsigned int i;

	if (!pw) {
		log_errx(NULL, "user %u has no passwd entry: no group to run as",
			 (unsigned int)uid);
		return -1;
	}
	for (i = 0; i < nmade_dirs; i++)
		if (chown(made_dirs[i], uid, pw->pw_gid) < 0)
			log_warn(NULL, "chown %s", made_dirs[i]);
	for (i = 0; i < VS_MAX_PORTS; i++)
		uplinks = uplinks || (ports[i].in_use && is_uplink(&ports[i]));
	if ((uplinks && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) ||
	    initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(uid) < 0) {
		log_warn(NULL, "becoming user %s", pw->pw_name);
		return -1;
	}
	/*
	 * With uplinks, two capabilities stay: to open taps and packet
	 * sockets again (an interface that came back, a reload), and
	 * nothing more. capset(2) by hand: no libcap.
	 */
	if (uplinks) {
		struct __user_cap_header_struct h = {
			_LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2] = { { 0 } };

		d[0].effective = d[0].permitted =
			1u << CAP_NET_ADMIN | 1u << CAP_NET_RAW;
		if (syscall(SYS_capset, &h, d) < 0 ||
		    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
			log_warn(NULL, "keeping CAP_NET_ADMIN and CAP_NET_RAW");
			return -1;
		}
	}
	if (setuid(0) == 0) {
		log_errx(NULL, "could become root again after dropping to %s",
			 pw->pw_name);
		return -1;
	}
	for (i = 0; i < VS_MAX_PORTS; i++) {
		char dir[VS_SUN_PATH_MAX], *slash;

		if (!ports[i].in_use || ports[i].listen_fd < 0)
			continue;
		strcpy(dir, ports[i].cfg.path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		if (access(dir, W_OK) < 0)
			log_warnx(&ports[i], "%s is not writable by %s: its "
				  "socket will stay behind at exit", dir,
				  pw->pw_name);
	}
	log_info(NULL, "running as user %s (uid %u, gid %u)%s", pw->pw_name,
		 (unsigned int)uid, (unsigned int)pw->pw_gid,
		 uplinks ? ", keeping CAP_NET_ADMIN and CAP_NET_RAW" : "");
	return 0;
}

/* The control socket at start-up: a failure is the configuration's. */
static int control_open_at_start(void)
{
	const char *why;
	struct cfg_error e = { 0 };

	if (ctl_open(&cfg, &why) == 0)
		return 0;
	e.line = cfg.sw.line[SWITCH_KEY_control] ?
		 cfg.sw.line[SWITCH_KEY_control] :
		 cfg.sw.line[SWITCH_KEY_socket_dir];
	snprintf(e.why, sizeof(e.why), "control socket %s: %s", cfg.control,
		 why);
	print_cfg_error(cfg.file, &e);
	return -1;
}

/* ------------------------------------------------------------------ */
/* vswitch ctl: the client                                              */
/* ------------------------------------------------------------------ */

/* Exit statuses of vswitch ctl. */
enum { CTL_EXIT_OK, CTL_EXIT_ERROR, CTL_EXIT_USAGE, CTL_EXIT_DOWN };

#define VS_CTL_REPLY_MAX (1u << 30)	/* the longest reply read */
#define VS_CTL_WAIT_S 30		/* for a reply */

static void ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: vswitch ctl [-s SOCKET | -c FILE] [--json] COMMAND "
		"[ARGS]\n"
		"  -s SOCKET  the control socket\n"
		"  -c FILE    the configuration naming it (default "
		"/etc/vswitch/config.ini)\n"
		"  --json     print the reply as it came (one line of JSON)\n"
		"commands:\n"
		"  show [PORT]                  the switch and its ports\n"
		"  stats [PORT]                 every counter, per port\n"
		"  fdb [show] [PORT] [vlan N]   learned addresses\n"
		"  fdb flush [PORT]             forget them\n"
		"  port PORT disable|enable     take a port down, or back up\n"
		"  log-level [LEVEL]            error, warn, info or debug\n"
		"  reload                       read the configuration again\n"
		"  metrics                      counters, Prometheus text format\n"
		"  events                       follow events until interrupted\n"
		"exit status: 0 done, 1 error reply, 2 usage, 3 switch not "
		"running\n");
}

/* One event, one line: its members as key=value. */
static void ctl_print_event(const char *s, const struct json_tok *t, int n)
{
	char key[64], val[256];
	unsigned int k;
	int i = 1;

	for (k = 0; k < t[0].size && i + 1 < n; k++) {
		int v = i + 1;

		json_str(s, t, i, key, sizeof(key));
		if (t[v].type == JSON_STRING)
			json_str(s, t, v, val, sizeof(val));
		else
			snprintf(val, sizeof(val), "%.*s", (int)t[v].len,
				 s + t[v].start);
		printf(k ? " %s=%s" : "%s=%s", key, val);
		i = (int)t[v].next;
	}
	putchar('\n');
}

/*
 * Print reply line @s (@n bytes, no newline): as it is with @json, else
 * as text for people. Return: the exit status it means.
 */
static int ctl_print(const char *s, size_t n, bool json, bool event)
{
	size_t ntok = n / 2 + 4, off;
	struct json_tok *t = calloc(ntok, sizeof(*t));
	const char *why;
	int r, ok, res, status = CTL_EXIT_ERROR;
	bool yes = false;

	if (!t) {
		fprintf(stderr, "vswitch ctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	r = json_parse(s, n, t, (unsigned int)ntok, &off, &why);
	if (r < 0 || t[0].type != JSON_OBJECT) {
		fprintf(stderr, "vswitch ctl: the switch sent what is not a "
			"reply (%s at byte %zu)\n", r < 0 ? why : "no object",
			r < 0 ? off : 0);
		free(t);
		return CTL_EXIT_ERROR;
	}
	if (event) {
		if (json)
			printf("%.*s\n", (int)n, s);
		else
			ctl_print_event(s, t, r);
		free(t);
		return CTL_EXIT_OK;
	}
	ok = json_get(s, t, 0, "ok");
	if (ok < 0 || !json_bool(s, t, ok, &yes) || !yes) {
		char msg[1024] = "";
		int e = json_get(s, t, 0, "error");

		if (e >= 0)
			json_str(s, t, e, msg, sizeof(msg));
		if (json)
			printf("%.*s\n", (int)n, s);
		fprintf(stderr, "vswitch ctl: %s\n", msg[0] ? msg :
			"error reply without a reason");
		free(t);
		return CTL_EXIT_ERROR;
	}
	status = CTL_EXIT_OK;
	res = json_get(s, t, 0, "result");
	/* What a reload could not do makes it an error too. */
	ok = res >= 0 ? json_get(s, t, res, "failed") : -1;
	if (ok >= 0 && t[ok].type == JSON_ARRAY && t[ok].size) {
		fprintf(stderr, "vswitch ctl: %u change%s could not be made "
			"(see \"failed\")\n", t[ok].size,
			t[ok].size == 1 ? "" : "s");
		status = CTL_EXIT_ERROR;
	}
	if (json) {
		printf("%.*s\n", (int)n, s);
	} else if (res >= 0) {
		struct jw out;

		jw_init(&out, 0);
		json_render(s, t, res, &out);
		if (out.failed) {
			fprintf(stderr, "vswitch ctl: out of memory\n");
			status = CTL_EXIT_ERROR;
		} else if (out.len) {
			fwrite(out.buf, 1, out.len, stdout);
		}
		jw_free(&out);
	}
	free(t);
	return status;
}

/* Where the control socket is: -s, or what the configuration says. */
static int ctl_socket(const char *sock, const char *file, char *path,
		      size_t size)
{
	static struct config c;
	struct cfg_error e;

	if (sock) {
		if (strlen(sock) >= size) {
			fprintf(stderr, "vswitch ctl: %s: path too long\n",
				sock);
			return -1;
		}
		strcpy(path, sock);
		return 0;
	}
	if (config_load(file, &c, &e) < 0) {
		print_cfg_error(file, &e);
		fprintf(stderr, "vswitch ctl: cannot find the control socket "
			"(give -s SOCKET or -c FILE)\n");
		return -1;
	}
	if (!c.control[0]) {
		fprintf(stderr, "vswitch ctl: %s has no control socket "
			"(control = is empty)\n", file);
		return -1;
	}
	snprintf(path, size, "%s", c.control);
	return 0;
}

static int ctl_main(int argc, char **argv)
{
	const char *sock = NULL, *file = "/etc/vswitch/config.ini";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = VS_CTL_WAIT_S };
	char req[VS_CTL_LINE + 1];
	size_t len = 0, have = 0, cap = 0;
	bool json = false, events = false, first = true;
	char *buf = NULL;
	int i, fd, status = CTL_EXIT_OK;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			json = true;
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		} else {
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	/* --json may also come last, as in "vswitch ctl show --json". */
	if (argc > i && strcmp(argv[argc - 1], "--json") == 0) {
		json = true;
		argc--;
	}
	if (i >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	events = strcmp(argv[i], "events") == 0;
	for (; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (strpbrk(argv[i], " \t\r\n") || len + w + 2 > sizeof(req)) {
			fprintf(stderr, "vswitch ctl: %s: not a word of a "
				"request\n", argv[i]);
			return CTL_EXIT_USAGE;
		}
		if (len)
			req[len++] = ' ';
		memcpy(req + len, argv[i], w);
		len += w;
	}
	req[len++] = '\n';
	if (ctl_socket(sock, file, addr.sun_path, sizeof(addr.sun_path)) < 0)
		return CTL_EXIT_USAGE;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("vswitch ctl: socket");
		return CTL_EXIT_ERROR;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED) {
			fprintf(stderr, "vswitch ctl: vswitch is not running "
				"(nothing listens on %s)\n", addr.sun_path);
			return CTL_EXIT_DOWN;
		}
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "vswitch ctl: %s: %s (the socket's "
				"owner, group and mode are control_owner, "
				"control_group and control_perm)\n",
				addr.sun_path, strerror(e));
			return CTL_EXIT_ERROR;
		}
		fprintf(stderr, "vswitch ctl: %s: %s\n", addr.sun_path,
			strerror(e));
		return CTL_EXIT_ERROR;
	}
	if (!events)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* A switch that refuses the client says why before it closes: the
	 * reply is read even when the request could not be sent. */
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len &&
	    errno != EPIPE && errno != ECONNRESET) {
		fprintf(stderr, "vswitch ctl: sending the request: %s\n",
			strerror(errno));
		close(fd);
		return CTL_EXIT_ERROR;
	}
	for (;;) {
		char *nl;
		ssize_t r;

		if (cap - have < 65536) {
			char *b;

			if (cap >= VS_CTL_REPLY_MAX) {
				fprintf(stderr, "vswitch ctl: reply longer "
					"than %u bytes\n", VS_CTL_REPLY_MAX);
				status = CTL_EXIT_ERROR;
				break;
			}
			b = realloc(buf, cap ? 2 * cap : 65536);
			if (!b) {
				fprintf(stderr, "vswitch ctl: out of memory\n");
				status = CTL_EXIT_ERROR;
				break;
			}
			buf = b;
			cap = cap ? 2 * cap : 65536;
		}
		r = recv(fd, buf + have, cap - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				fprintf(stderr, "vswitch ctl: no reply in %d s\n",
					VS_CTL_WAIT_S);
			else if (r < 0)
				fprintf(stderr, "vswitch ctl: %s\n",
					strerror(errno));
			else if (first || have)
				fprintf(stderr, "vswitch ctl: the switch closed "
					"the connection before replying\n");
			status = first || have || r < 0 ? CTL_EXIT_ERROR :
				 status;
			break;
		}
		have += (size_t)r;
		while ((nl = memchr(buf, '\n', have))) {
			size_t n = (size_t)(nl - buf);

			status = ctl_print(buf, n, json, !first);
			first = false;
			fflush(stdout);
			memmove(buf, nl + 1, have - n - 1);
			have -= n + 1;
			if (!events || status != CTL_EXIT_OK)
				goto out;
		}
	}
out:
	free(buf);
	close(fd);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vswitch ctl: writing the output: %s\n",
			strerror(errno));
		return CTL_EXIT_ERROR;
	}
	return status;
}


static void usage(FILE *f)
{
	fprintf(f,
		"usage: vswitch [-c FILE] [-t] [-k] [-v] [-V] [-h]\n"
		"       vswitch ctl [-s SOCKET | -c FILE] [--json] COMMAND "
		"[ARGS] (ctl -h)\n"
		"  -c FILE  configuration (default /etc/vswitch/config.ini)\n"
		"  -t       check the configuration, print it and exit\n"
		"  -k       check that this kernel's io_uring serves vswitch, "
		"and exit\n"
		"  -v       log at debug level\n"
		"  -V       print the version and exit\n"
		"  -h       this help\n"
		"Runs in the foreground and logs to stderr. SIGTERM or SIGINT\n"
		"stop it; SIGHUP reloads the configuration; SIGUSR1 logs the\n"
		"counters.\n");
}

int main(int argc, char **argv)
{
	const char *file = "/etc/vswitch/config.ini";
	bool check = false, kernel = false;
	struct cfg_error e;
	uint64_t key;
	unsigned int i;
	int c;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	while ((c = getopt(argc, argv, "c:tkvVh")) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'k':
			kernel = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("vswitch %s\n", VSWITCH_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* What an init system asks before it starts (and respawns) us. */
	if (kernel) {
		if (uring_init() < 0)
			return 1;
		printf("io_uring: usable\n");
		return 0;
	}
	if (config_load(file, &cfg, &e) < 0) {
		print_cfg_error(file, &e);
		return 2;
	}
	if (check) {
		config_dump(stdout, &cfg);
		return 0;
	}
	log_level = verbose ? LOG_DEBUG : cfg.sw.log_level;

	if (getrandom(&key, sizeof(key), 0) != sizeof(key))
		key = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	if (sw_init(&sw, &sw_ops, NULL, cfg.sw.fdb_size, cfg.sw.fdb_aging,
		    key) < 0) {
		log_errx(NULL, "cannot allocate the FDB");
		return 1;
	}
	sw_set_limits(&sw, cfg.sw.rx_wait_ms, cfg.sw.fdb_aging);
	if (signals_init() < 0) {
		log_warn(NULL, "signals");
		return 1;
	}
	if (uring_init() < 0)
		return 1;
	start_ms = monotonic_ms();
	jw_init(&ctl_ev, 0);
	for (i = 0; i < VS_CTL_SLOTS; i++)
		ctl[i].fd = -1;
	if (apply_config(&cfg, true) < 0 || control_open_at_start() < 0 ||
	    (cfg.sw.user >= 0 && drop_privileges((uid_t)cfg.sw.user) < 0)) {
		stopping = true;
		ctl_close(true);
		for (i = 0; i < VS_MAX_PORTS; i++)
			if (ports[i].in_use)
				port_close(&ports[i]);
		remove_made_dirs();
		return 2;
	}
	arm_signal();
	running = true;
	logq.queue = true;
	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use && !is_uplink(&ports[i]))
			log_info(&ports[i], "%s %s", ports[i].cfg.mode ==
				 MODE_SERVER ? "listening on" : "connecting to",
				 ports[i].cfg.path);
	log_info(NULL, "vswitch %s running: %u port%s, FDB of %u, ageing "
		 "%u s", VSWITCH_VERSION, cfg.nports, cfg.nports == 1 ? "" : "s",
		 cfg.sw.fdb_size, cfg.sw.fdb_aging);

	event_loop();

	ctl_close(true);
	for (i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use)
			port_close(&ports[i]);
	log_fdb();
	close(signal_fd);
	sw_free(&sw);
	remove_made_dirs();
	log_info(NULL, "stopped");
	log_finish();
	io_uring_queue_exit(&ring);
	/* No request can use a client's buffers any more. */
	jw_free(&ctl_ev);
	for (i = 0; i < VS_CTL_SLOTS; i++) {
		jw_free(&ctl[i].out);
		free(ctl[i].in);
	}
	return 0;
}

#if VS_SMALL
#pragma GCC pop_options
#endif
