/*
 * json: the control socket's replies. See json.h.
 *
 * What is trusted: nothing in the text json_parse() reads (a reply comes
 * over a socket, and the fuzzer writes it): every byte is checked against
 * RFC 8259, strings as UTF-8 (RFC 3629), with nesting and the token count
 * bounded. The strings the writer is given may hold any bytes (a port's
 * name, a guest's address): they are escaped, and what is not UTF-8 is
 * replaced, so the writer's text always parses. The look-ups and the
 * renderer trust the tokens json_parse() made, and walk them only by
 * their counts (size, next).
 *
 * The renderer's rules (text for people; json_render()):
 *
 *   - A string at the top level is printed as it is, with a newline added
 *     if it does not end in one (metrics: Prometheus text).
 *   - Scalars: strings unescaped (control characters shown as '?', so a
 *     reply cannot break the lines or drive the terminal), numbers as
 *     written, true and false as "yes" and "no", null as "-".
 *   - An object: its members in order. A member whose value is a scalar
 *     or an array of scalars is a line "KEY  VALUE", KEY padded to the
 *     longest such key of the object plus two spaces; an array's values
 *     are joined by ", ", an empty one is "-". A member whose value is an
 *     object or another array is a line "KEY:", then that value two
 *     columns further in.
 *   - An array of objects whose members are all scalars: a table, its
 *     header the union of their keys in order of first appearance, upper
 *     case; a cell an object lacks is "-"; columns left-aligned, two
 *     spaces apart. Any other array of objects (or of mixed values): a
 *     block per element, a line "NAME:" (its "name" member if that is a
 *     string, else "[i]") and the element two columns further in. An
 *     array of scalars not under a key (at the top level, or an element)
 *     is one line, values joined by ", "; an empty one is "(none)".
 *   - No line ends in spaces; every line ends in '\n'.
 */
#include "json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(JSON_DEPTH < 64, "jw.later and jw.object have a bit per depth");

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */
/* ------------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at @p (@n > 0 bytes there), or 0
 * if there is none: no overlong forms, no surrogates, nothing above
 * U+10FFFF (RFC 3629 section 4). */
static unsigned int utf8_seq(const uint8_t *p, size_t n)
{
	unsigned int len, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)	/* a continuation byte, or an overlong lead */
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] < 0xf0) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] < 0xf5) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

