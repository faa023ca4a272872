/* progress: the redrawn line, the JSONL events, and the last minute's rate. */
#include "progress.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#define BAR_EVERY_MS   250  /* at most 4 redraws a second */
#define JSONL_EVERY_MS 1000 /* a dashboard needs no more */
#define WINDOW	       64   /* samples, one a second at most: the last minute */

struct sample {
	uint64_t at_ms, ended;
};

struct fb_progress {
	enum fb_progress_mode mode;
	struct fb_log *log;
	int color;
	uint64_t start_ms, last_ms;
	int shown;
	struct sample ring[WINDOW];
	size_t nring, head; /* head: the oldest */
};

struct fb_progress *fb_progress_new(enum fb_progress_mode mode, struct fb_log *log, int color,
				    uint64_t start_ms)
{
	struct fb_progress *p = calloc(1, sizeof(*p));
	if (p) {
		p->mode = mode;
		p->log = log;
		p->color = color;
		p->start_ms = start_ms;
	}
	return p;
}

void fb_progress_free(struct fb_progress *p)
{
	free(p);
}

int fb_progress_mode_parse(const char *word, int tty, const char *term, enum fb_progress_mode *out)
{
	if (!strcmp(word, "auto"))
		*out = tty && !(term && !strcmp(term, "dumb")) ? FB_PROGRESS_BAR : FB_PROGRESS_NONE;
	else if (!strcmp(word, "bar"))
		*out = FB_PROGRESS_BAR;
	else if (!strcmp(word, "jsonl"))
		*out = FB_PROGRESS_JSONL;
	else if (!strcmp(word, "none"))
		*out = FB_PROGRESS_NONE;
	else
		return -1;
	return 0;
}

static uint64_t ended(const struct fb_progress_snap *s)
{
	return s->completed + s->failed + s->invalid + s->skipped;
}

/* Items ended a minute, over the window (the whole run while it is younger). */
static double per_minute(struct fb_progress *p, const struct fb_progress_snap *s)
{
	uint64_t n = ended(s);
	if (p->nring == 0 || s->now_ms - p->ring[(p->head + p->nring - 1) % WINDOW].at_ms >= 1000) {
		if (p->nring == WINDOW) {
			p->head = (p->head + 1) % WINDOW;
			p->nring--;
		}
		p->ring[(p->head + p->nring) % WINDOW] = (struct sample){s->now_ms, n};
		p->nring++;
	}
	const struct sample *old = &p->ring[p->head];
	uint64_t span = s->now_ms - old->at_ms;
	if (span < 2000) { /* too short a window: the whole run so far */
		span = s->now_ms - p->start_ms;
		return span ? n * 60000.0 / (double)span : 0;
	}
	return (double)(n - old->ended) * 60000.0 / (double)span;
}

static void duration(char *buf, size_t len, double secs)
{
	long s = secs < 0 ? -1 : (long)(secs + 0.5);
	if (s < 0)
		snprintf(buf, len, "?");
	else if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 100 * 3600)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

void fb_progress_format(char *buf, size_t len, const struct fb_progress_snap *s, double per_min,
			double eta_s, int color)
{
	uint64_t done = s->done_before + ended(s);
	size_t at = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		int n_ = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__);                 \
		at += n_ > 0 ? (size_t)n_ : 0;                                                     \
	} while (0)
	if (s->shard_count)
		ADD("shard %u/%u: %llu of %llu items · ", s->shard_index, s->shard_count,
		    (unsigned long long)s->read, (unsigned long long)s->manifest_read);
	if (s->total) {
		double pct = 100.0 * (double)done / (double)s->total;
		ADD("%llu/%llu %.1f%%", (unsigned long long)done, (unsigned long long)s->total,
		    pct > 100 ? 100.0 : pct);
	} else {
		ADD("%llu done of %llu read", (unsigned long long)done,
		    (unsigned long long)s->read);
	}
	ADD(" · %llu completed", (unsigned long long)s->completed);
	if (s->failed)
		ADD(", %s%llu failed%s", color ? "\033[31m" : "", (unsigned long long)s->failed,
		    color ? "\033[0m" : "");
	if (s->invalid)
		ADD(", %llu invalid", (unsigned long long)s->invalid);
	if (s->skipped)
		ADD(", %llu skipped", (unsigned long long)s->skipped);
	ADD(" · %zu in flight · %.0f/min", s->in_flight, per_min);
	if (eta_s >= 0) {
		char d[32];
		duration(d, sizeof(d), eta_s);
		ADD(" · ETA %s", d);
	}
	if (s->cost > 0 || s->max_cost >= 0)
		ADD(" · $%.2f", s->cost);
	if (s->max_cost >= 0)
		ADD(" of $%.2f", s->max_cost);
	if (s->throttled_ms) {
		char d[32];
		duration(d, sizeof(d), s->throttled_ms / 1000.0);
		ADD(" · 429 wait %s", d);
	}
