/*
 * poller: the watched runs (an array, with an open-addressing index by run
 * id), and per list endpoint one sweep at a time: its pages of completed
 * runs, then, when runs it did not find remain and the last such sweep is
 * old enough, its pages of failed runs.
 */
#include "poller.h"
#include "hashset.h"

#include <stdlib.h>
#include <string.h>

enum { G_TECH, G_GEN, NGROUPS };

#define PAGE	100
#define NO_SLOT UINT32_MAX
#define NEVER	UINT64_MAX
#define GAP_MS	20 /* between the starts of two sweeps of one endpoint, at least */

struct entry {
	void *ud;
	const char *run_id, *ws, *prj, *tech; /* borrowed from ud */
	uint64_t hash;
	uint64_t fallback_due;
	uint64_t wish;	/* when it would like a sweep */
	uint32_t sweep; /* the sweep it was watched through (0: none yet) */
	unsigned char group;
};

struct group {
	struct fb_poller *p;
	int active;   /* a sweep is under way */
	int inflight; /* its page request is out */
	int failed;   /* it lists failed runs now */
	char *cursor, *ws, *prj, *tech;
	unsigned pages, max_pages;
	uint32_t id;	/* the sweep's */
	size_t present; /* runs watched at the sweep's start, still watched */
	size_t n;	/* runs watched */
	uint64_t due;	/* the next sweep or page; NEVER: none */
	uint64_t last_start, last_failed;
};

struct fb_poller {
	struct fb_poller_config cfg;
	struct fb_transport *t;
	struct fb_clock *clock;
	struct fb_poller_ops ops;
	struct entry *e;
	size_t n, cap;
	uint32_t *map; /* entry index per slot, NO_SLOT when empty; cap a power of two */
	size_t mapcap;
	struct group g[NGROUPS];
	uint64_t next_due;
	uint32_t next_sweep;
	int disabled; /* the transport cannot list: every run polls itself */
	struct fb_poller_stats st;
};

static uint64_t now_ms(struct fb_poller *p)
{
	return fb_clock_now_ms(p->clock);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int fb_poller_new(struct fb_poller **out, const struct fb_poller_config *cfg,
		  struct fb_transport *t, struct fb_clock *clock, const struct fb_poller_ops *ops)
{
	struct fb_poller *p = calloc(1, sizeof(*p));
	*out = p;
	if (!p)
		return FB_ENOMEM;
	if (cfg)
		p->cfg = *cfg;
	struct fb_poller_config *c = &p->cfg;
	c->min_batch = c->min_batch ? c->min_batch : 4;
	c->patience_div = c->patience_div ? c->patience_div : 100;
	c->patience_min_ms = c->patience_min_ms ? c->patience_min_ms : 20;
	c->patience_max_ms = c->patience_max_ms ? c->patience_max_ms : 1000;
	c->recheck_ms = c->recheck_ms ? c->recheck_ms : 1000;
	c->failed_every_ms = c->failed_every_ms ? c->failed_every_ms : 2000;
	c->error_backoff_ms = c->error_backoff_ms ? c->error_backoff_ms : 2000;
	p->t = t;
	p->clock = clock;
	p->ops = *ops;
	p->next_due = NEVER;
	p->next_sweep = 1;
	for (int i = 0; i < NGROUPS; i++) {
		p->g[i].p = p;
		p->g[i].due = NEVER;
	}
	return 0;
}

static void end_strings(struct group *g)
{
	free(g->cursor);
	free(g->ws);
	free(g->prj);
	free(g->tech);
	g->cursor = g->ws = g->prj = g->tech = NULL;
}

void fb_poller_free(struct fb_poller *p)
{
	if (!p)
		return;
	for (int i = 0; i < NGROUPS; i++)
		end_strings(&p->g[i]);
	free(p->e);
	free(p->map);
	free(p);
}

/* ---- the index: run id -> entry ---- */

static size_t map_find(const struct fb_poller *p, const char *run_id, uint64_t h)
{
	size_t mask = p->mapcap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t k = p->map[i];
		if (k == NO_SLOT)
			return SIZE_MAX;
		if (p->e[k].hash == h && !strcmp(p->e[k].run_id, run_id))
			return i;
	}
}

static void map_put(struct fb_poller *p, uint32_t idx)
{
	size_t mask = p->mapcap - 1, i = p->e[idx].hash & mask;
	while (p->map[i] != NO_SLOT)
		i = (i + 1) & mask;
	p->map[i] = idx;
}

/* Linear probing's deletion: later members of the cluster move back into the hole. */
static void map_del(struct fb_poller *p, size_t hole)
{
	size_t mask = p->mapcap - 1;
	p->map[hole] = NO_SLOT;
	for (size_t i = (hole + 1) & mask; p->map[i] != NO_SLOT; i = (i + 1) & mask) {
		uint32_t k = p->map[i];
		size_t home = p->e[k].hash & mask;
		/* k may fill the hole when its home is not in (hole, i] (cyclically). */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			p->map[hole] = k;
			p->map[i] = NO_SLOT;
			hole = i;
		}
	}
}

