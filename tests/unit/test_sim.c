/* Tests for the sim transport: the transport contract, on a virtual clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "sim.h"

static char prompt_id[] = "prompt", prompt_value[] = "a cat";
static const struct fb_input prompt = {
    .id = prompt_id, .type = FB_INPUT_TEXT, .value = prompt_value};

/* What one callback saw, copied out of the borrowed reply. */
struct seen {
	int fired;
	uint64_t at; /* clock when it fired */
	int ok, http_status;
	char run_id[64], poll_url[256], request_id[32];
	enum fb_run_status status;
	double progress;
	int64_t created_at;
	long retry_after_ms;
	struct fb_err err;
	size_t noutputs;
	char urls[4][256];
	/* chain: start another request from inside the callback */
	struct fb_transport *t;
	struct fb_clock *clock;
	int chain_left;
	struct seen *chained;
	int chained_fired_inside; /* the started request fired before its start returned */
	int *order_counter;	  /* when set: order gets this callback's 1-based rank */
	int order;
};

static void on_reply(void *ud, const struct fb_reply *r);

static void start_poll(struct seen *s, const char *run_id)
{
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, run_id, "cctv-cam", NULL};
	struct fb_err err = {0};
	s->chained->t = s->t;
	s->chained->clock = s->clock;
	s->chained->chain_left = s->chain_left - 1;
	int before = s->chained->fired;
	assert_int_equal(fb_transport_get_run(s->t, &ref, on_reply, s->chained, &err), 0);
	s->chained_fired_inside = s->chained->fired != before;
}

static void on_reply(void *ud, const struct fb_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	if (s->order_counter)
		s->order = ++*s->order_counter;
	s->at = s->clock ? fb_clock_now_ms(s->clock) : 0;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->retry_after_ms = r->retry_after_ms;
	s->err = r->err;
	snprintf(s->request_id, sizeof(s->request_id), "%s", r->request_id ? r->request_id : "");
	if (r->ok) {
		snprintf(s->run_id, sizeof(s->run_id), "%s", r->run.run_id);
		snprintf(s->poll_url, sizeof(s->poll_url), "%s",
			 r->run.poll_url ? r->run.poll_url : "");
		s->status = r->run.status;
		s->progress = r->run.progress;
		s->created_at = r->run.created_at;
		s->noutputs = r->run.noutputs;
		for (size_t i = 0; i < r->run.noutputs && i < 4; i++)
			snprintf(s->urls[i], sizeof(s->urls[i]), "%s", r->run.outputs[i].url);
	}
	if (s->chain_left > 0 && s->chained && r->ok)
		start_poll(s, r->run.run_id);
}

struct dl {
	struct fb_buf bytes;
	size_t chunks, max_chunk;
	int abort_with; /* returned from the first data callback when non-zero */
	int done;
	struct fb_fetch_result res;
	char content_type[64];
	struct fb_clock *clock;
	uint64_t at;
};

static int on_data(void *ud, const void *data, size_t len)
{
	struct dl *d = ud;
	assert_int_equal(d->done, 0);
	d->chunks++;
	if (len > d->max_chunk)
		d->max_chunk = len;
	fb_buf_add(&d->bytes, data, len);
	return d->abort_with;
}

static void on_done(void *ud, const struct fb_fetch_result *res)
{
	struct dl *d = ud;
	d->done++;
	d->res = *res;
	d->at = d->clock ? fb_clock_now_ms(d->clock) : 0;
	snprintf(d->content_type, sizeof(d->content_type), "%s",
		 res->content_type ? res->content_type : "");
}

struct fx {
	struct fb_clock *clock;
	struct fb_transport *t;
};

static struct fx *fx_new_cased(uint64_t latency, uint64_t run_ms, double fail_rate,
			       enum fb_sim_casing casing)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.casing = casing;
	cfg.model.seed = 11;
	cfg.model.run_ms = run_ms;
	cfg.model.fail_rate = fail_rate;
	cfg.model.outputs_per_run = 2;
	cfg.latency_ms = latency;
	struct fb_err err = {0};
	f->clock = fb_clock_virtual_new(0);
	assert_int_equal(fb_sim_transport_new(&f->t, &cfg, f->clock, &err), 0);
	assert_string_equal(f->t->ops->name, "sim");
	return f;
}

