/* hashset: open-addressing set of 64-bit string hashes. */
#include "hashset.h"
#include "error.h"

#include <stdlib.h>

/* FNV-1a, then a final mix; never 0, which marks an empty slot. */
uint64_t fb_hashset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static size_t slot(const uint64_t *t, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (t[i] && t[i] != h)
		i = (i + 1) & (cap - 1);
	return i;
}

int fb_hashset_has(const struct fb_hashset *h, const char *s)
{
	if (!h->cap)
		return 0;
	uint64_t x = fb_hashset_hash(s);
	return h->slots[slot(h->slots, h->cap, x)] == x;
}

int fb_hashset_add(struct fb_hashset *h, const char *s)
{
	if ((h->len + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		uint64_t *t = calloc(cap, sizeof(*t));
		if (!t)
			return FB_ENOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->slots[i])
				t[slot(t, cap, h->slots[i])] = h->slots[i];
		free(h->slots);
		h->slots = t;
		h->cap = cap;
	}
	uint64_t x = fb_hashset_hash(s);
	size_t i = slot(h->slots, h->cap, x);
	if (h->slots[i] == x)
		return 0;
	h->slots[i] = x;
	h->len++;
	return 1;
}

void fb_hashset_release(struct fb_hashset *h)
{
	free(h->slots);
	*h = (struct fb_hashset)FB_HASHSET_INIT;
}
