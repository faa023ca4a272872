/*
 * florabatch techniques, end to end: the catalog and one technique from the
 * built-in simulator and from florasim over http (the same answers, paged
 * when florasim's pages are short), JSON lines in a pipe and a table on a
 * terminal, and what a new user who names a wrong technique or key is told.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends: a terminal for the table */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY	"sk_test_techniques"
#define CATALOG 38 /* the contract's example techniques, which both simulators serve */

/* A test's florasim, in cmocka's state, so teardown stops it after a failed assertion too. */
static struct e2e_sim *sim_start(void **state, const char *args)
{
	struct e2e_sim *s = malloc(sizeof(*s));
	assert_non_null(s);
	*s = e2e_florasim_start(args);
	*state = s;
	return s;
}

static int sim_teardown(void **state)
{
	if (*state) {
		e2e_florasim_stop(*state);
		free(*state);
		*state = NULL;
	}
	return 0;
}

/* florabatch ARGS in a fresh folder, with FLORA_API_KEY=key when key is not NULL. */
static struct e2e_run fb(const char *key, const char *args)
{
	char *dir = tu_tmpdir(), cmd[4096];
	snprintf(cmd, sizeof(cmd), "cd '%s' && env %s%s '%s' %s", dir,
		 key ? "FLORA_API_KEY=" : "-u FLORA_API_KEY", key ? key : "", tu_env("FB_BIN"),
		 args);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	tu_rmrf(dir);
	free(dir);
	return r;
}

static void expect_status(const struct e2e_run *r, int status, const char *args)
{
	if (r->status != status)
		print_error("florabatch %s: exit %d (expected %d)\nstdout: %s\nstderr: %s\n", args,
			    r->status, status, r->out, r->err);
	assert_int_equal(r->status, status);
}

/* The catalog's JSON lines: every technique once, each with an id and a cost. */
static void check_catalog(const char *out)
{
	struct e2e_lines l = e2e_parse_jsonl(out);
	assert_int_equal(l.n, CATALOG);
	for (size_t i = 0; i < l.n; i++) {
		const char *id = e2e_str(l.v[i], "technique_id", NULL);
		assert_non_null(id);
		assert_int_equal(strncmp(id, "tech_", 5), 0);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(id, e2e_str(l.v[k], "technique_id", NULL));
		const char *path[] = {"run_cost", NULL};
		assert_non_null(yajl_tree_get(l.v[i], path, yajl_t_number));
		assert_non_null(e2e_str(l.v[i], "name", NULL));
	}
	assert_string_equal(e2e_str(l.v[0], "technique_id", NULL), "tech_art-directors-critique");
	e2e_lines_free(&l);
}

/* input (or output) i of the one technique on the line. */
static yajl_val field(yajl_val v, const char *which, size_t i)
{
	const char *path[] = {which, NULL};
	yajl_val a = yajl_tree_get(v, path, yajl_t_array);
	assert_non_null(a);
	return i < a->u.array.len ? a->u.array.values[i] : NULL;
}

static int is_true(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	return YAJL_IS_TRUE(yajl_tree_get(v, path, yajl_t_any));
}

/* cctv-cam: an image, required, and a prompt, not; one image out; $0.25 a run. */
static void check_cctv(const char *out)
{
	struct e2e_lines l = e2e_parse_jsonl(out);
	assert_int_equal(l.n, 1);
	yajl_val t = l.v[0];
	assert_string_equal(e2e_str(t, "technique_id", NULL), "tech_cctv-cam");
	const char *path[] = {"run_cost", NULL};
	assert_true(YAJL_GET_DOUBLE(yajl_tree_get(t, path, yajl_t_number)) == 0.25);
	yajl_val in0 = field(t, "inputs", 0), in1 = field(t, "inputs", 1);
	assert_non_null(in0);
	assert_non_null(in1);
	assert_null(field(t, "inputs", 2));
	assert_string_equal(e2e_str(in0, "id", NULL), "input_image");
	assert_string_equal(e2e_str(in0, "type", NULL), "imageUrl");
	assert_true(is_true(in0, "required"));
	assert_string_equal(e2e_str(in1, "id", NULL), "prompt");
	assert_string_equal(e2e_str(in1, "type", NULL), "text");
	assert_false(is_true(in1, "required"));
	assert_string_equal(e2e_str(field(t, "outputs", 0), "id", NULL), "output_image");
	assert_null(field(t, "outputs", 1));
	e2e_lines_free(&l);
}

