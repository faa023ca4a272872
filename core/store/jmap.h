/*
 * jmap: the journal's map from key to its latest run and poll URL, and
 * whether a create was noted, in 40-60 bytes a key plus the strings (see
 * jmap.c). Filled only from the journal file as opened (journal.h).
 */
#ifndef FB_JMAP_H
#define FB_JMAP_H

#include <stddef.h>
#include <stdint.h>

#define FB_JMAP_ID_LEN 16
#define FB_JMAP_NO_REF UINT32_MAX
#define FB_JMAP_HASHED 1 /* id is a SHA-256 prefix, not a decoded "fb1-" key */
#define FB_JMAP_CREATE 2 /* a create record was seen */

struct fb_jmap_entry {
	unsigned char id[FB_JMAP_ID_LEN];
	uint32_t run;  /* string reference (fb_jmap_str), or FB_JMAP_NO_REF */
	uint32_t poll; /* string reference, or FB_JMAP_NO_REF */
	unsigned char flags;
};

struct fb_jmap {
	struct fb_jmap_entry *ents;
	uint32_t nents;
	size_t ents_cap;
	uint32_t *index; /* entry number + 1; 0 is an empty slot */
	size_t index_cap;
	char **chunks; /* the strings' arena */
	uint32_t nchunks;
	uint32_t chunk_used; /* bytes used in the last chunk */
	size_t superseded;   /* runs replaced by a later, different run of their key */
};

/* The key's 16-byte id and whether it is hashed. 0 or FB_ENOMEM. */
int fb_jmap_key_id(const char *key, unsigned char id[FB_JMAP_ID_LEN], unsigned char *hashed);
/* The entry of key, or NULL (also for NULL). Valid until the next fb_jmap_get. */
struct fb_jmap_entry *fb_jmap_find(const struct fb_jmap *j, const char *key);
/* The entry of key, added empty when missing; NULL when out of memory. */
struct fb_jmap_entry *fb_jmap_get(struct fb_jmap *j, const char *key);
/* A string by reference, or NULL for FB_JMAP_NO_REF; valid until release. */
const char *fb_jmap_str(const struct fb_jmap *j, uint32_t ref);
/* Whether e's run and poll URL (NULL or "" for none) are these. */
int fb_jmap_same_run(const struct fb_jmap *j, const struct fb_jmap_entry *e, const char *run,
		     const char *poll);
/* Sets e's run and poll URL (strings copied; old ones stay valid). 0 or FB_ENOMEM. */
int fb_jmap_set_run(struct fb_jmap *j, struct fb_jmap_entry *e, const char *run, const char *poll);
/* Whether any entry's latest run is run_id. */
int fb_jmap_made(const struct fb_jmap *j, const char *run_id);
void fb_jmap_release(struct fb_jmap *j);

#endif
