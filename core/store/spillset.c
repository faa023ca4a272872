/* spillset: a hash set in memory, sorted runs on disk behind a Bloom filter once it is big. */
#include "spillset.h"
#include "error.h"
#include "item.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK	   512		     /* hashes in a run's block: 4 KiB, one pread */
#define BLOOM_BITS ((size_t)1 << 24) /* 2 MiB: 2% false positives at 2M hashes */
#define BLOOM_K	   6
#define STREAM	   8192 /* hashes a merge reads or writes at once */

int fb_spillset_init(struct fb_spillset *s, const char *dir)
{
	const char *tmp = getenv("TMPDIR");
	memset(s, 0, sizeof(*s));
	s->dir = fb_strdup(dir ? dir : tmp && *tmp ? tmp : "/tmp");
	return s->dir ? 0 : FB_ENOMEM;
}

int fb_spillset_spilled(const struct fb_spillset *s)
{
	return s->nruns > 0;
}

static size_t mem_slot(const uint64_t *t, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (t[i] && t[i] != h)
		i = (i + 1) & (cap - 1);
	return i;
}

/* The k bit positions come from the hash itself: it is mixed already. */
static int bloom(uint8_t *b, uint64_t h, int set)
{
	uint64_t step = ((h >> 32) | (h << 32)) * 0x9e3779b97f4a7c15ull | 1;
	for (int i = 0; i < BLOOM_K; i++, h += step) {
		size_t bit = (size_t)h & (BLOOM_BITS - 1);
		if (set)
			b[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		else if (!(b[bit >> 3] & (1u << (bit & 7))))
			return 0;
	}
	return 1;
}

static int new_file(const struct fb_spillset *s)
{
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		size_t n = strlen(s->dir) + 32;
		char *p = malloc(n);
		if (!p)
			return -1;
		snprintf(p, n, "%s/.fbset.XXXXXX", s->dir);
		fd = mkstemp(p);
		if (fd >= 0)
			unlink(p);
		free(p);
	}
	return fd;
}

static int io_all(int fd, void *p, size_t n, uint64_t off, int wr)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = wr ? pwrite(fd, (char *)p + done, n - done, (off_t)(off + done))
			       : pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return FB_EIO;
		done += (size_t)r;
	}
	return 0;
}

static int run_has(const struct fb_spillset_run *r, uint64_t h)
{
	uint64_t blk[BLOCK];
	size_t nb = (r->n + BLOCK - 1) / BLOCK, lo = 0, hi = nb;
	if (!r->n || h < r->sparse[0])
		return 0;
	while (hi - lo > 1) { /* the last block starting at or below h */
		size_t mid = (lo + hi) / 2;
		if (r->sparse[mid] <= h)
			lo = mid;
		else
			hi = mid;
	}
	size_t start = lo * BLOCK, n = r->n - start < BLOCK ? r->n - start : BLOCK;
	if (io_all(r->fd, blk, n * sizeof(uint64_t), start * sizeof(uint64_t), 0))
		return FB_EIO;
	size_t a = 0, b = n;
	while (a < b) {
		size_t mid = (a + b) / 2;
		if (blk[mid] < h)
			a = mid + 1;
		else
			b = mid;
	}
	return a < n && blk[a] == h;
}

/* Appends sorted hashes to a run being written (through buf, flushed at STREAM). */
struct writer {
	struct fb_spillset_run run;
	uint64_t *buf;
	size_t nbuf;
	size_t sparse_cap;
};

static int w_put(struct writer *w, uint64_t h)
{
	if (w->run.n % BLOCK == 0) {
		size_t k = w->run.n / BLOCK;
		if (k == w->sparse_cap) {
			size_t cap = w->sparse_cap ? w->sparse_cap * 2 : 64;
			uint64_t *v = realloc(w->run.sparse, cap * sizeof(*v));
			if (!v)
				return FB_ENOMEM;
			w->run.sparse = v;
			w->sparse_cap = cap;
		}
		w->run.sparse[k] = h;
	}
	w->buf[w->nbuf++] = h;
	if (w->nbuf == STREAM) {
		if (io_all(w->run.fd, w->buf, STREAM * sizeof(uint64_t),
			   (w->run.n + 1 - STREAM) * sizeof(uint64_t), 1))
			return FB_EIO;
		w->nbuf = 0;
	}
	w->run.n++;
	return 0;
}

static int w_end(struct writer *w)
{
	if (w->nbuf && io_all(w->run.fd, w->buf, w->nbuf * sizeof(uint64_t),
			      (w->run.n - w->nbuf) * sizeof(uint64_t), 1))
		return FB_EIO;
	w->nbuf = 0;
	return 0;
}

static void run_free(struct fb_spillset_run *r)
{
	if (r->fd > 0)
		close(r->fd);
	free(r->sparse);
	memset(r, 0, sizeof(*r));
}

static int w_begin(struct fb_spillset *s, struct writer *w, uint64_t *buf)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->run.fd = new_file(s);
	return w->run.fd < 0 ? FB_EIO : 0;
}

