/* Tests for api: request paths and bodies, error answers (run answers: test_apirun.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "api.h"
#include "apiasset.h"
#include "apifx.h"
#include "buf.h"

static void parse_error_n(int status, const char *body, size_t len, const char *reqid,
			  struct fb_err *err)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, body, len);
	fb_api_parse_error(status, copy, len, reqid, err);
	free(copy);
}

static void parse_error(int status, const char *body, const char *reqid, struct fb_err *err)
{
	parse_error_n(status, body, strlen(body), reqid, err);
}

static void test_segment(void **state)
{
	(void)state;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_api_add_segment(&b, "a b/c?d#e%f\xc3\xa9~._-Z9"), 0);
	assert_string_equal(fb_buf_str(&b), "a%20b%2Fc%3Fd%23e%25f%C3%A9~._-Z9");
	fb_buf_reset(&b);
	assert_int_equal(fb_api_add_segment(&b, ""), 0);
	assert_string_equal(fb_buf_str(&b), "");
	fb_buf_release(&b);
}

static void test_create_exact(void **state)
{
	(void)state;
	struct fb_input in[] = {
	    {.id = "prompt", .type = FB_INPUT_TEXT, .value = "a cat"},
	    {.id = "image", .type = FB_INPUT_IMAGE_URL, .value = "https://cdn.example.com/a.png"},
	};
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "cctv-cam",
				     .inputs = in,
				     .ninputs = 2,
				     .idempotency_key = "row-1-abc"};
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_err err = {0};
	assert_int_equal(fb_api_create_call(&req, &call, &err), 0);
	assert_string_equal(call.method, "POST");
	assert_string_equal(fb_buf_str(&call.path), "/techniques/cctv-cam/runs");
	assert_string_equal(
	    fb_buf_str(&call.body),
	    "{\"inputs\":[{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a cat\"},"
	    "{\"id\":\"image\",\"type\":\"imageUrl\",\"value\":"
	    "\"https://cdn.example.com/a.png\"}],\"mode\":\"async\","
	    "\"idempotency_key\":\"row-1-abc\"}");
	assert_ptr_equal(call.idem_key, req.idempotency_key);

	/* A reused call holds the new request only. */
	req.ninputs = 1;
	req.idempotency_key = NULL;
	assert_int_equal(fb_api_create_call(&req, &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/techniques/cctv-cam/runs");
	assert_string_equal(fb_buf_str(&call.body),
			    "{\"inputs\":[{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a "
			    "cat\"}],\"mode\":\"async\"}");
	assert_null(call.idem_key);
	fb_api_call_release(&call);
	assert_null(call.path.ptr);
	assert_null(call.body.ptr);
}

static void test_create_escapes_and_order(void **state)
{
	(void)state;
	char tricky[] = "say \"hi\"\\ \n\t\x01 </script> caf\xc3\xa9 \xf0\x9f\x8c\xb8";
	struct fb_input in[] = {
	    {.id = "z_last", .type = FB_INPUT_TEXT, .value = tricky},
	    {.id = "a_first",
	     .type = FB_INPUT_VIDEO_URL,
	     .value = "https://x.example/v.mp4?sig=a&b=c"},
	    {.id = "m\"id", .type = FB_INPUT_DOCUMENT_URL, .value = ""},
	};
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "my tech/v2",
				     .inputs = in,
				     .ninputs = 3,
				     .idempotency_key = ""};
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_err err = {0};
	assert_int_equal(fb_api_create_call(&req, &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/techniques/my%20tech%2Fv2/runs");
	assert_null(call.idem_key); /* an empty key is no key */
	for (const char *p = fb_buf_str(&call.body); *p; p++)
		assert_true((unsigned char)*p >= 0x20); /* raw control bytes never reach the wire */

	char ebuf[128];
	yajl_val top = yajl_tree_parse(fb_buf_str(&call.body), ebuf, sizeof(ebuf));
	assert_non_null(top);
	assert_true(YAJL_IS_OBJECT(top));
	assert_int_equal(top->u.object.len, 2); /* inputs, mode: no idempotency_key */
	assert_string_equal(top->u.object.keys[0], "inputs");
	assert_string_equal(top->u.object.keys[1], "mode");
	assert_string_equal(YAJL_GET_STRING(top->u.object.values[1]), "async");
	yajl_val arr = top->u.object.values[0];
	assert_true(YAJL_IS_ARRAY(arr));
	assert_int_equal(arr->u.array.len, 3);
	static const char *const types[] = {"text", "videoUrl", "documentUrl"};
	for (size_t i = 0; i < 3; i++) {
		yajl_val o = arr->u.array.values[i];
		assert_int_equal(o->u.object.len, 3);
		assert_string_equal(o->u.object.keys[0], "id");
		assert_string_equal(o->u.object.keys[1], "type");
		assert_string_equal(o->u.object.keys[2], "value");
		assert_string_equal(YAJL_GET_STRING(o->u.object.values[0]), in[i].id);
		assert_string_equal(YAJL_GET_STRING(o->u.object.values[1]), types[i]);
		assert_string_equal(YAJL_GET_STRING(o->u.object.values[2]), in[i].value);
	}
	yajl_tree_free(top);
	fb_api_call_release(&call);
}

static void test_create_invalid(void **state)
{
	(void)state;
	struct fb_input ok[] = {{.id = "prompt", .type = FB_INPUT_TEXT, .value = "x"}};
	struct fb_input noid[] = {{.id = NULL, .type = FB_INPUT_TEXT, .value = "x"}};
	struct fb_input noval[] = {{.id = "prompt", .type = FB_INPUT_TEXT, .value = NULL}};
	struct fb_input badutf[] = {{.id = "prompt", .type = FB_INPUT_TEXT, .value = "ok"},
				    {.id = "p2", .type = FB_INPUT_TEXT, .value = "\xff"}};
	struct {
		struct fb_run_request req;
		const char *needle;
	} cases[] = {
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = NULL,
	      .inputs = ok,
	      .ninputs = 1,
	      .idempotency_key = NULL},
	     "technique"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "",
	      .inputs = ok,
	      .ninputs = 1,
	      .idempotency_key = NULL},
	     "technique"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = ok,
	      .ninputs = 0,
	      .idempotency_key = NULL},
	     "at least one input"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = NULL,
	      .ninputs = 0,
	      .idempotency_key = NULL},
	     "at least one input"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = noid,
	      .ninputs = 1,
	      .idempotency_key = NULL},
	     "no id"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = noval,
	      .ninputs = 1,
	      .idempotency_key = NULL},
	     "no value"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = badutf,
	      .ninputs = 2,
	      .idempotency_key = NULL},
	     "input 2"},
	    {{.kind = FB_JOB_TECHNIQUE,
	      .technique = "t",
	      .inputs = ok,
	      .ninputs = 1,
	      .idempotency_key = "key\xc3"},
	     "idempotency key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_api_call call = FB_API_CALL_INIT;
		struct fb_err err = {0};
		assert_int_equal(fb_api_create_call(&cases[i].req, &call, &err), FB_EINVAL);
		assert_int_equal(err.code, FB_EINVAL);
		assert_non_null(strstr(err.msg, cases[i].needle));
		fb_api_call_release(&call);
	}
}

