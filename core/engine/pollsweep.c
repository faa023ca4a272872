/*
 * pollsweep: sweeps through the list pages. Lists are newest first by
 * creation, so a run that finished late sits behind every younger run that
 * finished before it. A shallow sweep reads the first pages, where runs
 * that just finished turn up, and stops at a page that answers nothing new;
 * a deep one reads down to the oldest run that is due, which costs about one
 * page per hundred runs finished since it was created, and so comes only as
 * often as the budget pays. Pages of one sweep follow each other; when
 * answers come slower than runs finish (a slow API), the next sweep starts
 * before the last one ends, up to FB_POLL_CHAIN at once. fb_poller_tick is
 * here: it hands back runs due a GET (poller.c) and starts the sweeps.
 */
#include "pollerpriv.h"
#include "hashset.h"

#include <stdlib.h>
#include <string.h>

#define SHALLOW	     3 /* pages of a shallow sweep, at least */
#define MAX_PAGES    FB_POLL_MARKS
#define STRETCH	     2	  /* pages a chain of a deep sweep reads, at least */
#define DEEP_GAP_MAX 2000 /* ms between deep sweeps, at most: a plain poller's pace */

/* Keeps the cursor past page i of a deep sweep, for the next one. */
static void keep_mark(struct fb_poll_group *g, unsigned i, const char *cursor)
{
	if (i >= FB_POLL_MARKS)
		return;
	char *m = fb_strdup(cursor);
	if (!m)
		return; /* only a later sweep reads its pages one after another */
	free(g->mark[i]);
	g->mark[i] = m;
}

int fb_pollsweep_free_chain(const struct fb_poll_group *g)
{
	for (int i = 0; i < FB_POLL_CHAIN; i++)
		if (!g->chain[i].active)
			return 1;
	return 0;
}

void fb_pollsweep_reschedule(struct fb_poll_group *g, uint64_t not_before)
{
	struct fb_poller *p = g->p;
	uint64_t now = fb_poll_now(p), due = FB_POLL_NEVER;
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].group == (size_t)(g - p->g))
			due = fb_poll_min(due, fb_poll_wish(g, &p->e[i]));
	if (due != FB_POLL_NEVER)
		due = fb_poll_max(due,
				  fb_poll_max(g->last_start + fb_poll_gap(p, g, now), not_before));
	g->due = due;
	fb_poll_note_due(p, due);
}

static void end_sweep(struct fb_poll_chain *c, uint64_t not_before)
{
	struct fb_poll_group *g = c->g;
	/* Where runs finish out of order, deep sweeps find them; shallow ones wait. */
	if (!c->deep && fb_poll_rate(g) > 0)
		g->idle = c->answered ? 0 : g->idle < 3 ? g->idle + 1 : 3;
	c->active = c->inflight = c->failed = c->deep = 0;
	c->answered = 0;
	fb_poll_end_strings(c);
	fb_pollsweep_reschedule(c->g, not_before);
}

static void on_page(void *ud, const struct fb_list_reply *r);

void fb_pollsweep_send(struct fb_poll_chain *c)
{
	struct fb_poll_group *g = c->g;
	struct fb_poller *p = g->p;
	uint64_t wait = p->ops.gate(p->ops.owner);
	if (wait) {
		c->due = fb_poll_now(p) + wait;
		fb_poll_note_due(p, c->due);
		return;
	}
	struct fb_list_query q = {
	    .kind = g == &p->g[G_TECH] ? FB_JOB_TECHNIQUE : FB_JOB_GENERATION,
	    .technique_id = c->tech,
	    .workspace_id = c->ws,
	    .project_id = c->prj,
	    .status = c->failed ? "failed" : "completed",
	    .cursor = c->cursor,
	    .limit = FB_POLL_PAGE,
	};
	struct fb_err e = {0};
	c->due = FB_POLL_NEVER;
	if (fb_transport_list_runs(p->t, &q, on_page, c, &e) < 0) {
		/* This transport cannot list at all: every run polls itself from now on. */
		p->disabled = 1;
		end_sweep(c, 0);
		fb_poll_hand_back(p, -1);
		return;
	}
	c->inflight = 1;
	c->pages++;
	g->tokens -= 1;
	p->st.lists++;
}

enum field { F_WS, F_PRJ, F_TECH };

static const char *field_of(const struct fb_poll_entry *x, enum field f)
{
	return f == F_WS ? x->ws : f == F_PRJ ? x->prj : x->tech;
}

