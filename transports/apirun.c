/*
 * apirun: run answers and list pages (fb_api_parse_run, fb_api_parse_list
 * in api.h) read with yajl's callback parser. A tree of the whole answer
 * cost hundreds of allocations per poll; this keeps only the members a run
 * is made from (each member's first occurrence, as a lookup in the tree
 * would find it), skips everything else at any depth without a stack of its
 * own, and then fills the run exactly as the tree reader did: snake_case or
 * camelCase, the run id under any of its names, the {"run": ...} and
 * {"data": ...} wrappers, a nested error envelope, text outputs.
 */
#include "api.h"
#include "apijson.h"
#include "buf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

/* A member's value as first seen: its JSON type, and text for strings and numbers. */
enum jt { J_NONE = 0, J_NULL, J_STR, J_NUM, J_BOOL, J_OBJ, J_ARR };
struct jv {
	uint8_t t;
	size_t off; /* into the arena, NUL-terminated: J_STR, J_NUM */
};

/* A run object's members; F_ERR_* come from a nested "error" object. */
enum {
	F_RUN_ID,
	F_RUNID,
	F_ID,
	F_TRID,
	F_TRID_C,
	F_GENID,
	F_GENID_C,
	F_STATUS,
	F_PROGRESS,
	F_ETA,
	F_ETA_C,
	F_COST,
	F_COST_C,
	F_CREATED,
	F_CREATED_C,
	F_POLL,
	F_POLL_C,
	F_ECODE,
	F_ECODE_C,
	F_EMSG,
	F_EMSG_C,
	F_ERROR,
	F_OUTPUTS,
	F_NAMED, /* members above are matched by name in a run object */
	F_ERR_CODE = F_NAMED,
	F_ERR_MSG,
	NF
};
static const char *const run_names[F_NAMED] = {
    "run_id",		"runId",	"id",	       "technique_run_id", "techniqueRunId",
    "generation_id",	"generationId", "status",      "progress",	   "estimated_seconds",
    "estimatedSeconds", "charged_cost", "chargedCost", "created_at",	   "createdAt",
    "poll_url",		"pollUrl",	"error_code",  "errorCode",	   "error_message",
    "errorMessage",	"error",	"outputs"};

enum { O_TYPE, O_URL, O_TEXT, O_CONTENT, O_OID, O_OID_C, O_ID, NO };
static const char *const out_names[NO] = {"type",      "url",	   "text", "content",
					  "output_id", "outputId", "id"};

/* Where a value goes: which object or array the parser is in. */
enum role { R_RUN, R_ERROBJ, R_OUTS, R_OUT, R_LIST, R_META, R_RUNTOP, R_LISTTOP };

/* Top-level members of a run answer and of a list page. */
enum { T_WRAP_RUN, T_WRAP_DATA, T_META, T_CURSOR, T_CURSOR_C, T_CAND0, NT = T_CAND0 + 4 };

struct rslot {
	struct jv f[NF];
	size_t out0, nout; /* its outputs: oslots[out0 .. out0 + nout) */
};
struct oslot {
	struct jv f[NO];
	int is_obj;
};
struct item {
	size_t slot; /* rslot, when is_obj */
	int cand, is_obj;
};
struct frame {
	enum role role;
	int pending; /* the member the next value belongs to; -1: none we keep */
	size_t slot;
	int cand;
};

#define MAX_FRAMES 8 /* the deepest kept member: list -> item -> outputs -> output */

struct rd {
	struct fb_buf arena;
	struct rslot *rs;
	size_t nrs, caprs;
	struct oslot *os;
	size_t nos, capos;
	struct item *items;
	size_t nitems, capitems;
	struct frame fr[MAX_FRAMES];
	int nfr;
	size_t skip;		  /* depth inside a container nobody reads */
	int list;		  /* reading a list page */
	const char *const *cands; /* the list's array names, NULL-terminated */
	uint8_t top_t;		  /* the answer's own type */
	struct jv top[NT];	  /* top-level members */
	struct jv meta[2];	  /* meta.next_cursor, meta.nextCursor */
	size_t wrap_slot[2];	  /* rslots of the run and data wrappers */
	int nomem;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	size_t c = *cap ? *cap * 2 : 8;
	void *q = realloc(p, c * size);
	if (q)
		*cap = c;
	return q;
}

