/*
 * jmap: the journal's map from key to run, replayed from the file on open.
 *
 * Memory layout, sized for a million keys of an earlier batch:
 * - Every key becomes a 16-byte id. A key in the project's own form ("fb1-"
 *   and 32 lowercase hex digits) is its 32 digits decoded; any other key is
 *   the first 16 bytes of its SHA-256, with a flag so the two kinds never
 *   meet. No key string is kept: lookups only need equality.
 * - Entries (id, run, poll, flags: 28 bytes) sit in one dense array; an
 *   open-addressing index of 32-bit entry numbers (linear probing, at most
 *   half full, hashed by the id's first 8 bytes) finds them.
 * - Run ids and poll URLs live in an arena of 1 MiB chunks addressed by
 *   32-bit references. Chunks never move, so the pointers fb_journal_run_of
 *   hands out stay valid until close. When the poll URL ends with the run id
 *   (the API's usual ".../runs/<run id>") the run id is the URL's tail and
 *   costs nothing more.
 * So a key costs 40 to 60 bytes (entry, index, growth slack) plus its poll
 * URL, or its run id when it has none: about 150 MB for a million runs with
 * 90-byte URLs, most of it the URLs themselves.
 */
#include "jmap.h"
#include "error.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_BITS   20
#define CHUNK_SIZE   ((uint32_t)1 << CHUNK_BITS)
#define MAX_CHUNKS   4095 /* keeps every reference below FB_JMAP_NO_REF */
#define MAX_ENTRIES  (UINT32_MAX - 1)
#define CANON_PREFIX "fb1-"
#define CANON_LEN    36

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int decode_hex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The key's id and whether it is hashed. 0 or FB_ENOMEM. */
int fb_jmap_key_id(const char *key, unsigned char id[FB_JMAP_ID_LEN], unsigned char *hashed)
{
	char hex[FB_SHA256_HEX_LEN + 1];

	*hashed = 0;
	if (strlen(key) == CANON_LEN && !strncmp(key, CANON_PREFIX, 4) &&
	    decode_hex(key + 4, id, FB_JMAP_ID_LEN) == 0)
		return 0;
	*hashed = FB_JMAP_HASHED;
	if (fb_sha256_hex(key, strlen(key), hex))
		return FB_ENOMEM;
	decode_hex(hex, id, FB_JMAP_ID_LEN);
	return 0;
}

static size_t slot_of(const unsigned char id[FB_JMAP_ID_LEN], size_t cap)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h)); /* the id is already uniformly distributed */
	return (size_t)h & (cap - 1);
}

static struct fb_jmap_entry *find(const struct fb_jmap *j, const unsigned char id[FB_JMAP_ID_LEN],
				  unsigned char hashed)
{
	if (!j->index_cap)
		return NULL;
	for (size_t s = slot_of(id, j->index_cap);; s = (s + 1) & (j->index_cap - 1)) {
		uint32_t v = j->index[s];
		if (!v)
			return NULL;
		struct fb_jmap_entry *e = &j->ents[v - 1];
		if ((e->flags & FB_JMAP_HASHED) == hashed && !memcmp(e->id, id, FB_JMAP_ID_LEN))
			return e;
	}
}

static void index_put(uint32_t *index, size_t cap, const unsigned char id[FB_JMAP_ID_LEN],
		      uint32_t v)
{
	size_t s = slot_of(id, cap);
	while (index[s])
		s = (s + 1) & (cap - 1);
	index[s] = v;
}

/* The entry for id, added empty when missing; NULL when out of memory. */
static struct fb_jmap_entry *get_or_add(struct fb_jmap *j, const unsigned char id[FB_JMAP_ID_LEN],
					unsigned char hashed)
{
	struct fb_jmap_entry *e = find(j, id, hashed);
	if (e)
		return e;
	if (j->nents >= MAX_ENTRIES)
		return NULL;
	if ((size_t)j->nents + 1 > j->index_cap / 2) {
		size_t cap = j->index_cap ? j->index_cap * 2 : 1024;
		uint32_t *index = calloc(cap, sizeof(*index));
		if (!index)
			return NULL;
		for (uint32_t i = 0; i < j->nents; i++)
			index_put(index, cap, j->ents[i].id, i + 1);
		free(j->index);
		j->index = index;
		j->index_cap = cap;
	}
	if (j->nents == j->ents_cap) {
		/* Growing by half, not double, wastes less at a million keys. */
		size_t cap = j->ents_cap ? j->ents_cap + j->ents_cap / 2 : 256;
		struct fb_jmap_entry *ents = realloc(j->ents, cap * sizeof(*ents));
		if (!ents)
			return NULL;
		j->ents = ents;
		j->ents_cap = cap;
	}
	e = &j->ents[j->nents++];
	memcpy(e->id, id, FB_JMAP_ID_LEN);
	e->run = e->poll = FB_JMAP_NO_REF;
	e->flags = hashed;
	index_put(j->index, j->index_cap, id, j->nents);
	return e;
}

