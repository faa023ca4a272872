/*
 * api: the FLORA API's answers as every transport reads them: a run, a
 * page of runs (read by apirun.c, filled here with the same rules the tree
 * reader had), an error (see api.h and CONTRACT.md sections 1, 2, 3, 7).
 */
#include "api.h"
#include "apijson.h"
#include "apirun.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#define ERROR_SNIPPET_MAX 200
#define REQID_MAX	  100

/* ---- filling a run, as the tree reader did ---- */

static const char *text_of(const struct fb_apirun *r, const struct fb_apirun_val *v)
{
	return r->arena.ptr + v->off;
}
/* A string, or NULL. */
static const char *str(const struct fb_apirun *r, const struct fb_apirun_val *v)
{
	return v && v->t == FB_APIRUN_STR ? text_of(r, v) : NULL;
}
/* A string, or a number's own text. */
static const char *str_or_num(const struct fb_apirun *r, const struct fb_apirun_val *v)
{
	return v && (v->t == FB_APIRUN_STR || v->t == FB_APIRUN_NUM) ? text_of(r, v) : NULL;
}
/* The first of ids (ending with -1) that is present and not null. */
static const struct fb_apirun_val *any(const struct fb_apirun_val *f, const int *ids)
{
	for (; *ids >= 0; ids++)
		if (f[*ids].t > FB_APIRUN_NULL)
			return &f[*ids];
	return NULL;
}
static const struct fb_apirun_val *one(const struct fb_apirun_val *f, int id)
{
	return f[id].t > FB_APIRUN_NULL ? &f[id] : NULL;
}

static int get_number(const struct fb_apirun *r, const struct fb_apirun_val *v, double *out)
{
	const char *s = str_or_num(r, v);
	char *end;
	if (!s || !*s)
		return -1;
	double d = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (*end || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* As yajl's tree flags a number: an integer when it is digits that fit. */
static int as_integer(const char *s, long long *out)
{
	int neg = *s == '-';
	long long v = 0;
	if (neg)
		s++;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

/* A timestamp: a number (ms in practice) or a string of digits; else -1. */
static int64_t get_timestamp(const struct fb_apirun *r, const struct fb_apirun_val *v)
{
	if (v && v->t == FB_APIRUN_NUM) {
		const char *s = text_of(r, v);
		long long i;
		if (as_integer(s, &i))
			return i >= 0 ? (int64_t)i : -1;
		char *end;
		errno = 0;
		double d = strtod(s, &end);
		if (errno || *end)
			return -1;
		return isfinite(d) && d >= 0 && d < 9.2e18 ? (int64_t)d : -1;
	}
	const char *s = str(r, v);
	if (!s || !*s)
		return -1;
	int64_t t = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || t > (INT64_MAX - 9) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	return t;
}

static int parse_status(const struct fb_apirun *r, const struct fb_apirun_val *v,
			enum fb_run_status *out, struct fb_err *err)
{
	static const struct {
		const char *name;
		enum fb_run_status status;
	} names[] = {
	    {"pending", FB_RUN_PENDING},     {"running", FB_RUN_RUNNING},
	    {"completed", FB_RUN_COMPLETED}, {"succeeded", FB_RUN_COMPLETED},
	    {"success", FB_RUN_COMPLETED},   {"failed", FB_RUN_FAILED},
	    {"error", FB_RUN_FAILED},	     {"cancelled", FB_RUN_FAILED},
	    {"canceled", FB_RUN_FAILED},
	};
	*out = FB_RUN_UNKNOWN; /* a RunCreated answer has no status */
	if (!v)
		return 0;
	const char *s = str(r, v);
	if (!s)
		return fb_apijson_fail(err, NULL, 0, "answer's status is not a string");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].status;
			return 0;
		}
	}
	return fb_apijson_fail(err, s, strlen(s), "answer has an unknown run status");
}

