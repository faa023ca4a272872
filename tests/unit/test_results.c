/* results: the JSONL line's every field, nulls, escaping, meta, and the writer's I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "results.h"
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static yajl_val parse(const char *text)
{
	char errbuf[256];
	yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	if (!v)
		fail_msg("not valid JSON (%s): %s", errbuf, text);
	return v;
}

/* The line for res, parsed back to prove it is JSON (caller frees both). */
static char *to_json(const struct fb_result *res, yajl_val *parsed)
{
	struct fb_buf out = FB_BUF_INIT;
	struct fb_err err = {0};
	assert_int_equal(fb_result_to_json(res, &out, &err), 0);
	assert_null(strchr(fb_buf_str(&out), '\n'));
	if (parsed)
		*parsed = parse(fb_buf_str(&out));
	return fb_buf_detach(&out, NULL);
}

static const char *str_at(yajl_val v, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? s->u.string : NULL;
}

static void test_every_field(void **state)
{
	(void)state;
	struct fb_result_output outs[2] = {
	    {"o1", "imageUrl", "https://cdn.example/a/x.png", "item-1/o1.png", 1234, ""},
	    {"o2", "text", NULL, "item-1/o2.txt", 5, ""},
	};
	strcpy(outs[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	yajl_val meta = parse("{\"id\":\"item-1\",\"note\":\"n\",\"technique\":\"upscale\","
			      "\"big\":12345678901234567890,\"inputs\":[],\"f\":1.5e300,"
			      "\"nested\":{\"b\":[1,null,true],\"a\":\"\\u00e9\"}}");
	struct fb_result res = {
	    .id = "item-1",
	    .status = FB_STATUS_COMPLETED,
	    .source = "manifest.jsonl:3",
	    .kind = "technique",
	    .technique = "upscale",
	    .run_id = "run_abc",
	    .run_ids = (const char *const[]){"run_old", "run_abc"},
	    .nrun_ids = 2,
	    .idempotency_key = "fb_k1",
	    .attempts = 2,
	    .outputs = outs,
	    .noutputs = 2,
	    .volume = "outputs.0002.tar.gz",
	    .has_cost = 1,
	    .charged_cost = 0.873,
	    .submitted_at_ms = 1700000000000ull,
	    .finished_at_ms = 1700000005000ull,
	    .run_ms = 4000,
	    .total_ms = 5200,
	    .meta_src = meta,
	};
	yajl_val v;
	char *line = to_json(&res, &v);
	assert_string_equal(
	    line,
	    "{\"id\":\"item-1\",\"status\":\"completed\",\"source\":\"manifest.jsonl:3\","
	    "\"kind\":\"technique\","
	    "\"technique\":\"upscale\",\"run_id\":\"run_abc\",\"run_ids\":[\"run_old\",\"run_abc\"]"
	    ",\"idempotency_key\":\"fb_k1\","
	    "\"attempts\":2,\"outputs\":[{\"output_id\":\"o1\",\"type\":\"imageUrl\","
	    "\"url\":\"https://cdn.example/a/x.png\",\"path\":\"item-1/o1.png\",\"bytes\":1234,"
	    "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},"
	    "{\"output_id\":\"o2\",\"type\":\"text\",\"url\":null,\"path\":\"item-1/o2.txt\","
	    "\"bytes\":5,\"sha256\":null}],\"volume\":\"outputs.0002.tar.gz\","
	    "\"charged_cost\":0.873,\"error\":null,"
	    "\"timings\":{\"submitted_at\":1700000000000,\"finished_at\":1700000005000,"
	    "\"run_ms\":4000,\"total_ms\":5200},"
	    "\"meta\":{\"note\":\"n\",\"big\":12345678901234567890,\"f\":1.5e300,"
	    "\"nested\":{\"b\":[1,null,true],\"a\":\"\xc3\xa9\"}}}");
	const char *opath[] = {"outputs", NULL};
	yajl_val arr = yajl_tree_get(v, opath, yajl_t_array);
	assert_non_null(arr);
	assert_int_equal(arr->u.array.len, 2);
	assert_string_equal(str_at(arr->u.array.values[1], "path", NULL), "item-1/o2.txt");
	yajl_tree_free(v);
	free(line);
	yajl_tree_free(meta);
}

static void test_nulls(void **state)
{
	(void)state;
	struct fb_err none = {0};
	struct fb_result res = {.id = NULL, .status = FB_STATUS_SKIPPED, .error = &none};
	char *line = to_json(&res, NULL);
	/* No id, no run, no cost, zero error, zero clocks: nulls, never made-up values. */
	assert_string_equal(
	    line,
	    "{\"id\":null,\"status\":\"skipped\",\"source\":null,\"kind\":null,"
	    "\"technique\":null,\"run_id\":null,\"run_ids\":[],\"idempotency_key\":null,"
	    "\"attempts\":0,\"outputs\":[],\"volume\":null,\"charged_cost\":null,\"error\":null,"
	    "\"timings\":{\"submitted_at\":null,\"finished_at\":null,"
	    "\"run_ms\":null,\"total_ms\":0}}");
	free(line);

	/* A run that existed reports its duration even when it is 0 ms; a cost of 0 is a cost. */
	res.run_id = "run_x";
	res.has_cost = 1;
	res.charged_cost = 0;
	line = to_json(&res, NULL);
	assert_non_null(strstr(line, "\"charged_cost\":0,"));
	assert_non_null(strstr(line, "\"run_ms\":0,"));
	free(line);
}

static void test_errors(void **state)
{
	(void)state;
	struct fb_err e = {0};
	fb_err_set(&e, FB_ERUN, FB_KIND_ITEM, "the run failed: model timed out");
	strcpy(e.api_code, "model_timeout");
	struct fb_result res = {.id = "a", .status = FB_STATUS_FAILED, .error = &e};
	char *line = to_json(&res, NULL);
	assert_non_null(strstr(line, "\"error\":{\"code\":\"model_timeout\",\"http_status\":null,"
				     "\"message\":\"the run failed: model timed out\"},"));
	free(line);

	/* Without an API code the project's own code name stands in; field only when given. */
	fb_err_set(&e, FB_EINVAL, FB_KIND_ITEM, "input \"prompt\" is empty");
	e.api_code[0] = '\0';
	e.http_status = 422;
	res.status = FB_STATUS_INVALID;
	res.error_field = "prompt";
	line = to_json(&res, NULL);
	assert_non_null(strstr(line, "\"status\":\"invalid\""));
	assert_non_null(strstr(line, "\"error\":{\"code\":\"invalid\",\"http_status\":422,"
				     "\"message\":\"input \\\"prompt\\\" is empty\","
				     "\"field\":\"prompt\"},"));
	free(line);

	/* A field with no error says nothing. */
	res.error = NULL;
	line = to_json(&res, NULL);
	assert_null(strstr(line, "\"field\""));
	assert_non_null(strstr(line, "\"error\":null"));
	free(line);
}

static void test_escaping_and_utf8(void **state)
{
	(void)state;
	const char *nasty = "q\"b\\s/\n\r\t\x01\x1f \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80";
	struct fb_result res = {.id = nasty, .source = "bad\xff\xfe:1", .technique = "t\xc3"};
	yajl_val v;
	char *line = to_json(&res, &v);
	assert_string_equal(str_at(v, "id", NULL), nasty);
	/* Invalid bytes become U+FFFD instead of breaking the line. */
	assert_string_equal(str_at(v, "source", NULL), "bad\xef\xbf\xbd\xef\xbf\xbd:1");
	assert_string_equal(str_at(v, "technique", NULL), "t\xef\xbf\xbd");
	assert_non_null(strstr(line, "\\u0001"));
	yajl_tree_free(v);
	free(line);

	/* The error message and meta strings are repaired the same way. */
	struct fb_err e = {0};
	fb_err_set(&e, FB_EHTTP, FB_KIND_ITEM, "server said \x80\x81");
	strcpy(e.api_code, "bad\xc0");
	res.error = &e;
	line = to_json(&res, &v);
	assert_string_equal(str_at(v, "error", "message"), "server said \xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(str_at(v, "error", "code"), "bad\xef\xbf\xbd");
	yajl_tree_free(v);
	free(line);
}

static void test_meta_rules(void **state)
{
	(void)state;
	struct fb_result res = {.id = "x"};
	yajl_val only_reserved = parse("{\"id\":\"x\",\"technique\":\"t\",\"inputs\":{}}");
	res.meta_src = only_reserved;
	char *line = to_json(&res, NULL);
	assert_null(strstr(line, "\"meta\""));
	free(line);
	yajl_tree_free(only_reserved);

	yajl_val not_object = parse("[1,2]");
	res.meta_src = not_object;
	line = to_json(&res, NULL);
	assert_null(strstr(line, "\"meta\""));
	free(line);
	yajl_tree_free(not_object);

	/* Order kept, reserved keys dropped wherever they sit, values untouched. */
	yajl_val mixed =
	    parse("{\"z\":-0.0,\"inputs\":[1],\"a\":{\"id\":1},\"id\":\"x\",\"m\":null}");
	res.meta_src = mixed;
	line = to_json(&res, NULL);
	assert_non_null(strstr(line, ",\"meta\":{\"z\":-0.0,\"a\":{\"id\":1},\"m\":null}}"));
	free(line);
	yajl_tree_free(mixed);

	/* Deeper than the generator allows: the line is still written, without meta. */
	char deep[700] = "{\"d\":";
	size_t n = strlen(deep);
	memset(deep + n, '[', 300);
	memset(deep + n + 300, ']', 300);
	strcpy(deep + n + 600, "}");
	yajl_val dv = parse(deep);
	res.meta_src = dv;
	yajl_val v;
	line = to_json(&res, &v);
	assert_string_equal(str_at(v, "id", NULL), "x");
	assert_null(strstr(line, "\"meta\""));
	yajl_tree_free(v);
	free(line);
	yajl_tree_free(dv);
}

static void test_file_roundtrip(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "results.jsonl");
	struct fb_results *r = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_results_open(&r, path, &err), 0);

	const char *ids[] = {"one", "two\nlines", "three"};
	for (int i = 0; i < 3; i++) {
		struct fb_result res = {.id = ids[i], .status = FB_STATUS_COMPLETED, .total_ms = 7};
		assert_int_equal(fb_results_write(r, &res, &err), 0);
		/* Each line is in the file as soon as write returns. */
		size_t len;
		char *text = tu_read_file(path, &len);
		size_t lines = 0;
		for (size_t k = 0; k < len; k++)
			lines += text[k] == '\n';
		assert_int_equal(lines, i + 1);
		assert_int_equal(text[len - 1], '\n');
		free(text);
	}
	assert_int_equal(fb_results_close(r, &err), 0);

	char *text = tu_read_file(path, NULL);
	char *save = NULL;
	int i = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		yajl_val v = parse(line);
		assert_true(i < 3);
		assert_string_equal(str_at(v, "id", NULL), ids[i]);
		yajl_tree_free(v);
		i++;
	}
	assert_int_equal(i, 3);
	free(text);

	/* Opening again truncates. */
	assert_int_equal(fb_results_open(&r, path, &err), 0);
	assert_int_equal(fb_results_close(r, &err), 0);
	size_t len = 99;
	free(tu_read_file(path, &len));
	assert_int_equal(len, 0);

	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void test_open_failure(void **state)
{
	(void)state;
	struct fb_results *r = (struct fb_results *)1;
	struct fb_err err = {0};
	assert_int_equal(fb_results_open(&r, "/nonexistent-dir/x/results.jsonl", &err), FB_EIO);
	assert_null(r);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x/results.jsonl"));
	assert_int_equal(fb_results_close(NULL, &err), 0);
}

static void test_stdout_is_not_closed(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "out");
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);

	struct fb_results *r = NULL;
	struct fb_err err = {0};
	int rc_open = fb_results_open(&r, "-", &err);
	struct fb_result res = {.id = "to-stdout"};
	int rc_write = rc_open ? -100 : fb_results_write(r, &res, &err);
	int rc_close = rc_open ? -100 : fb_results_close(r, &err);
	int still_open = fcntl(STDOUT_FILENO, F_GETFD) != -1;
	dup2(saved, STDOUT_FILENO);
	close(saved);

	assert_int_equal(rc_open, 0);
	assert_int_equal(rc_write, 0);
	assert_int_equal(rc_close, 0);
	assert_true(still_open);
	char *text = tu_read_file(path, NULL);
	assert_non_null(strstr(text, "{\"id\":\"to-stdout\","));
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void test_broken_pipe(void **state)
{
	(void)state;
	/* The program ignores SIGPIPE, so a gone reader shows up as EPIPE. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", p[1]);
	struct fb_results *r = NULL;
	struct fb_err err = {0};
	/* /dev/fd/N is a link: a file the user names, like --results. */
	assert_int_equal(fb_results_open_named(&r, path, 0, &err), 0);
	close(p[1]);
	struct fb_result res = {.id = "x"};
	assert_int_equal(fb_results_write(r, &res, &err), FB_EPIPE);
	assert_int_equal(err.code, FB_EPIPE);
	assert_non_null(strstr(err.msg, "broken pipe"));
	/* Nothing more goes out after a failure, and close says so again. */
	fb_err_clear(&err);
	assert_int_equal(fb_results_write(r, &res, &err), FB_EPIPE);
	assert_non_null(strstr(err.msg, "broken pipe"));
	assert_int_equal(fb_results_close(r, &err), FB_EPIPE);
	signal(SIGPIPE, old);
}

