/* ratelimit: the bucket's bound and exact waits, 429 pauses, AIMD, all on plain-number time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"
#include "error.h"
#include "ratelimit.h"

#include <math.h>

static struct fb_ratelimit *mk(double rate, unsigned burst, double min_rate, uint64_t now)
{
	struct fb_ratelimit_config c = {rate, burst, min_rate};
	struct fb_ratelimit *rl;
	assert_int_equal(fb_ratelimit_new(&rl, &c, now), 0);
	return rl;
}

static void assert_rate(const struct fb_ratelimit *rl, uint64_t now, double want)
{
	double got = fb_ratelimit_effective_rate(rl, now);
	if (fabs(got - want) > 1e-9)
		fail_msg("rate at %llu: %g, want %g", (unsigned long long)now, got, want);
}

/* Every wait is the exact ms after which the take succeeds: one ms earlier it does not. */
static void assert_exact_wait(struct fb_ratelimit *rl, uint64_t now, uint64_t want)
{
	assert_int_equal(fb_ratelimit_wait(rl, now), want);
	assert_int_equal(fb_ratelimit_take(rl, now), want);
	if (want > 1)
		assert_int_equal(fb_ratelimit_wait(rl, now + want - 1), 1);
	assert_int_equal(fb_ratelimit_take(rl, now + want), 0);
}

static void test_refill_and_burst(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(10, 5, 0, 1000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fb_ratelimit_take(rl, 1000), 0);
	assert_exact_wait(rl, 1000, 100);
	assert_int_equal(fb_ratelimit_take(rl, 1130), 70); /* 0.3 token accrued */
	/* A long idle fills the bucket to the burst, no further. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(fb_ratelimit_take(rl, 60000), 0);
	assert_int_equal(fb_ratelimit_take(rl, 60000), 100);
	fb_ratelimit_free(rl);

	rl = mk(3, 0, 0, 0); /* default burst: ceil(3) */
	for (int i = 0; i < 3; i++)
		assert_int_equal(fb_ratelimit_take(rl, 0), 0);
	assert_exact_wait(rl, 0, 334);
	fb_ratelimit_free(rl);

	rl = mk(0.5, 0, 0, 0); /* a rate below one a second: a bucket of one */
	assert_int_equal(fb_ratelimit_take(rl, 0), 0);
	assert_exact_wait(rl, 0, 2000);
	assert_int_equal(fb_ratelimit_take(rl, 10000), 0);
	assert_int_equal(fb_ratelimit_take(rl, 10000), 2000);
	fb_ratelimit_free(rl);

	rl = mk(0, 0, 0, 0); /* no rate, no 429: never waits */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(fb_ratelimit_take(rl, 5), 0);
	assert_rate(rl, 5, 0);
	fb_ratelimit_free(rl);
}

/* Random arrivals over a long run: never more than rate*T + burst in any window T. */
static void test_bound_random(void **s)
{
	(void)s;
	const double rate = 7.5;
	const unsigned burst = 4;
	struct fb_ratelimit *rl = mk(rate, burst, 0, 0);
	static uint64_t at[4000];
	size_t n = 0;
	uint64_t rng = 2024, t = 0;
	while (n < 4000 && t < 2000000) {
		t += fb_rand(&rng, 300);
		for (uint64_t k = fb_rand(&rng, 4); k > 0 && n < 4000; k--)
			if (fb_ratelimit_take(rl, t) == 0)
				at[n++] = t;
	}
	assert_true(n > 1000);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			assert_true((double)(j - i + 1) <=
				    rate * (double)(at[j] - at[i]) / 1000.0 + burst + 1e-9);
	fb_ratelimit_free(rl);

	/* A greedy client that waits exactly as told gets the whole allowance, no more. */
	rl = mk(rate, burst, 0, 0);
	unsigned got = 0;
	for (t = 0; t <= 100000;) {
		uint64_t w = fb_ratelimit_take(rl, t);
		if (w == 0)
			got++;
		else if (w > 1)
			assert_int_equal(fb_ratelimit_wait(rl, t + w - 1), 1);
		t += w;
	}
	assert_int_equal(got, (unsigned)(rate * 100 + burst));
	fb_ratelimit_free(rl);
}

