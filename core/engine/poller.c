/*
 * poller: the watched runs (an array, with an open-addressing index by run
 * id), what the batch learns from them, and when each endpoint's next sweep
 * is due; the sweeps themselves, and the tick that starts them, are
 * pollsweep.c, which sits above this file. When to sweep and how deep
 * comes from the batch's own finished runs (pollstats.h) and a budget: the
 * sweeps cost a share of a request per finished run.
 */
#include "pollerpriv.h"
#include "hashset.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT	     UINT32_MAX
#define GET_WINS_OFF 4	   /* GETs in a row that found what no sweep showed: lists off */
#define LISTS_QUIET  30000 /* ms without a run answered by a page before that may count */
#define UNKNOWN_FB   30000 /* ms before a GET, while nothing is learned or hinted */
/* An unproven estimate delays sweeps this long at most: the contract's polling window. */
#define HINT_WISH_MAX 5000
#define TOKENS_MAX    1000 /* pages saved up, at most */
#define SHARE_DECAY   0.9  /* per page: the share follows the last ten pages or so */
#define SHARE_SEEN    20   /* finished runs on pages before the share counts */
#define SHARE_FLOOR   0.01

uint64_t fb_poll_now(struct fb_poller *p)
{
	return fb_clock_now_ms(p->clock);
}

void fb_poll_note_due(struct fb_poller *p, uint64_t due)
{
	p->next_due = fb_poll_min(p->next_due, due);
}

void fb_poll_end_strings(struct fb_poll_chain *c)
{
	free(c->cursor);
	free(c->ws);
	free(c->prj);
	free(c->tech);
	c->cursor = c->ws = c->prj = c->tech = NULL;
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
	c->min_gap_ms = c->min_gap_ms ? c->min_gap_ms : 250;
	c->max_gap_ms = c->max_gap_ms ? c->max_gap_ms : 2000;
	c->budget = c->budget > 0 ? c->budget : 0.25;
	c->error_backoff_ms = c->error_backoff_ms ? c->error_backoff_ms : 2000;
	p->t = t;
	p->clock = clock;
	p->ops = *ops;
	p->next_due = FB_POLL_NEVER;
	for (int i = 0; i < NGROUPS; i++) {
		struct fb_poll_group *g = &p->g[i];
		g->p = p;
		g->due = FB_POLL_NEVER;
		g->page_len = FB_POLL_PAGE;
		for (int k = 0; k < FB_POLL_CHAIN; k++)
			g->chain[k].g = g;
		fb_pollstats_init(&g->stats);
		fb_pollstats_init(&g->ratio);
	}
	return 0;
}

void fb_poller_free(struct fb_poller *p)
{
	if (!p)
		return;
	for (int i = 0; i < NGROUPS; i++) {
		struct fb_poll_group *g = &p->g[i];
		for (int k = 0; k < FB_POLL_CHAIN; k++)
			fb_poll_end_strings(&g->chain[k]);
		for (int k = 0; k < FB_POLL_MARKS; k++)
			free(g->mark[k]);
	}
	fb_fifoset_release(&p->recent);
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
		struct fb_poll_entry *e = realloc(p->e, cap * sizeof(*e));
		if (!e)
			return FB_ENOMEM;
		p->e = e;
		p->cap = cap;
	}
	/* Deep sweeps read back a few times the runs in flight: recognise them all. */
	if (fb_fifoset_grow(&p->recent, fb_poll_max(4096, (p->n + 1) * FB_POLL_RECENT)))
		return FB_ENOMEM;
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
void *fb_poll_take(struct fb_poller *p, size_t idx)
{
	struct fb_poll_entry *x = &p->e[idx];
	struct fb_poll_group *g = &p->g[x->group];
	void *ud = x->ud;
	g->n--;
	map_del(p, map_find(p, x->run_id, x->hash));
	size_t last = --p->n;
	if (idx != last) {
		size_t slot = map_find(p, p->e[last].run_id, p->e[last].hash);
		p->e[idx] = p->e[last];
		p->map[slot] = (uint32_t)idx;
	}
	return ud;
}

struct fb_poll_entry *fb_poll_find(struct fb_poller *p, const char *run_id, uint64_t h)
{
	size_t slot = p->n ? map_find(p, run_id, h) : SIZE_MAX;
	return slot == SIZE_MAX ? NULL : &p->e[p->map[slot]];
}

int fb_poll_recent(const struct fb_poller *p, uint64_t h)
{
	return fb_fifoset_has(&p->recent, h);
}

void fb_poll_hand_back(struct fb_poller *p, int gi)
{
	for (size_t i = 0; i < p->n;) {
		if (gi >= 0 && p->e[i].group != gi) {
			i++;
			continue;
		}
		p->st.fallbacks++;
		p->ops.fallback(fb_poll_take(p, i)); /* slot i now holds another run: look again */
	}
}