/* A new zeroed run slot; its index, or (size_t)-1 when out of memory. */
static size_t new_rslot(struct rd *r)
{
	struct rslot *v = grow(r->rs, &r->caprs, r->nrs, sizeof(*v));
	if (!v)
		return (size_t)-1;
	r->rs = v;
	memset(&v[r->nrs], 0, sizeof(*v));
	return r->nrs++;
}

static int push(struct rd *r, enum role role, size_t slot, int cand)
{
	if (r->nfr == MAX_FRAMES)
		return -1;
	r->fr[r->nfr++] = (struct frame){role, -1, slot, cand};
	return 0;
}

/* The slot a kept value is recorded in, or NULL: the frame's pending member. */
static struct jv *target(struct rd *r, struct frame *f)
{
	int k = f->pending;
	f->pending = -1;
	if (k < 0)
		return NULL;
	switch (f->role) {
	case R_RUN:
	case R_RUNTOP:
	case R_ERROBJ:
		return k >= 1000 ? &r->top[k - 1000] : &r->rs[f->slot].f[k];
	case R_OUT:
		return &r->os[f->slot].f[k];
	case R_LISTTOP:
		return &r->top[k];
	case R_META:
		return &r->meta[k];
	default:
		return NULL;
	}
}

/*
 * One value (t; text of n bytes for strings and numbers). Containers say
 * what reads their contents: a frame, or the skip counter.
 */
static int value(struct rd *r, enum jt t, const char *s, size_t n)
{
	if (r->skip) {
		r->skip += t == J_OBJ || t == J_ARR;
		return 1;
	}
	int cont = t == J_OBJ || t == J_ARR, kept = 0;
	if (!r->nfr) { /* the answer itself */
		r->top_t = (uint8_t)t;
		if (t == J_OBJ) {
			size_t s0 = r->list ? 0 : new_rslot(r);
			if (s0 == (size_t)-1)
				goto nomem;
			push(r, r->list ? R_LISTTOP : R_RUNTOP, s0, 0);
			return 1;
		}
		r->skip += cont;
		return 1;
	}
	struct frame *f = &r->fr[r->nfr - 1];
	if (f->role == R_OUTS) { /* an output */
		struct oslot *o = grow(r->os, &r->capos, r->nos, sizeof(*o));
		if (!o)
			goto nomem;
		r->os = o;
		memset(&o[r->nos], 0, sizeof(*o));
		o[r->nos].is_obj = t == J_OBJ;
		r->rs[f->slot].nout++;
		if (t == J_OBJ)
			return push(r, R_OUT, r->nos++, 0) ? 0 : 1;
		r->nos++;
		r->skip += cont;
		return 1;
	}
	if (f->role == R_LIST) { /* an item of a list */
		struct item *it = grow(r->items, &r->capitems, r->nitems, sizeof(*it));
		if (!it)
			goto nomem;
		r->items = it;
		size_t s0 = t == J_OBJ ? new_rslot(r) : 0;
		if (s0 == (size_t)-1)
			goto nomem;
		it[r->nitems++] = (struct item){s0, f->cand, t == J_OBJ};
		if (t == J_OBJ)
			return push(r, R_RUN, s0, 0) ? 0 : 1;
		r->skip += cont;
		return 1;
	}
	int k = f->pending;
	struct jv *v = target(r, f);
	if (v) {
		v->t = (uint8_t)t;
		if (t == J_STR || t == J_NUM) {
			v->off = r->arena.len;
			if (fb_buf_add(&r->arena, s, n) || fb_buf_addc(&r->arena, '\0'))
				goto nomem;
		}
		/* The containers read member by member. */
		if (f->role == R_RUN || f->role == R_RUNTOP) {
			if (k == F_ERROR && t == J_OBJ)
				kept = !push(r, R_ERROBJ, f->slot, 0);
			else if (k == F_OUTPUTS && t == J_ARR) {
				r->rs[f->slot].out0 = r->nos;
				kept = !push(r, R_OUTS, f->slot, 0);
			} else if (k >= 1000 + T_WRAP_RUN && k <= 1000 + T_WRAP_DATA &&
				   t == J_OBJ) {
				size_t w = new_rslot(r);
				if (w == (size_t)-1)
					goto nomem;
				r->wrap_slot[k - 1000 - T_WRAP_RUN] = w;
				kept = !push(r, R_RUN, w, 0);
			}
		} else if (f->role == R_LISTTOP) {
			if (k >= T_CAND0 && t == J_ARR)
				kept = !push(r, R_LIST, 0, k - T_CAND0);
			else if (k == T_META && t == J_OBJ)
				kept = !push(r, R_META, 0, 0);
		}
	}
	if (cont && !kept)
		r->skip++;
	return 1;
nomem:
	r->nomem = 1;
	return 0;
}

