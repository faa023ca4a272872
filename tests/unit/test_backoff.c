/* backoff: full-jitter bounds and spread, no overflow, seeded determinism, Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

#include <limits.h>

#define DRAWS 20000

static uint64_t ceiling(uint64_t base, uint64_t cap, unsigned attempt)
{
	uint64_t c = base;
	for (unsigned i = 1; i < attempt && c < cap; i++)
		c = c > UINT64_MAX / 2 ? UINT64_MAX : c * 2;
	return c < cap ? c : cap;
}

/* Every attempt 1..64: never above the ceiling, mean near half of it, the top reached. */
static void test_bounds_and_mean(void **s)
{
	(void)s;
	uint64_t rng = 7;
	for (unsigned a = 1; a <= 64; a++) {
		uint64_t c = ceiling(500, 30000, a);
		double sum = 0;
		uint64_t max = 0, min = UINT64_MAX;
		for (int i = 0; i < DRAWS; i++) {
			uint64_t d = fb_backoff_ms(500, 30000, a, &rng);
			assert_true(d <= c);
			sum += (double)d;
			max = d > max ? d : max;
			min = d < min ? d : min;
		}
		double mean = sum / DRAWS;
		assert_true(mean > 0.47 * (double)c && mean < 0.53 * (double)c);
		assert_true(max >= c - c / 50); /* full jitter: the whole range, not a band */
		assert_true(min <= c / 50);
	}
	/* Both ends are drawn: [0, 3] is four values. */
	int seen[5] = {0};
	for (int i = 0; i < 4000; i++)
		seen[fb_backoff_ms(3, 100, 1, &rng)]++;
	for (int v = 0; v < 4; v++)
		assert_true(seen[v] > 800 && seen[v] < 1200);
	/* The cap is the ceiling from attempt 7 on (500 * 64 > 30000). */
	assert_int_equal(ceiling(500, 30000, 6), 16000);
	assert_int_equal(ceiling(500, 30000, 7), 30000);
}

/* A huge base or attempt number must saturate at the cap, never wrap to a small ceiling. */
static void test_no_overflow(void **s)
{
	(void)s;
	uint64_t rng = 99;
	uint64_t big = 1ULL << 62;
	unsigned attempts[] = {2, 3, 63, 64, 65, 200, UINT_MAX};
	int above_half = 0;
	for (size_t k = 0; k < sizeof(attempts) / sizeof(attempts[0]); k++) {
		for (int i = 0; i < 2000; i++) {
			uint64_t d = fb_backoff_ms(big, UINT64_MAX, attempts[k], &rng);
			if (attempts[k] == 2)
				assert_true(d <= 2 * big);
			if (attempts[k] >= 3 && d > 2 * big)
				above_half++;
		}
	}
	/* From attempt 3 the ceiling is UINT64_MAX: about half the draws land above 2^63. */
	assert_true(above_half > 5000 && above_half < 7000);
	for (int i = 0; i < 1000; i++) {
		assert_true(fb_backoff_ms(30000, 30000, UINT_MAX, &rng) <= 30000);
		assert_true(fb_backoff_ms(1000, 200, 1, &rng) <= 200); /* base above the cap */
		assert_int_equal(fb_backoff_ms(0, 30000, UINT_MAX, &rng), 0);
		assert_true(fb_backoff_ms(500, 30000, 0, &rng) <= 500); /* attempt 0 as 1 */
	}
}

static void test_seeded(void **s)
{
	(void)s;
	uint64_t a = 12345, b = 12345, c = 54321;
	int differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = fb_backoff_ms(500, 30000, 5, &a);
		assert_int_equal(x, fb_backoff_ms(500, 30000, 5, &b));
		differ += x != fb_backoff_ms(500, 30000, 5, &c);
	}
	assert_true(differ > 900);

	/* A zero state is replaced, not stuck: draws vary and the state moves off 0. */
	uint64_t z = 0, z2 = 0;
	uint64_t first = fb_rand(&z, 1000000);
	assert_true(z != 0);
	int same = 0;
	for (int i = 0; i < 100; i++)
		same += fb_rand(&z, 1000000) == first;
	assert_true(same < 3);
	assert_int_equal(fb_rand(&z2, 1000000), first);

	/* n == 0 and n == 1 give 0; the range is honoured. */
	assert_int_equal(fb_rand(&z, 0), 0);
	assert_int_equal(fb_rand(&z, 1), 0);
	int hit[10] = {0};
	for (int i = 0; i < 10000; i++) {
		uint64_t v = fb_rand(&z, 10);
		assert_true(v < 10);
		hit[v]++;
	}
	for (int i = 0; i < 10; i++)
		assert_true(hit[i] > 850 && hit[i] < 1150);
}

static void test_after(void **s)
{
	(void)s;
	const uint64_t cap = FB_RETRY_AFTER_CAP_MS;
	assert_int_equal(fb_backoff_after(3000, -1, cap), 3000);     /* none given */
	assert_int_equal(fb_backoff_after(3000, 1000, cap), 3000);   /* shorter: the backoff */
	assert_int_equal(fb_backoff_after(3000, 10000, cap), 10000); /* longer: the server's */
	assert_int_equal(fb_backoff_after(3000, 0, cap), 3000);	     /* "now" never shortens */
	assert_int_equal(fb_backoff_after(0, 0, cap), 0);
	assert_int_equal(fb_backoff_after(3000, 500000, cap), 120000); /* capped */
	assert_int_equal(fb_backoff_after(3000, LONG_MAX, cap), 120000);
	/* The cap bounds the server's value, not a backoff the user allowed to be longer. */
	assert_int_equal(fb_backoff_after(200000, 500000, cap), 200000);
	assert_int_equal(fb_backoff_after(200000, -1, cap), 200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds_and_mean),
	    cmocka_unit_test(test_no_overflow),
	    cmocka_unit_test(test_seeded),
	    cmocka_unit_test(test_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
