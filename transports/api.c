/*
 * api: the FLORA API's wire format: request paths and bodies, and liberal
 * parsing of run answers and error answers (see api.h and CONTRACT.md
 * sections 2, 3, 6, 7).
 */
#include "api.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* How much of an unreadable body a message shows. */
#define RUN_SNIPPET_MAX	  120
#define ERROR_SNIPPET_MAX 200
#define REQID_MAX	  100

/* ---- one-line messages that always fit in fb_err.msg ---- */

struct line {
	char s[FB_ERR_MSG_MAX];
	size_t len;
};

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

/* Appends n bytes whole, or nothing: 0, or -1 when they do not fit. */
static int line_add(struct line *l, const char *p, size_t n)
{
	if (n >= sizeof(l->s) - l->len)
		return -1;
	memcpy(l->s + l->len, p, n);
	l->len += n;
	l->s[l->len] = '\0';
	return 0;
}

static int line_adds(struct line *l, const char *s)
{
	return line_add(l, s, strlen(s));
}

/*
 * Appends at most max bytes of p so that the line stays one line of valid
 * UTF-8 whatever the bytes are: control characters, DEL and invalid UTF-8
 * become \xNN. "..." marks a cut.
 */
static void line_add_escaped(struct line *l, const char *p, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t lim = len < max ? len : max, i = 0;
	while (i < lim) {
		size_t n = 1;
		char esc[5];
		int r;
		if ((u[i] >= 0x20 && u[i] < 0x7F) ||
		    (u[i] >= 0x80 && (n = utf8_len(u + i, lim - i)))) {
			r = line_add(l, p + i, n);
		} else {
			n = 1;
			snprintf(esc, sizeof(esc), "\\x%02X", u[i]);
			r = line_adds(l, esc);
		}
		if (r)
			break;
		i += n;
	}
	if (i < len)
		line_adds(l, "...");
}

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

/* ---- JSON access ---- */

/*
 * Parses body as JSON; NULL when it is not JSON or holds a NUL byte (which
 * would end yajl's string early and let trailing bytes pass unseen).
 */
static yajl_val parse_json(const char *body, size_t len, int *nomem)
{
	*nomem = 0;
	if (!len || memchr(body, '\0', len))
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

/* The value of key in obj, or NULL; a JSON null counts as absent. */
static yajl_val obj_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], key))
			return YAJL_IS_NULL(obj->u.object.values[i]) ? NULL
								     : obj->u.object.values[i];
	return NULL;
}

/* The first of names (NULL-terminated, in order of preference) that obj has. */
static yajl_val obj_get_any(yajl_val obj, const char *const *names)
{
	for (; *names; names++) {
		yajl_val v = obj_get(obj, *names);
		if (v)
			return v;
	}
	return NULL;
}

/* A string, or a number's own text (ids and codes sometimes come as numbers). */
static const char *str_or_num(yajl_val v)
{
	if (YAJL_IS_STRING(v))
		return v->u.string;
	if (YAJL_IS_NUMBER(v))
		return v->u.number.r;
	return NULL;
}

/* A finite number, or a string holding one. 0, or -1 when v is neither. */
static int get_number(yajl_val v, double *out)
{
	const char *s = str_or_num(v);
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

/* ---- run answers ---- */

static const char *const k_run_id[] = {"run_id", "runId", "id", NULL};
static const char *const k_poll_url[] = {"poll_url", "pollUrl", NULL};
static const char *const k_error_code[] = {"error_code", "errorCode", NULL};
static const char *const k_error_msg[] = {"error_message", "errorMessage", NULL};
static const char *const k_cost[] = {"charged_cost", "chargedCost", NULL};
static const char *const k_eta[] = {"estimated_seconds", "estimatedSeconds", NULL};
static const char *const k_output_id[] = {"output_id", "outputId", "id", NULL};
static const char *const k_text[] = {"text", "content", NULL};

/* FB_EPARSE, with a snippet of body when len > 0: a garbled answer is worth another poll. */
__attribute__((format(printf, 4, 5))) static int parse_fail(struct fb_err *err, const char *body,
							    size_t len, const char *fmt, ...)
{
	struct line l;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l.s, sizeof(l.s), fmt, ap);
	va_end(ap);
	l.len = n < 0 ? 0 : (size_t)n < sizeof(l.s) ? (size_t)n : sizeof(l.s) - 1;
	if (len) {
		line_adds(&l, ": ");
		line_add_escaped(&l, body, len, RUN_SNIPPET_MAX);
	}
	return fb_err_set(err, FB_EPARSE, FB_KIND_RETRYABLE, "%s", l.s);
}