static void test_disk_full(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	struct fb_results *r = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_results_open(&r, "/dev/full", &err), 0);
	struct fb_result res = {.id = "x"};
	assert_int_equal(fb_results_write(r, &res, &err), FB_EIO);
	assert_non_null(strstr(err.msg, "no space left"));
	assert_non_null(strstr(err.msg, "/dev/full"));
	assert_int_equal(fb_results_close(r, &err), FB_EIO);
}

static size_t lines_in(const char *path)
{
	size_t len = 0, n = 0;
	char *text = tu_read_file(path, &len);
	for (size_t k = 0; text && k < len; k++)
		n += text[k] == '\n';
	free(text);
	return n;
}

/* With a buffer, whole lines wait for a flush, a sync, a full buffer or close. */
static void test_buffered(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "results.jsonl");
	struct fb_results *r = NULL;
	struct fb_err err = {0};
	struct fb_result res = {.id = "one", .status = FB_STATUS_FAILED};
	assert_int_equal(fb_results_open(&r, path, &err), 0);
	fb_results_set_buffer(r, 4096);
	assert_int_equal(fb_results_write(r, &res, &err), 0);
	assert_int_equal(lines_in(path), 0);
	assert_true(fb_results_pending(r) > 0);
	assert_int_equal(fb_results_flush(r, &err), 0);
	assert_int_equal(fb_results_pending(r), 0);
	assert_int_equal(lines_in(path), 1);
	assert_int_equal(fb_results_write(r, &res, &err), 0);
	assert_int_equal(fb_results_sync(r, &err), 0);
	assert_int_equal(lines_in(path), 2);
	int n = 2;
	while (lines_in(path) == 2) { /* the buffer fills and goes out by itself */
		assert_int_equal(fb_results_write(r, &res, &err), 0);
		n++;
		assert_true(n < 4096);
	}
	assert_int_equal(fb_results_write(r, &res, &err), 0);
	n++;
	assert_int_equal(fb_results_close(r, &err), 0);
	assert_int_equal(lines_in(path), (size_t)n);
	/* A failed write fails the buffered lines too. */
	if (access("/dev/full", W_OK) == 0) {
		assert_int_equal(fb_results_open(&r, "/dev/full", &err), 0);
		fb_results_set_buffer(r, 1 << 20);
		assert_int_equal(fb_results_write(r, &res, &err), 0);
		assert_int_equal(fb_results_flush(r, &err), FB_EIO);
		assert_int_equal(fb_results_write(r, &res, &err), FB_EIO);
		assert_int_equal(fb_results_close(r, &err), FB_EIO);
	}
	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(fb_item_status_name(FB_STATUS_COMPLETED), "completed");
	assert_string_equal(fb_item_status_name(FB_STATUS_FAILED), "failed");
	assert_string_equal(fb_item_status_name(FB_STATUS_INVALID), "invalid");
	assert_string_equal(fb_item_status_name(FB_STATUS_SKIPPED), "skipped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_field),	 cmocka_unit_test(test_nulls),
	    cmocka_unit_test(test_errors),	 cmocka_unit_test(test_escaping_and_utf8),
	    cmocka_unit_test(test_meta_rules),	 cmocka_unit_test(test_file_roundtrip),
	    cmocka_unit_test(test_open_failure), cmocka_unit_test(test_stdout_is_not_closed),
	    cmocka_unit_test(test_broken_pipe),	 cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_status_names), cmocka_unit_test(test_buffered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
