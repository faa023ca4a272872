/*
 * Round trips of the http transport against the loopback server of
 * httpfx.h: creates and polls with the key, error answers, timeouts,
 * downloads (sizes, chunked and cut answers, redirects, limits, aborts),
 * many requests at once, list pages, freeing with requests in flight, and
 * easy handles reused from one kind of request to another. The pure parts
 * are in test_httpmsg.c.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpfx.h"

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
				     .inputs = fx_prompt(),
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
	/* libcurl says "timed out" for both its limits: the message names the one that cut. */
	assert_non_null(strstr(slow.err.msg, "(no whole answer within --request-timeout, 300 ms)"));
	fb_transport_free(t);
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

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A thousand in flight over a few kept-alive connections, one thread. */
static void test_thousand(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	enum { N = 1000, CONNS = 8 };
	int fds_before = count_fds();
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
	/* Both ends of each connection (the server runs in this process), the epoll set and
	 * libcurl's wakeup pair: nothing per request. */
	assert_true(count_fds() - fds_before <= 2 * CONNS + 8);
	free(ids);
	free(seen);
	fb_transport_free(t);
}

/*
 * Polls started from inside download data callbacks (queued until libcurl returns), one after
 * another on one transport: nothing grows per request, file descriptors included.
 */
static void test_start_in_data(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	enum { N = 60 };
	int fds_before = count_fds();
	struct fb_transport *t = new_http(s->base, MAX_OUT, 0);
	for (int i = 0; i < N; i++) {
		struct seen polled = {0};
		struct sink k = {.t = t, .chained = &polled};
		fetch(t, s, "chunked", &k);
		drain(t);
		assert_true(k.ok);
		assert_int_equal(k.chain_rc, 0);
		assert_int_equal(polled.fired, 1);
		assert_true(polled.ok);
	}
	assert_true(count_fds() - fds_before <= 2 * 2 + 8);
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
	/* Which request the answer did not fit, its query left out. */
	assert_memory_equal(garbled.err.msg, "GET /technique-runs: ", 21);
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

/*
 * Easy handles go back to a free list and keep their options: one request
 * at a time, each kind of request takes the handle the one before it
 * used, and nothing of that one may reach the next.
 */
static void test_reuse(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	struct fb_transport *t = new_http(s->base, 0, 0);
	for (int round = 0; round < 2; round++) {
		struct seen c = {0}, p = {0}, moved = {0};
		struct sink k = {0};
		create(t, "ok", &c); /* a POST with a body, Content-Type and Idempotency-Key */
		drain(t);
		assert_true(c.ok);
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_r", "ok", NULL};
		assert_int_equal(fb_transport_get_run(t, &ref, on_reply, &p, NULL), 0);
		drain(t);
		assert_true(p.ok);
		fetch(t, s, "redirect", &k); /* follows a redirect, without the key */
		drain(t);
		assert_true(k.ok);
		assert_int_equal(k.bytes, SIZED_LEN);
		struct fb_run_ref mref = {FB_JOB_TECHNIQUE, "run_m", "moved", NULL};
		assert_int_equal(fb_transport_get_run(t, &mref, on_reply, &moved, NULL), 0);
		drain(t);
		assert_false(moved.ok);
		assert_int_equal(moved.http_status, 302); /* not followed to the file */
	}
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->creates, 2);
	assert_int_equal(s->poll_leaks, 0);
	assert_int_equal(s->api_auth_ok, 6); /* every create and poll */
	assert_int_equal(s->fetch_auth, 0);
	assert_int_equal(s->fetch_enc, 0);
	assert_int_equal(s->fetches, 4); /* the redirect and the file, twice */
	pthread_mutex_unlock(&s->mu);
	fb_transport_free(t);
}

/*
 * A peer that stops moving bytes (the "slow" file answers nothing for
 * 1.5 s) is cut after the stall timeout, as a retryable timeout, long
 * before the total timeout (10 minutes for a download).
 */
static void test_stall_cut(void **state)
{
	struct srv *s = *state;
	struct fb_http_config cfg = {.base_url = s->base, .api_key = KEY, .stall_timeout_ms = 1000};
	struct fb_transport *t = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), 0);
	struct sink k = {0};
	uint64_t start = now_ms();
	fetch(t, s, "slow", &k);
	drain(t);
	uint64_t took = now_ms() - start;
	print_message("a stalled download was cut after %llu ms\n", (unsigned long long)took);
	assert_false(k.ok);
	assert_int_equal(k.err.code, FB_ETRANSPORT);
	assert_int_equal(k.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(k.err.msg, "(under 100 bytes a second for --stall-timeout, 1 s)"));
	assert_true(took < 1450);
	fb_transport_free(t);
}

/* A poll_url that is not http(s) on the API's host fails the check at once, and asks nobody. */
static void test_poll_url_elsewhere(void **state)
{
	struct srv *s = *state;
	srv_reset(s);
	struct fb_transport *t = new_http(s->base, 0, 0);
	const char *urls[] = {"file:///etc/passwd", "ftp://x/y", "//evil.example/runs/run_1",
			      "gopher:x"};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct seen p = {0};
		struct fb_err e = {0};
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_r", "ok", urls[i]};
		assert_true(fb_transport_get_run(t, &ref, on_reply, &p, &e) < 0);
		assert_int_equal(e.kind, FB_KIND_ITEM);
		assert_non_null(strstr(e.msg, "is not an http(s) URL on the API's host"));
		drain(t);
		assert_int_equal(p.fired, 0); /* a call that fails never calls back */
	}
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->api_auth_ok, 0);
	pthread_mutex_unlock(&s->mu);
	fb_transport_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),	 cmocka_unit_test(test_create_errors),
	    cmocka_unit_test(test_timeout),	 cmocka_unit_test(test_downloads),
	    cmocka_unit_test(test_concurrent),	 cmocka_unit_test(test_thousand),
	    cmocka_unit_test(test_free_pending), cmocka_unit_test(test_list),
	    cmocka_unit_test(test_reuse),	 cmocka_unit_test(test_poll_url_elsewhere),
	    cmocka_unit_test(test_stall_cut),	 cmocka_unit_test(test_start_in_data),
	};
	return cmocka_run_group_tests_name("loopback", tests, srv_start, srv_stop);
}
