/*
 * End-to-end: the built binary on real manifests through the simulator, as
 * a new user would run it; every check reads what the user would read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "sha256.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fast and deterministic: virtual time, seeded simulator. */
#define SIMFAST "--sim-clock virtual --sim-seed 7 --seed 7"

static char *example(const char *name)
{
	return tu_path(tu_env("FB_EXAMPLES"), name);
}

static void test_demo_manifest(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *csv = example("demo.csv");
	char args[1024];
	snprintf(args, sizeof(args), "run '%s' --technique cctv-cam --out out " SIMFAST, csv);
	struct e2e_run r = e2e_florabatch(dir, args);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, ""); /* results went to the file, logs to stderr */
	assert_non_null(strstr(r.err, "12 completed"));

	char *rp = tu_path(dir, "out/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	assert_non_null(text);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 12);
	assert_int_equal(e2e_count_status(&l, "completed"), 12);
	yajl_val vase = e2e_find(&l, "vase-01");
	assert_non_null(vase);
	assert_string_equal(e2e_str(vase, "technique", NULL), "cctv-cam");
	assert_non_null(strstr(e2e_str(vase, "run_id", NULL), "run_"));
	assert_non_null(strstr(e2e_str(vase, "idempotency_key", NULL), "fb1-"));
	char *ap = tu_path(dir, "out/outputs.tar.gz");
	e2e_assert_archive(&l, ap);

	e2e_lines_free(&l);
	free(text);
	free(rp);
	free(ap);
	free(csv);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_stdin_to_stdout_pipeline(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *jsonl = example("demo.jsonl");
	char args[1024];
	snprintf(args, sizeof(args),
		 "run - --technique cctv-cam --results - --archive none " SIMFAST " < '%s' | cat",
		 jsonl);
	struct e2e_run r = e2e_florabatch(dir, args);
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_parse_jsonl(r.out); /* aborts on any non-JSON line */
	assert_int_equal(l.n, 4);
	assert_int_equal(e2e_count_status(&l, "completed"), 4);
	/* Fields the manifest's author added come back untouched under meta. */
	yajl_val sofa = e2e_find(&l, "sofa-01");
	assert_string_equal(e2e_str(sofa, "meta", "sku", NULL), "SOFA-01");
	assert_string_equal(e2e_str(sofa, "meta", "batch", NULL), "spring");
	yajl_val rug = e2e_find(&l, "row-4");
	assert_non_null(rug);
	const char *price_path[] = {"meta", "price", NULL};
	yajl_val price = yajl_tree_get(rug, price_path, yajl_t_number);
	assert_non_null(price);
	assert_string_equal(YAJL_GET_NUMBER(price), "129.5");
	e2e_lines_free(&l);
	free(jsonl);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static const char bad_csv[] = "id,input_image:imageUrl,prompt\n"
			      "good-1,https://storage.googleapis.com/b/1.jpg,calm\n"
			      "bad-url,not a url,calm\n"
			      "good-2,https://storage.googleapis.com/b/2.jpg,calm\n"
			      "too-many,https://storage.googleapis.com/b/3.jpg,calm,extra\n"
			      "empty,,\n";

static void test_bad_rows_do_not_stop_good_rows(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "bad.csv", bad_csv, sizeof(bad_csv) - 1));
	struct e2e_run r =
	    e2e_florabatch(dir, "run bad.csv --technique cctv-cam --out out " SIMFAST);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "bad.csv:3: column \"input_image\": expected a URL"));
	assert_non_null(strstr(r.err, "bad.csv:5"));
	char *rp = tu_path(dir, "out/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 5);
	assert_int_equal(e2e_count_status(&l, "completed"), 2);
	assert_int_equal(e2e_count_status(&l, "invalid"), 3);
	yajl_val bad = e2e_find(&l, "bad-url");
	assert_string_equal(e2e_str(bad, "status", NULL), "invalid");
	assert_string_equal(e2e_str(bad, "error", "field", NULL), "input_image");
	assert_string_equal(e2e_str(bad, "source", NULL), "bad.csv:3");
	assert_null(e2e_str(bad, "run_id", NULL));
	e2e_lines_free(&l);
	free(text);
	free(rp);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_strict_refuses_before_running(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "bad.csv", bad_csv, sizeof(bad_csv) - 1));
	struct e2e_run r =
	    e2e_florabatch(dir, "run bad.csv --strict --technique cctv-cam --out out " SIMFAST);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--strict"));
	assert_non_null(strstr(r.err, "bad.csv:3"));
	char *rp = tu_path(dir, "out/results.jsonl");
	size_t len = 0;
	char *text = tu_read_file(rp, &len);
	assert_true(text == NULL || len == 0); /* nothing ran */
	free(text);
	free(rp);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_sim_failures_are_failed_lines(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *csv = example("demo.csv");
	char args[1024];
	snprintf(
	    args, sizeof(args),
	    "run '%s' --technique cctv-cam --results - --archive none --sim-fail-rate 1 " SIMFAST,
	    csv);
	struct e2e_run r = e2e_florabatch(dir, args);
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 12);
	assert_int_equal(e2e_count_status(&l, "failed"), 12);
	for (size_t i = 0; i < l.n; i++) {
		const char *code = e2e_str(l.v[i], "error", "code", NULL);
		assert_non_null(code);
		assert_true(!strcmp(code, "model_timeout") || !strcmp(code, "internal_error") ||
			    !strcmp(code, "safety_blocked") || !strcmp(code, "input_unreachable"));
		assert_non_null(e2e_str(l.v[i], "run_id", NULL));
	}
	e2e_lines_free(&l);
	free(csv);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_some_failures_mixed(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *csv = example("demo.csv");
	char args[1024];
	snprintf(args, sizeof(args),
		 "run '%s' --technique cctv-cam --out out --sim-fail-rate 0.5 " SIMFAST, csv);
	struct e2e_run r = e2e_florabatch(dir, args);
	assert_int_equal(r.status, 1);
	char *rp = tu_path(dir, "out/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 12);
	size_t done = e2e_count_status(&l, "completed"), failed = e2e_count_status(&l, "failed");
	assert_int_equal(done + failed, 12);
	assert_true(done > 0 && failed > 0);
	char *ap = tu_path(dir, "out/outputs.tar.gz");
	e2e_assert_archive(&l, ap); /* only completed runs' outputs, each once */
	e2e_lines_free(&l);
	free(text);
	free(rp);
	free(ap);
	free(csv);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_keys_stable_across_runs_and_order(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	static const char a[] = "{\"id\":\"x\",\"inputs\":{\"input_image\":\"https://"
				"storage.googleapis.com/b/one.png\",\"prompt\":\"two\"}}\n"
				"{\"id\":\"y\",\"inputs\":{\"input_image\":\"https://"
				"storage.googleapis.com/b/three.png\"}}\n";
	static const char b[] = "{\"id\":\"y\",\"inputs\":{\"input_image\":\"https://"
				"storage.googleapis.com/b/three.png\"}}\n"
				"{\"id\":\"x\",\"inputs\":{\"prompt\":\"two\",\"input_image\":"
				"\"https://storage.googleapis.com/b/one.png\"}}\n";
	free(tu_write_file(dir, "a.jsonl", a, sizeof(a) - 1));
	free(tu_write_file(dir, "b.jsonl", b, sizeof(b) - 1));
	/* Two batches: two folders (one folder would resume the first batch). */
	struct e2e_run ra = e2e_florabatch(
	    dir, "run a.jsonl --technique cctv-cam --out oa --results - --archive none " SIMFAST);
	struct e2e_run rb = e2e_florabatch(
	    dir, "run b.jsonl --technique cctv-cam --out ob --results - --archive none " SIMFAST);
	assert_int_equal(ra.status, 0);
	assert_int_equal(rb.status, 0);
	struct e2e_lines la = e2e_parse_jsonl(ra.out), lb = e2e_parse_jsonl(rb.out);
	assert_string_equal(e2e_str(e2e_find(&la, "x"), "idempotency_key", NULL),
			    e2e_str(e2e_find(&lb, "x"), "idempotency_key", NULL));
	assert_string_equal(e2e_str(e2e_find(&la, "y"), "idempotency_key", NULL),
			    e2e_str(e2e_find(&lb, "y"), "idempotency_key", NULL));
	assert_string_not_equal(e2e_str(e2e_find(&la, "x"), "idempotency_key", NULL),
				e2e_str(e2e_find(&la, "y"), "idempotency_key", NULL));
	e2e_lines_free(&la);
	e2e_lines_free(&lb);
	e2e_run_free(&ra);
	e2e_run_free(&rb);
	tu_rmrf(dir);
	free(dir);
}

static void test_huge_line_is_invalid_not_fatal(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	size_t big = 10u << 20;
	char *text = malloc(big + 256);
	size_t n = (size_t)sprintf(
	    text, "{\"id\":\"ok-1\",\"inputs\":{\"input_image\":\"https://storage.googleapis.com/b/"
		  "a.png\"}}\n{\"id\":\"huge\",\"inputs\":{\"p\":\"");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, "\"}}\n{\"id\":\"ok-2\",\"inputs\":{\"input_image\":\"https:"
				       "//storage.googleapis.com/b/b.png\"}}\n");
	free(tu_write_file(dir, "big.jsonl", text, n));
	free(text);
	struct e2e_run r = e2e_florabatch(
	    dir, "run big.jsonl --technique cctv-cam --results - --archive none " SIMFAST);
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 3);
	assert_int_equal(e2e_count_status(&l, "completed"), 2);
	assert_int_equal(e2e_count_status(&l, "invalid"), 1);
	assert_non_null(strstr(r.err, "big.jsonl:2"));
	e2e_lines_free(&l);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_empty_manifest(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	free(tu_write_file(dir, "empty.csv", "", 0));
	struct e2e_run r =
	    e2e_florabatch(dir, "run empty.csv --technique cctv-cam --results - " SIMFAST);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "no items"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_demo_manifest),
	    cmocka_unit_test(test_stdin_to_stdout_pipeline),
	    cmocka_unit_test(test_bad_rows_do_not_stop_good_rows),
	    cmocka_unit_test(test_strict_refuses_before_running),
	    cmocka_unit_test(test_sim_failures_are_failed_lines),
	    cmocka_unit_test(test_some_failures_mixed),
	    cmocka_unit_test(test_keys_stable_across_runs_and_order),
	    cmocka_unit_test(test_huge_line_is_invalid_not_fatal),
	    cmocka_unit_test(test_empty_manifest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
