/*
 * A symbolic link planted in the output folder or under --outputs-dir where
 * one of florabatch's files or item folders goes is refused, with the I/O
 * exit status and a message naming it, and the file or folder it points at
 * is left as it was. A link the user names on the command line is theirs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VICTIM "precious bytes that are not florabatch's\n"
#define RUN                                                                                        \
	"run imgs --technique cctv-cam --workspace ws_accept --out out --sim-clock virtual "       \
	"--summary line"

/* A world: two images, an empty out/, a victim file and an empty victim folder beside them. */
static char *world(void)
{
	char *dir = tu_tmpdir(), *imgs = tu_path(dir, "imgs"), *out = tu_path(dir, "out"),
	     *vdir = tu_path(dir, "victim-dir");
	assert_int_equal(mkdir(imgs, 0777), 0);
	assert_int_equal(mkdir(out, 0777), 0);
	assert_int_equal(mkdir(vdir, 0777), 0);
	free(tu_write_file(imgs, "a.png", "\x89PNG\r\n\x1a\n-a-", 11));
	free(tu_write_file(imgs, "b.png", "\x89PNG\r\n\x1a\n-b-", 11));
	free(tu_write_file(dir, "victim.txt", VICTIM, strlen(VICTIM)));
	free(imgs);
	free(out);
	free(vdir);
	return dir;
}

static void plant(const char *dir, const char *name, const char *target)
{
	char *link = tu_path(dir, name), *to = tu_path(dir, target);
	assert_int_equal(symlink(to, link), 0);
	free(link);
	free(to);
}

static void assert_victim_whole(const char *dir)
{
	char *p = tu_path(dir, "victim.txt");
	size_t len = 0;
	char *got = tu_read_file(p, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(VICTIM));
	assert_memory_equal(got, VICTIM, len);
	free(got);
	free(p);
	p = tu_path(dir, "victim-dir");
	DIR *d = opendir(p);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("%s was written into the victim folder", e->d_name);
	closedir(d);
	free(p);
}

/* Plants out/<name> (or any path) as a link to target, runs, expects a refusal naming it. */
static void refused(const char *name, const char *target, const char *extra)
{
	char *dir = world(), args[1024];
	plant(dir, name, target);
	snprintf(args, sizeof(args), "%s %s", RUN, extra ? extra : "");
	struct e2e_run r = e2e_florabatch(dir, args);
	if (r.status != 4 || !strstr(r.err, name) || !strstr(r.err, "symbolic link"))
		print_error("%s: exit %d: %s\n", name, r.status, r.err);
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, name));
	assert_non_null(strstr(r.err, "symbolic link"));
	assert_victim_whole(dir);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_results(void **state)
{
	(void)state;
	refused("out/results.jsonl", "victim.txt", NULL);
}

static void test_journal(void **state)
{
	(void)state;
	refused("out/journal.jsonl", "victim.txt", NULL);
}

static void test_spool(void **state)
{
	(void)state;
	refused("out/spool.dat", "victim.txt", NULL);
}

static void test_volumes_index(void **state)
{
	(void)state;
	refused("out/volumes.jsonl", "victim.txt", NULL);
}

static void test_local_hashes(void **state)
{
	(void)state;
	refused("out/local-hashes.tsv", "victim.txt", NULL);
}

static void test_volume(void **state)
{
	(void)state;
	refused("out/outputs.tar.gz", "victim.txt", NULL);
}

static void test_volume_tmp(void **state)
{
	(void)state;
	refused("out/outputs.tar.gz.tmp", "victim.txt", NULL);
}

static void test_lock(void **state)
{
	(void)state;
	refused("out/.lock", "victim.txt", NULL);
}

/* pack's archive is written under a temporary name first: a link there is refused. */
static void test_pack_tmp(void **state)
{
	(void)state;
	char *dir = world();
	struct e2e_run r = e2e_florabatch(dir, RUN);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	plant(dir, "out/outputs-all.tar.gz.tmp", "victim.txt");
	r = e2e_florabatch(dir, "pack out");
	if (r.status != 4)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, "out/outputs-all.tar.gz.tmp"));
	assert_non_null(strstr(r.err, "symbolic link"));
	assert_victim_whole(dir);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_outputs_dir_item_folder(void **state)
{
	(void)state;
	/* The folder --outputs-dir names exists; an item's folder in it is a link. */
	char *dir = world(), *loose = tu_path(dir, "loose");
	assert_int_equal(mkdir(loose, 0777), 0);
	free(loose);
	plant(dir, "loose/a.png", "victim-dir");
	struct e2e_run r = e2e_florabatch(dir, RUN " --outputs-dir loose");
	if (r.status != 4)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 4);
	assert_non_null(strstr(r.err, "loose/a.png"));
	assert_non_null(strstr(r.err, "symbolic link"));
	assert_victim_whole(dir);
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

/* Without links a run works, and a link the user names with --results is followed. */
static void test_normal_and_user_links(void **state)
{
	(void)state;
	char *dir = world();
	plant(dir, "mine.jsonl", "real.jsonl");
	plant(dir, "loose", "victim-dir"); /* --outputs-dir itself: the user's own link */
	struct e2e_run r = e2e_florabatch(dir, RUN " --results mine.jsonl --outputs-dir loose");
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	char *real = tu_path(dir, "real.jsonl");
	char *text = tu_read_file(real, NULL);
	assert_non_null(text);
	struct e2e_lines l = e2e_parse_jsonl(text);
	assert_int_equal(l.n, 2);
	e2e_lines_free(&l);
	free(text);
	free(real);
	char *item = tu_path(dir, "victim-dir/a.png");
	struct stat st;
	assert_int_equal(stat(item, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(item);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_journal),
	    cmocka_unit_test(test_spool),
	    cmocka_unit_test(test_volumes_index),
	    cmocka_unit_test(test_local_hashes),
	    cmocka_unit_test(test_volume),
	    cmocka_unit_test(test_volume_tmp),

	    cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_pack_tmp),
	    cmocka_unit_test(test_outputs_dir_item_folder),
	    cmocka_unit_test(test_normal_and_user_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