static void test_poll_paths(void **state)
{
	(void)state;
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_err err = {0};
	const char *abs = "https://app.flora.ai/api/v1/techniques/cctv-cam/runs/run_1?x=a b";
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_1", "cctv-cam", abs};
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), 0);
	assert_string_equal(call.method, "GET");
	assert_string_equal(fb_buf_str(&call.path), abs); /* as the API gave it */
	assert_int_equal(call.body.len, 0);
	assert_null(call.idem_key);

	ref.poll_url = "/techniques/cctv-cam/runs/run_1";
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/techniques/cctv-cam/runs/run_1");

	ref.poll_url = NULL;
	ref.technique = "tech one";
	ref.run_id = "run_a/b";
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/techniques/tech%20one/runs/run_a%2Fb");

	ref.poll_url = "";
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/techniques/tech%20one/runs/run_a%2Fb");

	ref.technique = NULL;
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), FB_EINVAL);
	assert_non_null(strstr(err.msg, "run_a/b"));
	ref.technique = "t";
	ref.run_id = "";
	ref.poll_url = "/x";
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), FB_EINVAL);
	ref.run_id = NULL;
	assert_int_equal(fb_api_poll_call(&ref, &call, &err), FB_EINVAL);
	fb_api_call_release(&call);
}

static void test_error_envelope(void **state)
{
	(void)state;
	struct fb_err err;
	memset(&err, 0x5a, sizeof(err)); /* stale content must not survive */
	parse_error(
	    400,
	    "{\"error\":{\"code\":\"input_validation_error\",\"message\":\"prompt: Required\","
	    "\"fields\":[{\"field\":\"prompt\",\"message\":\"Required\"},"
	    "{\"field\":\"inputs[1].value\",\"message\":\"Invalid url\"}]}}",
	    NULL, &err);
	assert_int_equal(err.code, FB_EHTTP);
	assert_int_equal(err.http_status, 400);
	assert_int_equal(err.kind, FB_KIND_ITEM);
	assert_string_equal(err.api_code, "input_validation_error");
	assert_string_equal(err.msg,
			    "prompt: Required (prompt: Required; inputs[1].value: Invalid url)");

	parse_error(402,
		    "{\"error\":{\"code\":\"insufficient_credits\",\"message\":"
		    "\"Insufficient credits.\"}}",
		    "req_abc", &err);
	assert_int_equal(err.kind, FB_KIND_BATCH);
	assert_string_equal(err.api_code, "insufficient_credits");
	assert_string_equal(err.msg, "Insufficient credits. (request-id req_abc)");

	parse_error(409, "{\"error\":\"Duplicate idempotency key.\"}", NULL, &err);
	assert_string_equal(err.msg, "Duplicate idempotency key.");
	assert_string_equal(err.api_code, "");
	assert_int_equal(err.kind, FB_KIND_ITEM);

	parse_error(429, "{\"code\":\"rate_limited\",\"message\":\"Rate limit exceeded.\"}", "",
		    &err);
	assert_string_equal(err.api_code, "rate_limited");
	assert_string_equal(err.msg, "Rate limit exceeded.");
	assert_int_equal(err.kind, FB_KIND_RETRYABLE);

	parse_error(404, "{\"message\":\"Technique not found\"}", NULL, &err);
	assert_string_equal(err.msg, "Technique not found");

	parse_error(500, "{\"error\":{\"code\":\"unknown_error\"}}", NULL, &err);
	assert_string_equal(err.msg, "HTTP 500 unknown_error");
	assert_string_equal(err.api_code, "unknown_error");

	/* JSON that is not an envelope is shown as it came. */
	parse_error(500, "{\"ok\":false}", NULL, &err);
	assert_string_equal(err.msg, "HTTP 500: {\"ok\":false}");
	assert_string_equal(err.api_code, "");

	/* A code too long for api_code is cut, not overflowed. */
	char body[300];
	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%0100d\",\"message\":\"m\"}}", 0);
	parse_error(400, body, NULL, &err);
	assert_int_equal(strlen(err.api_code), FB_ERR_CODE_MAX - 1);
}