/* ---- what the batch has learned, and what it buys ---- */

double fb_poll_share(const struct fb_poll_group *g)
{
	if (g->all_seen < SHARE_SEEN)
		return 1;
	double s = g->own_seen / g->all_seen;
	return s < SHARE_FLOOR ? SHARE_FLOOR : s > 1 ? 1 : s;
}

void fb_poll_note_page(struct fb_poll_group *g, size_t own, size_t all)
{
	g->own_seen = g->own_seen * SHARE_DECAY + (double)own;
	g->all_seen = g->all_seen * SHARE_DECAY + (double)all;
}

/*
 * Sweep requests per finished run aimed at: tighter when many runs are in
 * flight, and as much wider as pages hold fewer of the batch's runs (a
 * shard of a workspace reads every other shard's runs too; a sweep that
 * read as few pages as alone would miss its own).
 */
double fb_poll_budget(const struct fb_poller *p, const struct fb_poll_group *g)
{
	double b = p->cfg.budget;
	if (g->n > 100)
		b = b * 100.0 / (double)g->n;
	b = b < p->cfg.budget / 3 ? p->cfg.budget / 3 : b;
	return b / fb_poll_share(g);
}

/* Runs of the group finishing per second, by Little's law; 0: not known yet. */
double fb_poll_rate(struct fb_poll_group *g)
{
	uint64_t med = fb_pollstats_quantile(&g->stats, 0.5);
	return med && g->n ? (double)g->n * 1000.0 / (double)med : 0;
}

/*
 * Between two sweeps of the group: as soon as the budget allows when runs
 * finish fast, up to max_gap when they finish slowly, and min_gap while
 * pages are saved up (the budget is spent on noticing runs sooner, not
 * kept). Before anything is learned, a quarter of the oldest run's age:
 * quick for short runs, few requests for long ones.
 */
uint64_t fb_poll_gap(struct fb_poller *p, struct fb_poll_group *g, uint64_t now)
{
	double r = fb_poll_rate(g);
	if (r > 0 && g->tokens >= FB_POLL_SURPLUS && !g->idle)
		return p->cfg.min_gap_ms;
	if (r > 0) /* shallow sweeps that find nothing come less often */
		return fb_poll_clamp((uint64_t)(1000.0 / (fb_poll_budget(p, g) * r)) << g->idle,
				     p->cfg.min_gap_ms, p->cfg.max_gap_ms);
	uint64_t oldest = now;
	for (size_t i = 0; i < p->n; i++)
		if (p->e[i].group == (size_t)(g - p->g))
			oldest = fb_poll_min(oldest, p->e[i].since);
	return fb_poll_clamp((now - oldest) / 4, p->cfg.min_gap_ms, p->cfg.max_gap_ms);
}

/*
 * When a run is worth a sweep. An estimate counts once finished runs have
 * shown how far to trust it (the fastest twentieth of duration / estimate,
 * and never later than the fastest twentieth of the durations seen); else
 * those durations; else a third of the estimate (it may be three times too
 * high), at most HINT_WISH_MAX; else from the start.
 */
uint64_t fb_poll_wish(struct fb_poll_group *g, const struct fb_poll_entry *x)
{
	uint64_t q = fb_pollstats_quantile(&g->stats, 0.05);
	if (x->expect) {
		uint64_t r = fb_pollstats_quantile(&g->ratio, 0.05);
		if (r) {
			double d = (double)x->expect * (double)r / 1e6;
			uint64_t by_hint = d > 1e12 ? (uint64_t)1e12 : (uint64_t)d;
			return x->since + (q ? fb_poll_min(by_hint, q) : by_hint);
		}
	}
	if (q)
		return x->since + q;
	return x->since + fb_poll_min(x->expect / 3, HINT_WISH_MAX);
}

/*
 * The first runs are watched before anything is known and get the far
 * GET deadline of an unknown run; once enough have finished, theirs come
 * in to what runs like them take, or a run no sweep showed waits it out.
 */
static void learned(struct fb_poller *p, struct fb_poll_group *g)
{
	if (g->trusted || !fb_pollstats_quantile(&g->stats, 0.9))
		return;
	g->trusted = 1;
	int gi = (int)(g - p->g);
	for (size_t i = 0; i < p->n; i++) {
		struct fb_poll_entry *x = &p->e[i];
		if (x->group != gi)
			continue;
		x->fallback_due = fb_poll_min(x->fallback_due, fb_poll_fallback_at(g, x));
		fb_poll_note_due(p, x->fallback_due);
	}
}

