/* assets: one batch's uploads by content, with the journal as their memory. */
#include "assets.h"
#include "item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct asset {
	char sha[65];
	int busy;
	char *asset_id; /* NULL until uploaded */
	char *url;
};

struct fb_assets {
	struct fb_journal *journal;
	struct asset *v;
	size_t n, cap;
	size_t *index; /* open addressing over v by digest; 0 = empty, else position + 1 */
	size_t icap;
	unsigned long uploaded;
};

struct fb_assets *fb_assets_new(struct fb_journal *journal)
{
	struct fb_assets *a = calloc(1, sizeof(*a));
	if (a)
		a->journal = journal;
	return a;
}

void fb_assets_free(struct fb_assets *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].asset_id);
		free(a->v[i].url);
	}
	free(a->v);
	free(a->index);
	free(a);
}

/* A digest's first 16 hex digits are as good a hash as any. */
static size_t home(const char *sha, size_t cap)
{
	return (size_t)strtoull((char[17]){sha[0], sha[1], sha[2], sha[3], sha[4], sha[5], sha[6],
					   sha[7], sha[8], sha[9], sha[10], sha[11], sha[12],
					   sha[13], sha[14], sha[15], 0},
				NULL, 16) &
	       (cap - 1);
}

static size_t *slot(struct fb_assets *a, const char *sha)
{
	size_t i = home(sha, a->icap);
	while (a->index[i] && strcmp(a->v[a->index[i] - 1].sha, sha))
		i = (i + 1) & (a->icap - 1);
	return &a->index[i];
}

static int reindex(struct fb_assets *a)
{
	size_t cap = a->icap ? a->icap * 2 : 128;
	size_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return FB_ENOMEM;
	free(a->index);
	a->index = idx;
	a->icap = cap;
	for (size_t i = 0; i < a->n; i++)
		*slot(a, a->v[i].sha) = i + 1;
	return 0;
}

static struct asset *find(struct fb_assets *a, const char *sha)
{
	if (!a->icap || strlen(sha) < 16)
		return NULL;
	size_t at = *slot(a, sha);
	return at ? &a->v[at - 1] : NULL;
}

static struct asset *add(struct fb_assets *a, const char *sha)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct asset *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	if (strlen(sha) < 16 || ((a->n + 1) * 2 > a->icap && reindex(a)))
		return NULL;
	struct asset *e = &a->v[a->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->sha, sizeof(e->sha), "%s", sha);
	*slot(a, e->sha) = a->n;
	return e;
}

/* The journal keeps uploads under "asset:<sha256>": the run slot holds the asset id, the poll slot
 * its url. */
static void journal_key(char *out, size_t n, const char *sha)
{
	snprintf(out, n, "asset:%s", sha);
}

enum fb_asset_state fb_assets_get(struct fb_assets *a, const char *sha256, const char **asset_id,
				  const char **url)
{
	struct asset *e = find(a, sha256);
	if (!e && a->journal) {
		char key[80];
		const char *jurl = NULL;
		journal_key(key, sizeof(key), sha256);
		const char *id = fb_journal_run_of(a->journal, key, &jurl);
		if (id && jurl && (e = add(a, sha256))) {
			e->asset_id = fb_strdup(id);
			e->url = fb_strdup(jurl);
		}
	}
	if (e && e->asset_id && e->url) {
		*asset_id = e->asset_id;
		*url = e->url;
		return FB_ASSET_READY;
	}
	if (e && e->busy)
		return FB_ASSET_BUSY;
	if (!e)
		e = add(a, sha256);
	if (e)
		e->busy = 1;
	return FB_ASSET_NONE; /* out of memory: the caller uploads without the table's help */
}

int fb_assets_done(struct fb_assets *a, const char *sha256, const char *asset_id, const char *url,
		   struct fb_err *err)
{
	struct asset *e = find(a, sha256);
	if (!e)
		return 0;
	e->busy = 0;
	if (!asset_id || !url)
		return 0;
	free(e->asset_id);
	free(e->url);
	e->asset_id = fb_strdup(asset_id);
	e->url = fb_strdup(url);
	a->uploaded++;
	if (!e->asset_id || !e->url)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	char key[80];
	journal_key(key, sizeof(key), sha256);
	return a->journal ? fb_journal_note_run(a->journal, key, asset_id, url, err) : 0;
}

unsigned long fb_assets_uploaded(const struct fb_assets *a)
{
	return a->uploaded;
}
