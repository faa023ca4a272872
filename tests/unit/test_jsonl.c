/* test_jsonl: the JSON Lines manifest reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifestfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fb_manifest *open_bytes(const char *data, size_t len)
{
	return mfx_open("m.jsonl", data, len, FB_FORMAT_JSONL);
}

static struct fb_manifest *open_jsonl(const char *text)
{
	return open_bytes(text, strlen(text));
}

static void test_object_inputs_and_meta(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl(
	    "{\"id\":\"fox\",\"technique\":\"sketch\",\"inputs\":{\"prompt\":\"a fox\","
	    "\"input_image\":\"https://x.example/f.webp\",\"clip\":\"https://x.example/c.mov\","
	    "\"style\":\"\"},\"meta\":{\"sku\":42},\"tag\":\"a\"}\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "fox");
	assert_int_equal(it.id_explicit, 1);
	assert_string_equal(it.technique, "sketch");
	assert_string_equal(it.source, "m.jsonl:1");
	assert_int_equal(it.ninputs, 3); /* the empty "style" is left out */
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "a fox");
	mfx_expect_input(&it, 1, "input_image", FB_INPUT_IMAGE_URL, "https://x.example/f.webp");
	mfx_expect_input(&it, 2, "clip", FB_INPUT_VIDEO_URL, "https://x.example/c.mov");
	/* The whole object travels with the item so the other keys reach the result line. */
	assert_true(YAJL_IS_OBJECT(it.json));
	const char *sku[] = {"meta", "sku", NULL};
	const char *tag[] = {"tag", NULL};
	yajl_val v = yajl_tree_get(it.json, sku, yajl_t_number);
	assert_non_null(v);
	assert_int_equal(YAJL_GET_INTEGER(v), 42);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(it.json, tag, yajl_t_string)), "a");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_array_inputs(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl(
	    "{\"inputs\":[{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"https://x.example/"
	    "a.png\"},"
	    "{\"id\":\"ref\",\"type\":\"imageUrl\",\"value\":\"https://x.example/noext\"},"
	    "{\"id\":\"opt\",\"type\":\"text\",\"value\":\"\"}]}\n"
	    "{\"inputs\":[{\"id\":\"ref\",\"type\":\"imageUrl\",\"value\":\"ref.png\"}]}\n"
	    "{\"inputs\":[{\"id\":\"ref\",\"type\":\"IMAGE_URL\",\"value\":\"https://x/a.png\"}]}\n"
	    "{\"inputs\":[{\"id\":\"ref\",\"value\":\"https://x/a.png\"}]}\n"
	    "{\"inputs\":[\"prompt\"]}\n"
	    "{\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"a\"},"
	    "{\"id\":\"p\",\"type\":\"text\",\"value\":\"b\"}]}\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "row-1");
	assert_int_equal(it.id_explicit, 0);
	assert_int_equal(it.ninputs, 2);
	/* An explicit type is kept, even when the value looks like an image. */
	mfx_expect_input(&it, 0, "prompt", FB_INPUT_TEXT, "https://x.example/a.png");
	mfx_expect_input(&it, 1, "ref", FB_INPUT_IMAGE_URL, "https://x.example/noext");
	mfx_next(m, &it);
	assert_string_equal(it.source, "m.jsonl:2");
	mfx_expect_invalid(
	    &it, "inputs[0].value",
	    "field \"inputs[0].value\": expected a URL (http:// or https://) or a local "
	    "file; \"ref.png\" does not exist");
	mfx_next(m, &it);
	mfx_expect_invalid(
	    &it, "inputs[0].type",
	    "field \"inputs[0].type\": unknown input type \"IMAGE_URL\" (expected text, "
	    "imageUrl, videoUrl, audioUrl or documentUrl)");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs[0].type",
			   "field \"inputs[0].type\": expected a string, got nothing");
	mfx_next(m, &it);
	mfx_expect_invalid(
	    &it, "inputs[0]",
	    "field \"inputs[0]\": expected an object {\"id\", \"type\", \"value\"}, got "
	    "a string");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs[1].value",
			   "field \"inputs[1].value\": input \"p\" appears twice");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_bad_lines_do_not_stop_the_rest(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl("{\"id\":\"a\",\"inputs\":{\"prompt\":\"one\"}}\n"
					   "{\"id\":\"b\",\"inputs\":{\"prompt\": one}}\n"
					   "[1,2]\n"
					   "\"text\"\n"
					   "{\"id\":\"e\",\"inputs\":{\"prompt\":\"five\"}}\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	mfx_next(m, &it);
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.id, "row-2");
	assert_string_equal(it.source, "m.jsonl:2");
	assert_null(it.json);
	mfx_expect_invalid(&it, NULL,
			   "not valid JSON: lexical error: invalid char in json text (near: "
			   "{\"id\":\"b\",\"inputs\":{\"prompt\":)");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, NULL,
			   "expected a JSON object such as {\"inputs\": {...}}, got an array");
	assert_null(it.json);
	mfx_next(m, &it);
	mfx_expect_invalid(&it, NULL,
			   "expected a JSON object such as {\"inputs\": {...}}, got a string");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "e");
	assert_int_equal(it.seq, 5);
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_ids(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl("{\"id\":42,\"inputs\":{\"p\":\"x\"}}\n"
					   "{\"id\":\"\",\"inputs\":{\"p\":\"x\"}}\n"
					   "{\"id\":1.5,\"inputs\":{\"p\":\"x\"},\"k\":1}\n"
					   "{\"id\":[\"a\"],\"inputs\":{\"p\":\"x\"}}\n"
					   "{\"id\":-7,\"inputs\":{\"p\":\"x\"}}\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "42");
	assert_int_equal(it.id_explicit, 1);
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "row-2");
	assert_int_equal(it.id_explicit, 0);
	mfx_next(m, &it);
	assert_string_equal(it.id, "row-3");
	mfx_expect_invalid(&it, "id",
			   "field \"id\": expected a string or an integer, got a number");
	/* It parsed, so its keys can still go to the result line. */
	assert_true(YAJL_IS_OBJECT(it.json));
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "id",
			   "field \"id\": expected a string or an integer, got an array");
	mfx_next(m, &it);
	assert_string_equal(it.id, "-7");
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_inputs_problems(void **state)
{
	(void)state;
	struct fb_manifest *m =
	    open_jsonl("{\"technique\":\"t\"}\n"
		       "{\"inputs\":\"a fox\"}\n"
		       "{\"inputs\":{\"prompt\":\"\",\"style\":null}}\n"
		       "{\"inputs\":{\"prompt\":\"x\",\"seed\":42}}\n"
		       "{\"technique\":7,\"inputs\":{\"prompt\":\"x\"}}\n"
		       "{\"technique\":\"\",\"inputs\":{\"prompt\":\"x\"}}\n"
		       "{\"inputs\":{\"\":\"x\"}}\n"
		       "{\"inputs\":[{\"id\":\"\",\"type\":\"text\",\"value\":\"x\"}]}\n");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid); /* no inputs is for resolve.c to judge, by the item's kind */
	assert_int_equal(it.ninputs, 0);
	fb_item_release(&it);
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs",
			   "field \"inputs\": expected an object or an array, got a string");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.ninputs, 0);
	fb_item_release(&it);
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs.seed",
			   "field \"inputs.seed\": expected a string, got a number");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "technique",
			   "field \"technique\": expected a string, got a number");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_null(it.technique);
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs", "field \"inputs\": an input has an empty name");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, "inputs[0].id", "field \"inputs[0].id\": empty");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_blank_lines_and_crlf(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl("\n  \r\n{\"inputs\":{\"p\":\"a\"}}\r\n\r\n"
					   "{\"inputs\":{\"p\":\"b\"}}");
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.seq, 1);
	assert_string_equal(it.source, "m.jsonl:3");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.id, "row-2");
	assert_string_equal(it.source, "m.jsonl:5");
	mfx_expect_input(&it, 0, "p", FB_INPUT_TEXT, "b");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

