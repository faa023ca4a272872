/*
 * png: a minimal PNG writer (8-bit truecolour, no interlace, filter 0 on
 * every row) so the simulator can hand out output files that are real
 * images, checkable by any decoder.
 */
#ifndef FB_PNG_H
#define FB_PNG_H

#include "buf.h"

#include <stdint.h>

/* Largest width or height fb_png_encode accepts; keeps every size computation in range. */
#define FB_PNG_MAX_DIM 16384u

/*
 * Appends a PNG of the w x h image rgb (w*h*3 bytes, rows top to bottom,
 * borrowed for the call) to out. Returns 0, FB_EINVAL (a dimension is 0 or
 * over FB_PNG_MAX_DIM, or rgb is NULL) or FB_ENOMEM; on failure out holds
 * what it held before.
 */
int fb_png_encode(unsigned w, unsigned h, const uint8_t *rgb, struct fb_buf *out);

/*
 * Appends a w x h PNG whose pixels (a two-colour gradient with a stripe) are
 * a pure function of seed, so the same seed gives the same bytes. Returns as
 * fb_png_encode.
 */
int fb_png_from_seed(uint64_t seed, unsigned w, unsigned h, struct fb_buf *out);

#endif
