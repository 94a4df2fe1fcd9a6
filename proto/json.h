/*
 * json: the control socket's replies (see vswitch.c, "Control socket").
 *
 * A writer that builds one JSON value into a growing buffer, a reader
 * that splits a JSON text into tokens (bounded: no recursion deeper than
 * JSON_DEPTH, no more tokens than the caller gives room for), and a
 * renderer that turns a reply into aligned text for people. No I/O.
 */
#ifndef JSON_H
#define JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH 32		/* nesting, for writer and reader */

/* ---- writer ---- */

struct jw {
	char *buf;		/* malloc'd; NUL-terminated after each call */
	size_t len, cap;
	size_t max;		/* 0: no limit; else len never exceeds it */
	bool failed;		/* out of memory, past max or too deep: the
				 * text is incomplete and must not be sent */
	unsigned int depth;
	uint64_t later;		/* bit d: a value at depth d was written:
				 * the next one needs a comma */
	uint64_t object;	/* bit d: the values at depth d are an
				 * object's members: each needs a key */
};

void jw_init(struct jw *w, size_t max);
void jw_reset(struct jw *w);	/* empty again, buffer kept, failed cleared */
void jw_free(struct jw *w);

/*
 * Each writes one value. @key names it inside an object, and must be
 * NULL at the top level and inside an array. Strings are escaped: '"',
 * '\\' and bytes below 0x20 (\n, \t, \r, \b, \f or \u00XX), and any byte
 * that is not part of valid UTF-8 becomes U+FFFD; valid UTF-8 is kept.
 */
void jw_object(struct jw *w, const char *key);	/* { */
void jw_array(struct jw *w, const char *key);	/* [ */
void jw_end(struct jw *w);			/* } or ] of the innermost */
void jw_str(struct jw *w, const char *key, const char *s); /* NULL: null */
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* Bytes as they are, outside the JSON structure (a newline after the
 * value; the text the renderer produces). */
void jw_raw(struct jw *w, const char *s, size_t n);
/* printf into the buffer, as jw_raw. */
void jw_printf(struct jw *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- reader ---- */

enum json_type {
	JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
	JSON_OBJECT,
};

/*
 * One token per value, in document order; an object's members are a
 * key token (JSON_STRING) followed by its value's tokens.
 */
struct json_tok {
	enum json_type type;
	uint32_t start, len;	/* the text: a string's between its quotes
				 * (still escaped); an array's or object's
				 * from bracket to bracket */
	uint32_t size;		/* elements, or members */
	uint32_t next;		/* the token after this value's last one */
};

/*
 * Parse exactly one JSON value (RFC 8259; whitespace around it allowed)
 * from @s[0..@n). Return the number of tokens (at most @max), or -1 with
 * *@err_off the byte offset of the problem and *@why a static message.
 * Strings must be valid UTF-8 with valid escapes; numbers as RFC 8259.
 */
int json_parse(const char *s, size_t n, struct json_tok *t, unsigned int max,
	       size_t *err_off, const char **why);

/* The value of member @key of object token @obj, or -1. */
int json_get(const char *s, const struct json_tok *t, int obj,
	     const char *key);
/* Element @i of array token @arr, or -1. */
int json_at(const struct json_tok *t, int arr, unsigned int i);
/* Token @i, a string, unescaped into @out (NUL-terminated; truncated to
 * at most @size - 1 bytes, never inside a character; @size 0: nothing
 * written). Return: its full length, or -1 if not a string (or longer
 * than INT_MAX). */
int json_str(const char *s, const struct json_tok *t, int i, char *out,
	     size_t size);
/* Does string token @i equal @lit (after unescaping)? */
bool json_eq(const char *s, const struct json_tok *t, int i, const char *lit);
/* Token @i as a non-negative integer / a bool; false if it is not one. */
bool json_uint(const char *s, const struct json_tok *t, int i, uint64_t *v);
bool json_bool(const char *s, const struct json_tok *t, int i, bool *v);

/*
 * Text for people, appended to @out with jw_raw: value @i of the parsed
 * text, as README "Operating" shows. See json.c for the rules.
 */
void json_render(const char *s, const struct json_tok *t, int i,
		 struct jw *out);

#endif
