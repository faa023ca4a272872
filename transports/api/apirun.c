/*
 * apirun: the callback-driven reading of run answers and list pages (see
 * apirun.h): where each value goes is decided by the object or array it is
 * in, and a container nobody reads only moves a skip counter.
 */
#include "apirun.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

static const char *const run_names[FB_APIRUN_F_NAMED] = {
    "run_id",		"runId",	"id",	       "technique_run_id", "techniqueRunId",
    "generation_id",	"generationId", "status",      "progress",	   "estimated_seconds",
    "estimatedSeconds", "charged_cost", "chargedCost", "created_at",	   "createdAt",
    "poll_url",		"pollUrl",	"error_code",  "errorCode",	   "error_message",
    "errorMessage",	"error",	"outputs"};

static const char *const out_names[FB_APIRUN_NO] = {"type",	 "url",	     "text", "content",
						    "output_id", "outputId", "id"};

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
static size_t new_rslot(struct fb_apirun *r)
{
	struct fb_apirun_run *v = grow(r->rs, &r->caprs, r->nrs, sizeof(*v));
	if (!v)
		return (size_t)-1;
	r->rs = v;
	memset(&v[r->nrs], 0, sizeof(*v));
	return r->nrs++;
}

static int push(struct fb_apirun *r, enum fb_apirun_role role, size_t slot, int cand)
{
	if (r->nfr == FB_APIRUN_MAX_FRAMES)
		return -1;
	r->fr[r->nfr++] = (struct fb_apirun_frame){role, -1, slot, cand};
	return 0;
}

/* The slot a kept value is recorded in, or NULL: the frame's pending member. */
static struct fb_apirun_val *target(struct fb_apirun *r, struct fb_apirun_frame *f)
{
	int k = f->pending;
	f->pending = -1;
	if (k < 0)
		return NULL;
	switch (f->role) {
	case FB_APIRUN_R_RUN:
	case FB_APIRUN_R_RUNTOP:
	case FB_APIRUN_R_ERROBJ:
		return k >= 1000 ? &r->top[k - 1000] : &r->rs[f->slot].f[k];
	case FB_APIRUN_R_OUT:
		return &r->os[f->slot].f[k];
	case FB_APIRUN_R_LISTTOP:
		return &r->top[k];
	case FB_APIRUN_R_META:
		return &r->meta[k];
	default:
		return NULL;
	}
}

/*
 * One value (t; text of n bytes for strings and numbers). Containers say
 * what reads their contents: a frame, or the skip counter.
 */
