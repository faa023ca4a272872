/*
 * apijson: the JSON reading api.c's parsers share (see apijson.h): member
 * lookup that tolerates either casing, messages that stay one valid UTF-8
 * line, and one run read from a RunStatus-shaped object (CONTRACT.md
 * sections 1-3).
 */
#include "apijson.h"

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
	/* A NUL would end yajl's string early and let trailing bytes pass unseen. */
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

/* A finite number, or a string holding one. 0, or -1 when v is neither. */
static int get_number(yajl_val v, double *out)
{
	const char *s = fb_apijson_str_or_num(v);
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

/*
 * A timestamp as the API gives it: a number (unit unstated, ms in
 * practice), or a string of digits. Anything else (an ISO date, as some
 * routes send) is -1: the caller compares these, it never shows them.
 */
static int64_t get_timestamp(yajl_val v)
{
	if (YAJL_IS_INTEGER(v))
		return YAJL_GET_INTEGER(v) >= 0 ? (int64_t)YAJL_GET_INTEGER(v) : -1;
	if (YAJL_IS_DOUBLE(v)) {
		double d = YAJL_GET_DOUBLE(v);
		return isfinite(d) && d >= 0 && d < 9.2e18 ? (int64_t)d : -1;
	}
	if (!YAJL_IS_STRING(v) || !*v->u.string)
		return -1;
	int64_t t = 0;
	for (const char *p = v->u.string; *p; p++) {
		if (*p < '0' || *p > '9' || t > (INT64_MAX - 9) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	return t;
}

/* ---- one run ---- */

static const char *const k_poll_url[] = {"poll_url", "pollUrl", NULL};
static const char *const k_error_code[] = {"error_code", "errorCode", NULL};
static const char *const k_error_msg[] = {"error_message", "errorMessage", NULL};
static const char *const k_cost[] = {"charged_cost", "chargedCost", NULL};
static const char *const k_eta[] = {"estimated_seconds", "estimatedSeconds", NULL};
static const char *const k_created[] = {"created_at", "createdAt", NULL};
static const char *const k_output_id[] = {"output_id", "outputId", "id", NULL};
static const char *const k_text[] = {"text", "content", NULL};

void fb_apijson_run_init(struct fb_run_info *out)
{
	memset(out, 0, sizeof(*out));
	out->progress = -1;
	out->estimated_seconds = -1;
	out->created_at = -1;
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
		return fb_apijson_fail(err, NULL, 0, "answer's status is not a string");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(v->u.string, names[i].name)) {
			*out = names[i].status;
			return 0;
		}
	}
	return fb_apijson_fail(err, v->u.string, strlen(v->u.string),
			       "answer has an unknown run status");
}

/* Copies a string (or number) field when present; 0 or FB_ENOMEM. */
static int take_str(yajl_val v, char **dst)
{
	const char *s = fb_apijson_str_or_num(v);
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
		return fb_apijson_fail(err, NULL, 0, "answer's outputs[%zu] is not an object", idx);
	const char *type = YAJL_GET_STRING(fb_apijson_get(o, "type"));
	const char *url = YAJL_GET_STRING(fb_apijson_get(o, "url"));
	int is_text = type && !strcasecmp(type, "text");
	/* A text output may carry its text in a field of its own. */
	if ((!url || !*url) && (!type || is_text)) {
		const char *text = YAJL_GET_STRING(fb_apijson_get_any(o, k_text));
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
	const char *oid = fb_apijson_str_or_num(fb_apijson_get_any(o, k_output_id));
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

static int parse_outputs(yajl_val v, struct fb_run_info *out, struct fb_err *err)
{
	if (!v)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return fb_apijson_fail(err, NULL, 0, "answer's outputs is not an array");
	size_t n = v->u.array.len;
	if (!n)
		return 0;
	out->outputs = calloc(n, sizeof(*out->outputs));
	if (!out->outputs)
		return fb_apijson_oom(err);
	for (size_t i = 0; i < n; i++) {
		/* Counted before filling so that a partial output is released too. */
		out->noutputs = i + 1;
		int rc = parse_output(v->u.array.values[i], i, &out->outputs[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

int fb_apijson_fill_run(yajl_val r, const char *const *id_keys, const char *id_names,
			struct fb_run_info *out, const char *body, size_t len, struct fb_err *err)
{
	const char *id = NULL;
	for (const char *const *k = id_keys; *k && !id; k++) {
		id = YAJL_GET_STRING(fb_apijson_get(r, *k));
		if (id && !*id)
			id = NULL;
	}
	if (!id)
		return fb_apijson_fail(err, body, len, "answer has no run id (%s)", id_names);
	if (!(out->run_id = fb_strdup(id)))
		return fb_apijson_oom(err);

	int rc = parse_status(fb_apijson_get(r, "status"), &out->status, err);
	if (rc)
		return rc;

	double d;
	if (!get_number(fb_apijson_get(r, "progress"), &d) && d >= 0)
		out->progress = d;
	if (!get_number(fb_apijson_get_any(r, k_eta), &d) && d >= 0)
		out->estimated_seconds = d > 1e9 ? 1000000000L : (long)(d + 0.5);
	if (!get_number(fb_apijson_get_any(r, k_cost), &d)) {
		out->has_cost = 1;
		out->charged_cost = d;
	}
	out->created_at = get_timestamp(fb_apijson_get_any(r, k_created));

	yajl_val poll = fb_apijson_get_any(r, k_poll_url);
	yajl_val code = fb_apijson_get_any(r, k_error_code);
	yajl_val emsg = fb_apijson_get_any(r, k_error_msg);
	/* Some answers nest a failure as the error envelope instead. */
	yajl_val nested = fb_apijson_get(r, "error");
	if (YAJL_IS_OBJECT(nested)) {
		code = code ? code : fb_apijson_get(nested, "code");
		emsg = emsg ? emsg : fb_apijson_get(nested, "message");
	} else if (YAJL_IS_STRING(nested) && !emsg) {
		emsg = nested;
	}
	if ((YAJL_IS_STRING(poll) && *poll->u.string && take_str(poll, &out->poll_url)) ||
	    take_str(code, &out->error_code) || take_str(emsg, &out->error_message))
		return fb_apijson_oom(err);

	return parse_outputs(fb_apijson_get(r, "outputs"), out, err);
}
