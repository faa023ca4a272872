/*
 * What florabatch merge refuses or tells, end to end: each kind of bad
 * input refused with its folder, file and line named and OUT left as it
 * was (a record cut short, a line that is not JSON or no result line, a
 * volume missing, unfinished, swapped or damaged, another manifest, OUT
 * among the folders or a batch's own); folders of different batches
 * (technique, namespace) refused, and merged with --allow-mixed; a folder
 * an invocation works in refused with 75; shards of different counts told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mergefx.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bad merge: exit 2, the message names what, and out is as the good merge left it. */
static void refused(struct mfx_world *w, const char *args, const char *say1, const char *say2)
{
	struct e2e_run r = mfx_fb(w, "merge %s", args);
	if (r.status != 2)
		print_error("merge %s: exit %d: %s\n", args, r.status, r.err);
	assert_int_equal(r.status, 2);
	mfx_has(r.err, say1);
	if (say2)
		mfx_has(r.err, say2);
	e2e_run_free(&r);
	mfx_same_folder_ended(w, "good", "out", 2);
}

/* Each bad input: refused with its folder, file and line, and OUT left as it was. */
static void test_bad_inputs_refused(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "a", 1, 10, "x", NULL);
	mfx_batch(w, "b", 11, 20, "x", NULL);
	struct e2e_run r = mfx_fb(w, "merge out a b");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	mfx_sh(w, "cp -r out good");

	/* A record cut short: its last line has no newline. */
	mfx_sh(w, "cp -r a cut && printf '{\"id\":\"p99\",\"status\":\"comp' >> cut/results.jsonl");
	refused(w, "out cut b", "cut/results.jsonl:11: the last line is cut short", NULL);
	/* A line that is not JSON. */
	mfx_sh(w, "cp -r a junk && echo 'not json' >> junk/results.jsonl");
	refused(w, "out junk b", "junk/results.jsonl:11: not a JSON object", NULL);
	/* A line that is no result line. */
	mfx_sh(w, "cp -r a odd && echo '{\"status\":\"completed\"}' >> odd/results.jsonl");
	refused(w, "out odd b", "odd/results.jsonl:11: no \"id\"", NULL);
	/* A volume the lines name, gone. */
	mfx_sh(w, "cp -r a gone && rm gone/outputs.tar.gz");
	refused(w, "out b gone", "gone/results.jsonl:1: its outputs are in the archive volume",
		"gone/outputs.tar.gz (volumes.jsonl line 1), which is missing");
	/* A volume the index does not list as finished (the batch stopped before it). */
	mfx_sh(w, "cp -r a unfinished && : > unfinished/volumes.jsonl");
	refused(w, "out unfinished b",
		"unfinished/results.jsonl:1: its outputs are to be in "
		"outputs.tar.gz, which unfinished/volumes.jsonl does not list",
		"run the same command again in unfinished");
	/* A volume that holds what no line names (another folder's). */
	mfx_sh(w, "cp -r a swapped && cp b/outputs.tar.gz swapped/outputs.tar.gz");
	refused(w, "out swapped b", "swapped/outputs.tar.gz holds p1",
		"which no line of swapped/results.jsonl names");
	/* An output whose bytes are not what its line's sha256 says (a plain tar, one byte). */
	mfx_batch(w, "t", 1, 3, "x", "--archive-format tar");
	mfx_sh(w, "cp -r t flipped && printf 'Z' | dd of=flipped/outputs.tar bs=1 seek=600 "
		  "conv=notrunc 2>/dev/null");
	refused(w, "out flipped", "flipped/outputs.tar: the bytes of p",
		"do not match the sha256 of line 1 of flipped/results.jsonl");
	/* A folder of another manifest: the same ids, other work. */
	mfx_batch(w, "other", 1, 10, "elsewhere", NULL);
	refused(w, "out a other", "item \"p", "has another idempotency key in");
	/* OUT among the folders, a folder named twice, OUT a batch's folder. */
	r = mfx_fb(w, "merge a a b");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "a is one of the folders to merge");
	e2e_run_free(&r);
	refused(w, "out a ./a", "are one folder, named twice", NULL);
	mfx_sh(w, "cp -r b b.copy");
	r = mfx_fb(w, "merge b a");
	assert_int_equal(r.status, 2);
	e2e_run_free(&r);
	r = mfx_fb(w, "merge b.copy a");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "b.copy holds a batch's files (results.jsonl), not a merge's");
	e2e_run_free(&r);
	mfx_same_file(w, "b/results.jsonl", "b.copy/results.jsonl");
	/* A failed first merge leaves no OUT behind. */
	r = mfx_fb(w, "merge fresh-out cut");
	assert_int_equal(r.status, 2);
	e2e_run_free(&r);
	assert_false(mfx_exists(w, "fresh-out"));
}

