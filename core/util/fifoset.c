/*
 * fifoset: a ring of hashes and a linear-probing index over it; removal
 * moves later members of a cluster back into the hole, so there are no
 * tombstones and lookups stay short however many have come and gone.
 */
#include "fifoset.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static uint64_t key(uint64_t h)
{
	return h ? h : 1;
}

static size_t find(const struct fb_fifoset *s, uint64_t k)
{
	size_t mask = s->cap - 1;
	for (size_t i = k & mask;; i = (i + 1) & mask)
		if (s->slots[i] == k || !s->slots[i])
			return i;
}

static void del(struct fb_fifoset *s, uint64_t k)
{
	size_t mask = s->cap - 1, hole = find(s, k);
	if (!s->slots[hole])
		return;
	s->slots[hole] = 0;
	for (size_t i = (hole + 1) & mask; s->slots[i]; i = (i + 1) & mask) {
		size_t home = s->slots[i] & mask;
		/* The entry at i may fill the hole when its home is not in (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			s->slots[hole] = s->slots[i];
			s->slots[i] = 0;
			hole = i;
		}
	}
}

int fb_fifoset_add(struct fb_fifoset *s, uint64_t h)
{
	if (!s->window && fb_fifoset_grow(s, 1))
		return FB_ENOMEM;
	uint64_t k = key(h);
	if (fb_fifoset_has(s, k))
		return 0; /* one entry a hash: the ring would remove it twice */
	if (s->len == s->window)
		del(s, s->ring[s->next]);
	else
		s->len++;
	s->ring[s->next] = k;
	s->next = (s->next + 1) % s->window;
	s->slots[find(s, k)] = k;
	return 0;
}

int fb_fifoset_has(const struct fb_fifoset *s, uint64_t h)
{
	return s->cap && s->slots[find(s, key(h))] == key(h);
}

int fb_fifoset_grow(struct fb_fifoset *s, size_t window)
{
	size_t w = 1;
	while (w < window)
		w *= 2;
	if (w <= s->window)
		return 0;
	uint64_t *ring = malloc(w * sizeof(*ring));
	uint64_t *slots = calloc(2 * w, sizeof(*slots));
	if (!ring || !slots) {
		free(ring);
		free(slots);
		return FB_ENOMEM;
	}
	/* Oldest first, so the oldest still leaves first. */
	size_t first = s->len == s->window ? s->next : 0;
	for (size_t i = 0; i < s->len; i++)
		ring[i] = s->ring[(first + i) % s->window];
	struct fb_fifoset n = {ring, w, s->len % w, s->len, slots, 2 * w};
	for (size_t i = 0; i < n.len; i++)
		n.slots[find(&n, ring[i])] = ring[i];
	fb_fifoset_release(s);
	*s = n;
	return 0;
}

void fb_fifoset_release(struct fb_fifoset *s)
{
	free(s->ring);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
