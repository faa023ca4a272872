/* test_csv: the CSV manifest reader, as a new user's spreadsheet exports reach it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifestfx.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fb_manifest *open_csv(const char *text)
{
	return mfx_open("manifest.csv", text, strlen(text), FB_FORMAT_CSV);
}

/* The error opening text as manifest.csv must give. */
static void expect_open_error(const char *text, const char *msg)
{
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	free(tu_write_file(".", "manifest.csv", text, strlen(text)));
	assert_true(fb_manifest_open(&m, "manifest.csv", FB_FORMAT_AUTO, &err) < 0);
	assert_null(m);
	assert_string_equal(err.msg, msg);
}

static void test_basic_rows(void **state)
{
	(void)state;
	struct fb_manifest *m =
	    open_csv("id,technique,prompt,input_image\n"
		     "a1,sketch-to-render,a red fox,https://cdn.example.com/f.png\n"
		     ",,a blue whale,\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.seq, 1);
	assert_string_equal(it.id, "a1");
	assert_int_equal(it.id_explicit, 1);
	assert_string_equal(it.source, "manifest.csv:2");
	assert_string_equal(it.technique, "sketch-to-render");
	assert_null(it.json);
	assert_int_equal(it.ninputs, 2);
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "a red fox");
	mfx_expect_input(&it, 1, "input_image", FB_INPUT_IMAGE_URL,
			 "https://cdn.example.com/f.png");

	/* Empty id: the default id; empty technique: the batch default; empty input: left out. */
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.id, "row-2");
	assert_int_equal(it.id_explicit, 0);
	assert_null(it.technique);
	assert_int_equal(it.ninputs, 1);
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "a blue whale");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_quoting(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("prompt,style\n"
					 "\"a fox, running\",\"say \"\"hi\"\"\"\n"
					 "\"two\nlines, and\n\"\"three\"\"\",x\n"
					 "after,\"\"\n"
					 "it's a \"bare\" quote,y\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:2");
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "a fox, running");
	mfx_expect_input(&it, 1, "style", FB_INPUT_TEXT, "say \"hi\"");
	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:3");
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "two\nlines, and\n\"three\"");
	/* The record above spans lines 3-5, so this one starts on line 6. */
	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:6");
	assert_int_equal(it.seq, 3);
	assert_int_equal(it.ninputs, 1);
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "after");
	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:7");
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "it's a \"bare\" quote");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_crlf_bom_no_final_newline(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("\xEF\xBB\xBFid,prompt\r\n"
					 "x,\"multi\r\nline\"\r\n"
					 "y,last");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "x"); /* the BOM is not part of the first column's name */
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "multi\r\nline");
	mfx_next(m, &it);
	assert_string_equal(it.id, "y");
	assert_string_equal(it.source, "manifest.csv:4");
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "last");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_inference(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("a,b,c,d\n"
					 "https://x.example/i.PNG?sig=1,https://x.example/v.mp4,"
					 "hello,https://x.example/page\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	mfx_expect_input(&it, 0, "a", FB_INPUT_IMAGE_URL, "https://x.example/i.PNG?sig=1");
	mfx_expect_input(&it, 1, "b", FB_INPUT_VIDEO_URL, "https://x.example/v.mp4");
	mfx_expect_input(&it, 2, "c", FB_INPUT_TEXT, "hello");
	mfx_expect_input(&it, 3, "d", FB_INPUT_TEXT, "https://x.example/page");
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_typed_headers(void **state)
{
	(void)state;
	struct fb_manifest *m =
	    open_csv("prompt:text, ref : imageUrl ,clip:VIDEOURL,doc:documentUrl\n"
		     "https://x.example/a.png,https://x.example/noext,"
		     "https://x.example/c,https://x.example/d.pdf\n"
		     "hi,foo,,\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	/* The header's type wins over what the value looks like. */
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "https://x.example/a.png");
	mfx_expect_input(&it, 1, "ref", FB_INPUT_IMAGE_URL, "https://x.example/noext");
	mfx_expect_input(&it, 2, "clip", FB_INPUT_VIDEO_URL, "https://x.example/c");
	mfx_expect_input(&it, 3, "doc", FB_INPUT_DOCUMENT_URL, "https://x.example/d.pdf");
	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:3");
	assert_string_equal(it.id, "row-2");
	mfx_expect_invalid(&it, "ref",
			   "column \"ref\": expected a URL (http:// or https://) or a local file; "
			   "\"foo\" does not exist");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_bad_url_long_value_is_cut(void **state)
{
	(void)state;
	char text[400];
	snprintf(text, sizeof(text), "input_image:imageUrl\n%0100d\n", 7);
	struct fb_manifest *m = open_csv(text);
	struct fb_item it = {0};
	char want[200];
	snprintf(want, sizeof(want),
		 "column \"input_image\": expected a URL (http:// or https://) or a local file; "
		 "\"%060d...\" does not exist",
		 0);

	mfx_next(m, &it);
	mfx_expect_invalid(&it, "input_image", want);
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_field_count(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("id,prompt,style\n"
					 "a,one,two,three\n"
					 "b,only\n"
					 "c,fine,\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_string_equal(it.id, "a");
	mfx_expect_invalid(
	    &it, NULL,
	    "expected 3 fields, found 4 (put a value that contains a comma in double "
	    "quotes)");
	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:3");
	mfx_expect_invalid(&it, NULL, "expected 3 fields, found 2");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.seq, 3);
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_no_inputs(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("id,technique,prompt\nx,t,\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_string_equal(it.id, "x");
	/* Whether an item needs inputs depends on its kind: the reader only records. */
	assert_null(it.invalid);
	assert_int_equal(it.ninputs, 0);
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_blank_lines(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("\n\r\nprompt\n\none\n\r\n\ntwo\n\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_int_equal(it.seq, 1);
	assert_string_equal(it.id, "row-1");
	assert_string_equal(it.source, "manifest.csv:5");
	mfx_next(m, &it);
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.id, "row-2");
	assert_string_equal(it.source, "manifest.csv:8");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_only_header(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("id,prompt\n\n\n");
	mfx_expect_end(m);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_unterminated_quote(void **state)
{
	(void)state;
	struct fb_manifest *m = open_csv("id,prompt\na,fine\nb,\"never\nclosed\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	mfx_next(m, &it);
	assert_string_equal(it.id, "b");
	assert_string_equal(it.source, "manifest.csv:3");
	mfx_expect_invalid(
	    &it, "prompt",
	    "column \"prompt\": unterminated quoted field (the quote opened on line 3 "
	    "is never closed)");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	/* "café" saved as Latin-1, then an overlong '/', then a good row. */
	struct fb_manifest *m =
	    open_csv("id,prompt,style\na,caf\xE9,x\nb,ok,\xC0\xAF\nc,caf\xC3\xA9,\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	mfx_expect_invalid(&it, "prompt",
			   "column \"prompt\": not valid UTF-8 (save the manifest as UTF-8)");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "style",
			   "column \"style\": not valid UTF-8 (save the manifest as UTF-8)");
	mfx_next(m, &it);
	assert_null(it.invalid);
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "caf\xC3\xA9");
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_nul_after_first_chunk(void **state)
{
	(void)state;
	size_t n = 8192;
	char *text = malloc(n + 64);
	size_t len = (size_t)sprintf(text, "prompt\n");
	while (len < n)
		len += (size_t)sprintf(text + len, "line\n");
	memcpy(text + len, "a\0b\nafter\n", 10);
	struct fb_manifest *m = mfx_open("manifest.csv", text, len + 10, FB_FORMAT_CSV);
	struct fb_item it = {0};
	uint64_t rows = 0;

	do {
		mfx_next(m, &it);
		rows++;
	} while (!it.invalid);
	mfx_expect_invalid(&it, "prompt", "column \"prompt\": contains a NUL byte");
	mfx_next(m, &it);
	assert_int_equal(it.seq, rows + 1);
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "after");
	fb_item_release(&it);
	fb_manifest_free(m);
	free(text);
}

static void test_long_record(void **state)
{
	(void)state;
	size_t big = 2u << 20;
	char *text = malloc(big + 64);
	size_t len = (size_t)sprintf(text, "id,prompt\nbig,\"");
	memset(text + len, 'x', big);
	len += big;
	/* A quoted newline inside the long record: the reader must still find its end. */
	len += (size_t)sprintf(text + len, "\n\"\nnext,fine\n");
	struct fb_manifest *m = mfx_open("manifest.csv", text, len, FB_FORMAT_CSV);
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_string_equal(it.source, "manifest.csv:2");
	/* The id column came before the limit, so the user can still tell which row it was. */
	assert_string_equal(it.id, "big");
	mfx_expect_invalid(&it, NULL, "line too long: over 1048576 bytes");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "next");
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.source, "manifest.csv:4");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
	free(text);
}

static void test_bad_headers(void **state)
{
	(void)state;
	expect_open_error("prompt,x:foo\na,b\n",
			  "manifest.csv:1: column \"x:foo\": unknown input type \"foo\" (expected "
			  "text, imageUrl, videoUrl, audioUrl or documentUrl)");
	expect_open_error(
	    "\nprompt,style,prompt:text\n",
	    "manifest.csv:2: column \"prompt\" appears twice in the header (columns 1 "
	    "and 3)");
	expect_open_error("prompt,,style\n", "manifest.csv:1: column 2 of the header has no name");
	expect_open_error("prompt,style,\n", "manifest.csv:1: column 3 of the header has no name");
	expect_open_error("id:text,prompt\n",
			  "manifest.csv:1: column \"id:text\": the id column takes no type");
	expect_open_error("id,technique\n",
			  "manifest.csv:1: the header names no input column (every column other "
			  "than id, technique, technique_id, workspace_id, project_id, "
			  "generation, model and params is an input, e.g. prompt)");
	expect_open_error("a red fox,https://x.example/a.png\n",
			  "manifest.csv:1: column \"https://x.example/a.png\" looks like data, not "
			  "a column name: the first row must be a header naming the inputs (e.g. "
			  "prompt,input_image)");
	expect_open_error("prompt,\"sty\nle\n",
			  "manifest.csv:1: header row: the quote opened on line 1 is never closed");
}

static void test_fixture(void **state)
{
	(void)state;
	char *path = tu_path(tu_env("FB_TEST_DATA"), "manifest_quoted.csv");
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	struct fb_item it = {0};
	char want[64];

	assert_int_equal(fb_manifest_open(&m, path, FB_FORMAT_AUTO, &err), 0);
	mfx_next(m, &it);
	assert_string_equal(it.id, "fox");
	assert_string_equal(it.technique, "product-shot");
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT,
			 "A red fox, \"sitting\" in snow.\nSecond paragraph.");
	mfx_expect_input(&it, 1, "input_image", FB_INPUT_IMAGE_URL,
			 "https://cdn.example.com/fox.jpg");
	mfx_next(m, &it);
	assert_string_equal(it.id, "whale");
	snprintf(want, sizeof(want), "%s:5", path);
	assert_string_equal(it.source, want);
	assert_null(it.technique);
	assert_int_equal(it.ninputs, 1);
	mfx_next(m, &it);
	mfx_expect_invalid(
	    &it, "input_image",
	    "column \"input_image\": expected a URL (http:// or https://) or a local "
	    "file; \"fox.jpg\" does not exist");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_basic_rows, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_quoting, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_crlf_bom_no_final_newline, mfx_setup,
					    mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_inference, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_typed_headers, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_url_long_value_is_cut, mfx_setup,
					    mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_field_count, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_no_inputs, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_blank_lines, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_only_header, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_unterminated_quote, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_utf8, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_nul_after_first_chunk, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_long_record, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_headers, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_fixture, mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
