/*
 * Tests for the simulated account's policy and what a resilience test
 * measures of it: the credits top-up route, the peak request rates, 403
 * answers that name their scope, Retry-After on every 429, and the spread
 * of run durations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>

#include "simfx.h"

#define IMG "https://example.com/in.png"
#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"" IMG              \
	"\"}],\"mode\":\"async\"}"
#define CREATE "/techniques/cctv-cam/runs" /* costs 0.25 */
#define TOPRUN(tech, ws)                                                                           \
	"{\"technique_id\":\"" tech "\",\"workspace_id\":\"" ws "\",\"inputs\":{"                  \
	"\"input_image\":\"" IMG "\"}}"
#define GEN(ws, prj)                                                                               \
	"{\"type\":\"image\",\"prompt\":\"a red kite\",\"workspace_id\":\"" ws "\","               \
	"\"project_id\":\"" prj "\"}"

static struct fb_simstats stats(struct sfx *f)
{
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	return st;
}

static int post_credits(struct sfx *f, const char *body)
{
	return sfx_post(f, "/_sim/credits", NULL, body);
}

/* ---- credits ---- */

static void test_credits_top_up_and_rerun(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.credits_limited = 1;
	c.credits = 1.0;
	c.api_key = SFX_KEY;
	struct sfx *f = sfx_new(&c);
	static const char *const keys[] = {"item-1", "item-2", "item-3",
					   "item-4", "item-5", "item-6"};
	char *ids[6] = {0};
	/* A batch runs out of credits after four runs... */
	for (int i = 0; i < 6; i++) {
		int st = sfx_post(f, CREATE, keys[i], NESTED);
		assert_int_equal(st, i < 4 ? 201 : 402);
		if (i < 4)
			ids[i] = sfx_dup(f, "run_id");
	}
	assert_true(fabs(fb_simmodel_credits(f->m)) < 1e-9);
	/* ...the account is topped up without a key, as the other simulator routes... */
	const char *auth = f->auth;
	f->auth = NULL;
	assert_int_equal(post_credits(f, "{\"add\": 25.5}"), 200);
	assert_true(fabs(sfx_num(f->v, "credits_left") - 25.5) < 1e-9);
	assert_int_equal(f->v->u.object.len, 1);
	assert_true(fabs(fb_simmodel_credits(f->m) - 25.5) < 1e-9);
	f->auth = auth;
	/* ...and the same batch runs again: done items replay, refused ones now run. */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(sfx_post(f, CREATE, keys[i], NESTED), i < 4 ? 200 : 201);
		assert_int_equal(f->r.replayed, i < 4);
		if (i < 4)
			assert_string_equal(sfx_str(f->v, "run_id"), ids[i]);
	}
	assert_true(fabs(fb_simmodel_credits(f->m) - 25.0) < 1e-9);
	struct fb_simstats st = stats(f);
	assert_int_equal(st.runs_created, 6);
	assert_int_equal(st.max_runs_per_key, 1);
	assert_int_equal(st.insufficient_credits, 2);
	/* The old runs are still there and finish. */
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", ids[0])), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");

	/* "set" replaces the balance; to zero, the next create is refused. */
	assert_int_equal(post_credits(f, "{\"set\":0}"), 200);
	assert_true(sfx_num(f->v, "credits_left") == 0.0);
	assert_int_equal(sfx_post(f, CREATE, "item-7", NESTED), 402);
	assert_int_equal(post_credits(f, "{\"set\":0.25}"), 200);
	assert_int_equal(sfx_post(f, CREATE, "item-7", NESTED), 201);
	/* A negative "add" lowers the balance, never below zero. */
	assert_int_equal(post_credits(f, "{\"add\":2}"), 200);
	assert_int_equal(post_credits(f, "{\"add\":-1.5}"), 200);
	assert_true(fabs(sfx_num(f->v, "credits_left") - 0.5) < 1e-9);
	assert_int_equal(post_credits(f, "{\"add\":-0.6}"), 400);
	assert_true(fabs(fb_simmodel_credits(f->m) - 0.5) < 1e-9);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_true(fabs(sfx_num(f->v, "credits_left") - 0.5) < 1e-9);
	assert_int_equal(sfx_int(sfx_at(f->v, "endpoints", NULL), "POST /_sim/credits"), 6);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
	sfx_free(f);
}