static struct fx *fx_new(uint64_t latency, uint64_t run_ms, double fail_rate)
{
	return fx_new_cased(latency, run_ms, fail_rate, FB_SIM_SNAKE);
}

static void fx_free(struct fx *f)
{
	fb_transport_free(f->t);
	fb_clock_free(f->clock);
	free(f);
}

static int create(struct fx *f, const char *technique, const char *key, struct seen *s)
{
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = technique,
				     .inputs = &prompt,
				     .ninputs = 1,
				     .idempotency_key = key};
	struct fb_err err = {0};
	s->clock = f->clock;
	return fb_transport_create_run(f->t, &req, on_reply, s, &err);
}

/* Steps until flag is non-zero; fails after too many steps. */
static void step_until(struct fx *f, const int *flag)
{
	for (int i = 0; i < 1000 && !*flag; i++)
		assert_true(fb_transport_step(f->t, 1000) >= 0);
	assert_true(*flag);
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	assert_true(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL));
	assert_int_equal(len, 32);
}

static void test_full_lifecycle(void **state)
{
	(void)state;
	struct fx *f = fx_new(50, 2000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "cctv-cam", "item-1", &c), 0);
	assert_int_equal(c.fired, 0); /* never from inside the starting call */
	assert_int_equal(fb_transport_pending(f->t), 1);
	step_until(f, &c.fired);
	assert_int_equal(c.at, 50);
	assert_true(c.ok);
	assert_int_equal(c.http_status, 201);
	assert_int_equal(strncmp(c.run_id, "run_", 4), 0);
	assert_int_equal(strncmp(c.request_id, "req_", 4), 0);
	assert_int_equal(c.status, FB_RUN_PENDING);
	assert_int_equal(c.retry_after_ms, -1);
	assert_int_equal(strncmp(c.poll_url, "sim://api/v1/techniques/cctv-cam/runs/run_", 42), 0);
	assert_int_equal(fb_transport_pending(f->t), 0);

	int saw_running = 0;
	struct seen p = {0};
	for (int i = 0; i < 100 && p.status != FB_RUN_COMPLETED; i++) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, "cctv-cam", c.poll_url};
		struct fb_err err = {0};
		memset(&p, 0, sizeof(p));
		p.clock = f->clock;
		assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
		step_until(f, &p.fired);
		assert_true(p.ok);
		assert_int_equal(p.http_status, 200);
		assert_string_equal(p.run_id, c.run_id);
		saw_running |= p.status == FB_RUN_RUNNING;
		fb_clock_sleep_ms(f->clock, 150);
	}
	assert_true(saw_running);
	assert_int_equal(p.status, FB_RUN_COMPLETED);
	assert_int_equal(p.noutputs, 2);

	struct fb_simmodel *m = fb_sim_transport_model(f->t);
	assert_non_null(m);
	for (size_t i = 0; i < 2; i++) {
		struct dl d = {.clock = f->clock};
		struct fb_err err = {0};
		uint64_t t0 = fb_clock_now_ms(f->clock);
		assert_int_equal(fb_transport_fetch(f->t, p.urls[i], on_data, on_done, &d, &err),
				 0);
		assert_int_equal(d.done, 0);
		step_until(f, &d.done);
		assert_int_equal(d.done, 1);
		assert_int_equal(d.at, t0 + 50);
		assert_true(d.res.ok);
		assert_int_equal(d.res.http_status, 200);
		assert_string_equal(d.content_type, "image/png");
		assert_int_equal(d.res.bytes, d.bytes.len);
		assert_true(d.max_chunk <= 16 * 1024);
		/* The very bytes the model serves for that URL. */
		struct fb_simresp r = FB_SIMRESP_INIT;
		struct fb_simcall call = {.method = "GET", .path = p.urls[i]};
		assert_int_equal(fb_simmodel_handle(m, &call, &r), 0);
		assert_int_equal(r.status, 200);
		unsigned char h1[32], h2[32];
		sha256(d.bytes.ptr, d.bytes.len, h1);
		sha256(r.body.ptr, r.body.len, h2);
		assert_int_equal(d.bytes.len, r.body.len);
		assert_memory_equal(h1, h2, 32);
		fb_simresp_release(&r);
		fb_buf_release(&d.bytes);
	}
	struct fb_simstats st;
	fb_simmodel_stats(m, &st);
	assert_int_equal(st.runs_created, 1);
	assert_int_equal(st.fetches, 4);
	fx_free(f);
}

