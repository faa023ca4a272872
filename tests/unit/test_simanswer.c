/* Tests for simanswer: the exact JSON the simulator answers with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "simanswer.h"

static void test_pending_run_snake(void **state)
{
	(void)state;
	struct fb_simrun_view v = {.run_id = "run_a",
				   .status = "pending",
				   .created_at = 1700000000000ULL,
				   .charged_cost = 0.25,
				   .poll_url = "sim://p",
				   .estimated_seconds = -1};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_run(&v, 0, &b), 0);
	assert_string_equal(b.ptr, "{\"run_id\":\"run_a\",\"status\":\"pending\",\"progress\":0,"
				   "\"created_at\":1700000000000,\"charged_cost\":0.25,"
				   "\"poll_url\":\"sim://p\"}");
	fb_buf_release(&b);
}

static void test_completed_run_camel(void **state)
{
	(void)state;
	struct fb_simrun_view v = {.run_id = "run_b",
				   .status = "completed",
				   .progress = 100,
				   .created_at = 1,
				   .started_at = 2,
				   .completed_at = 3,
				   .charged_cost = 0.873,
				   .noutputs = 2,
				   .output_base = "sim://o/run_b",
				   .estimated_seconds = 0};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_run(&v, 1, &b), 0);
	assert_string_equal(
	    b.ptr,
	    "{\"runId\":\"run_b\",\"status\":\"completed\",\"progress\":100,\"createdAt\":1,"
	    "\"startedAt\":2,\"completedAt\":3,\"chargedCost\":0.873,\"outputs\":["
	    "{\"outputId\":\"out_1\",\"type\":\"imageUrl\",\"url\":\"sim://o/run_b/out_1.png\"},"
	    "{\"outputId\":\"out_2\",\"type\":\"imageUrl\",\"url\":\"sim://o/run_b/out_2.png\"}],"
	    "\"estimatedSeconds\":0}");
	fb_buf_release(&b);
}

static void test_cost_formatting(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} cases[] = {{0, "0"}, {1, "1"}, {0.5, "0.5"}, {0.8729999, "0.873"}, {12.3, "12.3"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_simrun_view v = {.run_id = "r",
					   .status = "failed",
					   .charged_cost = cases[i].v,
					   .error_code = "model_timeout",
					   .estimated_seconds = -1};
		struct fb_buf b = FB_BUF_INIT, want = FB_BUF_INIT;
		assert_int_equal(fb_simanswer_run(&v, 0, &b), 0);
		fb_buf_addf(&want,
			    "\"charged_cost\":%s,\"error_code\":\"model_timeout\",\"error_"
			    "message\":\"\"}",
			    cases[i].want);
		assert_non_null(strstr(b.ptr, want.ptr));
		fb_buf_release(&b);
		fb_buf_release(&want);
	}
}

/* "%.3f" with the trailing zeros cut: what every cost must read, fast path or not. */
static void reference_cost(double v, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%.3f", v);
	while (out[n - 1] == '0')
		n--;
	if (out[n - 1] == '.')
		n--;
	out[n] = '\0';
}

static void test_cost_matches_printf(void **state)
{
	(void)state;
	static const double cases[] = {0.04,   0.1,	 0.25,	     0.873,	 1.0,	  2.5,
				       1234.5, 0.0005,	 0.0015,     1e-4,	 0.12345, -0.25,
				       -0.0,   123456.7, 999999.999, 1e14 + 0.5, 1e16,	  0.001};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_simjw w;
		struct fb_buf b = FB_BUF_INIT;
		char want[64];
		reference_cost(cases[i], want, sizeof(want));
		assert_int_equal(fb_simjw_start(&w, 0), 0);
		fb_simjw_cost(&w, cases[i]);
		assert_int_equal(fb_simjw_finish(&w, &b), 0);
		assert_string_equal(b.ptr, want);
		fb_buf_release(&b);
	}
	/* Final costs are rounded to thousandths from arbitrary products. */
	for (int k = 0; k < 20000; k++) {
		double v = (double)k * 0.0137 / 1.3;
		v = (double)(long long)(v * 1000.0 + 0.5) / 1000.0;
		struct fb_simjw w;
		struct fb_buf b = FB_BUF_INIT;
		char want[64];
		reference_cost(v, want, sizeof(want));
		assert_int_equal(fb_simjw_start(&w, 0), 0);
		fb_simjw_cost(&w, v);
		assert_int_equal(fb_simjw_finish(&w, &b), 0);
		assert_string_equal(b.ptr, want);
		fb_buf_release(&b);
	}
}

