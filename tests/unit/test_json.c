/*
 * Unit tests for proto/json: the writer, the reader and the renderer of
 * the control socket's replies.
 */
#include <stdint.h>
#include <string.h>

#include "../../proto/json.h"
#include "test.h"

#define NTOK 256

static struct json_tok tok[NTOK];

static int parse(const char *s)
{
	size_t off;
	const char *why;

	return json_parse(s, strlen(s), tok, NTOK, &off, &why);
}

/* Does @s fail to parse with @why at @off? */
static int rejects(const char *s, const char *why, size_t off)
{
	size_t o = SIZE_MAX;
	const char *w = NULL;
	int n = json_parse(s, strlen(s), tok, NTOK, &o, &w);

	if (n == -1 && w && strcmp(w, why) == 0 && o == off)
		return 1;
	fprintf(stderr, "  %s: got %d, \"%s\" at %zu\n", s, n, w ? w : "",
		o);
	return 0;
}

/* The unescaped value of string token @i (static storage). */
static const char *str_of(const char *s, int i)
{
	static char b[512];

	return json_str(s, tok, i, b, sizeof(b)) >= 0 ? b : "(not a string)";
}

/* Render document @doc; the text, or NULL if it does not parse. */
static struct jw rw;

static const char *render(const char *doc)
{
	if (parse(doc) < 0)
		return NULL;
	jw_reset(&rw);
	json_render(doc, tok, 0, &rw);
	return rw.failed ? NULL : rw.buf;
}

/* CHECK that @got is @want, and show both if not. */
#define CHECK_STR(got, want) CHECK(same_text(got, want))

static int same_text(const char *got, const char *want)
{
	if (got && strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "--- got:\n%s\n--- want:\n%s\n---\n",
		got ? got : "(null)", want);
	return 0;
}

/* ---- writer ---- */

TEST(test_jw_nests_with_commas_and_keys)
{
	struct jw w;

	jw_init(&w, 0);
	CHECK(w.buf && w.buf[0] == '\0');
	jw_object(&w, NULL);
	jw_uint(&w, "a", 1);
	jw_array(&w, "b");
	jw_int(&w, NULL, -2);
	jw_object(&w, NULL);
	jw_bool(&w, "c", true);
	jw_end(&w);
	jw_array(&w, NULL);
	jw_end(&w);
	jw_bool(&w, NULL, false);
	jw_end(&w);
	jw_object(&w, "d");
	jw_end(&w);
	jw_null(&w, "e");
	jw_str(&w, "f", NULL);
	jw_str(&w, "g", "x");
	jw_end(&w);
	CHECK(!w.failed);
	CHECK(w.depth == 0);
	CHECK_STR(w.buf, "{\"a\":1,\"b\":[-2,{\"c\":true},[],false],\"d\":{},"
		  "\"e\":null,\"f\":null,\"g\":\"x\"}");
	CHECK(w.len == strlen(w.buf));
	jw_free(&w);
}

TEST(test_jw_integers_in_decimal)
{
	struct jw w;

	jw_init(&w, 0);
	jw_array(&w, NULL);
	jw_uint(&w, NULL, 0);
	jw_uint(&w, NULL, UINT64_MAX);
	jw_int(&w, NULL, 0);
	jw_int(&w, NULL, -1);
	jw_int(&w, NULL, INT64_MAX);
	jw_int(&w, NULL, INT64_MIN);
	jw_end(&w);
	CHECK_STR(w.buf, "[0,18446744073709551615,0,-1,9223372036854775807,"
		  "-9223372036854775808]");
	jw_free(&w);
}

TEST(test_jw_escapes_quotes_backslashes_and_control_bytes)
{
	struct jw w;

	jw_init(&w, 0);
	jw_object(&w, NULL);
	jw_str(&w, "k\"\n", "\"\\/\b\f\n\r\t\x01\x1f\x7f end");
	jw_strn(&w, "nul", "a\0b", 3);
	jw_end(&w);
	CHECK_STR(w.buf, "{\"k\\\"\\n\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001"
		  "\\u001f\x7f end\",\"nul\":\"a\\u0000b\"}");
	jw_free(&w);
}