static int find_name(const char *const *names, size_t count, const unsigned char *key, size_t n)
{
	for (size_t i = 0; i < count; i++)
		if (names[i] && n && names[i][0] == key[0] && strlen(names[i]) == n &&
		    !memcmp(names[i], key, n))
			return (int)i;
	return -1;
}

static int on_key(void *ctx, const unsigned char *key, size_t n)
{
	struct rd *r = ctx;
	if (r->skip)
		return 1;
	struct frame *f = &r->fr[r->nfr - 1];
	static const char *const run_top[] = {"run", "data"};
	static const char *const list_top[T_CAND0] = {NULL, NULL, "meta", "next_cursor",
						      "nextCursor"};
	static const char *const err_names[2] = {"code", "message"};
	int k = -1;
	struct jv *seen = NULL;
	switch (f->role) {
	case R_RUNTOP:
		if ((k = find_name(run_top, 2, key, n)) >= 0) {
			k += 1000 + T_WRAP_RUN;
			seen = &r->top[k - 1000];
			break;
		}
		/* The answer is also a run. */
		__attribute__((fallthrough));
	case R_RUN:
		if ((k = find_name(run_names, F_NAMED, key, n)) >= 0)
			seen = &r->rs[f->slot].f[k];
		break;
	case R_ERROBJ:
		if ((k = find_name(err_names, 2, key, n)) >= 0)
			seen = &r->rs[f->slot].f[k += F_ERR_CODE];
		break;
	case R_OUT:
		if ((k = find_name(out_names, NO, key, n)) >= 0)
			seen = &r->os[f->slot].f[k];
		break;
	case R_LISTTOP:
		if ((k = find_name(list_top, T_CAND0, key, n)) < 0 &&
		    (k = find_name(r->cands, 4, key, n)) >= 0)
			k += T_CAND0;
		if (k >= 0)
			seen = &r->top[k];
		break;
	case R_META:
		if ((k = find_name(list_top + T_CURSOR, 2, key, n)) >= 0)
			seen = &r->meta[k];
		break;
	default:
		break;
	}
	/* The first occurrence counts, as a lookup would find it; a null one too. */
	f->pending = seen && seen->t == J_NONE ? k : -1;
	return 1;
}

static int on_null(void *ctx)
{
	return value(ctx, J_NULL, NULL, 0);
}
static int on_bool(void *ctx, int b)
{
	(void)b;
	return value(ctx, J_BOOL, NULL, 0);
}
static int on_number(void *ctx, const char *s, size_t n)
{
	return value(ctx, J_NUM, s, n);
}
static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	return value(ctx, J_STR, (const char *)s, n);
}
static int on_start_map(void *ctx)
{
	return value(ctx, J_OBJ, NULL, 0);
}
static int on_start_array(void *ctx)
{
	return value(ctx, J_ARR, NULL, 0);
}
static int on_end(void *ctx)
{
	struct rd *r = ctx;
	if (r->skip)
		r->skip--;
	else if (r->nfr)
		r->nfr--;
	return 1;
}