static void test_embedded_simulator(void **state)
{
	(void)state;
	struct e2e_run r = fb(NULL, "techniques");
	expect_status(&r, 0, "techniques");
	check_catalog(r.out);
	e2e_run_free(&r);
	r = fb(NULL, "techniques --json cctv-cam");
	expect_status(&r, 0, "techniques --json cctv-cam");
	check_cctv(r.out);
	e2e_run_free(&r);
	/* A tech_ id names it too. */
	r = fb(NULL, "techniques tech_color-transfer");
	expect_status(&r, 0, "techniques tech_color-transfer");
	struct e2e_lines l = e2e_parse_jsonl(r.out);
	assert_int_equal(l.n, 1);
	assert_string_equal(e2e_str(field(l.v[0], "inputs", 1), "id", NULL), "reference_image");
	e2e_lines_free(&l);
	e2e_run_free(&r);
	/* --query narrows the list as the API does. */
	r = fb(NULL, "techniques --query video");
	expect_status(&r, 0, "techniques --query video");
	l = e2e_parse_jsonl(r.out);
	assert_true(l.n > 0 && l.n < CATALOG);
	e2e_lines_free(&l);
	e2e_run_free(&r);
	/* A wrong slug says so, on stderr only. */
	r = fb(NULL, "techniques cctv-camm");
	expect_status(&r, 1, "techniques cctv-camm");
	assert_non_null(strstr(r.err, "no technique \"cctv-camm\""));
	assert_string_equal(r.out, "");
	e2e_run_free(&r);
}

/* Answers worth asking again (here 429s) are asked again: the whole catalog still comes. */
static void test_refused_answers_are_asked_again(void **state)
{
	struct e2e_sim *sim =
	    sim_start(state, "--api-key " KEY " --quiet --page-cap 10 --rate-limit 1");
	char args[1024];
	snprintf(args, sizeof(args), "techniques --transport http --base-url %s", sim->base);
	struct e2e_run r = fb(KEY, args);
	expect_status(&r, 0, args);
	check_catalog(r.out);
	e2e_run_free(&r);
	yajl_val st = e2e_sim_get_json(sim, "/_sim/stats");
	long long refused = e2e_num(st, "rate_limited", NULL);
	yajl_tree_free(st);
	if (refused < 1)
		print_error("florasim refused no request: the test proves nothing\n");
	assert_true(refused >= 1);
}

static void test_florasim_over_http(void **state)
{
	/* Pages of 7: the catalog comes in 6, by the cursors florasim hands out. */
	struct e2e_sim *sim = sim_start(state, "--api-key " KEY " --quiet --page-cap 7");
	char args[1024];
	snprintf(args, sizeof(args), "techniques --transport http --base-url %s", sim->base);
	struct e2e_run r = fb(KEY, args);
	expect_status(&r, 0, args);
	check_catalog(r.out);
	e2e_run_free(&r);

	snprintf(args, sizeof(args), "techniques --transport http --base-url %s cctv-cam",
		 sim->base);
	r = fb(KEY, args);
	expect_status(&r, 0, args);
	check_cctv(r.out);
	/* The very line the built-in simulator gives. */
	struct e2e_run embedded = fb(NULL, "techniques cctv-cam");
	assert_string_equal(r.out, embedded.out);
	e2e_run_free(&embedded);
	e2e_run_free(&r);

	snprintf(args, sizeof(args), "techniques --transport http --base-url %s nope", sim->base);
	r = fb(KEY, args);
	expect_status(&r, 1, args);
	assert_non_null(strstr(r.err, "no technique \"nope\""));
	assert_non_null(strstr(r.err, "--transport http' lists them"));
	e2e_run_free(&r);

	/* A wrong key: exit 3, and what to check. */
	snprintf(args, sizeof(args), "techniques --transport http --base-url %s", sim->base);
	r = fb("sk_test_wrong", args);
	expect_status(&r, 3, args);
	assert_non_null(strstr(r.err, "check the API key"));
	assert_string_equal(r.out, "");
	e2e_run_free(&r);
	/* No key at all: said before anything is asked. */
	r = fb(NULL, args);
	expect_status(&r, 2, args);
	assert_non_null(strstr(r.err, "FLORA_API_KEY"));
	e2e_run_free(&r);
}

