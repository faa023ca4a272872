/*
 * driver + job: the policy paths, against a scripted transport: retries keep
 * the idempotency key, a batch-level answer stops admission and skips the
 * rest, a completed run without outputs fails, a broken download is
 * fetched again and never archived short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "driver.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

enum call_kind { CREATE, POLL, FETCH };

struct pending {
	enum call_kind kind;
	fb_reply_cb cb;
	fb_fetch_data_cb data;
	fb_fetch_done_cb done;
	void *ud;
	unsigned n; /* which call of its kind this was, from 1 */
};

struct mock {
	struct fb_transport base;
	const char *scenario;
	struct pending q[256];
	size_t len;
	unsigned creates, polls, fetches;
	char keys[16][64];
	struct fb_clock *clock;
};

static int push(struct mock *m, struct pending p)
{
	if (m->len == 256)
		return FB_ENOMEM;
	m->q[m->len++] = p;
	return 0;
}

static int m_create(struct fb_transport *t, const struct fb_run_request *req, fb_reply_cb cb,
		    void *ud, struct fb_err *err)
{
	(void)err;
	struct mock *m = (struct mock *)t;
	if (m->creates < 16)
		snprintf(m->keys[m->creates], sizeof(m->keys[0]), "%s", req->idempotency_key);
	return push(m, (struct pending){CREATE, cb, NULL, NULL, ud, ++m->creates});
}

static int m_get(struct fb_transport *t, const struct fb_run_ref *ref, fb_reply_cb cb, void *ud,
		 struct fb_err *err)
{
	(void)err;
	struct mock *m = (struct mock *)t;
	assert_string_equal(ref->run_id, "run_mock1");
	return push(m, (struct pending){POLL, cb, NULL, NULL, ud, ++m->polls});
}

static int m_fetch(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
		   fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	(void)err;
	struct mock *m = (struct mock *)t;
	assert_string_equal(url, "mock://out/1.png");
	return push(m, (struct pending){FETCH, NULL, data, done, ud, ++m->fetches});
}

static void fail_reply(struct fb_reply *r, int status, const char *code, enum fb_errkind kind)
{
	r->http_status = status;
	r->err.code = FB_EHTTP;
	r->err.kind = kind;
	r->err.http_status = status;
	snprintf(r->err.api_code, sizeof(r->err.api_code), "%s", code);
	snprintf(r->err.msg, sizeof(r->err.msg), "HTTP %d %s", status, code);
}

static void answer(struct mock *m, const struct pending *p)
{
	struct fb_reply r = {.retry_after_ms = -1};
	struct fb_run_output out = {"o1", "imageUrl", "mock://out/1.png"};
	r.run.progress = -1;
	r.run.estimated_seconds = -1;
	if (p->kind == FETCH) {
		static const char png[] = "\x89PNG-not-really";
		struct fb_fetch_result fr = {
		    .ok = 1, .http_status = 200, .content_type = "image/png"};
		int broken = !strcmp(m->scenario, "short-download") && p->n == 1;
		size_t n = broken ? 5 : sizeof(png) - 1;
		p->data(p->ud, png, n);
		fr.bytes = n;
		if (broken) {
			fr.ok = 0;
			fr.err.code = FB_ETRANSPORT;
			fr.err.kind = FB_KIND_RETRYABLE;
			snprintf(fr.err.msg, sizeof(fr.err.msg), "connection reset mid-body");
		}
		p->done(p->ud, &fr);
		return;
	}
	if (p->kind == CREATE && !strcmp(m->scenario, "flaky") && p->n <= 2) {
		fail_reply(&r, 503, "service_unavailable", FB_KIND_RETRYABLE);
	} else if (p->kind == CREATE && !strcmp(m->scenario, "bad-key")) {
		fail_reply(&r, 401, "invalid_api_key", FB_KIND_BATCH);
	} else if (p->kind == POLL && !strcmp(m->scenario, "poll-404")) {
		fail_reply(&r, 404, "not_found", FB_KIND_ITEM);
	} else {
		r.ok = 1;
		r.http_status = p->kind == CREATE ? 201 : 200;
		r.run.run_id = "run_mock1";
		r.run.status = p->kind == CREATE ? FB_RUN_PENDING : FB_RUN_COMPLETED;
		r.run.estimated_seconds = p->kind == CREATE ? 1 : -1;
		if (p->kind == POLL && strcmp(m->scenario, "no-outputs")) {
			r.run.outputs = &out;
			r.run.noutputs = 1;
			r.run.has_cost = 1;
			r.run.charged_cost = 0.5;
		}
	}
	p->cb(p->ud, &r);
}

static int m_step(struct fb_transport *t, uint64_t timeout_ms)
{
	struct mock *m = (struct mock *)t;
	/* Answer only what was pending on entry: new requests wait for the next step. */
	size_t n = m->len;
	if (n == 0) {
		fb_clock_sleep_ms(m->clock, timeout_ms); /* idle: let the timers come due */
		return 0;
	}
	struct pending now[256];
	memcpy(now, m->q, n * sizeof(*now));
	memmove(m->q, m->q + n, (m->len - n) * sizeof(*m->q));
	m->len -= n;
	for (size_t i = 0; i < n; i++)
		answer(m, &now[i]);
	return (int)n;
}

