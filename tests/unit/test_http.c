/*
 * Tests for the http transport: its pure parts (URLs, origins, Retry-After,
 * libcurl errors), then real round trips against a small loopback server
 * started inside the test, answering as scripted per path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <microhttpd.h>

#include "api.h"
#include "http.h"

#define KEY	    "sk_test_0123456789abcdef"
#define IDEM	    "fb1-row-7-0123abcd"
#define SIZED_LEN   100000u
#define CHUNKED_LEN 300000u
#define BIG_LEN	    2000000u
#define MAX_OUT	    1000000u

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned char pat(uint64_t pos)
{
	return (unsigned char)(pos * 131 + (pos >> 8));
}

/* ---- the pure parts ---- */

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

/* ---- transports without a server ---- */

struct seen {
	int fired, ok, http_status;
	long retry_after_ms;
	struct fb_err err;
	char run_id[64], poll_url[256], request_id[64];
	enum fb_run_status status;
	/* chain: poll the created run from inside the callback */
	struct fb_transport *t;
	struct seen *chained;
	int chain_rc;
};

static void on_reply(void *ud, const struct fb_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->retry_after_ms = r->retry_after_ms;
	s->err = r->err;
	snprintf(s->request_id, sizeof(s->request_id), "%s", r->request_id ? r->request_id : "");
	if (!r->ok)
		return;
	snprintf(s->run_id, sizeof(s->run_id), "%s", r->run.run_id);
	snprintf(s->poll_url, sizeof(s->poll_url), "%s", r->run.poll_url ? r->run.poll_url : "");
	s->status = r->run.status;
	if (s->chained) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, r->run.run_id, "ok", r->run.poll_url};
		struct fb_err e = {0};
		s->chain_rc = fb_transport_get_run(s->t, &ref, on_reply, s->chained, &e);
	}
}

struct sink {
	int calls, done, ok, http_status, bad;
	uint64_t bytes, got;
	int abort_rc;
	char ctype[64];
	struct fb_err err;
	struct fb_transport *t; /* with chained: start a poll from inside the data callback */
	struct seen *chained;
	int chain_rc;
};

static int on_data(void *ud, const void *data, size_t len)
{
	struct sink *k = ud;
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		k->bad += p[i] != pat(k->got + i);
	k->got += len;
	if (k->chained && !k->calls++) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_d", "ok", NULL};
		k->chain_rc = fb_transport_get_run(k->t, &ref, on_reply, k->chained, NULL);
	} else if (!k->chained) {
		k->calls++;
	}
	return k->abort_rc;
}

static void on_done(void *ud, const struct fb_fetch_result *r)
{
	struct sink *k = ud;
	k->done++;
	k->ok = r->ok;
	k->http_status = r->http_status;
	k->bytes = r->bytes;
	k->err = r->err;
	snprintf(k->ctype, sizeof(k->ctype), "%s", r->content_type ? r->content_type : "");
}

static struct fb_transport *new_http_conns(const char *base, uint64_t max_out, uint64_t req_ms,
					   unsigned conns)
{
	struct fb_http_config cfg = {.base_url = base,
				     .api_key = KEY,
				     .request_timeout_ms = req_ms,
				     .max_output_bytes = max_out,
				     .max_host_connections = conns};
	struct fb_transport *t = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), 0);
	assert_non_null(t);
	return t;
}

static struct fb_transport *new_http(const char *base, uint64_t max_out, uint64_t req_ms)
{
	return new_http_conns(base, max_out, req_ms, 0);
}