/* florabatch ARGS with standard output on a terminal: what it printed there. */
static char *on_terminal(const char *args)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' %s", tu_env("FB_BIN"), args);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int s = open(ptsname(m), O_RDWR | O_NOCTTY);
		int null = open("/dev/null", O_WRONLY);
		if (s < 0 || dup2(s, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* Read as it writes (a terminal holds little); EIO once no one has it open. */
	size_t cap = 1 << 18, len = 0;
	char *out = malloc(cap);
	for (ssize_t n; len + 1 < cap && (n = read(m, out + len, cap - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	close(m);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return out;
}

static void test_table_on_a_terminal(void **state)
{
	(void)state;
	char *t = on_terminal("techniques");
	if (!strstr(t, "TECHNIQUE") || !strstr(t, "tech_wonder-fy"))
		print_error("the catalog on a terminal:\n%s\n", t);
	assert_non_null(strstr(t, "TECHNIQUE"));
	assert_non_null(strstr(t, "COST"));
	assert_non_null(strstr(t, "tech_cctv-cam"));
	assert_non_null(strstr(t, "tech_wonder-fy"));
	assert_null(strstr(t, "{\"technique_id\""));
	free(t);
	t = on_terminal("techniques cctv-cam");
	if (!strstr(t, "REQUIRED"))
		print_error("one technique on a terminal:\n%s\n", t);
	assert_non_null(strstr(t, "run cost  $0.250 a run"));
	assert_non_null(strstr(t, "INPUT"));
	assert_non_null(strstr(t, "REQUIRED"));
	assert_non_null(strstr(t, "input_image"));
	assert_non_null(strstr(t, "OUTPUT"));
	assert_non_null(strstr(t, "id,input_image:imageUrl,prompt:text"));
	free(t);
	/* --json wins over the terminal. */
	t = on_terminal("techniques --json cctv-cam");
	assert_non_null(strstr(t, "{\"technique_id\":\"tech_cctv-cam\""));
	free(t);
}

static void test_help(void **state)
{
	(void)state;
	struct e2e_run r = fb(NULL, "techniques --help");
	expect_status(&r, 0, "techniques --help");
	assert_non_null(strstr(r.out, "Usage: florabatch techniques"));
	assert_non_null(strstr(r.out, "--transport sim|http"));
	assert_non_null(strstr(r.out, "--api-key-file"));
	assert_non_null(strstr(r.out, "Exit status"));
	e2e_run_free(&r);
	r = fb(NULL, "--help");
	expect_status(&r, 0, "--help");
	assert_non_null(strstr(r.out, "florabatch techniques"));
	e2e_run_free(&r);
	r = fb(NULL, "techniques a b");
	expect_status(&r, 2, "techniques a b");
	e2e_run_free(&r);
	r = fb(NULL, "techniques --base-url http://127.0.0.1:1/api/v1");
	expect_status(&r, 2, "techniques --base-url (sim)");
	assert_non_null(strstr(r.err, "go with --transport http"));
	e2e_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_embedded_simulator),
	    cmocka_unit_test_teardown(test_florasim_over_http, sim_teardown),
	    cmocka_unit_test_teardown(test_refused_answers_are_asked_again, sim_teardown),
	    cmocka_unit_test(test_table_on_a_terminal),
	    cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
