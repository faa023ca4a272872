/* args: sizes and whole numbers refuse a sign, also after leading blanks (found by fuzzing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"

static void test_size_refuses_sign_after_blanks(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(fb_args_size("t", "--max", "\t\t-1", &v), -1);
	assert_int_equal(fb_args_size("t", "--max", " -1k", &v), -1);
	assert_int_equal(v, 7);
	assert_int_equal(fb_args_size("t", "--max", "64k", &v), 0);
	assert_int_equal(v, 65536);
}

static void test_uint_refuses_sign_after_blanks(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(fb_args_uint("t", "--jobs", " -1", 1, UINT64_MAX, &v), -1);
	assert_int_equal(fb_args_uint("t", "--jobs", "\t+1", 1, UINT64_MAX, &v), -1);
	assert_int_equal(v, 7);
	assert_int_equal(fb_args_uint("t", "--jobs", "12", 1, UINT64_MAX, &v), 0);
	assert_int_equal(v, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size_refuses_sign_after_blanks),
	    cmocka_unit_test(test_uint_refuses_sign_after_blanks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
