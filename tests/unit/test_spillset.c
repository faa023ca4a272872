/* spillset: the same answers in memory and once spilled to a file, and a failed spill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "spillset.h"
#include "testutil.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t h(uint64_t i)
{
	/* Never 0; clustered low bits, so probing crosses blocks. */
	return (i + 1) * 0x9e3779b97f4a7c15ull | 1;
}

static void test_spills_and_answers_the_same(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct fb_spillset s;
	const uint64_t n = 3 * FB_SPILLSET_MEM_SLOTS;
	assert_int_equal(fb_spillset_init(&s, dir), 0);
	for (uint64_t i = 0; i < n; i++) {
		if (i == FB_SPILLSET_MEM_SLOTS / 4)
			assert_false(fb_spillset_spilled(&s));
		assert_int_equal(fb_spillset_add(&s, h(i)), 1);
		if (i % 5 == 0)
			assert_int_equal(fb_spillset_add(&s, h(i)), 0);
	}
	assert_true(fb_spillset_spilled(&s));
	assert_int_equal(s.len, n);
	for (uint64_t i = 0; i < n; i++)
		if (fb_spillset_has(&s, h(i)) != 1)
			fail_msg("lost entry %llu", (unsigned long long)i);
	for (uint64_t i = n; i < n + 1000; i++)
		assert_int_equal(fb_spillset_has(&s, h(i)), 0);
	/* The table is an unlinked file: nothing is left in the folder. */
	char *probe = tu_path(dir, "probe");
	free(probe);
	fb_spillset_release(&s);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

static void test_spill_fails_cleanly(void **state)
{
	(void)state;
	struct fb_spillset s;
	assert_int_equal(fb_spillset_init(&s, "/nonexistent/dir"), 0);
	int rc = 0;
	uint64_t i = 0;
	while ((rc = fb_spillset_add(&s, h(i))) == 1)
		i++;
	assert_int_equal(rc, FB_EIO);
	assert_false(fb_spillset_spilled(&s));
	/* What it held before is still there. */
	for (uint64_t k = 0; k < i; k++)
		assert_int_equal(fb_spillset_has(&s, h(k)), 1);
	fb_spillset_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spills_and_answers_the_same),
	    cmocka_unit_test(test_spill_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
