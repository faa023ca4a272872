/*
 * intake: where the driver's items come from. A manifest that is a file
 * is read in place, an item at a time; a live one (a pipe, a FIFO, a
 * socket: fb_manifest_live) through a feed (feed.h), whose descriptor the
 * transport watches while the driver has room for an item, so a line that
 * arrives wakes the loop at once and a full pool stops the reading.
 */
#ifndef FB_INTAKE_H
#define FB_INTAKE_H

#include "error.h"
#include "item.h"
#include "manifest.h"
#include "transport.h"

#include <stdint.h>

struct fb_intake;

/*
 * Reads m (borrowed until fb_intake_free) for the loop that steps t
 * (borrowed likewise). Caller frees with fb_intake_free. 0, or a negative
 * FB_E* with err.
 */
int fb_intake_open(struct fb_intake **out, struct fb_manifest *m, struct fb_transport *t,
		   struct fb_err *err);

/*
 * The next item (see fb_feed_next): 1, 0 at the end, FB_EAGAIN when none
 * has arrived yet, or a negative FB_E* with err. A file never answers
 * FB_EAGAIN.
 */
int fb_intake_next(struct fb_intake *in, struct fb_item *item, struct fb_err *err);

/*
 * Whether the loop wants to hear of the next item now (it has room for
 * one). While it does, an arriving item ends the transport's step.
 */
void fb_intake_want(struct fb_intake *in, int want);

/*
 * The longest the loop may wait in one step while it wants an item: short
 * when the transport cannot watch the feed, else UINT64_MAX.
 */
uint64_t fb_intake_max_wait_ms(const struct fb_intake *in);

/* Whether the manifest is live (read through a feed). */
int fb_intake_live(const struct fb_intake *in);

/* Stops the feed, if any (items it read and nobody took are never started). */
void fb_intake_free(struct fb_intake *in);

#endif
