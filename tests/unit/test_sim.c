/* Tests for the sim transport: the transport contract, on a virtual clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simtfx.h"

static void test_full_lifecycle(void **state)
{
	(void)state;
	struct fx *f = fx_new(50, 2000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "cctv-cam", "item-1", &c), 0);
	assert_int_equal(c.fired, 0); /* never from inside the starting call */
	assert_int_equal(fb_transport_pending(f->t), 1);
	step_until(f, &c.fired);
	assert_int_equal(c.at, 50);
	assert_true(c.ok);
	assert_int_equal(c.http_status, 201);
	assert_int_equal(strncmp(c.run_id, "run_", 4), 0);
	assert_int_equal(strncmp(c.request_id, "req_", 4), 0);
	assert_int_equal(c.status, FB_RUN_PENDING);
	assert_int_equal(c.retry_after_ms, -1);
	assert_int_equal(strncmp(c.poll_url, "sim://api/v1/techniques/cctv-cam/runs/run_", 42), 0);
	assert_int_equal(fb_transport_pending(f->t), 0);

	int saw_running = 0;
	struct seen p = {0};
	for (int i = 0; i < 100 && p.status != FB_RUN_COMPLETED; i++) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, "cctv-cam", c.poll_url};
		struct fb_err err = {0};
		memset(&p, 0, sizeof(p));
		p.clock = f->clock;
		assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
		step_until(f, &p.fired);
		assert_true(p.ok);
		assert_int_equal(p.http_status, 200);
		assert_string_equal(p.run_id, c.run_id);
		saw_running |= p.status == FB_RUN_RUNNING;
		fb_clock_sleep_ms(f->clock, 150);
	}
	assert_true(saw_running);
	assert_int_equal(p.status, FB_RUN_COMPLETED);
	assert_int_equal(p.noutputs, 2);

	struct fb_simmodel *m = fb_sim_transport_model(f->t);
	assert_non_null(m);
	for (size_t i = 0; i < 2; i++) {
		struct dl d = {.clock = f->clock};
		struct fb_err err = {0};
		uint64_t t0 = fb_clock_now_ms(f->clock);
		assert_int_equal(fb_transport_fetch(f->t, p.urls[i], on_data, on_done, &d, &err),
				 0);
		assert_int_equal(d.done, 0);
		step_until(f, &d.done);
		assert_int_equal(d.done, 1);
		assert_int_equal(d.at, t0 + 50);
		assert_true(d.res.ok);
		assert_int_equal(d.res.http_status, 200);
		assert_string_equal(d.content_type, "image/png");
		assert_int_equal(d.res.bytes, d.bytes.len);
		assert_true(d.max_chunk <= 16 * 1024);
		/* The very bytes the model serves for that URL. */
		struct fb_simresp r = FB_SIMRESP_INIT;
		struct fb_simcall call = {.method = "GET", .path = p.urls[i]};
		assert_int_equal(fb_simmodel_handle(m, &call, &r), 0);
		assert_int_equal(r.status, 200);
		unsigned char h1[32], h2[32];
		sha256(d.bytes.ptr, d.bytes.len, h1);
		sha256(r.body.ptr, r.body.len, h2);
		assert_int_equal(d.bytes.len, r.body.len);
		assert_memory_equal(h1, h2, 32);
		fb_simresp_release(&r);
		fb_buf_release(&d.bytes);
	}
	struct fb_simstats st;
	fb_simmodel_stats(m, &st);
	assert_int_equal(st.runs_created, 1);
	assert_int_equal(st.fetches, 4);
	fx_free(f);
}