static void test_int_extremes(void **state)
{
	(void)state;
	struct fb_simjw w;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simjw_start(&w, 0), 0);
	fb_simjw_open(&w, 1);
	fb_simjw_int(&w, 0);
	fb_simjw_int(&w, -7);
	fb_simjw_int(&w, 9223372036854775807LL);
	fb_simjw_int(&w, -9223372036854775807LL - 1);
	fb_simjw_close(&w, 1);
	assert_int_equal(fb_simjw_finish(&w, &b), 0);
	assert_string_equal(b.ptr, "[0,-7,9223372036854775807,-9223372036854775808]");
	fb_buf_release(&b);
}

/* A view marked clean is written as is; a view that is not gets its strings made valid. */
static void test_clean_view_and_sink(void **state)
{
	(void)state;
	struct fb_simrun_view v = {.run_id = "run_c",
				   .status = "completed",
				   .progress = 100,
				   .created_at = 5,
				   .completed_at = 9,
				   .charged_cost = 0.04,
				   .noutputs = 2,
				   .output_base = "sim://api/v1/_sim/outputs/run_c",
				   .output_type = "videoUrl",
				   .output_ext = "mp4",
				   .poll_url = "sim://api/v1/runs/run_c",
				   .estimated_seconds = -1};
	struct fb_buf checked = FB_BUF_INIT, clean = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_run(&v, 0, &checked), 0);
	v.clean = 1;
	/* The same through a reused generator printing into a sink, twice. */
	struct fb_simjw_sink sink = {FB_BUF_INIT, 0};
	yajl_gen g = fb_simjw_gen_new(&sink);
	assert_non_null(g);
	for (int round = 0; round < 2; round++) {
		struct fb_simjw w;
		fb_buf_reset(&clean);
		fb_simjw_reuse(&w, g, &sink, 0);
		fb_simjw_open(&w, 0);
		fb_simanswer_run_members(&w, &v);
		fb_simjw_close(&w, 0);
		assert_int_equal(fb_simjw_finish(&w, &clean), 0);
		assert_string_equal(clean.ptr, checked.ptr);
	}
	assert_non_null(
	    strstr(checked.ptr, "\"url\":\"sim://api/v1/_sim/outputs/run_c/out_2.mp4\""));
	yajl_gen_free(g);
	fb_buf_release(&sink.buf);

	/* Not clean: an ill-formed byte in the base becomes U+FFFD. */
	v.clean = 0;
	v.output_base = "sim://x\xff/o";
	fb_buf_reset(&checked);
	assert_int_equal(fb_simanswer_run(&v, 0, &checked), 0);
	assert_non_null(strstr(checked.ptr, "sim://x\xef\xbf\xbd/o/out_1.mp4"));
	fb_buf_release(&checked);
	fb_buf_release(&clean);
}

static void test_error_envelope(void **state)
{
	(void)state;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_error("not_found", "Run 'x' not found.", NULL, 0, &b), 0);
	assert_string_equal(b.ptr, "{\"error\":{\"code\":\"not_found\",\"message\":\"Run 'x' not "
				   "found.\"}}");
	fb_buf_reset(&b);
	struct fb_simreq_field f[2] = {{(char *)"mode", (char *)"Required"},
				       {(char *)"a\"b", (char *)"quote"}};
	assert_int_equal(fb_simanswer_error("input_validation_error", "m", f, 2, &b), 0);
	assert_string_equal(b.ptr,
			    "{\"error\":{\"code\":\"input_validation_error\",\"message\":"
			    "\"m\",\"fields\":[{\"field\":\"mode\",\"message\":\"Required\"},"
			    "{\"field\":\"a\\\"b\",\"message\":\"quote\"}]}}");
	fb_buf_release(&b);
}

