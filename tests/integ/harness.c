/* Integration harness: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MEM_SIZE	(128u << 20)
#define IND_MAX		4
#define TX_STRIDE	(H_MAX_FRAME + 16 + 48)	/* not a power of two */
#define HDR_OFF		40960	/* headers kept apart, in a ring's 64 KiB */
#define HDR_STRIDE	16	/* room for the longest header (12) */
#define VICTIM_REGION	1	/* with a victim: main region 0, victim 1 */
#define ETHERTYPE_TEST	0x88b5

const uint8_t mac_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int wait_used(struct guest *gu, unsigned int q, int timeout_ms);

static int now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ---- the switch ---- */

static pid_t running[16];
static char dirs[64][64];
static unsigned int ndirs;

/* At exit: no switch left running, no directory left behind. */
static void kill_running(void)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (running[i] > 0)
			kill(running[i], SIGKILL);
	for (i = 0; i < ndirs && !getenv("INTEG_KEEP"); i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dirs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dirs[i]);
	}
}

static void track(pid_t pid, pid_t old)
{
	static bool registered;
	unsigned int i;

	if (!registered) {
		atexit(kill_running);
		registered = true;
	}
	for (i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
		if (running[i] == old) {
			running[i] = pid;
			return;
		}
	}
}

const char *vs_sock(const struct vs *v, const char *name)
{
	static char path[8][128];
	static unsigned int n;
	char *p = path[n++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s.sock", v->dir, name);
	return p;
}

int vs_start(struct vs *v, const char *bin, unsigned int nports,
	     const char *extra, const char *env)
{
	return vs_start_sw(v, bin, NULL, nports, extra, env);
}

int vs_start_sw(struct vs *v, const char *bin, const char *sw,
		unsigned int nports, const char *extra, const char *env)
{
	FILE *f;
	unsigned int i;
	int deadline;

	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "/tmp/vswitch-integ.XXXXXX");
	if (!mkdtemp(v->dir))
		return -1;
	if (ndirs < sizeof(dirs) / sizeof(dirs[0]))
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", v->dir);
	snprintf(v->cfg, sizeof(v->cfg), "%s/config.ini", v->dir);
	snprintf(v->log, sizeof(v->log), "%s/vswitch.log", v->dir);
	f = fopen(v->cfg, "w");
	if (!f)
		return -1;
	fprintf(f, "[switch]\nsocket_dir = %s\nlog_level = debug\n%s\n",
		v->dir, sw ? sw : "");
	for (i = 0; i < nports; i++)
		fprintf(f, "\n[port p%u]\n", i);
	if (extra)
		fprintf(f, "\n%s\n", extra);
	fclose(f);

	v->pid = fork();
	if (v->pid < 0)
		return -1;
	if (v->pid == 0) {
		int fd = open(v->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		if (env)
			putenv((char *)env);
		execl(bin, bin, "-c", v->cfg, (char *)NULL);
		_exit(127);
	}
	track(v->pid, 0);
	deadline = now_ms() + H_TIMEOUT_MS;
	for (i = 0; i < nports; i++) {
		char name[16];
		struct stat st;

		snprintf(name, sizeof(name), "p%u", i);
		while (stat(vs_sock(v, name), &st) < 0 || !S_ISSOCK(st.st_mode)) {
			if (now_ms() > deadline || !vs_alive(v))
				return -1;
			usleep(10000);
		}
	}
	return 0;
}

int vs_run_config(const char *bin, const char *text, char *out,
		  size_t size)
{
	struct vs v;
	char *body, *at;
	FILE *f;
	int status, deadline;
	size_t n;
	pid_t r;

	memset(&v, 0, sizeof(v));
	snprintf(v.dir, sizeof(v.dir), "/tmp/vswitch-integ.XXXXXX");
	if (!mkdtemp(v.dir))
		return -1;
	if (ndirs < sizeof(dirs) / sizeof(dirs[0]))
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", v.dir);
	snprintf(v.cfg, sizeof(v.cfg), "%s/config.ini", v.dir);
	snprintf(v.log, sizeof(v.log), "%s/vswitch.log", v.dir);
	f = fopen(v.cfg, "w");
	if (!f)
		return -1;
	body = strdup(text);
	for (at = body; (at = strstr(at, "@DIR@")); at = body) {
		*at = '\0';
		fprintf(f, "%s%s", body, v.dir);
		memmove(body, at + 5, strlen(at + 5) + 1);
	}
	fputs(body, f);
	free(body);
	fclose(f);
	v.pid = fork();
	if (v.pid == 0) {
		int fd = open(v.log, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(bin, bin, "-c", v.cfg, (char *)NULL);
		_exit(127);
	}
	if (v.pid < 0)
		return -1;
	track(v.pid, 0);
	deadline = now_ms() + H_TIMEOUT_MS;
	while ((r = waitpid(v.pid, &status, WNOHANG)) == 0 &&
	       now_ms() < deadline)
		usleep(10000);
	if (r == 0) {
		kill(v.pid, SIGKILL);
		waitpid(v.pid, &status, 0);
	}
	track(0, v.pid);
	out[0] = '\0';
	f = fopen(v.log, "r");
	if (f) {
		n = fread(out, 1, size - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The number after @key in /proc/PID/status, or -1. */
static long status_field(const struct vs *v, const char *key)
{
	char path[64], line[128];
	size_t klen = strlen(key);
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)v->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			n = strtol(line + klen, NULL, 10);
			break;
		}
	}
	if (f)
		fclose(f);
	return n;
}

long vs_rss_kb(const struct vs *v)
{
	return status_field(v, "VmRSS:");
}

long vs_uid(const struct vs *v)
{
	return status_field(v, "Uid:");
}

long vs_fds(const struct vs *v)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)v->pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long vs_maps(const struct vs *v)
{
	char path[64], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)v->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n'))
			n++;
	fclose(f);
	return n;
}