/* Each byte that is not part of a valid sequence is one U+FFFD. */
TEST(test_jw_replaces_invalid_utf8)
{
	static const struct {
		const char *in, *out;
	} c[] = {
		{ "\xc3\xa9", "\"\xc3\xa9\"" },			/* é */
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },		/* € */
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },	/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },	/* U+10FFFF */
		{ "a\xff" "b", "\"a\xef\xbf\xbd" "b\"" },
		{ "\x80", "\"\xef\xbf\xbd\"" },			/* lone tail */
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },	/* overlong */
		{ "\xe0\x80\xaf",				/* overlong */
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80",				/* surrogate */
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80",				/* > U+10FFFF */
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },	/* cut short */
		{ "\xe2\x82" "a", "\"\xef\xbf\xbd\xef\xbf\xbd" "a\"" },
	};
	struct jw w;
	size_t i;

	jw_init(&w, 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		jw_reset(&w);
		jw_str(&w, NULL, c[i].in);
		CHECK_STR(w.buf, c[i].out);
	}
	jw_free(&w);
}

TEST(test_jw_never_passes_max)
{
	struct jw w;

	jw_init(&w, 10);
	jw_str(&w, NULL, "12345678");		/* 10 bytes: fits exactly */
	CHECK(!w.failed && w.len == 10);
	jw_reset(&w);
	jw_str(&w, NULL, "123456789");
	CHECK(w.failed);
	CHECK(w.len <= 10 && w.buf[w.len] == '\0');
	jw_uint(&w, NULL, 1);			/* nothing more once failed */
	CHECK(w.len <= 10);
	jw_reset(&w);
	CHECK(!w.failed && w.len == 0 && w.buf[0] == '\0');
	jw_raw(&w, "0123456789", 10);
	CHECK(!w.failed);
	jw_printf(&w, "%d", 1);
	CHECK(w.failed && w.len == 10);
	jw_free(&w);

	/* A long text, past the first buffer, without a limit. */
	jw_init(&w, 0);
	jw_array(&w, NULL);
	for (int i = 0; i < 10000; i++)
		jw_uint(&w, NULL, 7);
	jw_end(&w);
	CHECK(!w.failed && w.len == 2 + 10000 * 2 - 1);
	jw_free(&w);
}

TEST(test_jw_printf_appends)
{
	struct jw w;

	jw_init(&w, 0);
	jw_printf(&w, "%s=%u", "rx", 42u);
	jw_raw(&w, "\n", 1);
	CHECK_STR(w.buf, "rx=42\n");
	jw_free(&w);
}

TEST(test_jw_bounds_depth)
{
	struct jw w;
	int i;

	jw_init(&w, 0);
	for (i = 0; i < JSON_DEPTH; i++)
		jw_array(&w, NULL);
	CHECK(!w.failed && w.depth == JSON_DEPTH);
	for (i = 0; i < JSON_DEPTH; i++)
		jw_end(&w);
	CHECK(!w.failed && w.depth == 0);
	CHECK(parse(w.buf) == JSON_DEPTH);
	jw_reset(&w);
	for (i = 0; i < JSON_DEPTH + 1; i++)
		jw_object(&w, i ? "k" : NULL);
	CHECK(w.failed);
	jw_free(&w);
}

TEST(test_jw_refuses_misplaced_keys)
{
	struct jw w;

	jw_init(&w, 0);
	jw_uint(&w, "top", 1);			/* a key at the top level */
	CHECK(w.failed && w.len == 0);
	jw_reset(&w);
	jw_array(&w, NULL);
	jw_uint(&w, "k", 1);			/* a key in an array */
	CHECK(w.failed);
	jw_reset(&w);
	jw_object(&w, NULL);
	jw_uint(&w, NULL, 1);			/* no key in an object */
	CHECK(w.failed);
	jw_reset(&w);
	jw_object(&w, NULL);
	jw_array(&w, "a");
	jw_str(&w, NULL, "x");
	jw_end(&w);
	jw_str(&w, NULL, "y");			/* back in the object */
	CHECK(w.failed);
	jw_reset(&w);
	jw_end(&w);				/* nothing to end */
	CHECK(w.failed);
	jw_reset(&w);
	jw_uint(&w, NULL, 1);
	jw_uint(&w, NULL, 2);			/* a second top-level value */
	CHECK(w.failed);
	jw_free(&w);
}