static void test_latency_is_honoured(void **state)
{
	(void)state;
	struct fx *f = fx_new(300, 1000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	assert_int_equal(fb_transport_step(f->t, 0), 0); /* nothing due, no time passes */
	assert_int_equal(fb_clock_now_ms(f->clock), 0);
	assert_int_equal(fb_transport_step(f->t, 100), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 100);
	assert_int_equal(fb_transport_step(f->t, 199), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 299);
	assert_int_equal(c.fired, 0);
	/* A long timeout waits only until the callback is due. */
	assert_int_equal(fb_transport_step(f->t, 60000), 1);
	assert_int_equal(c.fired, 1);
	assert_int_equal(c.at, 300);
	assert_int_equal(fb_clock_now_ms(f->clock), 300);
	/* With nothing pending, step lets the timeout pass. */
	assert_int_equal(fb_transport_step(f->t, 40), 0);
	assert_int_equal(fb_clock_now_ms(f->clock), 340);
	fx_free(f);
}

static void test_zero_latency_fires_only_in_step(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	assert_int_equal(c.fired, 0);
	assert_int_equal(fb_transport_step(f->t, 0), 1);
	assert_int_equal(c.fired, 1);
	assert_int_equal(c.at, 0);
	fx_free(f);
}

static void test_fires_by_due_time_then_start_order(void **state)
{
	(void)state;
	struct fx *f = fx_new(10, 1000, 0.0);
	struct seen s[5] = {{0}};
	int counter = 0;
	for (int i = 0; i < 5; i++) {
		s[i].order_counter = &counter;
		if (i == 2)
			fb_clock_sleep_ms(f->clock, 5); /* s[2..4] are due 5 ms later */
		assert_int_equal(create(f, "sigil", NULL, &s[i]), 0);
	}
	assert_int_equal(fb_transport_pending(f->t), 5);
	/* The clock is at 5: the first two are due at 10, the rest at 15. */
	assert_int_equal(fb_transport_step(f->t, 100), 2);
	assert_int_equal(fb_clock_now_ms(f->clock), 10);
	assert_int_equal(fb_transport_step(f->t, 100), 3);
	assert_int_equal(fb_clock_now_ms(f->clock), 15);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s[i].order, i + 1);
	fx_free(f);
}

static void test_callback_starts_requests(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 1000, 0.0);
	struct seen chain[4] = {{0}};
	for (int i = 0; i < 3; i++)
		chain[i].chained = &chain[i + 1];
	chain[0].t = f->t;
	chain[0].chain_left = 3;
	assert_int_equal(create(f, "cctv-cam", NULL, &chain[0]), 0);
	int fired = 0;
	for (int i = 0; i < 10 && fb_transport_pending(f->t); i++) {
		int n = fb_transport_step(f->t, 0);
		assert_true(n >= 1); /* latency 0: something is due every time */
		fired += n;
	}
	assert_int_equal(fired, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(chain[i].fired, 1);
		assert_int_equal(chain[i].chained_fired_inside, 0);
		assert_true(chain[i].ok);
	}
	assert_string_equal(chain[3].run_id, chain[0].run_id);
	assert_int_equal(chain[3].http_status, 200);
	fx_free(f);
}