/* A filter only when every watched run of the group shares it (else none). */
static int common(struct fb_poller *p, int gi, enum field f, char **out)
{
	const char *v = NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].group != gi)
			continue;
		const char *s = field_of(&p->e[i], f);
		if (!s || (v && strcmp(v, s)))
			return 0;
		v = s;
	}
	if (v && !(*out = fb_strdup(v)))
		return FB_ENOMEM;
	return 0;
}

/*
 * Pages down to the oldest due run: those finished since it was created,
 * and one more; 0 when none is due. *late: a due run is older than nine
 * runs in ten took, so it has likely finished behind younger runs where a
 * shallow sweep stops.
 */
static unsigned deep_pages(struct fb_poller *p, struct fb_poll_group *g, uint64_t now, int *late)
{
	uint64_t oldest = FB_POLL_NEVER;
	size_t due = 0;
	int gi = (int)(g - p->g);
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].group != gi || fb_poll_wish(g, &p->e[i]) > now)
			continue;
		due++;
		oldest = fb_poll_min(oldest, p->e[i].since);
	}
	*late = 0;
	if (!due)
		return 0;
	uint64_t q = fb_pollstats_quantile(&g->stats, 0.9);
	*late = q && now - oldest > q;
	/* Pages hold the runs of other shards (or clients) too: as many more pages. */
	double behind =
	    (double)(fb_pollstats_finished_since(&g->stats, oldest, now) + due) / fb_poll_share(g);
	return (unsigned)fb_poll_min((uint64_t)((behind + g->page_len - 1) / g->page_len) + 1,
				     MAX_PAGES);
}

/* As often as min_gap allows while the pages are saved up, else as the budget pays. */
static int deep_due(struct fb_poller *p, struct fb_poll_group *g, uint64_t now, unsigned pages,
		    int late)
{
	/* A shallow sweep reads as deep, unless it stops short of a late run. */
	if (pages <= (late ? 1 : SHALLOW))
		return 0;
	double r = fb_poll_rate(g);
	uint64_t every =
	    r > 0 ? (uint64_t)((double)pages * 1000.0 / (fb_poll_budget(p, g) * r)) : 5000;
	if (g->tokens >= pages)
		every = p->cfg.min_gap_ms;
	return now - g->last_deep >= fb_poll_clamp(every, p->cfg.min_gap_ms, DEEP_GAP_MAX);
}

/* A shallow sweep reads what finished since the last one started, and a page more. */
static unsigned shallow_pages(struct fb_poll_group *g, uint64_t now)
{
	double fresh = fb_poll_rate(g) * (double)(now - g->last_start) / 1000.0 / fb_poll_share(g);
	unsigned pages = (unsigned)(fresh / g->page_len) + 2;
	return pages < SHALLOW ? SHALLOW : pages > MAX_PAGES ? MAX_PAGES : pages;
}

static int set_filters(struct fb_poller *p, int gi, struct fb_poll_chain *c)
{
	return common(p, gi, F_WS, &c->ws) || common(p, gi, F_PRJ, &c->prj) ||
	       (gi == G_TECH && common(p, gi, F_TECH, &c->tech));
}

/*
 * A deep sweep of `pages` pages in up to FB_POLL_CHAIN stretches at once,
 * each from a cursor the last deep sweep passed: lists answer in hundreds
 * of milliseconds, and 30 pages one after another would take seconds.
 * Pages shift a little between sweeps (runs finish above them), and a run
 * a stretch misses for that is found by the next sweep or its own GET.
 */
static void split(struct fb_poller *p, int gi, struct fb_poll_chain *c0, unsigned pages)
{
	struct fb_poll_group *g = &p->g[gi];
	unsigned n = 1, per = pages;
	while (n < FB_POLL_CHAIN && per / 2 >= STRETCH) {
		n *= 2;
		per = (pages + n - 1) / n;
	}
	c0->max_pages = per;
	for (unsigned k = 1; k < n; k++) {
		unsigned at = k * per;
		struct fb_poll_chain *c = NULL;
		for (int i = 0; i < FB_POLL_CHAIN && !c; i++)
			if (!g->chain[i].active)
				c = &g->chain[i];
		if (!c || at > pages || !g->mark[at - 1])
			break;
		if (set_filters(p, gi, c) || !(c->cursor = fb_strdup(g->mark[at - 1]))) {
			fb_poll_end_strings(c);
			break;
		}
		c->active = c->deep = 1;
		c->failed = 0;
		c->pages = 0;
		c->first = at;
		c->max_pages = at + per > pages ? pages - at : per;
		c->due = fb_poll_now(p); /* sent by the next tick */
		fb_poll_note_due(p, c->due);
	}
}

