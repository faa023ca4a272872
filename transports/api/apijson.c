/*
 * apijson: the JSON reading api.c's parsers share (see apijson.h): member
 * lookup that tolerates either casing, messages that stay one valid UTF-8
 * line, and one run read from a RunStatus-shaped object (CONTRACT.md
 * sections 1-3).
 */
#include "apijson.h"
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- one-line messages that always fit in fb_err.msg ---- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	/* Second-byte bounds rule out overlongs, surrogates and > U+10FFFF. */
	size_t need = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
	unsigned char lo = p[0] == 0xE0 ? 0xA0 : p[0] == 0xF0 ? 0x90 : 0x80;
	unsigned char hi = p[0] == 0xED ? 0x9F : p[0] == 0xF4 ? 0x8F : 0xBF;
	if (p[0] < 0xC2 || p[0] > 0xF4 || n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return need;
}

int fb_apijson_line_add(struct fb_apijson_line *l, const char *p, size_t n)
{
	if (n >= sizeof(l->s) - l->len)
		return -1;
	memcpy(l->s + l->len, p, n);
	l->len += n;
	l->s[l->len] = '\0';
	return 0;
}

int fb_apijson_line_adds(struct fb_apijson_line *l, const char *s)
{
	return fb_apijson_line_add(l, s, strlen(s));
}

void fb_apijson_line_add_escaped(struct fb_apijson_line *l, const char *p, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t lim = len < max ? len : max, i = 0;
	while (i < lim) {
		size_t n = 1;
		char esc[5];
		int r;
		if ((u[i] >= 0x20 && u[i] < 0x7F) ||
		    (u[i] >= 0x80 && (n = utf8_len(u + i, lim - i)))) {
			r = fb_apijson_line_add(l, p + i, n);
		} else {
			n = 1;
			snprintf(esc, sizeof(esc), "\\x%02X", u[i]);
			r = fb_apijson_line_adds(l, esc);
		}
		if (r)
			break;
		i += n;
	}
	if (i < len)
		fb_apijson_line_adds(l, "...");
}

int fb_apijson_oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

int fb_apijson_fail(struct fb_err *err, const char *body, size_t len, const char *fmt, ...)
{
	struct fb_apijson_line l;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l.s, sizeof(l.s), fmt, ap);
	va_end(ap);
	l.len = n < 0 ? 0 : (size_t)n < sizeof(l.s) ? (size_t)n : sizeof(l.s) - 1;
	if (len) {
		fb_apijson_line_adds(&l, ": ");
		fb_apijson_line_add_escaped(&l, body, len, FB_APIJSON_SNIPPET_MAX);
	}
	return fb_err_set(err, FB_EPARSE, FB_KIND_RETRYABLE, "%s", l.s);
}

/* ---- JSON access ---- */

yajl_val fb_apijson_parse(const char *body, size_t len, int *nomem)
{
	*nomem = 0;
	/* A NUL would end yajl's string early and let trailing bytes pass unseen. An
	 * error envelope or an asset nests a few levels; yajl builds and frees its tree
	 * recursively, and 2 MB of "[[[...]]]" overflow the stack. */
	if (!len || memchr(body, '\0', len) || !fb_json_depth_ok(body, len, FB_APIJSON_DEPTH_MAX))
		return NULL;
	char *s = malloc(len + 1); /* yajl_tree_parse wants a C string */
	if (!s) {
		*nomem = 1;
		return NULL;
	}
	memcpy(s, body, len);
	s[len] = '\0';
	yajl_val v = yajl_tree_parse(s, NULL, 0);
	free(s);
	return v;
}

yajl_val fb_apijson_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], key))
			return YAJL_IS_NULL(obj->u.object.values[i]) ? NULL
								     : obj->u.object.values[i];
	return NULL;
}

yajl_val fb_apijson_get_any(yajl_val obj, const char *const *names)
{
	for (; *names; names++) {
		yajl_val v = fb_apijson_get(obj, *names);
		if (v)
			return v;
	}
	return NULL;
}

const char *fb_apijson_str_or_num(yajl_val v)
{
	if (YAJL_IS_STRING(v))
		return v->u.string;
	if (YAJL_IS_NUMBER(v))
		return v->u.number.r;
	return NULL;
}

/* ---- runs ---- */

void fb_apijson_run_init(struct fb_run_info *out)
{
	memset(out, 0, sizeof(*out));
	out->progress = -1;
	out->estimated_seconds = -1;
	out->created_at = -1;
}
