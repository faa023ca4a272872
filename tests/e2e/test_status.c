/*
 * florabatch status on a folder with a history: items completed, items
 * failed with two error codes, runs in flight, and invocations that ended
 * or were killed. Text for a person and --json for a script must both say
 * what the files say, while an invocation holds the folder and after.
 */
#define _DEFAULT_SOURCE /* wait4: the peak RSS of one child */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk_test_status"

struct world {
	char *dir;
	struct e2e_sim fast, slow; /* runs of 500 ms (mugshot forbidden); runs of a minute */
	int pid;		   /* a background florabatch, killed by teardown */
};

static int teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		e2e_florasim_stop(&w->fast);
		e2e_florasim_stop(&w->slow);
		tu_rmrf(w->dir);
		free(w->dir);
		free(w);
	}
	*state = NULL;
	return 0;
}

/* A manifest of n rows of technique tech, ids prefix1..prefixN. */
static void manifest(struct world *w, const char *name, const char *prefix, int n, const char *tech)
{
	char text[4096];
	size_t len = (size_t)snprintf(text, sizeof(text), "id,technique,input_image:imageUrl\n");
	for (int i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%s%d,%s,https://storage.googleapis.com/b/%s%d.jpg\n",
					prefix, i, tech, prefix, i);
	free(tu_write_file(w->dir, name, text, len));
}

static struct e2e_run fb(struct world *w, const struct e2e_sim *sim, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=" KEY " '%s' run --transport http --base-url %s "
		 "--out out --poll-interval 200ms %s",
		 w->dir, tu_env("FB_BIN"), sim->base, args);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

/* `florabatch status [--json] out`: its standard output; it must exit 0. */
static char *status(struct world *w, int json)
{
	char cmd[4096], *out = NULL, *err = NULL;
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' status %s out", w->dir, tu_env("FB_BIN"),
		 json ? "--json" : "");
	int st = tu_run(cmd, &out, &err);
	if (st)
		print_error("status exited %d: %s\n", st, err);
	assert_int_equal(st, 0);
	free(err);
	return out;
}

static yajl_val status_json(struct world *w)
{
	char *out = status(w, 1);
	struct e2e_lines l = e2e_parse_jsonl(out);
	assert_int_equal(l.n, 1);
	yajl_val v = l.v[0];
	l.v[0] = NULL;
	l.n = 0;
	e2e_lines_free(&l);
	free(out);
	return v;
}

static void has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		print_error("status says:\n%s\n(expected it to contain \"%s\")\n", text, needle);
	assert_non_null(strstr(text, needle));
}

/* The failures entry of code: its count and example, or fails. */
static long long failures_of(yajl_val st, const char *code, const char **example)
{
	const char *path[] = {"failures", NULL};
	yajl_val a = yajl_tree_get(st, path, yajl_t_array);
	assert_non_null(a);
	for (size_t i = 0; i < a->u.array.len; i++) {
		yajl_val f = a->u.array.values[i];
		const char *c = e2e_str(f, "code", NULL);
		if (c && !strcmp(c, code)) {
			*example = e2e_str(f, "example", NULL);
			return e2e_num(f, "count", NULL);
		}
	}
	print_error("no failures entry for %s\n", code);
	fail();
	return -1;
}

static int is_null(yajl_val v, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};
	yajl_val x = yajl_tree_get(v, path, yajl_t_any);
	return x && YAJL_IS_NULL(x);
}

/* The sum of the record's charged_cost, as status should add it up. */
static double record_cost(struct world *w)
{
	char *p = tu_path(w->dir, "out/results.jsonl"), *text = tu_read_file(p, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	double sum = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *path[] = {"charged_cost", NULL};
		yajl_val c = yajl_tree_get(l.v[i], path, yajl_t_number);
		sum += c ? YAJL_GET_DOUBLE(c) : 0;
	}
	e2e_lines_free(&l);
	free(text);
	free(p);
	return sum;
}