static int grow(struct fb_poller *p)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct entry *e = realloc(p->e, cap * sizeof(*e));
		if (!e)
			return FB_ENOMEM;
		p->e = e;
		p->cap = cap;
	}
	if ((p->n + 1) * 2 > p->mapcap) {
		size_t cap = p->mapcap ? p->mapcap * 2 : 128;
		uint32_t *m = malloc(cap * sizeof(*m));
		if (!m)
			return FB_ENOMEM;
		free(p->map);
		p->map = m;
		p->mapcap = cap;
		memset(m, 0xff, cap * sizeof(*m));
		for (size_t i = 0; i < p->n; i++)
			map_put(p, (uint32_t)i);
	}
	return 0;
}

/* Takes entry idx out of the watch (its slot goes to the last entry); returns its ud. */
static void *take(struct fb_poller *p, size_t idx)
{
	struct entry *x = &p->e[idx];
	struct group *g = &p->g[x->group];
	void *ud = x->ud;
	g->n--;
	if (g->active && x->sweep == g->id)
		g->present--;
	map_del(p, map_find(p, x->run_id, x->hash));
	size_t last = --p->n;
	if (idx != last) {
		size_t slot = map_find(p, p->e[last].run_id, p->e[last].hash);
		p->e[idx] = p->e[last];
		p->map[slot] = (uint32_t)idx;
	}
	return ud;
}

/* ---- sweeps ---- */

static uint64_t patience(const struct fb_poller *p, uint64_t now, uint64_t since)
{
	uint64_t d = now > since ? (now - since) / p->cfg.patience_div : 0;
	return min64(max64(d, p->cfg.patience_min_ms), p->cfg.patience_max_ms);
}

static void note_due(struct fb_poller *p, uint64_t due)
{
	p->next_due = min64(p->next_due, due);
}

/* The sweep is over: the next one when its runs want it, or never without runs. */
static void end_sweep(struct group *g, uint64_t not_before)
{
	struct fb_poller *p = g->p;
	g->active = g->inflight = g->failed = 0;
	end_strings(g);
	uint64_t due = NEVER;
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].group == (size_t)(g - p->g))
			due = min64(due, p->e[i].wish);
	g->due = due == NEVER ? NEVER : max64(due, max64(g->last_start + GAP_MS, not_before));
	note_due(p, g->due);
}

/* Hands every watched run back (the list cannot help), those of group gi or all (-1). */
static void hand_back(struct fb_poller *p, int gi)
{
	for (size_t i = 0; i < p->n;) {
		if (gi >= 0 && p->e[i].group != gi) {
			i++;
			continue;
		}
		p->st.fallbacks++;
		p->ops.fallback(take(p, i)); /* slot i now holds another run: look again */
	}
}

static void on_page(void *ud, const struct fb_list_reply *r);

static void send_page(struct group *g)
{
	struct fb_poller *p = g->p;
	uint64_t wait = p->ops.gate(p->ops.owner);
	if (wait) {
		g->due = now_ms(p) + wait;
		note_due(p, g->due);
		return;
	}
	struct fb_list_query q = {
	    .kind = g == &p->g[G_TECH] ? FB_JOB_TECHNIQUE : FB_JOB_GENERATION,
	    .technique_id = g->tech,
	    .workspace_id = g->ws,
	    .project_id = g->prj,
	    .status = g->failed ? "failed" : "completed",
	    .cursor = g->cursor,
	    .limit = PAGE,
	};
	struct fb_err e = {0};
	g->due = NEVER;
	if (fb_transport_list_runs(p->t, &q, on_page, g, &e) < 0) {
		/* This transport cannot list at all: every run polls itself from now on. */
		p->disabled = 1;
		end_sweep(g, 0);
		hand_back(p, -1);
		return;
	}
	g->inflight = 1;
	g->pages++;
	p->st.lists++;
}

enum field { F_WS, F_PRJ, F_TECH };

static const char *field_of(const struct entry *x, enum field f)
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

static void start_sweep(struct fb_poller *p, int gi, uint64_t now)
{
	struct group *g = &p->g[gi];
	if (g->n < p->cfg.min_batch) {
		/* A page of 100 for a few runs costs more than their own GETs. */
		g->due = NEVER;
		hand_back(p, gi);
		return;
	}
	g->id = p->next_sweep++;
	g->present = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].group == gi) {
			p->e[i].sweep = g->id;
			g->present++;
		}
	}
	if (common(p, gi, F_WS, &g->ws) || common(p, gi, F_PRJ, &g->prj) ||
	    (gi == G_TECH && common(p, gi, F_TECH, &g->tech))) {
		end_sweep(g, now + p->cfg.error_backoff_ms); /* out of memory: runs fall back */
		return;
	}
	g->active = 1;
	g->failed = 0;
	g->pages = 0;
	g->max_pages = (unsigned)((g->present + PAGE - 1) / PAGE + 1);
	g->last_start = now;
	p->st.sweeps++;
	send_page(g);
}

