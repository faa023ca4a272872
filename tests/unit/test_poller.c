/*
 * poller: batch polling through the list endpoints, driven by the driver
 * over the in-process simulator on a virtual clock (pollfx.h).
 */
#include "pollfx.h"

static void test_many_runs_few_lists(void **s)
{
	(void)s;
	struct world w = {.run_ms = 30000, .concurrency = 200};
	char *m = manifest(600, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, 600);
	assert_int_equal(o.tap.creates, 600);
	/*
	 * Three waves of 200 runs, no run polled on its own, and at most one
	 * list page for ten runs (the budget is a quarter of a page a run: what
	 * is not needed to find runs is spent on finding them sooner).
	 */
	assert_true(o.tap.lists > 0);
	print_message("lists %u, elapsed %llu\n", o.tap.lists,
		      (unsigned long long)o.sum.elapsed_ms);
	assert_true(o.tap.lists <= 60);
	assert_int_equal(o.tap.gets, 0);
	assert_int_equal(o.st.lists, o.tap.lists);
	assert_int_equal(o.st.polls, 0);
	assert_true(o.st.requests - o.st.fetches <= 600 + 60);
	free(m);
}

static void test_pages_follow_the_cursor(void **s)
{
	(void)s;
	/* 250 runs due at once: the newest 100 completed, the next 100, then 50. */
	struct world w = {.run_ms = 5000, .concurrency = 250};
	char *m = manifest(250, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.sum.completed, 250);
	assert_int_equal(o.tap.gets, 0);
	assert_true(o.tap.lists >= 3);
	assert_true(o.tap.lists <= 12); /* with the sweeps before the first runs end */
	free(m);
}

static void test_runs_missing_from_pages_fall_back(void **s)
{
	(void)s;
	struct world w = {.mode = LISTS_THIN, .run_ms = 10000, .concurrency = 100};
	char *m = manifest(100, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, 100);
	assert_true(o.tap.lists > 0);
	/* The runs no page showed polled themselves; the others did not. */
	assert_true(o.tap.gets >= 40);
	assert_true(o.tap.gets < 100);
	free(m);
}

static void test_failing_lists_never_fail_an_item(void **s)
{
	(void)s;
	for (int mode = LISTS_503; mode <= LISTS_429; mode++) {
		struct world w = {.mode = (enum list_mode)mode, .run_ms = 10000, .concurrency = 50};
		char *m = manifest(50, 0);
		struct outcome o = run(&w, m);
		assert_int_equal(o.rc, 0);
		assert_int_equal(o.sum.completed, 50);
		assert_int_equal(o.sum.failed, 0);
		assert_true(o.tap.lists > 0);
		assert_true(o.tap.gets >= 50);
		if (mode == LISTS_429)
			assert_true(o.sum.throttled_ms > 0); /* the client-wide pause */
		free(m);
	}
}

static void test_mixed_techniques_and_generations(void **s)
{
	(void)s;
	struct world w = {.run_ms = 20000, .concurrency = 120};
	char *m = manifest(60, 60);
	struct outcome o = run(&w, m);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, 120);
	assert_true(o.tap.tech_lists > 0);
	assert_true(o.tap.gen_lists > 0);
	assert_int_equal(o.tap.gets, 0);
	free(m);
}

static void test_failed_runs_are_found_too(void **s)
{
	(void)s;
	struct world w = {.run_ms = 10000, .fail_rate = 0.3, .concurrency = 100};
	char *m = manifest(100, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.sum.completed + o.sum.failed, 100);
	assert_true(o.sum.failed > 10);
	/* The sweep of failed runs answered them: none needed a GET of its own. */
	assert_int_equal(o.tap.gets, 0);
	assert_true(o.tap.lists >= 2);
	free(m);
}

static void test_get_mode_polls_each_run(void **s)
{
	(void)s;
	struct world w = {.poll_mode = FB_POLL_GET,
			  .run_ms = 10000,
			  .concurrency = 100,
			  .poll_interval_ms = 2000};
	char *m = manifest(100, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.sum.completed, 100);
	assert_int_equal(o.tap.lists, 0);
	/* A fixed 2 s poller: about five GETs per run of 10 s. */
	assert_true(o.tap.gets >= 400);
	assert_int_equal(o.st.polls, o.tap.gets);
	free(m);
}

static void test_few_runs_poll_themselves(void **s)
{
	(void)s;
	struct world w = {.run_ms = 10000, .concurrency = 3};
	char *m = manifest(3, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.sum.completed, 3);
	assert_int_equal(o.tap.lists, 0);
	/* The first check within the contract's 5 s whatever the estimate, then the pace. */
	assert_in_range(o.tap.gets, 3, 12);
	free(m);
}

