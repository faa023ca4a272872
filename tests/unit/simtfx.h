/*
 * simtfx: the sim transport tests' fixture: a transport on a virtual clock,
 * and callbacks that copy what they saw out of the borrowed replies.
 * Include after cmocka.h.
 */
#ifndef FB_SIMTFX_H
#define FB_SIMTFX_H

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "sim.h"

static char image_id[] = "input_image", image_value[] = "https://storage.googleapis.com/b/in.png";
static char prompt_id[] = "prompt", prompt_value[] = "a cat";
/* What every simulated technique takes: an image, and a prompt besides. */
static const struct fb_input prompt[2] = {
    {.id = image_id, .type = FB_INPUT_IMAGE_URL, .value = image_value},
    {.id = prompt_id, .type = FB_INPUT_TEXT, .value = prompt_value}};

/* What one callback saw, copied out of the borrowed reply. */
struct seen {
	int fired;
	uint64_t at; /* clock when it fired */
	int ok, http_status;
	char run_id[64], poll_url[256], request_id[32];
	enum fb_run_status status;
	double progress;
	int64_t created_at;
	long retry_after_ms;
	struct fb_err err;
	size_t noutputs;
	char urls[4][256];
	/* chain: start another request from inside the callback */
	struct fb_transport *t;
	struct fb_clock *clock;
	int chain_left;
	struct seen *chained;
	int chained_fired_inside; /* the started request fired before its start returned */
	int *order_counter;	  /* when set: order gets this callback's 1-based rank */
	int order;
};

static inline void on_reply(void *ud, const struct fb_reply *r);

static inline void start_poll(struct seen *s, const char *run_id)
{
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, run_id, "cctv-cam", NULL};
	struct fb_err err = {0};
	s->chained->t = s->t;
	s->chained->clock = s->clock;
	s->chained->chain_left = s->chain_left - 1;
	int before = s->chained->fired;
	assert_int_equal(fb_transport_get_run(s->t, &ref, on_reply, s->chained, &err), 0);
	s->chained_fired_inside = s->chained->fired != before;
}

static inline void on_reply(void *ud, const struct fb_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	if (s->order_counter)
		s->order = ++*s->order_counter;
	s->at = s->clock ? fb_clock_now_ms(s->clock) : 0;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->retry_after_ms = r->retry_after_ms;
	s->err = r->err;
	snprintf(s->request_id, sizeof(s->request_id), "%s", r->request_id ? r->request_id : "");
	if (r->ok) {
		snprintf(s->run_id, sizeof(s->run_id), "%s", r->run.run_id);
		snprintf(s->poll_url, sizeof(s->poll_url), "%s",
			 r->run.poll_url ? r->run.poll_url : "");
		s->status = r->run.status;
		s->progress = r->run.progress;
		s->created_at = r->run.created_at;
		s->noutputs = r->run.noutputs;
		for (size_t i = 0; i < r->run.noutputs && i < 4; i++)
			snprintf(s->urls[i], sizeof(s->urls[i]), "%s", r->run.outputs[i].url);
	}
	if (s->chain_left > 0 && s->chained && r->ok)
		start_poll(s, r->run.run_id);
}

struct dl {
	struct fb_buf bytes;
	size_t chunks, max_chunk;
	int abort_with; /* returned from the first data callback when non-zero */
	int done;
	struct fb_fetch_result res;
	char content_type[64];
	struct fb_clock *clock;
	uint64_t at;
};

static inline int on_data(void *ud, const void *data, size_t len)
{
	struct dl *d = ud;
	assert_int_equal(d->done, 0);
	d->chunks++;
	if (len > d->max_chunk)
		d->max_chunk = len;
	fb_buf_add(&d->bytes, data, len);
	return d->abort_with;
}

static inline void on_done(void *ud, const struct fb_fetch_result *res)
{
	struct dl *d = ud;
	d->done++;
	d->res = *res;
	d->at = d->clock ? fb_clock_now_ms(d->clock) : 0;
	snprintf(d->content_type, sizeof(d->content_type), "%s",
		 res->content_type ? res->content_type : "");
}

struct fx {
	struct fb_clock *clock;
	struct fb_transport *t;
};

static inline struct fx *fx_new_cased(uint64_t latency, uint64_t run_ms, double fail_rate,
				      enum fb_sim_casing casing)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.casing = casing;
	cfg.model.seed = 11;
	cfg.model.run_ms = run_ms;
	cfg.model.fail_rate = fail_rate;
	cfg.model.outputs_per_run = 2;
	cfg.latency_ms = latency;
	struct fb_err err = {0};
	f->clock = fb_clock_virtual_new(0);
	assert_int_equal(fb_sim_transport_new(&f->t, &cfg, f->clock, &err), 0);
	assert_string_equal(f->t->ops->name, "sim");
	return f;
}

static inline struct fx *fx_new(uint64_t latency, uint64_t run_ms, double fail_rate)
{
	return fx_new_cased(latency, run_ms, fail_rate, FB_SIM_SNAKE);
}

static inline void fx_free(struct fx *f)
{
	fb_transport_free(f->t);
	fb_clock_free(f->clock);
	free(f);
}

static inline int create(struct fx *f, const char *technique, const char *key, struct seen *s)
{
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = technique,
				     .inputs = prompt,
				     .ninputs = 2,
				     .idempotency_key = key};
	struct fb_err err = {0};
	s->clock = f->clock;
	return fb_transport_create_run(f->t, &req, on_reply, s, &err);
}

/* Steps until flag is non-zero; fails after too many steps. */
static inline void step_until(struct fx *f, const int *flag)
{
	for (int i = 0; i < 1000 && !*flag; i++)
		assert_true(fb_transport_step(f->t, 1000) >= 0);
	assert_true(*flag);
}

static inline void sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	assert_true(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL));
	assert_int_equal(len, 32);
}

#endif