/* Code point @c (at most U+10FFFF) as UTF-8 into @b. Return: its length. */
static unsigned int utf8_put(uint32_t c, char *b)
{
	if (c < 0x80) {
		b[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | c >> 18);
	b[1] = (char)(0x80 | (c >> 12 & 0x3f));
	b[2] = (char)(0x80 | (c >> 6 & 0x3f));
	b[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* The two-character escapes (RFC 8259 section 7): the letter after the
 * backslash, and the character it stands for. */
static const char esc_name[] = "\"\\/bfnrt";
static const char esc_char[] = "\"\\/\b\f\n\r\t";

/* ------------------------------------------------------------------ */
/* Writer                                                               */
/* ------------------------------------------------------------------ */

/* Room for @n more bytes and the NUL. False, with failed set, if the
 * text would pass max or the memory cannot be had; once failed, nothing
 * more is written (the text is not to be sent anyway). */
static bool room(struct jw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->failed)
		return false;
	if (n > SIZE_MAX / 4 - w->len || (w->max && n > w->max - w->len)) {
		w->failed = true;
		return false;
	}
	if (w->buf && w->len + n < w->cap)
		return true;
	cap = w->cap ? w->cap : 256;
	while (cap <= w->len + n)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (!room(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void jw_init(struct jw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	put(w, "", 0);		/* an empty text is still a string */
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->failed = false;
	w->depth = 0;
	w->later = 0;
	w->object = 0;
	put(w, "", 0);
}

void jw_free(struct jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* @s[0..@n) as a JSON string: quoted, escaped, and each byte that is not
 * part of a valid UTF-8 sequence replaced by U+FFFD. */
static void put_escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0;
	const char *c;
	unsigned int k;

	put(w, "\"", 1);
	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			i += k;
			continue;
		}
		put(w, s + run, i - run);
		c = p[i] ? strchr(esc_char, p[i]) : NULL;
		if (!k)
			put(w, "\xef\xbf\xbd", 3);
		else if (c)
			put(w, (const char[]){ '\\', esc_name[c - esc_char] },
			    2);
		else
			put(w, (const char[]){ '\\', 'u', '0', '0',
					       hex[p[i] >> 4], hex[p[i] & 15] },
			    6);
		run = ++i;
	}
	put(w, s + run, i - run);
	put(w, "\"", 1);
}

/*
 * Before each value: check that one may go here (a key inside an object
 * and nowhere else; one value at the top level), then its comma and key.
 * False if it may not, or the text failed.
 */
static bool value_start(struct jw *w, const char *key)
{
	uint64_t bit = 1ULL << w->depth;
	bool in_object = w->object & bit;

	if (w->failed)
		return false;
	if ((key != NULL) != in_object || (w->depth == 0 && (w->later & 1))) {
		w->failed = true;
		return false;
	}
	if (w->later & bit)
		put(w, ",", 1);
	w->later |= bit;
	if (key) {
		put_escaped(w, key, strlen(key));
		put(w, ":", 1);
	}
	return !w->failed;
}

static void open_container(struct jw *w, const char *key, bool object)
{
	uint64_t bit;

	if (w->depth == JSON_DEPTH) {
		w->failed = true;
		return;
	}
	if (!value_start(w, key))
		return;
	put(w, object ? "{" : "[", 1);
	w->depth++;
	bit = 1ULL << w->depth;
	w->later &= ~bit;
	if (object)
		w->object |= bit;
	else
		w->object &= ~bit;
}

void jw_object(struct jw *w, const char *key)
{
	open_container(w, key, true);
}

void jw_array(struct jw *w, const char *key)
{
	open_container(w, key, false);
}

void jw_end(struct jw *w)
{
	if (w->failed)
		return;
	if (w->depth == 0) {
		w->failed = true;
		return;
	}
	put(w, w->object & (1ULL << w->depth) ? "}" : "]", 1);
	w->depth--;
}

/* A value whose text is @s[0..@n), as it is. */
static void put_value(struct jw *w, const char *key, const char *s, size_t n)
{
	if (value_start(w, key))
		put(w, s, n);
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_strn(w, key, s, s ? strlen(s) : 0);
}

void jw_strn(struct jw *w, const char *key, const char *s, size_t n)
{
	if (!s)
		jw_null(w, key);
	else if (value_start(w, key))
		put_escaped(w, s, n);
}

/* @v in decimal, at the end of @b[0..20). Return: where it starts. */
static char *decimal(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	char b[20], *d = decimal(v, b + sizeof(b));

	put_value(w, key, d, (size_t)(b + sizeof(b) - d));
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
	/* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char b[21], *d = decimal(m, b + sizeof(b));

	if (v < 0)
		*--d = '-';
	put_value(w, key, d, (size_t)(b + sizeof(b) - d));
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	put_value(w, key, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w, const char *key)
{
	put_value(w, key, "null", 4);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

void jw_printf(struct jw *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->failed = true;
		return;
	}
	if (!room(w, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
}

/* ------------------------------------------------------------------ */
/* Reader                                                               */
/* ------------------------------------------------------------------ */

struct parser {
	const char *s;
	uint32_t n, pos;	/* pos: where the problem is, on failure */
	struct json_tok *t;
	unsigned int max, count;
	const char *why;
};

static bool fail(struct parser *p, uint32_t at, const char *why)
{
	p->pos = at;
	p->why = why;
	return false;
}

/* A new token; -1 if there is no room for it. Its len and next are set
 * when its value ends (done()). */
static int new_tok(struct parser *p, enum json_type type, uint32_t start)
{
	struct json_tok *k;

	if (p->count == p->max) {
		fail(p, start, "too many tokens");
		return -1;
	}
	k = &p->t[p->count];
	k->type = type;
	k->start = start;
	k->len = 0;
	k->size = 0;
	k->next = 0;
	return (int)p->count++;
}

static bool done(struct parser *p, int i, uint32_t end)
{
	p->t[i].len = end - p->t[i].start;
	p->t[i].next = p->count;
	return true;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				 p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

/* The next character, after whitespace, must be @c. */
static bool expect(struct parser *p, char c)
{
	skip_ws(p);
	if (p->pos == p->n)
		return fail(p, p->pos, "unexpected end");
	if (p->s[p->pos] != c)
		return fail(p, p->pos, "unexpected character");
	p->pos++;
	return true;
}

static bool hex4(const char *h, uint32_t *v)
{
	unsigned int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		char c = h[i];

		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v = *v << 4 | (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	return true;
}

/*
 * The escape at @e (@n bytes there, @e[0] the backslash): how many bytes
 * it takes, 0 if it is not a valid one, and in *@cp the code point it
 * stands for. A surrogate is valid only as a high one escaped right
 * before a low one (RFC 8259 section 7): together, one code point.
 */
static unsigned int escape(const char *e, size_t n, uint32_t *cp)
{
	const char *c;
	uint32_t lo;

	if (n < 2)
		return 0;
	if (e[1] != 'u') {
		c = e[1] ? strchr(esc_name, e[1]) : NULL;
		if (!c)
			return 0;
		*cp = (uint8_t)esc_char[c - esc_name];
		return 2;
	}
	if (n < 6 || !hex4(e + 2, cp) || (*cp >= 0xdc00 && *cp <= 0xdfff))
		return 0;
	if (*cp < 0xd800 || *cp > 0xdbff)
		return 6;
	if (n < 12 || e[6] != '\\' || e[7] != 'u' || !hex4(e + 8, &lo) ||
	    lo < 0xdc00 || lo > 0xdfff)
		return 0;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 12;
}

static bool string(struct parser *p)
{
	uint32_t at = p->pos, i = at + 1, cp;
	const uint8_t *u = (const uint8_t *)p->s;
	unsigned int k;
	int tok = new_tok(p, JSON_STRING, at + 1);

	if (tok < 0)
		return false;
	while (i < p->n) {
		if (u[i] == '"') {
			p->pos = i + 1;
			return done(p, tok, i);
		}
		if (u[i] < 0x20)
			return fail(p, i, "control character in string");
		if (u[i] == '\\')
			k = escape(p->s + i, p->n - i, &cp);
		else
			k = utf8_seq(u + i, p->n - i);
		if (!k)
			return fail(p, i, u[i] == '\\' ? "invalid escape" :
						       "invalid UTF-8");
		i += k;
	}
	return fail(p, at, "unterminated string");
}

static bool digit(const char *s, uint32_t n, uint32_t i)
{
	return i < n && s[i] >= '0' && s[i] <= '9';
}

/* -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? (RFC 8259 6) */
static bool number(struct parser *p)
{
	const char *s = p->s;
	uint32_t at = p->pos, i = at, n = p->n;
	int tok;

	if (s[i] == '-')
		i++;
	if (!digit(s, n, i))
		return fail(p, i, "invalid number");
	if (s[i++] != '0')
		while (digit(s, n, i))
			i++;
	if (i < n && s[i] == '.') {
		if (!digit(s, n, ++i))
			return fail(p, i, "invalid number");
		while (digit(s, n, i))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digit(s, n, i))
			return fail(p, i, "invalid number");
		while (digit(s, n, i))
			i++;
	}
	/* What could only continue a number: a leading zero's digits, a
	 * second fraction or exponent. */
	if (digit(s, n, i) || (i < n && (s[i] == '.' || s[i] == 'e' ||
			s[i] == 'E' || s[i] == '+' || s[i] == '-')))
		return fail(p, i, "invalid number");
	tok = new_tok(p, JSON_NUMBER, at);
	if (tok < 0)
		return false;
	p->pos = i;
	return done(p, tok, i);
}

static bool literal(struct parser *p, const char *lit, enum json_type type)
{
	size_t len = strlen(lit);
	uint32_t at = p->pos;
	int tok;

	if (p->n - at < len || memcmp(p->s + at, lit, len) != 0)
		return fail(p, at, "invalid literal");
	tok = new_tok(p, type, at);
	if (tok < 0)
		return false;
	p->pos = at + (uint32_t)len;
	return done(p, tok, p->pos);
}

static bool parse_value(struct parser *p, unsigned int depth);

/* An object or an array at @depth (containers around it). */
static bool container(struct parser *p, unsigned int depth)
{
	bool object = p->s[p->pos] == '{';
	char close = object ? '}' : ']';
	uint32_t at = p->pos;
	int tok;

	if (depth == JSON_DEPTH)
		return fail(p, at, "nested too deep");
	tok = new_tok(p, object ? JSON_OBJECT : JSON_ARRAY, at);
	if (tok < 0)
		return false;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->n && p->s[p->pos] == close) {
		p->pos++;
		return done(p, tok, p->pos);
	}
	for (;;) {
		if (object) {
			skip_ws(p);
			if (p->pos == p->n)
				return fail(p, p->pos, "unexpected end");
			if (p->s[p->pos] != '"')
				return fail(p, p->pos, "unexpected character");
			if (!string(p) || !expect(p, ':'))
				return false;
		}
		if (!parse_value(p, depth + 1))
			return false;
		p->t[tok].size++;
		skip_ws(p);
		if (p->pos < p->n && p->s[p->pos] == close) {
			p->pos++;
			return done(p, tok, p->pos);
		}
		if (!expect(p, ','))
			return false;
	}
}

static bool parse_value(struct parser *p, unsigned int depth)
{
	char c;

	skip_ws(p);
	if (p->pos == p->n)
		return fail(p, p->pos, "unexpected end");
	c = p->s[p->pos];
	if (c == '{' || c == '[')
		return container(p, depth);
	if (c == '"')
		return string(p);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(p);
	if (c == 't')
		return literal(p, "true", JSON_BOOL);
	if (c == 'f')
		return literal(p, "false", JSON_BOOL);
	if (c == 'n')
		return literal(p, "null", JSON_NULL);
	return fail(p, p->pos, "unexpected character");
}

int json_parse(const char *s, size_t n, struct json_tok *t, unsigned int max,
	       size_t *err_off, const char **why)
{
	/* The count returned is an int. */
	struct parser p = {
		.s = s, .t = t, .max = max > INT_MAX ? INT_MAX : max,
	};

	/* Offsets are 32 bits wide. */
	if (n > UINT32_MAX) {
		*err_off = UINT32_MAX;
		*why = "too long";
		return -1;
	}
	p.n = (uint32_t)n;
	if (parse_value(&p, 0)) {
		skip_ws(&p);
		if (p.pos == p.n)
			return (int)p.count;
		fail(&p, p.pos, "trailing characters");
	}
	*err_off = p.pos;
	*why = p.why;
	return -1;
}

/*
 * The next character of a string token's text @s[*@at..@end): the bytes
 * it stands for into @b, *@at past it. Return: how many (1 to 4). The
 * text is json_parse()'s, so escapes and UTF-8 are valid; a byte of
 * anything else is taken as it is, one at a time.
 */
static unsigned int next_char(const char *s, uint32_t end, uint32_t *at,
			      char *b)
{
	const uint8_t *u = (const uint8_t *)s + *at;
	unsigned int k;
	uint32_t cp;

	if (*u == '\\' && (k = escape(s + *at, end - *at, &cp)) != 0) {
		*at += k;
		return utf8_put(cp, b);
	}
	k = utf8_seq(u, end - *at);
	if (!k)
		k = 1;
	memcpy(b, u, k);
	*at += k;
	return k;
}

bool json_eq(const char *s, const struct json_tok *t, int i, const char *lit)
{
	uint32_t at, end;
	unsigned int k, j;
	size_t l = 0;
	char b[4];

	if (i < 0 || t[i].type != JSON_STRING)
		return false;
	at = t[i].start;
	end = at + t[i].len;
	while (at < end) {
		k = next_char(s, end, &at, b);
		for (j = 0; j < k; j++, l++)
			if (lit[l] == '\0' || lit[l] != b[j])
				return false;
	}
	return lit[l] == '\0';
}

int json_get(const char *s, const struct json_tok *t, int obj,
	     const char *key)
{
	uint32_t k;
	int m;

	if (obj < 0 || t[obj].type != JSON_OBJECT)
		return -1;
	for (k = 0, m = obj + 1; k < t[obj].size; k++, m = (int)t[m + 1].next)
		if (json_eq(s, t, m, key))
			return m + 1;
	return -1;
}

int json_at(const struct json_tok *t, int arr, unsigned int i)
{
	uint32_t k;
	int e;

	if (arr < 0 || t[arr].type != JSON_ARRAY || i >= t[arr].size)
		return -1;
	for (k = 0, e = arr + 1; k < i; k++)
		e = (int)t[e].next;
	return e;
}

int json_str(const char *s, const struct json_tok *t, int i, char *out,
	     size_t size)
{
	uint32_t at, end;
	size_t len = 0, used = 0;
	unsigned int k;
	char b[4];

	if (i < 0 || t[i].type != JSON_STRING || t[i].len > INT_MAX)
		return -1;
	at = t[i].start;
	end = at + t[i].len;
	while (at < end) {
		k = next_char(s, end, &at, b);
		/* Whole characters only: once one does not fit, no more. */
		if (used == len && size && k <= size - 1 - used) {
			memcpy(out + used, b, k);
			used += k;
		}
		len += k;
	}
	if (size)
		out[used] = '\0';
	return (int)len;	/* unescaped is never longer than escaped */
}

bool json_uint(const char *s, const struct json_tok *t, int i, uint64_t *v)
{
	uint64_t x = 0;
	unsigned int d;
	uint32_t k;

	if (i < 0 || t[i].type != JSON_NUMBER)
		return false;
	for (k = 0; k < t[i].len; k++) {
		d = (unsigned int)((uint8_t)s[t[i].start + k] - '0');
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;	/* '-', '.', 'e', or too big */
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

bool json_bool(const char *s, const struct json_tok *t, int i, bool *v)
{
	if (i < 0 || t[i].type != JSON_BOOL)
		return false;
	*v = s[t[i].start] == 't';
	return true;
}

/* ------------------------------------------------------------------ */
/* Text for people                                                      */
/* ------------------------------------------------------------------ */

struct render {
	const char *s;
	const struct json_tok *t;
	struct jw *out;
};

/* A table's column: the key that names it first, and its width. */
struct column {
	int key;
	size_t width;
};

#define SHOW_AS_IS 1u	/* control characters too */
#define SHOW_UPPER 2u	/* ASCII letters in upper case */

static bool is_scalar(const struct json_tok *t, int i)
{
	return t[i].type != JSON_ARRAY && t[i].type != JSON_OBJECT;
}

/* The element or member value after value @i. */
static int after(const struct json_tok *t, int i)
{
	return (int)t[i].next;
}

static void pad(struct jw *out, size_t n)
{
	static const char spaces[] = "                                ";
	size_t k;

	for (; n; n -= k) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		jw_raw(out, spaces, k);
	}
}

/* Begin a line at @indent. Return: where it begins, for eol(). */
static size_t bol(struct jw *out, unsigned int indent)
{
	size_t from = out->len;

	pad(out, indent);
	return from;
}

/* End the line begun at @from, without spaces at its end (the padding
 * before an empty cell, or a value's own). */
static void eol(struct jw *out, size_t from)
{
	size_t len = out->len;

	while (len > from && out->buf[len - 1] == ' ')
		len--;
	if (len < out->len) {
		out->len = len;
		out->buf[len] = '\0';
	}
	jw_raw(out, "\n", 1);
}

/* Is character @b (@k bytes) one a terminal acts on: C0, DEL or C1
 * (U+0080..U+009F, C2 80..C2 9F)? */
static bool is_control(const char *b, unsigned int k)
{
	const uint8_t *u = (const uint8_t *)b;

	return u[0] < 0x20 || u[0] == 0x7f ||
	       (k == 2 && u[0] == 0xc2 && u[1] < 0xa0);
}

/* String token @i unescaped, as @how says, to @out, or only measured if
 * @out is NULL. Return: its width in characters. */
static size_t show(const struct render *r, int i, unsigned int how,
		   struct jw *out)
{
	uint32_t at = r->t[i].start, end = at + r->t[i].len;
	size_t width = 0, used = 0;
	char buf[256], b[4];
	unsigned int k;

	for (; at < end; width++) {
		k = next_char(r->s, end, &at, b);
		if (!(how & SHOW_AS_IS) && is_control(b, k)) {
			b[0] = '?';
			k = 1;
		} else if ((how & SHOW_UPPER) && b[0] >= 'a' && b[0] <= 'z') {
			b[0] = (char)(b[0] - 'a' + 'A');
		}
		if (!out)
			continue;
		if (k > sizeof(buf) - used) {
			jw_raw(out, buf, used);
			used = 0;
		}
		memcpy(buf + used, b, k);
		used += k;
	}
	if (out)
		jw_raw(out, buf, used);
	return width;
}

/* Scalar token @i, or "-" for none (@i < 0), to @out or measured (@out
 * NULL). Return: its width. */
static size_t scalar(const struct render *r, int i, struct jw *out)
{
	const char *text = "-";
	size_t n = 1;

	if (i >= 0 && r->t[i].type == JSON_STRING)
		return show(r, i, 0, out);
	if (i >= 0 && r->t[i].type == JSON_NUMBER) {
		text = r->s + r->t[i].start;
		n = r->t[i].len;
	} else if (i >= 0 && r->t[i].type == JSON_BOOL) {
		text = r->s[r->t[i].start] == 't' ? "yes" : "no";
		n = strlen(text);
	}
	if (out)
		jw_raw(out, text, n);
	return n;
}

/* Does value @i go on one line: a scalar, or an array of them? */
static bool one_line(const struct json_tok *t, int i)
{
	uint32_t k;
	int e;

	if (t[i].type != JSON_ARRAY)
		return t[i].type != JSON_OBJECT;
	for (k = 0, e = i + 1; k < t[i].size; k++, e = after(t, e))
		if (!is_scalar(t, e))
			return false;
	return true;
}

/* One-line value @i: a scalar, or an array's values joined ("-" for
 * none). */
static void line_value(const struct render *r, int i)
{
	uint32_t k;
	int e;

	if (r->t[i].type != JSON_ARRAY || !r->t[i].size) {
		scalar(r, r->t[i].type == JSON_ARRAY ? -1 : i, r->out);
		return;
	}
	for (k = 0, e = i + 1; k < r->t[i].size; k++, e = after(r->t, e)) {
		if (k)
			jw_raw(r->out, ", ", 2);
		scalar(r, e, r->out);
	}
}

static void render_value(const struct render *r, int i, unsigned int indent);

static void render_object(const struct render *r, int obj,
			  unsigned int indent)
{
	const struct json_tok *t = r->t;
	size_t width = 0, w, from;
	uint32_t k;
	int m;

	for (k = 0, m = obj + 1; k < t[obj].size; k++, m = after(t, m + 1))
		if (one_line(t, m + 1) && (w = show(r, m, 0, NULL)) > width)
			width = w;
	for (k = 0, m = obj + 1; k < t[obj].size; k++, m = after(t, m + 1)) {
		from = bol(r->out, indent);
		w = show(r, m, 0, r->out);
		if (one_line(t, m + 1)) {
			pad(r->out, width + 2 - w);
			line_value(r, m + 1);
			eol(r->out, from);
		} else {
			jw_raw(r->out, ":", 1);
			eol(r->out, from);
			render_value(r, m + 1, indent + 2);
		}
	}
}

/* Are the elements of array @arr objects of scalars, with a key among
 * them: a table? */
static bool tabular(const struct json_tok *t, int arr)
{
	bool keys = false;
	uint32_t k, j;
	int e, m;

	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e)) {
		if (t[e].type != JSON_OBJECT)
			return false;
		for (j = 0, m = e + 1; j < t[e].size; j++, m = after(t, m + 1))
			if (!is_scalar(t, m + 1))
				return false;
		keys |= t[e].size > 0;
	}
	return keys;
}

/* Do string tokens @a and @b say the same, unescaped? */
static bool same(const struct render *r, int a, int b)
{
	uint32_t i = r->t[a].start, ie = i + r->t[a].len;
	uint32_t j = r->t[b].start, je = j + r->t[b].len;
	char ca[4], cb[4];
	unsigned int k;

	while (i < ie && j < je) {
		k = next_char(r->s, ie, &i, ca);
		if (k != next_char(r->s, je, &j, cb) || memcmp(ca, cb, k))
			return false;
	}
	return i == ie && j == je;
}

/* The column named by key @key, or @ncol if there is none. */
static size_t column_of(const struct render *r, const struct column *col,
			size_t ncol, int key)
{
	size_t c;

	for (c = 0; c < ncol && !same(r, col[c].key, key); c++)
		;
	return c;
}

/* Row @row's value in each column, -1 where it has none (the first of
 * a key given twice). */
static void row_cells(const struct render *r, int row,
		      const struct column *col, size_t ncol, int *cell)
{
	size_t c;
	uint32_t j;
	int m;

	for (c = 0; c < ncol; c++)
		cell[c] = -1;
	for (j = 0, m = row + 1; j < r->t[row].size;
	     j++, m = after(r->t, m + 1)) {
		c = column_of(r, col, ncol, m);
		if (c < ncol && cell[c] < 0)
			cell[c] = m + 1;
	}
}

/* A table's line: the header (@cell NULL) or a row. */
static void table_line(const struct render *r, const struct column *col,
		       size_t ncol, const int *cell, unsigned int indent)
{
	size_t from = bol(r->out, indent), c, w;

	for (c = 0; c < ncol; c++) {
		if (cell)
			w = scalar(r, cell[c], r->out);
		else
			w = show(r, col[c].key, SHOW_UPPER, r->out);
		if (c + 1 < ncol)
			pad(r->out, col[c].width + 2 - w);
	}
	eol(r->out, from);
}

static void table(const struct render *r, int arr, unsigned int indent)
{
	const struct json_tok *t = r->t;
	struct column *col;
	size_t ncol = 0, most = 0, c, w;
	uint32_t k, j;
	int e, m, *cell;

	/* At most as many columns as members in all. */
	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e))
		most += t[e].size;
	col = calloc(most, sizeof(*col));
	cell = calloc(most, sizeof(*cell));
	if (!col || !cell) {
		r->out->failed = true;
		goto out;
	}
	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e)) {
		for (j = 0, m = e + 1; j < t[e].size;
		     j++, m = after(t, m + 1)) {
			if (column_of(r, col, ncol, m) < ncol)
				continue;
			col[ncol].key = m;
			col[ncol++].width = show(r, m, SHOW_UPPER, NULL);
		}
	}
	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e)) {
		row_cells(r, e, col, ncol, cell);
		for (c = 0; c < ncol; c++)
			if ((w = scalar(r, cell[c], NULL)) > col[c].width)
				col[c].width = w;
	}
	table_line(r, col, ncol, NULL, indent);
	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e)) {
		row_cells(r, e, col, ncol, cell);
		table_line(r, col, ncol, cell, indent);
	}
