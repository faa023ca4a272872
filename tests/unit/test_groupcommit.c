/*
 * Group commit: the journal makes records durable only when a result line
 * or a second create for an item needs its run record on disk, and one
 * fdatasync then covers every record queued. The bar: at 50 or more runs in
 * flight, at most 0.1 fdatasync per item (it was more than one).
 */
#include "pollfx.h"

#include "journal.h"

static void test_mark_and_make_durable(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "journal.jsonl");
	struct fb_err err = {0};
	struct fb_journal *j;
	assert_int_equal(fb_journal_open(&j, path, &err), 0);
	assert_int_equal(fb_journal_mark(j), 0);
	assert_int_equal(fb_journal_note_create(j, "k1", &err), 0);
	assert_int_equal(fb_journal_note_run(j, "k1", "run_1", NULL, &err), 0);
	uint64_t m1 = fb_journal_mark(j);
	assert_int_equal(m1, 2);
	assert_int_equal(fb_journal_note_run(j, "k2", "run_2", NULL, &err), 0);
	uint64_t m2 = fb_journal_mark(j);
	/* Written, not yet durable: a write costs no sync. */
	assert_int_equal(fb_journal_write(j, &err), 0);
	assert_int_equal(fb_journal_syncs(j), 0);
	/* One sync covers both marks. */
	assert_int_equal(fb_journal_make_durable(j, m1, &err), 0);
	assert_int_equal(fb_journal_syncs(j), 1);
	assert_int_equal(fb_journal_make_durable(j, m2, &err), 0);
	assert_int_equal(fb_journal_make_durable(j, m1, &err), 0);
	assert_int_equal(fb_journal_syncs(j), 1);
	/* A record after the sync needs the next one. */
	assert_int_equal(fb_journal_note_run(j, "k3", "run_3", NULL, &err), 0);
	assert_int_equal(fb_journal_make_durable(j, fb_journal_mark(j), &err), 0);
	assert_int_equal(fb_journal_syncs(j), 2);
	assert_int_equal(fb_journal_close(j, &err), 0);
	/* Everything noted is in the file, for the next invocation. */
	assert_int_equal(fb_journal_open(&j, path, &err), 0);
	assert_string_equal(fb_journal_run_of(j, "k3", NULL), "run_3");
	assert_int_equal(fb_journal_close(j, &err), 0);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

static void check(unsigned items, unsigned inflight, uint64_t run_ms)
{
	struct world w = {.run_ms = run_ms, .concurrency = inflight, .journal = 1};
	char *m = manifest(items, 0);
	struct outcome o = run(&w, m);
	print_message("%u items, %u in flight, runs of %llu ms: %llu journal syncs\n", items,
		      inflight, (unsigned long long)run_ms,
		      (unsigned long long)o.sum.journal_syncs);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, items);
	assert_true(o.sum.journal_syncs * 10 <= items);
	free(m);
}

static void test_few_syncs_per_item(void **s)
{
	(void)s;
	check(300, 50, 1000);
	check(300, 50, 20000);
	check(2000, 1000, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mark_and_make_durable),
	    cmocka_unit_test(test_few_syncs_per_item),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
