/*
 * timers: a binary min-heap of deadlines, the driver's only way to wait
 * (in the manner of redis's ae time events). Ties fire in the order they
 * were added, so a run on a virtual clock is reproducible.
 */
#ifndef FB_TIMERS_H
#define FB_TIMERS_H

#include <stddef.h>
#include <stdint.h>

struct fb_timer {
	uint64_t due_ms;
	uint64_t seq; /* insertion order, for ties */
	void *ptr;    /* borrowed: what to wake */
	uint64_t tag; /* the owner's check that the timer is still wanted (lazy cancel) */
};

struct fb_timers {
	struct fb_timer *heap;
	size_t len, cap;
	uint64_t next_seq;
};
#define FB_TIMERS_INIT                                                                             \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* 0 or FB_ENOMEM. */
int fb_timers_add(struct fb_timers *t, uint64_t due_ms, void *ptr, uint64_t tag);
/* The earliest timer, or NULL when empty; borrowed until the next change. */
const struct fb_timer *fb_timers_peek(const struct fb_timers *t);
/* Removes the earliest timer into *out; 0 when there was none. */
int fb_timers_pop(struct fb_timers *t, struct fb_timer *out);
void fb_timers_release(struct fb_timers *t);

#endif
