/* statcache: local files' hashes by (path, size, mtime, inode), in an open-addressed table. */
#include "statcache.h"
#include "safeopen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct entry {
	uint64_t key; /* 0: empty slot */
	uint64_t ino, size;
	int64_t mtime_ns;
	unsigned char sha[32];
	unsigned char seen;
};

struct fb_statcache {
	char *path;
	int64_t now_ns;
	struct entry *slots;
	size_t len, cap;
	uint64_t hits, puts;
	int changed;
};

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

uint64_t fb_statcache_key(const char *resolved)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)resolved; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1; /* 0 marks an empty slot */
}

static struct entry *slot(const struct fb_statcache *c, uint64_t key)
{
	size_t i = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (c->cap - 1);
	while (c->slots[i].key && c->slots[i].key != key)
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

static int grow(struct fb_statcache *c)
{
	if (c->cap && (c->len + 1) * 2 <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : 1024;
	struct entry *old = c->slots;
	size_t oldcap = c->cap;
	if (!(c->slots = calloc(cap, sizeof(*c->slots)))) {
		c->slots = old;
		return FB_ENOMEM;
	}
	c->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*slot(c, old[i].key) = old[i];
	free(old);
	return 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char ch = s[2 * i + (size_t)k];
			unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
				     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
							      : 16;
			if (d > 15)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static void add_line(struct fb_statcache *c, const char *line)
{
	unsigned long long key, ino, size;
	long long mt;
	char sha[65];
	struct entry e = {0};
	if (sscanf(line, "%16llx %llu %llu %lld %64s", &key, &ino, &size, &mt, sha) != 5 ||
	    strlen(sha) != 64 || unhex(sha, e.sha, 32) || !key)
		return;
	if (grow(c))
		return;
	e.key = key;
	e.ino = ino;
	e.size = size;
	e.mtime_ns = mt;
	struct entry *s = slot(c, key);
	c->len += !s->key;
	*s = e;
}

int fb_statcache_open(struct fb_statcache **out, const char *path, int64_t now_ns,
		      struct fb_err *err)
{
	struct fb_statcache *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c || !(c->path = strdup(path)) || grow(c)) {
		fb_statcache_free(c);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	c->now_ns = now_ns;
	FILE *f = fb_safe_fopen(path, "r");
	if (!f && errno != ENOENT) {
		int e = errno;
		fb_statcache_free(c);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, fb_safe_strerror(e));
	}
	char line[256];
	while (f && fgets(line, sizeof(line), f))
		add_line(c, line);
	if (f)
		fclose(f);
	*out = c;
	return 0;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static struct entry *match(const struct fb_statcache *c, uint64_t key, const struct stat *st)
{
	struct entry *e = c ? slot(c, key) : NULL;
	if (!e || !e->key || e->ino != (uint64_t)st->st_ino || e->size != (uint64_t)st->st_size ||
	    e->mtime_ns != mtime_ns(st))
		return NULL;
	return e;
}

int fb_statcache_has(const struct fb_statcache *c, uint64_t key, const struct stat *st)
{
	return match(c, key, st) != NULL;
}

int fb_statcache_get(struct fb_statcache *c, uint64_t key, const struct stat *st, char *sha256)
{
	struct entry *e = match(c, key, st);
	if (!e)
		return 0;
	e->seen = 1;
	c->hits++;
	hex(e->sha, 32, sha256);
	return 1;
}

int fb_statcache_put(struct fb_statcache *c, uint64_t key, const struct stat *st,
		     const char *sha256)
{
	if (!c || strlen(sha256) != 64)
		return 0;
	if (mtime_ns(st) > c->now_ns - FB_STATCACHE_RACY_NS)
		return 0; /* too fresh to trust its mtime */
	if (grow(c))
		return FB_ENOMEM;
	struct entry *e = slot(c, key);
	c->len += !e->key;
	e->key = key;
	e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_ns = mtime_ns(st);
	e->seen = 1;
	unhex(sha256, e->sha, 32);
	c->puts++;
	c->changed = 1;
	return 0;
}

void fb_statcache_counts(const struct fb_statcache *c, uint64_t *hits, uint64_t *puts)
{
	*hits = c ? c->hits : 0;
	*puts = c ? c->puts : 0;
}

int fb_statcache_save(struct fb_statcache *c, int prune, struct fb_err *err)
{
	if (!c)
		return 0;
	size_t unseen = 0;
	for (size_t i = 0; i < c->cap; i++)
		unseen += c->slots[i].key && !c->slots[i].seen;
	if (!c->changed && !(prune && unseen))
		return 0;
	size_t tlen = strlen(c->path) + 5;
	char *tmp = malloc(tlen);
	if (!tmp)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	snprintf(tmp, tlen, "%s.tmp", c->path);
	FILE *f = fb_safe_fopen(tmp, "w");
	int ok = f != NULL;
	for (size_t i = 0; ok && i < c->cap; i++) {
		const struct entry *e = &c->slots[i];
		char sha[65];
		if (!e->key || (prune && !e->seen))
			continue;
		hex(e->sha, 32, sha);
		ok = fprintf(f, "%016llx %llu %llu %lld %s\n", (unsigned long long)e->key,
			     (unsigned long long)e->ino, (unsigned long long)e->size,
			     (long long)e->mtime_ns, sha) > 0;
	}
	if (f && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, c->path) != 0)
		ok = 0;
	int rc = ok ? 0
		    : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot write it: %s", c->path,
				 fb_safe_strerror(errno));
	if (!ok)
		unlink(tmp);
	free(tmp);
	c->changed = 0;
	return rc;
}

void fb_statcache_free(struct fb_statcache *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->path);
	free(c);
}
