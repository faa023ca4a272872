/*
 * End-to-end over loopback: the built florabatch with --transport http
 * against florasim, as a new user testing a pipeline offline would run it.
 * Every check reads what the user reads: exit status, stderr, results,
 * archive, and florasim's own stats of what it was asked to do.
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
#include <sys/stat.h>

#define KEY "sk_test_e2e"

static struct e2e_world *start(void **state, const char *sim_args)
{
	return e2e_world_start(state, KEY, sim_args);
}

static struct e2e_run fb(struct e2e_world *w, const char *key, const char *args)
{
	char full[4096];
	snprintf(full, sizeof(full), "--seed 5 %s", args);
	return e2e_world_run(w, key, full);
}

/* Each output in the archive once, with its result line's sha256. */
static void assert_archive(struct e2e_world *w, const struct e2e_lines *l)
{
	char *ap = tu_path(w->dir, "out/outputs.tar.gz");
	e2e_assert_archive(l, ap);
	free(ap);
}

/* Never two runs for one idempotency key, whatever happened on the way. */
static void assert_one_run_per_key(struct e2e_world *w, long long runs)
{
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_true(e2e_num(st, "max_runs_per_key", NULL) <= 1);
	if (runs >= 0)
		assert_int_equal(e2e_num(st, "runs_created", NULL), runs);
	yajl_tree_free(st);
}

static const char kinds_jsonl[] =
    "{\"id\":\"slug\",\"technique\":\"cctv-cam\",\"inputs\":{\"input_image\":"
    "\"https://storage.googleapis.com/b/1.jpg\"}}\n"
    "{\"id\":\"by-id\",\"technique_id\":\"tech_studio-shot\",\"workspace_id\":\"ws_accept\","
    "\"inputs\":{\"input_image\":\"https://storage.googleapis.com/b/2.jpg\"}}\n"
    "{\"id\":\"gen-image\",\"generation\":\"image\",\"prompt\":\"a red chair\","
    "\"workspace_id\":\"ws_accept\",\"project_id\":\"prj_accept\",\"params\":{\"seed\":3}}\n"
    "{\"id\":\"gen-text\",\"generation\":\"text\",\"prompt\":\"a tagline for a chair\","
    "\"workspace_id\":\"ws_accept\",\"project_id\":\"prj_accept\"}\n";

static void test_three_kinds_of_run(void **state)
{
	struct e2e_world *w = start(state, "--run-time 300ms");
	free(tu_write_file(w->dir, "m.jsonl", kinds_jsonl, sizeof(kinds_jsonl) - 1));
	struct e2e_run r = fb(w, KEY, "m.jsonl --out out --poll-interval 200ms");
	if (r.status)
		print_error("stderr: %s\n", r.err);
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 4);
	assert_int_equal(e2e_count_status(&l, "completed"), 4);
	assert_string_equal(e2e_str(e2e_find(&l, "slug"), "kind", NULL), "technique");
	assert_string_equal(e2e_str(e2e_find(&l, "by-id"), "kind", NULL), "technique_id");
	assert_string_equal(e2e_str(e2e_find(&l, "gen-image"), "kind", NULL), "generation");
	assert_archive(w, &l);
	assert_one_run_per_key(w, 4);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

static void test_legacy_generation_route(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms");
	static const char m[] = "prompt\na lamp\na vase\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, KEY,
			      "m.csv --out out --generation image --workspace ws_accept --project "
			      "prj_accept --generation-route runs --poll-interval 200ms");
	assert_int_equal(r.status, 0);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(st, "endpoints", "POST /runs/generation", NULL), 2);
	yajl_tree_free(st);
	e2e_run_free(&r);
}

static void test_wrong_key_stops_at_once(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms");
	char *csv = tu_path(tu_env("FB_EXAMPLES"), "demo.csv");
	char args[1024];
	snprintf(args, sizeof(args), "'%s' --technique cctv-cam --out out --concurrency 1", csv);
	struct e2e_run r = fb(w, "sk_wrong", args);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.err, "invalid_api_key"));
	assert_null(strstr(r.err, "sk_wrong")); /* the key never appears */
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 12);
	assert_int_equal(e2e_count_status(&l, "skipped"), 12);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_true(e2e_num(st, "requests", NULL) <= 2); /* no hammering with a bad key */
	yajl_tree_free(st);
	e2e_lines_free(&l);
	free(csv);
	e2e_run_free(&r);
}

static void test_html_error_body(void **state)
{
	struct e2e_world *w = start(state, "--fault-5xx 1 --fault-html 1");
	static const char m[] =
	    "input_image,prompt\nhttps://storage.googleapis.com/b/1.png,hello\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, KEY, "m.csv --technique cctv-cam --out out --retries 1");
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 1);
	const char *msg = e2e_str(l.v[0], "error", "message", NULL);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "<"));	    /* the first bytes of the page, shown */
	assert_non_null(strstr(msg, "request-id")); /* with the request id */
	assert_true(e2e_num(l.v[0], "error", "http_status", NULL) >= 500);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

static void test_truncated_download_is_fetched_again(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms --fault-truncate 1");
	static const char m[] = "id,input_image,prompt\n"
				"a,https://storage.googleapis.com/b/a.png,one\n"
				"b,https://storage.googleapis.com/b/b.png,two\n"
				"c,https://storage.googleapis.com/b/c.png,three\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, KEY, "m.csv --technique cctv-cam --out out --poll-interval 200ms");
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 3);
	assert_archive(w, &l); /* whole files only, never the short first try */
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(st, "fetches", NULL), 6);
	yajl_tree_free(st);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

static void test_lost_create_answers_never_run_twice(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms --fault-reset-after 0.5 --seed 11");
	char *csv = tu_path(tu_env("FB_EXAMPLES"), "demo.csv");
	char args[1024];
	snprintf(args, sizeof(args), "'%s' --technique cctv-cam --out out --poll-interval 200ms",
		 csv);
	struct e2e_run r = fb(w, KEY, args);
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 12);
	assert_one_run_per_key(w, 12);
	e2e_lines_free(&l);
	free(csv);
	e2e_run_free(&r);
}

static void test_world_readable_key_file_refused(void **state)
{
	struct e2e_world *w = start(state, "");
	char *kp = tu_write_file(w->dir, "key", KEY "\n", strlen(KEY) + 1);
	chmod(kp, 0644);
	char args[512];
	snprintf(args, sizeof(args), "--api-key-file '%s' x.csv --technique t", kp);
	struct e2e_run r = fb(w, "", args);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "chmod 600"));
	assert_null(strstr(r.err, KEY));
	free(kp);
	e2e_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_three_kinds_of_run, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_legacy_generation_route, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_wrong_key_stops_at_once, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_html_error_body, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_truncated_download_is_fetched_again, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_lost_create_answers_never_run_twice, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_world_readable_key_file_refused, e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
