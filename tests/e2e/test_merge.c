/*
 * florabatch merge end to end, with folders made by florabatch run against
 * its in-process simulator: the folders of two and of four shards joined;
 * an item in two folders (the latest terminal line kept, a disagreement
 * told); a merge run again (the same folder, byte for byte); a merge
 * killed at random moments and run again (the folder an undisturbed merge
 * makes); volumes of another format; folders without an archive; and
 * status over several folders. Every merged archive is checked: each
 * output of each kept line in it once, with its line's sha256, and nothing
 * else. What merge refuses is in test_mergecheck.c.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Two shards: joined, their volumes copied byte for byte; status, pack and run read the result. */
static void test_two_folders(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "a", 1, 30, "x", NULL);
	mfx_batch(w, "b", 31, 60, "x", NULL);
	struct e2e_run r = mfx_fb(w, "merge out a b");
	if (r.status)
		print_error("%s", r.err);
	assert_int_equal(r.status, 0);
	mfx_has(r.err,
		"60 items into out; 2 volumes (2 copied whole, 0 written again), 60 outputs");
	e2e_run_free(&r);
	struct e2e_lines l = mfx_assert_merged(w, "out", 60);
	e2e_lines_free(&l);
	mfx_same_file(w, "a/outputs.tar.gz", "out/outputs.tar.gz");
	mfx_same_file(w, "b/outputs.tar.gz", "out/outputs.0002.tar.gz");
	size_t len;
	char *dups = mfx_file(w, "out/duplicates.jsonl", &len);
	assert_int_equal(len, 0);
	free(dups);
	char *json = mfx_file(w, "out/merge.json", NULL);
	mfx_has(json, "\"state\":\"complete\",\"kind\":\"technique\",\"technique\":\"cctv-cam\","
		      "\"namespace\":null,\"mixed\":false");
	free(json);

	/* A folder like a batch's: status and pack read it, a run finds every item done. */
	r = mfx_fb(w, "status --json out");
	assert_int_equal(r.status, 0);
	mfx_has(r.out, "\"completed\":60,");
	mfx_has(r.out, "\"volumes\":2,\"volume_lines\":60,");
	e2e_run_free(&r);
	r = mfx_fb(w, "pack out");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = mfx_lines_of(w, "out");
	char why[512], *packed = tu_path(w->dir, "out/outputs-all.tar.gz");
	if (e2e_check_packed(packed, &l, why, sizeof(why)))
		fail_msg("packed: %s", why);
	free(packed);
	e2e_lines_free(&l);
	r = mfx_fb(w,
		   "run m-a.csv --out out --technique cctv-cam --sim-clock virtual --summary line");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = mfx_assert_merged(w, "out", 60);
	e2e_lines_free(&l);

	/* A batch has worked there since: the folder is no merge's to replace now. */
	r = mfx_fb(w, "merge out a b");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "a batch has run there since a merge made it");
	e2e_run_free(&r);
}

/* Four shards, one of them of two volumes (a second invocation added items). */
static void test_four_folders(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "s1", 1, 25, "x", NULL);
	mfx_batch(w, "s2", 26, 50, "x", NULL);
	mfx_batch(w, "s3", 51, 75, "x", NULL);
	mfx_batch(w, "s4", 76, 90, "x", NULL);
	mfx_batch(w, "s4", 76, 100, "x", NULL);
	struct e2e_run r = mfx_fb(w, "merge out s1 s2 s3 s4");
	if (r.status)
		print_error("%s", r.err);
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "4 folders, 100 lines: 100 items into out; 5 volumes (5 copied whole");
	e2e_run_free(&r);
	struct e2e_lines l = mfx_assert_merged(w, "out", 100);
	e2e_lines_free(&l);
	mfx_same_file(w, "s4/outputs.0002.tar.gz", "out/outputs.0005.tar.gz");
	char *vols = mfx_file(w, "out/volumes.jsonl", NULL);
	mfx_has(vols, "{\"number\":5,\"volume\":\"outputs.0005.tar.gz\",\"lines_from\":90,"
		      "\"lines_to\":100,\"outputs\":10,");
	free(vols);
}