static void test_credits_bad_bodies(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.credits_limited = 1;
	c.credits = 3;
	struct sfx *f = sfx_new(&c);
	static const struct {
		const char *body;
		const char *code;
	} bad[] = {
	    {"", "invalid_json"},
	    {"not json", "invalid_json"},
	    {"{\"add\":1", "invalid_json"},
	    {"[[[[[[[[1]]]]]]]]", "invalid_json"},
	    {"[1]", "input_validation_error"},
	    {"5", "input_validation_error"},
	    {"{}", "input_validation_error"},
	    {"{\"add\":1,\"set\":2}", "input_validation_error"},
	    {"{\"mul\":2}", "input_validation_error"},
	    {"{\"add\":\"5\"}", "input_validation_error"},
	    {"{\"set\":null}", "input_validation_error"},
	    {"{\"set\":true}", "input_validation_error"},
	    {"{\"set\":-1}", "input_validation_error"},
	    {"{\"set\":1e16}", "input_validation_error"},
	    {"{\"set\":1e400}", "input_validation_error"},
	    {"{\"add\":-3.5}", "input_validation_error"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (post_credits(f, bad[i].body) != 400)
			fail_msg("%s: %d %s", bad[i].body, f->r.status, fb_buf_str(&f->r.body));
		sfx_assert_error(f, 400, bad[i].code);
	}
	/* A body with a NUL in it is not JSON either. */
	assert_int_equal(
	    sfx_call(f, "POST", "/_sim/credits", NULL, "application/json", "{\"set\":1}\0x", 11),
	    400);
	assert_true(fabs(fb_simmodel_credits(f->m) - 3.0) < 1e-9); /* untouched */
	/* Only POST. */
	assert_int_equal(sfx_get(f, "/_sim/credits"), 404);
	sfx_free(f);
}

static void test_credits_when_unlimited(void **state)
{
	(void)state;
	struct sfx *f = sfx_new(&(struct fb_simmodel_config){.seed = 7, .run_ms = 1000});
	/* Adding to an unlimited balance means nothing: say so rather than guess. */
	assert_int_equal(post_credits(f, "{\"add\":5}"), 409);
	sfx_assert_error(f, 409, "conflict");
	for (int i = 0; i < 3; i++)
		assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_null(sfx_at(f->v, "credits_left", NULL));
	/* "set" turns the balance on. */
	assert_int_equal(post_credits(f, "{\"set\":0.3}"), 200);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 402);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_true(fabs(sfx_num(f->v, "credits_left") - 0.05) < 1e-9);
	sfx_free(f);
}

/* ---- peak rates ---- */

/* The most of times[0..n) (sorted) within any [t, t + 1000): the definition, by brute force. */
static uint64_t peak_of(const uint64_t *times, size_t n)
{
	uint64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = 0;
		for (size_t j = i; j < n && times[j] < times[i] + 1000; j++)
			k++;
		if (k > best)
			best = k;
	}
	return best;
}

