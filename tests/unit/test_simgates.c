/*
 * Tests for what every simulated API request passes before it acts: the
 * API key, the rate limit, seeded 5xx faults and connection resets; then
 * download faults, the stats route and the casing switch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://e.x/"      \
	"a.png\"}],\"mode\":\"async\"}"
#define CREATE "/techniques/cctv-cam/runs"

static uint64_t runs_created(struct sfx *f)
{
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	return st.runs_created;
}

static void test_auth(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.api_key = SFX_KEY;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	f->auth = "bearer  " SFX_KEY; /* the scheme's case and extra spaces do not matter */
	assert_int_equal(sfx_get(f, "/workspaces"), 200);

	f->auth = NULL;
	assert_int_equal(sfx_get(f, "/workspaces"), 401);
	sfx_assert_error(f, 401, "unauthorized");
	f->auth = "";
	assert_int_equal(sfx_get(f, "/workspaces"), 401);
	sfx_assert_error(f, 401, "unauthorized");
	static const char *const wrong[] = {"Bearer sk_test_other", "Basic " SFX_KEY, SFX_KEY,
					    "Bearer " SFX_KEY "x"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		f->auth = wrong[i];
		assert_int_equal(sfx_get(f, "/workspaces"), 401);
		sfx_assert_error(f, 401, "invalid_api_key");
	}
	/* Auth comes first: before routing, validation and creating anything. */
	assert_int_equal(sfx_get(f, "/no/such/route"), 401);
	assert_int_equal(sfx_post(f, CREATE, "k", "not json"), 401);
	assert_int_equal(sfx_post(f, CREATE, "k", NESTED), 401);
	assert_int_equal(runs_created(f), 0);
	/* The simulator's own routes need no key. */
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_int_equal(sfx_int(f->v, "unauthorized"), 9);
	f->auth = SFX_AUTH;
	assert_int_equal(sfx_post(f, CREATE, "k", NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 10000);
	f->auth = NULL;
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", id)), 200);
	free(id);
	sfx_free(f);
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.rate_limit_rps = 2;
	c.rate_burst = 3;
	struct sfx *f = sfx_new(&c);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sfx_get(f, "/workspaces"), 200);
	assert_int_equal(f->r.retry_after_s, -1);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 429);
	sfx_assert_error(f, 429, "rate_limited");
	assert_int_equal(f->r.retry_after_s, 1);
	assert_int_equal(runs_created(f), 0);		  /* refused before acting */
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200); /* not limited */
	fb_clock_sleep_ms(f->clock, 499);
	assert_int_equal(sfx_get(f, "/workspaces"), 429);
	fb_clock_sleep_ms(f->clock, 1);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	assert_int_equal(sfx_get(f, "/workspaces"), 429);
	/* A long pause refills no more than the burst. */
	fb_clock_sleep_ms(f->clock, 60000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sfx_get(f, "/workspaces"), 200);
	assert_int_equal(sfx_get(f, "/workspaces"), 429);
	sfx_free(f);

	/* A slow rate: Retry-After says how many whole seconds until the next token. */
	c.rate_limit_rps = 0.1;
	c.rate_burst = 0;
	f = sfx_new(&c);
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	assert_int_equal(sfx_get(f, "/workspaces"), 429);
	assert_int_equal(f->r.retry_after_s, 10);
	fb_clock_sleep_ms(f->clock, 2500);
	assert_int_equal(sfx_get(f, "/workspaces"), 429);
	assert_int_equal(f->r.retry_after_s, 8);
	fb_clock_sleep_ms(f->clock, 7500);
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	sfx_free(f);
}

