/* sha256: the FIPS 180-2 vectors, streamed in awkward chunk sizes, and reuse after reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "sha256.h"

#include <string.h>

static const char *const empty_hex =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *const abc_hex =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const million_a_hex =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void test_one_shot_vectors(void **state)
{
	(void)state;
	char hex[FB_SHA256_HEX_LEN + 1];
	assert_int_equal(fb_sha256_hex("", 0, hex), 0);
	assert_string_equal(hex, empty_hex);
	assert_int_equal(fb_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, abc_hex);
	assert_int_equal(strlen(hex), FB_SHA256_HEX_LEN);
}

static void test_million_a_in_odd_chunks(void **state)
{
	(void)state;
	static char chunk[4099];
	memset(chunk, 'a', sizeof(chunk));
	/* Sizes that straddle the 64-byte block boundary in every way. */
	static const size_t sizes[] = {1, 63, 64, 65, 127, 4099, 7, 1000, 3};
	struct fb_sha256 *h = fb_sha256_new();
	assert_non_null(h);
	size_t left = 1000000, i = 0;
	while (left > 0) {
		size_t n = sizes[i++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (n > left)
			n = left;
		assert_int_equal(fb_sha256_update(h, chunk, n), 0);
		left -= n;
	}
	char hex[FB_SHA256_HEX_LEN + 1];
	assert_int_equal(fb_sha256_final_hex(h, hex), 0);
	assert_string_equal(hex, million_a_hex);
	fb_sha256_free(h);
}

static void test_reset_reuses_context(void **state)
{
	(void)state;
	char hex[FB_SHA256_HEX_LEN + 1];
	struct fb_sha256 *h = fb_sha256_new();
	assert_non_null(h);
	assert_int_equal(fb_sha256_update(h, "ab", 2), 0);
	assert_int_equal(fb_sha256_update(h, "c", 1), 0);
	assert_int_equal(fb_sha256_final_hex(h, hex), 0);
	assert_string_equal(hex, abc_hex);

	/* Without a reset the finished context refuses more work. */
	assert_int_equal(fb_sha256_update(h, "x", 1), FB_ESTATE);
	assert_int_equal(fb_sha256_final_hex(h, hex), FB_ESTATE);

	assert_int_equal(fb_sha256_reset(h), 0);
	assert_int_equal(fb_sha256_update(h, NULL, 0), 0);
	assert_int_equal(fb_sha256_final_hex(h, hex), 0);
	assert_string_equal(hex, empty_hex);

	/* A reset in the middle of a stream forgets what came before. */
	assert_int_equal(fb_sha256_reset(h), 0);
	assert_int_equal(fb_sha256_update(h, "zzz", 3), 0);
	assert_int_equal(fb_sha256_reset(h), 0);
	assert_int_equal(fb_sha256_update(h, "abc", 3), 0);
	assert_int_equal(fb_sha256_final_hex(h, hex), 0);
	assert_string_equal(hex, abc_hex);
	fb_sha256_free(h);
	fb_sha256_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_shot_vectors),
	    cmocka_unit_test(test_million_a_in_odd_chunks),
	    cmocka_unit_test(test_reset_reuses_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
