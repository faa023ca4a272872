/*
 * spool: outputs and line records round-trip in file order, what a crash
 * leaves is cut on reopen (a torn record; line records past the record's
 * completed lines, with the outputs after them), and large outputs skip the
 * buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sha256.h"
#include "spool.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct fb_spool *open_s(const char *path, int fresh, uint64_t keep, uint64_t *lines)
{
	struct fb_spool *s = NULL;
	struct fb_err e = {0};
	int rc = fb_spool_open(&s, path, fresh, keep, 0, lines, &e);
	if (rc)
		fail_msg("open: %s", e.msg);
	return s;
}

static uint64_t put(struct fb_spool *s, const char *text)
{
	char sha[FB_SHA256_HEX_LEN + 1];
	struct fb_err e = {0};
	uint64_t off = 0;
	assert_int_equal(fb_sha256_hex(text, strlen(text), sha), 0);
	assert_int_equal(fb_spool_put(s, sha, text, strlen(text), &off, &e), 0);
	return off;
}

static void line(struct fb_spool *s, const char *entries)
{
	struct fb_err e = {0};
	assert_int_equal(fb_spool_put_line(s, entries, strlen(entries), &e), 0);
}

static void assert_read(struct fb_spool *s, uint64_t off, const char *want)
{
	struct fb_buf b = FB_BUF_INIT;
	struct fb_err e = {0};
	assert_int_equal(fb_spool_read(s, off, strlen(want), &b, &e), 0);
	assert_string_equal(b.ptr, want);
	fb_buf_release(&b);
}

static long long size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_size;
}

static void test_round_trip_and_order(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "spool.dat");
	struct fb_err e = {0};
	struct fb_spool *s = open_s(path, 0, 0, NULL);
	uint64_t a = put(s, "alpha"), b = put(s, "beta");
	/* Buffered: nothing written yet, reads flush first. */
	assert_int_equal(size_of(path), 0);
	assert_read(s, a, "alpha");
	assert_read(s, b, "beta");
	line(s, "first\n");
	line(s, "");
	line(s, "third\n");
	struct fb_buf out = FB_BUF_INIT;
	uint64_t pos = 0;
	assert_int_equal(fb_spool_next_line(s, &pos, &out, NULL, &e), 1);
	assert_string_equal(out.ptr, "first\n");
	assert_int_equal(fb_spool_next_line(s, &pos, &out, NULL, &e), 1);
	assert_string_equal(out.ptr, "");
	assert_int_equal(fb_spool_next_line(s, &pos, &out, NULL, &e), 1);
	assert_string_equal(out.ptr, "third\n");
	assert_int_equal(fb_spool_next_line(s, &pos, &out, NULL, &e), 0);
	assert_int_equal(fb_spool_sync(s, &e), 0);
	fb_spool_close(s);

	/* Reopened: all three lines kept, outputs where they were. */
	uint64_t lines = 0;
	s = open_s(path, 0, 3, &lines);
	assert_int_equal(lines, 3);
	assert_read(s, a, "alpha");
	/* The same bytes twice are kept twice: there is no index to find the first. */
	uint64_t a2 = put(s, "alpha");
	assert_true(a2 > b);
	assert_read(s, a2, "alpha");
	/* Not a digest. */
	assert_int_equal(fb_spool_put(s, "xyz", "q", 1, &a2, &e), FB_EINVAL);
	fb_spool_close(s);
	fb_buf_release(&out);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/* Line records the record does not have, and the outputs after them, are cut. */
static void test_cut_to_the_record(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "spool.dat");
	struct fb_err e = {0};
	struct fb_spool *s = open_s(path, 0, 0, NULL);
	uint64_t a = put(s, "alpha");
	line(s, "a\n");
	assert_int_equal(fb_spool_flush(s, &e), 0);
	long long after_a = size_of(path);
	put(s, "beta");
	line(s, "b\n");
	put(s, "orphan");
	fb_spool_close(s); /* close does not write the buffer: a crash */
	assert_int_equal(size_of(path), after_a);

	uint64_t lines = 9;
	s = open_s(path, 0, 1, &lines);
	assert_int_equal(lines, 1);
	put(s, "beta");
	line(s, "b\n");
	put(s, "orphan");
	assert_int_equal(fb_spool_sync(s, &e), 0);
	fb_spool_close(s);
	/* The record kept only a's line: b's record and the orphan go. */
	s = open_s(path, 0, 1, &lines);
	assert_int_equal(lines, 1);
	assert_int_equal(size_of(path), after_a);
	assert_read(s, a, "alpha");
	fb_spool_close(s);
	/* A torn record at the end goes too. */
	FILE *f = fopen(path, "a");
	fputs("L 1 100\nshort", f);
	fclose(f);
	s = open_s(path, 0, 5, &lines);
	assert_int_equal(lines, 1);
	assert_int_equal(size_of(path), after_a);
	fb_spool_close(s);
	/* Nothing completed: nothing kept. */
	s = open_s(path, 0, 0, &lines);
	assert_int_equal(lines, 0);
	assert_int_equal(size_of(path), 0);
	fb_spool_close(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_large_and_many(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "spool.dat");
	struct fb_err e = {0};
	struct fb_spool *s = open_s(path, 1, 0, NULL);
	size_t big_len = 3 * 1024 * 1024;
	char *big = malloc(big_len + 1);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	big[big_len] = '\0';
	uint64_t small = put(s, "small");
	uint64_t off = put(s, big);
	/* Written at once, after what was buffered before it. */
	assert_true(size_of(path) >= (long long)big_len);
	assert_read(s, small, "small");
	assert_read(s, off, big);
	/* Over half the write buffer but short of filling it: written past a buffer that still
	 * holds a small output, which must land first. */
	size_t mid_len = 200 * 1024;
	char *mid = malloc(mid_len + 1);
	assert_non_null(mid);
	for (size_t i = 0; i < mid_len; i++)
		mid[i] = (char)('A' + i % 26);
	mid[mid_len] = '\0';
	uint64_t before = put(s, "before the middle one");
	uint64_t moff = put(s, mid);
	uint64_t after = put(s, "after the middle one");
	assert_read(s, before, "before the middle one");
	assert_read(s, moff, mid);
	assert_read(s, after, "after the middle one");
	free(mid);
	char text[32];
	uint64_t offs[5000];
	for (int i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "out %d", i);
		offs[i] = put(s, text);
	}
	for (int i = 4999; i >= 0; i -= 7) {
		snprintf(text, sizeof(text), "out %d", i);
		assert_read(s, offs[i], text);
	}
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_spool_read(s, offs[4999], 1 << 20, &b, &e), FB_EIO);
	fb_buf_release(&b);
	fb_spool_close(s);
	free(big);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_and_order),
	    cmocka_unit_test(test_cut_to_the_record),
	    cmocka_unit_test(test_large_and_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