static void drain(struct fb_transport *t)
{
	uint64_t deadline = now_ms() + 30000;
	while (fb_transport_pending(t) && now_ms() < deadline)
		assert_true(fb_transport_step(t, 100) >= 0);
	assert_int_equal(fb_transport_pending(t), 0);
}

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

	struct sink k = {0};
	const char *bad[] = {"ftp://127.0.0.1/x?sig=abc",
			     "file:///etc/passwd",
			     "/relative",
			     "",
			     "http://",
			     "http://h/a b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fb_err_clear(&err);
		assert_int_equal(fb_transport_fetch(t, bad[i], on_data, on_done, &k, &err),
				 FB_EINVAL);
		assert_int_equal(err.kind, FB_KIND_ITEM);
		assert_null(strstr(err.msg, "sig=abc")); /* a query may carry a token */
	}
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

/* ---- the loopback server ---- */

struct srv {
	struct MHD_Daemon *d;
	char root[64], base[96];
	pthread_mutex_t mu;
	int creates, api_auth_ok, fetches, fetch_auth;
	char idem[2][64], ua[64], ctype[64];
	struct fb_buf body[2];
	int inflight, max_inflight, connections;
	int lists, list_auth_ok;
	char list_url[64], list_query[256]; /* the last list request, its query decoded */
};

struct conn {
	struct fb_buf body;
};

struct stream {
	uint64_t len, cut_at; /* cut_at < len: the connection breaks there */
};
static const struct stream chunked = {CHUNKED_LEN, CHUNKED_LEN};
static const struct stream big = {BIG_LEN, BIG_LEN};
static const struct stream cut = {10000, 5000};

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct stream *st = cls;
	if (pos >= st->cut_at)
		return st->cut_at < st->len ? MHD_CONTENT_READER_END_WITH_ERROR
					    : MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = max < 4096 ? max : 4096;
	if (n > st->cut_at - pos)
		n = (size_t)(st->cut_at - pos);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)pat(pos + i);
	return (ssize_t)n;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
				 const char *ctype, const char *const *hdrs)
{
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	for (; hdrs && hdrs[0]; hdrs += 2)
		MHD_add_response_header(r, hdrs[0], hdrs[1]);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *ctype,
			    const char *body, const char *const *hdrs)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	return send_resp(c, status, r, ctype, hdrs);
}

static enum MHD_Result stream(struct MHD_Connection *c, const struct stream *st, int sized)
{
	struct MHD_Response *r = MHD_create_response_from_callback(
	    sized ? st->len : MHD_SIZE_UNKNOWN, 4096, read_stream, (void *)st, NULL);
	return send_resp(c, 200, r, "image/png", NULL);
}

static void note_inflight(struct srv *s, int d)
{
	pthread_mutex_lock(&s->mu);
	s->inflight += d;
	if (s->inflight > s->max_inflight)
		s->max_inflight = s->inflight;
	pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result files(struct srv *s, struct MHD_Connection *c, const char *name)
{
	pthread_mutex_lock(&s->mu);
	s->fetches++;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))
		s->fetch_auth++;
	pthread_mutex_unlock(&s->mu);
	static const char *const to_sized[] = {"Location", "/files/sized", NULL};
	static const char *const to_ftp[] = {"Location", "ftp://127.0.0.1/x", NULL};
	if (!strcmp(name, "sized")) {
		static const struct stream sized = {SIZED_LEN, SIZED_LEN};
		return stream(c, &sized, 1);
	}
	if (!strcmp(name, "chunked"))
		return stream(c, &chunked, 0);
	if (!strcmp(name, "cut"))
		return stream(c, &cut, 1);
	if (!strcmp(name, "big"))
		return stream(c, &big, 1);
	if (!strcmp(name, "bigchunked"))
		return stream(c, &big, 0);
	if (!strcmp(name, "redirect"))
		return text(c, 302, "text/plain", "moved", to_sized);
	if (!strcmp(name, "to-ftp"))
		return text(c, 302, "text/plain", "moved", to_ftp);
	if (!strcmp(name, "slow")) {
		sleep_ms(1500);
		return stream(c, &chunked, 0);
	}
	return text(c, 404, "application/json",
		    "{\"error\":{\"code\":\"not_found\",\"message\":\"No such file.\"}}", NULL);
}

