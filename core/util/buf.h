/*
 * buf: a growable byte buffer, always NUL-terminated (in the manner of git's
 * strbuf). The one way the project builds strings and collects bytes.
 */
#ifndef FB_BUF_H
#define FB_BUF_H

#include <stddef.h>

struct fb_buf {
	char *ptr;  /* NUL-terminated when cap > 0; NULL before the first write */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes allocated */
};

#define FB_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Each returns 0 or FB_ENOMEM; on failure the buffer is unchanged. */
int fb_buf_grow(struct fb_buf *b, size_t extra);
int fb_buf_add(struct fb_buf *b, const void *data, size_t n);
int fb_buf_adds(struct fb_buf *b, const char *s);
int fb_buf_addc(struct fb_buf *b, char c);
int fb_buf_addf(struct fb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The contents as a C string: "" for an empty buffer; borrowed until the next write. */
const char *fb_buf_str(const struct fb_buf *b);
/* Empties the buffer and keeps its memory. */
void fb_buf_reset(struct fb_buf *b);
/* Frees the memory; the buffer is FB_BUF_INIT again. */
void fb_buf_release(struct fb_buf *b);
/* Hands the memory to the caller (caller frees; never NULL unless out of memory). */
char *fb_buf_detach(struct fb_buf *b, size_t *len);

#endif