static void test_free_with_pending_requests(void **state)
{
	(void)state;
	struct fx *f = fx_new(1000, 1000, 0.0);
	struct seen s[3] = {{0}};
	struct dl d = {0};
	struct fb_err err = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(create(f, "sigil", NULL, &s[i]), 0);
	assert_int_equal(
	    fb_transport_fetch(f->t, "sim://api/v1/_sim/stats", on_data, on_done, &d, &err), 0);
	assert_int_equal(fb_transport_pending(f->t), 4);
	fx_free(f); /* the sanitizer build checks nothing leaks */
	for (int i = 0; i < 3; i++)
		assert_int_equal(s[i].fired, 0);
	assert_int_equal(d.done, 0);
}

static void test_api_errors_reach_the_callback(void **state)
{
	(void)state;
	struct fx *f = fx_new(5, 1000, 0.0);
	struct seen c = {0};
	assert_int_equal(create(f, "no-such-technique", NULL, &c), 0);
	step_until(f, &c.fired);
	assert_false(c.ok);
	assert_int_equal(c.http_status, 404);
	assert_int_equal(c.err.code, FB_EHTTP);
	assert_int_equal(c.err.http_status, 404);
	assert_string_equal(c.err.api_code, "not_found");
	assert_int_equal(c.err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(c.err.msg, c.request_id)); /* support asks for it */

	/* A request that cannot be built is not started: no callback, ever. */
	struct fb_run_request bad = {.kind = FB_JOB_TECHNIQUE,
				     .technique = "sigil",
				     .inputs = NULL,
				     .ninputs = 0,
				     .idempotency_key = NULL};
	struct seen never = {0};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(f->t, &bad, on_reply, &never, &err), FB_EINVAL);
	assert_true(strlen(err.msg) > 0);
	assert_int_equal(fb_transport_pending(f->t), 0);
	fb_transport_step(f->t, 100);
	assert_int_equal(never.fired, 0);

	/* A reused key in replay mode: the same run, with 200. */
	struct seen a = {0}, b = {0};
	assert_int_equal(create(f, "sigil", "k", &a), 0);
	assert_int_equal(create(f, "sigil", "k", &b), 0);
	step_until(f, &b.fired);
	assert_true(a.ok && b.ok);
	assert_int_equal(a.http_status, 201);
	assert_int_equal(b.http_status, 200);
	assert_string_equal(a.run_id, b.run_id);
	fx_free(f);
}

static void test_fetch_failures(void **state)
{
	(void)state;
	struct fx *f = fx_new(5, 0, 0.0);
	struct fb_err err = {0};
	struct dl d = {0};
	assert_int_equal(fb_transport_fetch(f->t, "sim://api/v1/_sim/outputs/run_nope/out_1.png",
					    on_data, on_done, &d, &err),
			 0);
	step_until(f, &d.done);
	assert_false(d.res.ok);
	assert_int_equal(d.res.http_status, 404);
	assert_int_equal(d.chunks, 0);
	assert_int_equal(d.res.err.code, FB_EHTTP);
	assert_string_equal(d.res.err.api_code, "not_found");

	/* A data callback that says stop: done reports its code. */
	struct seen c = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	step_until(f, &c.fired);
	struct seen p = {0};
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, NULL, c.poll_url};
	assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
	step_until(f, &p.fired);
	assert_int_equal(p.status, FB_RUN_COMPLETED);
	struct dl stop = {.abort_with = FB_ETOOBIG};
	assert_int_equal(fb_transport_fetch(f->t, p.urls[0], on_data, on_done, &stop, &err), 0);
	step_until(f, &stop.done);
	assert_int_equal(stop.done, 1);
	assert_int_equal(stop.chunks, 1);
	assert_false(stop.res.ok);
	assert_int_equal(stop.res.err.code, FB_ETOOBIG);
	assert_non_null(strstr(stop.res.err.msg, "aborted"));
	assert_int_equal(stop.res.bytes, stop.bytes.len);
	fb_buf_release(&stop.bytes);

	/* A URL outside the simulator's base is not found, not a crash. */
	struct dl other = {0};
	assert_int_equal(fb_transport_fetch(f->t, "https://media.example.com/x.png", on_data,
					    on_done, &other, &err),
			 0);
	step_until(f, &other.done);
	assert_int_equal(other.res.http_status, 404);
	fx_free(f);
}

