/* test_manifest: opening manifests, format detection, the fatal errors, and UTF-8 checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifestfx.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_file(const char *name, const char *data, size_t len)
{
	free(tu_write_file(".", name, data, len));
}

static struct fb_manifest *open_ok(const char *name, enum fb_format format)
{
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	if (fb_manifest_open(&m, name, format, &err))
		fail_msg("opening %s failed: %s", name, err.msg);
	return m;
}

static void expect_open_error(const char *name, const char *data, size_t len, const char *msg)
{
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	write_file(name, data, len);
	assert_true(fb_manifest_open(&m, name, FB_FORMAT_AUTO, &err) < 0);
	assert_null(m);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.kind, FB_KIND_BATCH);
}

static size_t count_items(struct fb_manifest *m)
{
	struct fb_item it = {0};
	struct fb_err err = {0};
	size_t n = 0;
	int rc;
	while ((rc = fb_manifest_next(m, &it, &err)) == 1) {
		n++;
		fb_item_release(&it);
	}
	assert_int_equal(rc, 0);
	return n;
}

static void test_format_names(void **state)
{
	(void)state;
	enum fb_format f = FB_FORMAT_AUTO;
	assert_int_equal(fb_format_parse("CSV", &f), 0);
	assert_int_equal(f, FB_FORMAT_CSV);
	assert_int_equal(fb_format_parse("ndjson", &f), 0);
	assert_int_equal(f, FB_FORMAT_JSONL);
	assert_int_equal(fb_format_parse("auto", &f), 0);
	assert_int_equal(f, FB_FORMAT_AUTO);
	assert_int_equal(fb_format_parse("xlsx", &f), FB_EINVAL);
	assert_string_equal(fb_format_name(FB_FORMAT_JSONL), "jsonl");
	assert_string_equal(fb_format_name(FB_FORMAT_CSV), "csv");

	char *id = fb_manifest_default_id(17);
	assert_string_equal(id, "row-17");
	free(id);
}

static void test_missing_and_directory(void **state)
{
	(void)state;
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};

	assert_int_equal(fb_manifest_open(&m, "nope.csv", FB_FORMAT_AUTO, &err), FB_EIO);
	assert_null(m);
	assert_string_equal(err.msg, "nope.csv: cannot open manifest: No such file or directory");
	assert_int_equal(mkdir("adir.csv", 0700), 0);
	assert_int_equal(fb_manifest_open(&m, "adir.csv", FB_FORMAT_AUTO, &err), FB_EIO);
	assert_string_equal(err.msg, "adir.csv: cannot read manifest: Is a directory");
}

static void test_unreadable_stream(void **state)
{
	(void)state;
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	FILE *f = fopen("w.csv", "w"); /* open for writing only: every read fails */

	assert_non_null(f);
	assert_int_equal(fb_manifest_open_stream(&m, f, "w.csv", 1, FB_FORMAT_AUTO, &err), FB_EIO);
	assert_null(m);
	assert_string_equal(err.msg, "w.csv: cannot read manifest: Bad file descriptor");
}

static void test_empty_manifests(void **state)
{
	(void)state;
	const char *names[] = {"e.csv", "e.jsonl", "e.txt"};
	const char *bodies[] = {"", "\n\n\r\n", "\xEF\xBB\xBF"};
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			write_file(names[i], bodies[j], strlen(bodies[j]));
			struct fb_manifest *m = open_ok(names[i], FB_FORMAT_AUTO);
			assert_int_equal(count_items(m), 0);
			assert_int_equal(count_items(m), 0);
			fb_manifest_free(m);
		}
	}
}

