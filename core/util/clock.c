/* clock: real and virtual time behind one interface. */
#include "clock.h"

#include <stdlib.h>
#include <time.h>

struct fb_clock {
	int is_virtual;
	uint64_t vnow; /* virtual: current monotonic ms */
};

/* The virtual wall clock starts at 2026-01-01T00:00:00Z, so output is reproducible. */
#define FB_VIRTUAL_EPOCH_MS 1767225600000ULL

static uint64_t ts_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fb_clock_now_ms(struct fb_clock *c)
{
	return c->is_virtual ? c->vnow : ts_ms(CLOCK_MONOTONIC);
}

uint64_t fb_clock_wall_ms(struct fb_clock *c)
{
	return c->is_virtual ? FB_VIRTUAL_EPOCH_MS + c->vnow : ts_ms(CLOCK_REALTIME);
}

void fb_clock_sleep_ms(struct fb_clock *c, uint64_t ms)
{
	if (c->is_virtual) {
		c->vnow += ms;
		return;
	}
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	/* An interrupted sleep returns early on purpose: the caller re-checks
	 * its flags (a signal asked it to stop) and its timers. */
	nanosleep(&ts, NULL);
}

int fb_clock_is_virtual(const struct fb_clock *c)
{
	return c->is_virtual;
}

struct fb_clock *fb_clock_real_new(void)
{
	return calloc(1, sizeof(struct fb_clock));
}

struct fb_clock *fb_clock_virtual_new(uint64_t start_ms)
{
	struct fb_clock *c = calloc(1, sizeof(*c));
	if (c) {
		c->is_virtual = 1;
		c->vnow = start_ms;
	}
	return c;
}

void fb_clock_free(struct fb_clock *c)
{
	free(c);
}
