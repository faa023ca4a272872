/* ratelimit: token bucket, 429 pause and AIMD on a caller-given clock. */
#include "ratelimit.h"
#include "backoff.h"
#include "error.h"

#include <math.h>
#include <stdlib.h>

#define SLOT_MS 100  /* the observed rate counts takes in slots of this width */
#define NSLOTS	20   /* ... over this many slots: about the last 2 s */
#define EPS	1e-6 /* float slack, in tokens and in ms */

/*
 * The effective rate is a schedule, not a number: base while the gate is
 * closed, then base + step per full second after gate_until, up to target.
 * Keeping it a pure function of time lets the const queries answer for any
 * now, and the refill integrate exactly across the steps.
 */
struct fb_ratelimit {
	double cfg_rate;
	double burst; /* resolved: 0 only when unconfigured and none given */
	double floor;
	int limited; /* 0: unlimited, no 429 yet (only without cfg_rate) */
	double base, step, target;
	int release; /* reaching target lifts the limit (no cfg_rate) */
	uint64_t gate_until, window_until, pause_start, closed_total;
	double tokens;
	uint64_t last_ms, created_ms;
	struct {
		uint64_t epoch;
		unsigned n;
	} seen[NSLOTS];
};

/* Requests per second at t; 0 = unlimited. */
static double rate_at(const struct fb_ratelimit *rl, uint64_t t)
{
	if (!rl->limited)
		return 0;
	if (t < rl->gate_until)
		return rl->base;
	double r = rl->base + rl->step * (double)((t - rl->gate_until) / 1000);
	if (r >= rl->target)
		return rl->release ? 0 : rl->target;
	return r;
}

/* When the rate may next change after t, or UINT64_MAX when it stays. */
static uint64_t next_change(const struct fb_ratelimit *rl, uint64_t t)
{
	if (!rl->limited)
		return UINT64_MAX;
	if (t < rl->gate_until)
		return rl->gate_until;
	uint64_t k = (t - rl->gate_until) / 1000;
	if (rl->base + rl->step * (double)k >= rl->target)
		return UINT64_MAX;
	return rl->gate_until + (k + 1) * 1000;
}

static double size_at(const struct fb_ratelimit *rl, double r)
{
	if (rl->burst && rl->cfg_rate > 0 && r >= rl->cfg_rate)
		return rl->burst;
	double c = ceil(r);
	if (rl->burst && c > rl->burst)
		c = rl->burst;
	return c < 1 ? 1 : c;
}

/* The bucket at t >= last_ms: it refills only while the gate is open, segment by segment. */
static double tokens_at(const struct fb_ratelimit *rl, uint64_t t)
{
	double tok = rl->tokens;
	uint64_t from = rl->last_ms > rl->gate_until ? rl->last_ms : rl->gate_until;
	while (from < t) {
		double r = rate_at(rl, from);
		if (r == 0)
			break;
		uint64_t end = next_change(rl, from);
		if (end > t)
			end = t;
		tok += r * (double)(end - from) / 1000.0;
		double size = size_at(rl, r);
		if (tok > size)
			tok = size;
		from = end;
	}
	return tok;
}

int fb_ratelimit_new(struct fb_ratelimit **out, const struct fb_ratelimit_config *cfg,
		     uint64_t now_ms)
{
	*out = NULL;
	struct fb_ratelimit_config c = {0, 0, 0};
	if (cfg)
		c = *cfg;
	if (!isfinite(c.rate) || c.rate < 0 || !isfinite(c.min_rate) || c.min_rate < 0)
		return FB_EINVAL;
	struct fb_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return FB_ENOMEM;
	rl->cfg_rate = c.rate;
	rl->burst = c.burst;
	rl->floor = c.min_rate > 0 ? c.min_rate : FB_RATELIMIT_MIN_RATE;
	if (c.rate > 0) {
		if (!rl->burst)
			rl->burst = size_at(rl, c.rate);
		if (rl->floor > c.rate)
			rl->floor = c.rate;
		rl->limited = 1;
		rl->base = rl->target = c.rate;
		rl->step = c.rate / 10 > 1 ? c.rate / 10 : 1;
		rl->tokens = rl->burst;
	}
	rl->last_ms = rl->created_ms = now_ms;
	*out = rl;
	return 0;
}

void fb_ratelimit_free(struct fb_ratelimit *rl)
{
	free(rl);
}

uint64_t fb_ratelimit_wait(const struct fb_ratelimit *rl, uint64_t now_ms)
{
	return fb_ratelimit_wait_n(rl, now_ms, 1);
}