/* Reads a run in order, STREAM hashes at a time. */
struct reader {
	const struct fb_spillset_run *run;
	uint64_t *buf;
	size_t pos, have, at;
};

static int r_next(struct reader *r, uint64_t *h)
{
	if (r->at == r->have) {
		size_t n = r->run->n - r->pos < STREAM ? r->run->n - r->pos : STREAM;
		if (!n)
			return 0;
		if (io_all(r->run->fd, r->buf, n * sizeof(uint64_t), r->pos * sizeof(uint64_t), 0))
			return FB_EIO;
		r->pos += n;
		r->have = n;
		r->at = 0;
	}
	*h = r->buf[r->at++];
	return 1;
}

/* Merges the last two runs into one. */
static int merge_last(struct fb_spillset *s)
{
	uint64_t *bufs = malloc(3 * STREAM * sizeof(uint64_t));
	struct writer w;
	int rc = bufs ? w_begin(s, &w, bufs) : FB_ENOMEM;
	if (rc) {
		free(bufs);
		return rc;
	}
	struct reader a = {&s->runs[s->nruns - 2], bufs + STREAM, 0, 0, 0};
	struct reader b = {&s->runs[s->nruns - 1], bufs + 2 * STREAM, 0, 0, 0};
	uint64_t ha = 0, hb = 0;
	int ma = r_next(&a, &ha), mb = r_next(&b, &hb);
	while (!rc && ma >= 0 && mb >= 0 && (ma || mb)) {
		if (ma && (!mb || ha < hb)) {
			rc = w_put(&w, ha);
			ma = r_next(&a, &ha);
		} else {
			rc = w_put(&w, hb);
			mb = r_next(&b, &hb);
		}
	}
	if (!rc && (ma < 0 || mb < 0))
		rc = FB_EIO;
	if (!rc)
		rc = w_end(&w);
	free(bufs);
	if (rc) {
		run_free(&w.run);
		return rc;
	}
	run_free(&s->runs[s->nruns - 2]);
	run_free(&s->runs[s->nruns - 1]);
	s->runs[s->nruns - 2] = w.run;
	s->nruns--;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Writes the memory table out as a sorted run and empties it. */
static int spill(struct fb_spillset *s)
{
	if (s->nruns == FB_SPILLSET_MAX_RUNS)
		return FB_ENOMEM;
	if (!s->bloom && !(s->bloom = calloc(BLOOM_BITS / 8, 1)))
		return FB_ENOMEM;
	uint64_t *v = malloc(s->mlen * sizeof(*v) + STREAM * sizeof(uint64_t));
	if (!v)
		return FB_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->cap; i++)
		if (s->mem[i])
			v[n++] = s->mem[i];
	qsort(v, n, sizeof(*v), cmp_u64);
	struct writer w;
	int rc = w_begin(s, &w, v + n);
	for (size_t i = 0; !rc && i < n; i++)
		rc = w_put(&w, v[i]);
	if (!rc)
		rc = w_end(&w);
	free(v);
	if (rc) {
		run_free(&w.run);
		return rc;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->mem[i])
			bloom(s->bloom, s->mem[i], 1);
	s->runs[s->nruns++] = w.run;
	memset(s->mem, 0, s->cap * sizeof(*s->mem));
	s->mlen = 0;
	/* Like a binary counter: a run as large as the one before joins it. */
	while (!rc && s->nruns >= 2 && s->runs[s->nruns - 2].n <= s->runs[s->nruns - 1].n)
		rc = merge_last(s);
	return rc == FB_ENOMEM ? 0 : rc; /* an unmerged run is only slower */
}

int fb_spillset_has(struct fb_spillset *s, uint64_t h)
{
	if (s->cap && s->mem[mem_slot(s->mem, s->cap, h)] == h)
		return 1;
	if (!s->bloom || !bloom(s->bloom, h, 0))
		return 0;
	for (int i = s->nruns - 1; i >= 0; i--) {
		int rc = run_has(&s->runs[i], h);
		if (rc)
			return rc;
	}
	return 0;
}

int fb_spillset_add(struct fb_spillset *s, uint64_t h)
{
	int rc = fb_spillset_has(s, h);
	if (rc)
		return rc < 0 ? rc : 0;
	if ((s->mlen + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		if (cap > FB_SPILLSET_MEM_SLOTS) {
			if ((rc = spill(s)))
				return rc;
		} else {
			uint64_t *t = calloc(cap, sizeof(*t));
			if (!t)
				return FB_ENOMEM;
			for (size_t i = 0; i < s->cap; i++)
				if (s->mem[i])
					t[mem_slot(t, cap, s->mem[i])] = s->mem[i];
			free(s->mem);
			s->mem = t;
			s->cap = cap;
		}
	}
	s->mem[mem_slot(s->mem, s->cap, h)] = h;
	s->mlen++;
	s->len++;
	if (s->bloom)
		bloom(s->bloom, h, 1);
	return 1;
}

void fb_spillset_release(struct fb_spillset *s)
{
	for (int i = 0; i < s->nruns; i++)
		run_free(&s->runs[i]);
	free(s->mem);
	free(s->bloom);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}
