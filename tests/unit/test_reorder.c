/*
 * reorder: lines leave in their items' order through a bounded window;
 * passed items and items that never end do not hold the rest forever.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reorder.h"

#include <stdio.h>
#include <string.h>

struct sink {
	char out[4096];
	int fail_at; /* the emit number that fails, or 0 */
	int n;
};

static int emit(void *ud, const char *line, size_t len)
{
	struct sink *k = ud;
	if (++k->n == k->fail_at)
		return FB_EIO;
	strncat(k->out, line, len);
	return 0;
}

static void put(struct fb_reorder *o, uint64_t seq)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%llu ", (unsigned long long)seq);
	assert_int_equal(fb_reorder_put(o, seq, line, (size_t)n), 0);
}

static void test_in_order_through_the_window(void **state)
{
	(void)state;
	struct sink k = {0};
	struct fb_reorder *o;
	assert_int_equal(fb_reorder_new(&o, 4, emit, &k), 0);
	assert_true(fb_reorder_room(o, 4));
	assert_false(fb_reorder_room(o, 5)); /* the window: 1..4 */
	put(o, 3);
	put(o, 2);
	assert_string_equal(k.out, "");
	assert_int_equal(fb_reorder_held(o), 2);
	put(o, 1);
	assert_string_equal(k.out, "1 2 3 ");
	assert_true(fb_reorder_room(o, 7));
	assert_false(fb_reorder_room(o, 8));
	assert_int_equal(fb_reorder_put(o, 9, "x", 1), FB_ESTATE); /* past the window */
	put(o, 5);
	assert_int_equal(fb_reorder_put(o, 5, "5", 1), FB_ESTATE); /* a second line */
	assert_int_equal(fb_reorder_put(o, 4, NULL, 0), 0);	   /* passed over */
	assert_string_equal(k.out, "1 2 3 5 ");
	assert_int_equal(fb_reorder_held(o), 0);
	fb_reorder_free(o);
}

static void test_drain_skips_items_that_never_ended(void **state)
{
	(void)state;
	struct sink k = {0};
	struct fb_reorder *o;
	assert_int_equal(fb_reorder_new(&o, 8, emit, &k), 0);
	put(o, 2);
	put(o, 5);
	put(o, 4);
	assert_string_equal(k.out, "");
	assert_int_equal(fb_reorder_drain(o), 0);
	assert_string_equal(k.out, "2 4 5 ");
	fb_reorder_free(o);
}

static void test_emit_error_is_returned_and_lines_stay(void **state)
{
	(void)state;
	struct sink k = {.fail_at = 2};
	struct fb_reorder *o;
	assert_int_equal(fb_reorder_new(&o, 4, emit, &k), 0);
	put(o, 2);
	assert_int_equal(fb_reorder_put(o, 1, "1 ", 2), FB_EIO);
	assert_string_equal(k.out, "1 ");
	assert_int_equal(fb_reorder_held(o), 1);
	fb_reorder_free(o); /* frees what it still holds (ASan checks) */
}

static void test_long_stream_stays_bounded(void **state)
{
	(void)state;
	struct sink k = {0};
	struct fb_reorder *o;
	assert_int_equal(fb_reorder_new(&o, 16, emit, &k), 0);
	/* Pairs swapped all the way: never more than one line held. */
	for (uint64_t s = 1; s < 100000; s += 2) {
		char a[8] = "", b[8] = "";
		assert_int_equal(fb_reorder_put(o, s + 1, b, 0), 0);
		assert_int_equal(fb_reorder_held(o), 1);
		assert_int_equal(fb_reorder_put(o, s, a, 0), 0);
		assert_int_equal(fb_reorder_held(o), 0);
	}
	assert_int_equal(k.n, 100000);
	fb_reorder_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order_through_the_window),
	    cmocka_unit_test(test_drain_skips_items_that_never_ended),
	    cmocka_unit_test(test_emit_error_is_returned_and_lines_stay),
	    cmocka_unit_test(test_long_stream_stays_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
