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

/*
 * A stamp makes many w x h PNGs that differ by seed without running deflate
 * per image: rows 0..h-2 (a fixed gradient) are compressed once by
 * fb_png_stamp_init and ended with a sync flush; each image then adds its
 * last row (16 seeded bytes repeated across it) as one hand-made
 * fixed-Huffman block, an Adler-32 carried on from the stored one, and the
 * chunk CRCs carried on the same way. An image is about 40 bytes over its
 * compressed gradient and costs a few hundred nanoseconds.
 */
struct fb_png_stamp {
	unsigned w, h;
	struct fb_buf head;  /* signature, IHDR: the same for every image */
	struct fb_buf zbody; /* the zlib header and the gradient's blocks, byte-aligned */
	uint32_t adler;	     /* Adler-32 of the gradient rows, filter bytes included */
	uint32_t crc;	     /* CRC-32 of "IDAT" and zbody */
};
#define FB_PNG_STAMP_INIT                                                                          \
	{                                                                                          \
		0, 0, FB_BUF_INIT, FB_BUF_INIT, 0, 0                                               \
	}

/* Returns 0, FB_EINVAL (dimensions as fb_png_encode, or w * 3 < 16) or FB_ENOMEM. */
int fb_png_stamp_init(struct fb_png_stamp *s, unsigned w, unsigned h);
void fb_png_stamp_release(struct fb_png_stamp *s);
/* Appends the image for seed to out; the same seed gives the same bytes. 0 or FB_ENOMEM. */
int fb_png_stamp(const struct fb_png_stamp *s, uint64_t seed, struct fb_buf *out);

#endif
