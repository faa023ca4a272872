/*
 * florabatch merge end to end, with folders made by florabatch run against
 * its in-process simulator: the folders of two and of four shards joined;
 * an item in two folders (the latest terminal line kept, a disagreement
 * told); a merge run again (the same folder, byte for byte); a merge
 * killed at random moments and run again (the folder an undisturbed merge
 * makes); each kind of bad input refused with its folder, file and line
 * named and OUT left as it was; folders of different batches refused, and
 * merged with --allow-mixed; shards of different counts told; and status
 * over several folders. Every merged archive is checked: each output of
 * each kept line in it once, with its line's sha256, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct world {
	char *dir;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->dir = tu_tmpdir();
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	tu_rmrf(w->dir);
	free(w->dir);
	free(w);
	return 0;
}

static struct e2e_run fb(struct world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct e2e_run fb(struct world *w, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return e2e_florabatch(w->dir, args);
}

static void sh(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh(struct world *w, const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && %s", w->dir, cmd);
	char *err = NULL;
	int st = tu_run(full, NULL, &err);
	if (st)
		print_error("%s: exit %d: %s\n", cmd, st, err);
	free(err);
	assert_int_equal(st, 0);
}

/*
 * The folder out made by run: items p<from>..p<to> of cctv-cam (tag makes
 * other input URLs: other work under the same ids), with extra options.
 * Its exit status (0, or 1 when runs were made to fail).
 */
static int batch(struct world *w, const char *out, int from, int to, const char *tag,
		 const char *extra)
{
	char name[64], text[65536];
	size_t len = (size_t)snprintf(text, sizeof(text), "id,input_image\n");
	for (int i = from; i <= to; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"p%d,https://x.example/%s/p%d.png\n", i, tag, i);
	snprintf(name, sizeof(name), "m-%s.csv", out);
	free(tu_write_file(w->dir, name, text, len));
	extra = extra ? extra : "";
	struct e2e_run r = fb(w, "run %s --out %s %s %s --quiet --concurrency 64 %s", name, out,
			      strstr(extra, "--technique") ? "" : "--technique cctv-cam",
			      strstr(extra, "--sim-clock") ? "" : "--sim-clock virtual", extra);
	if (r.status > 1)
		print_error("run into %s: exit %d: %s\n", out, r.status, r.err);
	assert_true(r.status <= 1);
	int st = r.status;
	e2e_run_free(&r);
	return st;
}

static struct e2e_lines lines_of(struct world *w, const char *folder)
{
	char rel[256], why[512];
	snprintf(rel, sizeof(rel), "%s/results.jsonl", folder);
	char *path = tu_path(w->dir, rel);
	struct e2e_lines l;
	int torn = 0;
	if (e2e_read_jsonl_file(path, &l, &torn, why, sizeof(why)))
		fail_msg("%s: %s", path, why);
	assert_int_equal(torn, 0);
	free(path);
	return l;
}

/* out holds p1..pN each once, and its archive every output of them once, by its sha256. */
static struct e2e_lines assert_merged(struct world *w, const char *out, int n)
{
	char rel[256], why[1024];
	struct e2e_lines l = lines_of(w, out);
	if (e2e_check_ids(&l, n, 1, why, sizeof(why)))
		fail_msg("%s: %s", out, why);
	snprintf(rel, sizeof(rel), "%s/outputs.tar.gz", out);
	char *first = tu_path(w->dir, rel);
	if (e2e_count_status(&l, "completed") && e2e_check_archive(first, &l, why, sizeof(why)))
		fail_msg("%s: %s", out, why);
	free(first);
	return l;
}

static char *file(struct world *w, const char *rel, size_t *len)
{
	char *path = tu_path(w->dir, rel);
	char *text = tu_read_file(path, len);
	free(path);
	return text;
}

static int exists(struct world *w, const char *rel)
{
	char *path = tu_path(w->dir, rel);
	struct stat st;
	int yes = lstat(path, &st) == 0;
	free(path);
	return yes;
}

static void same_file(struct world *w, const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = file(w, a, &la), *y = file(w, b, &lb);
	if (!x || !y || la != lb || memcmp(x, y, la))
		fail_msg("%s and %s differ (%zu and %zu bytes)", a, b, la, lb);
	free(x);
	free(y);
}

