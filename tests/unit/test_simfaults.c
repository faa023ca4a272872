/*
 * Tests for the sim transport's side of authentication and faults: it sends
 * the API key, and acts out what the model orders (resets, truncated
 * downloads) as a network would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "sim.h"

static char in_id[] = "input_image", in_value[] = "https://example.com/a.png";
static const struct fb_input input = {.id = in_id, .type = FB_INPUT_IMAGE_URL, .value = in_value};

struct seen {
	int fired, ok, http_status;
	enum fb_run_status status;
	struct fb_err err;
	char run_id[64], poll_url[256], url[256];
};

static void on_reply(void *ud, const struct fb_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->err = r->err;
	if (r->ok) {
		snprintf(s->run_id, sizeof(s->run_id), "%s", r->run.run_id);
		snprintf(s->poll_url, sizeof(s->poll_url), "%s",
			 r->run.poll_url ? r->run.poll_url : "");
		s->status = r->run.status;
		if (r->run.noutputs)
			snprintf(s->url, sizeof(s->url), "%s", r->run.outputs[0].url);
	}
}

struct dl {
	struct fb_buf bytes;
	int done;
	struct fb_fetch_result res;
};

static int on_data(void *ud, const void *data, size_t len)
{
	struct dl *d = ud;
	return fb_buf_add(&d->bytes, data, len);
}

static void on_done(void *ud, const struct fb_fetch_result *res)
{
	struct dl *d = ud;
	d->done++;
	d->res = *res;
}

struct fx {
	struct fb_clock *clock;
	struct fb_transport *t;
};

/* A transport over a model configured by cfg; latency 5 ms, runs done at the first poll. */
static struct fx *fx_new(struct fb_sim_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fb_err err = {0};
	cfg->latency_ms = 5;
	f->clock = fb_clock_virtual_new(0);
	assert_int_equal(fb_sim_transport_new(&f->t, cfg, f->clock, &err), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	fb_transport_free(f->t);
	fb_clock_free(f->clock);
	free(f);
}

static void step_until(struct fx *f, const int *flag)
{
	for (int i = 0; i < 1000 && !*flag; i++)
		assert_true(fb_transport_step(f->t, 1000) >= 0);
	assert_true(*flag);
}

static void create(struct fx *f, const char *key, struct seen *s)
{
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "sigil",
				     .inputs = &input,
				     .ninputs = 1,
				     .idempotency_key = key};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(f->t, &req, on_reply, s, &err), 0);
	step_until(f, &s->fired);
}

static struct fb_simstats stats(struct fx *f)
{
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f->t), &st);
	return st;
}

static void test_api_key_is_sent(void **state)
{
	(void)state;
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.api_key = "sk_test_right";
	cfg.api_key = "sk_test_right";
	struct fx *f = fx_new(&cfg);
	struct seen c = {0};
	create(f, "k", &c);
	assert_true(c.ok);
	assert_int_equal(c.http_status, 201);
	fx_free(f);

	/* A wrong key and no key: the model's 401s reach the callback as batch errors. */
	static const char *const keys[] = {"sk_test_wrong", NULL, ""};
	static const char *const codes[] = {"invalid_api_key", "unauthorized", "unauthorized"};
	for (int i = 0; i < 3; i++) {
		cfg.api_key = keys[i];
		f = fx_new(&cfg);
		struct seen w = {0};
		create(f, "k", &w);
		assert_false(w.ok);
		assert_int_equal(w.http_status, 401);
		assert_string_equal(w.err.api_code, codes[i]);
		assert_int_equal(w.err.kind, FB_KIND_BATCH);
		assert_int_equal(stats(f).runs_created, 0);
		fx_free(f);
	}
}

static void test_resets_are_transport_errors(void **state)
{
	(void)state;
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.fault_reset_after_rate = 1.0;
	struct fx *f = fx_new(&cfg);
	struct seen c = {0};
	create(f, "key-1", &c);
	assert_false(c.ok);
	assert_int_equal(c.http_status, 0); /* no HTTP answer came */
	assert_int_equal(c.err.code, FB_ETRANSPORT);
	assert_int_equal(c.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(c.err.msg, "reset"));
	assert_int_equal(stats(f).runs_created, 1); /* it acted all the same */
	assert_int_equal(stats(f).resets, 1);
	fx_free(f);

	cfg.model.fault_reset_after_rate = 0;
	cfg.model.fault_reset_before_rate = 1.0;
	f = fx_new(&cfg);
	memset(&c, 0, sizeof(c));
	create(f, "key-1", &c);
	assert_int_equal(c.err.code, FB_ETRANSPORT);
	assert_int_equal(stats(f).runs_created, 0);
	fx_free(f);
}

static void test_truncated_once_then_whole(void **state)
{
	(void)state;
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.fault_truncate_rate = 1.0;
	cfg.model.fault_slow_rate = 1.0;
	struct fx *f = fx_new(&cfg);
	struct fb_err err = {0};
	struct seen c = {0}, p = {0};
	create(f, NULL, &c);
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, NULL, c.poll_url};
	assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
	step_until(f, &p.fired);
	assert_int_equal(p.status, FB_RUN_COMPLETED);
	struct dl a = {0}, b = {0};
	assert_int_equal(fb_transport_fetch(f->t, p.url, on_data, on_done, &a, &err), 0);
	step_until(f, &a.done);
	assert_false(a.res.ok);
	assert_int_equal(a.res.err.code, FB_ETRANSPORT);
	assert_int_equal(a.res.err.kind, FB_KIND_RETRYABLE);
	assert_true(a.bytes.len > 0);
	assert_int_equal(a.res.bytes, a.bytes.len);
	/* The next download of the same output is whole (slow is just a download here). */
	assert_int_equal(fb_transport_fetch(f->t, p.url, on_data, on_done, &b, &err), 0);
	step_until(f, &b.done);
	assert_true(b.res.ok);
	assert_int_equal(b.bytes.len / 2, a.bytes.len);
	assert_memory_equal(a.bytes.ptr, b.bytes.ptr, a.bytes.len);
	assert_int_equal(stats(f).truncated, 1);
	fb_buf_release(&a.bytes);
	fb_buf_release(&b.bytes);
	fx_free(f);
}

static void test_5xx_reach_the_callback(void **state)
{
	(void)state;
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.fault_5xx_rate = 1.0;
	cfg.model.fault_html_rate = 1.0;
	struct fx *f = fx_new(&cfg);
	struct seen c = {0};
	create(f, "k", &c);
	assert_false(c.ok);
	assert_true(c.http_status == 500 || c.http_status == 503);
	assert_int_equal(c.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(c.err.msg, "html")); /* the proxy's page, quoted */
	assert_int_equal(stats(f).runs_created, 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api_key_is_sent),
	    cmocka_unit_test(test_resets_are_transport_errors),
	    cmocka_unit_test(test_truncated_once_then_whole),
	    cmocka_unit_test(test_5xx_reach_the_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
