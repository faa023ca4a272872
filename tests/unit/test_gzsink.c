/*
 * gzsink: a stream with level changes (stored, fixed codes, default) reads
 * back as the same bytes with gzip, stored ranges cost no more than their
 * size, and the precompressed sniffing knows the usual formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "gzsink.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static unsigned char *gunzip(const char *path, size_t *len)
{
	gzFile f = gzopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 20, n = 0;
	unsigned char *out = malloc(cap);
	int r;
	while ((r = gzread(f, out + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap)
			out = realloc(out, cap *= 2);
	}
	assert_true(r == 0);
	assert_int_equal(gzclose(f), Z_OK);
	*len = n;
	return out;
}

static void test_levels_round_trip(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "x.gz");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	struct fb_gzsink *z = NULL;
	assert_int_equal(fb_gzsink_open(&z, fd, 1), 0);
	/* Pseudo-random bytes (incompressible) and zeros (very compressible). */
	size_t rnd_len = 300000, total = 0;
	unsigned char *rnd = malloc(rnd_len), *zeros = calloc(1, 100000);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < rnd_len; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		rnd[i] = (unsigned char)x;
	}
	unsigned char *want = malloc(2 * rnd_len + 1000 * 600 + 100000);
	for (int i = 0; i < 1000; i++) { /* many short ranges, as tar headers are */
		assert_int_equal(fb_gzsink_level(z, -1), 0);
		assert_int_equal(fb_gzsink_write(z, zeros, 500), 0);
		memcpy(want + total, zeros, 500);
		total += 500;
		assert_int_equal(fb_gzsink_level(z, i % 2 ? 0 : 1), 0);
		assert_int_equal(fb_gzsink_write(z, rnd + i * 97, 100), 0);
		memcpy(want + total, rnd + i * 97, 100);
		total += 100;
	}
	assert_int_equal(fb_gzsink_level(z, 0), 0);
	assert_int_equal(fb_gzsink_write(z, rnd, rnd_len), 0);
	memcpy(want + total, rnd, rnd_len);
	total += rnd_len;
	assert_int_equal(fb_gzsink_level(z, 6), 0);
	assert_int_equal(fb_gzsink_write(z, zeros, 100000), 0);
	memcpy(want + total, zeros, 100000);
	total += 100000;
	assert_int_equal(fb_gzsink_finish(z), 0);
	fb_gzsink_free(z);
	off_t size = lseek(fd, 0, SEEK_END);
	close(fd);

	size_t len = 0;
	unsigned char *got = gunzip(path, &len);
	assert_int_equal(len, total);
	assert_memory_equal(got, want, total);
	/* Stored random bytes cost about their size; the zeros nearly nothing. */
	assert_true(size < (off_t)(rnd_len + 100000 + 40000));
	assert_true(size > (off_t)rnd_len);
	free(got);
	free(want);
	free(rnd);
	free(zeros);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_write_error(void **state)
{
	(void)state;
	int fd = open("/dev/full", O_WRONLY);
	if (fd < 0)
		skip();
	struct fb_gzsink *z = NULL;
	unsigned char *buf = calloc(1, 1 << 20);
	assert_int_equal(fb_gzsink_open(&z, fd, 0), 0);
	int rc = fb_gzsink_write(z, buf, 1 << 20);
	if (!rc)
		rc = fb_gzsink_finish(z);
	assert_int_equal(rc, FB_EIO);
	fb_gzsink_free(z);
	free(buf);
	close(fd);
}

static void test_precompressed(void **state)
{
	(void)state;
	assert_true(fb_gz_precompressed("\x89PNG\r\n\x1a\n....", 12));
	assert_true(fb_gz_precompressed("\xff\xd8\xff\xe0", 4));
	assert_true(fb_gz_precompressed("RIFF\x10\0\0\0WEBPVP8 ", 16));
	assert_true(fb_gz_precompressed("\0\0\0\x20"
					"ftypisom",
					12));
	assert_true(fb_gz_precompressed("\x1f\x8b\x08", 3));
	assert_false(fb_gz_precompressed("\x89PNG", 4)); /* too short to tell */
	assert_false(fb_gz_precompressed("hello, world", 12));
	assert_false(fb_gz_precompressed("{\"a\":1}", 7));
	assert_false(fb_gz_precompressed("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_round_trip),
	    cmocka_unit_test(test_write_error),
	    cmocka_unit_test(test_precompressed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
