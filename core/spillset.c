/* spillset: a hash set in memory, then in an unlinked file once it is big. */
#include "spillset.h"
#include "error.h"
#include "item.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 8 /* slots read at once: 64 bytes, one cache line of the page cache */

int fb_spillset_init(struct fb_spillset *s, const char *dir)
{
	const char *tmp = getenv("TMPDIR");
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dir = fb_strdup(dir ? dir : tmp && *tmp ? tmp : "/tmp");
	return s->dir ? 0 : FB_ENOMEM;
}

int fb_spillset_spilled(const struct fb_spillset *s)
{
	return s->fd >= 0;
}

/* A new empty table file of cap slots (sparse: zeros cost no disk), already unlinked. */
static int new_file(const struct fb_spillset *s, size_t cap)
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
	if (fd >= 0 && ftruncate(fd, (off_t)(cap * sizeof(uint64_t))) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The slot where h is, or the empty slot where it would go; -1 on a read error. */
static long long disk_find(int fd, size_t cap, uint64_t h, int *found)
{
	uint64_t blk[BLOCK];
	size_t i = (size_t)h & (cap - 1);
	for (;;) {
		size_t start = i & ~(size_t)(BLOCK - 1);
		ssize_t r;
		do
			r = pread(fd, blk, sizeof(blk), (off_t)(start * sizeof(uint64_t)));
		while (r < 0 && errno == EINTR);
		if (r != (ssize_t)sizeof(blk))
			return -1;
		for (size_t k = i - start; k < BLOCK; k++) {
			if (blk[k] == h || blk[k] == 0) {
				*found = blk[k] == h;
				return (long long)(start + k);
			}
		}
		i = (start + BLOCK) & (cap - 1);
	}
}

static int disk_put(int fd, size_t cap, uint64_t h)
{
	int found = 0;
	long long at = disk_find(fd, cap, h, &found);
	if (at < 0)
		return FB_EIO;
	if (found)
		return 0;
	ssize_t w;
	do
		w = pwrite(fd, &h, sizeof(h), (off_t)((size_t)at * sizeof(h)));
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)sizeof(h) ? 1 : FB_EIO;
}

/* Moves every entry of the current table (memory or file) into a new file of cap slots. */
static int rebuild(struct fb_spillset *s, size_t cap)
{
	int fd = new_file(s, cap), rc = 0;
	if (fd < 0)
		return FB_EIO;
	if (s->fd < 0) {
		for (size_t i = 0; !rc && i < s->cap; i++)
			if (s->mem[i] && disk_put(fd, cap, s->mem[i]) < 0)
				rc = FB_EIO;
	} else {
		uint64_t chunk[4096];
		for (size_t i = 0; !rc && i < s->cap; i += 4096) {
			ssize_t r =
			    pread(s->fd, chunk, sizeof(chunk), (off_t)(i * sizeof(uint64_t)));
			if (r != (ssize_t)sizeof(chunk))
				rc = FB_EIO;
			for (size_t k = 0; !rc && k < 4096; k++)
				if (chunk[k] && disk_put(fd, cap, chunk[k]) < 0)
					rc = FB_EIO;
		}
	}
	if (rc) {
		close(fd);
		return rc;
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	s->mem = NULL;
	s->fd = fd;
	s->cap = cap;
	return 0;
}

static size_t mem_slot(const uint64_t *t, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (t[i] && t[i] != h)
		i = (i + 1) & (cap - 1);
	return i;
}

int fb_spillset_has(struct fb_spillset *s, uint64_t h)
{
	if (s->fd < 0)
		return s->cap && s->mem[mem_slot(s->mem, s->cap, h)] == h;
	int found = 0;
	return disk_find(s->fd, s->cap, h, &found) < 0 ? FB_EIO : found;
}

int fb_spillset_add(struct fb_spillset *s, uint64_t h)
{
	if ((s->len + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		if (s->fd >= 0 || cap > FB_SPILLSET_MEM_SLOTS) {
			/* Four times over: a rebuild rereads the table, so it should be rare. */
			int rc = rebuild(s, s->fd >= 0 ? s->cap * 4 : cap * 4);
			if (rc)
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
	if (s->fd >= 0) {
		int rc = disk_put(s->fd, s->cap, h);
		s->len += rc == 1;
		return rc;
	}
	size_t i = mem_slot(s->mem, s->cap, h);
	if (s->mem[i] == h)
		return 0;
	s->mem[i] = h;
	s->len++;
	return 1;
}

void fb_spillset_release(struct fb_spillset *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s->dir);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
