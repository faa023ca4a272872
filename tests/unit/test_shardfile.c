/*
 * shardfile: a folder's shard.json written and read back; a folder of one
 * shard refuses another shard and a run without --shard; a folder that
 * holds a batch run without --shard refuses a shard; 1/1 and no shard are
 * the same items; a file that is not a shard record, or a link in its
 * place, is refused with its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shardfile.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_write_then_read(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	struct fb_shard sh = {3, 8}, got = {9, 9};
	struct fb_err e = {0};
	assert_int_equal(fb_shardfile_read(dir, &got, &e), 0);
	assert_int_equal(got.count, 0); /* none yet */
	assert_int_equal(fb_shardfile_write(dir, &sh, &e), 0);
	assert_int_equal(fb_shardfile_read(dir, &got, &e), 0);
	assert_int_equal(got.index, 3);
	assert_int_equal(got.count, 8);
	char *path = tu_path(dir, "shard.json");
	char *text = tu_read_file(path, NULL);
	assert_string_equal(
	    text, "{\"shard\":\"3/8\",\"index\":3,\"count\":8,\"rule\":\"sha256-u64be-mod\"}\n");
	free(text);
	free(path);
	/* a folder that does not exist yet holds nothing */
	char *missing = tu_path(dir, "not/there");
	assert_int_equal(fb_shardfile_read(missing, &got, &e), 0);
	assert_int_equal(got.count, 0);
	free(missing);
	tu_rmrf(dir);
	free(dir);
}

static int check(const char *dir, unsigned k, unsigned n, struct fb_err *e)
{
	struct fb_shard want = {k, n}, have;
	memset(e, 0, sizeof(*e));
	return fb_shardfile_check(dir, NULL, &want, &have, e);
}

static void test_one_shard_per_folder(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	struct fb_err e;
	struct fb_shard sh = {2, 4};
	assert_int_equal(check(dir, 2, 4, &e), 0); /* an empty folder takes any shard */
	assert_int_equal(check(dir, 0, 0, &e), 0);
	assert_int_equal(fb_shardfile_write(dir, &sh, &e), 0);
	assert_int_equal(check(dir, 2, 4, &e), 0); /* the same shard again */
	assert_int_equal(check(dir, 3, 4, &e), FB_EINVAL);
	assert_non_null(strstr(e.msg, "holds shard 2/4"));
	assert_non_null(strstr(e.msg, "this is shard 3/4"));
	assert_non_null(strstr(e.msg, "--out out/shard-3"));
	assert_non_null(strstr(e.msg, "--fresh"));
	assert_int_equal(check(dir, 2, 5, &e), FB_EINVAL); /* the same K of another N */
	assert_non_null(strstr(e.msg, "this is shard 2/5"));
	assert_int_equal(check(dir, 1, 1, &e), FB_EINVAL);
	assert_int_equal(check(dir, 0, 0, &e), FB_EINVAL);
	assert_non_null(strstr(e.msg, "without --shard"));
	assert_non_null(strstr(e.msg, "give --shard 2/4"));
	tu_rmrf(dir);
	free(dir);
}

static void test_unsharded_batch_refuses_a_shard(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	struct fb_err e;
	/* An empty journal is no batch yet; one with a record is. */
	free(tu_write_file(dir, "journal.jsonl", "", 0));
	assert_int_equal(check(dir, 1, 2, &e), 0);
	static const char rec[] = "{\"t\":\"invocation\",\"phase\":\"start\",\"pid\":1,\"at\":2}\n";
	free(tu_write_file(dir, "journal.jsonl", rec, strlen(rec)));
	assert_int_equal(check(dir, 1, 2, &e), FB_EINVAL);
	assert_non_null(strstr(e.msg, "without --shard"));
	assert_non_null(strstr(e.msg, "this is shard 1/2"));
	assert_int_equal(check(dir, 1, 1, &e), 0); /* 1/1 is every item: no mix */
	assert_int_equal(check(dir, 0, 0, &e), 0);
	/* The record alone tells too, at its own path. */
	char *journal = tu_path(dir, "journal.jsonl");
	unlink(journal);
	free(journal);
	char *other = tu_write_file(dir, "elsewhere.jsonl", "{\"id\":\"a\"}\n", 11);
	struct fb_shard want = {1, 2}, have;
	assert_int_equal(fb_shardfile_check(dir, other, &want, &have, &e), FB_EINVAL);
	assert_int_equal(check(dir, 1, 2, &e), 0); /* results.jsonl is not the record here */
	free(tu_write_file(dir, "results.jsonl", "{\"id\":\"a\"}\n", 11));
	assert_int_equal(check(dir, 1, 2, &e), FB_EINVAL);
	free(other);
	tu_rmrf(dir);
	free(dir);
}

static void test_one_of_one_is_every_item(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	struct fb_err e;
	struct fb_shard one = {1, 1};
	assert_int_equal(fb_shardfile_write(dir, &one, &e), 0);
	assert_int_equal(check(dir, 0, 0, &e), 0);
	assert_int_equal(check(dir, 1, 1, &e), 0);
	assert_int_equal(check(dir, 1, 2, &e), FB_EINVAL);
	tu_rmrf(dir);
	free(dir);
}

static void test_not_a_record(void **s)
{
	(void)s;
	static const char *const bad[] = {
	    "",
	    "2/4\n",
	    "[1,2]\n",
	    "{\"index\":2}\n",
	    "{\"index\":0,\"count\":4,\"rule\":\"sha256-u64be-mod\"}\n",
	    "{\"index\":5,\"count\":4,\"rule\":\"sha256-u64be-mod\"}\n",
	    "{\"index\":2,\"count\":4.5,\"rule\":\"sha256-u64be-mod\"}\n",
	    "{\"index\":2,\"count\":4}\n",
	    "{\"index\":2,\"count\":4,\"rule\":\"jump\"}\n",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dir = tu_tmpdir();
		free(tu_write_file(dir, "shard.json", bad[i], strlen(bad[i])));
		struct fb_shard got;
		struct fb_err e = {0};
		if (fb_shardfile_read(dir, &got, &e) != FB_EPARSE)
			fail_msg("\"%s\" was read as a shard", bad[i]);
		assert_non_null(strstr(e.msg, "shard.json"));
		assert_int_equal(check(dir, 2, 4, &e), FB_EPARSE);
		tu_rmrf(dir);
		free(dir);
	}
	/* A link in its place is not followed. */
	char *dir = tu_tmpdir();
	char *target = tu_write_file(dir, "elsewhere", "x", 1);
	char *link = tu_path(dir, "shard.json");
	assert_int_equal(symlink(target, link), 0);
	struct fb_shard got, sh = {1, 2};
	struct fb_err e = {0};
	assert_int_equal(fb_shardfile_read(dir, &got, &e), FB_EIO);
	assert_non_null(strstr(e.msg, "shard.json"));
	assert_int_equal(fb_shardfile_write(dir, &sh, &e), 0); /* the rename replaces the link */
	char *text = tu_read_file(target, NULL);
	assert_string_equal(text, "x"); /* its target untouched */
	free(text);
	assert_int_equal(fb_shardfile_read(dir, &got, &e), 0);
	assert_int_equal(got.count, 2);
	free(target);
	free(link);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_then_read),
	    cmocka_unit_test(test_one_shard_per_folder),
	    cmocka_unit_test(test_unsharded_batch_refuses_a_shard),
	    cmocka_unit_test(test_one_of_one_is_every_item),
	    cmocka_unit_test(test_not_a_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