/* A last line without its newline (a producer cut short) is still a whole row. */
static void test_last_line_without_newline(void **state)
{
	(void)state;
	struct fb_manifest *m = open_jsonl("{\"id\":\"a\",\"inputs\":{\"prompt\":\"one\"}}\n"
					   "{\"id\":\"b\",\"inputs\":{\"prompt\":\"two\"}}");
	struct fb_item it = {0};
	mfx_next(m, &it);
	assert_string_equal(it.id, "a");
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "b");
	assert_string_equal(it.source, "m.jsonl:2");
	struct fb_err err = {0};
	assert_int_equal(fb_manifest_next(m, &it, &err), 0);
	fb_item_release(&it);
	fb_manifest_free(m);
}

static void test_long_line(void **state)
{
	(void)state;
	size_t big = 2u << 20;
	char *text = malloc(big + 128);
	size_t len = (size_t)sprintf(text, "{\"inputs\":{\"p\":\"");
	memset(text + len, 'x', big);
	len += big;
	len += (size_t)sprintf(text + len, "\"}}\n{\"id\":\"after\",\"inputs\":{\"p\":\"y\"}}\n");
	struct fb_manifest *m = open_bytes(text, len);
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_string_equal(it.source, "m.jsonl:1");
	assert_string_equal(it.id, "row-1");
	mfx_expect_invalid(&it, NULL, "line too long: over 1048576 bytes");
	assert_null(it.json);
	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_string_equal(it.id, "after");
	assert_int_equal(it.seq, 2);
	assert_string_equal(it.source, "m.jsonl:2");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
	free(text);
}

