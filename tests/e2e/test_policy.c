/*
 * End-to-end, in process (the built binary on the simulator, virtual
 * clock): the parts of the resilience policy that need no network: a run
 * that fails for a retryable reason gets one more run under a new key, a
 * budget stops new runs, a run that takes too long is given up with its id
 * kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "error.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIMFAST "--sim-clock virtual --sim-seed 3 --seed 3 --results - --archive none"

static char *manifest(const char *dir, int n)
{
	char *text = malloc((size_t)n * 128 + 32);
	size_t len = (size_t)sprintf(text, "id,input_image,prompt\n");
	for (int i = 1; i <= n; i++)
		len += (size_t)sprintf(
		    text + len, "item-%d,https://storage.googleapis.com/b/%d.png,picture %d\n", i,
		    i, i);
	char *p = tu_write_file(dir, "m.csv", text, len);
	free(text);
	return p;
}

static yajl_val array_at(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	return yajl_tree_get(v, path, yajl_t_array);
}

static void test_retryable_failures_get_a_new_run(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(manifest(dir, 12));
	struct e2e_run r = e2e_florabatch(
	    dir, "run m.csv --technique cctv-cam --sim-fail-rate 1 --retry-failed 1 " SIMFAST);
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 12);
	size_t rerun = 0, once = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *code = e2e_str(l.v[i], "error", "code", NULL);
		yajl_val ids = array_at(l.v[i], "run_ids");
		assert_non_null(ids);
		size_t n = YAJL_GET_ARRAY(ids)->len;
		assert_int_equal(e2e_num(l.v[i], "attempts", NULL), (long long)n);
		/* The contract's retryable codes get a second run; the others are final. */
		if (n == 2) {
			rerun++;
			assert_string_not_equal(YAJL_GET_STRING(YAJL_GET_ARRAY(ids)->values[0]),
						YAJL_GET_STRING(YAJL_GET_ARRAY(ids)->values[1]));
		} else {
			once++;
			assert_int_equal(n, 1);
			assert_false(fb_err_run_code_retryable(code));
		}
	}
	assert_true(rerun > 0 && once > 0);
	e2e_lines_free(&l);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_budget_stops_new_runs(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(manifest(dir, 30));
	struct e2e_run r = e2e_florabatch(
	    dir, "run m.csv --technique cctv-cam --max-cost 2 --concurrency 2 " SIMFAST);
	assert_int_equal(r.status, 6);
	assert_non_null(strstr(r.err, "--max-cost"));
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 30);
	double spent = 0, most = 0;
	size_t completed = 0, budget = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *st = e2e_str(l.v[i], "status", NULL);
		const char *cp[] = {"charged_cost", NULL};
		yajl_val c = yajl_tree_get(l.v[i], cp, yajl_t_number);
		if (!strcmp(st, "completed")) {
			completed++;
			spent += YAJL_GET_DOUBLE(c);
			most = YAJL_GET_DOUBLE(c) > most ? YAJL_GET_DOUBLE(c) : most;
		} else {
			assert_string_equal(st, "skipped");
			assert_string_equal(e2e_str(l.v[i], "error", "code", NULL),
					    "budget_exhausted");
			budget++;
		}
	}
	assert_true(completed > 0 && budget > 0);
	/* Runs in flight when the budget was reached still finish: at most one run's worth more. */
	assert_true(spent <= 2.0 + 2 * most);
	e2e_lines_free(&l);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_run_timeout_keeps_the_run_id(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(manifest(dir, 3));
	struct e2e_run r = e2e_florabatch(
	    dir, "run m.csv --technique cctv-cam --sim-run-time 10m --run-timeout 30s " SIMFAST);
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 3);
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(e2e_str(l.v[i], "status", NULL), "failed");
		assert_string_equal(e2e_str(l.v[i], "error", "code", NULL), "timeout");
		assert_non_null(e2e_str(l.v[i], "run_id", NULL));
	}
	e2e_lines_free(&l);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retryable_failures_get_a_new_run),
	    cmocka_unit_test(test_budget_stops_new_runs),
	    cmocka_unit_test(test_run_timeout_keeps_the_run_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