static void test_status_of_a_folder_with_a_history(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	*state = w;
	w->dir = tu_tmpdir();
	w->fast = e2e_florasim_start("--api-key " KEY
				     " --quiet --run-time 500ms --run-time-sigma 0 --forbidden "
				     "mugshot");
	w->slow = e2e_florasim_start("--api-key " KEY " --quiet --run-time 60s");

	/*
	 * Three complete; then, once the API has accepted a create, two are
	 * refused (403 forbidden: refused before any acceptance they would be
	 * skipped, as maybe the whole batch's refusal): exit 1.
	 */
	manifest(w, "a.csv", "ok", 3, "cctv-cam");
	static const char b[] = "id,technique,input_image:imageUrl\n"
				"yes1,cctv-cam,https://storage.googleapis.com/b/yes1.jpg\n"
				"no1,mugshot,https://storage.googleapis.com/b/no1.jpg\n"
				"no2,mugshot,https://storage.googleapis.com/b/no2.jpg\n";
	free(tu_write_file(w->dir, "b.csv", b, sizeof(b) - 1));
	struct e2e_run r = fb(w, &w->fast, "a.csv");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	r = fb(w, &w->fast, "b.csv --concurrency 1");
	assert_int_equal(r.status, 1);
	e2e_run_free(&r);
	/* Two outlive --run-timeout (code timeout). */
	manifest(w, "c.csv", "slow", 2, "cctv-cam");
	r = fb(w, &w->slow, "c.csv --run-timeout 300ms");
	assert_int_equal(r.status, 1);
	e2e_run_free(&r);

	yajl_val st = status_json(w);
	assert_int_equal(e2e_num(st, "completed", NULL), 4);
	assert_int_equal(e2e_num(st, "failed", NULL), 4);
	assert_int_equal(e2e_num(st, "in_flight", NULL), 0);
	const char *ex;
	assert_int_equal(failures_of(st, "forbidden", &ex), 2);
	assert_non_null(ex);
	assert_int_equal(failures_of(st, "timeout", &ex), 2);
	assert_non_null(ex);
	assert_int_equal(e2e_num(st, "failures_other_codes", NULL), 0);
	/* The last invocation ended (exit 1, after it started). */
	long long started = e2e_num(st, "last_invocation", "started_at", NULL);
	long long ended = e2e_num(st, "last_invocation", "ended_at", NULL);
	assert_true(started > 1600000000000LL);
	assert_true(ended >= started);
	assert_int_equal(e2e_num(st, "last_invocation", "exit", NULL), 1);
	yajl_tree_free(st);
	char *text = status(w, 0);
	has(text, "state     idle");
	has(text, ", exit 1\n");
	has(text, "4 failed");
	has(text, "in flight 0 runs");
	has(text, "failed    2 forbidden");
	has(text, "          2 timeout");
	free(text);

	/* Three runs of a minute in flight, while their invocation holds the folder. */
	manifest(w, "d.csv", "fly", 3, "cctv-cam");
	char args[1024];
	snprintf(args, sizeof(args),
		 "run d.csv --transport http --base-url %s --out out --concurrency 3",
		 w->slow.base);
	w->pid = e2e_florabatch_spawn(w->dir, KEY, args, "fly");
	long long until = e2e_now_ms() + 10000;
	for (;;) {
		st = status_json(w);
		long long n = e2e_num(st, "in_flight", NULL);
		if (n == 3)
			break;
		yajl_tree_free(st);
		assert_true(e2e_now_ms() < until && e2e_wait(w->pid, 0) < 0);
		e2e_sleep_ms(50);
	}
	const char *running[] = {"running", NULL};
	assert_true(YAJL_IS_TRUE(yajl_tree_get(st, running, yajl_t_true)));
	assert_int_equal(e2e_num(st, "pid", NULL), w->pid);
	assert_int_equal(e2e_num(st, "last_invocation", "pid", NULL), w->pid);
	assert_true(is_null(st, "last_invocation", "ended_at"));
	assert_true(is_null(st, "last_invocation", "exit"));
	assert_int_equal(e2e_num(st, "completed", NULL), 4);
	yajl_tree_free(st);
	text = status(w, 0);
	has(text, "state     running (pid");
	has(text, "still running");
	has(text, "in flight 3 runs created with no line yet\n");
	free(text);

	/* Killed: no end on record; its runs wait for the next invocation. */
	int pid = w->pid;
	kill(w->pid, SIGKILL);
	assert_int_equal(e2e_wait(w->pid, 5000), 128 + SIGKILL);
	w->pid = 0;
	st = status_json(w);
	assert_false(YAJL_IS_TRUE(yajl_tree_get(st, running, yajl_t_any)));
	assert_int_equal(e2e_num(st, "in_flight", NULL), 3);
	assert_int_equal(e2e_num(st, "last_invocation", "pid", NULL), pid);
	assert_true(is_null(st, "last_invocation", "ended_at"));
	assert_int_equal(e2e_num(st, "lines", NULL), 8);
	const char *cost[] = {"charged_cost", NULL};
	yajl_val c = yajl_tree_get(st, cost, yajl_t_number);
	assert_non_null(c);
	assert_true(YAJL_GET_DOUBLE(c) > 0); /* the completed runs were charged */
	assert_true(fabs(YAJL_GET_DOUBLE(c) - record_cost(w)) < 1e-6);
	yajl_tree_free(st);
	text = status(w, 0);
	has(text, "state     idle");
	has(text, "no end on record");
	has(text, "in flight 3 runs created with no line yet (the next invocation picks them up");
	free(text);
}