/* The duplicates.jsonl line of id: must exist. */
static yajl_val dup_of(const struct e2e_lines *d, const char *id)
{
	yajl_val v = e2e_find(d, id);
	if (!v)
		fail_msg("duplicates.jsonl has no line for %s", id);
	return v;
}

/* An item in two folders: the latest terminal line kept, disagreements told and listed. */
static void test_item_in_two_folders(void **state)
{
	struct mfx_world *w = *state;
	/* p1..p10 failed on the simulator's first day; p5..p15 completed now, later. */
	assert_int_equal(mfx_batch(w, "early", 1, 10, "x", "--sim-fail-rate 1 --retry-failed 0"),
			 1);
	mfx_batch(w, "late", 5, 15, "x", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	/* late is named first: a tie would go to early; the time decides. */
	struct e2e_run r = mfx_fb(w, "merge out late early");
	assert_int_equal(r.status, 1);
	mfx_has(r.err, "item \"p5\" disagrees (outcomes):");
	mfx_has(r.err, "kept late/results.jsonl line 1, the latest");
	mfx_has(r.err, "6 items had more than one line, 6 of them disagreeing");
	e2e_run_free(&r);
	struct e2e_lines l = mfx_assert_merged(w, "out", 15);
	for (int i = 1; i <= 15; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p%d", i);
		assert_string_equal(e2e_str(e2e_find(&l, id), "status", NULL),
				    i < 5 ? "failed" : "completed");
	}
	e2e_lines_free(&l);
	struct e2e_lines d;
	char *path = tu_path(w->dir, "out/duplicates.jsonl"), why[256];
	int torn;
	assert_int_equal(e2e_read_jsonl_file(path, &d, &torn, why, sizeof(why)), 0);
	free(path);
	assert_int_equal(d.n, 6);
	yajl_val g = dup_of(&d, "p7");
	assert_string_equal(e2e_str(g, "kept", "folder", NULL), "late");
	assert_string_equal(e2e_str(g, "kept", "status", NULL), "completed");
	const char *dropped[] = {"dropped", NULL};
	yajl_val drop = yajl_tree_get(g, dropped, yajl_t_array);
	assert_non_null(drop);
	assert_int_equal(drop->u.array.len, 1);
	assert_string_equal(e2e_str(drop->u.array.values[0], "status", NULL), "failed");
	e2e_lines_free(&d);

	/* Completed in both, other outputs: a tie in time, so the folder named later. */
	mfx_batch(w, "small", 1, 5, "x", "--sim-output-bytes 2k");
	mfx_batch(w, "plain", 1, 5, "x", NULL);
	r = mfx_fb(w, "merge out2 small plain");
	assert_int_equal(r.status, 1);
	mfx_has(r.err, "disagrees (outputs):");
	mfx_has(r.err, "1 volumes (1 copied whole, 0 written again), 5 outputs");
	e2e_run_free(&r);
	l = mfx_assert_merged(w, "out2", 5);
	e2e_lines_free(&l);
	mfx_same_file(w, "plain/outputs.tar.gz", "out2/outputs.tar.gz");

	/* Half of a volume kept: its kept outputs are written into a volume of their own. */
	mfx_batch(w, "first", 1, 10, "x", NULL);
	mfx_batch(w, "again", 6, 15, "x", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	r = mfx_fb(w, "merge out3 first again");
	assert_true(r.status <= 1);
	mfx_has(r.err, "2 volumes (1 copied whole, 1 written again), 15 outputs");
	e2e_run_free(&r);
	l = mfx_assert_merged(w, "out3", 15);
	assert_string_equal(e2e_str(e2e_find(&l, "p3"), "volume", NULL), "outputs.tar.gz");
	assert_string_equal(e2e_str(e2e_find(&l, "p8"), "volume", NULL), "outputs.0002.tar.gz");
	e2e_lines_free(&l);
}

/* The same merge again: the same folder, byte for byte; fewer folders: fewer volumes. */
static void test_rerun_is_idempotent(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "a", 1, 20, "x", NULL);
	mfx_batch(w, "b", 15, 40, "x", "--sim-output-bytes 3k");
	struct e2e_run r = mfx_fb(w, "merge out a b");
	int first = r.status;
	assert_true(first <= 1);
	e2e_run_free(&r);
	mfx_sh(w, "cp -r out ref");
	r = mfx_fb(w, "merge out a b");
	assert_int_equal(r.status, first);
	e2e_run_free(&r);
	mfx_same_folder_ended(w, "ref", "out", 2);
	mfx_same_file(w, "ref/merge.json", "out/merge.json");
	struct e2e_lines l = mfx_assert_merged(w, "out", 40);
	e2e_lines_free(&l);

	r = mfx_fb(w, "merge out b");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	assert_false(mfx_exists(w, "out/outputs.0002.tar.gz"));
	l = mfx_lines_of(w, "out");
	assert_int_equal(l.n, 26);
	e2e_lines_free(&l);
}

/* Killed at random moments, then run again: what an undisturbed merge makes. */
static void test_kill_midway_then_rerun(void **state)
{
	struct mfx_world *w = *state;
	const char *big = "--sim-output-bytes 192k";
	char extra[256];
	mfx_batch(w, "k1", 1, 120, "x", big);
	mfx_batch(w, "k2", 121, 240, "x", big);
	snprintf(extra, sizeof(extra), "%s --sim-clock real --sim-run-time 20ms --sim-latency 1ms",
		 big);
	mfx_batch(w, "k3", 100, 140, "x",
		  extra); /* later: a part of k1's and of k2's volume loses */
	struct e2e_run r = mfx_fb(w, "merge ref k1 k2 k3");
	e2e_run_free(&r);
	long long t0 = e2e_now_ms(); /* timed warm, as the merges to kill will run */
	r = mfx_fb(w, "merge ref k1 k2 k3");
	long long took = e2e_now_ms() - t0;
	int code = r.status;
	assert_true(code <= 1);
	mfx_has(r.err, "3 volumes (1 copied whole, 2 written again)");
	e2e_run_free(&r);
	unsigned seed = (unsigned)getpid();
	int landed = 0;
	for (int i = 0; i < 10; i++) {
		long delay = 1 + (long)(rand_r(&seed) % (unsigned)(took > 1 ? took : 1));
		int pid = e2e_florabatch_spawn(w->dir, "k", "merge out k1 k2 k3", "kill");
		e2e_sleep_ms(delay);
		kill(pid, SIGKILL);
		int st = e2e_wait(pid, 10000);
		assert_true(st == code || st == 128 + SIGKILL);
		landed += st == 128 + SIGKILL;
		/* Whenever merge.json says complete, the folder is the whole merge (a stage
		 * may be left: the next merge clears it). */
		char *json =
		    mfx_exists(w, "out/merge.json") ? mfx_file(w, "out/merge.json", NULL) : NULL;
		if (json && strstr(json, "\"state\":\"complete\""))
			mfx_same_folder(w, "ref", "out", 3);
		free(json);
	}
	print_message("merge took %lld ms; %d of 10 kills landed mid-merge\n", took, landed);
	assert_true(landed >= 1);
	r = mfx_fb(w, "merge out k1 k2 k3");
	assert_int_equal(r.status, code);
	e2e_run_free(&r);
	mfx_same_folder_ended(w, "ref", "out", 3);
	char *json = mfx_file(w, "out/merge.json", NULL);
	mfx_has(json, "\"state\":\"complete\"");
	free(json);
	struct e2e_lines l = mfx_assert_merged(w, "out", 240);
	e2e_lines_free(&l);
}

/* Volumes in another format are written again in OUT's; folders without an archive merge alone. */
static void test_formats_and_no_archive(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "gz", 1, 10, "x", NULL);
	mfx_batch(w, "zst", 11, 20, "x", "--archive-format tar.zst");
	struct e2e_run r = mfx_fb(w, "merge out gz zst");
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "2 volumes (1 copied whole, 1 written again), 20 outputs");
	e2e_run_free(&r);
	struct e2e_lines l = mfx_assert_merged(w, "out", 20);
	e2e_lines_free(&l);
	r = mfx_fb(w, "merge --archive-format tar plain gz zst");
	assert_int_equal(r.status, 0);
	mfx_has(r.err, "2 volumes (0 copied whole, 2 written again)");
	e2e_run_free(&r);
	l = mfx_lines_of(w, "plain");
	char why[512], *first = tu_path(w->dir, "plain/outputs.tar");
	if (e2e_check_archive(first, &l, why, sizeof(why)))
		fail_msg("plain: %s", why);
	free(first);
	e2e_lines_free(&l);
	assert_false(mfx_exists(w, "plain/outputs.tar.gz"));

	/* No archive at all: the lines alone; beside an archive: refused. */
	mfx_batch(w, "none1", 21, 25, "x", "--archive none");
	mfx_batch(w, "none2", 26, 30, "x", "--archive none");
	r = mfx_fb(w, "merge loose none1 none2");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = mfx_lines_of(w, "loose");
	assert_int_equal(l.n, 10);
	assert_int_equal(e2e_count_status(&l, "completed"), 10);
	assert_null(e2e_str(l.v[0], "volume", NULL));
	e2e_lines_free(&l);
	assert_false(mfx_exists(w, "loose/volumes.jsonl"));
	r = mfx_fb(w, "merge mixed gz none1");
	assert_int_equal(r.status, 2);
	mfx_has(r.err, "gz keeps its outputs in archive volumes and none1 keeps none");
	e2e_run_free(&r);
}

