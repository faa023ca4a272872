/*
 * End-to-end resilience against florasim over loopback: a throttling,
 * failing, connection-dropping server must cost a user no duplicate run and
 * no lost item; credits running out, a forbidden technique and a budget are
 * batch-level events. florasim's stats (runs per key, requests per second)
 * are the witness.
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

#define KEY "sk_test_resilience"

static struct e2e_world *start(void **state, const char *sim_args)
{
	return e2e_world_start(state, KEY, sim_args);
}

static struct e2e_run fb(struct e2e_world *w, const char *args)
{
	char full[4096];
	snprintf(full, sizeof(full), "--seed 9 %s", args);
	return e2e_world_run(w, KEY, full);
}

static void write_manifest(struct e2e_world *w, int n)
{
	char *text = malloc((size_t)n * 80 + 64);
	size_t len = (size_t)sprintf(text, "id,input_image:imageUrl\n");
	for (int i = 1; i <= n; i++)
		len += (size_t)sprintf(text + len, "p%d,https://storage.googleapis.com/b/%d.jpg\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	free(text);
}

#define STORM_SIM                                                                                  \
	"--run-time 300ms --fault-5xx 0.3 --fault-reset-after 0.1 --rate-limit 8 --burst 4 "       \
	"--seed 21 "
#define STORM_CLIENT                                                                               \
	"m.csv --technique cctv-cam --out out --rate 12 --burst 4 --retries 12 "                   \
	"--backoff-base 50ms --backoff-cap 2s --poll-interval 300ms --concurrency 8"

static void storm(void **state, const char *mode)
{
	char args[512];
	snprintf(args, sizeof(args), STORM_SIM "--duplicates %s", mode);
	struct e2e_world *w = start(state, args);
	write_manifest(w, 30);
	struct e2e_run r = fb(w, STORM_CLIENT);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 30);
	/* Nothing lost, nothing failed; in 409 mode an item may stay unresolved, never failed. */
	assert_int_equal(e2e_count_status(&l, "failed"), 0);
	if (!strcmp(mode, "replay"))
		assert_int_equal(e2e_count_status(&l, "completed"), 30);
	else
		assert_int_equal(
		    e2e_count_status(&l, "completed") + e2e_count_status(&l, "unresolved"), 30);
	assert_int_equal(r.status, e2e_count_status(&l, "completed") == 30 ? 0 : 1);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(st, "max_runs_per_key", NULL), 1);
	assert_int_equal(e2e_num(st, "runs_created", NULL), 30);
	assert_true(e2e_num(st, "rate_limited", NULL) > 0); /* the storm happened */
	assert_true(e2e_num(st, "faults_5xx", NULL) > 0);
	assert_true(e2e_num(st, "resets", NULL) > 0);
	/* Never above --rate plus the burst in any second. */
	assert_true(e2e_num(st, "max_requests_per_second", NULL) <= 12 + 4);
	assert_non_null(strstr(r.err, "throttled"));
	yajl_tree_free(st);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

static void test_storm_replay_mode(void **state)
{
	storm(state, "replay");
}

static void test_storm_conflict_mode(void **state)
{
	storm(state, "conflict");
}

static void test_credits_run_out_then_resume(void **state)
{
	/* cctv-cam quotes 0.25 a run: 10.1 pays for 40 runs. */
	struct e2e_world *w = start(state, "--run-time 300ms --credits 10.1");
	write_manifest(w, 100);
	const char *args =
	    "m.csv --technique cctv-cam --out out --concurrency 8 --poll-interval 300ms";
	struct e2e_run r = fb(w, args);
	assert_int_equal(r.status, 5);
	assert_non_null(strstr(r.err, "insufficient_credits"));
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 100);
	assert_int_equal(e2e_count_status(&l, "completed"),
			 40); /* in flight when credits ran out: collected */
	assert_int_equal(e2e_count_status(&l, "skipped"), 60);
	e2e_lines_free(&l);
	e2e_run_free(&r);

	yajl_val ok = e2e_sim_post_json(&w->sim, "/_sim/credits", "{\"add\": 100}");
	yajl_tree_free(ok);
	r = fb(w, args);
	assert_int_equal(r.status, 0);
	l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 100);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(st, "runs_created", NULL),
			 100); /* the first 40 adopted, not redone */
	assert_int_equal(e2e_num(st, "max_runs_per_key", NULL), 1);
	yajl_tree_free(st);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