static void test_failed_run_through_transport(void **state)
{
	(void)state;
	struct fx *f = fx_new(1, 0, 1.0);
	struct seen c = {0}, p = {0};
	assert_int_equal(create(f, "sigil", NULL, &c), 0);
	step_until(f, &c.fired);
	struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, "sigil", NULL};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
	step_until(f, &p.fired);
	assert_true(p.ok); /* a failed run is still a 200 that parsed */
	assert_int_equal(p.status, FB_RUN_FAILED);
	assert_true(p.progress == 100);
	assert_int_equal(p.noutputs, 0);
	fx_free(f);
}

/* The same bytes parser reads either casing, so a camelCase model changes nothing. */
static void test_camel_case_answers(void **state)
{
	(void)state;
	for (int casing = FB_SIM_CAMEL; casing <= FB_SIM_MIXED; casing++) {
		struct fx *f = fx_new_cased(1, 0, 0.0, (enum fb_sim_casing)casing);
		struct seen c = {0}, p = {0};
		assert_int_equal(create(f, "sigil", NULL, &c), 0);
		step_until(f, &c.fired);
		assert_true(c.ok);
		assert_int_equal(strncmp(c.poll_url, "sim://api/v1/techniques/sigil/runs/run_", 39),
				 0);
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, c.run_id, NULL, c.poll_url};
		struct fb_err err = {0};
		assert_int_equal(fb_transport_get_run(f->t, &ref, on_reply, &p, &err), 0);
		step_until(f, &p.fired);
		assert_true(p.ok);
		assert_string_equal(p.run_id, c.run_id);
		assert_int_equal(p.status, FB_RUN_COMPLETED);
		assert_int_equal(p.noutputs, 2);
		assert_non_null(strstr(p.urls[1], "/out_2.png"));
		fx_free(f);
	}
}

static void test_model_accessor(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 0, 0.0);
	assert_non_null(fb_sim_transport_model(f->t));
	assert_null(fb_sim_transport_model(NULL));
	fx_free(f);
	struct fb_sim_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model.fail_rate = 2.0;
	struct fb_clock *c = fb_clock_virtual_new(0);
	struct fb_transport *t = (struct fb_transport *)1;
	struct fb_err err = {0};
	assert_int_equal(fb_sim_transport_new(&t, &cfg, c, &err), FB_EINVAL);
	assert_null(t);
	fb_clock_free(c);
}

/* ---- list pages ---- */

#define LIST_MAX 100

/* What one list callback saw, copied out of the borrowed reply. */
struct lseen {
	int fired, ok, http_status;
	struct fb_err err;
	size_t n;
	char ids[LIST_MAX][40];
	enum fb_run_status status[LIST_MAX];
	int64_t created_at[LIST_MAX];
	char cursor[64]; /* "" when the page was the last */
	int has_cursor;
};

static void on_list(void *ud, const struct fb_list_reply *r)
{
	struct lseen *l = ud;
	l->fired++;
	l->ok = r->ok;
	l->http_status = r->http_status;
	l->err = r->err;
	l->n = r->nruns;
	assert_true(r->nruns <= LIST_MAX);
	for (size_t i = 0; i < r->nruns; i++) {
		snprintf(l->ids[i], sizeof(l->ids[i]), "%s", r->runs[i].run_id);
		l->status[i] = r->runs[i].status;
		l->created_at[i] = r->runs[i].created_at;
	}
	l->has_cursor = r->next_cursor != NULL;
	snprintf(l->cursor, sizeof(l->cursor), "%s", r->next_cursor ? r->next_cursor : "");
}

