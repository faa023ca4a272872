/*
 * spool: where downloaded outputs wait for the archive, in one append-only
 * file of records "<sha256> <length>\n<bytes>", each written with one
 * writev. A record torn by a crash can only be the last one: it is cut off
 * when the spool is opened again. Content-addressed: the same bytes are kept
 * once. One file, because creating a file per output costs more than the
 * rest of an item's work together.
 */
#ifndef FB_SPOOL_H
#define FB_SPOOL_H

#include "buf.h"
#include "error.h"

#include <stddef.h>

struct fb_spool;

/*
 * Opens (creating) the spool at path and indexes what it holds, cutting a
 * torn last record; fresh empties it first. Caller frees with fb_spool_close.
 */
int fb_spool_open(struct fb_spool **out, const char *path, int fresh, struct fb_err *err);

/* Keeps data under its sha256 (64 lowercase hex digits); nothing is written when it is kept
 * already. */
int fb_spool_put(struct fb_spool *s, const char *sha256, const void *data, size_t len,
		 struct fb_err *err);

/* The bytes kept under sha256, into out (reset first). FB_EINVAL when there are none. */
int fb_spool_get(struct fb_spool *s, const char *sha256, struct fb_buf *out, struct fb_err *err);

/* Makes what was put durable (fdatasync), when anything was. */
int fb_spool_sync(struct fb_spool *s, struct fb_err *err);

void fb_spool_close(struct fb_spool *s);

#endif