static enum MHD_Result srv_create(struct srv *s, struct MHD_Connection *c, const char *tech,
				  const struct fb_buf *body)
{
	static const char *const rid[] = {"request-id", "req_create", NULL};
	static const char *const limited[] = {"Retry-After", "3", "request-id", "req_429", NULL};
	static const char *const limited_ms[] = {"Retry-After", "3", "retry-after-ms", "1500.5",
						 NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&s->mu);
	int n = s->creates++;
	if (auth && !strcmp(auth, "Bearer " KEY))
		s->api_auth_ok++;
	if (n < 2) {
		snprintf(s->idem[n], sizeof(s->idem[n]), "%s", idem ? idem : "");
		fb_buf_add(&s->body[n], body->ptr, body->len);
	}
	snprintf(s->ua, sizeof(s->ua), "%s", ua ? ua : "");
	snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
	pthread_mutex_unlock(&s->mu);
	if (!strcmp(tech, "limited"))
		return text(c, 429, "application/json",
			    "{\"error\":{\"code\":\"rate_limited\","
			    "\"message\":\"Rate limit exceeded.\"}}",
			    limited);
	if (!strcmp(tech, "limitedms"))
		return text(c, 429, "application/json", "{}", limited_ms);
	if (!strcmp(tech, "proxy"))
		return text(c, 502, "text/html",
			    "<html><body><h1>502 Bad Gateway</h1></body></html>", NULL);
	if (!strcmp(tech, "hangup"))
		return MHD_NO; /* closes the connection without an answer */
	if (!strcmp(tech, "slow"))
		sleep_ms(1500);
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"run_id\":\"run_%s\",\"poll_url\":\"%s/techniques/ok/runs/run_%s\"}", tech,
		 s->base, tech);
	return text(c, 201, "application/json", buf, rid);
}

