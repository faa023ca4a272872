/*
 * clock: the one source of time. Everything that waits or timestamps asks a
 * struct fb_clock, so tests, benchmarks and the simulator can run the whole
 * engine on a virtual clock that jumps instead of sleeping.
 */
#ifndef FB_CLOCK_H
#define FB_CLOCK_H

#include <stdint.h>

struct fb_clock;

/*
 * Monotonic milliseconds since an arbitrary origin. Never decreases.
 */
uint64_t fb_clock_now_ms(struct fb_clock *c);

/*
 * Wall-clock milliseconds since the Unix epoch, for timestamps a user reads
 * (created_at). On a virtual clock: a fixed epoch plus the virtual time.
 */
uint64_t fb_clock_wall_ms(struct fb_clock *c);

/*
 * Lets ms pass: the real clock sleeps; the virtual clock advances at once.
 * Callers use it only when they have nothing else to do until then.
 * A real sleep may end early when a signal arrives.
 */
void fb_clock_sleep_ms(struct fb_clock *c, uint64_t ms);

/* Whether time jumps (virtual) rather than passes (real). */
int fb_clock_is_virtual(const struct fb_clock *c);

/* A real (CLOCK_MONOTONIC) clock. Caller frees with fb_clock_free. NULL when out of memory. */
struct fb_clock *fb_clock_real_new(void);
/* A virtual clock starting at start_ms. Caller frees with fb_clock_free. */
struct fb_clock *fb_clock_virtual_new(uint64_t start_ms);
void fb_clock_free(struct fb_clock *c);

#endif
