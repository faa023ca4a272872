/*
 * pollstats: a ring of durations with a lazily sorted copy (sorting 256
 * numbers costs less than one list request), and a ring of per-second
 * finish counts.
 */
#include "pollstats.h"

#include <stdlib.h>
#include <string.h>

void fb_pollstats_init(struct fb_pollstats *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < FB_POLLSTATS_SECS; i++)
		s->sec_at[i] = UINT64_MAX;
}

void fb_pollstats_add(struct fb_pollstats *s, uint64_t since_ms, uint64_t now_ms)
{
	uint64_t d = now_ms > since_ms ? now_ms - since_ms : 0;
	s->dur[s->next] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	s->next = (s->next + 1) % FB_POLLSTATS_KEEP;
	if (s->ndur < FB_POLLSTATS_KEEP)
		s->ndur++;
	s->nsorted = 0;
	s->finished++;
	uint64_t sec = now_ms / 1000;
	size_t slot = sec % FB_POLLSTATS_SECS;
	s->sec_at[slot] = sec;
	s->sec_count[slot] = s->finished;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

uint64_t fb_pollstats_quantile(struct fb_pollstats *s, double q)
{
	if (s->ndur < FB_POLLSTATS_TRUST)
		return 0;
	if (!s->nsorted) {
		memcpy(s->sorted, s->dur, s->ndur * sizeof(s->sorted[0]));
		qsort(s->sorted, s->ndur, sizeof(s->sorted[0]), cmp_u32);
		s->nsorted = s->ndur;
	}
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	size_t i = (size_t)(q * (double)(s->nsorted - 1) + 0.5);
	return s->sorted[i] ? s->sorted[i] : 1;
}

uint64_t fb_pollstats_finished_since(const struct fb_pollstats *s, uint64_t at_ms, uint64_t now_ms)
{
	if (at_ms >= now_ms)
		return 0;
	/* The count at the end of the last second before at_ms that the ring still holds. */
	uint64_t sec = at_ms / 1000, now_sec = now_ms / 1000;
	if (now_sec - sec >= FB_POLLSTATS_SECS)
		return s->finished;
	uint64_t before = 0;
	for (uint64_t t = sec + 1; t-- > 0 && now_sec - t < FB_POLLSTATS_SECS;) {
		size_t slot = t % FB_POLLSTATS_SECS;
		if (s->sec_at[slot] == t) {
			before = s->sec_count[slot];
			break;
		}
		if (t == 0)
			break;
	}
	return s->finished - before;
}
