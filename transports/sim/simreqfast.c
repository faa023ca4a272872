/*
 * simreqfast: the nested run body as nearly every client sends it, read
 * with yajl's callback parser instead of a tree: members inputs, mode and
 * optionally callback_url and idempotency_key, each once; inputs a
 * non-empty array of objects with exactly id, type and value, all strings.
 * A body that is valid in that shape gets the same idempotency key and
 * digest as the tree reader gives it; anything else (an extra member, a
 * number, a duplicate, a mistake to report) is left to the tree reader.
 * The entry points fb_simreq_parse and fb_simreq_parse_as are here, above
 * the tree reader (simreq.c), which they fall back to.
 */
#include "simreq.h"
#include "buf.h"
#include "error.h"
#include "item.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

enum { T_INPUTS, T_MODE, T_CALLBACK, T_KEY, NTOP };
enum { I_ID, I_TYPE, I_VALUE, NIN };
static const char *const top_names[NTOP] = {"inputs", "mode", "callback_url", "idempotency_key"};
static const char *const in_names[NIN] = {"id", "type", "value"};

#define NONE ((size_t)-1)

struct input {
	size_t f[NIN]; /* arena offsets, NONE: absent */
};

struct rd {
	struct fb_buf arena;
	size_t top[NTOP];
	struct input *in;
	size_t nin, capin;
	int depth, key; /* the member the next value is for */
	int seen_inputs, bail, nomem;
};

static int find(const char *const *names, int n, const unsigned char *k, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], k, len))
			return i;
	return -1;
}

/* Anything but the common shape ends the fast read: the tree reader takes over. */
static int bail(struct rd *r)
{
	r->bail = 1;
	return 0;
}

static int on_other(void *ctx)
{
	return bail(ctx);
}
static int on_bool(void *ctx, int b)
{
	(void)b;
	return bail(ctx);
}
static int on_number(void *ctx, const char *s, size_t n)
{
	(void)s;
	(void)n;
	return bail(ctx);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
	struct rd *r = ctx;
	/* The tree reader's strings end at a NUL; such a body is its to read. */
	if (r->key < 0 || memchr(s, '\0', n) || (r->depth == 1 && r->key == T_INPUTS))
		return bail(r);
	size_t *slot = r->depth == 1 ? &r->top[r->key] : &r->in[r->nin - 1].f[r->key];
	*slot = r->arena.len;
	if (fb_buf_add(&r->arena, s, n) || fb_buf_addc(&r->arena, '\0')) {
		r->nomem = 1;
		return 0;
	}
	r->key = -1;
	return 1;
}

static int on_start_map(void *ctx)
{
	struct rd *r = ctx;
	if (r->depth == 0) {
		r->depth = 1;
		return 1;
	}
	if (r->depth != 2) /* only input items are objects */
		return bail(r);
	if (r->nin == r->capin) {
		size_t cap = r->capin ? r->capin * 2 : 4;
		struct input *in = realloc(r->in, cap * sizeof(*in));
		if (!in) {
			r->nomem = 1;
			return 0;
		}
		r->in = in;
		r->capin = cap;
	}
	for (int i = 0; i < NIN; i++)
		r->in[r->nin].f[i] = NONE;
	r->nin++;
	r->depth = 3;
	return 1;
}

static int on_key(void *ctx, const unsigned char *k, size_t n)
{
	struct rd *r = ctx;
	if (r->depth == 1) {
		r->key = find(top_names, NTOP, k, n);
		if (r->key < 0 || (r->key == T_INPUTS ? r->seen_inputs : r->top[r->key] != NONE))
			return bail(r);
		return 1;
	}
	r->key = find(in_names, NIN, k, n);
	if (r->key < 0 || r->in[r->nin - 1].f[r->key] != NONE)
		return bail(r);
	return 1;
}

static int on_end_map(void *ctx)
{
	struct rd *r = ctx;
	r->depth = r->depth == 3 ? 2 : 0;
	r->key = -1;
	return 1;
}

static int on_start_array(void *ctx)
{
	struct rd *r = ctx;
	if (r->depth != 1 || r->key != T_INPUTS)
		return bail(r);
	r->seen_inputs = 1;
	r->depth = 2;
	r->key = -1;
	return 1;
}

static int on_end_array(void *ctx)
{
	struct rd *r = ctx;
	r->depth = 1;
	return 1;
}

static const yajl_callbacks callbacks = {on_other,   on_bool,	     NULL,	   NULL,
					 on_number,  on_string,	     on_start_map, on_key,
					 on_end_map, on_start_array, on_end_array};

static const char *at(const struct rd *r, size_t off)
{
	return off == NONE ? NULL : r->arena.ptr + off;
}

/* Whether the body read is valid as it stands (else the tree reader explains why not). */
static int valid(const struct rd *r)
{
	const char *mode = at(r, r->top[T_MODE]), *cb = at(r, r->top[T_CALLBACK]);
	if (!r->nin || !mode || (strcmp(mode, "async") && strcmp(mode, "stream")) ||
	    (cb && !fb_is_http_url(cb)))
		return 0;
	for (size_t i = 0; i < r->nin; i++) {
		const char *type = at(r, r->in[i].f[I_TYPE]);
		if (r->in[i].f[I_ID] == NONE || r->in[i].f[I_VALUE] == NONE || !type ||
		    (strcmp(type, "text") && strcmp(type, "imageUrl") && strcmp(type, "videoUrl")))
			return 0;
	}
	return 1;
}

