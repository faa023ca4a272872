/*
 * pollfx: the poller tests' world: the driver over the in-process simulator
 * on a virtual clock, with a thin transport in between that counts each
 * kind of request, checks that no run is ever asked for twice at once, and
 * can break, thin out or share the list pages or change the create
 * answer's estimate. Included by one test program each.
 */
#ifndef POLLFX_H
#define POLLFX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "driver.h"
#include "sim.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum list_mode {
	LISTS_OK,
	LISTS_503,
	LISTS_429,
	LISTS_THIN,
	LISTS_BLIND,
	LISTS_SHARED,
	LISTS_MISS_FIRST
};

/* What the create answer's estimate becomes on its way to the driver. */
enum est_mode { EST_KEEP, EST_NONE, EST_TIMES3, EST_HUGE };

#define MAXRUNS 1024
#define HIDDEN	32

struct tap {
	struct fb_transport base;
	struct fb_transport *in;
	enum list_mode mode;
	enum est_mode est;
	unsigned gets, lists, tech_lists, gen_lists, creates;
	unsigned others;      /* another client's runs made up for LISTS_SHARED */
	char *hidden[HIDDEN]; /* LISTS_MISS_FIRST: the first runs made, never on a page */
	unsigned nhidden;
	char *inflight[MAXRUNS]; /* run ids with a GET out */
	size_t ninflight;
};

struct call {
	struct tap *tap;
	fb_reply_cb cb;
	fb_list_cb lcb;
	void *ud;
	char *run_id;
};

static void get_done(void *ud, const struct fb_reply *r)
{
	struct call *c = ud;
	struct tap *t = c->tap;
	for (size_t i = 0; i < t->ninflight; i++) {
		if (!strcmp(t->inflight[i], c->run_id)) {
			free(t->inflight[i]);
			t->inflight[i] = t->inflight[--t->ninflight];
			break;
		}
	}
	c->cb(c->ud, r);
	free(c->run_id);
	free(c);
}

static int t_get(struct fb_transport *tr, const struct fb_run_ref *ref, fb_reply_cb cb, void *ud,
		 struct fb_err *err)
{
	struct tap *t = (struct tap *)tr;
	for (size_t i = 0; i < t->ninflight; i++)
		if (!strcmp(t->inflight[i], ref->run_id))
			fail_msg("run %s polled twice at once", ref->run_id);
	struct call *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	*c = (struct call){t, cb, NULL, ud, strdup(ref->run_id)};
	int rc = fb_transport_get_run(t->in, ref, get_done, c, err);
	if (rc < 0) {
		free(c->run_id);
		free(c);
		return rc;
	}
	assert_true(t->ninflight < MAXRUNS);
	t->inflight[t->ninflight++] = strdup(ref->run_id);
	t->gets++;
	return 0;
}

static void list_done(void *ud, const struct fb_list_reply *r)
{
	struct call *c = ud;
	struct fb_list_reply x = *r;
	switch (c->tap->mode) {
	case LISTS_503:
	case LISTS_429:
		memset(&x, 0, sizeof(x));
		x.http_status = c->tap->mode == LISTS_503 ? 503 : 429;
		x.retry_after_ms = c->tap->mode == LISTS_503 ? -1 : 3000;
		x.err.code = FB_EHTTP;
		x.err.kind = FB_KIND_RETRYABLE;
		x.err.http_status = x.http_status;
		snprintf(x.err.msg, sizeof(x.err.msg), "HTTP %d", x.http_status);
		break;
	case LISTS_BLIND:
		/* Pages that never show a run, as when runs live outside the filters. */
		x.nruns = 0;
		x.next_cursor = NULL;
		break;
	case LISTS_MISS_FIRST: {
		/* The first runs made never show, as when another client's burst buried them. */
		struct fb_run_info *keep = calloc(r->nruns + 1, sizeof(*keep));
		assert_non_null(keep);
		x.nruns = 0;
		for (size_t i = 0; i < r->nruns; i++) {
			int hide = 0;
			for (unsigned k = 0; k < c->tap->nhidden && !hide; k++)
				hide = r->runs[i].run_id &&
				       !strcmp(c->tap->hidden[k], r->runs[i].run_id);
			if (!hide)
				keep[x.nruns++] = r->runs[i];
		}
		x.runs = keep;
		c->lcb(c->ud, &x);
		free(keep);
		free(c);
		return;
	}
	case LISTS_THIN: {
		/* Every other run is missing, as a run older than the pages would be. */
		struct fb_run_info *keep = calloc(r->nruns + 1, sizeof(*keep));
		assert_non_null(keep);
		x.nruns = 0;
		for (size_t i = 0; i < r->nruns; i += 2)
			keep[x.nruns++] = r->runs[i];
		x.runs = keep;
		c->lcb(c->ud, &x);
		free(keep);
		free(c);
		return;
	}
	case LISTS_SHARED: {
		/*
		 * Half of every page is another client's finished runs, made as
		 * the batch's were, as another shard of the workspace would fill
		 * it: the batch's runs reach twice as deep into the pages.
		 */
		struct fb_run_info *both = calloc(2 * r->nruns + 1, sizeof(*both));
		char(*ids)[32] = calloc(r->nruns + 1, sizeof(*ids));
		assert_non_null(both);
		assert_non_null(ids);
		for (size_t i = 0; i < r->nruns; i++) {
			snprintf(ids[i], sizeof(ids[i]), "run_other%u", c->tap->others++);
			both[2 * i] = (struct fb_run_info){.run_id = ids[i],
							   .status = FB_RUN_COMPLETED,
							   .progress = -1,
							   .estimated_seconds = -1,
							   .created_at = -1};
			both[2 * i + 1] = r->runs[i];
		}
		x.runs = both;
		x.nruns = 2 * r->nruns;
		c->lcb(c->ud, &x);
		free(both);
		free(ids);
		free(c);
		return;
	}
	case LISTS_OK:
		break;
	}
	c->lcb(c->ud, &x);
	free(c);
}

