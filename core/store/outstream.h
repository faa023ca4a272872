/*
 * outstream: the result lines streamed to standard output (--results -),
 * beside the folder's record: each line the moment its item ends, or in
 * input order through a bounded window (--keep-order, reorder.h). Lines
 * are written with write(2) as they leave, so a slow reader slows the
 * batch instead of growing a buffer. A reader that goes away (EPIPE) ends
 * the stream quietly: the record has every line, and fb_outstream_gone
 * tells the driver to stop starting runs.
 */
#ifndef FB_OUTSTREAM_H
#define FB_OUTSTREAM_H

#include "error.h"
#include "results.h"

#include <stddef.h>
#include <stdint.h>

struct fb_outstream;

/*
 * Streams to standard output; keep_order: the window (items) within which
 * lines are put back in input order, 0 for the order items end in.
 * Caller frees with fb_outstream_close. 0, FB_ENOMEM or FB_EIO with err.
 */
int fb_outstream_open(struct fb_outstream **out, size_t keep_order, struct fb_err *err);

/* res's line, now or in its turn. 0 also when the reader has gone; else a negative FB_E*. */
int fb_outstream_write(struct fb_outstream *s, const struct fb_result *res, struct fb_err *err);

/* The item with seq gets no line here (done by an earlier invocation): the next go on. */
int fb_outstream_pass(struct fb_outstream *s, uint64_t seq, struct fb_err *err);

/* Whether the item with seq may start now (always, without --keep-order). */
int fb_outstream_room(const struct fb_outstream *s, uint64_t seq);

/* Whether the reader went away. */
int fb_outstream_gone(const struct fb_outstream *s);

/* Lets out every line still held (over items that never ended), then frees s. */
int fb_outstream_close(struct fb_outstream *s, struct fb_err *err);

#endif