static void gen_str(yajl_gen g, const char *s, int *bad)
{
	*bad |= yajl_gen_string(g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok;
}

/* The canonical text goes straight into a buffer: yajl's own costs a call per piece. */
struct canon {
	struct fb_buf text;
	int nomem;
};

static void canon_print(void *ctx, const char *s, size_t len)
{
	struct canon *c = ctx;
	struct fb_buf *b = &c->text;
	if (c->nomem || (b->len + len >= b->cap && fb_buf_grow(b, len))) {
		c->nomem = 1;
		return;
	}
	memcpy(b->ptr + b->len, s, len); /* no NUL: the text is read by length */
	b->len += len;
}

/* The tree reader's canonical form: keys sorted, idempotency_key left out. */
static int digest(const struct rd *r, const EVP_MD *md, unsigned char *out)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return FB_ENOMEM;
	struct canon c = {FB_BUF_INIT, 0};
	int bad = fb_buf_grow(&c.text, r->arena.len + 64 + 32 * r->nin) != 0;
	yajl_gen_config(g, yajl_gen_print_callback, canon_print, (void *)&c);
	bad |= yajl_gen_map_open(g) != yajl_gen_status_ok;
	if (r->top[T_CALLBACK] != NONE) { /* "callback_url" < "inputs" < "mode" */
		gen_str(g, "callback_url", &bad);
		gen_str(g, at(r, r->top[T_CALLBACK]), &bad);
	}
	gen_str(g, "inputs", &bad);
	bad |= yajl_gen_array_open(g) != yajl_gen_status_ok;
	for (size_t i = 0; i < r->nin; i++) {
		bad |= yajl_gen_map_open(g) != yajl_gen_status_ok;
		for (int k = 0; k < NIN; k++) { /* "id" < "type" < "value" */
			gen_str(g, in_names[k], &bad);
			gen_str(g, at(r, r->in[i].f[k]), &bad);
		}
		bad |= yajl_gen_map_close(g) != yajl_gen_status_ok;
	}
	bad |= yajl_gen_array_close(g) != yajl_gen_status_ok;
	gen_str(g, "mode", &bad);
	gen_str(g, at(r, r->top[T_MODE]), &bad);
	bad |= yajl_gen_map_close(g) != yajl_gen_status_ok;
	unsigned int mdlen = 0;
	if (!bad &&
	    (c.nomem ||
	     !EVP_Digest(c.text.ptr, c.text.len, out, &mdlen, md ? md : EVP_sha256(), NULL) ||
	     mdlen != FB_SIMREQ_DIGEST_LEN))
		bad = 1;
	yajl_gen_free(g);
	fb_buf_release(&c.text);
	return bad ? FB_ENOMEM : 0;
}

/*
 * A nested run body of the common shape. 1: it was valid, and out has its
 * idempotency_key and digest, as the tree reader would give them; 0: not
 * that shape or not valid, out untouched (the tree reader decides);
 * FB_ENOMEM.
 */
static int fast_nested(const char *body, size_t len, struct fb_simreq *out)
{
	struct rd r;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < NTOP; i++)
		r.top[i] = NONE;
	r.key = -1;
	/* The strings with their NULs never outgrow the body: one allocation. */
	if (fb_buf_grow(&r.arena, len + 16))
		return FB_ENOMEM;
	yajl_handle h = yajl_alloc(&callbacks, NULL, &r);
	if (!h)
		return FB_ENOMEM;
	yajl_config(h, yajl_allow_comments, 1); /* as yajl_tree_parse reads */
	yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	int rc = 0;
	if (r.nomem)
		rc = FB_ENOMEM;
	else if (st == yajl_status_ok && !r.bail && valid(&r)) {
		for (size_t i = 0; i < r.nin; i++) {
			const char *v = at(&r, r.in[i].f[I_VALUE]);
			fb_simreq_keep_input(out, at(&r, r.in[i].f[I_ID]),
					     at(&r, r.in[i].f[I_TYPE]), !*v);
		}
		const char *key = at(&r, r.top[T_KEY]);
		if (key && !(out->idempotency_key = fb_strdup(key)))
			rc = FB_ENOMEM;
		else if (!(rc = digest(&r, out->md, out->digest)))
			rc = 1;
	}
	fb_buf_release(&r.arena);
	free(r.in);
	return rc;
}

int fb_simreq_parse_as(enum fb_simreq_kind kind, const char *body, size_t len,
		       struct fb_simreq *out)
{
	if (!body)
		len = 0;
	/* The common shape is three levels deep at most, so the depth scan can wait for the
	 * tree reader: the fast reader stops at the fourth level. A NUL byte is the tree
	 * reader's to refuse. */
	if (kind == FB_SIMREQ_NESTED_RUN && len && !memchr(body, '\0', len)) {
		int fast = fast_nested(body, len, out);
		if (fast)
			return fast < 0 ? fast : 0;
	}
	return fb_simreq_parse_tree(kind, body, len, out);
}

int fb_simreq_parse(const char *body, size_t len, struct fb_simreq *out)
{
	return fb_simreq_parse_as(FB_SIMREQ_NESTED_RUN, body, len, out);
}
