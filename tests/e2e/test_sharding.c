/*
 * End-to-end: --shard K/N splits a manifest (a CSV file, JSONL on standard
 * input, a folder of images) between N processes so that together they
 * write every item's line exactly once, each line in the shard its key
 * hashes to; each folder records its shard and refuses another; --shard
 * auto reads Slurm, Kubernetes and GNU parallel's variables; the dry run
 * and the progress events say "shard K/N: M of T"; four shards started
 * at once against one florasim share its rate limit through --rate, where
 * four unshared rates break it; and shards find their own runs on list
 * pages full of each other's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "e2e.h"
#include "shard.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY "sk_test_shard"

/* The schedulers' variables unset, so the machine running the tests cannot leak one in. */
#define CLEAN_ENV                                                                                  \
	"env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT -u SLURM_ARRAY_TASK_MIN "            \
	"-u SLURM_ARRAY_TASK_MAX -u SLURM_ARRAY_TASK_STEP -u JOB_COMPLETION_INDEX "                \
	"-u PARALLEL_SEQ -u FLORABATCH_SHARD_COUNT "

#define SIM_ARGS                                                                                   \
	"--technique cctv-cam --sim-run-time 200ms --sim-latency 1ms --poll-interval 200ms "       \
	"--concurrency 64 --summary line "

/* `cd dir && env ... VARS florabatch ARGS` */
static struct e2e_run fb_env(const char *dir, const char *vars, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && " CLEAN_ENV "%s '%s' %s", dir, vars,
		 tu_env("FB_BIN"), args);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

/* m.csv: rows p1..pn, and (bad) rows whose URL is not one, ids bad1... */
static void write_csv(const char *dir, int n, int bad)
{
	char *p = tu_path(dir, "m.csv");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("id,input_image:imageUrl\n", f);
	for (int i = 1; i <= n; i++) {
		fprintf(f, "p%d,https://storage.googleapis.com/b/%d.jpg\n", i, i);
		if (i % 10 == 0 && i / 10 <= bad)
			fprintf(f, "bad%d,not a url\n", i / 10);
	}
	fclose(f);
	free(p);
}

/* Every line of dir/<fmt with k>/results.jsonl for k = 1..n, each checked against its shard. */
static struct e2e_lines shard_lines(const char *dir, const char *fmt, unsigned n)
{
	struct fb_buf all = FB_BUF_INIT;
	for (unsigned k = 1; k <= n; k++) {
		char rel[256], *path, *text;
		snprintf(rel, sizeof(rel), fmt, k);
		path = tu_path(dir, rel);
		text = tu_read_file(path, NULL);
		if (!text)
			fail_msg("%s: no results", path);
		struct e2e_lines l = e2e_parse_jsonl(text);
		for (size_t i = 0; i < l.n; i++) {
			const char *key = e2e_str(l.v[i], "idempotency_key", NULL);
			const char *id = e2e_str(l.v[i], "id", NULL);
			unsigned got = fb_shard_of(key ? key : id, n);
			if (got != k)
				fail_msg("%s: %s (key %s) is in shard %u, not %u", path, id,
					 key ? key : "none", got, k);
		}
		e2e_lines_free(&l);
		fb_buf_adds(&all, text);
		free(text);
		free(path);
	}
	struct e2e_lines l = e2e_parse_jsonl(fb_buf_str(&all));
	fb_buf_release(&all);
	return l;
}