static void test_binary_is_refused(void **state)
{
	(void)state;
	expect_open_error("manifest.csv", "prompt\nabc\0def\n", 15,
			  "manifest.csv: not a text file (NUL byte at offset 10)");
	expect_open_error("img.jsonl", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16,
			  "img.jsonl: not a text file (NUL byte at offset 8)");
	expect_open_error("u16.csv", "\xFF\xFEp\0r\0", 6,
			  "u16.csv: the manifest is UTF-16 text; save it as UTF-8");
	expect_open_error("latin1.csv", "id,caf\xE9\nx,y\n", 12,
			  "latin1.csv:1: not a text file (not valid UTF-8 at offset 6); save the "
			  "manifest as UTF-8");
	expect_open_error(
	    "arr.json", "  [{\"inputs\":{}}]\n", 18,
	    "arr.json: starts with '[': a JSON array is not JSON Lines; write one JSON "
	    "object per line");
}

static void test_sniffing(void **state)
{
	(void)state;
	struct fb_item it = {0};
	struct fb_err err = {0};
	struct fb_manifest *m;
	const char *jsonl = "\xEF\xBB\xBF\n  \t{\"inputs\":{\"prompt\":\"hi\"}}\n";

	write_file("m.txt", jsonl, strlen(jsonl));
	m = open_ok("m.txt", FB_FORMAT_AUTO);
	assert_int_equal(fb_manifest_format(m), FB_FORMAT_JSONL);
	assert_int_equal(fb_manifest_next(m, &it, &err), 1);
	assert_null(it.invalid);
	assert_string_equal(it.source, "m.txt:2");
	assert_string_equal(it.inputs[0].value, "hi");
	fb_item_release(&it);
	fb_manifest_free(m);

	write_file("m.txt", "prompt\nhi\n", 10);
	m = open_ok("m.txt", FB_FORMAT_AUTO);
	assert_int_equal(fb_manifest_format(m), FB_FORMAT_CSV);
	assert_int_equal(count_items(m), 1);
	fb_manifest_free(m);

	/* An explicit format wins over the extension. */
	write_file("m.csv", jsonl, strlen(jsonl));
	m = open_ok("m.csv", FB_FORMAT_JSONL);
	assert_int_equal(fb_manifest_format(m), FB_FORMAT_JSONL);
	assert_int_equal(count_items(m), 1);
	fb_manifest_free(m);
	/* The extension wins over the content, and the message says what went wrong. */
	m = NULL;
	assert_int_equal(fb_manifest_open(&m, "m.csv", FB_FORMAT_AUTO, &err), FB_EPARSE);
	assert_null(m);
	assert_string_equal(err.msg,
			    "m.csv:2: the first row looks like JSON, not a CSV header (JSON "
			    "Lines manifests are read from .jsonl files)");
}

/* A stream that cannot seek must lose no byte to the look-ahead, over many chunks. */
static void test_stream_keeps_every_byte(void **state)
{
	(void)state;
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	struct fb_item it = {0};
	FILE *out = fopen("big.txt", "wb");
	const size_t rows = 20000;

	for (size_t i = 1; i <= rows; i++)
		fprintf(out, "{\"id\":\"r%zu\",\"inputs\":{\"prompt\":\"value %zu\"}}\n", i, i);
	assert_int_equal(fclose(out), 0);
	FILE *in = fopen("big.txt", "rb");
	assert_int_equal(fb_manifest_open_stream(&m, in, "<stdin>", 1, FB_FORMAT_AUTO, &err), 0);
	assert_int_equal(fb_manifest_format(m), FB_FORMAT_JSONL);
	assert_string_equal(fb_manifest_name(m), "<stdin>");
	assert_int_equal(fb_manifest_rereadable(m), 0);
	for (size_t i = 1; i <= rows; i++) {
		char want[64];
		assert_int_equal(fb_manifest_next(m, &it, &err), 1);
		if (it.invalid)
			fail_msg("row %zu: %s", i, it.invalid);
		snprintf(want, sizeof(want), "r%zu", i);
		assert_string_equal(it.id, want);
		snprintf(want, sizeof(want), "value %zu", i);
		assert_string_equal(it.inputs[0].value, want);
		snprintf(want, sizeof(want), "<stdin>:%zu", i);
		assert_string_equal(it.source, want);
		fb_item_release(&it);
	}
	assert_int_equal(fb_manifest_next(m, &it, &err), 0);
	fb_manifest_free(m);
}