static const yajl_callbacks callbacks = {on_null,   on_bool,	    NULL,	  NULL,
					 on_number, on_string,	    on_start_map, on_key,
					 on_end,    on_start_array, on_end};

static void rd_release(struct rd *r)
{
	fb_buf_release(&r->arena);
	free(r->rs);
	free(r->os);
	free(r->items);
}

/* Reads body; 0, 1 when it is not JSON, FB_ENOMEM. */
static int rd_parse(struct rd *r, const char *body, size_t len)
{
	/* A NUL would end a C string early and let the bytes after it pass unseen. */
	if (memchr(body, '\0', len))
		return 1;
	yajl_handle h = yajl_alloc(&callbacks, NULL, r);
	if (!h)
		return FB_ENOMEM;
	yajl_config(h, yajl_allow_comments, 1); /* as yajl_tree_parse reads */
	yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	if (r->nomem)
		return FB_ENOMEM;
	return st == yajl_status_ok ? 0 : 1;
}

/* ---- filling a run, as the tree reader did ---- */

static const char *text_of(const struct rd *r, const struct jv *v)
{
	return r->arena.ptr + v->off;
}
/* A string, or NULL. */
static const char *str(const struct rd *r, const struct jv *v)
{
	return v && v->t == J_STR ? text_of(r, v) : NULL;
}
/* A string, or a number's own text. */
static const char *str_or_num(const struct rd *r, const struct jv *v)
{
	return v && (v->t == J_STR || v->t == J_NUM) ? text_of(r, v) : NULL;
}
/* The first of ids (ending with -1) that is present and not null. */
static const struct jv *any(const struct jv *f, const int *ids)
{
	for (; *ids >= 0; ids++)
		if (f[*ids].t > J_NULL)
			return &f[*ids];
	return NULL;
}
static const struct jv *one(const struct jv *f, int id)
{
	return f[id].t > J_NULL ? &f[id] : NULL;
}

