/* mergeidx: fixed records of the lines a merge reads, and the line each item keeps. */
#include "mergeidx.h"
#include "item.h"
#include "json.h"
#include "results.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct fb_mrec) == 56, "a line's record stays 56 bytes");

int fb_mergeidx_add(struct fb_mergeidx *x, const struct fb_mrec *r)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap + x->cap / 2 : 4096;
		struct fb_mrec *v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return FB_ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = *r;
	return 0;
}

void fb_mergeidx_release(struct fb_mergeidx *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int by_place(const void *pa, const void *pb)
{
	const struct fb_mrec *a = pa, *b = pb;
	return a->folder != b->folder ? (a->folder < b->folder ? -1 : 1) : cmp_u64(a->off, b->off);
}

static int by_item(const void *pa, const void *pb)
{
	const struct fb_mrec *a = pa, *b = pb;
	int c = cmp_u64(a->idh, b->idh);
	return c ? c : by_place(pa, pb);
}

void fb_mergeidx_by_place(struct fb_mergeidx *x)
{
	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), by_place);
}

static int terminal(const struct fb_mrec *r)
{
	return r->status == FB_STATUS_COMPLETED || r->status == FB_STATUS_FAILED ||
	       r->status == FB_STATUS_INVALID;
}

int fb_mergeidx_better(const struct fb_mrec *a, const struct fb_mrec *b)
{
	if (terminal(a) != terminal(b))
		return terminal(a);
	if (a->finished != b->finished)
		return a->finished > b->finished;
	return by_place(a, b) > 0;
}

/* The members of one item (one id), in place order: the choice, how they disagree, the report. */
static int settle(struct fb_mergeidx *x, const size_t *at, struct fb_merge_member *m, size_t n,
		  const char *id, const struct fb_merge_resolver *res, struct fb_err *err)
{
	struct fb_merge_group g = {.id = id, .m = m, .n = n};
	for (size_t i = 1; i < n; i++)
		if (fb_mergeidx_better(m[i].r, m[g.keep].r))
			g.keep = i;
	x->v[at[g.keep]].flags |= FB_MREC_KEEP;
	if (n == 1)
		return 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const struct fb_mrec *a = m[i].r, *b = m[j].r;
			if (terminal(a) && terminal(b) && a->status != b->status)
				g.why |= FB_MERGE_OUTCOMES;
			if (a->status == FB_STATUS_COMPLETED && b->status == FB_STATUS_COMPLETED &&
			    a->outfp != b->outfp)
				g.why |= FB_MERGE_OUTPUTS;
			if (a->keyh && b->keyh && a->keyh != b->keyh)
				g.why |= FB_MERGE_WORK;
		}
	/* Foreign: a key one folder gives the id that another folder, with keys of its own for
	 * it, never gives it. */
	for (size_t i = 0; i < n && (g.why & FB_MERGE_WORK) && !g.foreign; i++) {
		for (size_t j = 0; j < n && !g.foreign; j++) {
			if (m[j].r->folder == m[i].r->folder || !m[i].r->keyh || !m[j].r->keyh)
				continue;
			int has = 0;
			for (size_t k = 0; k < n && !has; k++)
				has = m[k].r->folder == m[j].r->folder &&
				      m[k].r->keyh == m[i].r->keyh;
			g.foreign = !has;
		}
	}
	return res->group ? res->group(res->ud, &g, err) : 0;
}

/* Reads back id and key of line r; copies the caller frees. */
static int read_back(const struct fb_merge_resolver *res, const struct fb_mrec *r,
		     struct fb_buf *text, char **id, char **key, struct fb_err *err)
{
	int rc = res->line(res->ud, r, text, err);
	if (rc)
		return rc;
	char ebuf[64];
	yajl_val v = fb_json_depth_ok(text->ptr ? text->ptr : "", text->len, 128)
			 ? yajl_tree_parse(text->ptr ? text->ptr : "", ebuf, sizeof(ebuf))
			 : NULL;
	const char *i = fb_json_get_str(v, "id"), *k = fb_json_get_str(v, "idempotency_key");
	if (!i) {
		yajl_tree_free(v);
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "line %u changed while it was read: it has no id now", r->line);
	}
	*id = fb_strdup(i);
	*key = k ? fb_strdup(k) : NULL;
	yajl_tree_free(v);
	return *id && (!k || *key) ? 0 : fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

/* Records [from, to) share an id hash: read their ids, settle each id on its own. */
static int settle_run(struct fb_mergeidx *x, size_t from, size_t to,
		      const struct fb_merge_resolver *res, struct fb_err *err)
{
	size_t n = to - from;
	char **ids = calloc(n, sizeof(*ids)), **keys = calloc(n, sizeof(*keys));
	struct fb_merge_member *m = calloc(n, sizeof(*m));
	size_t *at = calloc(n, sizeof(*at));
	struct fb_buf text = FB_BUF_INIT;
	int rc =
	    ids && keys && m && at ? 0 : fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	for (size_t i = 0; !rc && i < n; i++)
		rc = read_back(res, &x->v[from + i], &text, &ids[i], &keys[i], err);
	/* Nearly always one id; a shared hash splits into one group per id. */
	for (size_t i = 0; !rc && i < n; i++) {
		if (!ids[i])
			continue;
		size_t k = 0;
		char *id = ids[i];
		for (size_t j = i; j < n; j++) {
			if (!ids[j] || strcmp(ids[j], id))
				continue;
			m[k].r = &x->v[from + j];
			m[k].key = keys[j];
			at[k++] = from + j;
			if (j != i) {
				free(ids[j]);
				ids[j] = NULL;
			}
		}
		rc = settle(x, at, m, k, id, res, err);
		free(ids[i]);
		ids[i] = NULL;
	}
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(ids);
	free(keys);
	free(m);
	free(at);
	fb_buf_release(&text);
	return rc;
}

int fb_mergeidx_resolve(struct fb_mergeidx *x, const struct fb_merge_resolver *res,
			struct fb_err *err)
{
	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), by_item);
	int rc = 0;
	for (size_t i = 0, j; !rc && i < x->n; i = j) {
		for (j = i + 1; j < x->n && x->v[j].idh == x->v[i].idh; j++)
			;
		for (size_t k = i; k < j; k++)
			x->v[k].flags &= (uint8_t)~FB_MREC_KEEP;
		if (j - i == 1)
			x->v[i].flags |= FB_MREC_KEEP;
		else
			rc = settle_run(x, i, j, res, err);
	}
	return rc;
}