static enum MHD_Result srv_poll(struct srv *s, struct MHD_Connection *c, const char *tech,
				const char *run)
{
	static const char *const rid[] = {"request-id", "req_poll", NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth && !strcmp(auth, "Bearer " KEY)) {
		pthread_mutex_lock(&s->mu);
		s->api_auth_ok++;
		pthread_mutex_unlock(&s->mu);
	}
	if (!strcmp(tech, "sleepy") || !strcmp(tech, "brief")) {
		note_inflight(s, 1);
		sleep_ms(!strcmp(tech, "sleepy") ? 200 : 2);
		note_inflight(s, -1);
	}
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"run_id\":\"%s\",\"status\":\"completed\",\"progress\":100,"
		 "\"outputs\":[{\"output_id\":\"o1\",\"type\":\"imageUrl\","
		 "\"url\":\"%s/files/sized\"}]}",
		 run, s->root);
	return text(c, 200, "application/json", buf, rid);
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	(void)kind;
	struct fb_buf *b = cls;
	fb_buf_addf(b, "%s%s=%s", b->len ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

/* A page of two runs; status=unavailable and status=garbled answer otherwise. */
static enum MHD_Result srv_list(struct srv *s, struct MHD_Connection *c, const char *url)
{
	static const char *const rid[] = {"request-id", "req_list", NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	struct fb_buf q = FB_BUF_INIT;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	pthread_mutex_lock(&s->mu);
	s->lists++;
	if (auth && !strcmp(auth, "Bearer " KEY))
		s->list_auth_ok++;
	snprintf(s->list_url, sizeof(s->list_url), "%s", url);
	snprintf(s->list_query, sizeof(s->list_query), "%s", fb_buf_str(&q));
	pthread_mutex_unlock(&s->mu);
	fb_buf_release(&q);
	if (status && !strcmp(status, "unavailable"))
		return text(c, 503, "application/json",
			    "{\"error\":{\"code\":\"service_unavailable\",\"message\":"
			    "\"Try again.\"}}",
			    rid);
	if (status && !strcmp(status, "garbled"))
		return text(c, 200, "text/html", "<html>cached page</html>", rid);
	return text(c, 200, "application/json",
		    "{\"technique_runs\":[{\"run_id\":\"run_b\",\"technique_run_id\":"
		    "\"run_b\",\"status\":\"running\",\"progress\":40,\"created_at\":"
		    "1718000000002},{\"technique_run_id\":\"run_a\",\"status\":\"completed\","
		    "\"progress\":100,\"created_at\":1718000000001,\"outputs\":[{\"output_id\":"
		    "\"o1\",\"type\":\"imageUrl\",\"url\":\"https://c.example/a.png\"}]}],"
		    "\"meta\":{\"next_cursor\":\"cDoy+/=\",\"total_estimate\":3}}",
		    rid);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)version;
	struct srv *s = cls;
	struct conn *k = *con_cls;
	if (!k) {
		k = calloc(1, sizeof(*k));
		*con_cls = k;
		return k ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		fb_buf_add(&k->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	char tech[64], run[64];
	if (!strncmp(url, "/files/", 7))
		return files(s, c, url + 7);
	if (!strcmp(method, "POST") && sscanf(url, "/api/v1/techniques/%63[^/]/runs", tech) == 1)
		return srv_create(s, c, tech, &k->body);
	if (sscanf(url, "/api/v1/techniques/%63[^/]/runs/%63s", tech, run) == 2)
		return srv_poll(s, c, tech, run);
	if (!strcmp(method, "GET") &&
	    (!strcmp(url, "/api/v1/technique-runs") || !strcmp(url, "/api/v1/generations")))
		return srv_list(s, c, url);
	return text(c, 404, "text/plain", "no route", NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn *k = *con_cls;
	if (k) {
		fb_buf_release(&k->body);
		free(k);
	}
	*con_cls = NULL;
}

static void connected(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	(void)c;
	(void)socket_context;
	struct srv *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->mu);
		s->connections++;
		pthread_mutex_unlock(&s->mu);
	}
}

static int srv_start(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0,
				NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, completed,
				NULL, MHD_OPTION_NOTIFY_CONNECTION, connected, s,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_END);
	if (!s->d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(s->root, sizeof(s->root), "http://127.0.0.1:%u", (unsigned)di->port);
	snprintf(s->base, sizeof(s->base), "%s/api/v1", s->root);
	*state = s;
	return 0;
}

static int srv_stop(void **state)
{
	struct srv *s = *state;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	fb_buf_release(&s->body[0]);
	fb_buf_release(&s->body[1]);
	free(s);
	return 0;
}

/* ---- round trips ---- */

static char prompt_id[] = "prompt", prompt_value[] = "a cat, \"quoted\" \xc3\xa9";
static const struct fb_input prompt = {
    .id = prompt_id, .type = FB_INPUT_TEXT, .value = prompt_value};

static void srv_reset(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->creates = s->api_auth_ok = s->fetches = s->fetch_auth = 0;
	s->inflight = s->max_inflight = s->connections = 0;
	s->lists = s->list_auth_ok = 0;
	s->list_url[0] = s->list_query[0] = '\0';
	fb_buf_reset(&s->body[0]);
	fb_buf_reset(&s->body[1]);
	pthread_mutex_unlock(&s->mu);
}

static void create(struct fb_transport *t, const char *tech, struct seen *s)
{
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = tech,
				     .inputs = &prompt,
				     .ninputs = 1,
				     .idempotency_key = IDEM};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(t, &req, on_reply, s, &err), 0);
}

