/*
 * The simulator's open points, each a flag (CONTRACT.md leaves them open):
 * the create answer's estimate (absent by default, exact, or wrong), run
 * durations with a spread, lists that lag single GETs, and pages smaller
 * than limit asks. Virtual clock, the model called directly (simfx.h).
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
#define TOPRUN                                                                                     \
	"{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\",\"inputs\":{"          \
	"\"input_image\":\"" IMG "\"}}"

static struct fb_simmodel_config faithful(void)
{
	struct fb_simmodel_config c = sfx_config();
	c.estimate = FB_SIM_EST_ABSENT; /* the model's own default */
	return c;
}

static void test_estimate_absent_by_default(void **state)
{
	(void)state;
	struct fb_simmodel_config z = {0};
	assert_int_equal(z.estimate, FB_SIM_EST_ABSENT);
	struct fb_simmodel_config c = faithful();
	struct sfx *f = sfx_new(&c);
	/* The nested create answers a RunStatus, which has no estimate. */
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k1", NESTED), 201);
	assert_null(sfx_at(f->v, "estimated_seconds", NULL));
	assert_null(sfx_at(f->v, "estimatedSeconds", NULL));
	/* RunCreated requires it: null. */
	assert_int_equal(sfx_post(f, "/runs/technique", "k2", TOPRUN), 201);
	yajl_val e = sfx_at(f->v, "estimated_seconds", NULL);
	assert_non_null(e);
	assert_true(YAJL_IS_NULL(e));
	sfx_free(f);
}

static void test_estimate_exact_and_wrong(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful();
	c.estimate = FB_SIM_EST_EXACT;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k1", NESTED), 201);
	assert_int_equal(sfx_int(f->v, "estimated_seconds"), 10); /* run_ms 10000 */
	assert_int_equal(sfx_post(f, "/runs/technique", "k2", TOPRUN), 201);
	assert_int_equal(sfx_int(f->v, "estimated_seconds"), 10);
	sfx_free(f);

	c.estimate = FB_SIM_EST_WRONG;
	f = sfx_new(&c);
	int high = 0, low = 0;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sfx_post(f, "/runs/technique", sfx_fmt(f, "w%d", i), TOPRUN), 201);
		long long s = sfx_int(f->v, "estimated_seconds");
		assert_true(s == 30 || s == 3);
		high += s == 30;
		low += s == 3;
	}
	assert_true(high >= 3 && low >= 3); /* both ways, by run */
	sfx_free(f);
}