static void test_pause(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(10, 0, 0, 0);
	fb_ratelimit_throttled(rl, 1000, -1); /* none given: 5 s */
	assert_int_equal(fb_ratelimit_wait(rl, 1000), 5000);
	assert_int_equal(fb_ratelimit_take(rl, 3000), 3000);
	assert_exact_wait(rl, 3000, 3000);		    /* one token waits at the gate */
	assert_int_equal(fb_ratelimit_take(rl, 6000), 200); /* then the halved rate */
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 6000), 5000);

	fb_ratelimit_throttled(rl, 10000, 300000); /* capped at 120 s */
	assert_int_equal(fb_ratelimit_wait(rl, 10000), 120000);
	fb_ratelimit_throttled(rl, 20000, 1000); /* shorter: never shortens */
	assert_int_equal(fb_ratelimit_wait(rl, 20000), 110000);
	fb_ratelimit_throttled(rl, 100000, 100000); /* longer: extends */
	assert_int_equal(fb_ratelimit_wait(rl, 100000), 100000);
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 50000), 5000 + 40000);
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 300000), 5000 + 190000);
	assert_int_equal(fb_ratelimit_take(rl, 200000), 0);
	fb_ratelimit_throttled(rl, 250000, 0); /* a pause of 0 closes nothing */
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 300000), 195000);
	fb_ratelimit_free(rl);
}

static void test_storm_counts_once(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(10, 0, 0, 0);
	uint64_t rng = 5, gate = 6000;
	fb_ratelimit_throttled(rl, 1000, 5000);
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t t = 1000 + i * 40, ra = fb_rand(&rng, 5001);
		fb_ratelimit_throttled(rl, t, (long)ra);
		gate = t + ra > gate ? t + ra : gate;
	}
	assert_rate(rl, 5000, 5);
	assert_int_equal(fb_ratelimit_wait(rl, 5000), gate - 5000);
	assert_int_equal(fb_ratelimit_throttled_ms(rl, gate + 1), gate - 1000);
	fb_ratelimit_throttled(rl, gate + 10, 1000); /* after the window: a new decrease */
	assert_rate(rl, gate + 10, 2.5);
	fb_ratelimit_free(rl);

	/* Retry-After 0 closes no gate, but 429s within a second still count once. */
	rl = mk(8, 0, 0, 0);
	for (uint64_t t = 100; t < 1100; t += 10)
		fb_ratelimit_throttled(rl, t, 0);
	assert_rate(rl, 1099, 4);
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 5000), 0);
	fb_ratelimit_throttled(rl, 1100, 0);
	assert_rate(rl, 1100, 2);
	fb_ratelimit_free(rl);
}

static void test_aimd_configured(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(10, 0, 0.5, 0);
	const double want[] = {5, 2.5, 1.25, 0.625, 0.5};
	uint64_t t = 0;
	for (int i = 0; i < 5; i++) {
		fb_ratelimit_throttled(rl, t, 1000);
		t += 1000; /* the next 429 right as the gate opens: a new window */
		assert_rate(rl, t, want[i]);
	}
	/* Quiet from t: one rps more per full second, back to 10 and no further. */
	for (unsigned k = 0; k <= 12; k++) {
		assert_rate(rl, t + k * 1000, k < 10 ? 0.5 + k : 10);
		if (k < 10)
			assert_rate(rl, t + k * 1000 + 999, 0.5 + k);
	}
	/* A wait that spans a step: 0.25 token at 0.5 rps, the other 0.5 at 1.5 rps. */
	assert_int_equal(fb_ratelimit_take(rl, t), 0);
	assert_exact_wait(rl, t + 500, 500 + 334);
	/* Recovered: the configured burst is back. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(fb_ratelimit_take(rl, t + 100000), 0);
	assert_int_equal(fb_ratelimit_take(rl, t + 100000), 100);
	/* A 429 in the middle of recovery halves what the rate has reached. */
	fb_ratelimit_throttled(rl, t + 200000, 1000);
	fb_ratelimit_throttled(rl, t + 201000, 1000);
	assert_rate(rl, t + 202000, 2.5);
	assert_rate(rl, t + 204000, 4.5);
	fb_ratelimit_throttled(rl, t + 204000, 500);
	assert_rate(rl, t + 204500, 2.25);
	fb_ratelimit_free(rl);

	/* The default floor, 0.5 rps, and a floor never above the configured rate. */
	rl = mk(4, 0, 0, 0);
	for (t = 0; t < 10000; t += 1000)
		fb_ratelimit_throttled(rl, t, 1000);
	assert_rate(rl, t, 0.5);
	fb_ratelimit_free(rl);
	rl = mk(0.2, 0, 0, 0);
	fb_ratelimit_throttled(rl, 0, 1000);
	assert_rate(rl, 1000, 0.2);
	fb_ratelimit_free(rl);
}