static size_t m_pending(struct fb_transport *t)
{
	return ((struct mock *)t)->len;
}

static void m_free(struct fb_transport *t)
{
	(void)t;
}

static const struct fb_transport_ops mock_ops = {
    .name = "mock",
    .create_run = m_create,
    .get_run = m_get,
    .fetch = m_fetch,
    .step = m_step,
    .pending = m_pending,
    .free = m_free,
};

struct outcome {
	struct fb_summary sum;
	int rc;
	char *results;
};

static struct outcome run(struct mock *m, const char *manifest, unsigned concurrency)
{
	struct outcome o = {0};
	char *dir = tu_tmpdir();
	char *mp = tu_write_file(dir, "m.jsonl", manifest, strlen(manifest));
	char *rp = tu_path(dir, "results.jsonl");
	struct fb_err err = {0};
	struct fb_manifest *man;
	struct fb_collector *c;
	struct fb_clock *clock = fb_clock_virtual_new(0);
	assert_int_equal(fb_manifest_open(&man, mp, FB_FORMAT_AUTO, &err), 0);
	char *spool = tu_path(dir, "spool.dat");
	struct fb_collector_config cc = {.record_path = rp, .spool_path = spool};
	assert_int_equal(fb_collector_open(&c, &cc, &err), 0);
	struct fb_driver_config cfg = {
	    .concurrency = concurrency,
	    .defaults = {.technique = "cctv-cam"},
	    .policy = {.max_retries = 5,
		       .backoff_base_ms = 500,
		       .backoff_cap_ms = 30000,
		       .fetch_attempts = 3,
		       .max_output_bytes = 1 << 20},
	    .seed = 3,
	};
	m->base.ops = &mock_ops;
	m->clock = clock;
	o.rc = fb_driver_run(&cfg, man, &m->base, c, clock, NULL, &o.sum, &err);
	assert_int_equal(fb_collector_close(c, NULL, &err), 0);
	o.results = tu_read_file(rp, NULL);
	fb_manifest_free(man);
	fb_clock_free(clock);
	tu_rmrf(dir);
	free(mp);
	free(rp);
	free(spool);
	free(dir);
	return o;
}

static const char one[] = "{\"id\":\"a\",\"inputs\":{\"p\":\"x\"}}\n";
static const char five[] =
    "{\"id\":\"a\",\"inputs\":{\"p\":\"1\"}}\n{\"id\":\"b\",\"inputs\":{\"p\":\"2\"}}\n"
    "{\"id\":\"c\",\"inputs\":{\"p\":\"3\"}}\n{\"id\":\"d\",\"inputs\":{\"p\":\"4\"}}\n"
    "{\"id\":\"e\",\"inputs\":{\"p\":\"5\"}}\n";

static void test_retries_keep_the_key(void **s)
{
	(void)s;
	struct mock m = {.scenario = "flaky"};
	struct outcome o = run(&m, one, 4);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.sum.completed, 1);
	assert_int_equal(m.creates, 3);
	assert_string_equal(m.keys[0], m.keys[1]);
	assert_string_equal(m.keys[1], m.keys[2]);
	assert_non_null(strstr(o.results, "\"status\":\"completed\""));
	assert_non_null(strstr(o.results, "\"attempts\":1"));
	assert_non_null(strstr(o.results, "\"charged_cost\":0.5"));
	free(o.results);
}

static void test_bad_key_stops_the_batch(void **s)
{
	(void)s;
	struct mock m = {.scenario = "bad-key"};
	struct outcome o = run(&m, five, 1);
	assert_int_equal(o.rc, 0);
	assert_true(o.sum.stopped);
	assert_int_equal(o.sum.skipped, 5);
	assert_int_equal(m.creates, 1); /* no hammering with a bad key */
	size_t lines = 0;
	for (const char *p = o.results; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 5);
	assert_non_null(strstr(o.results, "invalid_api_key"));
	free(o.results);
}

static void test_completed_without_outputs_fails(void **s)
{
	(void)s;
	struct mock m = {.scenario = "no-outputs"};
	struct outcome o = run(&m, one, 1);
	assert_int_equal(o.sum.failed, 1);
	assert_non_null(strstr(o.results, "\"no_outputs\""));
	free(o.results);
}

static void test_short_download_is_fetched_again(void **s)
{
	(void)s;
	struct mock m = {.scenario = "short-download"};
	struct outcome o = run(&m, one, 1);
	assert_int_equal(o.sum.completed, 1);
	assert_int_equal(m.fetches, 2);
	/* The bytes recorded are the whole output's, not the 5 of the broken try. */
	assert_non_null(strstr(o.results, "\"bytes\":15"));
	free(o.results);
}

static void test_poll_not_found_fails_item(void **s)
{
	(void)s;
	struct mock m = {.scenario = "poll-404"};
	struct outcome o = run(&m, one, 1);
	assert_int_equal(o.sum.failed, 1);
	assert_int_equal(m.polls, 1); /* a 404 is not retried */
	assert_non_null(strstr(o.results, "\"not_found\""));
	free(o.results);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retries_keep_the_key),
	    cmocka_unit_test(test_bad_key_stops_the_batch),
	    cmocka_unit_test(test_completed_without_outputs_fails),
	    cmocka_unit_test(test_short_download_is_fetched_again),
	    cmocka_unit_test(test_poll_not_found_fails_item),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