static int value(struct fb_apirun *r, enum fb_apirun_type t, const char *s, size_t n)
{
	if (r->skip) {
		r->skip += t == FB_APIRUN_OBJ || t == FB_APIRUN_ARR;
		return 1;
	}
	int cont = t == FB_APIRUN_OBJ || t == FB_APIRUN_ARR, kept = 0;
	if (!r->nfr) { /* the answer itself */
		r->top_t = (uint8_t)t;
		if (t == FB_APIRUN_OBJ) {
			size_t s0 = r->list ? 0 : new_rslot(r);
			if (s0 == (size_t)-1)
				goto nomem;
			push(r, r->list ? FB_APIRUN_R_LISTTOP : FB_APIRUN_R_RUNTOP, s0, 0);
			return 1;
		}
		r->skip += cont;
		return 1;
	}
	struct fb_apirun_frame *f = &r->fr[r->nfr - 1];
	if (f->role == FB_APIRUN_R_OUTS) { /* an output */
		struct fb_apirun_out *o = grow(r->os, &r->capos, r->nos, sizeof(*o));
		if (!o)
			goto nomem;
		r->os = o;
		memset(&o[r->nos], 0, sizeof(*o));
		o[r->nos].is_obj = t == FB_APIRUN_OBJ;
		r->rs[f->slot].nout++;
		if (t == FB_APIRUN_OBJ)
			return push(r, FB_APIRUN_R_OUT, r->nos++, 0) ? 0 : 1;
		r->nos++;
		r->skip += cont;
		return 1;
	}
	if (f->role == FB_APIRUN_R_LIST) { /* an item of a list */
		struct fb_apirun_item *it = grow(r->items, &r->capitems, r->nitems, sizeof(*it));
		if (!it)
			goto nomem;
		r->items = it;
		size_t s0 = t == FB_APIRUN_OBJ ? new_rslot(r) : 0;
		if (s0 == (size_t)-1)
			goto nomem;
		it[r->nitems++] = (struct fb_apirun_item){s0, f->cand, t == FB_APIRUN_OBJ};
		if (t == FB_APIRUN_OBJ)
			return push(r, FB_APIRUN_R_RUN, s0, 0) ? 0 : 1;
		r->skip += cont;
		return 1;
	}
	int k = f->pending;
	struct fb_apirun_val *v = target(r, f);
	if (v) {
		v->t = (uint8_t)t;
		if (t == FB_APIRUN_STR || t == FB_APIRUN_NUM) {
			v->off = r->arena.len;
			if (fb_buf_add(&r->arena, s, n) || fb_buf_addc(&r->arena, '\0'))
				goto nomem;
		}
		/* The containers read member by member. */
		if (f->role == FB_APIRUN_R_RUN || f->role == FB_APIRUN_R_RUNTOP) {
			if (k == FB_APIRUN_F_ERROR && t == FB_APIRUN_OBJ)
				kept = !push(r, FB_APIRUN_R_ERROBJ, f->slot, 0);
			else if (k == FB_APIRUN_F_OUTPUTS && t == FB_APIRUN_ARR) {
				r->rs[f->slot].out0 = r->nos;
				kept = !push(r, FB_APIRUN_R_OUTS, f->slot, 0);
			} else if (k >= 1000 + FB_APIRUN_T_WRAP_RUN &&
				   k <= 1000 + FB_APIRUN_T_WRAP_DATA && t == FB_APIRUN_OBJ) {
				size_t w = new_rslot(r);
				if (w == (size_t)-1)
					goto nomem;
				r->wrap_slot[k - 1000 - FB_APIRUN_T_WRAP_RUN] = w;
				kept = !push(r, FB_APIRUN_R_RUN, w, 0);
			}
		} else if (f->role == FB_APIRUN_R_LISTTOP) {
			if (k >= FB_APIRUN_T_CAND0 && t == FB_APIRUN_ARR)
				kept = !push(r, FB_APIRUN_R_LIST, 0, k - FB_APIRUN_T_CAND0);
			else if (k == FB_APIRUN_T_META && t == FB_APIRUN_OBJ)
				kept = !push(r, FB_APIRUN_R_META, 0, 0);
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
	struct fb_apirun *r = ctx;
	if (r->skip)
		return 1;
	struct fb_apirun_frame *f = &r->fr[r->nfr - 1];
	static const char *const run_top[] = {"run", "data"};
	static const char *const list_top[FB_APIRUN_T_CAND0] = {NULL, NULL, "meta", "next_cursor",
								"nextCursor"};
	static const char *const err_names[2] = {"code", "message"};
	int k = -1;
	struct fb_apirun_val *seen = NULL;
	switch (f->role) {
	case FB_APIRUN_R_RUNTOP:
		if ((k = find_name(run_top, 2, key, n)) >= 0) {
			k += 1000 + FB_APIRUN_T_WRAP_RUN;
			seen = &r->top[k - 1000];
			break;
		}
		/* The answer is also a run. */
		__attribute__((fallthrough));
	case FB_APIRUN_R_RUN:
		if ((k = find_name(run_names, FB_APIRUN_F_NAMED, key, n)) >= 0)
			seen = &r->rs[f->slot].f[k];
		break;
	case FB_APIRUN_R_ERROBJ:
		if ((k = find_name(err_names, 2, key, n)) >= 0)
			seen = &r->rs[f->slot].f[k += FB_APIRUN_F_ERR_CODE];
		break;
	case FB_APIRUN_R_OUT:
		if ((k = find_name(out_names, FB_APIRUN_NO, key, n)) >= 0)
			seen = &r->os[f->slot].f[k];
		break;
	case FB_APIRUN_R_LISTTOP:
		if ((k = find_name(list_top, FB_APIRUN_T_CAND0, key, n)) < 0 &&
		    (k = find_name(r->cands, 4, key, n)) >= 0)
			k += FB_APIRUN_T_CAND0;
		if (k >= 0)
			seen = &r->top[k];
		break;
	case FB_APIRUN_R_META:
		if ((k = find_name(list_top + FB_APIRUN_T_CURSOR, 2, key, n)) >= 0)
			seen = &r->meta[k];
		break;
	default:
		break;
	}
	/* The first occurrence counts, as a lookup would find it; a null one too. */
	f->pending = seen && seen->t == FB_APIRUN_NONE ? k : -1;
	return 1;
}

static int on_null(void *ctx)
{
	return value(ctx, FB_APIRUN_NULL, NULL, 0);
}
static int on_bool(void *ctx, int b)
{
	(void)b;
	return value(ctx, FB_APIRUN_BOOL, NULL, 0);
}
static int on_number(void *ctx, const char *s, size_t n)
{
	return value(ctx, FB_APIRUN_NUM, s, n);
}
static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	return value(ctx, FB_APIRUN_STR, (const char *)s, n);
}
static int on_start_map(void *ctx)
{
	return value(ctx, FB_APIRUN_OBJ, NULL, 0);
}
static int on_start_array(void *ctx)
{
	return value(ctx, FB_APIRUN_ARR, NULL, 0);
}
static int on_end(void *ctx)
{
	struct fb_apirun *r = ctx;
	if (r->skip)
		r->skip--;
	else if (r->nfr)
		r->nfr--;
	return 1;
}

static const yajl_callbacks callbacks = {on_null,   on_bool,	    NULL,	  NULL,
					 on_number, on_string,	    on_start_map, on_key,
					 on_end,    on_start_array, on_end};

void fb_apirun_release(struct fb_apirun *r)
{
	fb_buf_release(&r->arena);
	free(r->rs);
	free(r->os);
	free(r->items);
}

/* Reads body; 0, 1 when it is not JSON, FB_ENOMEM. */
int fb_apirun_read(struct fb_apirun *r, const char *body, size_t len)
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