static void test_latency_is_honoured(void **state)
{
	(void)state;
	struct fx *f = fx_new(300, 1000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	assert_int_equal(fb_transport_step(f->t, 0), 0); /* nothing due, no time passes */
	assert_int_equal(fb_clock_now_ms(f->clock), 0);
	assert_int_equal(fb_transport_step(f->t, 100), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 100);
	assert_int_equal(fb_transport_step(f->t, 199), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 299);
	assert_int_equal(c.fired, 0);
	/* A long timeout waits only until the callback is due. */
	assert_int_equal(fb_transport_step(f->t, 60000), 1);
	assert_int_equal(c.fired, 1);
	assert_int_equal(c.at, 300);
	assert_int_equal(fb_clock_now_ms(f->clock), 300);
	/* With nothing pending, step lets the timeout pass. */
	assert_int_equal(fb_transport_step(f->t, 40), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 340);
	fx_free(f);
}

static void test_zero_latency_fires_only_in_step(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	assert_int_equal(c.fired, 0);
	assert_int_equal(fb_transport_step(f->t, 0), 1);
	assert_int_equal(c.fired, 1);
	assert_int_equal(c.at, 0);
	fx_free(f);
}

static void test_fires_by_due_time_then_start_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(10, 1000, 0.0);
	struct seen s[5] = {{0}};
	int counter = 0;
	for (int i = 0; i < 5; i++) {
		s[i].order_counter = &counter;
		if (i == 2)
			fb_clock_sleep_ms(f->clock, 5); /* s[2..4] are due 5 ms later */
		assert_int_equal(create(f, "sigil", NULL, &s[i]), 0);
	}
	assert_int_equal(fb_transport_pending(f->t), 5);
	/* The clock is at 5: the first two are due at 10, the rest at 15. */
	assert_int_equal(fb_transport_step(f->t, 100), 2);
	assert_int_equal(fb_clock_now_ms(f->clock), 10);
	assert_int_equal(fb_transport_step(f->t, 100), 3);
	assert_int_equal(fb_clock_now_ms(f->clock), 15);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s[i].order, i + 1);
	fx_free(f);
}

static void test_callback_starts_requests(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 1000, 0.0);
	struct seen chain[4] = {{0}};
	for (int i = 0; i < 3; i++)
		chain[i].chained = &chain[i + 1];
	chain[0].t = f->t;
	chain[0].chain_left = 3;
	assert_int_equal(create(f, "cctv-cam", NULL, &chain[0]), 0);
	int fired = 0;
	for (int i = 0; i < 10 && fb_transport_pending(f->t); i++) {
		int n = fb_transport_step(f->t, 0);
		assert_true(n >= 1); /* latency 0: something is due every time */
		fired += n;
	}
	assert_int_equal(fired, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(chain[i].fired, 1);
		assert_int_equal(chain[i].chained_fired_inside, 0);
		assert_true(chain[i].ok);
	}
	assert_string_equal(chain[3].run_id, chain[0].run_id);
	assert_int_equal(chain[3].http_status, 200);
	fx_free(f);
}

static void test_free_with_pending_requests(void **state)
{
	(void)state;
	struct fx *f = fx_new(1000, 1000, 0.0);
	struct seen s[3] = {{0}};
	struct dl d = {0};
	struct fb_err err = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(create(f, "sigil", NULL, &s[i]), 0);
	assert_int_equal(
	    fb_transport_fetch(f->t, "sim://api/v1/_sim/stats", on_data, on_done, &d, &err), 0);
	assert_int_equal(fb_transport_pending(f->t), 4);
	fx_free(f); /* the sanitizer build checks nothing leaks */
	for (int i = 0; i < 3; i++)
		assert_int_equal(s[i].fired, 0);
	assert_int_equal(d.done, 0);
}

static void test_api_errors_reach_the_callback(void **state)
{
	(void)state;
	struct fx *f = fx_new(5, 1000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "no-such-technique", NULL, &c), 0);
	step_until(f, &c.fired);
	assert_false(c.ok);
	assert_int_equal(c.http_status, 404);
	assert_int_equal(c.err.code, FB_EHTTP);
	assert_int_equal(c.err.http_status, 404);
	assert_string_equal(c.err.api_code, "not_found");
	assert_int_equal(c.err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(c.err.msg, c.request_id)); /* support asks for it */

	/* A request that cannot be built is not started: no callback, ever. */
	struct fb_run_request bad = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "sigil",
				     .inputs = NULL,
				     .ninputs = 0,
				     .idempotency_key = NULL};
	struct seen never = {0};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(f->t, &bad, on_reply, &never, &err), FB_EINVAL);
	assert_true(strlen(err.msg) > 0);
	assert_int_equal(fb_transport_pending(f->t), 0);
	fb_transport_step(f->t, 100);
	assert_int_equal(never.fired, 0);

	/* A reused key in replay mode: the same run, with 200. */
	struct seen a = {0}, b = {0};
	assert_int_equal(create(f, "sigil", "k", &a), 0);
	assert_int_equal(create(f, "sigil", "k", &b), 0);
	step_until(f, &b.fired);
	assert_true(a.ok && b.ok);
	assert_int_equal(a.http_status, 201);
	assert_int_equal(b.http_status, 200);
	assert_string_equal(a.run_id, b.run_id);
	fx_free(f);
}

