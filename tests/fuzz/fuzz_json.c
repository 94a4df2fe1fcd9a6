/*
 * libFuzzer target: proto/json.c, both ways.
 *
 * The input is read as JSON text, with room for NTOK tokens. If it
 * parses: the look-ups stay within the tokens, every string token
 * unescapes (json_eq agreeing), and the text rendered for people holds
 * no control character but '\n', no line ending in a space, and ends
 * in '\n' (a top-level string is printed as it is: only the last).
 *
 * Then the same bytes are one string for the writer: its text must
 * parse, to one string token, whose value is the input with each byte
 * that is not part of valid UTF-8 replaced by U+FFFD. The target works
 * that value out on its own, from Unicode's table of well-formed byte
 * sequences rather than the module's decoder. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTOK 1024

static struct json_tok tok[NTOK];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_json: %s\n", what);
	abort();
}

/*
 * The length of the well-formed UTF-8 sequence at @p (@n > 0 bytes), or
 * 0: Unicode 15, table 3-7, row by row.
 */
static size_t well_formed(const uint8_t *p, size_t n)
{
	static const struct {
		uint8_t first_lo, first_hi, second_lo, second_hi;
		size_t len;
	} row[] = {
		{ 0x00, 0x7f, 0x00, 0x00, 1 },
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 },
		{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};
	size_t r, i;

	for (r = 0; r < sizeof(row) / sizeof(row[0]); r++)
		if (p[0] >= row[r].first_lo && p[0] <= row[r].first_hi)
			break;
	if (r == sizeof(row) / sizeof(row[0]))
		return 0;
	if (row[r].len == 1)
		return 1;
	if (n < row[r].len || p[1] < row[r].second_lo ||
	    p[1] > row[r].second_hi)
		return 0;
	for (i = 2; i < row[r].len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return row[r].len;
}

/* String token @i unescaped, in a buffer of its own (to be freed);
 * *@len its length. */
static char *unescaped(const char *s, int i, int *len)
{
	char *buf = malloc((size_t)tok[i].len + 1);

	if (!buf)
		die("out of memory");
	*len = json_str(s, tok, i, buf, (size_t)tok[i].len + 1);
	if (*len < 0 || (uint32_t)*len > tok[i].len)
		die("json_str: a length out of range");
	return buf;
}

/*
 * The tokens json_parse() made, @n of them: each value's tokens end
 * within its container's, the last element of an array where the array
 * does, an object's first key finds its first member, and json_eq agrees
 * with json_str.
 */
static void check_tokens(const char *s, int n)
{
	char *buf;
	int i, len;

	for (i = 0; i < n; i++) {
		if (tok[i].next <= (uint32_t)i || tok[i].next > (uint32_t)n)
			die("next out of range");
		if (tok[i].type == JSON_ARRAY && tok[i].size &&
		    tok[json_at(tok, i, tok[i].size - 1)].next != tok[i].next)
			die("the last element does not end the array");
		if (tok[i].type == JSON_ARRAY &&
		    json_at(tok, i, tok[i].size) != -1)
			die("an element past the end");
		if (tok[i].type == JSON_OBJECT && tok[i].size) {
			buf = unescaped(s, i + 1, &len);
			if (strlen(buf) == (size_t)len &&
			    json_get(s, tok, i, buf) != i + 2)
				die("the first key does not find its member");
			free(buf);
		}
		if (tok[i].type != JSON_STRING)
			continue;
		buf = unescaped(s, i, &len);
		if (strlen(buf) == (size_t)len && !json_eq(s, tok, i, buf))
			die("json_eq disagrees with json_str");
		free(buf);
	}
}

/* The text for people: see the top of this file. */
static void check_render(const char *s)
{
	bool as_is = tok[0].type == JSON_STRING;
	struct jw w;
	size_t i;

	jw_init(&w, 0);
	json_render(s, tok, 0, &w);
	if (w.failed)
		die("render failed");
	if (w.len != strlen(w.buf) && !as_is)
		die("a NUL in the rendered text");
	if (w.len && w.buf[w.len - 1] != '\n')
		die("the rendered text does not end in a newline");
	for (i = 0; i < w.len && !as_is; i++) {
		if ((uint8_t)w.buf[i] < 0x20 && w.buf[i] != '\n')
			die("a control character rendered");
		if (w.buf[i] == '\n' && i && w.buf[i - 1] == ' ')
			die("a line ends in a space");
	}
	jw_free(&w);
}

/* @data as one string through the writer, and back. */
static void check_round_trip(const uint8_t *data, size_t size)
{
	char *want = malloc(3 * size + 1), *got = malloc(3 * size + 1);
	size_t i = 0, k, n = 0, off;
	const char *why;
	struct jw w;

	if (!want || !got)
		die("out of memory");
	while (i < size) {
		k = well_formed(data + i, size - i);
		if (k) {
			memcpy(want + n, data + i, k);
			n += k;
			i += k;
		} else {
			memcpy(want + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	jw_init(&w, 0);
	jw_strn(&w, NULL, (const char *)data, size);
	if (w.failed)
		die("the writer failed");
	if (json_parse(w.buf, w.len, tok, NTOK, &off, &why) != 1)
		die("the writer's text does not parse");
	if (tok[0].type != JSON_STRING)
		die("the writer's text is not a string");
	if (json_str(w.buf, tok, 0, got, 3 * size + 1) != (int)n ||
	    memcmp(got, want, n) != 0)
		die("the string did not come back");
	jw_free(&w);
	free(got);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *why;
	size_t off;
	int n;

	n = json_parse(s, size, tok, NTOK, &off, &why);
	if (n == 0 || n > NTOK)
		die("a token count out of range");
	if (n > 0) {
		check_tokens(s, n);
		check_render(s);
	} else if (off > size || !why) {
		die("an error without its place or reason");
	}
	check_round_trip(data, size);
	return 0;
}