static void test_peak_rate_window_edges(void **state)
{
	(void)state;
	struct sfx *f = sfx_new(&(struct fb_simmodel_config){.seed = 7, .run_ms = 1000});
	assert_int_equal(stats(f).max_requests_per_second, 0);
	/* Five a second, evenly: 0, 200, ..., 1000 ms never holds six in one second. */
	for (int i = 0; i <= 10; i++) {
		assert_int_equal(sfx_get(f, "/workspaces"), 200);
		fb_clock_sleep_ms(f->clock, 200);
	}
	assert_int_equal(stats(f).max_requests_per_second, 5);
	/* 999 ms apart is within one second; the simulator's own routes do not count. */
	fb_clock_sleep_ms(f->clock, 5000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sfx_get(f, "/techniques"), 200);
	for (int i = 0; i < 50; i++)
		assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	fb_clock_sleep_ms(f->clock, 999);
	assert_int_equal(sfx_get(f, "/no/such/route"), 404); /* refused requests count */
	struct fb_simstats st = stats(f);
	assert_int_equal(st.max_requests_per_second, 6);
	assert_int_equal(st.max_creates_per_second, 0);
	/* Creates have their own peak; polls are not creates. */
	fb_clock_sleep_ms(f->clock, 5000);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	for (int i = 0; i < 3; i++)
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_int_equal(sfx_post(f, CREATE, NULL, "{}"), 400); /* refused creates count */
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("ws_accept", "prj_accept")), 201);
	st = stats(f);
	assert_int_equal(st.max_creates_per_second, 3);
	assert_int_equal(st.max_requests_per_second, 6);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_int_equal(sfx_int(f->v, "max_requests_per_second"), 6);
	assert_int_equal(sfx_int(f->v, "max_creates_per_second"), 3);
	free(id);
	sfx_free(f);
}

static void test_peak_rate_matches_definition(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.api_key = SFX_KEY;
	struct sfx *f = sfx_new(&c);
	f->auth = NULL; /* 401 is the cheapest answer, and it counts */
	enum { N = 4000 };
	uint64_t *times = malloc(N * sizeof(*times));
	assert_non_null(times);
	uint64_t x = 12345, now = 0;
	/* Quiet stretches, bursts at one instant, and everything between: the ring grows and wraps.
	 */
	for (size_t i = 0; i < N; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned r = (unsigned)(x >> 33) % 100;
		uint64_t step = r < 40 ? 0 : r < 90 ? (x >> 20) % 40 : 500 + (x >> 20) % 2000;
		if (i % 1000 >= 600 && i % 1000 < 900) /* a burst at one instant */
			step = 0;
		fb_clock_sleep_ms(f->clock, step);
		now += step;
		times[i] = now;
		assert_int_equal(sfx_get(f, "/workspaces"), 401);
		if (i % 500 == 499)
			assert_int_equal(stats(f).max_requests_per_second, peak_of(times, i + 1));
	}
	assert_int_equal(stats(f).max_requests_per_second, peak_of(times, N));
	assert_true(peak_of(times, N) > 300); /* the ring really grew */
	free(times);
	sfx_free(f);
}

/* A client held to the rate limit cannot show more than the bucket lets through. */
static void test_peak_rate_under_rate_limit(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.rate_limit_rps = 4;
	c.rate_burst = 1;
	struct sfx *f = sfx_new(&c);
	unsigned ok = 0;
	for (int i = 0; i < 400; i++) { /* a client that ignores the limit: 20 a second */
		ok += sfx_get(f, "/workspaces") == 200;
		fb_clock_sleep_ms(f->clock, 50);
	}
	struct fb_simstats st = stats(f);
	assert_int_equal(st.max_requests_per_second, 20); /* received, refused or not */
	assert_int_equal(ok, 80);
	assert_int_equal(st.rate_limited, 320);
	sfx_free(f);
}

/* ---- 403 names its scope ---- */

/* The last answer is a 403 naming field, with this message. */
static void assert_refused(struct sfx *f, const char *field, const char *message)
{
	sfx_assert_error(f, 403, "forbidden");
	assert_string_equal(sfx_str(sfx_at(f->v, "error", NULL), "message"), message);
	yajl_val fields = sfx_at(f->v, "error", "fields");
	assert_true(YAJL_IS_ARRAY(fields));
	assert_int_equal(fields->u.array.len, 1);
	yajl_val f0 = fields->u.array.values[0];
	assert_int_equal(f0->u.object.len, 2);
	assert_string_equal(sfx_str(f0, "field"), field);
	assert_string_equal(sfx_str(f0, "message"), "forbidden");
}