static void test_line_at_the_limit(void **state)
{
	(void)state;
	/*
	 * A line of exactly FB_MANIFEST_MAX_RECORD bytes (its CR included) is
	 * accepted; one byte more is not.
	 */
	size_t limit = FB_MANIFEST_MAX_RECORD;
	char *text = malloc(2 * limit + 16);
	size_t len = 0;
	for (int extra = 0; extra < 2; extra++) {
		size_t start = len;
		len += (size_t)sprintf(text + len, "{\"inputs\":{\"p\":\"");
		size_t fill = limit + (size_t)extra - (len - start) - 4;
		memset(text + len, 'x', fill);
		len += fill;
		memcpy(text + len, "\"}}\r\n", 5);
		len += 5;
	}
	struct fb_manifest *m = open_bytes(text, len);
	struct fb_item it = {0};

	mfx_next(m, &it);
	assert_null(it.invalid);
	assert_int_equal(strlen(it.inputs[0].value), limit - 20);
	mfx_next(m, &it);
	assert_string_equal(it.source, "m.jsonl:2");
	mfx_expect_invalid(&it, NULL, "line too long: over 1048576 bytes");
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
	free(text);
}

static void test_encoding_and_nesting(void **state)
{
	(void)state;
	char deep[400];
	size_t n = (size_t)sprintf(deep, "{\"inputs\":{\"p\":\"x\"},\"m\":");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	strcpy(deep + n, "\n{\"inputs\":{\"p\":\"caf\xE9\"}}\n{\"inputs\":{\"p\":\"ok\"}}\n");
	struct fb_manifest *m = open_bytes(deep, strlen(deep));
	struct fb_item it = {0};

	mfx_next(m, &it);
	mfx_expect_invalid(&it, NULL, "JSON nested deeper than 64 levels");
	mfx_next(m, &it);
	mfx_expect_invalid(&it, NULL, "not valid UTF-8 (save the manifest as UTF-8)");
	mfx_next(m, &it);
	assert_null(it.invalid);
	fb_item_release(&it);
	mfx_expect_end(m);
	fb_manifest_free(m);
}

static void test_fixture(void **state)
{
	(void)state;
	char *path = tu_path(tu_env("FB_TEST_DATA"), "manifest_mixed.jsonl");
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	struct fb_item it = {0};
	int valid = 0, invalid = 0;

	assert_int_equal(fb_manifest_open(&m, path, FB_FORMAT_AUTO, &err), 0);
	while (fb_manifest_next(m, &it, &err) == 1) {
		if (it.invalid)
			invalid++;
		else
			valid++;
		fb_item_release(&it);
	}
	assert_int_equal(err.code, 0);
	/* "nothing" (empty inputs) is the reader's to record and resolve.c's to refuse. */
	assert_int_equal(valid, 4);
	assert_int_equal(invalid, 1);
	fb_manifest_free(m);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_object_inputs_and_meta, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_array_inputs, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_lines_do_not_stop_the_rest, mfx_setup,
					    mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_ids, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_inputs_problems, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_blank_lines_and_crlf, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_last_line_without_newline, mfx_setup,
					    mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_long_line, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_line_at_the_limit, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_encoding_and_nesting, mfx_setup, mfx_teardown),
	    cmocka_unit_test_setup_teardown(test_fixture, mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