static void test_unconfigured(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(0, 0, 0, 0);
	for (uint64_t t = 0; t < 5000; t += 50) /* 20 rps, unlimited */
		assert_int_equal(fb_ratelimit_take(rl, t), 0);
	assert_rate(rl, 4999, 0);
	fb_ratelimit_throttled(rl, 5000, -1);
	assert_rate(rl, 5000, 10); /* half of the 20 rps observed */
	assert_int_equal(fb_ratelimit_wait(rl, 5000), 5000);
	assert_int_equal(fb_ratelimit_take(rl, 10000), 0);
	assert_int_equal(fb_ratelimit_take(rl, 10000), 100);
	/* Step max(1, 20 / 10) = 2 a second; unlimited again at 2 * 20. */
	assert_rate(rl, 10999, 10);
	assert_rate(rl, 11000, 12);
	assert_rate(rl, 24999, 38);
	assert_rate(rl, 25000, 0);
	for (uint64_t t = 25000; t < 27000; t += 25) /* 40 rps */
		assert_int_equal(fb_ratelimit_take(rl, t), 0);
	/* Unlimited again: the next 429 measures anew. */
	fb_ratelimit_throttled(rl, 27000, 1000);
	assert_rate(rl, 27000, 20);
	/* Limited but recovering (step 4): a later 429 halves the current rate. */
	assert_rate(rl, 30000, 20 + 2 * 4);
	fb_ratelimit_throttled(rl, 30000, 1000);
	assert_rate(rl, 30000, 14);
	assert_int_equal(fb_ratelimit_throttled_ms(rl, 40000), 5000 + 1000 + 1000);
	fb_ratelimit_free(rl);

	/* A start-up burst counts over at least a second: 100 takes, 100 rps. */
	rl = mk(0, 0, 0, 0);
	for (uint64_t t = 0; t < 100; t++)
		assert_int_equal(fb_ratelimit_take(rl, t), 0);
	fb_ratelimit_throttled(rl, 500, 1000);
	assert_rate(rl, 500, 50);
	fb_ratelimit_free(rl);

	/* A 429 with no takes seen imposes the floor, lifted after one quiet second. */
	rl = mk(0, 0, 0, 0);
	fb_ratelimit_throttled(rl, 0, 1000);
	assert_rate(rl, 500, 0.5);
	assert_int_equal(fb_ratelimit_take(rl, 1000), 0);
	assert_int_equal(fb_ratelimit_take(rl, 1000), 1000); /* until the limit lifts */
	assert_rate(rl, 1999, 0.5);
	assert_rate(rl, 2000, 0);
	assert_int_equal(fb_ratelimit_take(rl, 2000), 0);
	fb_ratelimit_free(rl);
}

static void test_config(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = (struct fb_ratelimit *)&rl;
	struct fb_ratelimit_config bad[] = {{-1, 0, 0}, {NAN, 0, 0}, {INFINITY, 0, 0}, {1, 0, -1}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fb_ratelimit_new(&rl, &bad[i], 0), FB_EINVAL);
		assert_null(rl);
	}
	assert_int_equal(fb_ratelimit_new(&rl, NULL, 0), 0);
	assert_rate(rl, 0, 0);
	fb_ratelimit_free(rl);
	fb_ratelimit_free(NULL);
}

/* The n-th in line: the tokens in the bucket first, then one per 1/rate; a pause first of all. */
static void test_wait_in_line(void **s)
{
	(void)s;
	struct fb_ratelimit *rl = mk(10, 5, 0, 1000);
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 5), 0);
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 6), 100);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fb_ratelimit_take(rl, 1000), 0);
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 1), fb_ratelimit_wait(rl, 1000));
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 0), 100); /* 0 counts as 1 */
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 3), 300);
	/* Beyond the bucket's size: tokens go as they come, so none is capped away. */
	assert_int_equal(fb_ratelimit_wait_n(rl, 1000, 1000), 100000);
	/* Each in line asking when told gets its token. */
	for (uint64_t n = 1; n <= 20; n++)
		assert_int_equal(fb_ratelimit_take(rl, 1000 + fb_ratelimit_wait_n(rl, 1000, n)), 0);
	fb_ratelimit_free(rl);

	rl = mk(10, 1, 0, 0);
	fb_ratelimit_throttled(rl, 0, 2000); /* the gate closes for 2 s, the rate halves */
	assert_int_equal(fb_ratelimit_wait_n(rl, 0, 1), 2000);
	assert_true(fb_ratelimit_wait_n(rl, 0, 3) >= 2000 + 2 * 200 - 1);
	fb_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refill_and_burst),
	    cmocka_unit_test(test_bound_random),
	    cmocka_unit_test(test_pause),
	    cmocka_unit_test(test_storm_counts_once),
	    cmocka_unit_test(test_aimd_configured),
	    cmocka_unit_test(test_unconfigured),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_wait_in_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