static void test_fetch_failures(void **state)
{
	(void)state;
	struct fx *f = fx_new(5, 0, 0.0);
	struct fb_err err = {0};
	struct dl d = {0};
	assert_int_equal(fb_transport_fetch(f->t, "sim://api/v1/_sim/outputs/run_nope/out_1.png",
					    on_data, on_done, &d, &err),
			 0);
	step_until(f, &d.done);
	assert_false(d.res.ok);
	assert_int_equal(d.res.http_status, 404);
	assert_int_equal(d.chunks, 0);
	assert_int_equal(d.res.err.code, FB_EHTTP);
	assert_string_equal(d.res.err.api_code, "not_found");

	/* A data callback that says stop: done reports its code. */
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	step_until(f, &c.fired);
	struct seen p = {0};
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, NULL, c.poll_url};
	assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
	step_until(f, &p.fired);
	assert_int_equal(p.status, FB_RUN_COMPLETED);
	struct dl stop = {.abort_with = FB_ETOOBIG};
	assert_int_equal(fb_transport_fetch(f->t, p.urls[0], on_data, on_done, &stop, &err), 0);
	step_until(f, &stop.done);
	assert_int_equal(stop.done, 1);
	assert_int_equal(stop.chunks, 1);
	assert_false(stop.res.ok);
	assert_int_equal(stop.res.err.code, FB_ETOOBIG);
	assert_non_null(strstr(stop.res.err.msg, "aborted"));
	assert_int_equal(stop.res.bytes, stop.bytes.len);
	fb_buf_release(&stop.bytes);

	/* A URL outside the simulator's base is not found, not a crash. */
	struct dl other = {0};
	assert_int_equal(fb_transport_fetch(f->t, "https://media.example.com/x.png", on_data,
					    on_done, &other, &err),
			 0);
	step_until(f, &other.done);
	assert_int_equal(other.res.http_status, 404);
	fx_free(f);
}

static void test_failed_run_through_transport(void **state)
{
	(void)state;
	struct fx *f = fx_new(1, 0, 1.0);
	struct seen c = {0}, p = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	step_until(f, &c.fired);
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, "sigil", NULL};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
	step_until(f, &p.fired);
	assert_true(p.ok); /* a failed run is still a 200 that parsed */
	assert_int_equal(p.status, FB_RUN_FAILED);
	assert_true(p.progress == 100);
	assert_int_equal(p.noutputs, 0);
	fx_free(f);
}

/* The same bytes parser reads either casing, so a camelCase model changes nothing. */
static void test_camel_case_answers(void **state)
{
	(void)state;
	for (int casing = FB_SIM_CAMEL; casing <= FB_SIM_MIXED; casing++) {
		struct fx *f = fx_new_cased(1, 0, 0.0, (enum fb_sim_casing)casing);
		struct seen c = {0}, p = {0};
		assert_int_equal(create(f, "sigil", NULL, &c), 0);
		step_until(f, &c.fired);
		assert_true(c.ok);
		assert_int_equal(strncmp(c.poll_url, "sim://api/v1/techniques/sigil/runs/run_", 39),
				 0);
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, NULL, c.poll_url};
		struct fb_err err = {0};
		assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
		step_until(f, &p.fired);
		assert_true(p.ok);
		assert_string_equal(p.run_id, c.run_id);
		assert_int_equal(p.status, FB_RUN_COMPLETED);
		assert_int_equal(p.noutputs, 2);
		assert_non_null(strstr(p.urls[1], "/out_2.png"));
		fx_free(f);
	}
}

static void test_model_accessor(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, 0.0);
	assert_non_null(fb_sim_transport_model(f->t));
	assert_null(fb_sim_transport_model(NULL));
	fx_free(f);
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.fail_rate = 2.0;
	struct fb_clock *c = fb_clock_virtual_new(0);
	struct fb_transport *t = (struct fb_transport *)1;
	struct fb_err err = {0};
	assert_int_equal(fb_sim_transport_new(&t, &cfg, c, &err), FB_EINVAL);
	assert_null(t);
	fb_clock_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_lifecycle),
	    cmocka_unit_test(test_latency_is_honoured),
	    cmocka_unit_test(test_zero_latency_fires_only_in_step),
	    cmocka_unit_test(test_fires_by_due_time_then_start_order),
	    cmocka_unit_test(test_callback_starts_requests),
	    cmocka_unit_test(test_free_with_pending_requests),
	    cmocka_unit_test(test_api_errors_reach_the_callback),
	    cmocka_unit_test(test_fetch_failures),
	    cmocka_unit_test(test_failed_run_through_transport),
	    cmocka_unit_test(test_camel_case_answers),
	    cmocka_unit_test(test_model_accessor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