static void test_run_timeout_leaves_nothing_watched(void **s)
{
	(void)s;
	/* Checks land on the deadline; the runs fail "timeout" and nothing stays behind. */
	struct world w = {.run_ms = 60000, .concurrency = 20, .run_timeout_ms = 5000};
	char *m = manifest(20, 0);
	struct outcome o = run(&w, m);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.failed, 20);
	assert_true(o.sum.elapsed_ms < 10000);
	free(m);
}

/*
 * Shards of one workspace (or any other client of it) fill half of each
 * page: the batch must read twice as deep and still find its runs there,
 * not leave the ones that fell off its pages to a GET of their own.
 */
static int shared(uint64_t run_ms, double sigma, unsigned conc, unsigned items, enum est_mode est)
{
	struct world w = {.run_ms = run_ms, .sigma = sigma, .concurrency = conc, .est = est};
	char *m = manifest(items, 0);
	struct outcome alone = run(&w, m);
	w.mode = LISTS_SHARED;
	struct outcome o = run(&w, m);
	free(m);
	print_message("%u x %.1f s runs, %u in flight: alone %.1f s, %u lists, %u gets; "
		      "half of each page another's %.1f s, %u lists, %u gets\n",
		      items, (double)run_ms / 1000, conc, (double)alone.sum.elapsed_ms / 1000,
		      alone.tap.lists, alone.tap.gets, (double)o.sum.elapsed_ms / 1000, o.tap.lists,
		      o.tap.gets);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, items);
	/* Twice the pages for the same runs, at most three times (the share is learned). */
	return o.tap.gets <= alone.tap.gets + items / 50 &&
	       o.sum.elapsed_ms <= alone.sum.elapsed_ms * 5 / 4 + 500 &&
	       o.tap.lists <= 3 * alone.tap.lists + 10;
}

static void test_pages_shared_with_another_client(void **s)
{
	(void)s;
	int ok = shared(200, 0.5, 50, 300, EST_NONE);
	ok &= shared(2000, 0.5, 500, 3000, EST_NONE);
	ok &= shared(1000, 0.5, 200, 2000, EST_KEEP);
	assert_true(ok);
}

/*
 * 400 runs in flight held by a rate of 50 requests a second: each job
 * refused waits in line for a token of its own. Woken all together for
 * each next token instead, they joined the line about 200 times a request.
 */
static void test_jobs_wait_in_line_for_the_rate(void **s)
{
	(void)s;
	struct world w = {.run_ms = 1000, .concurrency = 400, .rate = 50};
	char *m = manifest(600, 0);
	struct outcome o = run(&w, m);
	unsigned requests = o.tap.creates + o.tap.gets + o.tap.lists;
	print_message("%u API requests (and %u downloads) in %.1f s, %llu waits in line\n",
		      requests, (unsigned)o.st.fetches, (double)o.sum.elapsed_ms / 1000,
		      (unsigned long long)o.sum.gate_waits);
	assert_int_equal(o.sum.completed, 600);
	assert_true(o.sum.gate_waits > 0);
	assert_true(o.sum.gate_waits <= 2 * (uint64_t)requests);
	/* And the rate holds (downloads are elsewhere): a burst of 50, then 50 a second. */
	assert_true((double)requests <= 50 + 50.0 * (double)o.sum.elapsed_ms / 1000);
	free(m);
}

/*
 * The first 32 runs never show on a page: they all come back to their own
 * GETs at once and win them in a row, while the pages answer every other
 * run. That is lag, not blind lists: the lists stay on. Given up on the
 * fourth win, as they were, the other 568 runs polled themselves.
 */
static void test_a_burst_of_misses_keeps_the_lists(void **s)
{
	(void)s;
	struct world w = {.run_ms = 1000, .concurrency = 100, .mode = LISTS_MISS_FIRST};
	char *m = manifest(600, 0);
	struct outcome o = run(&w, m);
	print_message("first 32 runs missing from the pages: %u lists, %u gets\n", o.tap.lists,
		      o.tap.gets);
	assert_int_equal(o.sum.completed, 600);
	assert_true(o.tap.gets >= 32);
	assert_true(o.tap.gets <= 32 + 60);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_runs_few_lists),
	    cmocka_unit_test(test_pages_follow_the_cursor),
	    cmocka_unit_test(test_runs_missing_from_pages_fall_back),
	    cmocka_unit_test(test_failing_lists_never_fail_an_item),
	    cmocka_unit_test(test_mixed_techniques_and_generations),
	    cmocka_unit_test(test_failed_runs_are_found_too),
	    cmocka_unit_test(test_get_mode_polls_each_run),
	    cmocka_unit_test(test_few_runs_poll_themselves),
	    cmocka_unit_test(test_run_timeout_leaves_nothing_watched),
	    cmocka_unit_test(test_pages_shared_with_another_client),
	    cmocka_unit_test(test_jobs_wait_in_line_for_the_rate),
	    cmocka_unit_test(test_a_burst_of_misses_keeps_the_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
