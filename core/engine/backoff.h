/*
 * backoff: how long to wait before retrying a request (full-jitter
 * exponential backoff, honouring the server's Retry-After), and the
 * project's one seeded PRNG, so a run on a virtual clock is reproducible
 * from its seed. Pure functions: the caller owns the PRNG state.
 */
#ifndef FB_BACKOFF_H
#define FB_BACKOFF_H

#include <stdint.h>

#define FB_BACKOFF_BASE_MS	  500	 /* default base: the first retry waits up to 0.5 s */
#define FB_BACKOFF_CAP_MS	  30000	 /* default cap: the API's published 30 s */
#define FB_RETRY_AFTER_DEFAULT_MS 5000	 /* a 429 without Retry-After waits this long */
#define FB_RETRY_AFTER_CAP_MS	  120000 /* no server-given wait is honoured beyond this */

/*
 * A uniform number in [0, n) from the xorshift64* generator whose state is
 * *state (updated). n == 0 returns 0 (the state still advances). A state
 * of 0, which xorshift would never leave, is replaced by a fixed seed, so
 * a zeroed state is a valid default.
 */
uint64_t fb_rand(uint64_t *state, uint64_t n);

/*
 * The wait before retry number `attempt` (1, 2, ...; 0 counts as 1):
 * uniform in [0, min(cap_ms, base_ms * 2^(attempt-1))], both ends
 * included. Full jitter, so many items failing together do not retry
 * together. No overflow for any attempt or base; the ceiling saturates at
 * cap_ms. rng: the caller's fb_rand state.
 */
uint64_t fb_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint64_t *rng);

/*
 * The wait before retrying after an answer: max(backoff_ms, Retry-After),
 * where the server's Retry-After (retry_after_ms < 0: none given) counts
 * for at most cap_retry_after_ms (normally FB_RETRY_AFTER_CAP_MS), so a
 * server cannot park the batch for hours. The cap bounds only the
 * server's value: backoff_ms is already bounded by the user's backoff cap.
 */
uint64_t fb_backoff_after(uint64_t backoff_ms, long retry_after_ms, uint64_t cap_retry_after_ms);

#endif