/* Found by fuzzing (tests/fuzz): an envelope with an empty message and no code. */
static void test_error_empty_message_no_code(void **state)
{
	(void)state;
	struct fb_err err;
	parse_error(500, "{\"error\":{\"message\":\"\",\"fields\":[{\"x\":\"y\"}]}}", NULL, &err);
	assert_int_equal(err.code, FB_EHTTP);
	assert_int_equal(err.http_status, 500);
	assert_string_equal(err.api_code, "");
	assert_non_null(strstr(err.msg, "HTTP 500: {"));
}

/*
 * An error answer (or an asset's) nested a million deep: yajl's tree is
 * built and freed recursively, so this overflowed the stack. Too deep
 * for an envelope, it is shown as the text it is.
 */
static void test_error_deep_nesting(void **state)
{
	(void)state;
	enum { DEPTH = 1000000 };
	char *b = malloc(2 * DEPTH);
	assert_non_null(b);
	memset(b, '[', DEPTH);
	memset(b + DEPTH, ']', DEPTH);
	struct fb_err err;
	fb_api_parse_error(500, b, 2 * DEPTH, "req_d", &err);
	assert_int_equal(err.kind, FB_KIND_RETRYABLE);
	assert_true(!strncmp(err.msg, "HTTP 500: [[[[", 14));
	assert_non_null(strstr(err.msg, "(request-id req_d)"));
	struct fb_api_asset a;
	assert_int_equal(fb_api_parse_asset(b, 2 * DEPTH, &a, &err), FB_EPARSE);
	assert_non_null(strstr(err.msg, "not JSON"));
	fb_api_asset_release(&a);
	free(b);
}