/* Lists one page through the transport, on the transport's own time. */
static void list_page(struct fx *f, const struct fb_list_query *q, struct lseen *l)
{
	struct fb_err err = {0};
	memset(l, 0, sizeof(*l));
	assert_int_equal(fb_transport_list_runs(f->t, q, on_list, l, &err), 0);
	assert_int_equal(l->fired, 0); /* never from inside the starting call */
	assert_int_equal(fb_transport_pending(f->t), 1);
	step_until(f, &l->fired);
	assert_int_equal(l->fired, 1);
	if (!l->ok)
		fail_msg("list: %s", l->err.msg);
}

static void test_list_pages_and_filters(void **state)
{
	(void)state;
	enum { N = 150, DONE = 60 };
	struct fx *f = fx_new(1, 5000, 0.0);
	static struct seen c[N];
	memset(c, 0, sizeof(c));
	/* Every third run is a sigil; the first DONE ones have ended by the time we list. */
	for (int i = 0; i < N; i++) {
		if (i == DONE)
			fb_clock_sleep_ms(f->clock, 10000);
		assert_int_equal(create(f, i % 3 ? "cctv-cam" : "sigil", NULL, &c[i]), 0);
		step_until(f, &c[i].fired);
		assert_true(c[i].ok);
		assert_true(c[i].created_at >= 0);
	}
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f->t), &st);
	uint64_t lists = st.lists;

	/* Page 1: the newest hundred, newest first, and a cursor. */
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE};
	struct lseen p1, p2;
	list_page(f, &q, &p1);
	assert_int_equal(p1.http_status, 200);
	assert_int_equal(p1.n, 100);
	assert_true(p1.has_cursor);
	for (size_t i = 0; i < p1.n; i++) {
		assert_string_equal(p1.ids[i], c[N - 1 - i].run_id);
		assert_true(p1.created_at[i] == c[N - 1 - i].created_at);
		if (i)
			assert_true(p1.created_at[i] <= p1.created_at[i - 1]);
	}
	/* Page 2: the other fifty, and no cursor. */
	q.cursor = p1.cursor;
	list_page(f, &q, &p2);
	assert_int_equal(p2.n, N - 100);
	assert_false(p2.has_cursor);
	for (size_t i = 0; i < p2.n; i++)
		assert_string_equal(p2.ids[i], c[N - 101 - i].run_id);
	fb_simmodel_stats(fb_sim_transport_model(f->t), &st);
	assert_int_equal(st.lists, lists + 2); /* one request per page */

	/* Filters, read by the model at its now. */
	struct lseen l;
	struct fb_list_query sig = {.kind = FB_JOB_TECHNIQUE, .technique_id = "tech_sigil"};
	list_page(f, &sig, &l);
	assert_int_equal(l.n, N / 3);
	for (size_t i = 0; i < l.n; i++)
		assert_string_equal(l.ids[i], c[(N / 3 - 1 - i) * 3].run_id);
	struct fb_list_query done = {.kind = FB_JOB_TECHNIQUE, .status = "completed"};
	list_page(f, &done, &l);
	assert_int_equal(l.n, DONE);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.status[i], FB_RUN_COMPLETED);
		assert_string_equal(l.ids[i], c[DONE - 1 - i].run_id);
	}
	struct fb_list_query both = {.kind = FB_JOB_TECHNIQUE_ID,
				     .technique_id = "tech_sigil",
				     .status = "completed",
				     .limit = 7};
	list_page(f, &both, &l);
	assert_int_equal(l.n, 7);
	assert_true(l.has_cursor);
	assert_string_equal(l.ids[0], c[57].run_id);
	char cur[64]; /* list_page clears l before it starts the request */
	snprintf(cur, sizeof(cur), "%s", l.cursor);
	both.cursor = cur;
	both.limit = 100;
	list_page(f, &both, &l);
	assert_int_equal(l.n, DONE / 3 - 7);
	assert_false(l.has_cursor);
	/* Generations are another list: none here. */
	struct fb_list_query gens = {.kind = FB_JOB_GENERATION};
	list_page(f, &gens, &l);
	assert_int_equal(l.n, 0);
	assert_false(l.has_cursor);
	fx_free(f);
}