/* ---- reader ---- */

TEST(test_parse_fills_tokens_in_document_order)
{
	const char *s = " {\"a\": [1, {\"b\": null}, \"x\"], \"c\": true} ";

	REQUIRE(parse(s) == 10);
	CHECK(tok[0].type == JSON_OBJECT && tok[0].size == 2);
	CHECK(tok[0].start == 1 && tok[0].len == strlen(s) - 2);
	CHECK(tok[0].next == 10);
	CHECK(tok[1].type == JSON_STRING && tok[1].start == 3 &&
	      tok[1].len == 1);
	CHECK(tok[2].type == JSON_ARRAY && tok[2].size == 3 &&
	      tok[2].next == 8);
	CHECK(tok[3].type == JSON_NUMBER && tok[3].len == 1 &&
	      tok[3].next == 4);
	CHECK(tok[4].type == JSON_OBJECT && tok[4].size == 1 &&
	      tok[4].next == 7);
	CHECK(tok[6].type == JSON_NULL && tok[6].next == 7);
	CHECK(tok[7].type == JSON_STRING && tok[8].type == JSON_STRING);
	CHECK(tok[9].type == JSON_BOOL && tok[9].next == 10);
	CHECK(parse("\"\"") == 1 && tok[0].len == 0);
	CHECK(parse("[]") == 1 && tok[0].size == 0 && tok[0].len == 2);
	CHECK(parse("{ }") == 1 && tok[0].size == 0);
	CHECK(parse("\t\r\n 0 \n") == 1);
}

TEST(test_parse_accepts_rfc8259_numbers)
{
	static const char *ok[] = {
		"0", "-0", "1e10", "1.5E-3", "-12.25e+3", "10", "0.0", "1E0",
		"123456789012345678901234567890",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(parse(ok[i]) == 1);
		CHECK(tok[0].type == JSON_NUMBER &&
		      tok[0].len == strlen(ok[i]));
	}
	CHECK(parse("[-0,1e10,1.5E-3]") == 4);
}

TEST(test_parse_rejects_each_kind_of_error)
{
	CHECK(rejects("", "unexpected end", 0));
	CHECK(rejects("  ", "unexpected end", 2));
	CHECK(rejects("[1,2", "unexpected end", 4));
	CHECK(rejects("{\"a\"", "unexpected end", 4));
	CHECK(rejects("{\"a\":", "unexpected end", 5));
	CHECK(rejects("[1,]", "unexpected character", 3));
	CHECK(rejects("{\"a\":1,}", "unexpected character", 7));
	CHECK(rejects("{a:1}", "unexpected character", 1));
	CHECK(rejects("{\"a\" 1}", "unexpected character", 5));
	CHECK(rejects("[1 2]", "unexpected character", 3));
	CHECK(rejects("[1}", "unexpected character", 2));
	CHECK(rejects("'a'", "unexpected character", 0));
	CHECK(rejects("\x01", "unexpected character", 0));
	CHECK(rejects("01", "invalid number", 1));
	CHECK(rejects("-01", "invalid number", 2));
	CHECK(rejects("-", "invalid number", 1));
	CHECK(rejects("+1", "unexpected character", 0));
	CHECK(rejects(".5", "unexpected character", 0));
	CHECK(rejects("1.", "invalid number", 2));
	CHECK(rejects("1.e3", "invalid number", 2));
	CHECK(rejects("1e", "invalid number", 2));
	CHECK(rejects("1e+", "invalid number", 3));
	CHECK(rejects("1.5.3", "invalid number", 3));
	CHECK(rejects("[0x1]", "unexpected character", 2));
	CHECK(rejects("tru", "invalid literal", 0));
	CHECK(rejects("nul1", "invalid literal", 0));
	CHECK(rejects("True", "unexpected character", 0));
	CHECK(rejects("truex", "trailing characters", 4));
	CHECK(rejects("{} {}", "trailing characters", 3));
	CHECK(rejects("\"abc", "unterminated string", 0));
	CHECK(rejects("[\"a\\\"]", "unterminated string", 1));
	CHECK(rejects("\"a\nb\"", "control character in string", 2));
	CHECK(rejects("\"\t\"", "control character in string", 1));
	CHECK(rejects("\"\\x\"", "invalid escape", 1));
	CHECK(rejects("\"\\u12\"", "invalid escape", 1));
	CHECK(rejects("\"\\u12g4\"", "invalid escape", 1));
	CHECK(rejects("\"\\ud800\"", "invalid escape", 1));
	CHECK(rejects("\"\\ud800\\u0041\"", "invalid escape", 1));
	CHECK(rejects("\"\\ud800\\ud800\"", "invalid escape", 1));
	CHECK(rejects("\"\\udc00\"", "invalid escape", 1));
	CHECK(rejects("\"\\", "invalid escape", 1));
	CHECK(rejects("\"\xff\"", "invalid UTF-8", 1));
}

