/* timers: earliest first, ties in insertion order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "timers.h"

#include <stdlib.h>

static void test_order(void **s)
{
	(void)s;
	struct fb_timers t = FB_TIMERS_INIT;
	int tags[1000];
	uint64_t seed = 42;
	for (int i = 0; i < 1000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		tags[i] = i;
		assert_int_equal(fb_timers_add(&t, (seed >> 33) % 50, &tags[i], (uint64_t)i), 0);
	}
	struct fb_timer prev = {0, 0, NULL, 0}, cur;
	int n = 0;
	while (fb_timers_pop(&t, &cur)) {
		if (n)
			assert_true(prev.due_ms < cur.due_ms ||
				    (prev.due_ms == cur.due_ms && prev.seq < cur.seq));
		prev = cur;
		n++;
	}
	assert_int_equal(n, 1000);
	assert_null(fb_timers_peek(&t));
	fb_timers_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_order)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