/* Runs `florabatch status --json dir` alone: its standard output into out, its peak RSS in KiB. */
static long status_rss(const char *dir, char **out)
{
	char *path = tu_path(dir, "status.json");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen(path, "w", stdout))
			_exit(127);
		execl(tu_env("FB_BIN"), "florabatch", "status", "--json", dir, (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	assert_int_equal(wait4(pid, &st, 0, &ru), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	*out = tu_read_file(path, NULL);
	free(path);
	return ru.ru_maxrss;
}

/*
 * Status streams the files: 400,000 lines and as many journal keys take no
 * more memory than a handful, past the fixed key sets and the table of 32
 * error codes, and 40 codes are told as 32 and the rest.
 */
static void test_status_memory_stays_flat(void **state)
{
	(void)state;
	enum { LINES = 400000, CODES = 40, FLYING = 100 };
	char *dir = tu_tmpdir(), *rp = tu_path(dir, "results.jsonl");
	char *jp = tu_path(dir, "journal.jsonl");
	FILE *r = fopen(rp, "w"), *j = fopen(jp, "w");
	assert_non_null(r);
	assert_non_null(j);
	for (int i = 0; i < LINES + FLYING; i++) {
		char key[40];
		snprintf(key, sizeof(key), "fb1-%032x", i);
		fprintf(j, "{\"t\":\"create\",\"key\":\"%s\"}\n", key);
		fprintf(j, "{\"t\":\"run\",\"key\":\"%s\",\"run\":\"run_%d\"}\n", key, i);
		if (i >= LINES)
			continue;
		if (i % 4)
			fprintf(
			    r,
			    "{\"id\":\"i%d\",\"status\":\"completed\",\"idempotency_key\":\"%s\","
			    "\"attempts\":1,\"outputs\":[],\"charged_cost\":0.25,\"error\":null}\n",
			    i, key);
		else
			fprintf(r,
				"{\"id\":\"i%d\",\"status\":\"failed\",\"idempotency_key\":\"%s\","
				"\"attempts\":1,\"outputs\":[],\"charged_cost\":null,\"error\":"
				"{\"code\":\"code_%02d\",\"message\":\"line %d failed\"}}\n",
				i, key, i / 4 % CODES, i);
	}
	assert_int_equal(fclose(r), 0);
	assert_int_equal(fclose(j), 0);
	char *out = NULL, *empty = tu_tmpdir();
	long base = status_rss(empty, &out); /* the program itself, its libraries */
	free(out);
	tu_rmrf(empty);
	free(empty);
	long rss = status_rss(dir, &out);
	struct e2e_lines l = e2e_parse_jsonl(out);
	assert_int_equal(l.n, 1);
	yajl_val st = l.v[0];
	assert_int_equal(e2e_num(st, "lines", NULL), LINES);
	assert_int_equal(e2e_num(st, "failed", NULL), LINES / 4);
	assert_int_equal(e2e_num(st, "in_flight", NULL), FLYING);
	assert_int_equal(e2e_num(st, "open_runs", NULL), FLYING);
	const char *path[] = {"failures", NULL};
	yajl_val f = yajl_tree_get(st, path, yajl_t_array);
	assert_non_null(f);
	assert_int_equal(f->u.array.len, 32);
	long long told = 0;
	for (size_t i = 0; i < f->u.array.len; i++)
		told += e2e_num(f->u.array.values[i], "count", NULL);
	assert_int_equal(told + e2e_num(st, "failures_other_codes", NULL), LINES / 4);
	assert_int_equal(e2e_num(st, "failures_other_codes", NULL), LINES / 4 / CODES * 8);
	e2e_lines_free(&l);
	/* Three key sets spilled take about 7 MiB; two sets of 400,000 keys in memory, 16. */
	if (E2E_MEASURED && rss > base + 8 * 1024)
		print_error("status of %d lines peaked at %ld KiB, of an empty folder %ld KiB\n",
			    LINES, rss, base);
	assert_true(!E2E_MEASURED || rss <= base + 8 * 1024);
	free(out);
	tu_rmrf(dir);
	free(rp);
	free(jp);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_status_of_a_folder_with_a_history, teardown),
	    cmocka_unit_test(test_status_memory_stays_flat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