static void has(const char *text, const char *needle)
{
	if (!text || !strstr(text, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, text ? text : "(nothing)");
}

/* The files a merge leaves, named in out (volumes: how many it should hold). */
static const char *const merged_files[] = {"results.jsonl", "volumes.jsonl", "duplicates.jsonl",
					   "merge.json"};

static void same_folder(struct world *w, const char *a, const char *b, int volumes)
{
	char x[128], y[128];
	for (size_t i = 0; i < sizeof(merged_files) / sizeof(merged_files[0]); i++) {
		snprintf(x, sizeof(x), "%s/%s", a, merged_files[i]);
		snprintf(y, sizeof(y), "%s/%s", b, merged_files[i]);
		if (strcmp(merged_files[i], "merge.json")) /* it names no folder of its own */
			same_file(w, x, y);
	}
	for (int v = 1; v <= volumes; v++) {
		if (v == 1) {
			snprintf(x, sizeof(x), "%s/outputs.tar.gz", a);
			snprintf(y, sizeof(y), "%s/outputs.tar.gz", b);
		} else {
			snprintf(x, sizeof(x), "%s/outputs.%04d.tar.gz", a, v);
			snprintf(y, sizeof(y), "%s/outputs.%04d.tar.gz", b, v);
		}
		same_file(w, x, y);
	}
	snprintf(x, sizeof(x), "%s/outputs.%04d.tar.gz", b, volumes + 1);
	assert_false(exists(w, x));
}

/* same_folder, and no stage left behind: the merge that made b ended. */
static void same_folder_ended(struct world *w, const char *a, const char *b, int volumes)
{
	char x[128];
	same_folder(w, a, b, volumes);
	snprintf(x, sizeof(x), "%s/.merge.tmp", b);
	assert_false(exists(w, x));
}

/* Two shards: joined, their volumes copied byte for byte; status, pack and run read the result. */
static void test_two_folders(void **state)
{
	struct world *w = *state;
	batch(w, "a", 1, 30, "x", NULL);
	batch(w, "b", 31, 60, "x", NULL);
	struct e2e_run r = fb(w, "merge out a b");
	if (r.status)
		print_error("%s", r.err);
	assert_int_equal(r.status, 0);
	has(r.err, "60 items into out; 2 volumes (2 copied whole, 0 written again), 60 outputs");
	e2e_run_free(&r);
	struct e2e_lines l = assert_merged(w, "out", 60);
	e2e_lines_free(&l);
	same_file(w, "a/outputs.tar.gz", "out/outputs.tar.gz");
	same_file(w, "b/outputs.tar.gz", "out/outputs.0002.tar.gz");
	size_t len;
	char *dups = file(w, "out/duplicates.jsonl", &len);
	assert_int_equal(len, 0);
	free(dups);
	char *json = file(w, "out/merge.json", NULL);
	has(json, "\"state\":\"complete\",\"kind\":\"technique\",\"technique\":\"cctv-cam\","
		  "\"namespace\":null,\"mixed\":false");
	free(json);

	/* A folder like a batch's: status and pack read it, a run finds every item done. */
	r = fb(w, "status --json out");
	assert_int_equal(r.status, 0);
	has(r.out, "\"completed\":60,");
	has(r.out, "\"volumes\":2,\"volume_lines\":60,");
	e2e_run_free(&r);
	r = fb(w, "pack out");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = lines_of(w, "out");
	char why[512], *packed = tu_path(w->dir, "out/outputs-all.tar.gz");
	if (e2e_check_packed(packed, &l, why, sizeof(why)))
		fail_msg("packed: %s", why);
	free(packed);
	e2e_lines_free(&l);
	r = fb(w, "run m-a.csv --out out --technique cctv-cam --sim-clock virtual --summary line");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = assert_merged(w, "out", 60);
	e2e_lines_free(&l);

	/* A batch has worked there since: the folder is no merge's to replace now. */
	r = fb(w, "merge out a b");
	assert_int_equal(r.status, 2);
	has(r.err, "a batch has run there since a merge made it");
	e2e_run_free(&r);
}

/* Four shards, one of them of two volumes (a second invocation added items). */
static void test_four_folders(void **state)
{
	struct world *w = *state;
	batch(w, "s1", 1, 25, "x", NULL);
	batch(w, "s2", 26, 50, "x", NULL);
	batch(w, "s3", 51, 75, "x", NULL);
	batch(w, "s4", 76, 90, "x", NULL);
	batch(w, "s4", 76, 100, "x", NULL);
	struct e2e_run r = fb(w, "merge out s1 s2 s3 s4");
	if (r.status)
		print_error("%s", r.err);
	assert_int_equal(r.status, 0);
	has(r.err, "4 folders, 100 lines: 100 items into out; 5 volumes (5 copied whole");
	e2e_run_free(&r);
	struct e2e_lines l = assert_merged(w, "out", 100);
	e2e_lines_free(&l);
	same_file(w, "s4/outputs.0002.tar.gz", "out/outputs.0005.tar.gz");
	char *vols = file(w, "out/volumes.jsonl", NULL);
	has(vols, "{\"number\":5,\"volume\":\"outputs.0005.tar.gz\",\"lines_from\":90,"
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
	struct world *w = *state;
	/* p1..p10 failed on the simulator's first day; p5..p15 completed now, later. */
	assert_int_equal(batch(w, "early", 1, 10, "x", "--sim-fail-rate 1 --retry-failed 0"), 1);
	batch(w, "late", 5, 15, "x", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	/* late is named first: a tie would go to early; the time decides. */
	struct e2e_run r = fb(w, "merge out late early");
	assert_int_equal(r.status, 1);
	has(r.err, "item \"p5\" disagrees (outcomes):");
	has(r.err, "kept late/results.jsonl line 1, the latest");
	has(r.err, "6 items had more than one line, 6 of them disagreeing");
	e2e_run_free(&r);
	struct e2e_lines l = assert_merged(w, "out", 15);
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
	batch(w, "small", 1, 5, "x", "--sim-output-bytes 2k");
	batch(w, "plain", 1, 5, "x", NULL);
	r = fb(w, "merge out2 small plain");
	assert_int_equal(r.status, 1);
	has(r.err, "disagrees (outputs):");
	has(r.err, "1 volumes (1 copied whole, 0 written again), 5 outputs");
	e2e_run_free(&r);
	l = assert_merged(w, "out2", 5);
	e2e_lines_free(&l);
	same_file(w, "plain/outputs.tar.gz", "out2/outputs.tar.gz");

	/* Half of a volume kept: its kept outputs are written into a volume of their own. */
	batch(w, "first", 1, 10, "x", NULL);
	batch(w, "again", 6, 15, "x", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	r = fb(w, "merge out3 first again");
	assert_true(r.status <= 1);
	has(r.err, "2 volumes (1 copied whole, 1 written again), 15 outputs");
	e2e_run_free(&r);
	l = assert_merged(w, "out3", 15);
	assert_string_equal(e2e_str(e2e_find(&l, "p3"), "volume", NULL), "outputs.tar.gz");
	assert_string_equal(e2e_str(e2e_find(&l, "p8"), "volume", NULL), "outputs.0002.tar.gz");
	e2e_lines_free(&l);
}

/* The same merge again: the same folder, byte for byte; fewer folders: fewer volumes. */
static void test_rerun_is_idempotent(void **state)
{
	struct world *w = *state;
	batch(w, "a", 1, 20, "x", NULL);
	batch(w, "b", 15, 40, "x", "--sim-output-bytes 3k");
	struct e2e_run r = fb(w, "merge out a b");
	int first = r.status;
	assert_true(first <= 1);
	e2e_run_free(&r);
	sh(w, "cp -r out ref");
	r = fb(w, "merge out a b");
	assert_int_equal(r.status, first);
	e2e_run_free(&r);
	same_folder_ended(w, "ref", "out", 2);
	same_file(w, "ref/merge.json", "out/merge.json");
	struct e2e_lines l = assert_merged(w, "out", 40);
	e2e_lines_free(&l);

	r = fb(w, "merge out b");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	assert_false(exists(w, "out/outputs.0002.tar.gz"));
	l = lines_of(w, "out");
	assert_int_equal(l.n, 26);
	e2e_lines_free(&l);
}

/* Killed at random moments, then run again: what an undisturbed merge makes. */
static void test_kill_midway_then_rerun(void **state)
{
	struct world *w = *state;
	const char *big = "--sim-output-bytes 192k";
	char extra[256];
	batch(w, "k1", 1, 120, "x", big);
	batch(w, "k2", 121, 240, "x", big);
	snprintf(extra, sizeof(extra), "%s --sim-clock real --sim-run-time 20ms --sim-latency 1ms",
		 big);
	batch(w, "k3", 100, 140, "x", extra); /* later: a part of k1's and of k2's volume loses */
	struct e2e_run r = fb(w, "merge ref k1 k2 k3");
	e2e_run_free(&r);
	long long t0 = e2e_now_ms(); /* timed warm, as the merges to kill will run */
	r = fb(w, "merge ref k1 k2 k3");
	long long took = e2e_now_ms() - t0;
	int code = r.status;
	assert_true(code <= 1);
	has(r.err, "3 volumes (1 copied whole, 2 written again)");
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
		char *json = exists(w, "out/merge.json") ? file(w, "out/merge.json", NULL) : NULL;
		if (json && strstr(json, "\"state\":\"complete\""))
			same_folder(w, "ref", "out", 3);
		free(json);
	}
	print_message("merge took %lld ms; %d of 10 kills landed mid-merge\n", took, landed);
	assert_true(landed >= 1);
	r = fb(w, "merge out k1 k2 k3");
	assert_int_equal(r.status, code);
	e2e_run_free(&r);
	same_folder_ended(w, "ref", "out", 3);
	char *json = file(w, "out/merge.json", NULL);
	has(json, "\"state\":\"complete\"");
	free(json);
	struct e2e_lines l = assert_merged(w, "out", 240);
	e2e_lines_free(&l);
}

/* A bad merge: exit 2, the message names what, and out is as the good merge left it. */
static void refused(struct world *w, const char *args, const char *say1, const char *say2)
{
	struct e2e_run r = fb(w, "merge %s", args);
	if (r.status != 2)
		print_error("merge %s: exit %d: %s\n", args, r.status, r.err);
	assert_int_equal(r.status, 2);
	has(r.err, say1);
	if (say2)
		has(r.err, say2);
	e2e_run_free(&r);
	same_folder_ended(w, "good", "out", 2);
}

static void test_bad_inputs_refused(void **state)
{
	struct world *w = *state;
	batch(w, "a", 1, 10, "x", NULL);
	batch(w, "b", 11, 20, "x", NULL);
	struct e2e_run r = fb(w, "merge out a b");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	sh(w, "cp -r out good");

	/* A record cut short: its last line has no newline. */
	sh(w, "cp -r a cut && printf '{\"id\":\"p99\",\"status\":\"comp' >> cut/results.jsonl");
	refused(w, "out cut b", "cut/results.jsonl:11: the last line is cut short", NULL);
	/* A line that is not JSON. */
	sh(w, "cp -r a junk && echo 'not json' >> junk/results.jsonl");
	refused(w, "out junk b", "junk/results.jsonl:11: not a JSON object", NULL);
	/* A line that is no result line. */
	sh(w, "cp -r a odd && echo '{\"status\":\"completed\"}' >> odd/results.jsonl");
	refused(w, "out odd b", "odd/results.jsonl:11: no \"id\"", NULL);
	/* A volume the lines name, gone. */
	sh(w, "cp -r a gone && rm gone/outputs.tar.gz");
	refused(w, "out b gone", "gone/results.jsonl:1: its outputs are in the archive volume",
		"gone/outputs.tar.gz (volumes.jsonl line 1), which is missing");
	/* A volume the index does not list as finished (the batch stopped before it). */
	sh(w, "cp -r a unfinished && : > unfinished/volumes.jsonl");
	refused(w, "out unfinished b",
		"unfinished/results.jsonl:1: its outputs are to be in "
		"outputs.tar.gz, which unfinished/volumes.jsonl does not list",
		"run the same command again in unfinished");
	/* A volume that holds what no line names (another folder's). */
	sh(w, "cp -r a swapped && cp b/outputs.tar.gz swapped/outputs.tar.gz");
	refused(w, "out swapped b", "swapped/outputs.tar.gz holds p1",
		"which no line of swapped/results.jsonl names");
	/* An output whose bytes are not what its line's sha256 says (a plain tar, one byte). */
	batch(w, "t", 1, 3, "x", "--archive-format tar");
	sh(w, "cp -r t flipped && printf 'Z' | dd of=flipped/outputs.tar bs=1 seek=600 "
	      "conv=notrunc 2>/dev/null");
	refused(w, "out flipped", "flipped/outputs.tar: the bytes of p",
		"do not match the sha256 of line 1 of flipped/results.jsonl");
	/* A folder of another manifest: the same ids, other work. */
	batch(w, "other", 1, 10, "elsewhere", NULL);
	refused(w, "out a other", "item \"p", "has another idempotency key in");
	/* OUT among the folders, a folder named twice, OUT a batch's folder. */
	r = fb(w, "merge a a b");
	assert_int_equal(r.status, 2);
	has(r.err, "a is one of the folders to merge");
	e2e_run_free(&r);
	refused(w, "out a ./a", "are one folder, named twice", NULL);
	sh(w, "cp -r b b.copy");
	r = fb(w, "merge b a");
	assert_int_equal(r.status, 2);
	e2e_run_free(&r);
	r = fb(w, "merge b.copy a");
	assert_int_equal(r.status, 2);
	has(r.err, "b.copy holds a batch's files (results.jsonl), not a merge's");
	e2e_run_free(&r);
	same_file(w, "b/results.jsonl", "b.copy/results.jsonl");
	/* A failed first merge leaves no OUT behind. */
	r = fb(w, "merge fresh-out cut");
	assert_int_equal(r.status, 2);
	e2e_run_free(&r);
	assert_false(exists(w, "fresh-out"));
}

/* Folders of different batches: refused; with --allow-mixed, merged and marked mixed. */
static void test_mixed_batches(void **state)
{
	struct world *w = *state;
	batch(w, "cam", 1, 10, "x", NULL);
	batch(w, "book", 11, 20, "x", "--technique book-drop");
	struct e2e_run r = fb(w, "merge out cam book");
	assert_int_equal(r.status, 2);
	has(r.err, "cam and book were made by different batches (another technique): technique "
		   "\"cctv-cam\", namespace none; technique \"book-drop\", namespace none");
	e2e_run_free(&r);
	assert_false(exists(w, "out"));
	r = fb(w, "merge --allow-mixed out cam book");
	assert_int_equal(r.status, 0);
	has(r.err, "merged as --allow-mixed asks");
	e2e_run_free(&r);
	struct e2e_lines l = assert_merged(w, "out", 20);
	e2e_lines_free(&l);
	char *json = file(w, "out/merge.json", NULL);
	has(json, "\"mixed\":true");
	free(json);
	/* A merge of the mixed folder with another is mixed again. */
	batch(w, "more", 21, 30, "x", NULL);
	r = fb(w, "merge out2 out more");
	assert_int_equal(r.status, 2);
	has(r.err, "out was itself made by different batches");
	e2e_run_free(&r);

	/* Another namespace. */
	batch(w, "ns", 31, 40, "x", "--namespace v2");
	r = fb(w, "merge out3 more ns");
	assert_int_equal(r.status, 2);
	has(r.err, "(another namespace)");
	e2e_run_free(&r);
	r = fb(w, "merge --allow-mixed out3 more ns");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);

	/* The same ids, other work (another manifest), merged as asked: one line per id. */
	batch(w, "redo", 1, 10, "y", "--sim-clock real --sim-run-time 20ms --sim-latency 1ms");
	r = fb(w, "merge --allow-mixed out4 cam redo");
	assert_int_equal(r.status, 1);
	has(r.err, "disagrees (work):"); /* the simulator's outputs do not follow the inputs */
	e2e_run_free(&r);
	l = assert_merged(w, "out4", 10);
	assert_string_equal(e2e_str(l.v[0], "source", NULL), "m-redo.csv:2");
	e2e_lines_free(&l);
}

/* Volumes in another format are written again in OUT's; folders without an archive merge alone. */
static void test_formats_and_no_archive(void **state)
{
	struct world *w = *state;
	batch(w, "gz", 1, 10, "x", NULL);
	batch(w, "zst", 11, 20, "x", "--archive-format tar.zst");
	struct e2e_run r = fb(w, "merge out gz zst");
	assert_int_equal(r.status, 0);
	has(r.err, "2 volumes (1 copied whole, 1 written again), 20 outputs");
	e2e_run_free(&r);
	struct e2e_lines l = assert_merged(w, "out", 20);
	e2e_lines_free(&l);
	r = fb(w, "merge --archive-format tar plain gz zst");
	assert_int_equal(r.status, 0);
	has(r.err, "2 volumes (0 copied whole, 2 written again)");
	e2e_run_free(&r);
	l = lines_of(w, "plain");
	char why[512], *first = tu_path(w->dir, "plain/outputs.tar");
	if (e2e_check_archive(first, &l, why, sizeof(why)))
		fail_msg("plain: %s", why);
	free(first);
	e2e_lines_free(&l);
	assert_false(exists(w, "plain/outputs.tar.gz"));

	/* No archive at all: the lines alone; beside an archive: refused. */
	batch(w, "none1", 21, 25, "x", "--archive none");
	batch(w, "none2", 26, 30, "x", "--archive none");
	r = fb(w, "merge loose none1 none2");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = lines_of(w, "loose");
	assert_int_equal(l.n, 10);
	assert_int_equal(e2e_count_status(&l, "completed"), 10);
	assert_null(e2e_str(l.v[0], "volume", NULL));
	e2e_lines_free(&l);
	assert_false(exists(w, "loose/volumes.jsonl"));
	r = fb(w, "merge mixed gz none1");
	assert_int_equal(r.status, 2);
	has(r.err, "gz keeps its outputs in archive volumes and none1 keeps none");
	e2e_run_free(&r);
}

/* A folder an invocation works in: refused with 75 until it ends. */
static void test_busy_folder_refused(void **state)
{
	struct world *w = *state;
	batch(w, "done", 1, 5, "x", NULL);
	batch(w, "busy", 6, 10, "x", NULL);
	int pid = e2e_florabatch_spawn(w->dir, "k",
				       "run m-busy.csv --out busy --technique cctv-cam --quiet "
				       "--sim-run-time 30s --fresh",
				       "busy");
	struct e2e_run r = {0};
	for (int i = 0; i < 100; i++) {
		r = fb(w, "status --json busy");
		int running = r.out && strstr(r.out, "\"running\":true") != NULL;
		e2e_run_free(&r);
		if (running)
			break;
		e2e_sleep_ms(50);
	}
	r = fb(w, "merge out done busy");
	kill(pid, SIGKILL);
	e2e_wait(pid, 10000);
	assert_int_equal(r.status, 75);
	has(r.err, "busy: a florabatch is working in it");
	e2e_run_free(&r);
	assert_false(exists(w, "out"));
}

/* Shards of different counts, and a missing shard, are told. */
static void test_shard_counts_told(void **state)
{
	struct world *w = *state;
	batch(w, "h1", 1, 10, "x", NULL);
	batch(w, "h2", 11, 20, "x", NULL);
	sh(w, "echo '{\"shard\":\"1/2\",\"index\":1,\"count\":2,\"rule\":\"sha256-u64be-mod\"}' "
	      "> h1/shard.json");
	sh(w, "echo '{\"shard\":\"2/3\",\"index\":2,\"count\":3,\"rule\":\"sha256-u64be-mod\"}' "
	      "> h2/shard.json");
	struct e2e_run r = fb(w, "merge out h1 h2");
	assert_int_equal(r.status, 0);
	has(r.err, "shard folders of different shard counts (of 2 and of 3)");
	e2e_run_free(&r);
	r = fb(w, "merge out h1");
	assert_int_equal(r.status, 0);
	has(r.err, "1 of 2 shards among the folders");
	e2e_run_free(&r);
	char *json = file(w, "out/merge.json", NULL);
	has(json, "\"shard\":\"1/2\"");
	free(json);
}

/* status over several folders: each, then the total; one unreadable is told and exits 2. */
static void test_status_of_several(void **state)
{
	struct world *w = *state;
	batch(w, "a", 1, 10, "x", NULL);
	assert_int_equal(batch(w, "b", 11, 15, "x", "--sim-fail-rate 1 --retry-failed 0"), 1);
	struct e2e_run r = fb(w, "status a b");
	assert_int_equal(r.status, 0);
	has(r.out, "a\n  state     idle\n");
	has(r.out, "b\n  state     idle\n");
	has(r.out, "total of 2 folders: 0 running, 2 idle\n"
		   "  items     15 with a line: 10 completed, 5 failed, 0 invalid, 0 skipped\n");
	e2e_run_free(&r);
	r = fb(w, "status --json a b");
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
	r = fb(w, "status --json a missing");
	assert_int_equal(r.status, 2);
	has(r.out, "{\"dir\":\"missing\",\"error\":\"missing: No such file or directory\"}");
	has(r.out, "\"total\":{\"folders\":2,\"unreadable\":1,\"running\":0,\"lines\":10,");
	e2e_run_free(&r);
	/* One folder: the object as it always was, no "dir". */
	r = fb(w, "status --json a");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "\"dir\""));
	has(r.out, "{\"running\":false,\"pid\":0,\"lines\":10,");
	e2e_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_folders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_four_folders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_item_in_two_folders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rerun_is_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_midway_then_rerun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_inputs_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mixed_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_formats_and_no_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_folder_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shard_counts_told, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_of_several, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
