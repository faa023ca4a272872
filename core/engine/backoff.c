/* backoff: full-jitter exponential backoff and the seeded PRNG. */
#include "backoff.h"

static uint64_t next(uint64_t *s)
{
	/* Any odd constant would do; the golden ratio's is customary. */
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint64_t fb_rand(uint64_t *state, uint64_t n)
{
	uint64_t x = next(state);
	/* The modulo bias is below 2^-40 for any wait a client would draw. */
	return n ? x % n : 0;
}

uint64_t fb_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint64_t *rng)
{
	unsigned shift = attempt > 1 ? attempt - 1 : 0;
	uint64_t ceil;
	/* base << shift exceeds cap exactly when base > cap >> shift: no shift ever overflows. */
	if (base_ms == 0)
		ceil = 0;
	else if (shift >= 64 || base_ms > (cap_ms >> shift))
		ceil = cap_ms;
	else
		ceil = base_ms << shift;
	if (ceil == UINT64_MAX)
		return next(rng);
	return fb_rand(rng, ceil + 1);
}

uint64_t fb_backoff_after(uint64_t backoff_ms, long retry_after_ms, uint64_t cap_retry_after_ms)
{
	if (retry_after_ms < 0)
		return backoff_ms;
	uint64_t ra = (uint64_t)retry_after_ms;
	if (ra > cap_retry_after_ms)
		ra = cap_retry_after_ms;
	return ra > backoff_ms ? ra : backoff_ms;
}