static void test_stdin_and_rereadable(void **state)
{
	(void)state;
	struct fb_manifest *m;

	write_file("m.csv", "prompt\na\nb\n", 11);
	m = open_ok("m.csv", FB_FORMAT_AUTO);
	assert_int_equal(fb_manifest_rereadable(m), 1);
	assert_string_equal(fb_manifest_name(m), "m.csv");
	fb_manifest_free(m);

	assert_non_null(freopen("m.csv", "rb", stdin));
	m = open_ok("-", FB_FORMAT_AUTO);
	assert_string_equal(fb_manifest_name(m), "<stdin>");
	assert_int_equal(fb_manifest_format(m), FB_FORMAT_CSV);
	assert_int_equal(fb_manifest_rereadable(m), 0);
	assert_int_equal(count_items(m), 2);
	fb_manifest_free(m);
}

static void test_quote(void **state)
{
	(void)state;
	char q[FB_MANIFEST_QUOTE_MAX];
	char long_value[200];

	fb_manifest_quote(q, "say \"hi\"\n\tback\\slash\x01");
	assert_string_equal(q, "\"say \\\"hi\\\"\\n\\tback\\\\slash\\x01\"");
	/* 59 ASCII bytes then a 2-byte character: the cut must not split it. */
	memset(long_value, 'a', 59);
	strcpy(long_value + 59, "\xC3\xA9tail");
	fb_manifest_quote(q, long_value);
	assert_int_equal(strlen(q), 1 + 59 + 3 + 1);
	assert_string_equal(q + 60, "...\"");
	/* The worst case fits the buffer. */
	memset(long_value, '\x02', 199);
	long_value[199] = '\0';
	fb_manifest_quote(q, long_value);
	assert_int_equal(strlen(q), 1 + 60 * 4 + 3 + 1);
}

static void test_utf8(void **state)
{
	(void)state;
	size_t bad = 99;
	assert_true(fb_utf8_valid("plain", 5, 0, NULL));
	assert_true(fb_utf8_valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\xA6\x8A", 14, 0, NULL));
	assert_false(fb_utf8_valid("ab\xC0\xAF", 4, 0, &bad)); /* overlong '/' */
	assert_int_equal(bad, 2);
	assert_false(fb_utf8_valid("\xE0\x80\xAF", 3, 0, NULL));     /* overlong, 3 bytes */
	assert_false(fb_utf8_valid("\xED\xA0\x80", 3, 0, NULL));     /* a surrogate */
	assert_false(fb_utf8_valid("\xF4\x90\x80\x80", 4, 0, NULL)); /* above U+10FFFF */
	assert_false(fb_utf8_valid("\xF5\x80\x80\x80", 4, 0, NULL));
	assert_false(fb_utf8_valid("a\x80", 2, 0, &bad)); /* a lone continuation byte */
	assert_int_equal(bad, 1);
	assert_false(fb_utf8_valid("\xC3(", 2, 0, NULL));
	/* Cut off at the end: bad in a whole string, fine at the end of a chunk. */
	assert_false(fb_utf8_valid("ok\xE2\x82", 4, 0, &bad));
	assert_int_equal(bad, 2);
	assert_true(fb_utf8_valid("ok\xE2\x82", 4, 1, NULL));
	assert_false(fb_utf8_valid("\xE2\x82(", 3, 1, NULL));

	assert_int_equal(fb_utf8_clip("abc", 3, 10), 3);
	assert_int_equal(fb_utf8_clip("ab\xC3\xA9", 4, 3), 2);
	assert_int_equal(fb_utf8_clip("ab\xC3\xA9x", 5, 4), 4);
	assert_int_equal(fb_utf8_clip("\xF0\x9F\xA6\x8A", 4, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format_names, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_directory, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_stream, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_empty_manifests, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_binary_is_refused, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_sniffing, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_stream_keeps_every_byte, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_stdin_and_rereadable, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_quote, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_utf8, mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
