/*
 * The dry run (run --dry-run, validate) against florasim: every row is
 * checked against its technique's declared inputs and named by file, line
 * and field when it fails; rows the folder holds already are counted as
 * done; the cost is run_cost x new rows; and nothing is created, uploaded
 * or written, not even the output folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY "sk_test_dryrun"

static long long stat_of(struct e2e_world *w, const char *name)
{
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long v = e2e_num(st, name, NULL);
	yajl_tree_free(st);
	return v;
}

static int exists(struct e2e_world *w, const char *name)
{
	char *p = tu_path(w->dir, name);
	struct stat st;
	int ok = stat(p, &st) == 0;
	free(p);
	return ok;
}

static void test_rows_checked_against_techniques(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms");
	static const char m[] =
	    "id,technique,input_image:imageUrl,reference_image:imageUrl,style:text\n"
	    "a,cctv-cam,https://storage.googleapis.com/b/1.png,,\n"
	    "b,character-lock,https://storage.googleapis.com/b/2.png,,\n"
	    "c,cctv-cam,https://storage.googleapis.com/b/3.png,,cyberpunk\n"
	    "d,no-such-technique,https://storage.googleapis.com/b/4.png,,\n"
	    "e,character-lock,https://storage.googleapis.com/b/5.png,"
	    "https://storage.googleapis.com/b/6.png,\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = e2e_world_run(w, KEY, "m.csv --out out --dry-run --results -");
	if (r.status != 2)
		print_error("exit %d\n%s\n", r.status, r.err);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "5 rows: 2 new, 0 done before, 3 invalid"));
	assert_non_null(strstr(r.err, "m.csv:3: reference_image: technique character-lock needs"));
	assert_non_null(strstr(r.err, "m.csv:4: style: technique cctv-cam has no input \"style\""));
	assert_non_null(strstr(r.err, "m.csv:5: technique: technique no-such-technique does not"));
	assert_non_null(strstr(r.err, "nothing was created"));
	struct e2e_lines plan = e2e_parse_jsonl(r.out);
	assert_int_equal(plan.n, 5);
	assert_string_equal(e2e_str(e2e_find(&plan, "a"), "plan", NULL), "new");
	assert_string_equal(e2e_str(e2e_find(&plan, "b"), "plan", NULL), "invalid");
	assert_string_equal(e2e_str(e2e_find(&plan, "b"), "field", NULL), "reference_image");
	e2e_lines_free(&plan);
	e2e_run_free(&r);
	assert_int_equal(stat_of(w, "creates"), 0);
	assert_false(exists(w, "out"));
}

static void test_done_rows_cost_and_time(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms");
	char text[4096];
	size_t len = (size_t)sprintf(text, "id,input_image\n");
	for (int i = 0; i < 10; i++)
		len += (size_t)sprintf(text + len, "r%d,https://storage.googleapis.com/b/%d.png\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	struct e2e_run r = e2e_world_run(w, KEY, "m.csv --technique cctv-cam --out out");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	for (int i = 10; i < 14; i++)
		len += (size_t)sprintf(text + len, "r%d,https://storage.googleapis.com/b/%d.png\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	long long creates = stat_of(w, "creates");
	char *rp = tu_path(w->dir, "out/results.jsonl");
	char *before = tu_read_file(rp, NULL);

	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=" KEY " '%s' validate m.csv --technique cctv-cam "
		 "--transport http --base-url %s --out out --concurrency 2",
		 w->dir, tu_env("FB_BIN"), w->sim.base);
	struct e2e_run v = {0};
	v.status = tu_run(cmd, &v.out, &v.err);
	if (v.status)
		print_error("%s\n", v.err);
	assert_int_equal(v.status, 0);
	assert_non_null(strstr(v.err, "14 rows: 4 new, 10 done before, 0 invalid"));
	assert_non_null(strstr(v.err, "for 4 new runs"));
	assert_non_null(strstr(v.err, "the median of this folder's completed runs"));
	assert_string_equal(v.out, "");
	const char *cost = strstr(v.err, "cost      about $");
	assert_non_null(cost);
	assert_true(atof(cost + 17) > 0); /* run_cost from GET /techniques/cctv-cam, x 4 */
	e2e_run_free(&v);
	assert_int_equal(stat_of(w, "creates"), creates);
	char *after = tu_read_file(rp, NULL);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(rp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_rows_checked_against_techniques, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_done_rows_cost_and_time, e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