void fb_poll_answer(struct fb_poller *p, struct fb_poll_entry *x, const struct fb_run_info *run)
{
	struct fb_poll_group *g = &p->g[x->group];
	uint64_t now = fb_poll_now(p);
	/* How long it took, and against its estimate. */
	fb_pollstats_add(&g->stats, x->since, now);
	if (x->expect)
		fb_pollstats_add(&g->ratio, 0,
				 (now - fb_poll_min(x->since, now)) * 1000 / x->expect);
	learned(p, g);
	g->get_wins = 0;
	g->last_answer = now;
	p->st.answered++;
	fb_fifoset_add(&p->recent, x->hash); /* out of memory: only the share suffers */
	p->ops.answer(fb_poll_take(p, (size_t)(x - p->e)), run);
}

/*
 * When a run no sweep answered gets a GET of its own: well past the time
 * runs like it took (the lists may lag, or not show it), and never sooner
 * than the job asks (its age again after a GET found it unfinished, so a
 * slow run's GETs thin out). Lists do the work;
 * this is the safety net.
 */
uint64_t fb_poll_fallback_at(struct fb_poll_group *g, const struct fb_poll_entry *x)
{
	uint64_t q = fb_pollstats_quantile(&g->stats, 0.9);
	uint64_t after = q ? 3 * q + 2000 : x->expect ? 3 * x->expect + 5000 : UNKNOWN_FB;
	uint64_t due = fb_poll_max(x->since + after, x->min_fallback);
	return fb_poll_min(due, x->max_fallback);
}

void fb_poller_seen(struct fb_poller *p, enum fb_job_kind kind, const char *run_id,
		    uint64_t since_ms, int finished, int handed_back)
{
	struct fb_poll_group *g = &p->g[kind == FB_JOB_GENERATION ? G_GEN : G_TECH];
	if (handed_back)
		g->probes = finished ? 0 : g->probes + 1;
	if (!finished)
		return;
	uint64_t now = fb_poll_now(p);
	fb_pollstats_add(&g->stats, since_ms, now);
	if (run_id) /* on a page later, it is the batch's own */
		fb_fifoset_add(&p->recent, fb_hashset_hash(run_id));
	learned(p, g);
	if (!handed_back)
		return;
	/*
	 * A GET found a finished run that no sweep showed: once is lag, often
	 * is blindness. But a burst of runs the sweeps missed (another shard's
	 * runs filled the pages) wins many GETs in a row while pages go on
	 * answering the rest: lists are given up only when they have answered
	 * nothing for a while, or never.
	 */
	int quiet = !g->last_answer || now - g->last_answer >= LISTS_QUIET;
	if (++g->get_wins >= GET_WINS_OFF && quiet && !g->off) {
		g->off = 1;
		p->st.lists_off++;
	}
}

/* ---- the public face ---- */

int fb_poller_watch(struct fb_poller *p, const struct fb_poll_target *tg, void *ud)
{
	int gi = tg->kind == FB_JOB_GENERATION ? G_GEN : G_TECH;
	if (p->disabled || p->g[gi].off || !tg->run_id ||
	    p->ops.inflight(p->ops.owner) < p->cfg.min_batch)
		return 1;
	if (grow(p))
		return FB_ENOMEM;
	uint64_t now = fb_poll_now(p);
	struct fb_poll_group *g = &p->g[gi];
	struct fb_poll_entry *x = &p->e[p->n];
	*x = (struct fb_poll_entry){
	    .ud = ud,
	    .run_id = tg->run_id,
	    .ws = tg->workspace_id,
	    .prj = tg->project_id,
	    .tech = tg->technique_id && !strncmp(tg->technique_id, "tech_", 5) ? tg->technique_id
									       : NULL,
	    .hash = fb_hashset_hash(tg->run_id),
	    .since = fb_poll_min(tg->since_ms, now),
	    .expect = tg->expect_ms,
	    .min_fallback = now + tg->fallback_ms,
	    .max_fallback = tg->deadline_ms ? fb_poll_max(tg->deadline_ms, now) : FB_POLL_NEVER,
	    .group = (unsigned char)gi,
	};
	/* Checked by a GET just now and not finished: the next GET no sooner than its age. */
	if (tg->checked)
		x->min_fallback = fb_poll_max(x->min_fallback, now + (now - x->since));
	x->fallback_due = fb_poll_fallback_at(g, x);
	map_put(p, (uint32_t)p->n);
	p->n++;
	g->n++;
	if (!tg->checked && g->tokens < TOKENS_MAX)
		g->tokens += fb_poll_budget(p, g);
	if (!g->probe_due)
		g->probe_due = now + FB_POLL_PROBE_MS;
	fb_poll_note_due(p, g->probe_due);
	g->due = fb_poll_min(
	    g->due, fb_poll_max(fb_poll_wish(g, x), g->last_start + fb_poll_gap(p, g, now)));
	fb_poll_note_due(p, fb_poll_min(g->due, x->fallback_due));
	return 0;
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
