/*
 * safeopen: a file or folder inside a shared folder is never reached through
 * a symbolic link (the last component, a folder on the way, one not made
 * yet), while the folder the user named and the links the user named are.
 */
#define _GNU_SOURCE /* realpath */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "safeopen.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void link_to(const char *dir, const char *name, const char *target)
{
	char *p = tu_path(dir, name), *t = tu_path(dir, target);
	assert_int_equal(symlink(t, p), 0);
	free(p);
	free(t);
}

static void test_open_refuses_a_link(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *victim = tu_write_file(dir, "victim", "keep", 4);
	link_to(dir, "f", "victim");
	char *f = tu_path(dir, "f");
	errno = 0;
	assert_int_equal(fb_safe_open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(fb_safe_strerror(ELOOP), "symbolic link"));
	assert_null(fb_safe_fopen(f, "a"));
	assert_int_equal(fb_safe_truncate(f, 0), -1);
	assert_int_equal(fb_safe_nolink(f), -1);
	struct stat st;
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 4);
	/* A plain file opens. */
	assert_int_equal(fb_safe_nolink(victim), 0);
	FILE *g = fb_safe_fopen(victim, "r");
	assert_non_null(g);
	fclose(g);
	free(f);
	free(victim);
	tu_rmrf(dir);
	free(dir);
}

static void test_mkdirs_walks_beneath(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *base = tu_path(dir, "base/deeper"), *err_dir = NULL;
	struct fb_err err = {0};
	/* base and every folder are made; base's own parents too. */
	assert_int_equal(fb_safe_mkdirs(base, "a/b/c/file", &err), 0);
	char *made = tu_path(dir, "base/deeper/a/b/c");
	struct stat st;
	assert_int_equal(stat(made, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(made);
	/* A link two folders down, with folders beyond it still to make. */
	assert_int_equal(mkdir(err_dir = tu_path(dir, "victim"), 0777), 0);
	link_to(dir, "base/deeper/a/l", "victim");
	assert_int_equal(fb_safe_mkdirs(base, "a/l/x/file", &err), FB_EIO);
	assert_non_null(strstr(err.msg, "a/l"));
	assert_non_null(strstr(err.msg, "symbolic link"));
	char *inside = tu_path(dir, "victim/x");
	assert_int_not_equal(stat(inside, &st), 0);
	free(inside);
	/* A file where a folder goes is an error of its own, not a link. */
	free(tu_write_file(dir, "base/deeper/a/plain", "x", 1));
	fb_err_clear(&err);
	assert_int_equal(fb_safe_mkdirs(base, "a/plain/file", &err), FB_EIO);
	assert_null(strstr(err.msg, "symbolic link"));
	/* Nor does a walk climb out. */
	fb_err_clear(&err);
	assert_int_equal(fb_safe_mkdirs(base, "a/../../up/file", &err), FB_EIO);
	char *up = tu_path(dir, "base/up");
	assert_int_not_equal(stat(up, &st), 0);
	free(up);
	/* The folder the user named may itself be a link. */
	link_to(dir, "mine", "victim");
	char *mine = tu_path(dir, "mine");
	assert_int_equal(fb_safe_mkdirs(mine, "y/file", &err), 0);
	free(mine);
	free(err_dir);
	free(base);
	tu_rmrf(dir);
	free(dir);
}

static void test_user_path(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *real = tu_write_file(dir, "real", "x", 1);
	link_to(dir, "l", "real");
	char *l = tu_path(dir, "l"), *got = fb_safe_user_path(l);
	char *want = realpath(real, NULL);
	assert_string_equal(got, want);
	free(got);
	free(want);
	/* A link to a file still to be made: relative to the link's folder. */
	char *d = tu_path(dir, "d");
	assert_int_equal(symlink("later", d), 0);
	got = fb_safe_user_path(d);
	char *later = tu_path(dir, "later");
	assert_string_equal(got, later);
	free(later);
	free(got);
	free(d);
	/* Not a link: as given. */
	got = fb_safe_user_path("no/such/file");
	assert_string_equal(got, "no/such/file");
	free(got);
	free(l);
	free(real);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_refuses_a_link),
	    cmocka_unit_test(test_mkdirs_walks_beneath),
	    cmocka_unit_test(test_user_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
