/*
 * feed: a live manifest (a pipe, a FIFO, a socket, a terminal: see
 * fb_manifest_live) read on a thread of its own, so the event loop never
 * waits for a producer upstream. Items cross over through a queue of at
 * most FB_FEED_QUEUE items; while it is full the thread reads nothing, so
 * a producer that writes faster than runs finish is held back by the pipe
 * instead of growing memory here. A descriptor becomes readable when an
 * item, or the end, is waiting: the loop sleeps on it with everything else.
 */
#ifndef FB_FEED_H
#define FB_FEED_H

#include "error.h"
#include "item.h"
#include "manifest.h"

#define FB_FEED_QUEUE 16

struct fb_feed;

/*
 * Starts reading m on a thread, with every signal blocked there (they
 * reach the loop's thread). m is borrowed until fb_feed_free, and only the
 * feed touches it meanwhile. Caller frees with fb_feed_free.
 * 0, or FB_ENOMEM / FB_EIO (no thread or pipe) with err.
 */
int fb_feed_start(struct fb_feed **out, struct fb_manifest *m, struct fb_err *err);

/*
 * The next item, moved into *item (zeroed by the caller, who releases it):
 * 1; 0 at the end of the manifest; FB_EAGAIN when none has arrived yet
 * (wait for fb_feed_fd to be readable); a negative FB_E* with err when the
 * manifest could not be read further (repeated by every later call).
 */
int fb_feed_next(struct fb_feed *f, struct fb_item *item, struct fb_err *err);

/* Readable while an item or the end waits to be taken. Borrowed until fb_feed_free. */
int fb_feed_fd(const struct fb_feed *f);

/*
 * Stops the thread, abandoning a read it waits in, and releases the items
 * still queued (never started: a later invocation reads them again).
 * The manifest can then only be freed.
 */
void fb_feed_free(struct fb_feed *f);

#endif
