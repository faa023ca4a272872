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

/* Runs florabatch against the world's florasim with the key in the environment. */
static struct e2e_run fb(struct e2e_world *w, const char *key, const char *args)
{
	char full[4096];
	snprintf(full, sizeof(full), "run --transport http --base-url %s --seed 5 %s", w->sim.base,
		 args);
	char envd[4200];
	snprintf(envd, sizeof(envd), "env FLORA_API_KEY=%s '%s' %s", key, tu_env("FB_BIN"), full);
	struct e2e_run r = {0};
	char cmd[4400];
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", w->dir, envd);
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

static struct e2e_lines results(struct e2e_world *w)
{
	char *p = tu_path(w->dir, "out/results.jsonl");
	char *text = tu_read_file(p, NULL);
	assert_non_null(text);
	struct e2e_lines l = e2e_parse_jsonl(text);
	free(text);
	free(p);
	return l;
}

static size_t count_status(const struct e2e_lines *l, const char *status)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *s = e2e_str(l->v[i], "status", NULL);
		n += s && !strcmp(s, status);
	}
	return n;
}

/* Each output in the archive once, with its result line's sha256. */
static void assert_archive(struct e2e_world *w, const struct e2e_lines *l)
{
	char *ap = tu_path(w->dir, "out/outputs.tar.gz");
	struct e2e_archive a = e2e_read_archive(ap);
	size_t expected = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *op[] = {"outputs", NULL};
		yajl_val outs = yajl_tree_get(l->v[i], op, yajl_t_array);
		for (size_t k = 0; outs && k < YAJL_GET_ARRAY(outs)->len; k++) {
			yajl_val o = YAJL_GET_ARRAY(outs)->values[k];
			const char *path = e2e_str(o, "path", NULL),
				   *sha = e2e_str(o, "sha256", NULL);
			size_t found = 0;
			for (size_t j = 0; j < a.n; j++) {
				if (strcmp(a.names[j], path))
					continue;
				char hex[FB_SHA256_HEX_LEN + 1];
				fb_sha256_hex(a.data[j], a.len[j], hex);
				assert_string_equal(hex, sha);
				found++;
			}
			assert_int_equal(found, 1);
			expected++;
		}
	}
	assert_int_equal(a.n, expected);
	e2e_archive_free(&a);
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
	struct e2e_lines l = results(w);
	assert_int_equal(l.n, 4);
	assert_int_equal(count_status(&l, "completed"), 4);
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
	struct e2e_lines l = results(w);
	assert_int_equal(l.n, 12);
	assert_int_equal(count_status(&l, "skipped"), 12);
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
	static const char m[] = "prompt\nhello\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, KEY, "m.csv --technique cctv-cam --out out --retries 1");
	assert_int_equal(r.status, 1);
	struct e2e_lines l = results(w);
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
	static const char m[] = "id,prompt\na,one\nb,two\nc,three\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, KEY, "m.csv --technique cctv-cam --out out --poll-interval 200ms");
	assert_int_equal(r.status, 0);
	struct e2e_lines l = results(w);
	assert_int_equal(count_status(&l, "completed"), 3);
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
	struct e2e_lines l = results(w);
	assert_int_equal(count_status(&l, "completed"), 12);
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