static int take_str(const struct fb_apirun *r, const struct fb_apirun_val *v, char **dst)
{
	const char *s = str_or_num(r, v);
	if (!s)
		return 0;
	*dst = fb_strdup(s);
	return *dst ? 0 : FB_ENOMEM;
}

static const char *output_type_for(const char *url)
{
	switch (fb_input_type_infer(url)) {
	case FB_INPUT_IMAGE_URL:
		return "imageUrl";
	case FB_INPUT_VIDEO_URL:
		return "videoUrl";
	default:
		return "unknown";
	}
}

static int fill_output(const struct fb_apirun *r, const struct fb_apirun_out *o, size_t idx,
		       struct fb_run_output *out, struct fb_err *err)
{
	static const int k_text[] = {FB_APIRUN_O_TEXT, FB_APIRUN_O_CONTENT, -1};
	static const int k_oid[] = {FB_APIRUN_O_OID, FB_APIRUN_O_OID_C, FB_APIRUN_O_ID, -1};
	if (!o->is_obj)
		return fb_apijson_fail(err, NULL, 0, "answer's outputs[%zu] is not an object", idx);
	const char *type = str(r, one(o->f, FB_APIRUN_O_TYPE));
	const char *url = str(r, one(o->f, FB_APIRUN_O_URL));
	int is_text = type && !strcasecmp(type, "text");
	/* A text output may carry its text in a field of its own. */
	if ((!url || !*url) && (!type || is_text)) {
		const char *text = str(r, any(o->f, k_text));
		if (text) {
			url = text;
			type = "text";
			is_text = 1;
		}
	}
	if (!url || (!*url && !is_text))
		return fb_apijson_fail(err, NULL, 0, "answer's outputs[%zu] has no url", idx);
	if (!type || !*type)
		type = output_type_for(url);
	const char *oid = str_or_num(r, any(o->f, k_oid));
	char idbuf[32];
	if (!oid || !*oid) {
		snprintf(idbuf, sizeof(idbuf), "output-%zu", idx + 1);
		oid = idbuf;
	}
	out->output_id = fb_strdup(oid);
	out->type = fb_strdup(type);
	out->url = fb_strdup(url);
	if (!out->output_id || !out->type || !out->url)
		return fb_apijson_oom(err);
	return 0;
}