static int t_list(struct fb_transport *tr, const struct fb_list_query *q, fb_list_cb cb, void *ud,
		  struct fb_err *err)
{
	struct tap *t = (struct tap *)tr;
	assert_int_equal(q->limit, 100);
	assert_non_null(q->status);
	struct call *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	*c = (struct call){t, NULL, cb, ud, NULL};
	struct fb_list_query half = *q;
	if (t->mode == LISTS_SHARED)
		half.limit = q->limit / 2; /* the other half: the other client's */
	int rc = fb_transport_list_runs(t->in, &half, list_done, c, err);
	if (rc < 0) {
		free(c);
		return rc;
	}
	t->lists++;
	if (q->kind == FB_JOB_GENERATION)
		t->gen_lists++;
	else
		t->tech_lists++;
	return 0;
}

static void create_done(void *ud, const struct fb_reply *r)
{
	struct call *c = ud;
	struct fb_reply x = *r;
	struct tap *t = c->tap;
	if (t->mode == LISTS_MISS_FIRST && x.ok && x.run.run_id && t->nhidden < HIDDEN)
		t->hidden[t->nhidden++] = strdup(x.run.run_id);
	long *e = &x.run.estimated_seconds;
	switch (c->tap->est) {
	case EST_NONE:
		*e = -1;
		break;
	case EST_TIMES3:
		*e = *e >= 0 ? *e * 3 : -1;
		break;
	case EST_HUGE:
		*e = 2592000; /* thirty days */
		break;
	case EST_KEEP:
		break;
	}
	c->cb(c->ud, &x);
	free(c);
}

static int t_create(struct fb_transport *tr, const struct fb_run_request *req, fb_reply_cb cb,
		    void *ud, struct fb_err *err)
{
	struct tap *t = (struct tap *)tr;
	t->creates++;
	struct call *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	*c = (struct call){t, cb, NULL, ud, NULL};
	int rc = fb_transport_create_run(t->in, req, create_done, c, err);
	if (rc < 0)
		free(c);
	return rc;
}

static int t_fetch(struct fb_transport *tr, const char *url, fb_fetch_data_cb data,
		   fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	return fb_transport_fetch(((struct tap *)tr)->in, url, data, done, ud, err);
}

static int t_step(struct fb_transport *tr, uint64_t timeout_ms)
{
	return fb_transport_step(((struct tap *)tr)->in, timeout_ms);
}

static size_t t_pending(struct fb_transport *tr)
{
	return fb_transport_pending(((struct tap *)tr)->in);
}

static void t_free(struct fb_transport *tr)
{
	(void)tr;
}

static const struct fb_transport_ops tap_ops = {
    .name = "tap",
    .create_run = t_create,
    .get_run = t_get,
    .fetch = t_fetch,
    .list_runs = t_list,
    .step = t_step,
    .pending = t_pending,
    .free = t_free,
};