static void test_forbidden_technique_fails_fast(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms --forbidden studio-shot");
	static const char m[] = "id,technique,input_image:imageUrl\n"
				"a,studio-shot,https://storage.googleapis.com/b/1.jpg\n"
				"b,cctv-cam,https://storage.googleapis.com/b/2.jpg\n"
				"c,studio-shot,https://storage.googleapis.com/b/3.jpg\n"
				"d,cctv-cam,https://storage.googleapis.com/b/4.jpg\n"
				"e,studio-shot,https://storage.googleapis.com/b/5.jpg\n"
				"f,cctv-cam,https://storage.googleapis.com/b/6.jpg\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	struct e2e_run r = fb(w, "m.csv --out out --concurrency 1 --poll-interval 200ms");
	assert_int_equal(r.status, 1);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 3);
	/*
	 * a was refused before the API had accepted anything: the refusal might
	 * have been the whole batch's, so a is skipped (a re-run tries it again);
	 * c and e fail without being sent.
	 */
	assert_string_equal(e2e_str(e2e_find(&l, "a"), "status", NULL), "skipped");
	assert_int_equal(e2e_count_status(&l, "failed"), 2);
	const char *ids[] = {"a", "c", "e"};
	for (int i = 0; i < 3; i++)
		assert_string_equal(e2e_str(e2e_find(&l, ids[i]), "error", "code", NULL),
				    "forbidden");
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(st, "forbidden", NULL), 1); /* asked once, not three times */
	yajl_tree_free(st);
	e2e_lines_free(&l);
	e2e_run_free(&r);
}

/* Lines of text that contain what. */
static int count_lines_with(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/*
 * A wrong workspace, or a technique that does not exist: the API refuses
 * every row alike. The batch stops after a few creates, with one message,
 * every row skipped (a re-run tries them), and the batch's exit status.
 */
static void test_refused_batch_stops_once(void **state)
{
	struct e2e_world *w = start(state, "--run-time 200ms");
	write_manifest(w, 2000);
	const char *cases[][2] = {
	    {"--technique-id tech_cctv-cam --workspace ws_nowhere --out out1", "Workspace"},
	    {"--technique no-such-technique --out out2", "no-such-technique"},
	};
	long long creates_before = 0;
	for (int c = 0; c < 2; c++) {
		char args[512];
		snprintf(args, sizeof(args), "m.csv %s", cases[c][0]);
		struct e2e_run r = fb(w, args);
		if (r.status != 3)
			print_error("%s: exit %d; stderr:\n%s\n", cases[c][0], r.status, r.err);
		assert_int_equal(r.status, 3);
		assert_int_equal(count_lines_with(r.err, "error:"), 1);
		assert_int_equal(count_lines_with(r.err, "warning:"), 0);
		assert_non_null(strstr(r.err, cases[c][1]));
		assert_non_null(strstr(r.err, "Check the workspace"));
		yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
		long long creates = e2e_num(st, "creates", NULL);
		yajl_tree_free(st);
		print_message("%s: %lld creates for 2000 rows\n", cases[c][0],
			      creates - creates_before);
		assert_true(creates - creates_before <= 20);
		creates_before = creates;
		char path[16];
		snprintf(path, sizeof(path), "out%d", c + 1);
		char *rp = tu_path(w->dir, path), *rec = tu_path(rp, "results.jsonl");
		char *text = tu_read_file(rec, NULL);
		struct e2e_lines l = e2e_parse_jsonl(text);
		assert_int_equal(l.n, 2000);
		assert_int_equal(e2e_count_status(&l, "skipped"), 2000);
		e2e_lines_free(&l);
		free(text);
		free(rec);
		free(rp);
		e2e_run_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_storm_replay_mode, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_storm_conflict_mode, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_credits_run_out_then_resume, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_forbidden_technique_fails_fast, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_refused_batch_stops_once, e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