/* ids p1..pn exactly once each, and (bad) invalid rows once each. */
static void assert_union(const struct e2e_lines *l, int n, int bad)
{
	struct e2e_lines good = {calloc(l->n + 1, sizeof(yajl_val)), 0};
	int invalid = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *id = e2e_str(l->v[i], "id", NULL);
		if (id && !strncmp(id, "bad", 3)) {
			assert_string_equal(e2e_str(l->v[i], "status", NULL), "invalid");
			invalid++;
		} else {
			good.v[good.n++] = l->v[i];
			assert_string_equal(e2e_str(l->v[i], "status", NULL), "completed");
		}
	}
	char why[256];
	if (e2e_check_ids(&good, n, 1, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(invalid, bad);
	free(good.v);
}

static unsigned long long number_after(const char *text, const char *what)
{
	const char *at = strstr(text, what);
	if (!at)
		fail_msg("no \"%s\" in: %s", what, text);
	return strtoull(at + strlen(what), NULL, 10);
}

static void test_csv_split_four_ways(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	write_csv(dir, 60, 3);
	unsigned long long sum = 0;
	for (unsigned k = 1; k <= 4; k++) {
		char args[512], what[64];
		snprintf(args, sizeof(args),
			 "run m.csv " SIM_ARGS "--out out/shard-%u --shard %u/4", k, k);
		struct e2e_run r = fb_env(dir, "", args);
		assert_true(r.status == 0 || r.status == 1); /* 1: it has an invalid row */
		snprintf(what, sizeof(what), "shard %u/4: ", k);
		unsigned long long m = number_after(r.err, what);
		snprintf(what, sizeof(what), "shard %u/4: %llu of ", k, m);
		assert_int_equal(number_after(r.err, what), 63);
		sum += m;
		char rel[64];
		snprintf(rel, sizeof(rel), "out/shard-%u/shard.json", k);
		char *p = tu_path(dir, rel), *text = tu_read_file(p, NULL);
		assert_non_null(text);
		snprintf(what, sizeof(what), "\"shard\":\"%u/4\"", k);
		assert_non_null(strstr(text, what));
		free(text);
		free(p);
		e2e_run_free(&r);
	}
	assert_int_equal(sum, 63);
	struct e2e_lines l = shard_lines(dir, "out/shard-%u/results.jsonl", 4);
	assert_union(&l, 60, 3);
	e2e_lines_free(&l);
	tu_rmrf(dir);
	free(dir);
}

/* A reordered manifest with rows added and removed: no item moves to another shard. */
static void test_shards_stay_when_rows_move(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	write_csv(dir, 30, 0);
	struct e2e_run r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out a --shard 2/3");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	struct e2e_lines first = shard_lines(dir, "a/results.jsonl", 1);
	size_t removed = 0;
	for (size_t i = 0; i < first.n; i++) {
		const char *id = e2e_str(first.v[i], "id", NULL);
		removed += !strcmp(id, "p5") || !strcmp(id, "p6");
	}
	/* reversed, p5 and p6 gone, two new rows */
	char *p = tu_path(dir, "m2.csv");
	FILE *f = fopen(p, "w");
	fputs("id,input_image:imageUrl\nn1,https://storage.googleapis.com/b/new1.jpg\n", f);
	for (int i = 30; i >= 1; i--)
		if (i != 5 && i != 6)
			fprintf(f, "p%d,https://storage.googleapis.com/b/%d.jpg\n", i, i);
	fputs("n2,https://storage.googleapis.com/b/new2.jpg\n", f);
	fclose(f);
	free(p);
	/* The same folder's plan: every earlier item of the shard still there is done. */
	r = fb_env(dir, "", "validate m2.csv --technique cctv-cam --out a --shard 2/3");
	assert_int_equal(r.status, 0);
	unsigned long long fresh = number_after(r.err, " items: ");
	char what[96];
	snprintf(what, sizeof(what), " items: %llu new, %zu done before", fresh, first.n - removed);
	if (!strstr(r.err, what))
		fail_msg("no \"%s\" in: %s", what, r.err);
	assert_true(fresh <= 2); /* at most n1 and n2 */
	e2e_run_free(&r);
	r = fb_env(dir, "", "run m2.csv " SIM_ARGS "--out a --shard 2/3");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	/* Only the new rows of shard 2 ran: one line each, the earlier lines as they were. */
	struct e2e_lines after = shard_lines(dir, "a/results.jsonl", 1);
	assert_int_equal(after.n, first.n + fresh);
	for (size_t i = 0; i < after.n; i++) {
		const char *key = e2e_str(after.v[i], "idempotency_key", NULL);
		assert_int_equal(fb_shard_of(key, 3), 2);
		if (i < first.n)
			assert_string_equal(e2e_str(after.v[i], "id", NULL),
					    e2e_str(first.v[i], "id", NULL));
		else
			assert_int_equal(e2e_str(after.v[i], "id", NULL)[0], 'n');
	}
	e2e_lines_free(&first);
	e2e_lines_free(&after);
	tu_rmrf(dir);
	free(dir);
}

static void test_stdin_jsonl(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	char *p = tu_path(dir, "m.jsonl");
	FILE *f = fopen(p, "w");
	for (int i = 1; i <= 40; i++)
		fprintf(f,
			"{\"id\":\"p%d\",\"inputs\":{\"input_image\":"
			"\"https://storage.googleapis.com/b/%d.jpg\"},\"n\":%d}\n",
			i, i, i);
	fclose(f);
	free(p);
	for (unsigned k = 1; k <= 3; k++) {
		char args[512];
		snprintf(args, sizeof(args),
			 "run - " SIM_ARGS "--out o/%u --shard %u/3 --results - --keep-order "
			 "< m.jsonl > o%u.jsonl",
			 k, k, k);
		struct e2e_run r = fb_env(dir, "", args);
		assert_int_equal(r.status, 0);
		e2e_run_free(&r);
	}
	struct e2e_lines l = shard_lines(dir, "o%u.jsonl", 3);
	assert_union(&l, 40, 0);
	e2e_lines_free(&l);
	/* Each stream in input order (--keep-order passes the other shards' rows). */
	for (unsigned k = 1; k <= 3; k++) {
		char rel[32];
		snprintf(rel, sizeof(rel), "o%u.jsonl", k);
		char *q = tu_path(dir, rel), *text = tu_read_file(q, NULL);
		struct e2e_lines one = e2e_parse_jsonl(text);
		for (size_t i = 1; i < one.n; i++)
			assert_true(atoi(e2e_str(one.v[i - 1], "id", NULL) + 1) <
				    atoi(e2e_str(one.v[i], "id", NULL) + 1));
		e2e_lines_free(&one);
		free(text);
		free(q);
	}
	tu_rmrf(dir);
	free(dir);
}

static void test_folder_of_images(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	char *photos = tu_path(dir, "photos");
	mkdir(photos, 0777);
	for (int i = 1; i <= 24; i++) {
		char name[32], bytes[64];
		snprintf(name, sizeof(name), "p%d.png", i);
		memcpy(bytes, "\x89PNG\r\n\x1a\n", 8);
		int len = 8 + snprintf(bytes + 8, sizeof(bytes) - 8, "image number %d", i);
		free(tu_write_file(photos, name, bytes, (size_t)len));
	}
	unsigned long long sum = 0;
	for (unsigned k = 1; k <= 2; k++) {
		char args[512], what[32];
		snprintf(args, sizeof(args),
			 "run photos " SIM_ARGS "--workspace ws_accept --out o/%u --shard %u/2", k,
			 k);
		struct e2e_run r = fb_env(dir, "", args);
		assert_int_equal(r.status, 0);
		snprintf(what, sizeof(what), "shard %u/2: ", k);
		sum += number_after(r.err, what);
		e2e_run_free(&r);
	}
	assert_int_equal(sum, 24);
	struct e2e_lines l = shard_lines(dir, "o/%u/results.jsonl", 2);
	assert_int_equal(l.n, 24);
	/* ids are the files' paths, p1.png ... p24.png: each once */
	int seen[25] = {0};
	for (size_t i = 0; i < l.n; i++) {
		int n = 0, end = 0;
		const char *id = e2e_str(l.v[i], "id", NULL);
		assert_int_equal(sscanf(id, "p%d.png%n", &n, &end), 1);
		assert_true(n >= 1 && n <= 24 && id[end] == '\0');
		assert_int_equal(seen[n]++, 0);
		assert_string_equal(e2e_str(l.v[i], "status", NULL), "completed");
	}
	e2e_lines_free(&l);
	free(photos);
	tu_rmrf(dir);
	free(dir);
}

/* One folder, one shard: another shard and a run without --shard are refused; --fresh starts over.
 */
static void test_folder_refuses_another_shard(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	write_csv(dir, 12, 0);
	struct e2e_run r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out out --shard 1/2");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	char *rp = tu_path(dir, "out/results.jsonl");
	size_t len1 = 0, len2 = 0;
	free(tu_read_file(rp, &len1));
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out out --shard 2/2");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "holds shard 1/2"));
	assert_non_null(strstr(r.err, "--out out/shard-2"));
	e2e_run_free(&r);
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out out");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "give --shard 1/2"));
	e2e_run_free(&r);
	r = fb_env(dir, "", "validate m.csv --technique cctv-cam --out out --shard 1/3");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "holds shard 1/2"));
	e2e_run_free(&r);
	free(tu_read_file(rp, &len2));
	assert_int_equal(len1, len2); /* nothing was written */
	/* the same shard again: nothing new */
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out out --shard 1/2");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	/* --fresh: the folder becomes shard 2/2 */
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out out --shard 2/2 --fresh");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	char *sp = tu_path(dir, "out/shard.json"), *text = tu_read_file(sp, NULL);
	assert_non_null(strstr(text, "\"shard\":\"2/2\""));
	free(text);
	struct e2e_lines l = shard_lines(dir, "out/results.jsonl", 1);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(fb_shard_of(e2e_str(l.v[i], "idempotency_key", NULL), 2), 2);
	e2e_lines_free(&l);
	/* A folder of a batch run without --shard refuses a shard. */
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out whole");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out whole --shard 1/2");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "holds a batch run without --shard"));
	e2e_run_free(&r);
	free(sp);
	free(rp);
	tu_rmrf(dir);
	free(dir);
}

