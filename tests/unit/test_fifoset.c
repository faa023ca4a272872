/*
 * fifoset: the last `window` hashes added are members, exactly, and older
 * ones are not; growing keeps the members and their order of leaving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fifoset.h"

/* Hashes that crowd a few home slots, so removal has clusters to mend. */
static uint64_t h_of(uint64_t i)
{
	return (i % 7) * 1024 + i * 65536 + (i & 1);
}

static void test_last_window_exactly(void **s)
{
	(void)s;
	struct fb_fifoset f = FB_FIFOSET_INIT;
	assert_false(fb_fifoset_has(&f, 5));
	assert_int_equal(fb_fifoset_grow(&f, 1000), 0); /* 1024 */
	for (uint64_t i = 0; i < 20000; i++) {
		assert_int_equal(fb_fifoset_add(&f, h_of(i)), 0);
		if (i % 997)
			continue;
		for (uint64_t j = i > 3000 ? i - 3000 : 0; j <= i; j++)
			assert_int_equal(fb_fifoset_has(&f, h_of(j)), j + 1024 > i);
	}
	fb_fifoset_release(&f);
}

static void test_zero_and_repeats(void **s)
{
	(void)s;
	struct fb_fifoset f = FB_FIFOSET_INIT;
	assert_int_equal(fb_fifoset_add(&f, 0), 0); /* grows by itself */
	assert_true(fb_fifoset_has(&f, 0));
	assert_int_equal(fb_fifoset_grow(&f, 4), 0);
	assert_true(fb_fifoset_has(&f, 0));
	/* A repeat takes no second place, so it cannot leave twice. */
	assert_int_equal(fb_fifoset_add(&f, 9), 0);
	assert_int_equal(fb_fifoset_add(&f, 9), 0);
	assert_int_equal(fb_fifoset_add(&f, 10), 0);
	assert_int_equal(fb_fifoset_add(&f, 11), 0);
	assert_true(fb_fifoset_has(&f, 0) && fb_fifoset_has(&f, 9));
	assert_int_equal(fb_fifoset_add(&f, 12), 0); /* 0 leaves */
	assert_false(fb_fifoset_has(&f, 0));
	assert_true(fb_fifoset_has(&f, 9) && fb_fifoset_has(&f, 12));
	fb_fifoset_release(&f);
}

static void test_grow_keeps_order(void **s)
{
	(void)s;
	struct fb_fifoset f = FB_FIFOSET_INIT;
	assert_int_equal(fb_fifoset_grow(&f, 8), 0);
	for (uint64_t i = 1; i <= 13; i++) /* wrapped: 6..13 held, oldest at the ring's middle */
		fb_fifoset_add(&f, h_of(i));
	assert_int_equal(fb_fifoset_grow(&f, 16), 0);
	assert_int_equal(fb_fifoset_grow(&f, 10), 0); /* never shrinks */
	for (uint64_t i = 1; i <= 13; i++)
		assert_int_equal(fb_fifoset_has(&f, h_of(i)), i >= 6);
	for (uint64_t i = 14; i <= 21; i++)
		fb_fifoset_add(&f, h_of(i));
	for (uint64_t i = 1; i <= 21; i++)
		assert_int_equal(fb_fifoset_has(&f, h_of(i)), i >= 6);
	fb_fifoset_add(&f, h_of(22)); /* the oldest before growing leaves first */
	assert_false(fb_fifoset_has(&f, h_of(6)));
	assert_true(fb_fifoset_has(&f, h_of(7)));
	fb_fifoset_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_window_exactly),
	    cmocka_unit_test(test_zero_and_repeats),
	    cmocka_unit_test(test_grow_keeps_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