#undef ADD
}

static void emit_jsonl(struct fb_progress *p, const struct fb_progress_snap *s, double per_min,
		       double eta_s, int last)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return;
	yajl_gen_map_open(g);
	fb_json_gen_key(g, "event");
	fb_json_gen_str(g, last ? "end" : "progress");
	struct {
		const char *k;
		uint64_t v;
	} nums[] = {{"elapsed_ms", s->now_ms - p->start_ms},
		    {"read", s->read},
		    {"total", s->total},
		    {"done", s->done_before + ended(s)},
		    {"done_before", s->done_before},
		    {"completed", s->completed},
		    {"failed", s->failed},
		    {"invalid", s->invalid},
		    {"skipped", s->skipped},
		    {"in_flight", s->in_flight},
		    {"throttled_ms", s->throttled_ms}};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		fb_json_gen_key(g, nums[i].k);
		if (!strcmp(nums[i].k, "total") && !s->total)
			yajl_gen_null(g);
		else
			fb_json_gen_u64(g, nums[i].v);
	}
	fb_json_gen_key(g, "shard"); /* "K/N", or null without --shard */
	if (s->shard_count) {
		char sh[32];
		snprintf(sh, sizeof(sh), "%u/%u", s->shard_index, s->shard_count);
		fb_json_gen_str(g, sh);
	} else {
		yajl_gen_null(g);
	}
	fb_json_gen_key(g, "manifest_read");
	fb_json_gen_u64(g, s->shard_count ? s->manifest_read : s->read);
	fb_json_gen_key(g, "per_min");
	fb_json_gen_double(g, floor(per_min * 10 + 0.5) / 10);
	fb_json_gen_key(g, "eta_s");
	if (eta_s >= 0)
		fb_json_gen_u64(g, (uint64_t)(eta_s + 0.5));
	else
		yajl_gen_null(g);
	fb_json_gen_key(g, "cost");
	fb_json_gen_double(g, floor(s->cost * 1e6 + 0.5) / 1e6); /* no float dust */
	fb_json_gen_key(g, "max_cost");
	if (s->max_cost >= 0)
		fb_json_gen_double(g, s->max_cost);
	else
		yajl_gen_null(g);
	yajl_gen_map_close(g);
	const unsigned char *text;
	size_t len;
	if (yajl_gen_get_buf(g, &text, &len) == yajl_gen_status_ok)
		fb_log_line(p->log, (const char *)text, len);
	yajl_gen_free(g);
}

void fb_progress_update(struct fb_progress *p, const struct fb_progress_snap *s, int force)
{
	if (!p || p->mode == FB_PROGRESS_NONE)
		return;
	uint64_t every = p->mode == FB_PROGRESS_BAR ? BAR_EVERY_MS : JSONL_EVERY_MS;
	if (!force && p->shown && s->now_ms - p->last_ms < every)
		return;
	p->last_ms = s->now_ms;
	p->shown = 1;
	double per_min = per_minute(p, s);
	uint64_t done = s->done_before + ended(s);
	double eta = s->total && per_min > 0 && done <= s->total
			 ? (double)(s->total - done) * 60.0 / per_min
			 : -1;
	if (p->mode == FB_PROGRESS_JSONL) {
		emit_jsonl(p, s, per_min, eta, force);
		return;
	}
	char line[512];
	fb_progress_format(line, sizeof(line), s, per_min, eta, p->color);
	fb_log_progress(p->log, "%s", line);
}