static void auto_ok(const char *dir, const char *vars, const char *extra, const char *want)
{
	char args[512];
	snprintf(args, sizeof(args), "run m.csv " SIM_ARGS "--out o/auto --fresh --shard auto %s",
		 extra);
	struct e2e_run r = fb_env(dir, vars, args);
	if (r.status || !strstr(r.err, want))
		fail_msg("%s: exit %d, no \"%s\" in: %s", vars, r.status, want, r.err);
	e2e_run_free(&r);
}

static void auto_bad(const char *dir, const char *vars, const char *extra, const char *want)
{
	char args[512];
	snprintf(args, sizeof(args), "run m.csv " SIM_ARGS "--out o/bad --shard auto %s", extra);
	struct e2e_run r = fb_env(dir, vars, args);
	if (r.status != 2 || !strstr(r.err, want) || !strstr(r.err, "--shard auto: "))
		fail_msg("%s: exit %d, no \"%s\" in: %s", vars, r.status, want, r.err);
	e2e_run_free(&r);
}

static void test_shard_auto(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	write_csv(dir, 8, 0);
	/* Slurm: sbatch --array=0-3, task 1 */
	auto_ok(dir,
		"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=3 "
		"SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_STEP=1",
		"", "shard 2/4: ");
	/* Kubernetes: completion index 2 of 3 */
	auto_ok(dir, "JOB_COMPLETION_INDEX=2 FLORABATCH_SHARD_COUNT=3", "", "shard 3/3: ");
	auto_ok(dir, "JOB_COMPLETION_INDEX=0", "--shard-count 2", "shard 1/2: ");
	/* GNU parallel: job 2 of 2 */
	auto_ok(dir, "PARALLEL_SEQ=2 FLORABATCH_SHARD_COUNT=2", "", "shard 2/2: ");
	/* and what is refused, naming the variable */
	auto_bad(dir,
		 "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=6 "
		 "SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_STEP=2",
		 "", "SLURM_ARRAY_TASK_STEP=2");
	auto_bad(dir, "SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=4", "",
		 "SLURM_ARRAY_TASK_ID=\"x\"");
	auto_bad(dir, "JOB_COMPLETION_INDEX=1", "", "FLORABATCH_SHARD_COUNT");
	auto_bad(dir, "JOB_COMPLETION_INDEX=3 FLORABATCH_SHARD_COUNT=3", "",
		 "JOB_COMPLETION_INDEX=3");
	auto_bad(dir, "PARALLEL_SEQ=1 FLORABATCH_SHARD_COUNT=zero", "",
		 "FLORABATCH_SHARD_COUNT=\"zero\"");
	auto_bad(dir, "", "", "no scheduler's index is set");
	/* --shard K/N and --shard-count are checked too */
	struct e2e_run r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out o/x --shard 5/4");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--shard: expected K/N"));
	e2e_run_free(&r);
	r = fb_env(dir, "", "run m.csv " SIM_ARGS "--out o/x --shard 1/4 --shard-count 4");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--shard-count goes with --shard auto"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