struct world {
	enum list_mode mode;
	enum est_mode est;
	enum fb_poll_mode poll_mode;
	uint64_t run_ms;
	double jitter; /* each run takes run_ms * (1 +- jitter) */
	double sigma;  /* instead: log-normal around run_ms, this sigma of its log */
	double fail_rate;
	unsigned concurrency;
	uint64_t poll_interval_ms;
	uint64_t run_timeout_ms;
	double rate; /* --rate: requests a second, 0: none */
	int journal; /* keep a journal in the output folder */
};

struct outcome {
	struct fb_summary sum;
	int rc;
	struct tap tap;
	struct fb_simstats st;
};

static struct outcome run(const struct world *w, const char *manifest)
{
	struct outcome o = {0};
	char *dir = tu_tmpdir();
	char *mp = tu_write_file(dir, "m.jsonl", manifest, strlen(manifest));
	char *rp = tu_path(dir, "results.jsonl");
	char *spool = tu_path(dir, "spool.dat");
	struct fb_err err = {0};
	struct fb_manifest *man;
	struct fb_collector *c;
	struct fb_clock *clock = fb_clock_virtual_new(0);
	struct fb_sim_config sc = {.latency_ms = 15};
	sc.model.seed = 5;
	sc.model.run_ms = w->run_ms;
	sc.model.run_ms_jitter = w->jitter;
	sc.model.run_ms_sigma = w->sigma;
	sc.model.estimate = FB_SIM_EST_EXACT; /* est says what the driver sees of it */
	sc.model.fail_rate = w->fail_rate;
	sc.model.outputs_per_run = 1;
	struct fb_transport *sim;
	assert_int_equal(fb_sim_transport_new(&sim, &sc, clock, &err), 0);
	o.tap.base.ops = &tap_ops;
	o.tap.in = sim;
	o.tap.mode = w->mode;
	o.tap.est = w->est;
	assert_int_equal(fb_manifest_open(&man, mp, FB_FORMAT_AUTO, &err), 0);
	struct fb_collector_config cc = {.record_path = rp, .spool_path = spool};
	assert_int_equal(fb_collector_open(&c, &cc, &err), 0);
	char *jp = tu_path(dir, "journal.jsonl");
	struct fb_journal *journal = NULL;
	if (w->journal)
		assert_int_equal(fb_journal_open(&journal, jp, &err), 0);
	struct fb_driver_config cfg = {
	    .concurrency = w->concurrency,
	    .rate = w->rate,
	    .defaults = {.technique = "cctv-cam"},
	    .policy = {.max_retries = 5,
		       .max_429_retries = 5,
		       .backoff_base_ms = 500,
		       .backoff_cap_ms = 30000,
		       .poll_interval_ms = w->poll_interval_ms,
		       .run_timeout_ms = w->run_timeout_ms,
		       .fetch_attempts = 3,
		       .max_output_bytes = 1 << 20},
	    .poll_mode = w->poll_mode,
	    .seed = 3,
	    .max_cost = -1,
	    .journal = journal,
	};
	o.rc = fb_driver_run(&cfg, man, &o.tap.base, c, clock, NULL, &o.sum, &err);
	assert_int_equal(fb_collector_close(c, NULL, &err), 0);
	assert_int_equal(fb_journal_close(journal, &err), 0);
	free(jp);
	fb_simmodel_stats(fb_sim_transport_model(sim), &o.st);
	for (unsigned k = 0; k < o.tap.nhidden; k++)
		free(o.tap.hidden[k]);
	assert_int_equal(o.tap.ninflight, 0);
	fb_transport_free(sim);
	fb_manifest_free(man);
	fb_clock_free(clock);
	tu_rmrf(dir);
	free(mp);
	free(rp);
	free(spool);
	free(dir);
	return o;
}

/* n technique items, then g generation items. Caller frees. */
static char *manifest(unsigned n, unsigned g)
{
	size_t cap = (n + g) * 160 + 1, len = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
					"{\"id\":\"t%u\",\"inputs\":{\"input_image\":\"https://"
					"storage.googleapis.com/b/%u.png\"}}\n",
					i, i);
	for (unsigned i = 0; i < g; i++)
		len += (size_t)snprintf(
		    s + len, cap - len,
		    "{\"id\":\"g%u\",\"generation\":\"image\",\"workspace_id\":"
		    "\"ws_accept\",\"project_id\":\"prj_accept\",\"prompt\":\"owl %u\"}\n",
		    i, i);
	return s;
}

#endif