/* How long the run made with key takes: completed_at - created_at once it is done. */
static long long duration_of(struct sfx *f, const char *key)
{
	assert_int_equal(sfx_post(f, "/runs/technique", key, TOPRUN), 201);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 600000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	long long d = sfx_int(f->v, "completed_at") - sfx_int(f->v, "created_at");
	free(id);
	return d;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static void test_run_time_log_normal(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful(); /* run_ms 10000: the mean */
	c.run_ms_sigma = 0.5;
	struct sfx *f = sfx_new(&c), *g = sfx_new(&c);
	enum { N = 400 };
	static long long d[N];
	double sum = 0;
	for (int i = 0; i < N; i++) {
		d[i] = duration_of(f, sfx_fmt(f, "ln-%d", i));
		sum += (double)d[i];
	}
	/* The same seed and key give the same time. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(duration_of(g, sfx_fmt(g, "ln-%d", i)), d[i]);
	qsort(d, N, sizeof(d[0]), cmp_ll);
	double mean = sum / N, median = (double)d[N / 2];
	print_message("log-normal: mean %.0f ms, median %.0f, p10 %lld, p90 %lld\n", mean, median,
		      d[N / 10], d[N * 9 / 10]);
	assert_true(mean > 9000 && mean < 11000);
	assert_true(median > 8000 && median < 9700); /* exp(-0.125) * 10000 = 8825 */
	/* p10 and p90 of a log-normal with sigma 0.5: 0.53 and 1.90 times the median. */
	assert_true(d[N / 10] > 0.42 * median && d[N / 10] < 0.64 * median);
	assert_true(d[N * 9 / 10] > 1.6 * median && d[N * 9 / 10] < 2.3 * median);
	sfx_free(f);
	sfx_free(g);
}

static void test_run_time_by_order(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful();
	c.run_ms_sigma = 0.5;
	c.run_time_by_order = 1;
	struct sfx *f = sfx_new(&c), *g = sfx_new(&c);
	/* Other keys, the same order: the same times. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(duration_of(f, sfx_fmt(f, "a-%d", i)),
				 duration_of(g, sfx_fmt(g, "b-%d", i)));
	sfx_free(f);
	sfx_free(g);
}

/* The status the list shows for the one technique run. */
static const char *listed_status(struct sfx *f)
{
	assert_int_equal(sfx_get(f, "/technique-runs?limit=10"), 200);
	yajl_val runs = sfx_at(f->v, "technique_runs", NULL);
	assert_true(YAJL_IS_ARRAY(runs));
	assert_int_equal(runs->u.array.len, 1);
	return sfx_str(runs->u.array.values[0], "status");
}

static void test_list_lag(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful();
	c.list_lag_ms = 5000;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "lag", NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 10000); /* done: a GET says so */
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	assert_string_equal(listed_status(f), "running");
	assert_int_equal(sfx_get(f, "/technique-runs?status=completed&limit=10"), 200);
	assert_int_equal(sfx_at(f->v, "technique_runs", NULL)->u.array.len, 0);
	fb_clock_sleep_ms(f->clock, 5000);
	assert_string_equal(listed_status(f), "completed");
	free(id);
	sfx_free(f);
}

static void test_page_cap(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful();
	c.page_cap = 7;
	struct sfx *f = sfx_new(&c);
	enum { N = 30 };
	for (int i = 0; i < N; i++)
		assert_int_equal(
		    sfx_post(f, "/techniques/cctv-cam/runs", sfx_fmt(f, "p%d", i), NESTED), 201);
	/* Every run once, in pages of at most 7, however many limit asks for. */
	char seen[N][40];
	size_t nseen = 0, pages = 0;
	char cursor[64] = "";
	for (;;) {
		const char *q = *cursor ? sfx_fmt(f, "/technique-runs?limit=100&cursor=%s", cursor)
					: "/technique-runs?limit=100";
		assert_int_equal(sfx_get(f, q), 200);
		pages++;
		yajl_val runs = sfx_at(f->v, "technique_runs", NULL);
		assert_true(runs->u.array.len <= 7);
		for (size_t i = 0; i < runs->u.array.len; i++) {
			const char *id = sfx_str(runs->u.array.values[i], "run_id");
			for (size_t k = 0; k < nseen; k++)
				assert_string_not_equal(seen[k], id);
			assert_true(nseen < N);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", id);
		}
		yajl_val next = sfx_at(f->v, "meta", "next_cursor");
		if (!next || YAJL_IS_NULL(next))
			break;
		snprintf(cursor, sizeof(cursor), "%s", next->u.string);
	}
	assert_int_equal(nseen, N);
	assert_int_equal(pages, (N + 6) / 7);
	sfx_free(f);
}

/* The body's inputs against cctv-cam's schema (input_image required, prompt optional). */
static void refused(struct sfx *f, const char *path, const char *body, const char *field,
		    const char *words)
{
	assert_int_equal(sfx_post(f, path, NULL, body), 400);
	sfx_assert_error(f, 400, "input_validation_error");
	assert_string_equal(sfx_bad_field(f), field);
	if (!strstr(fb_buf_str(&f->r.body), words))
		fail_msg("%s: the answer does not say \"%s\": %s", field, words,
			 fb_buf_str(&f->r.body));
}

#define IN(id, type, value) "{\"id\":\"" id "\",\"type\":\"" type "\",\"value\":\"" value "\"}"
#define NEST(items)	    "{\"inputs\":[" items "],\"mode\":\"async\"}"
#define TOP(obj)                                                                                   \
	"{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\",\"inputs\":{" obj "}}"

static void test_inputs_checked_against_the_technique(void **state)
{
	(void)state;
	struct fb_simmodel_config c = faithful();
	struct sfx *f = sfx_new(&c);
	const char *n = "/techniques/cctv-cam/runs", *t = "/runs/technique";
	/* A column the technique does not take: the API refuses the run, it never starts. */
	refused(f, n, NEST(IN("other", "text", "x")), "inputs.0.id", "Unknown input \\\"other\\\"");
	refused(f, t, TOP("\"other\":\"x\""), "inputs.other", "it takes input_image, prompt");
	refused(f, n, NEST(IN("input_image", "text", "x")), "inputs.0.type", "type imageUrl");
	refused(f, n, NEST(IN("prompt", "text", "a fox")), "inputs",
		"input_image (imageUrl) is missing");
	refused(f, t, TOP("\"prompt\":\"a fox\""), "inputs", "is missing");
	refused(f, n, NEST(IN("input_image", "imageUrl", IMG) "," IN("prompt", "text", "")),
		"inputs.1.value", "Omit an optional input");
	refused(f, n,
		NEST(IN("input_image", "imageUrl", IMG) "," IN("input_image", "imageUrl", IMG)),
		"inputs.1.id", "Duplicate");
	/* A second image only where the technique takes one. */
	refused(f, "/techniques/color-transfer/runs", NEST(IN("input_image", "imageUrl", IMG)),
		"inputs", "reference_image (imageUrl) is missing");
	assert_int_equal(sfx_post(f, "/techniques/color-transfer/runs", NULL,
				  NEST(IN("input_image", "imageUrl", IMG) "," IN("reference_image",
										 "imageUrl", IMG))),
			 201);
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 1);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_estimate_absent_by_default),
	    cmocka_unit_test(test_estimate_exact_and_wrong),
	    cmocka_unit_test(test_run_time_log_normal),
	    cmocka_unit_test(test_run_time_by_order),
	    cmocka_unit_test(test_list_lag),
	    cmocka_unit_test(test_page_cap),
	    cmocka_unit_test(test_inputs_checked_against_the_technique),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
