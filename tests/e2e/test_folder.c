/*
 * End-to-end: a folder of images against florasim, as an hourly cron job
 * would run it: every image uploaded once (identical files once), one run
 * per distinct image, results and archive mirroring the folder; a re-run
 * with three new files uploads and runs exactly those three; a re-run with
 * nothing new exits 0 at once and says nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define KEY "sk_test_folder"

/* A file a reader takes for a PNG, its bytes told apart by n. */
static void png(const char *dir, const char *name, int n)
{
	char bytes[64];
	memcpy(bytes, "\x89PNG\r\n\x1a\n", 8);
	int len = 8 + snprintf(bytes + 8, sizeof(bytes) - 8, "image number %d", n);
	free(tu_write_file(dir, name, bytes, (size_t)len));
}

static struct e2e_run cron(struct e2e_world *w)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=" KEY " '%s' run photos --transport http --base-url "
		 "%s --technique cctv-cam --workspace ws_accept --out out --poll-interval 200ms "
		 "--summary block",
		 w->dir, tu_env("FB_BIN"), w->sim.base);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

static long long stat_of(struct e2e_world *w, const char *key)
{
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long v = e2e_num(st, key, NULL);
	yajl_tree_free(st);
	return v;
}

static void test_folder_then_new_files(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms");
	char *photos = tu_path(w->dir, "photos"), *nested = tu_path(w->dir, "photos/2026/march");
	mkdir(photos, 0777);
	char *mid = tu_path(w->dir, "photos/2026");
	mkdir(mid, 0777);
	mkdir(nested, 0777);
	char name[64];
	for (int i = 0; i < 40; i++) { /* 40 distinct images */
		snprintf(name, sizeof(name), "img-%02d.png", i);
		png(i < 20 ? photos : nested, name, i);
	}
	for (int i = 0; i < 10; i++) { /* 10 copies of images above, under other names */
		snprintf(name, sizeof(name), "copy-%02d.png", i);
		png(mid, name, i);
	}
	free(tu_write_file(photos, "notes.txt", "not an image\n", 13));
	free(tu_write_file(photos, "fake.jpg", "text, not a jpeg\n", 17));

	struct e2e_run r = cron(w);
	if (r.status)
		print_error("%s\n", r.err);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "2 not images"));
	assert_int_equal(stat_of(w, "assets_created"), 40); /* the copies uploaded once */
	assert_int_equal(stat_of(w, "runs_created"), 40);
	char *rp = tu_path(w->dir, "out/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 50);
	yajl_val line = e2e_find(&l, "2026/march/img-25.png");
	assert_non_null(line);
	assert_string_equal(e2e_str(line, "status", NULL), "completed");
	const char *ap[] = {"assets", NULL};
	yajl_val assets = yajl_tree_get(line, ap, yajl_t_array);
	assert_non_null(assets);
	assert_non_null(
	    strstr(e2e_str(YAJL_GET_ARRAY(assets)->values[0], "asset_id", NULL), "asset_"));
	/* The archive mirrors the folder. */
	char *arch = tu_path(w->dir, "out/outputs.tar.gz");
	struct e2e_archive a = e2e_read_archive(arch);
	int mirrored = 0;
	for (size_t i = 0; i < a.n; i++)
		mirrored |= !strncmp(a.names[i], "2026/march/img-25.png/", 22);
	assert_true(mirrored);
	assert_int_equal(a.n, 50);
	e2e_archive_free(&a);
	e2e_lines_free(&l);
	free(text);
	e2e_run_free(&r);

	/* An hour later: three new photos. */
	for (int i = 40; i < 43; i++) {
		snprintf(name, sizeof(name), "new-%02d.png", i);
		png(photos, name, i);
	}
	r = cron(w);
	assert_int_equal(r.status, 0);
	assert_int_equal(stat_of(w, "assets_created"), 43);
	assert_int_equal(stat_of(w, "runs_created"), 43);
	text = tu_read_file(rp, NULL);
	l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 53);
	e2e_lines_free(&l);
	free(text);
	e2e_run_free(&r);

	/* Nothing new: exit 0, nothing said, nothing sent. */
	long long before = stat_of(w, "requests");
	r = cron(w);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(stat_of(w, "requests"), before + 1); /* only our own stats call */
	e2e_run_free(&r);
	free(rp);
	free(arch);
	free(photos);
	free(nested);
	free(mid);
}

/* Sets path's modification time to ago seconds before now. */
static void age(const char *dir, const char *name, long ago)
{
	char *p = tu_path(dir, name);
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= ago;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

/* Overwrites the file's bytes in place, keeping its inode, length and modification time. */
static void overwrite_in_place(const char *dir, const char *name, char with)
{
	char *p = tu_path(dir, name);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	size_t len = 0;
	char *old = tu_read_file(p, &len);
	memset(old + 8, with, len - 8); /* after the PNG signature */
	FILE *f = fopen(p, "r+");
	assert_non_null(f);
	assert_int_equal(fwrite(old, 1, len, f), len);
	fclose(f);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(old);
	free(p);
}

/*
 * The stat cache: a re-scan of an unchanged folder reads none of its files
 * (shown by a file rewritten behind the cache's back, same inode, size and
 * mtime: its old hash is kept); a changed file is hashed and uploaded again;
 * a file changed moments ago is never trusted to the cache.
 */
static void test_unchanged_folder_not_read(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 100ms");
	char *photos = tu_path(w->dir, "photos");
	mkdir(photos, 0777);
	char name[64];
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "img-%02d.png", i);
		png(photos, name, i);
		age(photos, name, 3600);
	}
	struct e2e_run r = cron(w);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "30 images (0 unchanged since the last scan"));
	e2e_run_free(&r);
	char *cache = tu_path(w->dir, "out/local-hashes.tsv");
	struct stat st;
	assert_int_equal(stat(cache, &st), 0);

	/* Rewritten behind the cache's back; a new file, fresh; a changed file, older. */
	overwrite_in_place(photos, "img-00.png", 'x');
	png(photos, "fresh.png", 100);
	/* Under a wrapper (valgrind) florabatch takes longer to start than the window in
	 * which a change is too fresh to trust: dated a minute ahead, it stays fresh. */
	if (e2e_wrapped())
		age(photos, "fresh.png", -60);
	png(photos, "img-01.png", 101);
	age(photos, "img-01.png", 1800);
	r = cron(w);
	assert_int_equal(r.status, 0);
	if (!strstr(r.err, "31 images (29 unchanged since the last scan"))
		print_error("%s\n", r.err);
	assert_non_null(strstr(r.err, "31 images (29 unchanged since the last scan"));
	e2e_run_free(&r);
	assert_int_equal(stat_of(w, "assets_created"), 32); /* fresh.png and the new img-01 */
	assert_int_equal(stat_of(w, "runs_created"), 32);
	char *rp = tu_path(w->dir, "out/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 32); /* img-00 kept its hash: its item was done before */
	e2e_lines_free(&l);
	free(text);

	/* fresh.png was too new to trust: hashed again, the others not. */
	png(photos, "later.png", 102);
	r = cron(w);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "32 images (30 unchanged since the last scan"));
	e2e_run_free(&r);
	free(rp);
	free(cache);
	free(photos);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_folder_then_new_files, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_unchanged_folder_not_read, e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
