/*
 * api: the FLORA API's answers as every transport reads them: a run, a
 * page of runs, an error (see api.h and CONTRACT.md sections 1, 2, 3, 7).
 * The JSON reading they share, a run's members included, is apijson.c's.
 */
#include "api.h"
#include "apijson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define ERROR_SNIPPET_MAX 200
#define REQID_MAX	  100

/* ---- run answers ---- */

static const char *const k_run_id[] = {"run_id", "runId", "id", NULL};

/*
 * The object that holds the run: the answer itself when it looks like one,
 * else a {"run": {...}} or {"data": {...}} wrapper some proxies add.
 */
static yajl_val run_object(yajl_val top)
{
	static const char *const strong[] = {"run_id", "runId", "status", NULL};
	static const char *const wrappers[] = {"run", "data", NULL};
	if (fb_apijson_get_any(top, strong))
		return top;
	for (const char *const *w = wrappers; *w; w++) {
		yajl_val in = fb_apijson_get(top, *w);
		if (YAJL_IS_OBJECT(in) && YAJL_IS_STRING(fb_apijson_get_any(in, k_run_id)))
			return in;
	}
	return top;
}

int fb_api_parse_run(const char *body, size_t len, struct fb_run_info *out, struct fb_err *err)
{
	fb_apijson_run_init(out);
	if (!body || !len)
		return fb_apijson_fail(err, NULL, 0, "answer has an empty body");
	int nomem;
	yajl_val top = fb_apijson_parse(body, len, &nomem);
	if (nomem)
		return fb_apijson_oom(err);
	if (!top)
		return fb_apijson_fail(err, body, len, "answer is not JSON");
	int rc;
	if (!YAJL_IS_OBJECT(top))
		rc = fb_apijson_fail(err, body, len, "answer is not a JSON object");
	else
		rc = fb_apijson_fill_run(run_object(top), k_run_id, "run_id, runId or id", out,
					 body, len, err);
	yajl_tree_free(top);
	return rc;
}

/* ---- list answers ---- */

/* A list item is a RunStatus whose id may also go by the list's own name. */
static const char *const k_item_id[] = {
    "run_id", "runId", "technique_run_id", "techniqueRunId", "generation_id", "generationId",
    "id",     NULL};
static const char *const k_cursor[] = {"next_cursor", "nextCursor", NULL};

/* Puts "<prefix>: " before err's message, keeping it one valid UTF-8 line. */
static void prefix_msg(struct fb_err *err, const char *prefix)
{
	if (!err)
		return;
	struct fb_apijson_line l = {.len = 0};
	fb_apijson_line_adds(&l, prefix);
	fb_apijson_line_adds(&l, ": ");
	size_t n = strlen(err->msg), room = sizeof(l.s) - 1 - l.len;
	if (n > room) {
		n = room;
		while (n && ((unsigned char)err->msg[n] & 0xC0) == 0x80)
			n--; /* never cut a character in two */
	}
	fb_apijson_line_add(&l, err->msg, n);
	memcpy(err->msg, l.s, l.len + 1);
}

/* The page's array: under the kind's own name, else a generic data or items. */
static yajl_val list_array(yajl_val top, enum fb_job_kind kind, const char **name)
{
	static const char *const technique[] = {"technique_runs", "techniqueRuns", "data", "items",
						NULL};
	static const char *const generation[] = {"generations", "data", "items", NULL};
	for (const char *const *k = kind == FB_JOB_GENERATION ? generation : technique; *k; k++) {
		yajl_val v = fb_apijson_get(top, *k);
		if (YAJL_IS_ARRAY(v)) {
			*name = *k;
			return v;
		}
	}
	return NULL;
}

static int list_items(yajl_val arr, const char *name, struct fb_run_info **runs, size_t *nruns,
		      struct fb_err *err)
{
	size_t n = arr->u.array.len;
	if (!n)
		return 0;
	if (!(*runs = calloc(n, sizeof(**runs))))
		return fb_apijson_oom(err);
	for (size_t i = 0; i < n; i++) {
		yajl_val item = arr->u.array.values[i];
		struct fb_run_info *ri = &(*runs)[i];
		fb_apijson_run_init(ri);
		*nruns = i + 1; /* counted first, so a half-filled run is released too */
		int rc = YAJL_IS_OBJECT(item)
			     ? fb_apijson_fill_run(item, k_item_id,
						   "run_id, technique_run_id, generation_id or id",
						   ri, NULL, 0, err)
			     : fb_apijson_fail(err, NULL, 0, "answer's item is not an object");
		if (rc) {
			char where[64];
			snprintf(where, sizeof(where), "%s[%zu]", name, i);
			prefix_msg(err, where);
			return rc;
		}
	}
	return 0;
}

/*
 * The next page's cursor, owned; NULL on the last page. An empty cursor
 * counts as none: sent back, it would start the listing over.
 */
static int list_cursor(yajl_val top, char **out, struct fb_err *err)
{
	yajl_val v = fb_apijson_get_any(fb_apijson_get(top, "meta"), k_cursor);
	if (!v)
		v = fb_apijson_get_any(top, k_cursor);
	if (!v)
		return 0;
	const char *s = fb_apijson_str_or_num(v);
	if (!s)
		return fb_apijson_fail(err, NULL, 0, "answer's meta.next_cursor is not a string");
	if (*s && !(*out = fb_strdup(s)))
		return fb_apijson_oom(err);
	return 0;
}

int fb_api_parse_list(const char *body, size_t len, enum fb_job_kind kind,
		      struct fb_run_info **runs, size_t *nruns, char **next_cursor,
		      struct fb_err *err)
{
	*runs = NULL;
	*nruns = 0;
	*next_cursor = NULL;
	if (kind != FB_JOB_TECHNIQUE && kind != FB_JOB_TECHNIQUE_ID && kind != FB_JOB_GENERATION)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "unknown job kind %d", (int)kind);
	if (!body || !len)
		return fb_apijson_fail(err, NULL, 0, "list answer has an empty body");
	int nomem;
	yajl_val top = fb_apijson_parse(body, len, &nomem);
	if (nomem)
		return fb_apijson_oom(err);
	if (!top)
		return fb_apijson_fail(err, body, len, "list answer is not JSON");
	const char *name = NULL;
	yajl_val arr = YAJL_IS_OBJECT(top) ? list_array(top, kind, &name) : NULL;
	int rc;
	if (!arr)
		rc = fb_apijson_fail(err, body, len, "list answer has no %s array",
				     kind == FB_JOB_GENERATION ? "generations" : "technique_runs");
	else
		rc = list_items(arr, name, runs, nruns, err);
	if (!rc)
		rc = list_cursor(top, next_cursor, err);
	yajl_tree_free(top);
	if (rc) {
		fb_run_list_free(*runs, *nruns);
		*runs = NULL;
		*nruns = 0;
		free(*next_cursor);
		*next_cursor = NULL;
	}
	return rc;
}

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