/* status over several folders: each, then the total; one unreadable is told and exits 2. */
static void test_status_of_several(void **state)
{
	struct mfx_world *w = *state;
	mfx_batch(w, "a", 1, 10, "x", NULL);
	assert_int_equal(mfx_batch(w, "b", 11, 15, "x", "--sim-fail-rate 1 --retry-failed 0"), 1);
	struct e2e_run r = mfx_fb(w, "status a b");
	assert_int_equal(r.status, 0);
	mfx_has(r.out, "a\n  state     idle\n");
	mfx_has(r.out, "b\n  state     idle\n");
	mfx_has(r.out,
		"total of 2 folders: 0 running, 2 idle\n"
		"  items     15 with a line: 10 completed, 5 failed, 0 invalid, 0 skipped\n");
	e2e_run_free(&r);
	r = mfx_fb(w, "status --json a b");
	assert_int_equal(r.status, 0);
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 1);
	const char *fp[] = {"folders", NULL};
	yajl_val folders = yajl_tree_get(l.v[0], fp, yajl_t_array);
	assert_non_null(folders);
	assert_int_equal(folders->u.array.len, 2);
	assert_string_equal(e2e_str(folders->u.array.values[1], "dir", NULL), "b");
	assert_int_equal(e2e_num(folders->u.array.values[1], "failed", NULL), 5);
	assert_int_equal(e2e_num(l.v[0], "total", "folders", NULL), 2);
	assert_int_equal(e2e_num(l.v[0], "total", "completed", NULL), 10);
	assert_int_equal(e2e_num(l.v[0], "total", "failed", NULL), 5);
	assert_int_equal(e2e_num(l.v[0], "total", "volumes", NULL), 1);
	e2e_lines_free(&l);
	e2e_run_free(&r);
	r = mfx_fb(w, "status --json a missing");
	assert_int_equal(r.status, 2);
	mfx_has(r.out, "{\"dir\":\"missing\",\"error\":\"missing: No such file or directory\"}");
	mfx_has(r.out, "\"total\":{\"folders\":2,\"unreadable\":1,\"running\":0,\"lines\":10,");
	e2e_run_free(&r);
	/* One folder: the object as it always was, no "dir". */
	r = mfx_fb(w, "status --json a");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "\"dir\""));
	mfx_has(r.out, "{\"running\":false,\"pid\":0,\"lines\":10,");
	e2e_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_folders, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_four_folders, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_item_in_two_folders, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_rerun_is_idempotent, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_kill_midway_then_rerun, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_formats_and_no_archive, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_status_of_several, mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
