/* dirreader: the image files of a folder as items, hashed in parallel chunks. */
/* realpath is outside strict POSIX.1-2008. */
#define _GNU_SOURCE
#include "dirreader.h"
#include "buf.h"
#include "hashfiles.h"
#include "statcache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK 64 /* files hashed together: enough to keep every core busy */

struct dirreader {
	char *root;
	char *input_id;
	struct fb_buf paths; /* "rel\0full\0" pairs, one after another */
	size_t *at;	     /* offset of each pair's rel in paths */
	size_t n, cap;
	size_t next; /* the next file to hand out */
	struct fb_hashfile hashed[CHUNK];
	size_t chunk_start, chunk_len;
	struct fb_statcache *cache; /* NULL: none */
	char *root_real;	    /* the folder resolved: the cache's keys start with it */
	struct fb_buf keypath;	    /* scratch */
};

static uint64_t key_of(struct dirreader *r, const char *rel)
{
	fb_buf_reset(&r->keypath);
	if (fb_buf_adds(&r->keypath, r->root_real) || fb_buf_addc(&r->keypath, '/') ||
	    fb_buf_adds(&r->keypath, rel))
		return 0; /* out of memory: no key, no hit */
	return fb_statcache_key(r->keypath.ptr);
}

static int known(void *ud, const char *rel, const struct stat *st)
{
	struct dirreader *r = ud;
	uint64_t key = key_of(r, rel);
	return key && fb_statcache_has(r->cache, key, st);
}

static int collect(void *ud, const char *rel, const char *full, const struct stat *st)
{
	struct dirreader *r = ud;
	(void)st;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		size_t *v = realloc(r->at, cap * sizeof(*v));
		if (!v)
			return FB_ENOMEM;
		r->at = v;
		r->cap = cap;
	}
	r->at[r->n] = r->paths.len;
	if (fb_buf_add(&r->paths, rel, strlen(rel) + 1) ||
	    fb_buf_add(&r->paths, full, strlen(full) + 1))
		return FB_ENOMEM;
	r->n++;
	return 0;
}

static const char *rel_of(const struct dirreader *r, size_t i)
{
	return r->paths.ptr + r->at[i];
}

static const char *full_of(const struct dirreader *r, size_t i)
{
	const char *rel = rel_of(r, i);
	return rel + strlen(rel) + 1;
}

static void dir_free(void *state)
{
	struct dirreader *r = state;
	if (!r)
		return;
	fb_buf_release(&r->paths);
	fb_buf_release(&r->keypath);
	free(r->root_real);
	free(r->at);
	free(r->root);
	free(r->input_id);
	free(r);
}

int fb_dirreader_open(void **state, const char *dir, const struct fb_dir_options *opts,
		      struct fb_dirwalk_stats *stats, struct fb_err *err)
{
	struct dirreader *r = calloc(1, sizeof(*r));
	if (!r || !(r->root = fb_strdup(dir)) ||
	    !(r->input_id = fb_strdup(opts && opts->input_id ? opts->input_id : "input_image"))) {
		dir_free(r);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	r->cache = opts ? opts->cache : NULL;
	r->root_real = r->cache ? realpath(dir, NULL) : NULL;
	if (!r->root_real)
		r->cache = NULL; /* a folder it cannot resolve is walked and fails below */
	struct fb_dirwalk_config cfg = {dir, opts ? opts->glob : NULL,
					opts ? opts->include_hidden : 0, r->cache ? known : NULL,
					r};
	int rc = fb_dirwalk(&cfg, collect, r, stats, err);
	if (rc) {
		if (rc == FB_ENOMEM)
			fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		dir_free(r);
		return rc;
	}
	*state = r;
	return 0;
}

/*
 * Hashes the chunk that holds file i, all of it at once, in parallel; the
 * files the stat cache knows unchanged are taken from it. Each file is
 * stat'ed before it is read, so a change while it is read shows next time.
 */
static int hash_chunk(struct dirreader *r, size_t i, struct fb_err *err)
{
	struct fb_hashfile todo[CHUNK];
	struct stat st[CHUNK];
	uint64_t key[CHUNK];
	size_t slot[CHUNK], ntodo = 0;
	r->chunk_start = i;
	r->chunk_len = r->n - i < CHUNK ? r->n - i : CHUNK;
	for (size_t k = 0; k < r->chunk_len; k++) {
		r->hashed[k] = (struct fb_hashfile){.path = full_of(r, i + k)};
		key[k] = r->cache ? key_of(r, rel_of(r, i + k)) : 0;
		if (key[k] && stat(r->hashed[k].path, &st[k]) != 0)
			key[k] = 0;
		if (key[k] && fb_statcache_get(r->cache, key[k], &st[k], r->hashed[k].sha256))
			continue;
		todo[ntodo] = r->hashed[k];
		slot[ntodo++] = k;
	}
	/* A file that cannot be read fails its own item; the chunk's others go on. */
	int rc = ntodo ? fb_hash_files(todo, ntodo, 0, err) : 0;
	for (size_t t = 0; t < ntodo; t++) {
		size_t k = slot[t];
		r->hashed[k] = todo[t];
		if (key[k] && !todo[t].err &&
		    fb_statcache_put(r->cache, key[k], &st[k], todo[t].sha256))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return rc == FB_EIO ? 0 : rc;
}

static int dir_next(void *state, struct fb_item *it, struct fb_err *err)
{
	struct dirreader *r = state;
	if (r->next >= r->n)
		return 0;
	size_t i = r->next++;
	if (i >= r->chunk_start + r->chunk_len || i < r->chunk_start) {
		int rc = hash_chunk(r, i, err);
		if (rc)
			return rc;
	}
	const struct fb_hashfile *h = &r->hashed[i - r->chunk_start];
	struct fb_buf src = FB_BUF_INIT;
	int rc = fb_buf_addf(&src, "%s/%s", r->root, rel_of(r, i));
	it->seq = i + 1;
	it->id = fb_strdup(rel_of(r, i));
	it->id_explicit = 0; /* the key is the content's: a renamed file is the same work */
	it->source = fb_buf_detach(&src, NULL);
	if (rc || !it->id || !it->source ||
	    fb_item_add_input(it, r->input_id, FB_INPUT_IMAGE_URL, full_of(r, i))) {
		fb_item_release(it);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	struct fb_input *in = &it->inputs[0];
	in->local = 1;
	if (h->err)
		return fb_item_set_invalid(it, r->input_id, "cannot read %s: %s", full_of(r, i),
					   strerror(h->err)) < 0
			   ? FB_ENOMEM
			   : 1;
	memcpy(in->sha256, h->sha256, sizeof(in->sha256));
	return 1;
}

const struct fb_reader_ops fb_dir_reader = {
    .name = "folder",
    .next = dir_next,
    .free = dir_free,
};
