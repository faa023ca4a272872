/*
 * Tests for the http transport's pure parts (URLs, origins, Retry-After,
 * libcurl errors) and for what it refuses before anything is sent. The
 * round trips against a loopback server are in test_http.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpfx.h"

/* ---- the pure parts ---- */

static void line(struct fb_http_headers *h, const char *s)
{
	fb_http_header_line(h, s, strlen(s));
}

static void test_header_lines(void **state)
{
	(void)state;
	struct fb_http_headers h;
	memset(&h, 0, sizeof(h));
	line(&h, "HTTP/1.1 429 Too Many Requests\r\n");
	line(&h, "Retry-After:  7 \r\n");
	line(&h, "REQUEST-ID: req_\x01\xffz\r\n"); /* kept printable: it goes into messages */
	line(&h, "retry-after-ms:\t250.5\r\n");
	line(&h, "X-Retry-After: 99\r\n");
	line(&h, "no colon here\r\n");
	assert_string_equal(h.retry_after, "7");
	assert_string_equal(h.request_id, "req_??z");
	assert_string_equal(h.retry_after_ms, "250.5");

	/* A longer value is cut to fit, never past the field. */
	char big[300];
	memset(big, 'a', sizeof(big));
	memcpy(big, "request-id: ", 12);
	fb_http_header_line(&h, big, sizeof(big));
	assert_int_equal(strlen(h.request_id), sizeof(h.request_id) - 1);

	/* A value that is only blanks reads as absent. */
	line(&h, "Retry-After: \t \r\n");
	assert_string_equal(h.retry_after, "");

	/* The next answer (after a redirect or a 100 Continue) starts afresh. */
	line(&h, "HTTP/2 200\r\n");
	assert_string_equal(h.request_id, "");
	assert_string_equal(h.retry_after_ms, "");
}

static void test_retry_after(void **state)
{
	(void)state;
	time_t now = curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL);
	assert_true(now > 0);
	assert_int_equal(fb_http_retry_after_ms("3", NULL, now), 3000);
	assert_int_equal(fb_http_retry_after_ms(" 3 ", NULL, now), 3000);
	assert_int_equal(fb_http_retry_after_ms("0", NULL, now), 0);
	assert_int_equal(fb_http_retry_after_ms("1.5", NULL, now), 1500);
	assert_int_equal(fb_http_retry_after_ms("0.0001", NULL, now), 1); /* never shorter */
	assert_int_equal(fb_http_retry_after_ms("Wed, 21 Oct 2015 07:28:10 GMT", NULL, now), 10000);
	assert_int_equal(fb_http_retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", NULL, now), 0);
	assert_int_equal(fb_http_retry_after_ms("-1", NULL, now), -1);
	assert_int_equal(fb_http_retry_after_ms("soon", NULL, now), -1);
	assert_int_equal(fb_http_retry_after_ms("", NULL, now), -1);
	assert_int_equal(fb_http_retry_after_ms(NULL, NULL, now), -1);
	assert_int_equal(fb_http_retry_after_ms("99999999999", NULL, now), 2147483647L);
	/* retry-after-ms wins, and a bad one falls back to Retry-After */
	assert_int_equal(fb_http_retry_after_ms("3", "1500.5", now), 1501);
	assert_int_equal(fb_http_retry_after_ms(NULL, "250", now), 250);
	assert_int_equal(fb_http_retry_after_ms("3", "nan", now), 3000);
	assert_int_equal(fb_http_retry_after_ms("3", "inf", now), 3000);
	assert_int_equal(fb_http_retry_after_ms(NULL, "0x10", now), -1);
}

static void expect_join(const char *base, const char *path, const char *want)
{
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_http_join_url(&b, base, path), 0);
	assert_string_equal(fb_buf_str(&b), want);
	fb_buf_release(&b);
}

static void test_join_url(void **state)
{
	(void)state;
	const char *want = "https://app.flora.ai/api/v1/techniques/x/runs";
	expect_join("https://app.flora.ai/api/v1", "/techniques/x/runs", want);
	expect_join("https://app.flora.ai/api/v1/", "/techniques/x/runs", want);
	expect_join("https://app.flora.ai/api/v1//", "/techniques/x/runs", want);
	expect_join("https://app.flora.ai/api/v1", "techniques/x/runs", want);
	expect_join("http://127.0.0.1:8080", "/techniques/x", "http://127.0.0.1:8080/techniques/x");
	expect_join("http://127.0.0.1:8080/", "/techniques/x",
		    "http://127.0.0.1:8080/techniques/x");
	/* poll URLs: absolute as is, root-relative under the origin */
	expect_join("https://app.flora.ai/api/v1", "https://app.flora.ai/api/v1/techniques/x/runs",
		    want);
	expect_join("https://app.flora.ai/api/v1", "HTTP://other/x", "HTTP://other/x");
	expect_join("https://app.flora.ai/api/v1", "/api/v1/techniques/x/runs", want);
	expect_join("https://app.flora.ai/api/v1", "/api/v10/x",
		    "https://app.flora.ai/api/v1/api/v10/x");
}

