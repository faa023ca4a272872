/*
 * simfx: a fixture for the simulated API's tests: a model on a virtual
 * clock, one call at a time, the last answer kept raw and parsed.
 * Include after cmocka.h.
 */
#ifndef FB_SIMFX_H
#define FB_SIMFX_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "clock.h"
#include "error.h"
#include "simmodel.h"

#define SFX_T0	  1000ULL
#define SFX_EPOCH 1767225600000ULL /* the virtual clock's wall epoch */
#define SFX_KEY	  "sk_test_simfx"
#define SFX_AUTH  "Bearer " SFX_KEY
/* The image input every simulated technique requires, as the first item of a nested body. */
#define SFX_IMAGE                                                                                  \
	"{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":"                                 \
	"\"https://storage.googleapis.com/simfx/cat.png\"}"

struct sfx {
	struct fb_clock *clock;
	struct fb_simmodel *m;
	const char *auth;     /* sent with every call; NULL: none */
	struct fb_simresp r;  /* the last answer */
	yajl_val v;	      /* the last answer parsed, when it was JSON */
	char scratch[8][256]; /* for sfx_fmt */
	unsigned next_scratch;
};

static inline struct fb_simmodel_config sfx_config(void)
{
	struct fb_simmodel_config c;
	memset(&c, 0, sizeof(c));
	c.seed = 7;
	c.run_ms = 10000;
	c.outputs_per_run = 1;
	c.estimate = FB_SIM_EST_EXACT; /* the tests of the hint; the contract's default is absent */
	return c;
}

static inline struct sfx *sfx_new(const struct fb_simmodel_config *cfg)
{
	struct sfx *f = calloc(1, sizeof(*f));
	struct fb_err err = {0};
	assert_non_null(f);
	f->clock = fb_clock_virtual_new(SFX_T0);
	f->r = (struct fb_simresp)FB_SIMRESP_INIT;
	if (fb_simmodel_new(&f->m, cfg, f->clock, &err))
		fail_msg("fb_simmodel_new: %s", err.msg);
	if (cfg->api_key && *cfg->api_key) {
		snprintf(f->scratch[7], sizeof(f->scratch[7]), "Bearer %s", cfg->api_key);
		f->auth = f->scratch[7];
	}
	return f;
}

static inline void sfx_free(struct sfx *f)
{
	if (!f)
		return;
	yajl_tree_free(f->v);
	fb_simresp_release(&f->r);
	fb_simmodel_free(f->m);
	fb_clock_free(f->clock);
	free(f);
}

/* printf into one of a few rotating buffers, for paths built in a call's arguments. */
__attribute__((format(printf, 2, 3))) static inline const char *sfx_fmt(struct sfx *f,
									const char *fmt, ...)
{
	char *b = f->scratch[f->next_scratch++ % 7];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, 256, fmt, ap);
	va_end(ap);
	return b;
}

/* One request with everything spelled out; returns the status. */
static inline int sfx_call(struct sfx *f, const char *method, const char *path, const char *key,
			   const char *ctype, const char *body, size_t len)
{
	struct fb_simcall c = {.method = method,
			       .path = path,
			       .authorization = f->auth,
			       .idem_key = key,
			       .content_type = ctype,
			       .body = body,
			       .body_len = len};
	yajl_tree_free(f->v);
	f->v = NULL;
	fb_simresp_release(&f->r);
	f->r = (struct fb_simresp)FB_SIMRESP_INIT;
	assert_int_equal(fb_simmodel_handle(f->m, &c, &f->r), 0);
	assert_true(f->r.status >= 200 && f->r.status < 600);
	assert_non_null(f->r.content_type);
	assert_int_equal(strncmp(f->r.request_id, "req_", 4), 0);
	if (!strcmp(f->r.content_type, "application/json")) {
		char eb[256];
		f->v = yajl_tree_parse(fb_buf_str(&f->r.body), eb, sizeof(eb));
		if (!f->v)
			fail_msg("not JSON (%s): %s", eb, fb_buf_str(&f->r.body));
	}
	return f->r.status;
}

static inline int sfx_get(struct sfx *f, const char *path)
{
	return sfx_call(f, "GET", path, NULL, NULL, NULL, 0);
}

static inline int sfx_post(struct sfx *f, const char *path, const char *key, const char *json)
{
	return sfx_call(f, "POST", path, key, json ? "application/json" : NULL, json,
			json ? strlen(json) : 0);
}

/* A member by path ("a", "b", NULL), or NULL. */
static inline yajl_val sfx_at(yajl_val v, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};
	return v ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

static inline const char *sfx_str(yajl_val v, const char *key)
{
	yajl_val s = sfx_at(v, key, NULL);
	if (!YAJL_IS_STRING(s))
		fail_msg("%s is not a string", key);
	return s->u.string;
}

static inline long long sfx_int(yajl_val v, const char *key)
{
	yajl_val s = sfx_at(v, key, NULL);
	if (!YAJL_IS_INTEGER(s))
		fail_msg("%s is not an integer", key);
	return YAJL_GET_INTEGER(s);
}

static inline double sfx_num(yajl_val v, const char *key)
{
	yajl_val s = sfx_at(v, key, NULL);
	if (!YAJL_IS_NUMBER(s))
		fail_msg("%s is not a number", key);
	return YAJL_GET_DOUBLE(s);
}

/* The last answer was status with the error envelope carrying code. */
static inline void sfx_assert_error(struct sfx *f, int status, const char *code)
{
	if (f->r.status != status)
		fail_msg("status %d, want %d: %s", f->r.status, status, fb_buf_str(&f->r.body));
	assert_non_null(f->v);
	assert_int_equal(f->v->u.object.len, 1);
	yajl_val e = sfx_at(f->v, "error", NULL);
	assert_true(YAJL_IS_OBJECT(e));
	assert_string_equal(sfx_str(e, "code"), code);
	assert_true(strlen(sfx_str(e, "message")) > 0);
	for (size_t i = 0; i < e->u.object.len; i++) { /* additionalProperties: false */
		const char *k = e->u.object.keys[i];
		assert_true(!strcmp(k, "code") || !strcmp(k, "message") || !strcmp(k, "fields"));
	}
}

/* The field named in fields[0] of a 400 input_validation_error. */
static inline const char *sfx_bad_field(struct sfx *f)
{
	sfx_assert_error(f, 400, "input_validation_error");
	yajl_val fields = sfx_at(f->v, "error", "fields");
	assert_true(YAJL_IS_ARRAY(fields) && fields->u.array.len >= 1);
	return sfx_str(fields->u.array.values[0], "field");
}

/* A copy of a string member of the last answer (caller frees). */
static inline char *sfx_dup(struct sfx *f, const char *key)
{
	char *s = strdup(sfx_str(f->v, key));
	assert_non_null(s);
	return s;
}

#endif