void fb_pollsweep_start(struct fb_poller *p, int gi, uint64_t now)
{
	struct fb_poll_group *g = &p->g[gi];
	struct fb_poll_chain *c = NULL;
	for (int i = 0; i < FB_POLL_CHAIN && !c; i++)
		if (!g->chain[i].active)
			c = &g->chain[i];
	if (!c)
		return;
	c->g = g;
	if (set_filters(p, gi, c)) {
		end_sweep(c, now + p->cfg.error_backoff_ms); /* out of memory: runs fall back */
		return;
	}
	int late;
	unsigned deep = deep_pages(p, g, now, &late);
	c->active = 1;
	c->failed = 0;
	c->pages = 0;
	c->first = 0;
	c->deep = deep_due(p, g, now, deep, late);
	c->max_pages = c->deep ? deep : shallow_pages(g, now);
	g->last_start = now;
	g->due = FB_POLL_NEVER;
	p->st.sweeps++;
	if (c->deep) {
		g->last_deep = now;
		p->st.deep_sweeps++;
		split(p, gi, c, deep);
	}
	fb_pollsweep_send(c);
	if (c->active)
		fb_pollsweep_reschedule(g, 0); /* the next sweep may overlap this one */
}

/* Failed runs are rare: their pages cost a small share of the budget. */
static int failed_due(struct fb_poller *p, struct fb_poll_group *g, uint64_t now)
{
	double r = fb_poll_rate(g);
	uint64_t every = r > 0 ? (uint64_t)(1000.0 / (fb_poll_budget(p, g) / 10 * r)) : 5000;
	return g->n && now - g->last_failed >= fb_poll_clamp(every, 2000, 30000);
}

/* After the completed runs: the failed ones, now and then. */
static void next_phase(struct fb_poll_chain *c, uint64_t now)
{
	struct fb_poll_group *g = c->g;
	if (!c->failed && !c->first && failed_due(g->p, g, now)) {
		c->failed = 1;
		g->last_failed = now;
		c->pages = 0;
		c->max_pages = SHALLOW;
		free(c->cursor);
		c->cursor = NULL;
		fb_pollsweep_send(c);
		return;
	}
	end_sweep(c, 0);
}

/* A watched run of the group is due a sweep. */
static int any_due(struct fb_poller *p, struct fb_poll_group *g, uint64_t now)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].group == (size_t)(g - p->g) && fb_poll_wish(g, &p->e[i]) <= now)
			return 1;
	return 0;
}

static void on_page(void *ud, const struct fb_list_reply *r)
{
	struct fb_poll_chain *c = ud;
	struct fb_poll_group *g = c->g;
	struct fb_poller *p = g->p;
	uint64_t now = fb_poll_now(p);
	c->inflight = 0;
	if (!r->ok) {
		/* Never an item's failure: its runs keep their own GET deadlines. */
		p->st.list_errors++;
		long ra = r->retry_after_ms;
		if (r->http_status == 429)
			p->ops.throttled(p->ops.owner, ra);
		end_sweep(c, now + fb_poll_max(p->cfg.error_backoff_ms, ra > 0 ? (uint64_t)ra : 0));
		return;
	}
	if (r->next_cursor && r->nruns)
		g->page_len = (unsigned)fb_poll_min(r->nruns, FB_POLL_PAGE); /* a server's cap */
	size_t fresh = 0, known = 0, finished = 0;
	int edge = -1; /* the page's oldest run of the batch's own was answered just now */
	/* Oldest first: runs that finished together end in the order they were made. */
	for (size_t i = r->nruns; i-- > 0;) {
		const struct fb_run_info *run = &r->runs[i];
		if (!run->run_id ||
		    (run->status != FB_RUN_COMPLETED && run->status != FB_RUN_FAILED))
			continue;
		finished++;
		uint64_t h = fb_hashset_hash(run->run_id);
		struct fb_poll_entry *x = fb_poll_find(p, run->run_id, h);
		if (!x || x->group != (size_t)(g - p->g)) {
			int k = fb_poll_recent(p, h);
			known += k;
			if (k && edge < 0)
				edge = 0;
			continue;
		}
		fresh++;
		c->answered++;
		if (edge < 0)
			edge = 1;
		fb_poll_answer(p, x, run);
	}
	edge = edge > 0;
	fb_poll_note_page(g, fresh + known, finished);
	/*
	 * A shallow sweep goes on while a page ends among runs it answered: runs
	 * mostly finish in the order they were made, so where answered runs end,
	 * the runs that finished since the last sweep end too. A deep one goes on
	 * while a run it came for is left: a page of other clients' runs alone
	 * (another shard's burst) says nothing of the pages below it.
	 */
	int more = c->deep ? any_due(p, g, now) : edge;
	if (r->next_cursor)
		keep_mark(g, c->first + c->pages - 1, r->next_cursor);
	if (more && g->n && r->next_cursor && c->pages < c->max_pages) {
		free(c->cursor);
		if ((c->cursor = fb_strdup(r->next_cursor))) {
			fb_pollsweep_send(c);
			return;
		}
	}
	next_phase(c, now);
}