out:
	free(cell);
	free(col);
}

/* An array's elements, each a line "NAME:" and the element under it. */
static void blocks(const struct render *r, int arr, unsigned int indent)
{
	const struct json_tok *t = r->t;
	size_t from;
	uint32_t k;
	int e, name;

	for (k = 0, e = arr + 1; k < t[arr].size; k++, e = after(t, e)) {
		name = json_get(r->s, t, e, "name");
		from = bol(r->out, indent);
		if (name >= 0 && t[name].type == JSON_STRING)
			show(r, name, 0, r->out);
		else
			jw_printf(r->out, "[%u]", (unsigned int)k);
		jw_raw(r->out, ":", 1);
		eol(r->out, from);
		render_value(r, e, indent + 2);
	}
}

/* Value @i, not under a key, at @indent. */
static void render_value(const struct render *r, int i, unsigned int indent)
{
	size_t from;

	if (r->t[i].type == JSON_OBJECT) {
		render_object(r, i, indent);
	} else if (r->t[i].type == JSON_ARRAY && tabular(r->t, i)) {
		table(r, i, indent);
	} else if (one_line(r->t, i)) {
		from = bol(r->out, indent);
		if (r->t[i].type == JSON_ARRAY && !r->t[i].size)
			jw_raw(r->out, "(none)", 6);
		else
			line_value(r, i);
		eol(r->out, from);
	} else {
		blocks(r, i, indent);
	}
}

void json_render(const char *s, const struct json_tok *t, int i,
		 struct jw *out)
{
	const struct render r = { .s = s, .t = t, .out = out };
	size_t from = out->len;

	if (i < 0)
		return;
	if (t[i].type != JSON_STRING) {
		render_value(&r, i, 0);
		return;
	}
	show(&r, i, SHOW_AS_IS, out);
	if (out->len == from || out->buf[out->len - 1] != '\n')
		jw_raw(out, "\n", 1);
}
