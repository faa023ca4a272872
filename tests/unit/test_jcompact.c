/*
 * jcompact: what a compacted journal keeps for the next invocation: runs in
 * flight, runs younger than a day, and keys an earlier invocation left
 * unfinished; what it drops: old runs of finished items, and earlier keys
 * the record holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "journal.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *live_key;
static const char *done_key;

static int live(void *ud, const char *key)
{
	(void)ud;
	return live_key && !strcmp(key, live_key);
}

static int done_before(void *ud, const char *key)
{
	(void)ud;
	return done_key && !strcmp(key, done_key);
}

static void note(struct fb_journal *j, const char *key, const char *run)
{
	struct fb_err e = {0};
	assert_int_equal(fb_journal_note_create(j, key, &e), 0);
	assert_int_equal(fb_journal_note_run(j, key, run, NULL, &e), 0);
}

static long long size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long long)st.st_size;
}

static void test_keeps_what_a_next_invocation_needs(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "journal.jsonl");
	struct fb_clock *clock = fb_clock_virtual_new(0);
	struct fb_err e = {0};
	struct fb_journal *j;
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	fb_journal_set_clock(j, clock);
	note(j, "fb1-old-done", "run_old1");
	note(j, "fb1-old-live", "run_old2");
	fb_clock_sleep_ms(clock, 25ULL * 3600 * 1000); /* a day and an hour later */
	note(j, "fb1-recent", "run_new");
	assert_int_equal(fb_journal_sync(j, &e), 0);
	long long before = size_of(path);
	live_key = "fb1-old-live";
	done_key = NULL;
	struct fb_journal_keep keep = {.done_before = done_before, .live = live};
	assert_int_equal(fb_journal_compact(j, &keep, fb_clock_wall_ms(clock), &e), 0);
	assert_int_equal(fb_journal_compactions(j), 1);
	assert_true(size_of(path) < before);
	/* Records go on after a compaction, into the new file. */
	note(j, "fb1-after", "run_after");
	/* A run made before is still known (a 409 recovery asks). */
	assert_int_equal(fb_journal_run_known(j, "run_old2", &e), 1);
	assert_int_equal(fb_journal_run_known(j, "run_old1", &e), 0);
	assert_int_equal(fb_journal_close(j, &e), 0);

	/* The next invocation: in-flight and recent runs are there, the old finished one not. */
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	assert_string_equal(fb_journal_run_of(j, "fb1-old-live", NULL), "run_old2");
	assert_string_equal(fb_journal_run_of(j, "fb1-recent", NULL), "run_new");
	assert_string_equal(fb_journal_run_of(j, "fb1-after", NULL), "run_after");
	assert_null(fb_journal_run_of(j, "fb1-old-done", NULL));

	/* Its own compaction drops the earlier keys the record holds, keeps the others. */
	live_key = NULL;
	done_key = "fb1-recent";
	assert_int_equal(fb_journal_compact(j, &keep, fb_clock_wall_ms(clock), &e), 0);
	assert_int_equal(fb_journal_close(j, &e), 0);
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	assert_null(fb_journal_run_of(j, "fb1-recent", NULL));
	assert_string_equal(fb_journal_run_of(j, "fb1-old-live", NULL), "run_old2");
	assert_string_equal(fb_journal_run_of(j, "fb1-after", NULL), "run_after");
	assert_int_equal(fb_journal_close(j, &e), 0);

	fb_clock_free(clock);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static size_t count_in(const char *path, const char *needle)
{
	char *text = tu_read_file(path, NULL);
	size_t n = 0;
	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

/* Invocation records: this invocation's start stays for status, earlier ones' go. */
static void test_invocation_records(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "journal.jsonl");
	struct fb_clock *clock = fb_clock_virtual_new(0);
	struct fb_err e = {0};
	struct fb_journal *j;
	struct fb_journal_keep keep = {.done_before = done_before, .live = live};
	live_key = done_key = NULL;
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	fb_journal_set_clock(j, clock);
	assert_int_equal(fb_journal_note_start(j, 4242, NULL, &e), 0);
	note(j, "fb1-first", "run_1");
	assert_int_equal(fb_journal_compact(j, &keep, fb_clock_wall_ms(clock), &e), 0);
	assert_int_equal(count_in(path, "\"phase\":\"start\",\"pid\":4242,\"at\":"), 1);
	assert_int_equal(fb_journal_note_end(j, 1, &e), 0);
	assert_int_equal(fb_journal_close(j, &e), 0);
	assert_int_equal(count_in(path, "\"phase\":\"end\",\"exit\":1,\"at\":"), 1);

	/* The next invocation replays past them and keeps only its own, with what it runs. */
	struct fb_journal_batch batch = {"technique", "cctv-cam", NULL};
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	fb_journal_set_clock(j, clock);
	assert_string_equal(fb_journal_run_of(j, "fb1-first", NULL), "run_1");
	assert_int_equal(fb_journal_note_start(j, 4343, &batch, &e), 0);
	assert_int_equal(fb_journal_compact(j, &keep, fb_clock_wall_ms(clock), &e), 0);
	assert_int_equal(count_in(path, "\"t\":\"invocation\""), 1);
	assert_int_equal(count_in(path, "\"pid\":4343,\"kind\":\"technique\",\"technique\":"
					"\"cctv-cam\",\"namespace\":null,\"at\":"),
			 1);
	assert_string_equal(fb_journal_run_of(j, "fb1-first", NULL), "run_1");
	assert_int_equal(fb_journal_close(j, &e), 0);
	assert_int_equal(fb_journal_open(&j, path, &e), 0);
	assert_string_equal(fb_journal_run_of(j, "fb1-first", NULL), "run_1");
	assert_int_equal(fb_journal_close(j, &e), 0);

	fb_clock_free(clock);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keeps_what_a_next_invocation_needs),
	    cmocka_unit_test(test_invocation_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