static void test_create(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	char base[128];
	snprintf(base, sizeof(base), "%s/", s->base); /* a trailing '/' is fine */
	struct fb_transport *t = new_http(base, 0, 0);
	struct seen a = {0}, b = {0}, polled = {0};
	a.t = t;
	a.chained = &polled; /* polls through the answer's absolute poll_url */
	create(t, "ok", &a);
	create(t, "ok", &b); /* the retry of a create: the very same request */
	assert_int_equal(fb_transport_pending(t), 2);
	drain(t);
	assert_int_equal(a.fired, 1);
	assert_true(a.ok);
	assert_int_equal(a.http_status, 201);
	assert_string_equal(a.run_id, "run_ok");
	assert_string_equal(a.request_id, "req_create");
	assert_int_equal(a.retry_after_ms, -1);
	assert_true(b.ok);
	assert_int_equal(a.chain_rc, 0);
	assert_int_equal(polled.fired, 1);
	assert_true(polled.ok);
	assert_int_equal(polled.status, FB_RUN_COMPLETED);
	assert_string_equal(polled.request_id, "req_poll");

	/* What the server saw: the key, the idempotency key, one body twice. */
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "ok",
				     .inputs = &prompt,
				     .ninputs = 1,
				     .idempotency_key = IDEM};
	assert_int_equal(fb_api_create_call(&req, &call, NULL), 0);
	assert_int_equal(s->creates, 2);
	assert_int_equal(s->api_auth_ok, 3);
	assert_string_equal(s->idem[0], IDEM);
	assert_string_equal(s->idem[1], IDEM);
	assert_int_equal(s->body[0].len, call.body.len);
	assert_memory_equal(s->body[0].ptr, call.body.ptr, call.body.len);
	assert_int_equal(s->body[1].len, call.body.len);
	assert_memory_equal(s->body[1].ptr, call.body.ptr, call.body.len);
	assert_string_equal(s->ctype, "application/json");
	assert_memory_equal(s->ua, "florabatch/", 11);
	fb_api_call_release(&call);

	/* A root-relative poll_url goes under the base URL's origin. */
	struct seen p = {0};
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_9", "ok",
				 "/api/v1/techniques/ok/runs/run_9"};
	assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &p, NULL), 0);
	drain(t);
	assert_true(p.ok);
	assert_string_equal(p.run_id, "run_9");
	fb_transport_free(t);
}

static void test_create_errors(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	struct fb_transport *t = new_http(s->base, 0, 0);
	struct seen lim = {0}, limms = {0}, proxy = {0}, hang = {0};
	create(t, "limited", &lim);
	create(t, "limitedms", &limms);
	create(t, "proxy", &proxy);
	create(t, "hangup", &hang);
	drain(t);

	assert_false(lim.ok);
	assert_int_equal(lim.http_status, 429);
	assert_int_equal(lim.retry_after_ms, 3000);
	assert_int_equal(lim.err.code, FB_EHTTP);
	assert_int_equal(lim.err.kind, FB_KIND_RETRYABLE);
	assert_string_equal(lim.err.api_code, "rate_limited");
	assert_string_equal(lim.request_id, "req_429");
	assert_non_null(strstr(lim.err.msg, "req_429"));
	assert_int_equal(limms.retry_after_ms, 1501);

	assert_int_equal(proxy.err.http_status, 502);
	assert_int_equal(proxy.err.code, FB_EHTTP);
	assert_int_equal(proxy.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(proxy.err.msg, "502 Bad Gateway"));

	assert_int_equal(hang.fired, 1);
	assert_false(hang.ok);
	assert_int_equal(hang.err.code, FB_ETRANSPORT);
	assert_int_equal(hang.err.kind, FB_KIND_RETRYABLE);
	assert_memory_equal(hang.err.msg, "POST /techniques/hangup/runs: ", 30);
	assert_null(strstr(hang.err.msg, KEY));
	fb_transport_free(t);
}

static void test_timeout(void **state)
{
	struct srv *s = *state;
	struct fb_transport *t = new_http(s->base, 0, 300);
	struct seen slow = {0};
	uint64_t start = now_ms();
	create(t, "slow", &slow);
	drain(t);
	assert_true(now_ms() - start < 1400);
	assert_int_equal(slow.err.code, FB_ETRANSPORT);
	assert_int_equal(slow.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(slow.err.msg, "POST /techniques/slow/runs: "));
	fb_transport_free(t);
}

