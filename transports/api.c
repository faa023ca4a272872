/*
 * api: the FLORA API's error answers as every transport reads them (see
 * api.h and CONTRACT.md section 7). Runs and list pages are read by
 * apirun.c; the JSON helpers they share are apijson.c's.
 */
#include "api.h"
#include "apijson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define ERROR_SNIPPET_MAX 200
#define REQID_MAX	  100

/* ---- error answers ---- */

/* api_code keeps printable ASCII only, so it is safe in any output. */
static void set_api_code(struct fb_err *err, const char *code)
{
	size_t n = 0;
	for (; code && code[n] && n < sizeof(err->api_code) - 1; n++) {
		unsigned char c = (unsigned char)code[n];
		err->api_code[n] = c > 0x20 && c < 0x7F ? (char)c : '_';
	}
	err->api_code[n] = '\0';
}

static void add_fields(struct fb_apijson_line *l, yajl_val fields)
{
	if (!YAJL_IS_ARRAY(fields) || !fields->u.array.len)
		return;
	fb_apijson_line_adds(l, " (");
	for (size_t i = 0; i < fields->u.array.len; i++) {
		yajl_val f = fields->u.array.values[i];
		const char *name =
		    YAJL_IS_STRING(f) ? NULL : fb_apijson_str_or_num(fb_apijson_get(f, "field"));
		const char *msg = YAJL_IS_STRING(f)
				      ? f->u.string
				      : fb_apijson_str_or_num(fb_apijson_get(f, "message"));
		if (i)
			fb_apijson_line_adds(l, "; ");
		if (name) {
			fb_apijson_line_add_escaped(l, name, strlen(name), 100);
			if (msg)
				fb_apijson_line_adds(l, ": ");
		}
		if (msg)
			fb_apijson_line_add_escaped(l, msg, strlen(msg), 200);
	}
	fb_apijson_line_adds(l, ")");
}

/*
 * Reads the envelope and its tolerated variants into l and err->api_code.
 * 0, or -1 when the JSON says nothing an error envelope would.
 */
static int read_envelope(int status, yajl_val top, struct fb_apijson_line *l, struct fb_err *err)
{
	static const char *const k_message[] = {"message", "detail", "title", NULL};
	yajl_val e = fb_apijson_get(top, "error");
	yajl_val src = YAJL_IS_OBJECT(e) ? e : top;
	const char *code = fb_apijson_str_or_num(fb_apijson_get(src, "code"));
	const char *msg = YAJL_GET_STRING(fb_apijson_get_any(src, k_message));
	if (YAJL_IS_STRING(e) && !msg)
		msg = e->u.string;
	if (!code && !msg)
		return -1;
	set_api_code(err, code);
	if (msg && *msg) {
		fb_apijson_line_add_escaped(l, msg, strlen(msg), 300);
	} else {
		l->len = (size_t)snprintf(l->s, sizeof(l->s), "HTTP %d ", status);
		fb_apijson_line_add_escaped(l, code, strlen(code), 60);
	}
	yajl_val fields = fb_apijson_get(src, "fields");
	add_fields(l, fields ? fields : fb_apijson_get(top, "fields"));
	return 0;
}

void fb_api_parse_error(int http_status, const char *body, size_t len, const char *request_id,
			struct fb_err *err)
{
	struct fb_apijson_line l = {.len = 0};
	struct fb_apijson_line tail = {.len = 0};
	if (!err)
		return;
	fb_err_clear(err);
	if (!body)
		len = 0;

	size_t skip = 0;
	while (skip < len && body[skip] && strchr(" \t\r\n", body[skip]))
		skip++;
	int nomem;
	yajl_val top = skip < len ? fb_apijson_parse(body, len, &nomem) : NULL;
	if (!YAJL_IS_OBJECT(top) || read_envelope(http_status, top, &l, err)) {
		/* Not the envelope: the body itself is the best clue (a proxy's page). */
		err->api_code[0] = '\0';
		l.len = (size_t)snprintf(
		    l.s, sizeof(l.s),
		    skip == len ? "HTTP %d with an empty body" : "HTTP %d: ", http_status);
		if (skip < len)
			fb_apijson_line_add_escaped(&l, body + skip, len - skip, ERROR_SNIPPET_MAX);
	}
	if (top)
		yajl_tree_free(top);

	if (request_id && *request_id) {
		fb_apijson_line_adds(&tail, " (request-id ");
		fb_apijson_line_add_escaped(&tail, request_id, strlen(request_id), REQID_MAX);
		fb_apijson_line_adds(&tail, ")");
	}
	/* The request id is what support asks for: cut the message, not it. */
	if (l.len + tail.len >= sizeof(l.s)) {
		l.len = sizeof(l.s) - 1 - tail.len - 3;
		while (l.len && ((unsigned char)l.s[l.len] & 0xC0) == 0x80)
			l.len--;
		l.s[l.len] = '\0';
		fb_apijson_line_adds(&l, "...");
	}
	fb_apijson_line_add(&l, tail.s, tail.len);

	err->code = FB_EHTTP;
	err->http_status = http_status;
	err->kind = fb_err_kind_for_http(http_status, err->api_code);
	memcpy(err->msg, l.s, l.len + 1);
}
