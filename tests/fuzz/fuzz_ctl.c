/*
 * libFuzzer target: the control socket's requests (vswitch.c ctl_line and
 * everything it calls: show, stats, the FDB dump, metrics, port disable
 * and enable, log-level, reload, events), on lines the fuzzer writes,
 * against a switch with real ports: vswitch.c is compiled in whole, its
 * main() renamed, with a real io_uring and listening sockets in a
 * directory of its own.
 *
 * Beyond the sanitizers: every request gets exactly one reply, a line of
 * JSON that parses, an object whose first member is "ok", with "result"
 * when ok and a non-empty "error" when not.
 */
#define main vswitch_main
int vswitch_main(int argc, char **argv);
#include "../../vswitch.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void)
{
	char path[128];

	stopping = true;
	ctl_close(true);
	for (unsigned int i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use)
			port_close(&ports[i]);
	snprintf(path, sizeof(path), "%s/config.ini", dir);
	unlink(path);
	remove_made_dirs();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cfg_error e;
	char path[128];
	FILE *f;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/vswitch-fuzz-ctl.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config.ini", dir);
	f = fopen(path, "w");
	if (!f)
		abort();
	fprintf(f, "[switch]\nsocket_dir = %s/run\nfdb_size = 64\n"
		"log_level = error\n"
		"[port a]\nvlan = 3\n[port b]\ntrunk = 10-20\nmac = "
		"02:00:00:00:00:01\n", dir);
	fclose(f);
	log_level = LOG_ERROR;
	for (unsigned int i = 0; i < VS_CTL_SLOTS; i++)
		ctl[i].fd = -1;
	jw_init(&ctl_ev, 0);
	if (config_load(path, &cfg, &e) < 0 ||
	    sw_init(&sw, &sw_ops, NULL, cfg.sw.fdb_size, cfg.sw.fdb_aging,
		    1) < 0 ||
	    uring_init() < 0 || apply_config(&cfg, true) < 0 ||
	    ctl_open(&cfg, &(const char *){ NULL }) < 0)
		abort();
	running = true;
	/* Addresses to dump: enough for more than one bucket each. */
	for (unsigned int i = 0; i < 60; i++) {
		uint8_t mac[6] = { 2, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };

		l2_learn(&sw.fdb, (uint16_t)(i % 3 ? 0 : 10 + i % 7), mac,
			 (uint16_t)(i & 1), 0, 0, NULL);
	}
	atexit(cleanup);
	return 0;
}

/* The reply in @w: one line, a JSON object, "ok" first. */
static void check_reply(const struct jw *w)
{
	static struct json_tok t[1 << 16];
	const char *why;
	size_t off;
	bool ok;
	int n, i;

	if (w->failed || !w->len || w->buf[w->len - 1] != '\n' ||
	    memchr(w->buf, '\n', w->len) != w->buf + w->len - 1)
		abort();
	n = json_parse(w->buf, w->len - 1, t, sizeof(t) / sizeof(t[0]), &off,
		       &why);
	if (n < 3 || t[0].type != JSON_OBJECT || t[1].type != JSON_STRING ||
	    !json_eq(w->buf, t, 1, "ok") || !json_bool(w->buf, t, 2, &ok))
		abort();
	i = json_get(w->buf, t, 0, ok ? "result" : "error");
	if (i < 0 || (!ok && t[i].len == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_client c;
	char line[VS_CTL_LINE];
	size_t at = 0;

	if (!c.out.buf)
		jw_init(&c.out, 0);
	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = (nl ? (size_t)(nl - data) : size) - at;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, data + at, len);
		jw_reset(&c.out);
		c.stream = CTL_NONE;
		c.closing = false;
		ctl_line(&c, line, len);
		if (!c.out.len) {
			/* Only a line of blanks goes unanswered (ctl_line
			 * cuts its copy into words). */
			for (size_t k = 0; k < len; k++)
				if (!strchr(" \t\r", data[at + k]) ||
				    !data[at + k])
					abort();
			at += len + 1;
			continue;
		}
		at += len + 1;
		/* An FDB dump, a piece at a time, into one reply. */
		while (c.stream == CTL_FDB) {
			size_t before = c.out.len;

			ctl_fdb_chunk(&c);
			if (c.stream == CTL_FDB && c.out.len == before)
				abort();	/* no progress */
		}
		if (c.stream != CTL_EVENTS)
			check_reply(&c.out);
		if (c.stream == CTL_EVENTS) {
			ctl_nevents = 0;
			sw_set_events(&sw, false);
			c.stream = CTL_NONE;
			jw_free(&c.out);
			jw_init(&c.out, 0);
		}
	}
	/* What a request turned off, back on for the next input. */
	for (unsigned int i = 0; i < VS_MAX_PORTS; i++)
		if (ports[i].in_use && ports[i].disabled)
			port_disable(&ports[i], false);
	log_level = LOG_ERROR;
	/* Completions of what the requests submitted (cancels, accepts). */
	submit();
	handle_completions();
	return 0;
}
