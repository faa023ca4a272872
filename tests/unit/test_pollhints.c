/*
 * poller: what polling costs when the create answer's estimate is absent
 * (the contract's nested create has none), wrong, or absurd, and when the
 * lists never show the batch's runs. A plain client that polls every run
 * every 2 s is the bar: these batches must finish sooner than it could,
 * with fewer requests. Virtual clock, in-process simulator (pollfx.h).
 */
#include "pollfx.h"

/* API requests per completed run: creates, GETs and list pages. */
static double per_run(const struct outcome *o)
{
	return (double)(o->tap.creates + o->tap.gets + o->tap.lists) / (double)o->sum.completed;
}

static void report(const char *what, const struct outcome *o)
{
	print_message("%s: %.1f s, %u lists, %u gets, %.2f requests per run\n", what,
		      (double)o->sum.elapsed_ms / 1000.0, o->tap.lists, o->tap.gets, per_run(o));
}

static void test_no_estimate_sweeps_from_the_start(void **s)
{
	(void)s;
	/* Six rounds of 1 s runs: a 2 s poller needs 12 s at the least. */
	struct world w = {.run_ms = 1000, .concurrency = 50, .est = EST_NONE};
	char *m = manifest(300, 0);
	struct outcome o = run(&w, m);
	report("no estimate, 1 s, 50 in flight", &o);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, 300);
	assert_true(o.sum.elapsed_ms < 9000);
	assert_true(per_run(&o) <= 1.2);
	free(m);
}

static void test_no_estimate_long_runs_cost_little(void **s)
{
	(void)s;
	/* Runs of 10-30 s: a 2 s poller sends about ten GETs a run. */
	struct world w = {.run_ms = 20000, .jitter = 0.5, .concurrency = 50, .est = EST_NONE};
	char *m = manifest(200, 0);
	struct outcome o = run(&w, m);
	report("no estimate, 20 s +-50%, 50 in flight", &o);
	assert_int_equal(o.sum.completed, 200);
	assert_true(per_run(&o) <= 1.5);
	/* Four rounds of at most 30 s, and each run noticed within about a second. */
	assert_true(o.sum.elapsed_ms < 4 * 31000);
	free(m);
}

static void test_no_estimate_many_in_flight(void **s)
{
	(void)s;
	struct world w = {.run_ms = 1000, .concurrency = 1000, .est = EST_NONE};
	char *m = manifest(3000, 0);
	struct outcome o = run(&w, m);
	report("no estimate, 1 s, 1000 in flight", &o);
	assert_int_equal(o.sum.completed, 3000);
	assert_true(per_run(&o) <= 1.2);
	assert_true(o.sum.elapsed_ms < 6000);
	free(m);
}

static void test_estimate_three_times_too_high(void **s)
{
	(void)s;
	/* The estimate says 3 s for runs of 1 s: finished runs show it, and it stops counting. */
	struct world w = {.run_ms = 1000, .concurrency = 50, .est = EST_TIMES3};
	char *m = manifest(300, 0);
	struct outcome o = run(&w, m);
	report("estimate x3, 1 s, 50 in flight", &o);
	assert_int_equal(o.sum.completed, 300);
	assert_true(o.sum.elapsed_ms < 10000);
	assert_true(per_run(&o) <= 1.2);
	free(m);
}

static void test_absurd_estimate_does_not_stall(void **s)
{
	(void)s;
	/* Thirty days for a run of one second: the lists show it finished, so it is. */
	struct world w = {.run_ms = 1000, .concurrency = 20, .est = EST_HUGE};
	char *m = manifest(100, 0);
	struct outcome o = run(&w, m);
	report("estimate 30 days, 1 s, 20 in flight", &o);
	assert_int_equal(o.sum.completed, 100);
	assert_true(o.sum.elapsed_ms < 60000);
	free(m);
}

static void test_blind_lists_give_way_to_gets(void **s)
{
	(void)s;
	/* Lists that never show a run: GETs find them, then the lists are given up. */
	struct world w = {.run_ms = 1000, .concurrency = 20, .est = EST_NONE, .mode = LISTS_BLIND};
	char *m = manifest(100, 0);
	struct outcome o = run(&w, m);
	report("blind lists", &o);
	assert_int_equal(o.sum.completed, 100);
	assert_true(o.tap.gets >= 100);
	assert_true(o.tap.lists < 100);
	assert_true(o.sum.elapsed_ms < 40000);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_estimate_sweeps_from_the_start),
	    cmocka_unit_test(test_no_estimate_long_runs_cost_little),
	    cmocka_unit_test(test_no_estimate_many_in_flight),
	    cmocka_unit_test(test_estimate_three_times_too_high),
	    cmocka_unit_test(test_absurd_estimate_does_not_stall),
	    cmocka_unit_test(test_blind_lists_give_way_to_gets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