static void fetch(struct fb_transport *t, const struct srv *s, const char *name, struct sink *k)
{
	char url[128];
	snprintf(url, sizeof(url), "%s/files/%s", s->root, name);
	assert_int_equal(fb_transport_fetch(t, url, on_data, on_done, k, NULL), 0);
}

static void test_downloads(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	struct fb_transport *t = new_http(s->base, MAX_OUT, 0);
	struct sink sized = {0}, chunk = {0}, redir = {0}, cutk = {0}, bigk = {0}, bigc = {0},
		    missing = {0}, ftp = {0}, abortk = {.abort_rc = FB_EIO};
	struct seen chained = {0};
	chunk.t = t;
	chunk.chained = &chained;
	fetch(t, s, "sized", &sized);
	fetch(t, s, "chunked", &chunk);
	fetch(t, s, "redirect", &redir);
	fetch(t, s, "cut", &cutk);
	fetch(t, s, "big", &bigk);
	fetch(t, s, "bigchunked", &bigc);
	fetch(t, s, "missing", &missing);
	fetch(t, s, "to-ftp", &ftp);
	fetch(t, s, "sized", &abortk);
	assert_int_equal(fb_transport_pending(t), 9);
	drain(t);

	assert_true(sized.ok);
	assert_int_equal(sized.done, 1);
	assert_int_equal(sized.http_status, 200);
	assert_int_equal(sized.bytes, SIZED_LEN);
	assert_int_equal(sized.got, SIZED_LEN);
	assert_int_equal(sized.bad, 0);
	assert_string_equal(sized.ctype, "image/png");

	assert_true(chunk.ok);
	assert_int_equal(chunk.got, CHUNKED_LEN);
	assert_int_equal(chunk.bad, 0);
	assert_true(chunk.calls > 1); /* streamed, not handed over at the end */
	assert_int_equal(chunk.chain_rc, 0);
	assert_int_equal(chained.fired, 1); /* started inside a data callback */
	assert_true(chained.ok);

	assert_true(redir.ok);
	assert_int_equal(redir.got, SIZED_LEN);

	assert_false(cutk.ok);
	assert_int_equal(cutk.err.code, FB_ETRANSPORT);
	assert_int_equal(cutk.err.kind, FB_KIND_RETRYABLE);

	assert_false(bigk.ok);
	assert_int_equal(bigk.err.code, FB_ETOOBIG);
	assert_int_equal(bigk.got, 0);
	assert_false(bigc.ok);
	assert_int_equal(bigc.err.code, FB_ETOOBIG);
	assert_true(bigc.got <= MAX_OUT);

	assert_false(missing.ok);
	assert_int_equal(missing.http_status, 404);
	assert_int_equal(missing.err.code, FB_EHTTP);
	assert_int_equal(missing.err.kind, FB_KIND_ITEM);
	assert_int_equal(missing.calls, 0); /* an error page is never output bytes */

	assert_false(ftp.ok);
	assert_int_equal(ftp.err.kind, FB_KIND_ITEM);

	assert_false(abortk.ok);
	assert_int_equal(abortk.err.code, FB_EIO);
	assert_int_equal(abortk.calls, 1);

	assert_true(s->fetches >= 10);
	assert_int_equal(s->fetch_auth, 0); /* the key never goes with a download */
	assert_int_equal(s->api_auth_ok, 1);
	fb_transport_free(t);
}