static void test_same_origin(void **state)
{
	(void)state;
	const char *base = "https://app.flora.ai/api/v1";
	assert_true(fb_http_same_origin("https://app.flora.ai/api/v1/techniques/x/runs/r", base));
	assert_true(fb_http_same_origin("https://app.flora.ai:443/other", base));
	assert_true(fb_http_same_origin("HTTPS://APP.FLORA.AI/x", base));
	assert_false(fb_http_same_origin("http://app.flora.ai/api/v1/x", base));
	assert_false(fb_http_same_origin("https://app.flora.ai:8443/api/v1/x", base));
	assert_false(fb_http_same_origin("https://evil.example/api/v1/x", base));
	assert_false(fb_http_same_origin("https://app.flora.ai.evil.example/x", base));
	assert_false(fb_http_same_origin("https://app.flora.ai@evil.example/x", base));
	assert_false(fb_http_same_origin("https://evil.example/https://app.flora.ai/", base));
	assert_false(fb_http_same_origin("/api/v1/x", base));
	assert_false(fb_http_same_origin("https://", base));
	assert_false(fb_http_same_origin(NULL, base));
	assert_true(fb_http_same_origin("http://127.0.0.1:80/x", "http://127.0.0.1/api"));
}

static void test_curl_errors(void **state)
{
	(void)state;
	struct fb_err e = {0};
	assert_int_equal(fb_http_curl_error(CURLE_PEER_FAILED_VERIFICATION, 0, "GET /x",
					    "SSL certificate problem", &e),
			 FB_ETRANSPORT);
	assert_int_equal(e.kind, FB_KIND_BATCH);
	assert_non_null(strstr(e.msg, "--insecure"));
	assert_non_null(strstr(e.msg, "own test server"));
	fb_http_curl_error(CURLE_PEER_FAILED_VERIFICATION, 1, "GET https://cdn/x", "", &e);
	assert_int_equal(e.kind, FB_KIND_ITEM);
	assert_null(strstr(e.msg, "--insecure"));
	fb_http_curl_error(CURLE_COULDNT_CONNECT, 0, "POST /techniques/x/runs", "refused", &e);
	assert_int_equal(e.code, FB_ETRANSPORT);
	assert_int_equal(e.kind, FB_KIND_RETRYABLE);
	assert_string_equal(e.msg, "POST /techniques/x/runs: refused");
	fb_http_curl_error(CURLE_OPERATION_TIMEDOUT, 0, "GET /r", NULL, &e);
	assert_int_equal(e.kind, FB_KIND_RETRYABLE);
	assert_true(strlen(e.msg) > strlen("GET /r: ")); /* libcurl's own words */
	fb_http_curl_error(CURLE_FILESIZE_EXCEEDED, 1, "GET /o", "", &e);
	assert_int_equal(e.code, FB_ETOOBIG);
	fb_http_curl_error(CURLE_UNSUPPORTED_PROTOCOL, 1, "GET /o", "", &e);
	assert_int_equal(e.kind, FB_KIND_ITEM);
}

/* What messages show of a URL: no credentials, no query, at most FB_HTTP_URL_SHOWN_MAX bytes. */
static void test_url_shown(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"https://cdn.example/a/b.png?sig=abc#f", "https://cdn.example/a/b.png"},
	    {"http://user:pw@h.example:8080/x.png", "http://h.example:8080/x.png"},
	    {"http://a@b@h.example/x", "http://h.example/x"},	/* the last '@' ends them */
	    {"http://h.example/p@th", "http://h.example/p@th"}, /* '@' in the path */
	    {"http://h.example?u@v", "http://h.example"},
	    {"/techniques/x/runs", "/techniques/x/runs"},
	    {"http://h/a\x01"
	     "b\x7f",
	     "http://h/a?b?"},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_buf b = FB_BUF_INIT;
		assert_int_equal(fb_http_url_shown(&b, cases[i][0]), 0);
		assert_string_equal(fb_buf_str(&b), cases[i][1]);
		fb_buf_release(&b);
	}
	assert_true(fb_http_has_userinfo("http://user:pw@h/x"));
	assert_true(fb_http_has_userinfo("HTTPS://user@h"));
	assert_true(fb_http_has_userinfo("http://:@h/"));
	assert_false(fb_http_has_userinfo("http://h/p@th"));
	assert_false(fb_http_has_userinfo("http://h?a@b"));
	assert_false(fb_http_has_userinfo("http://h#a@b"));
	assert_false(fb_http_has_userinfo("/a@b"));
	assert_false(fb_http_has_userinfo(NULL));

	/* A 10 kB URL: cut after the cap and marked, never inside a UTF-8 character. */
	char url[10240];
	size_t n = (size_t)snprintf(url, sizeof(url), "https://u:secret@h.example/");
	while (n + 2 < sizeof(url)) {
		memcpy(url + n, "\xc3\xa9", 2); /* é */
		n += 2;
	}
	url[n] = '\0';
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&b, "GET "), 0);
	assert_int_equal(fb_http_url_shown(&b, url), 0);
	assert_true(b.len <= 4 + FB_HTTP_URL_SHOWN_MAX + 3);
	assert_memory_equal(b.ptr, "GET https://h.example/\xc3\xa9", 24);
	assert_string_equal(b.ptr + b.len - 5, "\xc3\xa9...");
	assert_null(strstr(b.ptr, "secret"));
	fb_buf_release(&b);
}

