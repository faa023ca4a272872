/*
 * hashfiles: 200 files of random sizes (an empty one, one of 5 MB, more than
 * the read buffer) hash the same serially, on 4 threads and on the default
 * count, and equal a one-shot sha256 of the bytes; a missing file and a
 * folder fail on their own while the others are still hashed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "hashfiles.h"
#include "sha256.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFILES 200

struct fixture {
	char *dir;
	char *paths[NFILES];
	char hex[NFILES][FB_SHA256_HEX_LEN + 1];
	size_t sizes[NFILES];
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dir = tu_tmpdir();
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < NFILES; i++) {
		size_t n = (size_t)(next(&seed) % 70000);
		if (i == 0)
			n = 0;
		if (i == 100)
			n = 5 * 1024 * 1024 + 17; /* five buffers and a bit */
		unsigned char *data = malloc(n ? n : 1);
		for (size_t j = 0; j < n; j++)
			data[j] = (unsigned char)(next(&seed) >> 24);
		char name[32];
		snprintf(name, sizeof(name), "f%03d.bin", i);
		f->paths[i] = tu_write_file(f->dir, name, data, n);
		assert_int_equal(fb_sha256_hex(data, n, f->hex[i]), 0);
		f->sizes[i] = n;
		free(data);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tu_rmrf(f->dir);
	for (int i = 0; i < NFILES; i++)
		free(f->paths[i]);
	free(f->dir);
	free(f);
	return 0;
}

static void check_threads(struct fixture *f, int threads)
{
	struct fb_hashfile files[NFILES];
	memset(files, 0x5a, sizeof(files)); /* stale values must be overwritten */
	for (int i = 0; i < NFILES; i++)
		files[i].path = f->paths[i];
	struct fb_err err = {0};
	assert_int_equal(fb_hash_files(files, NFILES, threads, &err), 0);
	assert_int_equal(err.code, 0);
	for (int i = 0; i < NFILES; i++) {
		assert_int_equal(files[i].err, 0);
		assert_string_equal(files[i].sha256, f->hex[i]);
		assert_int_equal(files[i].bytes, f->sizes[i]);
	}
}

static void test_serial(void **state)
{
	check_threads(*state, 1);
}

static void test_four_threads(void **state)
{
	check_threads(*state, 4);
}

static void test_default_threads(void **state)
{
	check_threads(*state, 0);
}

static void test_failures_are_per_file(void **state)
{
	struct fixture *f = *state;
	char *missing = tu_path(f->dir, "missing.bin");
	struct fb_hashfile files[10];
	memset(files, 0, sizeof(files));
	for (int i = 0; i < 10; i++)
		files[i].path = f->paths[i];
	files[3].path = missing;
	files[7].path = f->dir; /* opens, then read fails: EISDIR */
	struct fb_err err = {0};
	assert_int_equal(fb_hash_files(files, 10, 0, &err), FB_EIO);
	assert_non_null(strstr(err.msg, "missing.bin"));
	assert_int_equal(files[3].err, ENOENT);
	assert_string_equal(files[3].sha256, "");
	assert_int_equal(files[7].err, EISDIR);
	assert_string_equal(files[7].sha256, "");
	for (int i = 0; i < 10; i++) {
		if (i == 3 || i == 7)
			continue;
		assert_int_equal(files[i].err, 0);
		assert_string_equal(files[i].sha256, f->hex[i]);
	}
	free(missing);
}

static void test_nothing_to_hash(void **state)
{
	(void)state;
	struct fb_err err = {0};
	assert_int_equal(fb_hash_files(NULL, 0, 0, &err), 0);
	struct fb_hashfile one = {"x", "", 0, 0};
	assert_int_equal(fb_hash_files(&one, 1, -1, &err), FB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial),	    cmocka_unit_test(test_four_threads),
	    cmocka_unit_test(test_default_threads), cmocka_unit_test(test_failures_are_per_file),
	    cmocka_unit_test(test_nothing_to_hash),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
