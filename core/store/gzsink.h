/*
 * gzsink: the gzip stream of a tar.gz, written with zlib, whose level can
 * change between ranges of bytes. The archive stores outputs that are
 * compressed already (PNG, JPEG, video, ...: see fb_gz_precompressed) in
 * stored blocks, which costs a copy, and compresses everything else (tar
 * headers, padding, text) at its level: deflate spent most of the
 * archive's time failing to shrink PNGs.
 */
#ifndef FB_GZSINK_H
#define FB_GZSINK_H

#include <stddef.h>

struct fb_gzsink;

/* A gzip stream onto fd (borrowed, not closed) at level. Caller frees with fb_gzsink_free. */
int fb_gzsink_open(struct fb_gzsink **out, int fd, int level);
/*
 * The level of the bytes written from now on: 0 stored, 1-9, or a negative
 * level: that level with fixed Huffman codes (no code tables to build for
 * each short block, as the tar headers between outputs are). A change ends
 * the current deflate block. 0, or FB_EIO.
 */
int fb_gzsink_level(struct fb_gzsink *z, int level);
/* Compresses and writes n bytes. 0, or FB_EIO (errno says why) or FB_ENOMEM. */
int fb_gzsink_write(struct fb_gzsink *z, const void *p, size_t n);
/* Ends the stream (trailer written). 0 or FB_EIO. */
int fb_gzsink_finish(struct fb_gzsink *z);
void fb_gzsink_free(struct fb_gzsink *z);

/* Whether data starts like a format that is compressed already (images, video, audio, archives).
 */
int fb_gz_precompressed(const void *data, size_t len);

#endif