const char *fb_jmap_str(const struct fb_jmap *j, uint32_t ref)
{
	if (ref == FB_JMAP_NO_REF)
		return NULL;
	return j->chunks[ref >> CHUNK_BITS] + (ref & (CHUNK_SIZE - 1));
}

/* Copies s (n bytes, n < MAX_STR) into the arena. 0 or FB_ENOMEM. */
static int arena_put(struct fb_jmap *j, const char *s, size_t n, uint32_t *ref)
{
	if (!j->nchunks || CHUNK_SIZE - j->chunk_used < n + 1) {
		if (j->nchunks == MAX_CHUNKS)
			return FB_ENOMEM;
		char **chunks = realloc(j->chunks, (j->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return FB_ENOMEM;
		j->chunks = chunks;
		if (!(chunks[j->nchunks] = malloc(CHUNK_SIZE)))
			return FB_ENOMEM;
		j->nchunks++;
		j->chunk_used = 0;
	}
	char *p = j->chunks[j->nchunks - 1] + j->chunk_used;
	memcpy(p, s, n);
	p[n] = '\0';
	*ref = (j->nchunks - 1) << CHUNK_BITS | j->chunk_used;
	j->chunk_used += (uint32_t)n + 1;
	return 0;
}

/*
 * Stores run and poll (NULL or "" for none) for e. A rerun's old strings
 * stay in the arena unreferenced: reruns are rare, and pointers handed out
 * earlier must stay valid.
 */
int fb_jmap_same_run(const struct fb_jmap *j, const struct fb_jmap_entry *e, const char *run,
		     const char *poll)
{
	const char *r = fb_jmap_str(j, e->run), *p = fb_jmap_str(j, e->poll);
	return r && !strcmp(r, run) && !strcmp(p ? p : "", poll ? poll : "");
}

int fb_jmap_set_run(struct fb_jmap *j, struct fb_jmap_entry *e, const char *run, const char *poll)
{
	if (fb_jmap_same_run(j, e, run, poll))
		return 0; /* a resumed run noted again: nothing new */
	size_t rl = strlen(run), pl = poll ? strlen(poll) : 0;
	uint32_t r, p = FB_JMAP_NO_REF;

	if (pl >= rl && !strcmp(poll + pl - rl, run)) {
		if (arena_put(j, poll, pl, &p))
			return FB_ENOMEM;
		r = p + (uint32_t)(pl - rl); /* one string never spans two chunks */
	} else {
		if (arena_put(j, run, rl, &r) || (pl && arena_put(j, poll, pl, &p)))
			return FB_ENOMEM;
	}
	j->superseded += e->run != FB_JMAP_NO_REF;
	e->run = r;
	e->poll = p;
	return 0;
}

struct fb_jmap_entry *fb_jmap_find(const struct fb_jmap *j, const char *key)
{
	unsigned char id[FB_JMAP_ID_LEN], hashed;
	return key && j->nents && !fb_jmap_key_id(key, id, &hashed) ? find(j, id, hashed) : NULL;
}

struct fb_jmap_entry *fb_jmap_get(struct fb_jmap *j, const char *key)
{
	unsigned char id[FB_JMAP_ID_LEN], hashed;
	return fb_jmap_key_id(key, id, &hashed) ? NULL : get_or_add(j, id, hashed);
}

int fb_jmap_made(const struct fb_jmap *j, const char *run_id)
{
	for (uint32_t i = 0; i < j->nents; i++) {
		const char *r = fb_jmap_str(j, j->ents[i].run);
		if (r && !strcmp(r, run_id))
			return 1;
	}
	return 0;
}

void fb_jmap_release(struct fb_jmap *j)
{
	for (uint32_t i = 0; i < j->nchunks; i++)
		free(j->chunks[i]);
	free(j->chunks);
	free(j->index);
	free(j->ents);
	memset(j, 0, sizeof(*j));
}