static void test_forbidden_technique_named(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.forbidden = "tech_cctv-cam";
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, CREATE, "k1", NESTED), 403);
	assert_refused(f, "technique_id", "Technique cctv-cam is not available to this workspace.");
	/* Named as the request named it. */
	assert_int_equal(sfx_post(f, "/techniques/tech_cctv-cam/runs", NULL, NESTED), 403);
	assert_refused(f, "technique_id",
		       "Technique tech_cctv-cam is not available to this workspace.");
	assert_int_equal(sfx_post(f, "/runs/technique", NULL, TOPRUN("tech_cctv-cam", "ws_accept")),
			 403);
	assert_refused(f, "technique_id",
		       "Technique tech_cctv-cam is not available to this workspace.");
	/* Other techniques and generations go on. */
	assert_int_equal(sfx_post(f, "/techniques/sigil/runs", NULL, NESTED), 201);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("ws_accept", "prj_accept")), 201);
	assert_int_equal(stats(f).forbidden, 3);
	assert_int_equal(stats(f).runs_created, 2);
	sfx_free(f);
}

static void test_forbidden_workspace_named(void **state)
{
	(void)state;
	struct sfx *f = sfx_new(&(struct fb_simmodel_config){.seed = 7, .run_ms = 1000});
	const char *ro = "Workspace ws_readonly is read-only for this key.";
	assert_int_equal(sfx_post(f, "/runs/technique", NULL, TOPRUN("tech_sigil", "ws_readonly")),
			 403);
	assert_refused(f, "workspace_id", ro);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("ws_readonly", "prj_readonly")), 403);
	assert_refused(f, "workspace_id", ro);
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"signed-url\",\"workspace_id\":\"ws_readonly\"}"),
			 403);
	assert_refused(f, "workspace_id", ro);
	sfx_free(f);

	/* A forbidden workspace outranks a forbidden technique: it refuses everything. */
	struct fb_simmodel_config c = sfx_config();
	c.forbidden = "cctv-cam, ws_accept";
	f = sfx_new(&c);
	const char *gone = "Workspace ws_accept is not available to this key.";
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 403);
	assert_refused(f, "workspace_id", gone);
	assert_int_equal(sfx_post(f, "/techniques/sigil/runs", NULL, NESTED), 403);
	assert_refused(f, "workspace_id", gone);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("ws_accept", "prj_accept")), 403);
	assert_refused(f, "workspace_id", gone);
	sfx_free(f);
}

/* ---- Retry-After ---- */

/* Every 429 carries Retry-After, and waiting that long is always enough. */
static void test_retry_after_on_every_429(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.rate_limit_rps = 0.3;
	c.rate_burst = 2;
	struct sfx *f = sfx_new(&c);
	uint64_t x = 99;
	unsigned refused = 0;
	for (int i = 0; i < 300; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		fb_clock_sleep_ms(f->clock, (x >> 33) % 3000);
		int st = sfx_post(f, CREATE, NULL, NESTED);
		if (st != 429) {
			assert_int_equal(st, 201);
			assert_int_equal(f->r.retry_after_s, -1);
			continue;
		}
		refused++;
		sfx_assert_error(f, 429, "rate_limited"); /* code and message only */
		assert_null(sfx_at(f->v, "error", "fields"));
		long wait = f->r.retry_after_s;
		assert_true(wait >= 1 && wait <= 4);
		fb_clock_sleep_ms(f->clock, (uint64_t)wait * 1000);
		assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	}
	assert_true(refused > 20);
	assert_int_equal(stats(f).rate_limited, refused);
	sfx_free(f);
}

/* ---- run-time jitter ---- */

