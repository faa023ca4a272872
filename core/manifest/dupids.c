/* dupids: explicit ids by 64-bit hash, with the line that gave each first. */
#include "dupids.h"
#include "hashset.h"

#include <stdlib.h>
#include <string.h>

struct slot {
	uint64_t hash; /* 0: empty */
	uint64_t line;
};

struct fb_dupids {
	struct slot *s;
	size_t len, cap;
};

struct fb_dupids *fb_dupids_new(void)
{
	return calloc(1, sizeof(struct fb_dupids));
}

void fb_dupids_free(struct fb_dupids *d)
{
	if (d)
		free(d->s);
	free(d);
}

static struct slot *find(const struct fb_dupids *d, uint64_t h)
{
	size_t i = (size_t)(h * 0x9E3779B97F4A7C15ULL) & (d->cap - 1);
	while (d->s[i].hash && d->s[i].hash != h)
		i = (i + 1) & (d->cap - 1);
	return &d->s[i];
}

static int grow(struct fb_dupids *d)
{
	if (d->cap && (d->len + 1) * 2 <= d->cap)
		return 0;
	size_t cap = d->cap ? d->cap * 2 : 1024, old = d->cap;
	struct slot *prev = d->s;
	if (!(d->s = calloc(cap, sizeof(*d->s)))) {
		d->s = prev;
		return FB_ENOMEM;
	}
	d->cap = cap;
	for (size_t i = 0; i < old; i++)
		if (prev[i].hash)
			*find(d, prev[i].hash) = prev[i];
	free(prev);
	return 0;
}

static uint64_t line_of(const char *source)
{
	const char *colon = source ? strrchr(source, ':') : NULL;
	return colon ? strtoull(colon + 1, NULL, 10) : 0;
}

int fb_dupids_note(struct fb_dupids *d, const struct fb_item *it, uint64_t *first_line)
{
	if (!it->id_explicit || !it->id)
		return 0;
	if (grow(d))
		return FB_ENOMEM;
	uint64_t h = fb_hashset_hash(it->id);
	h = h ? h : 1;
	struct slot *s = find(d, h);
	if (s->hash) {
		*first_line = s->line;
		return 1;
	}
	s->hash = h;
	s->line = line_of(it->source);
	d->len++;
	return 0;
}
