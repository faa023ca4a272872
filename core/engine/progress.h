/*
 * progress: what a long batch shows while it runs. On a terminal, one line
 * redrawn at most 4 times a second (done / total, percent, completed and
 * failed, in flight, runs a minute, ETA, money spent against --max-cost,
 * time spent waiting out 429s; a shard first says "shard K/N: M of T
 * items"); for a dashboard, one JSON object a second
 * on standard error; nothing otherwise. Rates and the ETA come from the
 * last minute, so a batch that slows down says so.
 */
#ifndef FB_PROGRESS_H
#define FB_PROGRESS_H

#include "log.h"

#include <stddef.h>
#include <stdint.h>

enum fb_progress_mode {
	FB_PROGRESS_NONE = 0,
	FB_PROGRESS_BAR,   /* the redrawn line (a terminal) */
	FB_PROGRESS_JSONL, /* {"event":"progress",...} lines */
};

/* Where the batch is; all counts of this invocation unless said. */
struct fb_progress_snap {
	uint64_t now_ms;      /* the batch's clock */
	uint64_t read;	      /* items read from the manifest so far */
	uint64_t total;	      /* items in the manifest, when known; 0: a stream (read is used) */
	uint64_t done_before; /* items an earlier invocation finished */
	uint64_t completed, failed, invalid, skipped;
	size_t in_flight;
	double cost;	       /* USD charged so far */
	double max_cost;       /* < 0: no cap */
	uint64_t throttled_ms; /* time every request waited out 429s */
	/* --shard K/N (shard_count 0: none): read counts this shard's items, and
	 * manifest_read every item read, the other shards' too */
	unsigned shard_index, shard_count;
	uint64_t manifest_read;
};

struct fb_progress;

/*
 * Shows progress through log (borrowed for the progress's lifetime; the log
 * clears the line before its messages). color: failures in red (callers
 * pass: a terminal, no NO_COLOR). NULL when out of memory; mode NONE gives
 * a progress that shows nothing. Caller frees with fb_progress_free.
 */
struct fb_progress *fb_progress_new(enum fb_progress_mode mode, struct fb_log *log, int color,
				    uint64_t start_ms);
/* Shows s when its time has come (force: now, as the batch ends). */
void fb_progress_update(struct fb_progress *p, const struct fb_progress_snap *s, int force);
void fb_progress_free(struct fb_progress *p);

/*
 * The mode a word names ("auto", "bar", "jsonl", "none") into *out; auto
 * is bar on a terminal whose TERM is not "dumb", else none. -1 for another word.
 */
int fb_progress_mode_parse(const char *word, int stderr_is_tty, const char *term,
			   enum fb_progress_mode *out);

/* The text line for s, rate per minute and eta_s (< 0: unknown) into buf. */
void fb_progress_format(char *buf, size_t len, const struct fb_progress_snap *s, double per_min,
			double eta_s, int color);

#endif