static int parse_status(yajl_val v, enum fb_run_status *out, struct fb_err *err)
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
	if (!YAJL_IS_STRING(v))
		return parse_fail(err, NULL, 0, "answer's status is not a string");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(v->u.string, names[i].name)) {
			*out = names[i].status;
			return 0;
		}
	}
	return parse_fail(err, v->u.string, strlen(v->u.string),
			  "answer has an unknown run status");
}

/* Copies a string (or number) field when present; 0 or FB_ENOMEM. */
static int take_str(yajl_val v, char **dst)
{
	const char *s = str_or_num(v);
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

static int parse_output(yajl_val o, size_t idx, struct fb_run_output *out, struct fb_err *err)
{
	if (!YAJL_IS_OBJECT(o))
		return parse_fail(err, NULL, 0, "answer's outputs[%zu] is not an object", idx);
	const char *type = YAJL_GET_STRING(obj_get(o, "type"));
	const char *url = YAJL_GET_STRING(obj_get(o, "url"));
	int is_text = type && !strcasecmp(type, "text");
	/* A text output may carry its text in a field of its own. */
	if ((!url || !*url) && (!type || is_text)) {
		const char *text = YAJL_GET_STRING(obj_get_any(o, k_text));
		if (text) {
			url = text;
			type = "text";
			is_text = 1;
		}
	}
	if (!url || (!*url && !is_text))
		return parse_fail(err, NULL, 0, "answer's outputs[%zu] has no url", idx);
	if (!type || !*type)
		type = output_type_for(url);
	const char *oid = str_or_num(obj_get_any(o, k_output_id));
	char idbuf[32];
	if (!oid || !*oid) {
		snprintf(idbuf, sizeof(idbuf), "output-%zu", idx + 1);
		oid = idbuf;
	}
	out->output_id = fb_strdup(oid);
	out->type = fb_strdup(type);
	out->url = fb_strdup(url);
	if (!out->output_id || !out->type || !out->url)
		return oom(err);
	return 0;
}

static int parse_outputs(yajl_val v, struct fb_run_info *out, struct fb_err *err)
{
	if (!v)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return parse_fail(err, NULL, 0, "answer's outputs is not an array");
	size_t n = v->u.array.len;
	if (!n)
		return 0;
	out->outputs = calloc(n, sizeof(*out->outputs));
	if (!out->outputs)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		/* Counted before filling so that a partial output is released too. */
		out->noutputs = i + 1;
		int rc = parse_output(v->u.array.values[i], i, &out->outputs[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The object that holds the run: the answer itself when it looks like one,
 * else a {"run": {...}} or {"data": {...}} wrapper some proxies add.
 */
static yajl_val run_object(yajl_val top)
{
	static const char *const strong[] = {"run_id", "runId", "status", NULL};
	static const char *const wrappers[] = {"run", "data", NULL};
	if (obj_get_any(top, strong))
		return top;
	for (const char *const *w = wrappers; *w; w++) {
		yajl_val in = obj_get(top, *w);
		if (YAJL_IS_OBJECT(in) && YAJL_IS_STRING(obj_get_any(in, k_run_id)))
			return in;
	}
	return top;
}

static int fill_run(yajl_val r, struct fb_run_info *out, const char *body, size_t len,
		    struct fb_err *err)
{
	const char *id = NULL;
	for (const char *const *k = k_run_id; *k && !id; k++) {
		id = YAJL_GET_STRING(obj_get(r, *k));
		if (id && !*id)
			id = NULL;
	}
	if (!id)
		return parse_fail(err, body, len, "answer has no run id (run_id, runId or id)");
	if (!(out->run_id = fb_strdup(id)))
		return oom(err);

	int rc = parse_status(obj_get(r, "status"), &out->status, err);
	if (rc)
		return rc;

	double d;
	if (!get_number(obj_get(r, "progress"), &d) && d >= 0)
		out->progress = d;
	if (!get_number(obj_get_any(r, k_eta), &d) && d >= 0)
		out->estimated_seconds = d > 1e9 ? 1000000000L : (long)(d + 0.5);
	if (!get_number(obj_get_any(r, k_cost), &d)) {
		out->has_cost = 1;
		out->charged_cost = d;
	}

	yajl_val poll = obj_get_any(r, k_poll_url);
	yajl_val code = obj_get_any(r, k_error_code);
	yajl_val emsg = obj_get_any(r, k_error_msg);
	/* Some answers nest a failure as the error envelope instead. */
	yajl_val nested = obj_get(r, "error");
	if (YAJL_IS_OBJECT(nested)) {
		code = code ? code : obj_get(nested, "code");
		emsg = emsg ? emsg : obj_get(nested, "message");
	} else if (YAJL_IS_STRING(nested) && !emsg) {
		emsg = nested;
	}
	if ((YAJL_IS_STRING(poll) && *poll->u.string && take_str(poll, &out->poll_url)) ||
	    take_str(code, &out->error_code) || take_str(emsg, &out->error_message))
		return oom(err);

	return parse_outputs(obj_get(r, "outputs"), out, err);
}

int fb_api_parse_run(const char *body, size_t len, struct fb_run_info *out, struct fb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->progress = -1;
	out->estimated_seconds = -1;
	if (!body || !len)
		return parse_fail(err, NULL, 0, "answer has an empty body");
	int nomem;
	yajl_val top = parse_json(body, len, &nomem);
	if (nomem)
		return oom(err);
	if (!top)
		return parse_fail(err, body, len, "answer is not JSON");
	int rc;
	if (!YAJL_IS_OBJECT(top))
		rc = parse_fail(err, body, len, "answer is not a JSON object");
	else
		rc = fill_run(run_object(top), out, body, len, err);
	yajl_tree_free(top);
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

static void add_fields(struct line *l, yajl_val fields)
{
	if (!YAJL_IS_ARRAY(fields) || !fields->u.array.len)
		return;
	line_adds(l, " (");
	for (size_t i = 0; i < fields->u.array.len; i++) {
		yajl_val f = fields->u.array.values[i];
		const char *name = YAJL_IS_STRING(f) ? NULL : str_or_num(obj_get(f, "field"));
		const char *msg =
		    YAJL_IS_STRING(f) ? f->u.string : str_or_num(obj_get(f, "message"));
		if (i)
			line_adds(l, "; ");
		if (name) {
			line_add_escaped(l, name, strlen(name), 100);
			if (msg)
				line_adds(l, ": ");
		}
		if (msg)
			line_add_escaped(l, msg, strlen(msg), 200);
	}
	line_adds(l, ")");
}

/*
 * Reads the envelope and its tolerated variants into l and err->api_code.
 * 0, or -1 when the JSON says nothing an error envelope would.
 */
static int read_envelope(int status, yajl_val top, struct line *l, struct fb_err *err)
{
	static const char *const k_message[] = {"message", "detail", "title", NULL};
	yajl_val e = obj_get(top, "error");
	yajl_val src = YAJL_IS_OBJECT(e) ? e : top;
	const char *code = str_or_num(obj_get(src, "code"));
	const char *msg = YAJL_GET_STRING(obj_get_any(src, k_message));
	if (YAJL_IS_STRING(e) && !msg)
		msg = e->u.string;
	if (!code && !msg)
		return -1;
	set_api_code(err, code);
	if (msg && *msg) {
		line_add_escaped(l, msg, strlen(msg), 300);
	} else {
		l->len = (size_t)snprintf(l->s, sizeof(l->s), "HTTP %d ", status);
		line_add_escaped(l, code, strlen(code), 60);
	}
	yajl_val fields = obj_get(src, "fields");
	add_fields(l, fields ? fields : obj_get(top, "fields"));
	return 0;
}

void fb_api_parse_error(int http_status, const char *body, size_t len, const char *request_id,
			struct fb_err *err)
{
	struct line l = {.len = 0};
	struct line tail = {.len = 0};
	if (!err)
		return;
	fb_err_clear(err);
	if (!body)
		len = 0;

	size_t skip = 0;
	while (skip < len && body[skip] && strchr(" \t\r\n", body[skip]))
		skip++;
	int nomem;
	yajl_val top = skip < len ? parse_json(body, len, &nomem) : NULL;
	if (!YAJL_IS_OBJECT(top) || read_envelope(http_status, top, &l, err)) {
		/* Not the envelope: the body itself is the best clue (a proxy's page). */
		err->api_code[0] = '\0';
		l.len = (size_t)snprintf(
		    l.s, sizeof(l.s),
		    skip == len ? "HTTP %d with an empty body" : "HTTP %d: ", http_status);
		if (skip < len)
			line_add_escaped(&l, body + skip, len - skip, ERROR_SNIPPET_MAX);
	}
	if (top)
		yajl_tree_free(top);

	if (request_id && *request_id) {
		line_adds(&tail, " (request-id ");
		line_add_escaped(&tail, request_id, strlen(request_id), REQID_MAX);
		line_adds(&tail, ")");
	}
	/* The request id is what support asks for: cut the message, not it. */
	if (l.len + tail.len >= sizeof(l.s)) {
		l.len = sizeof(l.s) - 1 - tail.len - 3;
		while (l.len && ((unsigned char)l.s[l.len] & 0xC0) == 0x80)
			l.len--;
		l.s[l.len] = '\0';
		line_adds(&l, "...");
	}
	line_add(&l, tail.s, tail.len);

	err->code = FB_EHTTP;
	err->http_status = http_status;
	err->kind = fb_err_kind_for_http(http_status, err->api_code);
	memcpy(err->msg, l.s, l.len + 1);
}