static void test_error_not_json(void **state)
{
	(void)state;
	struct fb_err err;
	const char *html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
			   "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx"
			   "</center>                                                           "
			   "                                                                   "
			   "</body></html>\n";
	parse_error(502, html, "req_1", &err);
	assert_int_equal(err.code, FB_EHTTP);
	assert_int_equal(err.http_status, 502);
	assert_int_equal(err.kind, FB_KIND_RETRYABLE);
	assert_string_equal(err.api_code, "");
	assert_true(!strncmp(err.msg, "HTTP 502: <!DOCTYPE html>\\x0A<html>", 35));
	assert_non_null(strstr(err.msg, "... (request-id req_1)"));
	assert_null(strstr(err.msg, "</html>")); /* past the first 200 bytes */
	assert_clean_line(err.msg);

	const char bin[] = "\x00\xff\xfe\x01 ok~\x7f \xc3\xa9 \xed\xa0\x80 \xf0\x9f\x8c";
	parse_error_n(500, bin, sizeof(bin) - 1, NULL, &err);
	assert_string_equal(
	    err.msg,
	    "HTTP 500: \\x00\\xFF\\xFE\\x01 ok~\\x7F \xc3\xa9 \\xED\\xA0\\x80 \\xF0\\x9F\\x8C");
	assert_clean_line(err.msg);

	parse_error_n(502, "", 0, NULL, &err);
	assert_string_equal(err.msg, "HTTP 502 with an empty body");
	fb_api_parse_error(503, NULL, 0, "req_2", &err);
	assert_string_equal(err.msg, "HTTP 503 with an empty body (request-id req_2)");
	assert_int_equal(err.kind, FB_KIND_RETRYABLE);
	parse_error(504, " \r\n", NULL, &err);
	assert_string_equal(err.msg, "HTTP 504 with an empty body");

	/* A request id with control characters stays on one line. */
	parse_error(500, "oops", "req\n1", &err);
	assert_string_equal(err.msg, "HTTP 500: oops (request-id req\\x0A1)");
}

static void test_error_long_keeps_request_id(void **state)
{
	(void)state;
	char msg[2000];
	memset(msg, 'm', sizeof(msg));
	char body[2100];
	snprintf(body, sizeof(body),
		 "{\"error\":{\"code\":\"x\",\"message\":\"%.*s\",\"fields\":"
		 "[{\"field\":\"f\",\"message\":\"%.*s\"}]}}",
		 600, msg, 600, msg);
	struct fb_err err;
	parse_error(400, body, "req_long", &err);
	assert_true(strlen(err.msg) < FB_ERR_MSG_MAX);
	size_t n = strlen(err.msg);
	const char *tail = " (request-id req_long)";
	assert_true(n > strlen(tail));
	assert_string_equal(err.msg + n - strlen(tail), tail);
	assert_clean_line(err.msg);
}

static void test_error_kinds(void **state)
{
	(void)state;
	static const struct {
		int status;
		const char *code; /* NULL: a body that is not the envelope */
		enum fb_errkind kind;
	} cases[] = {
	    {401, "invalid_api_key", FB_KIND_BATCH},
	    {401, NULL, FB_KIND_BATCH},
	    {402, "insufficient_credits", FB_KIND_BATCH},
	    {403, "forbidden", FB_KIND_ITEM},
	    {404, "not_found", FB_KIND_ITEM},
	    {409, "idempotency_duplicate", FB_KIND_ITEM},
	    {422, "idempotency_conflict", FB_KIND_ITEM},
	    {429, "rate_limited", FB_KIND_RETRYABLE},
	    {429, NULL, FB_KIND_RETRYABLE},
	    {500, "unknown_error", FB_KIND_RETRYABLE},
	    {503, NULL, FB_KIND_RETRYABLE},
	    {403, "invalid_api_key", FB_KIND_BATCH}, /* a code says more than its status */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[128] = "<html>Service Unavailable</html>";
		if (cases[i].code)
			snprintf(body, sizeof(body),
				 "{\"error\":{\"code\":\"%s\",\"message\":\"m\"}}", cases[i].code);
		struct fb_err err;
		parse_error(cases[i].status, body, NULL, &err);
		assert_int_equal(err.code, FB_EHTTP);
		assert_int_equal(err.http_status, cases[i].status);
		assert_string_equal(err.api_code, cases[i].code ? cases[i].code : "");
		if (err.kind != cases[i].kind)
			fail_msg("case %zu: HTTP %d gave kind %s", i, cases[i].status,
				 fb_err_kind_name(err.kind));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_segment),
	    cmocka_unit_test(test_create_exact),
	    cmocka_unit_test(test_create_escapes_and_order),
	    cmocka_unit_test(test_create_invalid),
	    cmocka_unit_test(test_poll_paths),
	    cmocka_unit_test(test_error_envelope),
	    cmocka_unit_test(test_error_empty_message_no_code),
	    cmocka_unit_test(test_error_not_json),
	    cmocka_unit_test(test_error_deep_nesting),
	    cmocka_unit_test(test_error_long_keeps_request_id),
	    cmocka_unit_test(test_error_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