TEST(test_parse_checks_utf8)
{
	static const char *bad[] = {
		"\"\x80\"",			/* a lone continuation */
		"\"\xc0\x80\"",			/* overlong NUL */
		"\"\xc1\xbf\"",			/* overlong */
		"\"\xe0\x9f\xbf\"",		/* overlong 3 bytes */
		"\"\xf0\x8f\xbf\xbf\"",		/* overlong 4 bytes */
		"\"\xed\xa0\x80\"",		/* U+D800 */
		"\"\xed\xbf\xbf\"",		/* U+DFFF */
		"\"\xf4\x90\x80\x80\"",		/* U+110000 */
		"\"\xf5\x80\x80\x80\"",
		"\"\xc3\"",			/* cut short */
		"\"\xe2\x82\"",
		"\"\xc3(\"",
	};
	static const char *good[] = {
		"\"\xc2\x80\"", "\"\xdf\xbf\"", "\"\xe0\xa0\x80\"",
		"\"\xed\x9f\xbf\"", "\"\xee\x80\x80\"", "\"\xef\xbf\xbf\"",
		"\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(rejects(bad[i], "invalid UTF-8", 1));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(parse(good[i]) == 1);
}

TEST(test_parse_bounds_depth)
{
	char s[2 * (JSON_DEPTH + 1) + 1];
	int i;

	for (i = 0; i < JSON_DEPTH; i++) {
		s[i] = '[';
		s[JSON_DEPTH + i] = ']';
	}
	s[2 * JSON_DEPTH] = '\0';
	CHECK(parse(s) == JSON_DEPTH);
	for (i = 0; i <= JSON_DEPTH; i++) {
		s[i] = '[';
		s[JSON_DEPTH + 1 + i] = ']';
	}
	s[2 * (JSON_DEPTH + 1)] = '\0';
	CHECK(rejects(s, "nested too deep", JSON_DEPTH));
	s[JSON_DEPTH] = '{';		/* an object counts as much */
	s[JSON_DEPTH + 1] = '}';
	CHECK(rejects(s, "nested too deep", JSON_DEPTH));
}

TEST(test_parse_bounds_tokens)
{
	const char *s = "[1,[2,3]]";
	size_t off = 0;
	const char *why = NULL;

	CHECK(json_parse(s, strlen(s), tok, 5, &off, &why) == 5);
	CHECK(json_parse(s, strlen(s), tok, 4, &off, &why) == -1);
	CHECK(why && strcmp(why, "too many tokens") == 0 && off == 6);
	CHECK(json_parse(s, strlen(s), tok, 0, &off, &why) == -1);
	CHECK(off == 0);
}

/* Only what is declared is read: a value cut by @n is cut. */
TEST(test_parse_reads_n_bytes_only)
{
	size_t off;
	const char *why;

	CHECK(json_parse("[1]xyz", 3, tok, NTOK, &off, &why) == 2);
	CHECK(json_parse("\"ab\"", 3, tok, NTOK, &off, &why) == -1);
	CHECK(strcmp(why, "unterminated string") == 0);
	CHECK(json_parse("true", 3, tok, NTOK, &off, &why) == -1);
#if SIZE_MAX > UINT32_MAX
	CHECK(json_parse("1", (size_t)UINT32_MAX + 1, tok, NTOK, &off,
			 &why) == -1);
	CHECK(strcmp(why, "too long") == 0);
#endif
}

TEST(test_str_unescapes_and_joins_surrogate_pairs)
{
	const char *s = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
			" \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\","
			" \"\\u0000x\", \"\xc3\xa9\"]";
	char b[8];

	REQUIRE(parse(s) == 6);
	CHECK_STR(str_of(s, 1), "a\"b\\c/d\b\f\n\r\t");
	CHECK_STR(str_of(s, 2), "\xc3\xa9\xe2\x82\xac");
	CHECK_STR(str_of(s, 3), "\xf0\x9f\x98\x80");
	CHECK(json_str(s, tok, 4, b, sizeof(b)) == 2);
	CHECK(b[0] == '\0' && b[1] == 'x' && b[2] == '\0');
	CHECK_STR(str_of(s, 5), "\xc3\xa9");
	CHECK(json_str(s, tok, 0, b, sizeof(b)) == -1);
	CHECK(json_str(s, tok, -1, b, sizeof(b)) == -1);
}

TEST(test_str_truncates_on_a_character_boundary)
{
	const char *s = "\"ab\\u00e9cd\"";
	char b[8];

	REQUIRE(parse(s) == 1);
	CHECK(json_str(s, tok, 0, b, 4) == 6);
	CHECK_STR(b, "ab");		/* é would need 4 and the NUL */
	CHECK(json_str(s, tok, 0, b, 5) == 6);
	CHECK_STR(b, "ab\xc3\xa9");
	CHECK(json_str(s, tok, 0, b, 1) == 6 && b[0] == '\0');
	CHECK(json_str(s, tok, 0, NULL, 0) == 6);
}

TEST(test_get_at_uint_bool_eq)
{
	const char *s = "{\"name\": \"vm\\u0031\", \"up\": true,"
			" \"down\": false, \"rx\": 18446744073709551615,"
			" \"big\": 18446744073709551616, \"neg\": -1,"
			" \"neg0\": -0, \"frac\": 1.0, \"exp\": 1e2,"
			" \"zero\": 0, \"list\": [10, [20], 30],"
			" \"o\": {\"k\": 1}}";
	uint64_t v = 7;
	bool b;
	int l;

	REQUIRE(parse(s) > 0);
	CHECK(json_eq(s, tok, json_get(s, tok, 0, "name"), "vm1"));
	CHECK(!json_eq(s, tok, json_get(s, tok, 0, "name"), "vm"));
	CHECK(!json_eq(s, tok, json_get(s, tok, 0, "name"), "vm12"));
	CHECK(!json_eq(s, tok, json_get(s, tok, 0, "rx"), "1"));
	CHECK(json_get(s, tok, 0, "nope") == -1);
	CHECK(json_get(s, tok, -1, "name") == -1);
	CHECK(json_get(s, tok, json_get(s, tok, 0, "list"), "k") == -1);
	CHECK(json_bool(s, tok, json_get(s, tok, 0, "up"), &b) && b);
	CHECK(json_bool(s, tok, json_get(s, tok, 0, "down"), &b) && !b);
	CHECK(!json_bool(s, tok, json_get(s, tok, 0, "zero"), &b));
	CHECK(json_uint(s, tok, json_get(s, tok, 0, "rx"), &v) &&
	      v == UINT64_MAX);
	CHECK(json_uint(s, tok, json_get(s, tok, 0, "zero"), &v) && v == 0);
	v = 7;
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "big"), &v));
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "neg"), &v));
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "neg0"), &v));
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "frac"), &v));
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "exp"), &v));
	CHECK(!json_uint(s, tok, json_get(s, tok, 0, "name"), &v));
	CHECK(!json_uint(s, tok, -1, &v));
	CHECK(v == 7);
	l = json_get(s, tok, 0, "list");
	CHECK(json_uint(s, tok, json_at(tok, l, 0), &v) && v == 10);
	CHECK(json_uint(s, tok, json_at(tok, json_at(tok, l, 1), 0), &v) &&
	      v == 20);
	CHECK(json_uint(s, tok, json_at(tok, l, 2), &v) && v == 30);
	CHECK(json_at(tok, l, 3) == -1);
	CHECK(json_at(tok, 0, 0) == -1);	/* an object */
	CHECK(json_at(tok, -1, 0) == -1);
	CHECK(json_uint(s, tok, json_get(s, tok, json_get(s, tok, 0, "o"),
					 "k"), &v) && v == 1);
	/* A key is matched unescaped. */
	REQUIRE(parse("{\"a\\u0062\": 5}") == 3);
	CHECK(json_get("{\"a\\u0062\": 5}", tok, 0, "ab") == 2);
}

