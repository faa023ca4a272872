/*
 * End-to-end over loopback: how florabatch polls florasim. By default the
 * runs that come due together are checked through the list endpoints, so a
 * batch costs about one request per run besides its downloads; with
 * --poll-mode get every run is asked for on its own. Counted from
 * florasim's stats, as a new user watching their request budget would.
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

#define KEY   "sk_test_poll"
#define ITEMS 60

static void write_manifest(struct e2e_world *w)
{
	char buf[ITEMS * 140];
	size_t len = 0;
	for (int i = 0; i < ITEMS; i++) {
		if (i % 2)
			len +=
			    (size_t)snprintf(buf + len, sizeof(buf) - len,
					     "{\"id\":\"g%d\",\"generation\":\"image\",\"prompt\":"
					     "\"a chair %d\",\"workspace_id\":\"ws_accept\","
					     "\"project_id\":\"prj_accept\"}\n",
					     i, i);
		else
			len += (size_t)snprintf(
			    buf + len, sizeof(buf) - len,
			    "{\"id\":\"t%d\",\"technique\":\"cctv-cam\",\"inputs\":"
			    "{\"input_image\":\"https://storage.googleapis.com/b/"
			    "%d.jpg\"}}\n",
			    i, i);
	}
	free(tu_write_file(w->dir, "m.jsonl", buf, len));
}

struct counts {
	long long requests, fetches, polls, lists, creates;
};

static struct counts run(void **state, const char *args)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 1500ms");
	write_manifest(w);
	struct e2e_run r = e2e_world_run(w, KEY, args);
	if (r.status)
		print_error("stderr: %s\n", r.err);
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), ITEMS);
	char *ap = tu_path(w->dir, "out/outputs.tar.gz");
	e2e_assert_archive(&l, ap);
	free(ap);
	e2e_lines_free(&l);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	struct counts c = {
	    e2e_num(st, "requests", NULL), e2e_num(st, "fetches", NULL), e2e_num(st, "polls", NULL),
	    e2e_num(st, "lists", NULL),	   e2e_num(st, "creates", NULL),
	};
	yajl_tree_free(st);
	e2e_run_free(&r);
	return c;
}

static void test_list_polling_by_default(void **state)
{
	struct counts c = run(state, "m.jsonl --out out --concurrency 60 --seed 9");
	assert_int_equal(c.creates, ITEMS);
	/*
	 * Both endpoints were swept, and few runs needed a GET of their own
	 * (the last three of each endpoint poll themselves). No estimate and
	 * runs of 0.5-4 s, as florasim gives by default: at most 1.5 requests
	 * a run, the target for a batch of one round.
	 */
	assert_true(c.lists >= 2);
	assert_true(c.polls <= ITEMS / 6);
	assert_true(c.requests - c.fetches <= ITEMS + ITEMS / 2);
}

static void test_get_mode_polls_each_run(void **state)
{
	struct counts c = run(state, "m.jsonl --out out --concurrency 60 --seed 9 --poll-mode get");
	assert_int_equal(c.lists, 0);
	assert_true(c.polls >= ITEMS);
}

static void test_poll_mode_is_checked(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct e2e_run r = e2e_florabatch(dir, "run m.jsonl --poll-mode sometimes");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--poll-mode"));
	e2e_run_free(&r);
	r = e2e_florabatch(dir, "run --help");
	assert_non_null(strstr(r.out, "--poll-mode list|get"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_list_polling_by_default, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_get_mode_polls_each_run, e2e_world_teardown),
	    cmocka_unit_test(test_poll_mode_is_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