static void test_counters(void **state)
{
	(void)state;
	const char *const names[] = {"a", "b"};
	const uint64_t v[] = {1, 20};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_counters(names, v, 2, &b), 0);
	assert_string_equal(b.ptr, "{\"a\":1,\"b\":20}");
	fb_buf_release(&b);
}

static void test_run_created(void **state)
{
	(void)state;
	struct fb_simcreated_view v = {.run_id = "run_c",
				       .type = "generation",
				       .estimated_seconds = 12,
				       .charged_cost = 0.04,
				       .poll_url = "sim://r/run_c",
				       .project_id = "prj_p",
				       .model_id = "t2i-x"};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_created(&v, 0, &b), 0);
	assert_string_equal(b.ptr, "{\"run_id\":\"run_c\",\"type\":\"generation\","
				   "\"estimated_seconds\":12,\"charged_cost\":0.04,\"poll_url\":"
				   "\"sim://r/run_c\",\"project_id\":\"prj_p\",\"model\":{"
				   "\"model_id\":\"t2i-x\"},\"technique\":null,\"action\":null}");
	fb_buf_reset(&b);
	struct fb_simcreated_view t = {.run_id = "run_t",
				       .type = "technique",
				       .estimated_seconds = -1,
				       .charged_cost = 0.25,
				       .technique_id = "tech_x",
				       .technique_name = "X"};
	assert_int_equal(fb_simanswer_created(&t, 1, &b), 0);
	assert_string_equal(b.ptr,
			    "{\"runId\":\"run_t\",\"type\":\"technique\","
			    "\"estimatedSeconds\":null,\"chargedCost\":0.25,\"pollUrl\":null,"
			    "\"projectId\":null,\"model\":null,\"technique\":{"
			    "\"techniqueId\":\"tech_x\",\"name\":\"X\"},\"action\":null}");
	fb_buf_release(&b);
}

static void test_writer_casing_and_text(void **state)
{
	(void)state;
	struct fb_simjw w;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simjw_start(&w, 1), 0);
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "technique_run_id");
	fb_simjw_int(&w, 1);
	fb_simjw_key(&w, "a_1_b"); /* only a letter after '_' is raised */
	fb_simjw_bool(&w, 0);
	fb_simjw_datakey(&w, "form_field"); /* data stays as it is */
	fb_simjw_str(&w, "bad \xff byte");
	fb_simjw_key(&w, "n");
	fb_simjw_str(&w, NULL);
	fb_simjw_close(&w, 0);
	assert_int_equal(fb_simjw_finish(&w, &b), 0);
	assert_string_equal(b.ptr, "{\"techniqueRunId\":1,\"a_1B\":false,\"form_field\":"
				   "\"bad \xef\xbf\xbd byte\",\"n\":null}");
	/* A misuse of the generator is reported once, at the end. */
	assert_int_equal(fb_simjw_start(&w, 0), 0);
	fb_simjw_close(&w, 1);
	assert_int_equal(fb_simjw_finish(&w, &b), FB_ENOMEM);
	fb_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pending_run_snake), cmocka_unit_test(test_completed_run_camel),
	    cmocka_unit_test(test_cost_formatting),   cmocka_unit_test(test_cost_matches_printf),
	    cmocka_unit_test(test_int_extremes),      cmocka_unit_test(test_clean_view_and_sink),
	    cmocka_unit_test(test_error_envelope),    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_run_created),	      cmocka_unit_test(test_writer_casing_and_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
