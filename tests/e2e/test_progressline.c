/*
 * The progress line end to end, on a real terminal (a pseudo-terminal from
 * script(1)): redrawn at most 4 times a second, ending at total / total;
 * no escape sequence for TERM=dumb, no color with NO_COLOR; nothing of it
 * in a pipe, where --progress jsonl gives JSON objects instead.
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

struct tty_run {
	char *text;
	double secs;
	int status;
};

/* m.csv of n cctv-cam rows in dir. */
static void manifest(const char *dir, int n)
{
	char *p = tu_path(dir, "m.csv");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("id,input_image\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "r%d,https://storage.googleapis.com/b/%d.png\n", i, i);
	fclose(f);
	free(p);
}

/* florabatch run with args under a pseudo-terminal, env before it; what the terminal showed. */
static struct tty_run on_tty(const char *dir, const char *env, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && script -qefc \"env %s '%s' run m.csv --technique cctv-cam "
		 "--workspace ws_accept %s\" /dev/null",
		 dir, env, tu_env("FB_BIN"), args);
	struct tty_run r = {0};
	long long t0 = e2e_now_ms();
	r.status = tu_run(cmd, &r.text, NULL);
	r.secs = (double)(e2e_now_ms() - t0) / 1000.0;
	if (!r.text)
		r.text = strdup("");
	return r;
}

static int count(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void test_redrawn_at_most_four_times_a_second(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	manifest(dir, 30);
	struct tty_run r = on_tty(dir, "TERM=xterm", "--out o1 --sim-run-time 1s --concurrency 10");
	assert_int_equal(r.status, 0);
	int draws = count(r.text, "\r\033[K") - 1; /* the last clears the line */
	print_message("%d redraws in %.1f s\n", draws, r.secs);
	assert_true(draws >= 2);
	assert_true(draws <= 4 * r.secs + 2);
	assert_non_null(strstr(r.text, "30/30 100.0%"));
	assert_non_null(strstr(r.text, "in flight"));
	free(r.text);

	r = on_tty(dir, "TERM=dumb", "--out o2 --sim-run-time 1s --concurrency 10");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.text, "\033"));
	free(r.text);
	tu_rmrf(dir);
	free(dir);
}

static void test_color_and_no_color(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	manifest(dir, 20);
	const char *args = "--sim-run-time 300ms --sim-fail-rate 0.5 --retry-failed 0 "
			   "--concurrency 10 --sim-seed 3";
	char a[512];
	snprintf(a, sizeof(a), "--out o1 %s", args);
	struct tty_run r = on_tty(dir, "TERM=xterm", a);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.text, "\033[31m"));
	free(r.text);
	snprintf(a, sizeof(a), "--out o2 %s", args);
	r = on_tty(dir, "TERM=xterm NO_COLOR=1", a);
	assert_int_equal(r.status, 1);
	assert_null(strstr(r.text, "\033[31m"));
	assert_non_null(strstr(r.text, "failed"));
	free(r.text);
	tu_rmrf(dir);
	free(dir);
}

static void test_pipe_has_none_unless_jsonl(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	manifest(dir, 20);
	struct e2e_run r = e2e_florabatch(dir, "run m.csv --technique cctv-cam --workspace "
					       "ws_accept --out o1 --sim-run-time 1500ms");
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "\033"));
	assert_null(strstr(r.err, "in flight"));
	e2e_run_free(&r);
	r = e2e_florabatch(dir, "run m.csv --technique cctv-cam --workspace ws_accept --out o2 "
				"--sim-run-time 1500ms --progress jsonl --quiet");
	assert_int_equal(r.status, 0);
	int events = count(r.err, "{\"event\":\"progress\"");
	assert_true(events >= 1);
	assert_int_equal(count(r.err, "{\"event\":\"end\""), 1);
	assert_non_null(strstr(r.err, "\"done\":20,"));
	assert_non_null(strstr(r.err, "\"total\":20,"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redrawn_at_most_four_times_a_second),
	    cmocka_unit_test(test_color_and_no_color),
	    cmocka_unit_test(test_pipe_has_none_unless_jsonl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
