/* apireq: the bytes of each kind of create, and where their runs are polled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apireq.h"

#include <string.h>
#include <yajl/yajl_tree.h>

static const struct fb_input in[] = {
    {.id = "input_image", .type = FB_INPUT_IMAGE_URL, .value = "https://x.example/1.png"},
    {.id = "style", .type = FB_INPUT_TEXT, .value = "warm \"light\""},
};

static void test_technique_id_body(void **s)
{
	(void)s;
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE_ID,
				     .technique = "tech_cctv-cam",
				     .inputs = in,
				     .ninputs = 2,
				     .workspace_id = "ws_accept",
				     .idempotency_key = "fb1-k"};
	struct fb_api_call c = FB_API_CALL_INIT;
	struct fb_err e = {0};
	assert_int_equal(fb_api_create_call(&req, &c, &e), 0);
	assert_string_equal(c.method, "POST");
	assert_string_equal(fb_buf_str(&c.path), "/runs/technique");
	/* The top-level body rejects unknown fields: the key travels in the header only. */
	assert_string_equal(fb_buf_str(&c.body),
			    "{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\","
			    "\"inputs\":{\"input_image\":\"https://x.example/1.png\",\"style\":"
			    "\"warm \\\"light\\\"\"}}");
	assert_string_equal(c.idem_key, "fb1-k");
	fb_api_call_release(&c);
}

static void test_generation_body_and_routes(void **s)
{
	(void)s;
	char ebuf[128];
	yajl_val params =
	    yajl_tree_parse("{\"aspect_ratio\":\"1:1\",\"steps\":30}", ebuf, sizeof(ebuf));
	struct fb_run_request req = {.kind = FB_JOB_GENERATION,
				     .generation = "image",
				     .prompt = "a red chair",
				     .workspace_id = "ws_accept",
				     .project_id = "prj_accept",
				     .model = "t2i-flux-2-pro",
				     .params = params,
				     .idempotency_key = "fb1-g"};
	struct fb_api_call c = FB_API_CALL_INIT;
	struct fb_err e = {0};
	assert_int_equal(fb_api_create_call(&req, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/generate");
	assert_string_equal(
	    fb_buf_str(&c.body),
	    "{\"type\":\"image\",\"prompt\":\"a red chair\",\"workspace_id\":"
	    "\"ws_accept\",\"project_id\":\"prj_accept\",\"model\":\"t2i-flux-2-pro\","
	    "\"params\":{\"aspect_ratio\":\"1:1\",\"steps\":30}}");
	assert_string_equal(c.idem_key, "fb1-g");
	req.legacy_generation_route = 1;
	req.model = NULL;
	req.params = NULL;
	assert_int_equal(fb_api_create_call(&req, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/runs/generation");
	assert_null(strstr(fb_buf_str(&c.body), "model"));
	req.prompt = "";
	assert_int_equal(fb_api_create_call(&req, &c, &e), FB_EINVAL);
	fb_api_call_release(&c);
	yajl_tree_free(params);
}

static void test_poll_paths_by_kind(void **s)
{
	(void)s;
	struct fb_api_call c = FB_API_CALL_INIT;
	struct fb_err e = {0};
	struct fb_run_ref gen = {.kind = FB_JOB_GENERATION, .run_id = "run_a b"};
	assert_int_equal(fb_api_poll_call(&gen, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/runs/run_a%20b");
	struct fb_run_ref tid = {
	    .kind = FB_JOB_TECHNIQUE_ID, .run_id = "run_1", .technique = "tech_x"};
	assert_int_equal(fb_api_poll_call(&tid, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/runs/run_1");
	struct fb_run_ref nested = {
	    .kind = FB_JOB_TECHNIQUE, .run_id = "run_1", .technique = "cctv-cam"};
	assert_int_equal(fb_api_poll_call(&nested, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/techniques/cctv-cam/runs/run_1");
	fb_api_call_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_technique_id_body),
	    cmocka_unit_test(test_generation_body_and_routes),
	    cmocka_unit_test(test_poll_paths_by_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