/*
 * While no run of the group has been seen finished, its oldest run gets a
 * GET now and then, once it is past its estimate twice over: sweeps that
 * find nothing may mean runs are slow, or lists that cannot show them, and
 * one GET tells which for the price of a request. A GET that finds the run
 * unfinished doubles the wait for the next one.
 */
static void probe(struct fb_poller *p, int gi, uint64_t now)
{
	struct fb_poll_group *g = &p->g[gi];
	if (!g->n || !g->probe_due || g->probe_due > now || fb_pollstats_quantile(&g->stats, 0.5))
		return;
	size_t oldest = SIZE_MAX;
	for (size_t i = 0; i < p->n; i++) {
		struct fb_poll_entry *x = &p->e[i];
		if (x->group != gi || x->since + fb_poll_max(FB_POLL_PROBE_MS, 2 * x->expect) > now)
			continue;
		if (oldest == SIZE_MAX || x->since < p->e[oldest].since)
			oldest = i;
	}
	g->probe_due = now + ((uint64_t)FB_POLL_PROBE_MS << (g->probes < 4 ? g->probes : 4));
	if (oldest == SIZE_MAX)
		return;
	p->st.fallbacks++;
	p->ops.fallback(fb_poll_take(p, oldest));
}

void fb_poller_tick(struct fb_poller *p)
{
	uint64_t now = fb_poll_now(p);
	for (size_t i = 0; i < p->n;) {
		struct fb_poll_entry *x = &p->e[i];
		if (x->fallback_due > now) {
			i++;
			continue;
		}
		/* What was learned since the watch began may say it is not time yet. */
		x->fallback_due = fb_poll_fallback_at(&p->g[x->group], x);
		if (x->fallback_due > now && !p->g[x->group].off) {
			i++;
			continue;
		}
		p->st.fallbacks++;
		p->ops.fallback(fb_poll_take(p, i));
	}
	for (int gi = 0; gi < NGROUPS; gi++) {
		struct fb_poll_group *g = &p->g[gi];
		if (g->off && g->n)
			fb_poll_hand_back(p, gi);
		probe(p, gi, now);
		for (int k = 0; k < FB_POLL_CHAIN; k++) {
			struct fb_poll_chain *c = &g->chain[k];
			if (c->active && !c->inflight && c->due <= now)
				fb_pollsweep_send(c);
		}
		if (!g->n || g->off)
			g->due = FB_POLL_NEVER;
		/* A sweep costs one request however few runs it is for: never more than GETs. */
		if (g->due > now || !fb_pollsweep_free_chain(g))
			continue;
		fb_pollsweep_start(p, gi, now);
	}
	uint64_t due = FB_POLL_NEVER;
	for (size_t i = 0; i < p->n; i++)
		due = fb_poll_min(due, p->e[i].fallback_due);
	for (int gi = 0; gi < NGROUPS; gi++)
		if (p->g[gi].n && p->g[gi].probe_due &&
		    !fb_pollstats_quantile(&p->g[gi].stats, 0.5))
			due = fb_poll_min(due, p->g[gi].probe_due);
	for (int gi = 0; gi < NGROUPS; gi++) {
		struct fb_poll_group *g = &p->g[gi];
		if (fb_pollsweep_free_chain(g))
			due = fb_poll_min(due, g->due);
		for (int k = 0; k < FB_POLL_CHAIN; k++)
			if (g->chain[k].active && !g->chain[k].inflight)
				due = fb_poll_min(due, g->chain[k].due);
	}
	p->next_due = due;
}
