/* buf: growable NUL-terminated byte buffer. */
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fb_buf_grow(struct fb_buf *b, size_t extra)
{
	if (extra >= (size_t)-1 - b->len - 1)
		return FB_ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	char *p = realloc(b->ptr, cap);
	if (!p)
		return FB_ENOMEM;
	if (!b->ptr)
		p[0] = '\0';
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int fb_buf_add(struct fb_buf *b, const void *data, size_t n)
{
	/* The common case, room to spare, without fb_buf_grow's overflow checks. */
	if (b->cap - b->len > n) {
		if (n)
			memcpy(b->ptr + b->len, data, n);
		b->len += n;
		b->ptr[b->len] = '\0';
		return 0;
	}
	if (fb_buf_grow(b, n))
		return FB_ENOMEM;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int fb_buf_adds(struct fb_buf *b, const char *s)
{
	return fb_buf_add(b, s, strlen(s));
}

int fb_buf_addc(struct fb_buf *b, char c)
{
	return fb_buf_add(b, &c, 1);
}

int fb_buf_addf(struct fb_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || fb_buf_grow(b, (size_t)n))
		return FB_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *fb_buf_str(const struct fb_buf *b)
{
	return b->ptr ? b->ptr : "";
}

void fb_buf_reset(struct fb_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void fb_buf_release(struct fb_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

char *fb_buf_detach(struct fb_buf *b, size_t *len)
{
	if (!b->ptr && fb_buf_grow(b, 0))
		return NULL;
	char *p = b->ptr;
	if (len)
		*len = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}