/* How long the run made with key takes: completed_at - created_at of its terminal answer. */
static long long duration_of(struct sfx *f, const char *key)
{
	assert_int_equal(sfx_post(f, "/runs/technique", key, TOPRUN("tech_sigil", "ws_accept")),
			 201);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 20000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	long long d = sfx_int(f->v, "completed_at") - sfx_int(f->v, "created_at");
	free(id);
	return d;
}

static void test_run_time_jitter(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config(); /* run_ms 10000 */
	c.run_ms_jitter = 0.5;
	struct sfx *a = sfx_new(&c), *b = sfx_new(&c);
	enum { N = 40 };
	long long d[N], lo = LLONG_MAX, hi = 0;
	for (int i = 0; i < N; i++) {
		d[i] = duration_of(a, sfx_fmt(a, "key-%d", i));
		assert_true(d[i] >= 5000 && d[i] <= 15000);
		lo = d[i] < lo ? d[i] : lo;
		hi = d[i] > hi ? d[i] : hi;
	}
	assert_true(hi - lo > 5000); /* spread over the range, not bunched */
	/* The same seed and key give the same duration, whatever the order. */
	for (int i = N - 1; i >= 0; i--)
		assert_int_equal(duration_of(b, sfx_fmt(b, "key-%d", i)), d[i]);
	sfx_free(b);

	/* A run is pending, running and done by its own duration. */
	assert_int_equal(sfx_post(a, "/runs/technique", "fresh", TOPRUN("tech_sigil", "ws_accept")),
			 201);
	char *id = sfx_dup(a, "run_id");
	long long est = sfx_int(a->v, "estimated_seconds");
	fb_clock_sleep_ms(a->clock, (uint64_t)est * 1000 - 1000);
	assert_int_equal(sfx_get(a, sfx_fmt(a, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(a->v, "status"), "running");
	fb_clock_sleep_ms(a->clock, 1000);
	assert_int_equal(sfx_get(a, sfx_fmt(a, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(a->v, "status"), "completed");
	free(id);
	sfx_free(a);

	/* No jitter: every run takes run_ms exactly. */
	c.run_ms_jitter = 0;
	a = sfx_new(&c);
	for (int i = 0; i < 10; i++)
		assert_int_equal(duration_of(a, sfx_fmt(a, "key-%d", i)), 10000);
	sfx_free(a);
}

static void test_run_time_jitter_bounds(void **state)
{
	(void)state;
	struct fb_clock *clock = fb_clock_virtual_new(SFX_T0);
	struct fb_simmodel *m = NULL;
	struct fb_err err = {0};
	const double bad[] = {-0.1, 1.01, NAN, INFINITY};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fb_simmodel_config c = sfx_config();
		c.run_ms_jitter = bad[i];
		assert_int_equal(fb_simmodel_new(&m, &c, clock, &err), FB_EINVAL);
		assert_null(m);
		assert_non_null(strstr(err.msg, "jitter"));
	}
	fb_clock_free(clock);

	/* Full jitter: durations from 0 (done at the first poll) to twice run_ms. */
	struct fb_simmodel_config c = sfx_config();
	c.run_ms_jitter = 1;
	struct sfx *f = sfx_new(&c);
	for (int i = 0; i < 40; i++) {
		long long d = duration_of(f, sfx_fmt(f, "k%d", i));
		assert_true(d >= 0 && d <= 20000);
	}
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credits_top_up_and_rerun),
	    cmocka_unit_test(test_credits_bad_bodies),
	    cmocka_unit_test(test_credits_when_unlimited),
	    cmocka_unit_test(test_peak_rate_window_edges),
	    cmocka_unit_test(test_peak_rate_matches_definition),
	    cmocka_unit_test(test_peak_rate_under_rate_limit),
	    cmocka_unit_test(test_forbidden_technique_named),
	    cmocka_unit_test(test_forbidden_workspace_named),
	    cmocka_unit_test(test_retry_after_on_every_429),
	    cmocka_unit_test(test_run_time_jitter),
	    cmocka_unit_test(test_run_time_jitter_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
