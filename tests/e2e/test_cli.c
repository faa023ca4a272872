/* End-to-end: what the command line says to a new user who gets something wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

struct expect {
	const char *files; /* "name=content" written first, or NULL */
	const char *args;
	int status;
	const char *stderr_has;
};

static void check(const struct expect *x)
{
	char *dir = tu_tmpdir();
	if (x->files) {
		const char *eq = strchr(x->files, '=');
		char *name = strndup(x->files, (size_t)(eq - x->files));
		free(tu_write_file(dir, name, eq + 1, strlen(eq + 1)));
		free(name);
	}
	struct e2e_run r = e2e_florabatch(dir, x->args);
	if (r.status != x->status || !strstr(r.err, x->stderr_has))
		print_error(
		    "args: %s\nstatus %d (expected %d)\nstderr: %s\n(expected to contain: %s)\n",
		    x->args, r.status, x->status, r.err, x->stderr_has);
	assert_int_equal(r.status, x->status);
	assert_non_null(strstr(r.err, x->stderr_has));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_missing_file(void **s)
{
	(void)s;
	check(&(struct expect){NULL, "run nope.csv --technique t", 2, "nope.csv"});
}

static void test_folder_without_images(void **s)
{
	(void)s;
	/* A folder is a manifest of its images: none is an empty batch, said so. */
	check(&(struct expect){"notes.txt=not an image\n",
			       "run . --technique t --sim-clock virtual", 0, "no items"});
}

static void test_binary_garbage(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	char junk[512];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37);
	free(tu_write_file(dir, "junk.csv", junk, sizeof(junk)));
	struct e2e_run r =
	    e2e_florabatch(dir, "run junk.csv --technique t --results - --sim-clock virtual");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "junk.csv"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

static void test_unknown_option(void **s)
{
	(void)s;
	check(&(struct expect){NULL, "run --bogus x.csv", 2, "bogus"});
}

static void test_bad_values(void **s)
{
	(void)s;
	check(&(struct expect){NULL, "run --concurrency 0 x.csv", 2, "--concurrency"});
	check(&(struct expect){NULL, "run --poll-interval soon x.csv", 2, "--poll-interval"});
	check(&(struct expect){NULL, "run --format xml x.csv", 2, "csv or jsonl"});
	check(&(struct expect){NULL, "run --transport ftp x.csv", 2, "sim or http"});
	check(&(struct expect){NULL, "run --sim-fail-rate 2 x.csv", 2, "--sim-fail-rate"});
	check(&(struct expect){NULL, "run a.csv b.csv", 2, "one manifest"});
	check(&(struct expect){NULL, "frobnicate", 2, "unknown command"});
}

static void test_no_technique_anywhere(void **s)
{
	(void)s;
	check(&(struct expect){"m.csv=prompt\nhello\n", "run m.csv --results - --sim-clock virtual",
			       1, "no technique"});
}

/* A JSONL line shaped like a CSV row is told the shape that works, with its own keys. */
static void test_flat_jsonl_line(void **s)
{
	(void)s;
	check(
	    &(struct expect){"m.jsonl={\"id\":\"a\",\"input_image\":\"https://x.example/1.png\"}\n",
			     "run m.jsonl --technique cctv-cam --results - --sim-clock virtual", 1,
			     "under \"inputs\", e.g. {\"id\":\"a\",\"inputs\":{\"input_image\""});
	check(
	    &(struct expect){"m.jsonl={\"id\":\"a\",\"input_image\":\"https://x.example/1.png\"}\n",
			     "run m.jsonl --technique cctv-cam --results - --sim-clock virtual", 1,
			     "(here \"input_image\")"});
}

/* An id given twice is named with both lines; --strict refuses the manifest. */
static void test_duplicate_ids(void **s)
{
	(void)s;
	const char *m =
	    "m.csv=id,input_image\na,https://x.example/1.png\nb,https://x.example/2.png\n"
	    "a,https://x.example/3.png\n";
	check(&(struct expect){m, "run m.csv --technique cctv-cam --out o --sim-clock virtual", 0,
			       "m.csv:4: id \"a\" is the id of line 2 too"});
	check(&(struct expect){
	    m, "run m.csv --technique cctv-cam --out o --sim-clock virtual --strict", 2,
	    "m.csv:4: id \"a\" is the id of line 2 too"});
}

static void test_invalid_utf8_row(void **s)
{
	(void)s;
	check(&(struct expect){"m.csv=prompt\nok\nbad \xff\xfe here\n",
			       "run m.csv --technique t --results - --sim-clock virtual", 1,
			       "m.csv:3"});
}

static void test_version_and_help(void **s)
{
	(void)s;
	char *dir = tu_tmpdir();
	struct e2e_run r = e2e_florabatch(dir, "--version");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "florabatch "));
	e2e_run_free(&r);
	r = e2e_florabatch(dir, "run --help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--concurrency"));
	assert_non_null(strstr(r.out, "Exit status"));
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_file),     cmocka_unit_test(test_folder_without_images),
	    cmocka_unit_test(test_binary_garbage),   cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_bad_values),	     cmocka_unit_test(test_no_technique_anywhere),
	    cmocka_unit_test(test_invalid_utf8_row), cmocka_unit_test(test_flat_jsonl_line),
	    cmocka_unit_test(test_duplicate_ids),    cmocka_unit_test(test_version_and_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
