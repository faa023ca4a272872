/* error: the policy table says the contract's kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"

#include <stdio.h>
#include <string.h>

static void test_http_kinds(void **s)
{
	(void)s;
	assert_int_equal(fb_err_kind_for_http(401, "invalid_api_key"), FB_KIND_BATCH);
	assert_int_equal(fb_err_kind_for_http(401, NULL), FB_KIND_BATCH);
	assert_int_equal(fb_err_kind_for_http(402, "insufficient_credits"), FB_KIND_BATCH);
	assert_int_equal(fb_err_kind_for_http(403, "forbidden"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(404, "not_found"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(409, "idempotency_duplicate"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(422, "idempotency_conflict"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(400, "input_validation_error"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(408, NULL), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(425, NULL), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(502, NULL), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(500, "internal_error"), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(400, "invalid_json"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(403, "paid_plan_required"), FB_KIND_ITEM);
	assert_int_equal(fb_err_kind_for_http(409, "conflict"), FB_KIND_ITEM);
	/* A code says more than its status: a proxy's 500 cannot turn a bad key retryable. */
	assert_int_equal(fb_err_kind_for_http(500, "invalid_api_key"), FB_KIND_BATCH);
	assert_int_equal(fb_err_kind_for_http(429, "rate_limited"), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(500, "unknown_error"), FB_KIND_RETRYABLE);
	assert_int_equal(fb_err_kind_for_http(503, NULL), FB_KIND_RETRYABLE);
}

static void test_run_codes(void **s)
{
	(void)s;
	assert_true(fb_err_run_code_retryable("model_timeout"));
	assert_true(fb_err_run_code_retryable("internal_error"));
	assert_true(fb_err_run_code_retryable("GPU_PROVIDER_ERROR"));
	assert_false(fb_err_run_code_retryable("safety_blocked"));
	assert_false(fb_err_run_code_retryable("input_unreachable"));
	assert_false(fb_err_run_code_retryable(NULL));
}

static void test_set_formats(void **s)
{
	(void)s;
	struct fb_err e = {0};
	assert_int_equal(fb_err_set(&e, FB_EIO, FB_KIND_BATCH, "x %d", 3), FB_EIO);
	assert_string_equal(e.msg, "x 3");
	assert_int_equal(e.kind, FB_KIND_BATCH);
	assert_int_equal(fb_err_set(NULL, FB_EINVAL, FB_KIND_ITEM, "ignored"), FB_EINVAL);
}

static void test_hints(void **s)
{
	(void)s;
	struct fb_err e = {0};
	e.http_status = 401;
	assert_non_null(strstr(fb_err_hint(&e), "FLORA_API_KEY"));
	e.http_status = 402;
	snprintf(e.api_code, sizeof(e.api_code), "insufficient_credits");
	assert_non_null(strstr(fb_err_hint(&e), "same command"));
	e.http_status = 404;
	snprintf(e.api_code, sizeof(e.api_code), "not_found");
	assert_null(fb_err_hint(&e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_kinds),
	    cmocka_unit_test(test_run_codes),
	    cmocka_unit_test(test_set_formats),
	    cmocka_unit_test(test_hints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