/* Folders of different batches: refused; with --allow-mixed, merged and marked mixed. */
static void test_mixed_batches(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "cam", 1, 10, "x", NULL);
	mfx_batch(w, "book", 11, 20, "x", "--technique book-drop");
	struct e2e_run r = mfx_fb(w, "merge out cam book");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "cam and book were made by different batches (another technique): technique "
		       "\"cctv-cam\", namespace none; technique \"book-drop\", namespace none");
	e2e_run_free(&r);
	assert_false(mfx_exists(w, "out"));
	r = mfx_fb(w, "merge --allow-mixed out cam book");
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "merged as --allow-mixed asks");
	e2e_run_free(&r);
	struct e2e_lines l = mfx_assert_merged(w, "out", 20);
	e2e_lines_free(&l);
	char *json = mfx_file(w, "out/merge.json", NULL);
	mfx_has(json, "\"mixed\":true");
	free(json);
	/* A merge of the mixed folder with another is mixed again. */
	mfx_batch(w, "more", 21, 30, "x", NULL);
	r = mfx_fb(w, "merge out2 out more");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "out was itself made by different batches");
	e2e_run_free(&r);

	/* Another namespace. */
	mfx_batch(w, "ns", 31, 40, "x", "--namespace v2");
	r = mfx_fb(w, "merge out3 more ns");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "(another namespace)");
	e2e_run_free(&r);
	r = mfx_fb(w, "merge --allow-mixed out3 more ns");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);

	/* The same ids, other work (another manifest), merged as asked: one line per id. */
	mfx_batch(w, "redo", 1, 10, "y", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	r = mfx_fb(w, "merge --allow-mixed out4 cam redo");
	assert_int_equal(r.status, 1);
	mfx_has(r.err, "disagrees (work):"); /* the simulator's outputs do not follow the inputs */
	e2e_run_free(&r);
	l = mfx_assert_merged(w, "out4", 10);
	assert_string_equal(e2e_str(l.v[0], "source", NULL), "m-redo.csv:2");
	e2e_lines_free(&l);
}

/* A folder an invocation works in: refused with 75 until it ends. */
static void test_busy_folder_refused(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "done", 1, 5, "x", NULL);
	mfx_batch(w, "busy", 6, 10, "x", NULL);
	int pid = e2e_florabatch_spawn(w->dir, "k",
				       "run m-busy.csv --out busy --technique cctv-cam --quiet "
				       "--sim-run-time 30s --fresh",
				       "busy");
	struct e2e_run r = {0};
	for (int i = 0; i < 100; i++) {
		r = mfx_fb(w, "status --json busy");
		int running = r.out && strstr(r.out, "\"running\":true") != NULL;
		e2e_run_free(&r);
		if (running)
			break;
		e2e_sleep_ms(50);
	}
	r = mfx_fb(w, "merge out done busy");
	kill(pid, SIGKILL);
	e2e_wait(pid, 10000);
	assert_int_equal(r.status, 75);
	mfx_has(r.err, "busy: a florabatch is working in it");
	e2e_run_free(&r);
	assert_false(mfx_exists(w, "out"));
}

/* Shards of different counts, and a missing shard, are told. */
static void test_shard_counts_told(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "h1", 1, 10, "x", NULL);
	mfx_batch(w, "h2", 11, 20, "x", NULL);
	mfx_sh(w,
	       "echo '{\"shard\":\"1/2\",\"index\":1,\"count\":2,\"rule\":\"sha256-u64be-mod\"}' "
	       "> h1/shard.json");
	mfx_sh(w,
	       "echo '{\"shard\":\"2/3\",\"index\":2,\"count\":3,\"rule\":\"sha256-u64be-mod\"}' "
	       "> h2/shard.json");
	struct e2e_run r = mfx_fb(w, "merge out h1 h2");
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "shard folders of different shard counts (of 2 and of 3)");
	e2e_run_free(&r);
	r = mfx_fb(w, "merge out h1");
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "1 of 2 shards among the folders");
	e2e_run_free(&r);
	char *json = mfx_file(w, "out/merge.json", NULL);
	mfx_has(json, "\"shard\":\"1/2\"");
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_inputs_refused, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_mixed_batches, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_busy_folder_refused, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_shard_counts_told, mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