static void test_list_generations_and_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new(3, 0, 0.0);
	struct fb_run_request req = {.kind = FB_JOB_GENERATION,
				     .workspace_id = "ws_accept",
				     .project_id = "prj_accept",
				     .generation = "image",
				     .prompt = "a cat"};
	struct seen g = {.clock = f->clock};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(f->t, &req, on_reply, &g, &err), 0);
	step_until(f, &g.fired);
	assert_true(g.ok);
	struct seen t = {0};
	assert_int_equal(create(f, "sigil", NULL, &t), 0);
	step_until(f, &t.fired);

	struct lseen l;
	struct fb_list_query q = {.kind = FB_JOB_GENERATION, .project_id = "prj_accept"};
	list_page(f, &q, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], g.run_id);
	assert_int_equal(l.status[0], FB_RUN_COMPLETED); /* run_ms 0: done when looked at */

	/* The API refuses a filter: the callback gets its error envelope. */
	struct fb_list_query bad = {.kind = FB_JOB_TECHNIQUE, .status = "exploded"};
	memset(&l, 0, sizeof(l));
	assert_int_equal(fb_transport_list_runs(f->t, &bad, on_list, &l, &err), 0);
	step_until(f, &l.fired);
	assert_false(l.ok);
	assert_int_equal(l.http_status, 400);
	assert_int_equal(l.err.code, FB_EHTTP);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(l.err.msg, "status"));

	/* A query that cannot be built is not started: no callback, ever. */
	struct fb_list_query huge = {.kind = FB_JOB_TECHNIQUE, .limit = 101};
	memset(&l, 0, sizeof(l));
	assert_int_equal(fb_transport_list_runs(f->t, &huge, on_list, &l, &err), FB_EINVAL);
	assert_int_equal(fb_transport_list_runs(f->t, NULL, on_list, &l, &err), FB_EINVAL);
	assert_int_equal(fb_transport_pending(f->t), 0);
	fb_transport_step(f->t, 100);
	assert_int_equal(l.fired, 0);

	/* Freed with a list pending: no callback, nothing leaked. */
	assert_int_equal(fb_transport_list_runs(f->t, &q, on_list, &l, &err), 0);
	fx_free(f);
	assert_int_equal(l.fired, 0);
}

/* camelCase answers page the same way (nextCursor, techniqueRunId). */
static void test_list_camel_case(void **state)
{
	(void)state;
	struct fx *f = fx_new_cased(1, 0, 0.0, FB_SIM_CAMEL);
	struct seen c[3] = {{0}};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(create(f, "sigil", NULL, &c[i]), 0);
		step_until(f, &c[i].fired);
	}
	struct lseen l;
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE, .limit = 2};
	list_page(f, &q, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], c[2].run_id);
	assert_true(l.created_at[0] == c[2].created_at);
	assert_true(l.has_cursor);
	char cur[64]; /* list_page clears l before it starts the request */
	snprintf(cur, sizeof(cur), "%s", l.cursor);
	q.cursor = cur;
	list_page(f, &q, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], c[0].run_id);
	assert_false(l.has_cursor);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_lifecycle),
	    cmocka_unit_test(test_latency_is_honoured),
	    cmocka_unit_test(test_zero_latency_fires_only_in_step),
	    cmocka_unit_test(test_fires_by_due_time_then_start_order),
	    cmocka_unit_test(test_callback_starts_requests),
	    cmocka_unit_test(test_free_with_pending_requests),
	    cmocka_unit_test(test_api_errors_reach_the_callback),
	    cmocka_unit_test(test_fetch_failures),
	    cmocka_unit_test(test_failed_run_through_transport),
	    cmocka_unit_test(test_camel_case_answers),
	    cmocka_unit_test(test_model_accessor),
	    cmocka_unit_test(test_list_pages_and_filters),
	    cmocka_unit_test(test_list_generations_and_errors),
	    cmocka_unit_test(test_list_camel_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
