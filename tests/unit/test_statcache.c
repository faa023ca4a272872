/*
 * statcache: a hash is given back only for the very file it was taken of
 * (same key, inode, size and mtime); files changed moments ago are never
 * kept; a damaged cache costs hashing, never a wrong hash; what a scan
 * did not see goes only when the scan was whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "statcache.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NOW   (1800000000LL * 1000000000LL)

static struct stat file_st(long ino, long size, long long mtime_s)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_ino = (ino_t)ino;
	st.st_size = size;
	st.st_mtim.tv_sec = (time_t)mtime_s;
	st.st_mtim.tv_nsec = 5;
	return st;
}

static struct fb_statcache *open_at(const char *path)
{
	struct fb_statcache *c = NULL;
	struct fb_err e = {0};
	assert_int_equal(fb_statcache_open(&c, path, NOW, &e), 0);
	return c;
}

static void test_hit_only_for_the_same_file(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "c.tsv");
	struct fb_statcache *c = open_at(path);
	uint64_t k = fb_statcache_key("/photos/a.png");
	struct stat st = file_st(7, 100, 1700000000);
	assert_int_equal(fb_statcache_put(c, k, &st, SHA_A), 0);
	struct fb_err e = {0};
	assert_int_equal(fb_statcache_save(c, 1, &e), 0);
	fb_statcache_free(c);

	c = open_at(path);
	char sha[65] = "";
	assert_int_equal(fb_statcache_get(c, k, &st, sha), 1);
	assert_string_equal(sha, SHA_A);
	struct stat other = file_st(8, 100, 1700000000); /* another inode */
	assert_int_equal(fb_statcache_get(c, k, &other, sha), 0);
	other = file_st(7, 101, 1700000000); /* another size */
	assert_int_equal(fb_statcache_get(c, k, &other, sha), 0);
	other = file_st(7, 100, 1700000001); /* another mtime */
	assert_int_equal(fb_statcache_get(c, k, &other, sha), 0);
	assert_int_equal(fb_statcache_get(c, fb_statcache_key("/photos/b.png"), &st, sha), 0);
	uint64_t hits, puts;
	fb_statcache_counts(c, &hits, &puts);
	assert_int_equal(hits, 1);
	assert_int_equal(puts, 0);
	fb_statcache_free(c);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_fresh_files_not_kept(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "c.tsv");
	struct fb_statcache *c = open_at(path);
	uint64_t k = fb_statcache_key("/p/new.png");
	/* Changed one second before the scan: a change within the same tick could hide. */
	struct stat st = file_st(1, 10, NOW / 1000000000LL - 1);
	assert_int_equal(fb_statcache_put(c, k, &st, SHA_A), 0);
	char sha[65];
	assert_int_equal(fb_statcache_get(c, k, &st, sha), 0);
	fb_statcache_free(c);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_damaged_lines_skipped(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	uint64_t k = fb_statcache_key("/p/a.png");
	char text[1024];
	snprintf(text, sizeof(text),
		 "garbage\n%016llx 1 2 3 %s\n%016llx 7 100 1700000000000000005 "
		 "not-a-sha\n0000000000000000 7 100 1700000000000000005 %s\n%016llx 7 100 "
		 "1700000000000000005 %s",
		 (unsigned long long)fb_statcache_key("/p/z.png"), SHA_B, (unsigned long long)k,
		 SHA_A, (unsigned long long)k, SHA_B);
	char *path = tu_write_file(dir, "c.tsv", text, strlen(text));
	struct fb_statcache *c = open_at(path);
	struct stat st = file_st(7, 100, 1700000000);
	char sha[65];
	assert_int_equal(fb_statcache_get(c, k, &st, sha), 1);
	assert_string_equal(sha, SHA_B);
	fb_statcache_free(c);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/* Entries the scan did not see: kept after a partial scan, gone after a whole one. */
static void test_prune_only_when_whole(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "c.tsv");
	struct fb_statcache *c = open_at(path);
	uint64_t ka = fb_statcache_key("/p/a.png"), kb = fb_statcache_key("/p/b.png");
	struct stat sa = file_st(1, 10, 1700000000), sb = file_st(2, 20, 1700000000);
	assert_int_equal(fb_statcache_put(c, ka, &sa, SHA_A), 0);
	assert_int_equal(fb_statcache_put(c, kb, &sb, SHA_B), 0);
	struct fb_err e = {0};
	assert_int_equal(fb_statcache_save(c, 1, &e), 0);
	fb_statcache_free(c);

	char sha[65];
	c = open_at(path);
	assert_int_equal(fb_statcache_get(c, ka, &sa, sha), 1);
	assert_int_equal(fb_statcache_save(c, 0, &e), 0); /* partial: b stays */
	fb_statcache_free(c);
	c = open_at(path);
	assert_int_equal(fb_statcache_get(c, kb, &sb, sha), 1);
	fb_statcache_free(c);

	c = open_at(path);
	assert_int_equal(fb_statcache_get(c, ka, &sa, sha), 1);
	assert_int_equal(fb_statcache_save(c, 1, &e), 0); /* whole: b is gone from the folder */
	fb_statcache_free(c);
	c = open_at(path);
	assert_int_equal(fb_statcache_get(c, kb, &sb, sha), 0);
	assert_int_equal(fb_statcache_get(c, ka, &sa, sha), 1);
	fb_statcache_free(c);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/* Many files: the table grows and every one is found again. */
static void test_many(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "c.tsv");
	struct fb_statcache *c = open_at(path);
	char name[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "/p/%d.png", i);
		struct stat st = file_st(i + 1, i, 1700000000);
		assert_int_equal(fb_statcache_put(c, fb_statcache_key(name), &st, SHA_A), 0);
	}
	struct fb_err e = {0};
	assert_int_equal(fb_statcache_save(c, 1, &e), 0);
	fb_statcache_free(c);
	c = open_at(path);
	char sha[65];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "/p/%d.png", i);
		struct stat st = file_st(i + 1, i, 1700000000);
		assert_int_equal(fb_statcache_get(c, fb_statcache_key(name), &st, sha), 1);
	}
	fb_statcache_free(c);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_only_for_the_same_file),
	    cmocka_unit_test(test_fresh_files_not_kept),
	    cmocka_unit_test(test_damaged_lines_skipped),
	    cmocka_unit_test(test_prune_only_when_whole),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
