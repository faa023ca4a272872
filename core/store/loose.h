/*
 * loose: --outputs-dir's plain files, each written under a temporary name
 * in its item's folder, made durable and renamed into place, so a crash
 * leaves whole files or none. The collector (collector.c, volumebuild.c)
 * says what goes where; this module only writes files under dir.
 */
#ifndef FB_LOOSE_H
#define FB_LOOSE_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

/*
 * fb_loose_begin opens "<dir>/<name>.tmp" (the folders under dir made as
 * needed, none of them a link; dir itself is followed) and returns its
 * descriptor, path and tmp getting the file's two names; fb_loose_write writes all of data;
 * fb_loose_end closes fd and, when ok, makes it durable and renames it into place (else removes
 * it). fb_loose_place_fd places the len bytes of the file src (linked where it can be, else copied;
 * src stays the caller's), and fb_loose_place the bytes of data. 0 or a negative FB_E* with err.
 */
int fb_loose_begin(const char *dir, const char *name, struct fb_buf *path, struct fb_buf *tmp,
		   struct fb_err *err);
int fb_loose_write(int fd, const void *data, size_t len, const struct fb_buf *path,
		   struct fb_err *err);
int fb_loose_end(int fd, int ok, const struct fb_buf *path, const struct fb_buf *tmp,
		 struct fb_err *err);
int fb_loose_place_fd(const char *dir, const char *name, int src, uint64_t len, struct fb_err *err);
int fb_loose_place(const char *dir, const char *name, const void *data, size_t len,
		   struct fb_err *err);

#endif
