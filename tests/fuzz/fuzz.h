/*
 * fuzz: what the libFuzzer harnesses share: the input as a NUL-terminated
 * string, and the input cut into NUL-separated fields. Each harness feeds
 * one parser of outside input and frees everything it was given, so the
 * leak checker can tell a leak from a harness's own.
 */
#ifndef FB_FUZZ_H
#define FB_FUZZ_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A copy of data[0..size) with a NUL after it (caller frees), or NULL. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return NULL;
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Splits s (len bytes, NUL-terminated at len) in place at its NUL bytes
 * into at most max fields; missing fields are NULL. Returns how many.
 */
static inline size_t fuzz_fields(char *s, size_t len, const char **field, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < max; i++)
		field[i] = NULL;
	const char *p = s, *end = s + len;
	while (n < max && p <= end) {
		field[n++] = p;
		p += strlen(p) + 1;
	}
	return n;
}

/*
 * The input as a FILE with a real descriptor, at its start (caller
 * fcloses), or NULL. The manifest reads its stream with read(2) on
 * fileno(), which an fmemopen stream does not have: with one, a harness
 * would only ever see an empty manifest.
 */
static inline FILE *fuzz_file(const uint8_t *data, size_t size)
{
	FILE *f = tmpfile();
	if (!f)
		abort();
	if ((size && fwrite(data, 1, size, f) != size) || fflush(f) || fseek(f, 0, SEEK_SET))
		abort();
	return f;
}

#ifdef FB_FUZZ_MANIFEST
#include "manifest.h"

/* Reads the input as a manifest named name, in format, to its end or first error. */
static inline void fuzz_read_manifest(const uint8_t *data, size_t size, const char *name,
				      enum fb_format format)
{
	FILE *f = fuzz_file(data, size);
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	if (fb_manifest_open_stream(&m, f, name, 1, format, &err))
		return;
	for (;;) {
		struct fb_item it = {0};
		int rc = fb_manifest_next(m, &it, &err);
		fb_item_release(&it);
		if (rc <= 0)
			break;
	}
	fb_manifest_free(m);
}
#endif

#endif
