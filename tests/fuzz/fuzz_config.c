/*
 * libFuzzer target: the configuration parser (vswitch.c config_read, with
 * inih underneath), on whatever bytes the fuzzer makes of a config file.
 *
 * vswitch.c is compiled in whole, its main() renamed, so the parser is the
 * one the switch runs. Beyond the sanitizers: a config that is refused
 * names a reason; one that is accepted has 1..VS_MAX_PORTS ports with
 * distinct, non-empty socket paths, and survives a round trip: what
 * "vswitch -t" prints for it reads back to the same configuration.
 */
#define main vswitch_main
int vswitch_main(int argc, char **argv);
#include "../../vswitch.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const void *text, size_t len, struct config *c,
		 struct cfg_error *e)
{
	FILE *f;
	int r;

	memset(c, 0, sizeof(*c));
	memset(e, 0, sizeof(*e));
	strcpy(c->file, "/fuzz/config.ini");
	strcpy(c->dir, "/fuzz");
	/* fmemopen() refuses an empty buffer: an empty file it is. */
	f = len ? fmemopen((void *)text, len, "r") : fopen("/dev/null", "r");
	if (!f)
		abort();
	r = config_read(f, c, e);
	fclose(f);
	return r;
}

/* "vswitch -t" for @c, in a malloc'ed string. */
static char *dump(const struct config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	config_dump(f, c);
	fclose(f);
	return buf;
}

static void check_accepted(const struct config *c)
{
	if (c->nports == 0 || c->nports > VS_MAX_PORTS)
		abort();
	for (unsigned int i = 0; i < c->nports; i++) {
		const struct port_cfg *p = &c->port[i];

		if (!p->name[0] || !p->path[0] ||
		    strnlen(p->path, sizeof(p->path)) >= sizeof(p->path))
			abort();
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(c->port[j].path, p->path) ||
			    !strcmp(c->port[j].name, p->name))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c, again;
	static struct cfg_error e;
	char *text, *text2;
	size_t len, len2;

	if (parse(data, size, &c, &e) < 0) {
		if (!e.why[0])
			abort();	/* refused without a reason */
		return 0;
	}
	check_accepted(&c);
	text = dump(&c, &len);
	if (parse(text, len, &again, &e) < 0) {
		fprintf(stderr, "dump does not read back: line %d: %s\n%s",
			e.line, e.why, text);
		abort();
	}
	text2 = dump(&again, &len2);
	if (len != len2 || memcmp(text, text2, len)) {
		fprintf(stderr, "dump changed on reading back:\n%s---\n%s",
			text, text2);
		abort();
	}
	free(text);
	free(text2);
	return 0;
}
