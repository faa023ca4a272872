/*
 * pollstats: what the batch has learned about its own runs, for deciding
 * when to look for them: how long they took (the last 256, from create to
 * the moment a list page or a GET showed them finished), how fast they
 * finish, and how many have finished since a given moment. An estimate in
 * a create answer is a hint that may be absent (CONTRACT.md §2, §8); the
 * batch's own finished runs are the evidence that never is.
 *
 * Owned by the poller, one per list endpoint. Memory: fixed.
 */
#ifndef FB_POLLSTATS_H
#define FB_POLLSTATS_H

#include <stddef.h>
#include <stdint.h>

#define FB_POLLSTATS_KEEP  256 /* durations kept */
#define FB_POLLSTATS_SECS  512 /* seconds of finish counts kept */
#define FB_POLLSTATS_TRUST 8   /* durations needed before quantiles are used */

struct fb_pollstats {
	uint32_t dur[FB_POLLSTATS_KEEP]; /* ms, a ring */
	size_t ndur, next;
	uint32_t sorted[FB_POLLSTATS_KEEP];
	size_t nsorted;			       /* 0: sorted must be rebuilt */
	uint64_t finished;		       /* runs seen finished, in all */
	uint64_t sec_at[FB_POLLSTATS_SECS];    /* per second slot: which second it holds */
	uint64_t sec_count[FB_POLLSTATS_SECS]; /* `finished` at the end of that second */
};

void fb_pollstats_init(struct fb_pollstats *s);

/* A run created at since_ms was seen finished at now_ms. */
void fb_pollstats_add(struct fb_pollstats *s, uint64_t since_ms, uint64_t now_ms);

/* The q-quantile (0..1) of the durations kept, in ms; 0 with fewer than TRUST of them. */
uint64_t fb_pollstats_quantile(struct fb_pollstats *s, double q);

/* Runs seen finished since at_ms (now_ms: the present); an upper bound past the window kept. */
uint64_t fb_pollstats_finished_since(const struct fb_pollstats *s, uint64_t at_ms, uint64_t now_ms);

#endif