/* After the completed runs: the failed ones, when runs were not found and it is time. */
static void next_phase(struct group *g, uint64_t now)
{
	struct fb_poller *p = g->p;
	int gi = (int)(g - p->g);
	if (!g->failed) {
		for (size_t i = 0; i < p->n; i++)
			if (p->e[i].group == gi && p->e[i].sweep == g->id)
				p->e[i].wish = now + p->cfg.recheck_ms;
		if (g->present && now - g->last_failed >= p->cfg.failed_every_ms) {
			g->failed = 1;
			g->last_failed = now;
			g->pages = 0;
			free(g->cursor);
			g->cursor = NULL;
			send_page(g);
			return;
		}
	}
	end_sweep(g, 0);
}

static void on_page(void *ud, const struct fb_list_reply *r)
{
	struct group *g = ud;
	struct fb_poller *p = g->p;
	uint64_t now = now_ms(p);
	g->inflight = 0;
	if (!r->ok) {
		/* Never an item's failure: its runs keep their own GET deadlines. */
		p->st.list_errors++;
		long ra = r->retry_after_ms;
		if (r->http_status == 429)
			p->ops.throttled(p->ops.owner, ra);
		end_sweep(g, now + max64(p->cfg.error_backoff_ms, ra > 0 ? (uint64_t)ra : 0));
		return;
	}
	size_t matched = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const struct fb_run_info *run = &r->runs[i];
		if (!run->run_id ||
		    (run->status != FB_RUN_COMPLETED && run->status != FB_RUN_FAILED))
			continue;
		if (!p->n)
			break;
		uint64_t h = fb_hashset_hash(run->run_id);
		size_t slot = map_find(p, run->run_id, h);
		if (slot == SIZE_MAX || p->e[p->map[slot]].group != (size_t)(g - p->g))
			continue;
		matched++;
		p->st.answered++;
		p->ops.answer(take(p, p->map[slot]), run);
	}
	/* A page that found runs may have more behind it; one that found none, likely not. */
	if (matched && g->present && r->next_cursor && g->pages < g->max_pages) {
		free(g->cursor);
		if ((g->cursor = fb_strdup(r->next_cursor))) {
			send_page(g);
			return;
		}
	}
	next_phase(g, now);
}

/* ---- the public face ---- */

int fb_poller_watch(struct fb_poller *p, const struct fb_poll_target *tg, void *ud)
{
	if (p->disabled || !tg->run_id || p->ops.inflight(p->ops.owner) < p->cfg.min_batch)
		return 1;
	if (grow(p))
		return FB_ENOMEM;
	uint64_t now = now_ms(p);
	int gi = tg->kind == FB_JOB_GENERATION ? G_GEN : G_TECH;
	struct entry *x = &p->e[p->n];
	*x = (struct entry){
	    .ud = ud,
	    .run_id = tg->run_id,
	    .ws = tg->workspace_id,
	    .prj = tg->project_id,
	    .tech = tg->technique_id && !strncmp(tg->technique_id, "tech_", 5) ? tg->technique_id
									       : NULL,
	    .hash = fb_hashset_hash(tg->run_id),
	    .fallback_due = now + tg->fallback_ms,
	    .wish = now + patience(p, now, tg->since_ms),
	    .group = (unsigned char)gi,
	};
	map_put(p, (uint32_t)p->n);
	p->n++;
	struct group *g = &p->g[gi];
	g->n++;
	if (!g->active)
		g->due = min64(g->due, max64(x->wish, g->last_start + GAP_MS));
	note_due(p, min64(g->due, x->fallback_due));
	return 0;
}

void fb_poller_tick(struct fb_poller *p)
{
	uint64_t now = now_ms(p);
	for (size_t i = 0; i < p->n;) {
		if (p->e[i].fallback_due > now) {
			i++;
			continue;
		}
		p->st.fallbacks++;
		p->ops.fallback(take(p, i));
	}
	for (int gi = 0; gi < NGROUPS; gi++) {
		struct group *g = &p->g[gi];
		if (g->inflight || g->due > now)
			continue;
		if (g->active)
			send_page(g);
		else
			start_sweep(p, gi, now);
	}
	uint64_t due = NEVER;
	for (size_t i = 0; i < p->n; i++)
		due = min64(due, p->e[i].fallback_due);
	for (int gi = 0; gi < NGROUPS; gi++)
		if (!p->g[gi].inflight)
			due = min64(due, p->g[gi].due);
	p->next_due = due;
}

uint64_t fb_poller_next_due(const struct fb_poller *p)
{
	return p->next_due;
}

size_t fb_poller_watched(const struct fb_poller *p)
{
	return p->n;
}

void fb_poller_stats(const struct fb_poller *p, struct fb_poller_stats *out)
{
	*out = p->st;
}
