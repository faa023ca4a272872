/*
 * reorder: lines that leave in their items' order (--keep-order, GNU
 * parallel's -k) through a window of a fixed number of items. A line that
 * finishes early waits in the window until every earlier item has had
 * its line (or was passed over); the driver admits an item only while it
 * fits the window, so a slow item holds back at most `window` others and
 * memory stays bounded.
 */
#ifndef FB_REORDER_H
#define FB_REORDER_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct fb_reorder;

/* Called with each line whose turn came, in order. 0, or a negative FB_E* that put returns. */
typedef int (*fb_reorder_emit)(void *ud, const char *line, size_t len);

/* A window of `window` (>= 1) items, starting at seq 1. Caller frees with fb_reorder_free. */
int fb_reorder_new(struct fb_reorder **out, size_t window, fb_reorder_emit emit, void *ud);

/* Whether the item with this seq fits the window now. */
int fb_reorder_room(const struct fb_reorder *o, uint64_t seq);

/*
 * The line (copied; NULL: the item has none, it is passed over) for seq,
 * then every line whose turn came, through emit. A seq behind the window
 * leaves at once; one past it is a caller's bug (FB_ESTATE). 0, FB_ENOMEM,
 * or emit's error (the window is then stuck: later lines stay held).
 */
int fb_reorder_put(struct fb_reorder *o, uint64_t seq, const char *line, size_t len);

/* Lines held, and bytes. */
size_t fb_reorder_held(const struct fb_reorder *o);

/* Emits every line still held, in order, over the gaps (items that never ended). */
int fb_reorder_drain(struct fb_reorder *o);

void fb_reorder_free(struct fb_reorder *o);

#endif
