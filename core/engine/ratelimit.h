/*
 * ratelimit: the client-wide gate every API request passes (creates, polls
 * and downloads from the API host alike): a token bucket, a pause of the
 * whole client on 429, and AIMD on the effective rate. Pure logic: every
 * call takes the caller's monotonic now_ms (from its fb_clock), so tests
 * drive it with plain numbers.
 *
 * The rules, exactly:
 * - Bucket. At rate r the bucket gains r tokens a second up to its size;
 *   a request takes one. Size: the configured burst while the effective
 *   rate is the configured one; while lowered, max(1, min(burst,
 *   ceil(r))) (without --burst: max(1, ceil(r))), so a lowered rate is not
 *   undone by one large burst. A new bucket starts full.
 * - 429. The pause is Retry-After, FB_RETRY_AFTER_DEFAULT_MS (5 s) when
 *   absent, at most FB_RETRY_AFTER_CAP_MS (120 s). The gate closes until
 *   now + pause; a 429 while it is closed may extend that, never shorten
 *   it. Nothing accrues while the gate is closed; when it opens, one
 *   request may go at once (a 429 that opens a new window leaves exactly
 *   one token), then the bucket refills at the effective rate.
 * - Decrease. A 429 outside a window opens one of max(pause, STORM);
 *   only the 429 that opens a window lowers the rate, so a storm of 429s
 *   from requests already in flight counts once. It halves the effective
 *   rate now, but never below the floor: min_rate (0: 0.5 rps), or the
 *   configured rate when that is lower. When the rate is unlimited (no
 *   --rate, or recovered back to unlimited), it first measures R0, the
 *   rate of takes over about the last 2 s (counted over at least 1 s, so a
 *   start-up burst is not inflated), and imposes max(floor, R0 / 2).
 * - Increase. Counting from when the gate last opened, each full second
 *   adds a step: max(1, configured / 10) rps up to the configured rate;
 *   without --rate, max(1, R0 / 10) rps until the rate reaches
 *   max(2 * R0, first rate + step), where the limit is lifted (unlimited).
 */
#ifndef FB_RATELIMIT_H
#define FB_RATELIMIT_H

#include <stdint.h>

#define FB_RATELIMIT_MIN_RATE 0.5  /* default floor of a lowered rate, requests per second */
#define FB_RATELIMIT_STORM_MS 1000 /* STORM: the shortest window in which 429s count as one */

struct fb_ratelimit_config {
	double rate;	 /* requests per second; 0 = no configured limit */
	unsigned burst;	 /* bucket size; 0 = max(1, ceil(rate)) */
	double min_rate; /* floor of the decreased rate; 0 = FB_RATELIMIT_MIN_RATE */
};

struct fb_ratelimit;

/*
 * A limiter created at now_ms. cfg NULL: all defaults (unlimited until a
 * 429). 0, FB_EINVAL for a negative or non-finite rate or min_rate, or
 * FB_ENOMEM. Caller frees *out with fb_ratelimit_free.
 */
int fb_ratelimit_new(struct fb_ratelimit **out, const struct fb_ratelimit_config *cfg,
		     uint64_t now_ms);
void fb_ratelimit_free(struct fb_ratelimit *rl);

/*
 * One request wants to go now: 0 = go (a token was taken); otherwise the
 * ms to wait before asking again (nothing taken). Asking again after
 * exactly that wait succeeds unless a 429 came in between.
 */
uint64_t fb_ratelimit_take(struct fb_ratelimit *rl, uint64_t now_ms);

/* The same answer without taking: 0 if a take now would succeed, else the wait. */
uint64_t fb_ratelimit_wait(const struct fb_ratelimit *rl, uint64_t now_ms);

/*
 * Until n tokens have come (n >= 1; those in the bucket count), as the
 * schedule stands now: when the n-th of n requesters waiting in line may
 * ask. n = 1 is fb_ratelimit_wait.
 */
uint64_t fb_ratelimit_wait_n(const struct fb_ratelimit *rl, uint64_t now_ms, uint64_t n);

/* A 429 arrived. retry_after_ms < 0: none given. The rules above. */
void fb_ratelimit_throttled(struct fb_ratelimit *rl, uint64_t now_ms, long retry_after_ms);

/* The rate the bucket refills at now, requests per second; 0 = unlimited. */
double fb_ratelimit_effective_rate(const struct fb_ratelimit *rl, uint64_t now_ms);

/* Total time up to now_ms the gate was closed by 429s (overlapping pauses counted once). */
uint64_t fb_ratelimit_throttled_ms(const struct fb_ratelimit *rl, uint64_t now_ms);

#endif
