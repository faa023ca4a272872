/*
 * apijson: reading the API's JSON, shared by api.c's parsers: tolerant
 * member lookup, one-line messages that stay valid UTF-8 whatever the
 * answer held, and a run as nothing read yet (apirun.c reads runs and list
 * pages with yajl's callback parser).
 * Internal to the transports; api.h is the public face.
 */
#ifndef FB_APIJSON_H
#define FB_APIJSON_H

#include "error.h"
#include "transport.h"

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* How much of an unreadable body a message shows. */
#define FB_APIJSON_SNIPPET_MAX 120

/* A one-line message that always fits in fb_err.msg. */
struct fb_apijson_line {
	char s[FB_ERR_MSG_MAX];
	size_t len;
};
/* Appends n bytes whole, or nothing: 0, or -1 when they do not fit. */
int fb_apijson_line_add(struct fb_apijson_line *l, const char *p, size_t n);
int fb_apijson_line_adds(struct fb_apijson_line *l, const char *s);
/*
 * Appends at most max bytes of p so that the line stays one line of valid
 * UTF-8 whatever the bytes are: control characters, DEL and invalid UTF-8
 * become \xNN. "..." marks a cut.
 */
void fb_apijson_line_add_escaped(struct fb_apijson_line *l, const char *p, size_t len, size_t max);

/* The deepest nesting fb_apijson_parse reads as JSON. */
#define FB_APIJSON_DEPTH_MAX 64

/*
 * Parses body (len bytes) as JSON; NULL when it is not JSON, holds a NUL
 * byte or nests deeper than FB_APIJSON_DEPTH_MAX, with *nomem set when
 * memory ran out. Caller frees with yajl_tree_free.
 */
yajl_val fb_apijson_parse(const char *body, size_t len, int *nomem);
/* The value of key in obj (borrowed), or NULL; a JSON null counts as absent. */
yajl_val fb_apijson_get(yajl_val obj, const char *key);
/* The first of names (NULL-terminated, in order of preference) that obj has. */
yajl_val fb_apijson_get_any(yajl_val obj, const char *const *names);
/* A string, or a number's own text (ids and codes sometimes come as numbers). */
const char *fb_apijson_str_or_num(yajl_val v);

/* FB_ENOMEM with err set. */
int fb_apijson_oom(struct fb_err *err);
/*
 * FB_EPARSE (kind RETRYABLE: a garbled answer is worth another try), the
 * message followed by an escaped snippet of body when len > 0.
 */
int fb_apijson_fail(struct fb_err *err, const char *body, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* out as nothing parsed yet: zeroed, progress, estimated_seconds, created_at -1. */
void fb_apijson_run_init(struct fb_run_info *out);

#endif
