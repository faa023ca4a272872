/*
 * End-to-end: outputs with hostile names (florasim --hostile-names: "../..",
 * absolute paths, control characters, 300-character ids, odd content types)
 * must land as safe, unique archive entries and plain files, each with the
 * sha256 of its result line, in every archive format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "sha256.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk_test_hostile"

static void assert_safe(const char *name)
{
	if (name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
		print_error("unsafe entry name: %s\n", name);
	assert_true(name[0] != '/');
	assert_null(strstr(name, ".."));
	assert_true(strlen(name) <= 255);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		assert_true(*p >= 0x20 && *p != 0x7f && *p != '\\');
}

static void run_format(void **state, const char *format, const char *archive)
{
	struct e2e_world *w =
	    e2e_world_start(state, KEY, "--run-time 200ms --outputs 3 --hostile-names");
	static const char m[] = "id,input_image:imageUrl\n"
				"a,https://storage.googleapis.com/b/1.jpg\n"
				"b,https://storage.googleapis.com/b/2.jpg\n"
				"c,https://storage.googleapis.com/b/3.jpg\n"
				"d,https://storage.googleapis.com/b/4.jpg\n";
	free(tu_write_file(w->dir, "m.csv", m, sizeof(m) - 1));
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=" KEY " '%s' run m.csv --transport http --base-url "
		 "%s --technique cctv-cam --out out --archive-format %s --outputs-dir plain "
		 "--poll-interval 200ms",
		 w->dir, tu_env("FB_BIN"), w->sim.base, format);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	if (r.status)
		print_error("%s\n", r.err);
	assert_int_equal(r.status, 0);
	char *rp = tu_path(w->dir, "out/results.jsonl"), *ap = tu_path(w->dir, archive);
	char *text = tu_read_file(rp, NULL);
	struct e2e_lines l = e2e_parse_jsonl(text);
	struct e2e_archive a = e2e_read_archive(ap);
	size_t outputs = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *op[] = {"outputs", NULL};
		yajl_val outs = yajl_tree_get(l.v[i], op, yajl_t_array);
		for (size_t k = 0; outs && k < YAJL_GET_ARRAY(outs)->len; k++, outputs++) {
			yajl_val o = YAJL_GET_ARRAY(outs)->values[k];
			const char *path = e2e_str(o, "path", NULL),
				   *sha = e2e_str(o, "sha256", NULL);
			assert_safe(path);
			size_t found = 0;
			for (size_t j = 0; j < a.n; j++) {
				if (strcmp(a.names[j], path))
					continue;
				char hex[FB_SHA256_HEX_LEN + 1];
				fb_sha256_hex(a.data[j], a.len[j], hex);
				assert_string_equal(hex, sha);
				found++;
			}
			assert_int_equal(found, 1);
			/* The plain copy has the same name and bytes. */
			char rel[1024];
			snprintf(rel, sizeof(rel), "plain/%s", path);
			char *pp = tu_path(w->dir, rel);
			size_t len = 0;
			char *bytes = tu_read_file(pp, &len);
			assert_non_null(bytes);
			char hex[FB_SHA256_HEX_LEN + 1];
			fb_sha256_hex(bytes, len, hex);
			assert_string_equal(hex, sha);
			free(bytes);
			free(pp);
		}
	}
	assert_int_equal(outputs, 12);
	assert_int_equal(a.n, 12);
	for (size_t j = 0; j < a.n; j++)
		assert_safe(a.names[j]);
	e2e_archive_free(&a);
	e2e_lines_free(&l);
	free(text);
	free(rp);
	free(ap);
	e2e_run_free(&r);
}

static void test_hostile_names_tar_zst(void **state)
{
	run_format(state, "tar.zst", "out/outputs.tar.zst");
}

static void test_hostile_names_tar_gz(void **state)
{
	run_format(state, "tar.gz", "out/outputs.tar.gz");
}

/*
 * A create answer that says the run takes 30 days (estimated_seconds
 * 2592000): a hint, never a reason to park the run. Runs of 300 ms end
 * within the contract's polling window, through the lists and by GET.
 */
static void test_huge_estimate_does_not_stall(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 300ms --estimate huge");
	char text[1024];
	size_t len = (size_t)sprintf(text, "id,input_image\n");
	for (int i = 0; i < 6; i++)
		len += (size_t)sprintf(text + len, "h%d,https://storage.googleapis.com/b/%d.png\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	const char *modes[] = {"list", "get"};
	for (int i = 0; i < 2; i++) {
		char args[256];
		snprintf(args, sizeof(args),
			 "m.csv --technique cctv-cam --out out-%s --poll-mode %s --namespace %s",
			 modes[i], modes[i], modes[i]);
		long long t0 = e2e_now_ms();
		struct e2e_run r = e2e_world_run(w, KEY, args);
		double secs = (double)(e2e_now_ms() - t0) / 1000.0;
		print_message("--poll-mode %s: %.1f s\n", modes[i], secs);
		if (r.status)
			print_error("exit %d: %s\n", r.status, r.err);
		assert_int_equal(r.status, 0);
		/* before: 30 s by the lists, 300 s by GET; under valgrind, a start alone takes
		 * seconds, so the time says nothing there */
		assert_true(!E2E_MEASURED || secs < 12);
		e2e_run_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hostile_names_tar_zst, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_hostile_names_tar_gz, e2e_world_teardown),
	    cmocka_unit_test_teardown(test_huge_estimate_does_not_stall, e2e_world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