static int fill_outputs(const struct fb_apirun *r, const struct fb_apirun_run *s,
			struct fb_run_info *out, struct fb_err *err)
{
	const struct fb_apirun_val *v = one(s->f, FB_APIRUN_F_OUTPUTS);
	if (!v)
		return 0;
	if (v->t != FB_APIRUN_ARR)
		return fb_apijson_fail(err, NULL, 0, "answer's outputs is not an array");
	if (!s->nout)
		return 0;
	if (!(out->outputs = calloc(s->nout, sizeof(*out->outputs))))
		return fb_apijson_oom(err);
	for (size_t i = 0; i < s->nout; i++) {
		out->noutputs = i + 1; /* counted first, so a partial output is released too */
		int rc = fill_output(r, &r->os[s->out0 + i], i, &out->outputs[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int fill_run(const struct fb_apirun *r, const struct fb_apirun_run *s, const int *id_keys,
		    const char *id_names, struct fb_run_info *out, const char *body, size_t len,
		    struct fb_err *err)
{
	static const int k_eta[] = {FB_APIRUN_F_ETA, FB_APIRUN_F_ETA_C, -1},
			 k_cost[] = {FB_APIRUN_F_COST, FB_APIRUN_F_COST_C, -1};
	static const int k_created[] = {FB_APIRUN_F_CREATED, FB_APIRUN_F_CREATED_C, -1};
	static const int k_poll[] = {FB_APIRUN_F_POLL, FB_APIRUN_F_POLL_C, -1},
			 k_code[] = {FB_APIRUN_F_ECODE, FB_APIRUN_F_ECODE_C, -1};
	static const int k_emsg[] = {FB_APIRUN_F_EMSG, FB_APIRUN_F_EMSG_C, -1};
	const char *id = NULL;
	for (const int *k = id_keys; *k >= 0 && !id; k++) {
		id = str(r, one(s->f, *k));
		if (id && !*id)
			id = NULL;
	}
	if (!id)
		return fb_apijson_fail(err, body, len, "answer has no run id (%s)", id_names);
	if (!(out->run_id = fb_strdup(id)))
		return fb_apijson_oom(err);
	int rc = parse_status(r, one(s->f, FB_APIRUN_F_STATUS), &out->status, err);
	if (rc)
		return rc;

	double d;
	if (!get_number(r, one(s->f, FB_APIRUN_F_PROGRESS), &d) && d >= 0)
		out->progress = d;
	if (!get_number(r, any(s->f, k_eta), &d) && d >= 0)
		out->estimated_seconds = d > 1e9 ? 1000000000L : (long)(d + 0.5);
	if (!get_number(r, any(s->f, k_cost), &d)) {
		out->has_cost = 1;
		out->charged_cost = d;
	}
	out->created_at = get_timestamp(r, any(s->f, k_created));

	const struct fb_apirun_val *poll = any(s->f, k_poll), *code = any(s->f, k_code);
	const struct fb_apirun_val *emsg = any(s->f, k_emsg),
				   *nested = one(s->f, FB_APIRUN_F_ERROR);
	/* Some answers nest a failure as the error envelope instead. */
	if (nested && nested->t == FB_APIRUN_OBJ) {
		code = code ? code : one(s->f, FB_APIRUN_F_ERR_CODE);
		emsg = emsg ? emsg : one(s->f, FB_APIRUN_F_ERR_MSG);
	} else if (nested && nested->t == FB_APIRUN_STR && !emsg) {
		emsg = nested;
	}
	const char *p = str(r, poll);
	if ((p && *p && take_str(r, poll, &out->poll_url)) || take_str(r, code, &out->error_code) ||
	    take_str(r, emsg, &out->error_message))
		return fb_apijson_oom(err);
	return fill_outputs(r, s, out, err);
}

/* ---- the two answers ---- */

static const int k_run_id[] = {FB_APIRUN_F_RUN_ID, FB_APIRUN_F_RUNID, FB_APIRUN_F_ID, -1};

int fb_api_parse_run(const char *body, size_t len, struct fb_run_info *out, struct fb_err *err)
{
	static const int strong[] = {FB_APIRUN_F_RUN_ID, FB_APIRUN_F_RUNID, FB_APIRUN_F_STATUS, -1};
	fb_apijson_run_init(out);
	if (!body || !len)
		return fb_apijson_fail(err, NULL, 0, "answer has an empty body");
	struct fb_apirun r;
	memset(&r, 0, sizeof(r));
	int rc = fb_apirun_read(&r, body, len);
	if (rc == FB_ENOMEM) {
		rc = fb_apijson_oom(err);
	} else if (rc) {
		rc = fb_apijson_fail(err, body, len, "answer is not JSON");
	} else if (r.top_t != FB_APIRUN_OBJ) {
		rc = fb_apijson_fail(err, body, len, "answer is not a JSON object");
	} else {
		/* The run: the answer itself when it looks like one, else a wrapper's. */
		const struct fb_apirun_run *s = &r.rs[0];
		for (int w = 0; w < 2 && !any(s->f, strong); w++) {
			const struct fb_apirun_run *in = &r.rs[r.wrap_slot[w]];
			const struct fb_apirun_val *idv;
			if (r.top[FB_APIRUN_T_WRAP_RUN + w].t == FB_APIRUN_OBJ &&
			    (idv = any(in->f, k_run_id)) && idv->t == FB_APIRUN_STR) {
				s = in;
				break;
			}
		}
		rc = fill_run(&r, s, k_run_id, "run_id, runId or id", out, body, len, err);
	}
	fb_apirun_release(&r);
	return rc;
}

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

/* A list item is a RunStatus whose id may also go by the list's own name. */
static const int k_item_id[] = {
    FB_APIRUN_F_RUN_ID, FB_APIRUN_F_RUNID,   FB_APIRUN_F_TRID, FB_APIRUN_F_TRID_C,
    FB_APIRUN_F_GENID,	FB_APIRUN_F_GENID_C, FB_APIRUN_F_ID,   -1};

static int list_items(const struct fb_apirun *r, int cand, const char *name,
		      struct fb_run_info **runs, size_t *nruns, struct fb_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nitems; i++)
		n += r->items[i].cand == cand;
	if (!n)
		return 0;
	if (!(*runs = calloc(n, sizeof(**runs))))
		return fb_apijson_oom(err);
	size_t i = 0;
	for (size_t j = 0; j < r->nitems; j++) {
		const struct fb_apirun_item *it = &r->items[j];
		if (it->cand != cand)
			continue;
		struct fb_run_info *ri = &(*runs)[i];
		fb_apijson_run_init(ri);
		*nruns = i + 1; /* counted first, so a half-filled run is released too */
		int rc = it->is_obj
			     ? fill_run(r, &r->rs[it->slot], k_item_id,
					"run_id, technique_run_id, generation_id or id", ri, NULL,
					0, err)
			     : fb_apijson_fail(err, NULL, 0, "answer's item is not an object");
		if (rc) {
			char where[64];
			snprintf(where, sizeof(where), "%s[%zu]", name, i);
			prefix_msg(err, where);
			return rc;
		}
		i++;
	}
	return 0;
}

/* The next page's cursor, owned; NULL on the last page and for "" (it would start over). */
static int list_cursor(const struct fb_apirun *r, char **out, struct fb_err *err)
{
	const struct fb_apirun_val *v = any(r->meta, (const int[]){0, 1, -1});
	if (!v)
		v = any(r->top, (const int[]){FB_APIRUN_T_CURSOR, FB_APIRUN_T_CURSOR_C, -1});
	if (!v)
		return 0;
	const char *s = str_or_num(r, v);
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
	/* The page's array: under the kind's own name, else a generic data or items. */
	static const char *const technique[] = {"technique_runs", "techniqueRuns", "data", "items",
						NULL};
	static const char *const generation[] = {"generations", "data", "items", NULL, NULL};
	*runs = NULL;
	*nruns = 0;
	*next_cursor = NULL;
	if (kind != FB_JOB_TECHNIQUE && kind != FB_JOB_TECHNIQUE_ID && kind != FB_JOB_GENERATION)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "unknown job kind %d", (int)kind);
	if (!body || !len)
		return fb_apijson_fail(err, NULL, 0, "list answer has an empty body");
	struct fb_apirun r;
	memset(&r, 0, sizeof(r));
	r.list = 1;
	r.cands = kind == FB_JOB_GENERATION ? generation : technique;
	int rc = fb_apirun_read(&r, body, len), cand = -1;
	if (rc == FB_ENOMEM) {
		rc = fb_apijson_oom(err);
	} else if (rc) {
		rc = fb_apijson_fail(err, body, len, "list answer is not JSON");
	} else {
		for (int c = 0; c < 4 && cand < 0 && r.top_t == FB_APIRUN_OBJ; c++)
			if (r.top[FB_APIRUN_T_CAND0 + c].t == FB_APIRUN_ARR)
				cand = c;
		if (cand < 0)
			rc = fb_apijson_fail(err, body, len, "list answer has no %s array",
					     kind == FB_JOB_GENERATION ? "generations"
								       : "technique_runs");
		else
			rc = list_items(&r, cand, r.cands[cand], runs, nruns, err);
		if (!rc)
			rc = list_cursor(&r, next_cursor, err);
	}
	fb_apirun_release(&r);
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
	/* An empty message and no code say nothing: the body itself is shown instead. */
	if (!code && !(msg && *msg))
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