static void test_concurrent(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	enum { N = 200 };
	struct fb_transport *t = new_http(s->base, 0, 0);
	struct seen *seen = calloc(N, sizeof(*seen));
	char ids[N][16];
	assert_non_null(seen);
	uint64_t start = now_ms();
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "run_%d", i);
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, ids[i], "sleepy", NULL};
		assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &seen[i], NULL), 0);
	}
	assert_int_equal(fb_transport_pending(t), N);
	drain(t);
	/* One after another, 200 answers of 200 ms would take 40 s. */
	assert_true(now_ms() - start < 15000);
	assert_true(s->max_inflight >= 50);
	for (int i = 0; i < N; i++) {
		assert_int_equal(seen[i].fired, 1);
		assert_true(seen[i].ok);
		assert_string_equal(seen[i].run_id, ids[i]);
	}
	free(seen);
	fb_transport_free(t);
}

/* A thousand in flight over a few kept-alive connections, one thread. */
static void test_thousand(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	enum { N = 1000, CONNS = 8 };
	struct fb_transport *t = new_http_conns(s->base, 0, 0, CONNS);
	struct seen *seen = calloc(N, sizeof(*seen));
	char(*ids)[16] = calloc(N, sizeof(*ids));
	assert_non_null(seen);
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "run_%d", i);
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, ids[i], "brief", NULL};
		assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &seen[i], NULL), 0);
	}
	assert_int_equal(fb_transport_pending(t), N);
	drain(t);
	for (int i = 0; i < N; i++) {
		assert_int_equal(seen[i].fired, 1);
		assert_true(seen[i].ok);
		assert_string_equal(seen[i].run_id, ids[i]);
	}
	assert_true(s->max_inflight <= CONNS);
	assert_true(s->connections <= CONNS); /* every connection was reused */
	free(ids);
	free(seen);
	fb_transport_free(t);
}

struct lseen {
	int fired, ok, http_status;
	struct fb_err err;
	char request_id[64], cursor[64];
	size_t n;
	char ids[4][32];
	int64_t created_at[4];
	enum fb_run_status status[4];
	size_t noutputs[4];
};

static void on_list(void *ud, const struct fb_list_reply *r)
{
	struct lseen *l = ud;
	l->fired++;
	l->ok = r->ok;
	l->http_status = r->http_status;
	l->err = r->err;
	l->n = r->nruns;
	snprintf(l->request_id, sizeof(l->request_id), "%s", r->request_id ? r->request_id : "");
	snprintf(l->cursor, sizeof(l->cursor), "%s", r->next_cursor ? r->next_cursor : "");
	for (size_t i = 0; i < r->nruns && i < 4; i++) {
		snprintf(l->ids[i], sizeof(l->ids[i]), "%s", r->runs[i].run_id);
		l->created_at[i] = r->runs[i].created_at;
		l->status[i] = r->runs[i].status;
		l->noutputs[i] = r->runs[i].noutputs;
	}
}