long vs_wakeups(const struct vs *v)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)v->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

long long vs_cpu_ns(const struct vs *v)
{
	char path[64];
	long long ns = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)v->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = -1;
	fclose(f);
	return ns;
}

bool vs_alive(const struct vs *v)
{
	int status;

	return v->pid > 0 && waitpid(v->pid, &status, WNOHANG) == 0;
}

void vs_signal(const struct vs *v, int sig)
{
	if (v->pid > 0)
		kill(v->pid, sig);
}

int vs_stop(struct vs *v)
{
	int status, deadline = now_ms() + 2 * H_TIMEOUT_MS;
	pid_t r;

	if (v->pid <= 0)
		return -1;
	kill(v->pid, SIGTERM);
	while ((r = waitpid(v->pid, &status, WNOHANG)) == 0) {
		if (now_ms() > deadline) {
			kill(v->pid, SIGKILL);
			waitpid(v->pid, &status, 0);
			r = -1;
			break;
		}
		usleep(10000);
	}
	track(0, v->pid);
	v->pid = 0;
	if (r < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static char *read_log(const struct vs *v)
{
	FILE *f = fopen(v->log, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int vs_log_count(const struct vs *v, const char *needle)
{
	char *log = read_log(v), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

bool vs_log_has(const struct vs *v, const char *needle)
{
	return vs_log_count(v, needle) > 0;
}

bool vs_wait_log(const struct vs *v, const char *needle)
{
	int deadline = now_ms() + H_TIMEOUT_MS;

	while (!vs_log_has(v, needle)) {
		if (now_ms() > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

int vs_wait_log_count(const struct vs *v, const char *needle, int n)
{
	int deadline = now_ms() + H_TIMEOUT_MS, k;

	while ((k = vs_log_count(v, needle)) < n && now_ms() <= deadline)
		usleep(10000);
	return k;
}

long long vs_stat(const struct vs *v, const char *port, const char *key)
{
	char *log = read_log(v), *line = NULL, *p, tag[64], k[64];
	long long val = -1;

	snprintf(tag, sizeof(tag), "port %s: stats ", port);
	for (p = log; p && (p = strstr(p, tag)); p++)
		line = p;
	snprintf(k, sizeof(k), " %s=", key);
	if (line) {
		char *eol = strchr(line, '\n');

		if (eol)
			*eol = '\0';
		p = strstr(line, k);
		if (p)
			val = strtoll(p + strlen(k), NULL, 10);
	}
	free(log);
	return val;
}

/* ---- frames ---- */

void mac_make(uint8_t *mac, uint8_t id)
{
	static const uint8_t base[6] = { 0x52, 0x54, 0, 0, 0, 0 };

	memcpy(mac, base, 6);
	mac[5] = id;
}

size_t frame_make(uint8_t *buf, size_t len, const uint8_t *dst,
		  const uint8_t *src, uint32_t seq)
{
	size_t i;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = ETHERTYPE_TEST >> 8;
	buf[13] = ETHERTYPE_TEST & 0xff;
	buf[14] = (uint8_t)(seq >> 24);
	buf[15] = (uint8_t)(seq >> 16);
	buf[16] = (uint8_t)(seq >> 8);
	buf[17] = (uint8_t)seq;
	for (i = 18; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i);
	return len;
}

bool frame_check(const uint8_t *buf, size_t len, const uint8_t *dst,
		 const uint8_t *src, uint32_t seq)
{
	uint8_t want[H_MAX_FRAME];

	if (len < 18 || len > sizeof(want))
		return false;
	frame_make(want, len, dst, src, seq);
	return memcmp(buf, want, len) == 0;
}

/* ---- frames with checksums (the tests' own reference) ---- */

/* The RFC 1071 sum of @n bytes, byte by byte, added to @sum. */
static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t sum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where the L4 header of the IPv4 or IPv6 frame @f starts, its protocol
 * and the sum of its pseudo-header; 0 if it is neither. */
static size_t l4_at(const uint8_t *f, size_t len, uint8_t *proto,
		    uint32_t *pseudo)
{
	size_t ip = f[12] == 0x81 && f[13] == 0 ? 18 : 14, l4;

	if (len < ip + 20)
		return 0;
	if (f[ip - 2] == 0x08 && f[ip - 1] == 0x00) {
		l4 = ip + (size_t)(f[ip] & 15) * 4;
		*proto = f[ip + 9];
		*pseudo = sum_bytes(f + ip + 12, 8, *proto + (uint32_t)(len - l4));
	} else if (f[ip - 2] == 0x86 && f[ip - 1] == 0xdd && len > ip + 40) {
		l4 = ip + 40;
		*proto = f[ip + 6];
		*pseudo = sum_bytes(f + ip + 8, 32, *proto + (uint32_t)(len - l4));
	} else {
		return 0;
	}
	return l4 < len ? l4 : 0;
}

size_t l4_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		bool v6, uint8_t proto, size_t payload, uint32_t seq,
		struct virtio_net_hdr *h)
{
	size_t ip = 14, l4 = ip + (v6 ? 40 : 20);
	size_t hl = proto == 6 ? 24 : 8;	/* TCP with an MSS option */
	size_t len = l4 + hl + payload, i;
	uint16_t off = proto == 6 ? 16 : 6, part;
	uint32_t pseudo = 0;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (v6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[ip] = 0x60;
		f[ip + 4] = (uint8_t)((len - l4) >> 8);
		f[ip + 5] = (uint8_t)(len - l4);
		f[ip + 6] = proto;
		f[ip + 7] = 64;
		f[ip + 8] = 0xfd;		/* fd00::1 -> fd00::2 */
		f[ip + 23] = 1;
		f[ip + 24] = 0xfd;
		f[ip + 39] = 2;
	} else {
		f[12] = 0x08;
		f[ip] = 0x45;
		f[ip + 2] = (uint8_t)((len - ip) >> 8);
		f[ip + 3] = (uint8_t)(len - ip);
		f[ip + 8] = 64;
		f[ip + 9] = proto;
		f[ip + 12] = 10;		/* 10.0.0.1 -> 10.0.0.2 */
		f[ip + 15] = 1;
		f[ip + 16] = 10;
		f[ip + 19] = 2;
		part = (uint16_t)~sum_fold(sum_bytes(f + ip, 20, 0));
		f[ip + 10] = (uint8_t)(part >> 8);
		f[ip + 11] = (uint8_t)part;
	}
	f[l4] = 0x30;
	f[l4 + 1] = 0x39;
	f[l4 + 2] = (uint8_t)(seq >> 8);
	f[l4 + 3] = (uint8_t)seq;
	if (proto == 6) {
		f[l4 + 4] = (uint8_t)(seq >> 24);	/* sequence number */
		f[l4 + 7] = (uint8_t)seq;
		f[l4 + 12] = 6 << 4;		/* 24-byte header */
		f[l4 + 13] = 0x18;		/* PSH ACK */
		f[l4 + 14] = 0xff;
		f[l4 + 20] = 2;			/* MSS 1460 */
		f[l4 + 21] = 4;
		f[l4 + 22] = 0x05;
		f[l4 + 23] = 0xb4;
	} else {
		f[l4 + 4] = (uint8_t)((len - l4) >> 8);
		f[l4 + 5] = (uint8_t)(len - l4);
	}
	for (i = l4 + hl; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	/* What a guest leaves with NEEDS_CSUM: the pseudo-header's sum. */
	l4_at(f, len, &proto, &pseudo);
	part = sum_fold(pseudo);
	f[l4 + off] = (uint8_t)(part >> 8);
	f[l4 + off + 1] = (uint8_t)part;
	if (h) {
		memset(h, 0, sizeof(*h));
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16((uint16_t)l4);
		h->csum_offset = htole16(off);
	}
	return len;
}

void l4_tso(struct virtio_net_hdr *h, const uint8_t *f, uint16_t mss)
{
	size_t l4 = le16toh(h->csum_start);

	h->gso_type = f[12] == 0x86 ? VIRTIO_NET_HDR_GSO_TCPV6 :
				      VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = htole16(mss);
	h->hdr_len = htole16((uint16_t)(l4 + (f[l4 + 12] >> 4) * 4));
}

size_t l4_segment(const uint8_t *f, size_t len, size_t mss, unsigned int i,
		  bool partial, uint8_t *out)
{
	bool v6 = f[12] == 0x86;
	size_t ip = 14, l4 = ip + (v6 ? 40 : (size_t)(f[ip] & 15) * 4);
	size_t thl = (size_t)(f[l4 + 12] >> 4) * 4, at = l4 + thl + i * mss;
	size_t n = (len - l4 - thl + mss - 1) / mss;
	size_t plen = i + 1 < n ? mss : len - at;
	uint32_t tl = (uint32_t)(thl + plen), seq, pseudo = 0;
	uint16_t c, id;
	uint8_t proto;

	if (i >= n)
		return 0;
	memcpy(out, f, l4 + thl);
	memcpy(out + l4 + thl, f + at, plen);
	if (v6) {
		out[ip + 4] = (uint8_t)(tl >> 8);
		out[ip + 5] = (uint8_t)tl;
	} else {
		out[ip + 2] = (uint8_t)((l4 - ip + tl) >> 8);
		out[ip + 3] = (uint8_t)(l4 - ip + tl);
		id = (uint16_t)((f[ip + 4] << 8 | f[ip + 5]) + i);
		out[ip + 4] = (uint8_t)(id >> 8);
		out[ip + 5] = (uint8_t)id;
		out[ip + 10] = out[ip + 11] = 0;
		c = (uint16_t)~sum_fold(sum_bytes(out + ip, l4 - ip, 0));
		out[ip + 10] = (uint8_t)(c >> 8);
		out[ip + 11] = (uint8_t)c;
	}
	seq = ((uint32_t)f[l4 + 4] << 24 | (uint32_t)f[l4 + 5] << 16 |
	       (uint32_t)f[l4 + 6] << 8 | f[l4 + 7]) + (uint32_t)(i * mss);
	out[l4 + 4] = (uint8_t)(seq >> 24);
	out[l4 + 5] = (uint8_t)(seq >> 16);
	out[l4 + 6] = (uint8_t)(seq >> 8);
	out[l4 + 7] = (uint8_t)seq;
	if (i + 1 < n)
		out[l4 + 13] &= (uint8_t)~0x09;		/* FIN, PSH */
	if (i)
		out[l4 + 13] &= (uint8_t)~0x80;		/* CWR */
	out[l4 + 16] = out[l4 + 17] = 0;
	l4_at(out, l4 + tl, &proto, &pseudo);
	c = sum_fold(pseudo);
	if (!partial) {
		c = (uint16_t)~sum_fold(sum_bytes(out + l4, tl, c));
		c = c ? c : 0xffff;
	}
	out[l4 + 16] = (uint8_t)(c >> 8);
	out[l4 + 17] = (uint8_t)c;
	return l4 + tl;
}

void l4_complete(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint16_t c = (uint16_t)~sum_fold(sum_bytes(f + start, len - start, 0));

	if (!c)
		c = 0xffff;
	f[start + off] = (uint8_t)(c >> 8);
	f[start + off + 1] = (uint8_t)c;
}

bool l4_csum_ok(const uint8_t *f, size_t len)
{
	uint32_t pseudo = 0;
	uint8_t proto;
	size_t l4 = l4_at(f, len, &proto, &pseudo);

	return l4 && (proto == 6 || proto == 17) &&
	       sum_fold(sum_bytes(f + l4, len - l4, pseudo)) == 0xffff;
}

/* ---- front-end transport over the socket ---- */

static int sock_send(void *ctx, const struct vu_msg *m, const int *fds,
		     unsigned int nfds)
{
	struct guest *gu = ctx;
	struct iovec iov[2] = {
		{ (void *)&m->hdr, sizeof(m->hdr) },
		{ (void *)m->payload.raw, m->hdr.size },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		size_t align;
	} cbuf;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = sendmsg(gu->sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(m->hdr) + m->hdr.size ? 0 : -EIO;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t have = 0;

	while (have < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + have, len - have, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		have += (size_t)n;
	}
	return 0;
}

static int sock_recv(void *ctx, struct vu_msg *m)
{
	struct guest *gu = ctx;
	int err = read_full(gu->sock, &m->hdr, sizeof(m->hdr));

	if (err)
		return err;
	if (m->hdr.size > sizeof(m->payload))
		return -EPROTO;
	return read_full(gu->sock, m->payload.raw, m->hdr.size);
}

/* ---- a guest ---- */

struct guest_opts guest_defaults(void)
{
	struct guest_opts o = {
		.features = GUEST_ALL_FEATURES,
		.protocol = GUEST_ALL_PROTOCOL,
		.nregions = 1,
		.qsz = 256,
		.rxbuf = 2048,
		.layout = TX_MIXED,
	};

	return o;
}

static uint64_t rx_stride(const struct guest *gu)
{
	return gu->o.rxbuf + 16;
}

static bool is_victim(const struct guest *gu, unsigned int q,
		      enum victim_part part)
{
	return gu->o.victim == part && gu->o.victim_q == q;
}

/* Does ring @q keep each header in a descriptor of its own, away from
 * its frame (the buffer and header victims)? */
static bool hdr_apart(const struct guest *gu, unsigned int q)
{
	return is_victim(gu, q, VICTIM_BUFFERS) ||
	       is_victim(gu, q, VICTIM_HEADERS);
}

/* Post one receive buffer, in a layout that changes from one to the next
 * with TX_MIXED. */
static int post_rx(struct guest *gu)
{
	struct vring_driver *d = &gu->ring[VU_RX];
	unsigned int slot = gu->rx_next_slot++ % gu->o.qsz;
	uint64_t gpa = gu->rx_gpa + slot * rx_stride(gu), hg, fg;
	size_t len = gu->o.rxbuf, h = gu->hlen;
	struct vring_seg s[3];
	unsigned int style = gu->o.layout == TX_MIXED ? slot % 3 : 0;
	bool apart = hdr_apart(gu, VU_RX);
	int head;

	/* Indirect: the frame in a 100-byte piece and the rest, when
	 * buffers are large enough for that. */
	if (style == 2 && (!(gu->features &
			     (1ULL << VIRTIO_RING_F_INDIRECT_DESC)) ||
			   len <= h + 100))
		style = 0;
	if (is_victim(gu, VU_RX, VICTIM_INDIRECT))
		style = 2;
	else if (apart && style == 0)
		style = 1;
	/* Where the header and the frame go: one after the other, or the
	 * header in a slot of its own. */
	hg = apart ? gu->hdr_gpa[VU_RX] + slot * HDR_STRIDE : gpa;
	fg = apart ? gpa : gpa + h;
	switch (style) {
	case 0:
		s[0] = (struct vring_seg){ gpa, (uint32_t)len, true };
		head = vring_driver_add(d, s, 1, false);
		break;
	case 1:
		s[0] = (struct vring_seg){ hg, (uint32_t)h, true };
		s[1] = (struct vring_seg){ fg, (uint32_t)(len - h), true };
		head = vring_driver_add(d, s, 2, false);
		break;
	default:
		s[0] = (struct vring_seg){ hg, (uint32_t)h, true };
		s[1] = (struct vring_seg){ fg, 100, true };
		s[2] = (struct vring_seg){ fg + 100,
					   (uint32_t)(len - h - 100), true };
		head = vring_driver_add(d, s, 3, true);
		break;
	}
	if (head < 0) {
		gu->rx_next_slot--;
		return head;
	}
	gu->rx_buf_of[head] = gpa;
	return 0;
}

/* Copy @n bytes from @off bytes into receive chain @head. */
static void rx_read(struct guest *gu, int head, size_t off, uint8_t *buf,
		    size_t n)
{
	uint64_t gpa = gu->rx_buf_of[head], hg;
	size_t h = gu->hlen;

	if (!hdr_apart(gu, VU_RX)) {
		guestmem_read(&gu->g, gpa + off, buf, n);
		return;
	}
	/* The header in its buffer's slot, the rest from the buffer. */
	hg = gu->hdr_gpa[VU_RX] +
	     (gpa - gu->rx_gpa) / rx_stride(gu) * HDR_STRIDE;
	if (off < h) {
		size_t k = n < h - off ? n : h - off;

		guestmem_read(&gu->g, hg + off, buf, k);
		buf += k;
		off += k;
		n -= k;
	}
	if (n)
		guestmem_read(&gu->g, gpa + (off - h), buf, n);
}

void guest_kick(struct guest *gu, unsigned int q)
{
	uint64_t one = 1;

	if (vring_driver_kick(&gu->ring[q]) &&
	    write(gu->kick[q], &one, sizeof(one)) != sizeof(one))
		perror("kick");
}

void guest_fill_rx(struct guest *gu)
{
	while (post_rx(gu) == 0)
		;
	guest_kick(gu, VU_RX);
}

/* Bytes of the avail ring (@used false) or used ring (@used true)
 * before its event word. */
static uint64_t ring_body(const struct guest *gu, bool used)
{
	return used ? vring_used_size(gu->o.qsz) - 2 :
		      vring_avail_size(gu->o.qsz) - 2;
}

/* Where the victim's file is cut: at the page boundary right after the
 * ring whose event word is the victim (the word starts the next page),
 * or at 0 to take the whole part. */
static uint64_t victim_keep(const struct guest *gu)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t page = pg > 0 ? (uint64_t)pg : 4096, body;

	if (gu->o.victim == VICTIM_USED_EVENT)
		body = ring_body(gu, false);
	else if (gu->o.victim == VICTIM_AVAIL_EVENT)
		body = ring_body(gu, true);
	else
		return 0;
	return (body + page - 1) / page * page;
}

static void set_layout(struct guest *gu)
{
	unsigned int q;
	uint64_t v;

	for (q = 0; q < VU_NUM_VQ; q++) {
		uint64_t base = GUESTMEM_GPA_BASE + q * 65536;

		gu->desc_gpa[q] = base;
		gu->avail_gpa[q] = base + 16384;
		gu->used_gpa[q] = base + 24576;
		gu->hdr_gpa[q] = base + HDR_OFF;
		gu->ind_gpa[q] = GUESTMEM_GPA_BASE + 131072 + q * 65536;
	}
	gu->rx_gpa = GUESTMEM_GPA_BASE + 262144;
	gu->tx_gpa = gu->rx_gpa + gu->o.qsz * rx_stride(gu);
	if (gu->o.victim == VICTIM_NONE)
		return;
	/* The victim moves to the start of its region; an event word's
	 * ring so that it ends where the kept part of the file does. The
	 * ring and its word stay in one region: the switch requires each
	 * ring part, event word included, inside one. Alignments hold
	 * (desc 16, avail 2, used 4): the region and page are aligned,
	 * and the ring bodies are 4 + 2 * num and 4 + 8 * num bytes. */
	v = gu->g.region[VICTIM_REGION].gpa;
	q = gu->o.victim_q;
	switch (gu->o.victim) {
	case VICTIM_DESC:
		gu->desc_gpa[q] = v;
		break;
	case VICTIM_AVAIL:
		gu->avail_gpa[q] = v;
		break;
	case VICTIM_USED_EVENT:
		gu->avail_gpa[q] = v + victim_keep(gu) - ring_body(gu, false);
		break;
	case VICTIM_USED:
		gu->used_gpa[q] = v;
		break;
	case VICTIM_AVAIL_EVENT:
		gu->used_gpa[q] = v + victim_keep(gu) - ring_body(gu, true);
		break;
	case VICTIM_INDIRECT:
		gu->ind_gpa[q] = v;
		break;
	case VICTIM_BUFFERS:
		if (q == VU_RX)
			gu->rx_gpa = v;
		else
			gu->tx_gpa = v;
		break;
	case VICTIM_HEADERS:
		gu->hdr_gpa[q] = v;
		break;
	case VICTIM_NONE:
		break;
	}
}

int guest_cut_victim(struct guest *gu)
{
	int err;

	if (gu->o.victim == VICTIM_NONE)
		return -EINVAL;
	err = guestmem_truncate(&gu->g, VICTIM_REGION, victim_keep(gu));
	if (!err)
		gu->victim_cut = true;
	return err;
}

static void reap_tx(struct guest *gu)
{
	uint32_t len;

	while (vring_driver_get_used(&gu->ring[VU_TX], &len) >= 0)
		;
}

static int handshake(struct guest *gu)
{
	struct vu_fe_io io = { sock_send, sock_recv, gu };
	struct mem_region_desc d[MEM_MAX_REGIONS];
	struct vu_fe_ring rings[VU_NUM_VQ];
	int fds[MEM_MAX_REGIONS];
	unsigned int q;
	int err;

	err = vu_fe_connect(&gu->fe, &io, gu->o.protocol);
	if (err)
		return err;
	gu->features = gu->o.features & gu->fe.dev_features;
	gu->hlen = vu_hdr_len(gu->features);
	if (is_victim(gu, gu->o.victim_q, VICTIM_INDIRECT) &&
	    !(gu->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
		return -EINVAL;	/* no chain could be indirect */
	set_layout(gu);
	for (q = 0; q < VU_NUM_VQ; q++) {
		void *desc = guestmem_ptr(&gu->g, gu->desc_gpa[q],
					  vring_desc_size(gu->o.qsz));
		void *avail = guestmem_ptr(&gu->g, gu->avail_gpa[q],
					   vring_avail_size(gu->o.qsz));
		void *used = guestmem_ptr(&gu->g, gu->used_gpa[q],
					  vring_used_size(gu->o.qsz));
		void *ind = guestmem_ptr(&gu->g, gu->ind_gpa[q],
					 gu->o.qsz * IND_MAX * 16);

		if (!desc || !avail || !used || !ind)
			return -EINVAL;
		vring_driver_init(&gu->ring[q], gu->o.qsz, desc, avail, used,
				  ind, gu->ind_gpa[q], IND_MAX, gu->ndesc[q],
				  gu->features);
		rings[q] = (struct vu_fe_ring){
			.num = gu->o.qsz,
			.desc = guestmem_uva(&gu->g, gu->desc_gpa[q]),
			.avail = guestmem_uva(&gu->g, gu->avail_gpa[q]),
			.used = guestmem_uva(&gu->g, gu->used_gpa[q]),
			.kick_fd = gu->kick_dev[q],
			.call_fd = gu->call[q],
		};
	}
	/* Transmit completions are reaped when sending: no interrupts. */
	vring_driver_want_interrupts(&gu->ring[VU_TX], false);
	if (!gu->o.rx_later)
		guest_fill_rx(gu);
	guestmem_descs(&gu->g, d, fds);
	err = vu_fe_start(&gu->fe, gu->o.features, gu->g.region, fds,
			  gu->g.nregions, rings, VU_NUM_VQ);
	if (!err && !gu->o.no_enable)
		err = guest_enable(gu);
	/* Without REPLY_ACK nothing says the switch is done: ask. */
	if (!err)
		err = guest_sync(gu);
	return err;
}

int guest_enable(struct guest *gu)
{
	return vu_fe_enable(&gu->fe, VU_NUM_VQ, true);
}

int guest_enable_ring(struct guest *gu, unsigned int q, bool on)
{
	struct vu_vring_state s = { q, on };
	int err = vu_fe_request(&gu->fe, VHOST_USER_SET_VRING_ENABLE, &s,
				sizeof(s), NULL, 0, NULL);

	return err ? err : guest_sync(gu);
}

bool guest_tx_reaped(struct guest *gu)
{
	reap_tx(gu);
	return gu->ring[VU_TX].num_free == gu->o.qsz;
}

int announce_port(struct guest *from, struct guest *others, unsigned int n,
		  uint32_t seq)
{
	uint8_t f[60], r[H_MAX_FRAME];
	unsigned int i;

	frame_make(f, sizeof(f), mac_broadcast, from->mac, seq);
	if (guest_send(from, f, sizeof(f)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (guest_recv(&others[i], r, sizeof(r), H_TIMEOUT_MS) != 60 ||
		    !frame_check(r, 60, mac_broadcast, from->mac, seq))
			return -1;
	return 0;
}

bool pair_exchanges(struct guest *a, struct guest *b, uint32_t *seq)
{
	uint8_t f[1514];
	int n;

	if (guest_pending(a) || guest_pending(b)) {
		fprintf(stderr, "  the good pair got an unexpected frame\n");
		return false;
	}
	frame_make(f, 600, b->mac, a->mac, *seq);
	if (guest_send(a, f, 600) < 0)
		return false;
	n = guest_recv(b, f, sizeof(f), H_TIMEOUT_MS);
	if (n != 600 || !frame_check(f, 600, b->mac, a->mac, (*seq)++))
		return false;
	frame_make(f, 1514, a->mac, b->mac, *seq);
	if (guest_send(b, f, 1514) < 0)
		return false;
	n = guest_recv(a, f, sizeof(f), H_TIMEOUT_MS);
	return n == 1514 && frame_check(f, 1514, a->mac, b->mac, (*seq)++);
}

bool guest_tx_done(struct guest *gu)
{
	reap_tx(gu);
	while (gu->ring[VU_TX].num_free != gu->o.qsz) {
		if (wait_used(gu, VU_TX, H_TIMEOUT_MS) < 0)
			return false;
		reap_tx(gu);
	}
	return true;
}

int guest_attach(struct guest *gu, int sock, const struct guest_opts *o,
		 uint8_t id)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };
	unsigned int q;
	int err;

	memset(gu, 0, sizeof(*gu));
	gu->o = o ? *o : guest_defaults();
	gu->sock = sock;
	mac_make(gu->mac, id);
	for (q = 0; q < VU_NUM_VQ; q++) {
		int pfd[2] = { -1, -1 };

		if (gu->o.pipe_kicks) {
			if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
				return -errno;
			gu->kick_dev[q] = pfd[0];
			gu->kick[q] = pfd[1];
		} else {
			gu->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			gu->kick_dev[q] = gu->kick[q];
		}
		gu->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (gu->o.victim > VICTIM_HEADERS || gu->o.victim_q >= VU_NUM_VQ)
		return -EINVAL;
	if (gu->o.victim != VICTIM_NONE)
		err = guestmem_init_files(&gu->g, 2 * (size_t)MEM_SIZE, 2);
	else
		err = guestmem_init(&gu->g, MEM_SIZE, gu->o.nregions);
	if (err)
		return err;
	return handshake(gu);
}

int guest_connect(struct guest *gu, const char *path,
		  const struct guest_opts *o, uint8_t id)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int deadline = now_ms() + H_TIMEOUT_MS;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (now_ms() > deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	return guest_attach(gu, fd, o, id);
}

/* Wait for an interrupt on ring @q, unless entries are already used. */
static int wait_used(struct guest *gu, unsigned int q, int timeout_ms)
{
	struct vring_driver *d = &gu->ring[q];
	struct pollfd p = { gu->call[q], POLLIN, 0 };
	uint64_t v;
	int r;

	vring_driver_want_interrupts(d, true);
	if (le16toh(__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE)) !=
	    d->last_used)
		r = 1;
	else
		r = poll(&p, 1, timeout_ms);
	if (read(gu->call[q], &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	if (q == VU_TX)
		vring_driver_want_interrupts(d, false);
	return r > 0 ? 0 : -ETIMEDOUT;
}

static int queue_hdr(struct guest *gu, const struct virtio_net_hdr *vh,
		     const uint8_t *frame, size_t len)
{
	struct vring_driver *d = &gu->ring[VU_TX];
	enum tx_layout l = gu->o.layout;
	bool apart = hdr_apart(gu, VU_TX);
	struct vring_seg s[3];
	uint64_t gpa, hg, fg;
	uint8_t hdr[12] = { 0 };
	int head, need;

	if (len > H_MAX_FRAME)
		return -EINVAL;
	if (l == TX_MIXED)
		l = (enum tx_layout)(gu->sent % 3);
	if (l == TX_INDIRECT &&
	    !(gu->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
		l = TX_ONE_DESC;
	if (is_victim(gu, VU_TX, VICTIM_INDIRECT))
		l = TX_INDIRECT;
	else if (apart && l == TX_ONE_DESC)
		l = TX_HDR_APART;
	need = l == TX_HDR_APART ? 2 : 1;
	reap_tx(gu);
	while (d->num_free < need) {
		if (wait_used(gu, VU_TX, H_TIMEOUT_MS) < 0)
			return -ETIMEDOUT;
		reap_tx(gu);
	}
	/* The header right before the frame, or in a slot of its own
	 * (one per head: no two chains in flight share it). */
	gpa = gu->tx_gpa + (uint64_t)d->free_head * TX_STRIDE;
	hg = apart ? gu->hdr_gpa[VU_TX] + (uint64_t)d->free_head * HDR_STRIDE :
		     gpa;
	fg = apart ? gpa : gpa + gu->hlen;
	if (vh)
		memcpy(hdr, vh, sizeof(hdr));
	if (!(gu->victim_cut && is_victim(gu, VU_TX, VICTIM_HEADERS)))
		guestmem_write(&gu->g, hg, hdr, gu->hlen);
	guestmem_write(&gu->g, fg, frame, len);
	switch (l) {
	case TX_HDR_APART:
		s[0] = (struct vring_seg){ hg, (uint32_t)gu->hlen, false };
		s[1] = (struct vring_seg){ fg, (uint32_t)len, false };
		head = vring_driver_add(d, s, 2, false);
		break;
	case TX_INDIRECT:
		s[0] = (struct vring_seg){ hg, (uint32_t)gu->hlen, false };
		s[1] = (struct vring_seg){ fg, (uint32_t)(len < 14 ? len : 14),
					   false };
		s[2] = (struct vring_seg){ fg + 14, (uint32_t)(len - 14),
					   false };
		head = vring_driver_add(d, s, len > 14 ? 3 : 2, true);
		break;
	default:
		s[0] = (struct vring_seg){ gpa, (uint32_t)(gu->hlen + len),
					   false };
		head = vring_driver_add(d, s, 1, false);
		break;
	}
	if (head < 0)
		return head;
	gu->sent++;
	return 0;
}

int guest_queue(struct guest *gu, const uint8_t *frame, size_t len)
{
	return queue_hdr(gu, NULL, frame, len);
}

int guest_send_hdr(struct guest *gu, const struct virtio_net_hdr *h,
		   const uint8_t *frame, size_t len)
{
	int err = queue_hdr(gu, h, frame, len);

	if (!err)
		guest_kick(gu, VU_TX);
	return err;
}

int guest_send(struct guest *gu, const uint8_t *frame, size_t len)
{
	return guest_send_hdr(gu, NULL, frame, len);
}

void guest_publish(struct guest *gu, unsigned int q)
{
	(void)vring_driver_kick(&gu->ring[q]);
}

void guest_notify(struct guest *gu, unsigned int q)
{
	uint64_t one = 1;

	if (write(gu->kick[q], &one, sizeof(one)) != sizeof(one))
		perror("kick");
}

bool guest_pending(struct guest *gu)
{
	struct vring_driver *d = &gu->ring[VU_RX];

	return le16toh(__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE)) !=
	       d->last_used;
}

/* What a receiver may be handed: flags only as it negotiated them
 * (GUEST_CSUM), a checksum to complete inside the frame after its
 * Ethernet header, segmentation only as negotiated (GUEST_TSO4/6, ECN)
 * into segments of at least a byte. */
static bool header_valid(const struct guest *gu, const struct virtio_net_hdr *h,
			 size_t len)
{
	uint8_t ok = gu->features & (1ULL << VIRTIO_NET_F_GUEST_CSUM) ?
		     VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID :
		     0;
	uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & ~ok) || (h->flags & (h->flags - 1)))	/* one */
		return false;
	if (h->gso_type &&
	    (!(gu->features &
	       (1ULL << (type == VIRTIO_NET_HDR_GSO_TCPV4 ?
			 VIRTIO_NET_F_GUEST_TSO4 : VIRTIO_NET_F_GUEST_TSO6))) ||
	     (type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	      type != VIRTIO_NET_HDR_GSO_TCPV6) ||
	     ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	      !(gu->features & (1ULL << VIRTIO_NET_F_GUEST_ECN))) ||
	     !h->gso_size))
		return false;
	return !(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	       (start >= 14 && (size_t)start + off + 2 <= len);
}

int guest_recv(struct guest *gu, uint8_t *buf, size_t max, int timeout_ms)
{
	return guest_recv_hdr(gu, NULL, buf, max, timeout_ms);
}

int guest_recv_hdr(struct guest *gu, struct virtio_net_hdr *out, uint8_t *buf,
		   size_t max, int timeout_ms)
{
	struct vring_driver *d = &gu->ring[VU_RX];
	bool mrg = gu->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr h;
	unsigned int nbufs, i;
	size_t total = 0;
	uint32_t len;
	int head, err = 0;

	while ((head = vring_driver_get_used(d, &len)) == -EAGAIN) {
		if (wait_used(gu, VU_RX, timeout_ms) < 0)
			return -ETIMEDOUT;
	}
	if (head < 0 || len < gu->hlen || len > gu->o.rxbuf)
		return -EPROTO;
	memset(&h, 0, sizeof(h));
	rx_read(gu, head, 0, (uint8_t *)&h, gu->hlen);
	nbufs = mrg ? le16toh(h.num_buffers) : 1;
	if (nbufs == 0 || (!mrg && gu->hlen == 12 && le16toh(h.num_buffers) != 1))
		err = -EPROTO;
	if (out)
		*out = h;
	for (i = 0; i < nbufs && !err; i++) {
		size_t off = i ? 0 : gu->hlen, n = len - off;

		if (i && (head = vring_driver_get_used(d, &len)) < 0) {
			err = -EPROTO;	/* published in one go, or not at all */
			break;
		}
		n = len - off;
		if (total + n > max) {
			err = -EMSGSIZE;
			break;
		}
		if (buf)
			rx_read(gu, head, off, buf + total, n);
		total += n;
	}
	for (i = 0; i < nbufs; i++)
		post_rx(gu);
	guest_kick(gu, VU_RX);
	if (!err && !header_valid(gu, &h, total))
		err = -EPROTO;
	return err ? err : (int)total;
}

int guest_sync(struct guest *gu)
{
	struct vu_msg r;

	return vu_fe_request(&gu->fe, VHOST_USER_GET_FEATURES, NULL, 0, NULL,
			     0, &r);
}

int guest_stop(struct guest *gu, uint16_t bases[VU_NUM_VQ])
{
	return vu_fe_stop(&gu->fe, VU_NUM_VQ, bases);
}

bool guest_closed_by_peer(struct guest *gu, int timeout_ms)
{
	struct pollfd p = { gu->sock, POLLIN, 0 };
	char c;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return recv(gu->sock, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0 ||
	       (p.revents & (POLLHUP | POLLERR));
}

void guest_close(struct guest *gu)
{
	struct guestmem mem;
	unsigned int q;

	if (gu->sock > 0)
		close(gu->sock);
	for (q = 0; q < VU_NUM_VQ; q++) {
		if (gu->kick_dev[q] > 0 && gu->kick_dev[q] != gu->kick[q])
			close(gu->kick_dev[q]);
		if (gu->kick[q] > 0)
			close(gu->kick[q]);
		if (gu->call[q] > 0)
			close(gu->call[q]);
	}
	guestmem_free(&gu->g);
	/* guestmem_free left the memory empty (no fd): keep it that way,
	 * so that closing a closed guest closes nothing. */
	mem = gu->g;
	memset(gu, 0, sizeof(*gu));
	gu->g = mem;
	gu->sock = -1;
}