/* ---- round trip ---- */

TEST(test_round_trip_every_byte)
{
	char in[256], want[127 + 128 * 3 + 1], got[sizeof(want)];
	size_t n = 0;
	struct jw w;
	int i;

	for (i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	/* Bytes 0x80..0xff in order make no valid sequence: one U+FFFD
	 * each. */
	for (i = 1; i < 0x80; i++)
		want[n++] = (char)i;
	for (; i < 0x100; i++) {
		memcpy(want + n, "\xef\xbf\xbd", 3);
		n += 3;
	}
	want[n] = '\0';
	jw_init(&w, 0);
	jw_object(&w, NULL);
	jw_str(&w, in, in);
	jw_strn(&w, "nul", "\0\0", 2);
	jw_str(&w, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	jw_end(&w);
	REQUIRE(!w.failed);
	REQUIRE(parse(w.buf) == 7);
	CHECK(json_str(w.buf, tok, 1, got, sizeof(got)) == (int)n);
	CHECK(memcmp(got, want, n + 1) == 0);
	CHECK(json_str(w.buf, tok, 2, got, sizeof(got)) == (int)n);
	CHECK(memcmp(got, want, n + 1) == 0);
	CHECK(json_str(w.buf, tok, 4, got, sizeof(got)) == 2);
	CHECK(got[0] == '\0' && got[1] == '\0');
	CHECK(json_eq(w.buf, tok, json_get(w.buf, tok, 0, "utf8"),
		      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	jw_free(&w);
}

TEST(test_round_trip_numbers_and_nesting)
{
	struct jw w;
	uint64_t v;
	bool b;
	int a;

	jw_init(&w, 0);
	jw_object(&w, NULL);
	jw_uint(&w, "max", UINT64_MAX);
	jw_array(&w, "l");
	jw_object(&w, NULL);
	jw_bool(&w, "on", true);
	jw_end(&w);
	jw_int(&w, NULL, INT64_MIN);
	jw_end(&w);
	jw_end(&w);
	REQUIRE(!w.failed && parse(w.buf) == 9);
	CHECK(json_uint(w.buf, tok, json_get(w.buf, tok, 0, "max"), &v) &&
	      v == UINT64_MAX);
	a = json_get(w.buf, tok, 0, "l");
	CHECK(json_bool(w.buf, tok, json_get(w.buf, tok, json_at(tok, a, 0),
					     "on"), &b) && b);
	CHECK(tok[json_at(tok, a, 1)].type == JSON_NUMBER);
	jw_free(&w);
}

/* ---- renderer ---- */

TEST(test_render_reply)
{
	static const char doc[] =
		"{\"name\": \"vswitch\", \"version\": \"1.2\", \"up\": true,"
		" \"debug\": false, \"pid\": 4242, \"ratio\": -1.5e3,"
		" \"log\": null, \"vlans\": [10, 20, \"x\"], \"trunk\": [],"
		" \"limits\": {\"fdb\": 4096, \"ports\": {\"max\": 64}},"
		" \"ports\": [{\"name\": \"vm1\", \"rx_packets\": 12,"
		"              \"state\": \"up\"},"
		"             {\"name\": \"uplink0\", \"tx_bytes\": 123456,"
		"              \"state\": \"down\", \"rx_packets\": 0}],"
		" \"uplinks\": [{\"name\": \"eth0\", \"mtu\": 1500,"
		"                \"vids\": [1, 2]},"
		"               {\"id\": 7,"
		"                \"stats\": {\"rx\": 1, \"tx\": 2}}],"
		" \"fdb\": [], \"esc\": \"a\\tb\\u001b[2J\"}";
	static const char want[] =
		"name     vswitch\n"
		"version  1.2\n"
		"up       yes\n"
		"debug    no\n"
		"pid      4242\n"
		"ratio    -1.5e3\n"
		"log      -\n"
		"vlans    10, 20, x\n"
		"trunk    -\n"
		"limits:\n"
		"  fdb  4096\n"
		"  ports:\n"
		"    max  64\n"
		"ports:\n"
		"  NAME     RX_PACKETS  STATE  TX_BYTES\n"
		"  vm1      12          up     -\n"
		"  uplink0  0           down   123456\n"
		"uplinks:\n"
		"  eth0:\n"
		"    name  eth0\n"
		"    mtu   1500\n"
		"    vids  1, 2\n"
		"  [1]:\n"
		"    id  7\n"
		"    stats:\n"
		"      rx  1\n"
		"      tx  2\n"
		"fdb      -\n"
		"esc      a?b?[2J\n";

	CHECK_STR(render(doc), want);
}

TEST(test_render_top_level_values)
{
	CHECK_STR(render("\"# HELP rx\\nrx 1\\n\""), "# HELP rx\nrx 1\n");
	CHECK_STR(render("\"no newline\\t\""), "no newline\t\n");
	CHECK_STR(render("\"\""), "\n");
	CHECK_STR(render("42"), "42\n");
	CHECK_STR(render("null"), "-\n");
	CHECK_STR(render("[]"), "(none)\n");
	CHECK_STR(render("[1, true, \"a\"]"), "1, yes, a\n");
	CHECK_STR(render("{}"), "");
	CHECK_STR(render("[{\"a\": 1, \"bb\": \"\"}, {\"a\": 22}]"),
		  "A   BB\n"
		  "1\n"
		  "22  -\n");
	CHECK_STR(render("[{\"name\": \"p\", \"l\": [{\"x\": 1}]}, 5, [], {}]"),
		  "p:\n"
		  "  name  p\n"
		  "  l:\n"
		  "    X\n"
		  "    1\n"
		  "[1]:\n"
		  "  5\n"
		  "[2]:\n"
		  "  (none)\n"
		  "[3]:\n");
}

/* No line ends in a space, even where a value does. */
TEST(test_render_trims_line_ends)
{
	CHECK_STR(render("{\"a \": \"x  \", \"bbbb\": \"\", \"c\": [\"\"]}"),
		  "a     x\n"
		  "bbbb\n"
		  "c\n");
	CHECK_STR(render("[{\"a\": \"\", \"b\": \"y \"}, {\"a\": \"long\"}]"),
		  "A     B\n"
		  "      y\n"
		  "long  -\n");
}

TEST(test_render_respects_max)
{
	struct jw w;
	const char *doc = "{\"key\": \"a long enough value\"}";

	REQUIRE(parse(doc) == 3);
	jw_init(&w, 8);
	json_render(doc, tok, 0, &w);
	CHECK(w.failed && w.len <= 8);
	jw_free(&w);
}

int main(void)
{
	jw_init(&rw, 0);
	RUN(test_jw_nests_with_commas_and_keys);
	RUN(test_jw_integers_in_decimal);
	RUN(test_jw_escapes_quotes_backslashes_and_control_bytes);
	RUN(test_jw_replaces_invalid_utf8);
	RUN(test_jw_never_passes_max);
	RUN(test_jw_printf_appends);
	RUN(test_jw_bounds_depth);
	RUN(test_jw_refuses_misplaced_keys);
	RUN(test_parse_fills_tokens_in_document_order);
	RUN(test_parse_accepts_rfc8259_numbers);
	RUN(test_parse_rejects_each_kind_of_error);
	RUN(test_parse_checks_utf8);
	RUN(test_parse_bounds_depth);
	RUN(test_parse_bounds_tokens);
	RUN(test_parse_reads_n_bytes_only);
	RUN(test_str_unescapes_and_joins_surrogate_pairs);
	RUN(test_str_truncates_on_a_character_boundary);
	RUN(test_get_at_uint_bool_eq);
	RUN(test_round_trip_every_byte);
	RUN(test_round_trip_numbers_and_nesting);
	RUN(test_render_reply);
	RUN(test_render_top_level_values);
	RUN(test_render_trims_line_ends);
	RUN(test_render_respects_max);
	jw_free(&rw);
	return test_summary();
}