static void test_list(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	struct fb_transport *t = new_http(s->base, 0, 0);
	struct fb_err err = {0};
	struct lseen l = {0};
	/* The cursor's '+' '/' '=' must arrive as sent, not as a space and a split. */
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE,
				  .technique_id = "tech_sigil",
				  .workspace_id = "ws_accept",
				  .status = "running",
				  .cursor = "cDox+/=",
				  .limit = 2};
	assert_int_equal(fb_transport_list_runs(t, &q, on_list, &l, &err), 0);
	assert_int_equal(l.fired, 0); /* never inside the starting call */
	assert_int_equal(fb_transport_pending(t), 1);
	drain(t);
	assert_int_equal(l.fired, 1);
	if (!l.ok)
		fail_msg("%s", l.err.msg);
	assert_int_equal(l.http_status, 200);
	assert_string_equal(l.request_id, "req_list");
	assert_string_equal(s->list_url, "/api/v1/technique-runs");
	assert_string_equal(s->list_query, "limit=2&technique_id=tech_sigil&workspace_id=ws_accept"
					   "&status=running&cursor=cDox+/=");
	assert_int_equal(s->list_auth_ok, 1); /* the API's origin: the key goes along */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], "run_b");
	assert_int_equal(l.status[0], FB_RUN_RUNNING);
	assert_true(l.created_at[0] == 1718000000002LL);
	assert_string_equal(l.ids[1], "run_a");
	assert_int_equal(l.status[1], FB_RUN_COMPLETED);
	assert_int_equal(l.noutputs[1], 1);
	assert_string_equal(l.cursor, "cDoy+/=");

	/* Generations go to their own route. */
	struct lseen g = {0};
	struct fb_list_query gq = {.kind = FB_JOB_GENERATION, .project_id = "prj_accept"};
	assert_int_equal(fb_transport_list_runs(t, &gq, on_list, &g, &err), 0);
	drain(t);
	assert_string_equal(s->list_url, "/api/v1/generations");
	assert_string_equal(s->list_query, "limit=100&project_id=prj_accept");
	assert_false(g.ok); /* the page holds technique_runs, not generations */
	assert_int_equal(g.err.code, FB_EPARSE);

	/* An error answer, and a 200 that is not a page. */
	struct lseen busy = {0}, garbled = {0};
	q.cursor = NULL;
	q.status = "unavailable";
	assert_int_equal(fb_transport_list_runs(t, &q, on_list, &busy, &err), 0);
	q.status = "garbled";
	assert_int_equal(fb_transport_list_runs(t, &q, on_list, &garbled, &err), 0);
	drain(t);
	assert_false(busy.ok);
	assert_int_equal(busy.http_status, 503);
	assert_int_equal(busy.err.code, FB_EHTTP);
	assert_int_equal(busy.err.kind, FB_KIND_RETRYABLE);
	assert_string_equal(busy.err.api_code, "service_unavailable");
	assert_non_null(strstr(busy.err.msg, "req_list"));
	assert_int_equal(busy.n, 0);
	assert_false(garbled.ok);
	assert_int_equal(garbled.http_status, 200);
	assert_int_equal(garbled.err.code, FB_EPARSE);
	assert_int_equal(garbled.err.http_status, 200);
	assert_non_null(strstr(garbled.err.msg, "cached page"));
	assert_non_null(strstr(garbled.err.msg, "req_list"));

	/* A page that cannot be asked for is not started. */
	struct lseen never = {0};
	q.limit = 500;
	assert_int_equal(fb_transport_list_runs(t, &q, on_list, &never, &err), FB_EINVAL);
	assert_int_equal(fb_transport_pending(t), 0);
	assert_int_equal(s->lists, 4);
	fb_transport_free(t);
	assert_int_equal(never.fired, 0);
}

static void test_free_pending(void **state)
{
	struct srv *s = *state;
	struct fb_transport *t = new_http(s->base, 0, 0);
	struct seen slow[5] = {{0}};
	struct sink k = {0};
	for (int i = 0; i < 5; i++)
		create(t, "slow", &slow[i]);
	fetch(t, s, "slow", &k);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fb_transport_step(t, 50), 0);
	assert_int_equal(fb_transport_pending(t), 6);
	fb_transport_free(t); /* no callback, nothing leaked */
	for (int i = 0; i < 5; i++)
		assert_int_equal(slow[i].fired, 0);
	assert_int_equal(k.done, 0);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_join_url),
	    cmocka_unit_test(test_same_origin),
	    cmocka_unit_test(test_curl_errors),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_refused_connection),
	};
	const struct CMUnitTest loopback[] = {
	    cmocka_unit_test(test_create),	 cmocka_unit_test(test_create_errors),
	    cmocka_unit_test(test_timeout),	 cmocka_unit_test(test_downloads),
	    cmocka_unit_test(test_concurrent),	 cmocka_unit_test(test_thousand),
	    cmocka_unit_test(test_free_pending), cmocka_unit_test(test_list),
	};
	int failed = cmocka_run_group_tests_name("pure", pure, NULL, NULL);
	return failed + cmocka_run_group_tests_name("loopback", loopback, srv_start, srv_stop);
}