/* The statuses of n requests to path on a fresh model with this config (caller frees). */
static int *statuses(const struct fb_simmodel_config *c, const char *method, int n)
{
	struct sfx *f = sfx_new(c);
	int *s = calloc((size_t)n, sizeof(*s));
	for (int i = 0; i < n; i++) {
		s[i] = !strcmp(method, "POST") ? sfx_post(f, CREATE, NULL, NESTED)
					       : sfx_get(f, "/workspaces");
		if (s[i] >= 500 && !strcmp(f->r.content_type, "application/json"))
			sfx_assert_error(f, s[i],
					 s[i] == 500 ? "internal_error" : "service_unavailable");
		if (s[i] >= 500 && c->fault_html_rate >= 1.0) {
			assert_string_equal(f->r.content_type, "text/html");
			assert_non_null(strstr(f->r.body.ptr, "<html>"));
		}
	}
	/* A create answered with a fault made no run. */
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += s[i] == 201;
	if (!strcmp(method, "POST"))
		assert_int_equal(runs_created(f), (uint64_t)ok);
	sfx_free(f);
	return s;
}

static void test_5xx_faults_follow_the_seed(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.fault_5xx_rate = 0.3;
	int *a = statuses(&c, "GET", 200), *b = statuses(&c, "GET", 200);
	int n500 = 0, n503 = 0;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(a[i], b[i]);
		n500 += a[i] == 500;
		n503 += a[i] == 503;
		assert_true(a[i] == 200 || a[i] == 500 || a[i] == 503);
	}
	assert_true(n500 > 10 && n503 > 10 && n500 + n503 > 30 && n500 + n503 < 90);
	c.seed = 8;
	int *d = statuses(&c, "GET", 200);
	assert_memory_not_equal(a, d, 200 * sizeof(int));
	free(a);
	free(b);
	free(d);
	c.fault_html_rate = 1.0;
	free(statuses(&c, "POST", 100));
}

static void test_resets(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.fault_reset_before_rate = 1.0;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, CREATE, "k", NESTED), 503);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_RESET_BEFORE);
	assert_int_equal(runs_created(f), 0);
	assert_int_equal(sfx_get(f, "/workspaces"), 200); /* only creates reset */
	assert_int_equal(f->r.fault, FB_SIM_FAULT_NONE);
	sfx_free(f);

	/* After: the run exists, and retrying with the same key replays it. */
	c.fault_reset_before_rate = 0;
	c.fault_reset_after_rate = 0.5;
	f = sfx_new(&c);
	char key[32], id[64] = "";
	int k = 0;
	for (;; k++) {
		snprintf(key, sizeof(key), "key-%d", k);
		assert_int_equal(sfx_post(f, CREATE, key, NESTED), 201);
		if (f->r.fault == FB_SIM_FAULT_RESET_AFTER)
			break;
		assert_true(k < 50);
	}
	snprintf(id, sizeof(id), "%s", sfx_str(f->v, "run_id"));
	uint64_t made = runs_created(f);
	int replays = 0;
	do {
		assert_int_equal(sfx_post(f, CREATE, key, NESTED), 200);
		assert_true(f->r.replayed);
		assert_string_equal(sfx_str(f->v, "run_id"), id);
		replays++;
	} while (f->r.fault == FB_SIM_FAULT_RESET_AFTER && replays < 50);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_NONE);
	assert_int_equal(runs_created(f), made);
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.resets,
			 (uint64_t)replays); /* one before the loop, all but the last in it */
	assert_int_equal(st.max_runs_per_key, 1);
	sfx_free(f);
}

static void test_download_faults(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.fault_truncate_rate = 1.0;
	c.outputs_per_run = 2;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 10000);
	const char *out1 = sfx_fmt(f, "/_sim/outputs/%s/out_1.png", id);
	assert_int_equal(sfx_get(f, out1), 200);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_TRUNCATE);
	size_t whole = f->r.body.len; /* the body is whole: the server sends half of it */
	assert_true(whole > 100);
	assert_int_equal(sfx_get(f, out1), 200);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_NONE);
	assert_int_equal(f->r.body.len, whole);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_2.png", id)), 200);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_TRUNCATE); /* once per output */
	free(id);
	sfx_free(f);

	c.fault_truncate_rate = 0;
	c.fault_slow_rate = 1.0;
	f = sfx_new(&c);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1", id)), 200);
	assert_int_equal(f->r.fault, FB_SIM_FAULT_SLOW);
	free(id);
	sfx_free(f);
}

