/*
 * hashset: a set of strings kept as 64-bit hashes (8 bytes an entry), for
 * the batch-wide sets that grow with a manifest: keys already done, runs
 * claimed, archive names used. A false positive needs two strings with one
 * 64-bit hash; each user says what that would cost it.
 */
#ifndef FB_HASHSET_H
#define FB_HASHSET_H

#include <stddef.h>
#include <stdint.h>

struct fb_hashset {
	uint64_t *slots; /* open addressing; 0 marks an empty slot */
	size_t len, cap;
};
#define FB_HASHSET_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

uint64_t fb_hashset_hash(const char *s);
/* 1 if s was added, 0 if it was there already, FB_ENOMEM. */
int fb_hashset_add(struct fb_hashset *h, const char *s);
int fb_hashset_has(const struct fb_hashset *h, const char *s);
void fb_hashset_release(struct fb_hashset *h);

#endif
