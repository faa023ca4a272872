/*
 * fifoset: the last `window` 64-bit hashes added, exactly: a ring in the
 * order they came and an open-addressing index over it. The oldest leaves
 * as a new one comes, so membership costs a bounded memory however long
 * the batch, where a direct-mapped table would forget at random. The
 * poller keeps the runs it answered lately here, to tell its own runs on
 * a list page from other clients' runs.
 */
#ifndef FB_FIFOSET_H
#define FB_FIFOSET_H

#include <stddef.h>
#include <stdint.h>

struct fb_fifoset {
	uint64_t *ring; /* window entries; next is where the next one goes */
	size_t window, next, len;
	uint64_t *slots; /* 2 x window, a power of two; 0 marks an empty slot */
	size_t cap;
};
#define FB_FIFOSET_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0, 0, NULL, 0                                                             \
	}

/* Adds h (0 is kept as 1); the oldest leaves when window are held. 0, or
 * FB_ENOMEM before the first fb_fifoset_grow succeeded. */
int fb_fifoset_add(struct fb_fifoset *s, uint64_t h);
int fb_fifoset_has(const struct fb_fifoset *s, uint64_t h);
/* Makes the window at least `window` (rounded up to a power of two), keeping
 * what is held. 0 or FB_ENOMEM (the set is as it was). */
int fb_fifoset_grow(struct fb_fifoset *s, size_t window);
void fb_fifoset_release(struct fb_fifoset *s);

#endif