static void test_stats(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, CREATE, "fb1-a", NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	assert_int_equal(sfx_post(f, CREATE, "fb1-a", NESTED), 200);
	assert_int_equal(sfx_post(f, CREATE, "fb1-b", NESTED), 201);
	assert_int_equal(sfx_post(f, CREATE, NULL, NESTED), 201);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/cctv-cam/runs/%s", id)), 200);
	assert_int_equal(sfx_get(f, "/technique-runs?limit=100"), 200);
	assert_int_equal(sfx_get(f, "/nowhere"), 404);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_int_equal(sfx_int(f->v, "requests"), 9);
	assert_int_equal(sfx_int(f->v, "creates"), 4);
	assert_int_equal(sfx_int(f->v, "runs_created"), 3);
	assert_int_equal(sfx_int(f->v, "duplicate_keys"), 1);
	assert_int_equal(sfx_int(f->v, "polls"), 2);
	assert_int_equal(sfx_int(f->v, "lists"), 1);
	assert_int_equal(sfx_int(f->v, "max_runs_per_key"), 1);
	assert_int_equal(sfx_int(f->v, "keys_with_several_runs"), 0);
	yajl_val keys = sfx_at(f->v, "keys", NULL);
	assert_int_equal(keys->u.object.len, 2);
	assert_int_equal(sfx_int(keys, "fb1-a"), 1);
	assert_int_equal(sfx_int(keys, "fb1-b"), 1);
	yajl_val ep = sfx_at(f->v, "endpoints", NULL);
	assert_int_equal(sfx_int(ep, "POST /techniques/{id}/runs"), 4);
	assert_int_equal(sfx_int(ep, "GET /runs/{id}"), 1);
	assert_int_equal(sfx_int(ep, "GET /techniques/{id}/runs/{run_id}"), 1);
	assert_int_equal(sfx_int(ep, "GET /technique-runs"), 1);
	assert_int_equal(sfx_int(ep, "other"), 1);
	assert_int_equal(sfx_int(ep, "GET /_sim/stats"), 1);
	assert_null(sfx_at(ep, "POST /generate", NULL)); /* only endpoints that were called */
	free(id);
	sfx_free(f);
}

static void test_mixed_casing_alternates(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.casing = FB_SIM_MIXED;
	struct sfx *f = sfx_new(&c);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(sfx_get(f, "/workspaces"), 200);
		yajl_val w = sfx_at(f->v, "workspaces", NULL)->u.array.values[0];
		assert_non_null(sfx_at(w, i % 2 ? "workspaceId" : "workspace_id", NULL));
	}
	/* The simulator's own stats stay snake_case. */
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_non_null(sfx_at(f->v, "runs_created", NULL));
	sfx_free(f);
}

static void test_config_checked(void **state)
{
	(void)state;
	struct fb_clock *clk = fb_clock_virtual_new(0);
	struct fb_simmodel *m = NULL;
	struct fb_err err = {0};
	struct fb_simmodel_config c = sfx_config();
	c.fault_truncate_rate = 1.5;
	assert_int_equal(fb_simmodel_new(&m, &c, clk, &err), FB_EINVAL);
	c.fault_truncate_rate = 0;
	c.fault_reset_before_rate = c.fault_reset_after_rate = 0.6;
	assert_int_equal(fb_simmodel_new(&m, &c, clk, &err), FB_EINVAL);
	assert_non_null(strstr(err.msg, "reset"));
	c.fault_reset_before_rate = c.fault_reset_after_rate = 0;
	c.rate_limit_rps = -1;
	assert_int_equal(fb_simmodel_new(&m, &c, clk, &err), FB_EINVAL);
	assert_null(m);
	fb_clock_free(clk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_5xx_faults_follow_the_seed),
	    cmocka_unit_test(test_resets),
	    cmocka_unit_test(test_download_faults),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_mixed_casing_alternates),
	    cmocka_unit_test(test_config_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