/* ---- transports without a server ---- */

static void test_config(void **state)
{
	(void)state;
	struct fb_transport *t = NULL;
	struct fb_err err = {0};
	struct fb_http_config cfg = {.base_url = "ftp://app.flora.ai/api/v1", .api_key = KEY};
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), FB_EINVAL);
	assert_null(t);
	cfg.base_url = "https://app.flora.ai/api/v1?x=1";
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), FB_EINVAL);
	cfg.base_url = NULL;
	cfg.api_key = KEY "\r\nX-Evil: 1";
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), FB_EINVAL);
	assert_int_equal(err.kind, FB_KIND_BATCH);
	assert_null(strstr(err.msg, KEY));
	cfg.api_key = KEY;
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), 0);
	assert_string_equal(t->ops->name, "http");
	fb_transport_free(t);
}

static void test_refusals(void **state)
{
	(void)state;
	struct fb_transport *t = new_http("http://127.0.0.1:1/api/v1/", 0, 0);
	struct seen s = {0};
	struct fb_err err = {0};
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_1", "ok",
				 "https://evil.example/api/v1/techniques/ok/runs/run_1?sig=abc"};
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), FB_EINVAL);
	assert_int_equal(err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(err.msg, "evil.example"));
	assert_non_null(strstr(err.msg, "API key"));
	assert_null(strstr(err.msg, KEY));
	assert_null(strstr(err.msg, "sig=abc"));
	ref.poll_url = "http://127.0.0.1:2/api/v1/techniques/ok/runs/run_1"; /* another port */
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), FB_EINVAL);
	/* The base URL's origin as a mere prefix is not the same origin. */
	ref.poll_url = "http://127.0.0.1:10/api/v1/techniques/ok/runs/run_1";
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), FB_EINVAL);
	ref.poll_url = "http://127.0.0.1:1@evil.example/api/v1/techniques/ok/runs/run_1";
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), FB_EINVAL);
	ref.poll_url = "http://127.0.0.1:1.evil.example/api/v1/techniques/ok/runs/run_1";
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), FB_EINVAL);

	struct sink k = {0};
	const char *bad[] = {"ftp://127.0.0.1/x?sig=abc",
			     "file:///etc/passwd",
			     "/relative",
			     "",
			     "http://",
			     "http://h/a b",
			     "http://user:hunter2@127.0.0.1:1/x.png?sig=abc",
			     "https://hunter2@cdn.example/x.png"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fb_err_clear(&err);
		assert_int_equal(fb_transport_fetch(t, bad[i], on_data, on_done, &k, &err),
				 FB_EINVAL);
		assert_int_equal(err.kind, FB_KIND_ITEM);
		assert_null(strstr(err.msg, "sig=abc")); /* a query may carry a token */
		assert_null(strstr(err.msg, "hunter2")); /* credentials are never shown */
	}
	assert_non_null(strstr(err.msg, "carries a user name or password"));
	assert_int_equal(fb_transport_pending(t), 0);
	assert_int_equal(fb_transport_step(t, 0), 0);
	assert_int_equal(s.fired, 0);
	assert_int_equal(k.done, 0);
	fb_transport_free(t);
}

static void test_refused_connection(void **state)
{
	(void)state;
	struct fb_transport *t = new_http("http://127.0.0.1:1/api/v1", 0, 0);
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_1", "ok", NULL};
	struct seen s = {0};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &s, &err), 0);
	assert_int_equal(s.fired, 0); /* never inside the starting call */
	assert_int_equal(fb_transport_pending(t), 1);
	drain(t);
	assert_int_equal(s.fired, 1);
	assert_false(s.ok);
	assert_int_equal(s.http_status, 0);
	assert_int_equal(s.err.code, FB_ETRANSPORT);
	assert_int_equal(s.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(s.err.msg, "GET /techniques/ok/runs/run_1: "));
	assert_int_equal(s.retry_after_ms, -1);
	fb_transport_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_join_url),
	    cmocka_unit_test(test_same_origin),
	    cmocka_unit_test(test_header_lines),
	    cmocka_unit_test(test_curl_errors),
	    cmocka_unit_test(test_url_shown),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_refused_connection),
	};
	return cmocka_run_group_tests_name("pure", tests, NULL, NULL);
}