static int get_number(const struct rd *r, const struct jv *v, double *out)
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
static int64_t get_timestamp(const struct rd *r, const struct jv *v)
{
	if (v && v->t == J_NUM) {
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

static int parse_status(const struct rd *r, const struct jv *v, enum fb_run_status *out,
			struct fb_err *err)
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

static int take_str(const struct rd *r, const struct jv *v, char **dst)
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

static int fill_output(const struct rd *r, const struct oslot *o, size_t idx,
		       struct fb_run_output *out, struct fb_err *err)
{
	static const int k_text[] = {O_TEXT, O_CONTENT, -1};
	static const int k_oid[] = {O_OID, O_OID_C, O_ID, -1};
	if (!o->is_obj)
		return fb_apijson_fail(err, NULL, 0, "answer's outputs[%zu] is not an object", idx);
	const char *type = str(r, one(o->f, O_TYPE));
	const char *url = str(r, one(o->f, O_URL));
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

static int fill_outputs(const struct rd *r, const struct rslot *s, struct fb_run_info *out,
			struct fb_err *err)
{
	const struct jv *v = one(s->f, F_OUTPUTS);
	if (!v)
		return 0;
	if (v->t != J_ARR)
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

static int fill_run(const struct rd *r, const struct rslot *s, const int *id_keys,
		    const char *id_names, struct fb_run_info *out, const char *body, size_t len,
		    struct fb_err *err)
{
	static const int k_eta[] = {F_ETA, F_ETA_C, -1}, k_cost[] = {F_COST, F_COST_C, -1};
	static const int k_created[] = {F_CREATED, F_CREATED_C, -1};
	static const int k_poll[] = {F_POLL, F_POLL_C, -1}, k_code[] = {F_ECODE, F_ECODE_C, -1};
	static const int k_emsg[] = {F_EMSG, F_EMSG_C, -1};
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
	int rc = parse_status(r, one(s->f, F_STATUS), &out->status, err);
	if (rc)
		return rc;

	double d;
	if (!get_number(r, one(s->f, F_PROGRESS), &d) && d >= 0)
		out->progress = d;
	if (!get_number(r, any(s->f, k_eta), &d) && d >= 0)
		out->estimated_seconds = d > 1e9 ? 1000000000L : (long)(d + 0.5);
	if (!get_number(r, any(s->f, k_cost), &d)) {
		out->has_cost = 1;
		out->charged_cost = d;
	}
	out->created_at = get_timestamp(r, any(s->f, k_created));

	const struct jv *poll = any(s->f, k_poll), *code = any(s->f, k_code);
	const struct jv *emsg = any(s->f, k_emsg), *nested = one(s->f, F_ERROR);
	/* Some answers nest a failure as the error envelope instead. */
	if (nested && nested->t == J_OBJ) {
		code = code ? code : one(s->f, F_ERR_CODE);
		emsg = emsg ? emsg : one(s->f, F_ERR_MSG);
	} else if (nested && nested->t == J_STR && !emsg) {
		emsg = nested;
	}
	const char *p = str(r, poll);
	if ((p && *p && take_str(r, poll, &out->poll_url)) || take_str(r, code, &out->error_code) ||
	    take_str(r, emsg, &out->error_message))
		return fb_apijson_oom(err);
	return fill_outputs(r, s, out, err);
}

/* ---- the two answers ---- */

static const int k_run_id[] = {F_RUN_ID, F_RUNID, F_ID, -1};

int fb_api_parse_run(const char *body, size_t len, struct fb_run_info *out, struct fb_err *err)
{
	static const int strong[] = {F_RUN_ID, F_RUNID, F_STATUS, -1};
	fb_apijson_run_init(out);
	if (!body || !len)
		return fb_apijson_fail(err, NULL, 0, "answer has an empty body");
	struct rd r;
	memset(&r, 0, sizeof(r));
	int rc = rd_parse(&r, body, len);
	if (rc == FB_ENOMEM) {
		rc = fb_apijson_oom(err);
	} else if (rc) {
		rc = fb_apijson_fail(err, body, len, "answer is not JSON");
	} else if (r.top_t != J_OBJ) {
		rc = fb_apijson_fail(err, body, len, "answer is not a JSON object");
	} else {
		/* The run: the answer itself when it looks like one, else a wrapper's. */
		const struct rslot *s = &r.rs[0];
		for (int w = 0; w < 2 && !any(s->f, strong); w++) {
			const struct rslot *in = &r.rs[r.wrap_slot[w]];
			const struct jv *idv;
			if (r.top[T_WRAP_RUN + w].t == J_OBJ && (idv = any(in->f, k_run_id)) &&
			    idv->t == J_STR) {
				s = in;
				break;
			}
		}
		rc = fill_run(&r, s, k_run_id, "run_id, runId or id", out, body, len, err);
	}
	rd_release(&r);
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
static const int k_item_id[] = {F_RUN_ID, F_RUNID, F_TRID, F_TRID_C, F_GENID, F_GENID_C, F_ID, -1};

static int list_items(const struct rd *r, int cand, const char *name, struct fb_run_info **runs,
		      size_t *nruns, struct fb_err *err)
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
		const struct item *it = &r->items[j];
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
static int list_cursor(const struct rd *r, char **out, struct fb_err *err)
{
	const struct jv *v = any(r->meta, (const int[]){0, 1, -1});
	if (!v)
		v = any(r->top, (const int[]){T_CURSOR, T_CURSOR_C, -1});
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
	struct rd r;
	memset(&r, 0, sizeof(r));
	r.list = 1;
	r.cands = kind == FB_JOB_GENERATION ? generation : technique;
	int rc = rd_parse(&r, body, len), cand = -1;
	if (rc == FB_ENOMEM) {
		rc = fb_apijson_oom(err);
	} else if (rc) {
		rc = fb_apijson_fail(err, body, len, "list answer is not JSON");
	} else {
		for (int c = 0; c < 4 && cand < 0 && r.top_t == J_OBJ; c++)
			if (r.top[T_CAND0 + c].t == J_ARR)
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
	rd_release(&r);
	if (rc) {
		fb_run_list_free(*runs, *nruns);
		*runs = NULL;
		*nruns = 0;
		free(*next_cursor);
		*next_cursor = NULL;
	}
	return rc;
}