uint64_t fb_ratelimit_wait_n(const struct fb_ratelimit *rl, uint64_t now_ms, uint64_t n)
{
	uint64_t t = now_ms > rl->gate_until ? now_ms : rl->gate_until;
	if (t < rl->last_ms)
		t = rl->last_ms;
	/* Tokens beyond the bucket's size come one by one as they accrue, never capped. */
	double need = rate_at(rl, t) == 0 ? 0 : (double)(n ? n : 1) - tokens_at(rl, t);
	/* Walk the schedule forward until the missing part of a token has accrued. */
	while (need > EPS) {
		double r = rate_at(rl, t);
		if (r == 0)
			break;
		uint64_t end = next_change(rl, t);
		double ms = need * 1000.0 / r;
		if (end == UINT64_MAX || ms <= (double)(end - t) + EPS) {
			uint64_t w = (uint64_t)ceil(ms - EPS);
			return t - now_ms + (w ? w : 1);
		}
		need -= r * (double)(end - t) / 1000.0;
		t = end;
	}
	return t - now_ms;
}

static void settle(struct fb_ratelimit *rl, uint64_t now)
{
	if (now <= rl->last_ms)
		return;
	rl->tokens = tokens_at(rl, now);
	rl->last_ms = now;
}

uint64_t fb_ratelimit_take(struct fb_ratelimit *rl, uint64_t now_ms)
{
	uint64_t w = fb_ratelimit_wait(rl, now_ms);
	if (w)
		return w;
	settle(rl, now_ms);
	uint64_t e = now_ms / SLOT_MS;
	if (rl->seen[e % NSLOTS].epoch != e) {
		rl->seen[e % NSLOTS].epoch = e;
		rl->seen[e % NSLOTS].n = 0;
	}
	rl->seen[e % NSLOTS].n++;
	if (rate_at(rl, now_ms) > 0)
		rl->tokens = rl->tokens >= 1 ? rl->tokens - 1 : 0;
	return 0;
}

/* Takes per second over about the last 2 s, over at least 1 s so a start-up burst is not inflated.
 */
static double observed(const struct fb_ratelimit *rl, uint64_t now)
{
	uint64_t e = now / SLOT_MS, first = e >= NSLOTS - 1 ? e - (NSLOTS - 1) : 0;
	double n = 0;
	for (unsigned i = 0; i < NSLOTS; i++)
		if (rl->seen[i].epoch >= first && rl->seen[i].epoch <= e)
			n += rl->seen[i].n;
	uint64_t start = first * SLOT_MS > rl->created_ms ? first * SLOT_MS : rl->created_ms;
	uint64_t span = now > start ? now - start : 0;
	return n * 1000.0 / (double)(span < 1000 ? 1000 : span);
}

/* The 429 that opens a window: halve the rate, or impose one on an unlimited client. */
static void decrease(struct fb_ratelimit *rl, uint64_t now)
{
	double cur = rate_at(rl, now);
	if (cur == 0) {
		double r0 = observed(rl, now);
		rl->step = r0 / 10 > 1 ? r0 / 10 : 1;
		rl->base = r0 / 2 > rl->floor ? r0 / 2 : rl->floor;
		rl->target = 2 * r0 > rl->base + rl->step ? 2 * r0 : rl->base + rl->step;
		rl->release = 1;
		rl->limited = 1;
	} else {
		rl->base = cur / 2 > rl->floor ? cur / 2 : rl->floor;
	}
}

void fb_ratelimit_throttled(struct fb_ratelimit *rl, uint64_t now_ms, long retry_after_ms)
{
	uint64_t pause = retry_after_ms < 0 ? FB_RETRY_AFTER_DEFAULT_MS : (uint64_t)retry_after_ms;
	if (pause > FB_RETRY_AFTER_CAP_MS)
		pause = FB_RETRY_AFTER_CAP_MS;
	if (now_ms < rl->last_ms)
		now_ms = rl->last_ms;
	settle(rl, now_ms); /* the schedule changes from now on, not before */
	if (now_ms >= rl->window_until) {
		decrease(rl, now_ms);
		rl->tokens = 1;
		rl->window_until =
		    now_ms + (pause > FB_RATELIMIT_STORM_MS ? pause : FB_RATELIMIT_STORM_MS);
	} else if (rl->tokens > 1) {
		rl->tokens = 1;
	}
	if (now_ms >= rl->gate_until) { /* the gate was open: a new closed stretch */
		rl->closed_total += rl->gate_until - rl->pause_start;
		rl->pause_start = rl->gate_until = now_ms;
	}
	if (now_ms + pause > rl->gate_until)
		rl->gate_until = now_ms + pause;
}

double fb_ratelimit_effective_rate(const struct fb_ratelimit *rl, uint64_t now_ms)
{
	return rate_at(rl, now_ms);
}

uint64_t fb_ratelimit_throttled_ms(const struct fb_ratelimit *rl, uint64_t now_ms)
{
	uint64_t end = now_ms < rl->gate_until ? now_ms : rl->gate_until;
	return rl->closed_total + (end > rl->pause_start ? end - rl->pause_start : 0);
}