/* The dry run and the progress events say which shard and how many of the items. */
static void test_dry_run_and_progress_say_the_shard(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	write_csv(dir, 40, 0);
	unsigned long long sum = 0;
	for (unsigned k = 1; k <= 3; k++) {
		char args[256], what[64];
		snprintf(args, sizeof(args), "validate m.csv --technique cctv-cam --shard %u/3", k);
		struct e2e_run r = fb_env(dir, "", args);
		assert_int_equal(r.status, 0);
		snprintf(what, sizeof(what), "dry run of m.csv, shard %u/3: ", k);
		unsigned long long m = number_after(r.err, what);
		snprintf(what, sizeof(what), "shard %u/3: %llu of 40 items: %llu new", k, m, m);
		assert_non_null(strstr(r.err, what));
		sum += m;
		e2e_run_free(&r);
	}
	assert_int_equal(sum, 40);
	struct e2e_run r =
	    fb_env(dir, "", "run m.csv " SIM_ARGS "--out o --shard 2/3 --progress jsonl --quiet");
	assert_int_equal(r.status, 0);
	const char *end = strstr(r.err, "{\"event\":\"end\"");
	assert_non_null(end);
	assert_non_null(strstr(end, "\"shard\":\"2/3\""));
	assert_non_null(strstr(end, "\"manifest_read\":40"));
	/* the shard's total, exact once the manifest is read through */
	unsigned long long done = number_after(end, "\"done\":");
	assert_int_equal(number_after(end, "\"total\":"), done);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

/*
 * N = 4 processes at once against one florasim that takes 40 requests a
 * second (a bucket of 10): with --rate 36 --burst 8, the workspace's, each
 * shard goes at 9 a second with a bucket of 2, and florasim refuses at most
 * FEW_429 requests. None was refused in any run so far; 2 leaves room for
 * requests a loaded machine delays and delivers together, and stays below
 * what a shard that paced itself at the whole --rate costs (one 429 each
 * before the 429 halves its rate: 4 in all). The same four each at 36 a
 * second with a bucket of 8 (--rate 144 --burst 32, shared by 4) are the
 * control: florasim must refuse them at least MANY_429 times (15 to 29 so
 * far), or the setup proves nothing.
 */
#define ITEMS	 80
#define FEW_429	 2
#define MANY_429 8

/* n shards of m.csv (items rows) at once against w's florasim, into out/shard-K; each
 * must exit 0, and together write every item once, completed. */
static void shards_at_once(struct e2e_world *w, unsigned n, int items, const char *extra,
			   const char *out)
{
	int pid[8];
	assert_true(n <= 8);
	for (unsigned k = 1; k <= n; k++) {
		char args[1024], log[64];
		snprintf(args, sizeof(args),
			 "run m.csv --transport http --base-url %s --technique cctv-cam --out "
			 "%s/shard-%u --shard %u/%u %s --seed %u --summary line",
			 w->sim.base, out, k, k, n, extra, k);
		snprintf(log, sizeof(log), "%s-%u", out, k);
		pid[k - 1] = e2e_florabatch_spawn(w->dir, KEY, args, log);
	}
	for (unsigned k = 1; k <= n; k++) {
		int st = e2e_wait(pid[k - 1], 90000);
		if (st != 0) {
			char log[64];
			snprintf(log, sizeof(log), "%s-%u.err", out, k);
			char *p = tu_path(w->dir, log), *text = tu_read_file(p, NULL);
			fail_msg("shard %u/%u exited %d: %s", k, n, st, text ? text : "");
		}
	}
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%s/shard-%%u/results.jsonl", out);
	struct e2e_lines l = shard_lines(w->dir, fmt, n);
	assert_union(&l, items, 0);
	e2e_lines_free(&l);
}

static long long four_at_once(void **state, const char *rate, const char *out)
{
	struct e2e_world *w =
	    e2e_world_start(state, KEY, "--run-time 300ms --rate-limit 40 --burst 10");
	write_csv(w->dir, ITEMS, 0);
	char extra[256];
	snprintf(extra, sizeof(extra), "%s --concurrency 64", rate);
	shards_at_once(w, 4, ITEMS, extra, out);
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long limited = e2e_num(st, "rate_limited", NULL);
	assert_int_equal(e2e_num(st, "runs_created", NULL), ITEMS);
	assert_int_equal(e2e_num(st, "max_runs_per_key", NULL), 1);
	print_message("four shards with %s: %lld requests, %lld answered 429, at most %lld in a "
		      "second\n",
		      rate, e2e_num(st, "requests", NULL), limited,
		      e2e_num(st, "max_requests_per_second", NULL));
	yajl_tree_free(st);
	return limited;
}

static void test_four_shards_share_the_rate_limit(void **state)
{
	long long paced = four_at_once(state, "--rate 36 --burst 8", "paced");
	assert_true(paced <= FEW_429);
	e2e_world_teardown(state);
	long long unshared = four_at_once(state, "--rate 144 --burst 32", "unshared");
	assert_true(unshared >= MANY_429);
}

/*
 * Two shards of one workspace each read the other's runs on every list
 * page. Each must read as much deeper as its share of the pages is
 * smaller, or the runs that finish behind younger ones fall off the pages
 * it reads and wait for a GET of their own: before, 11 to 20 of 300 did,
 * the first of them after 30 s, for runs of 200 ms.
 */
#define PAIR_ITEMS 300
static void test_shards_find_their_runs_on_shared_pages(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms --latency 0-20ms");
	write_csv(w->dir, PAIR_ITEMS, 0);
	shards_at_once(w, 2, PAIR_ITEMS, "--concurrency 50", "pair");
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long gets = e2e_num(st, "polls", NULL), lists = e2e_num(st, "lists", NULL);
	print_message("two shards, %d runs of 200 ms: %lld list pages, %lld GETs of one run\n",
		      PAIR_ITEMS, lists, gets);
	assert_true(gets <= PAIR_ITEMS / 60);
	yajl_tree_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_split_four_ways),
	    cmocka_unit_test(test_shards_stay_when_rows_move),
	    cmocka_unit_test(test_stdin_jsonl),
	    cmocka_unit_test(test_folder_of_images),
	    cmocka_unit_test(test_folder_refuses_another_shard),
	    cmocka_unit_test(test_shard_auto),
	    cmocka_unit_test(test_dry_run_and_progress_say_the_shard),
	    cmocka_unit_test_teardown(test_four_shards_share_the_rate_limit, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_shards_find_their_runs_on_shared_pages,
				      e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
