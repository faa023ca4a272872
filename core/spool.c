/* spool: one append-only file of content-addressed outputs, with an index in memory. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct entry {
	uint8_t sha[32]; /* all zero: an empty slot */
	uint64_t off;	 /* of the bytes, past the header */
	uint64_t len;
};

struct fb_spool {
	char *path;
	int fd;
	uint64_t end; /* where the next record goes */
	int dirty;
	struct entry *slots;
	size_t n, cap;
};

static int nibble(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* 64 hex digits to 32 bytes; sscanf cost more than the rest of a put. */
static int unhex(const char *hex, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[64] == '\0' || hex[64] == ' ' ? 0 : -1;
}

static size_t slot(const struct fb_spool *s, const uint8_t sha[32])
{
	uint64_t h;
	memcpy(&h, sha, sizeof(h)); /* a digest: its first bytes are as good as any hash */
	size_t i = (size_t)h & (s->cap - 1);
	while (s->slots[i].len + s->slots[i].off && memcmp(s->slots[i].sha, sha, 32))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static const struct entry *find(const struct fb_spool *s, const uint8_t sha[32])
{
	if (!s->cap)
		return NULL;
	const struct entry *e = &s->slots[slot(s, sha)];
	return e->len + e->off && !memcmp(e->sha, sha, 32) ? e : NULL;
}

static int add(struct fb_spool *s, const uint8_t sha[32], uint64_t off, uint64_t len)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct entry *old = s->slots;
		size_t oldcap = s->cap;
		s->slots = calloc(cap, sizeof(*s->slots));
		if (!s->slots) {
			s->slots = old;
			return FB_ENOMEM;
		}
		s->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].len + old[i].off)
				s->slots[slot(s, old[i].sha)] = old[i];
		free(old);
	}
	struct entry *e = &s->slots[slot(s, sha)];
	if (!(e->len + e->off))
		s->n++;
	memcpy(e->sha, sha, 32);
	e->off = off;
	e->len = len;
	return 0;
}

/* Indexes every whole record; a torn one ends the file. */
static int scan(struct fb_spool *s, struct fb_err *err)
{
	FILE *f = fdopen(dup(s->fd), "r");
	if (!f)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", s->path, strerror(errno));
	char head[128];
	uint64_t pos = 0;
	int rc = 0;
	struct stat st;
	fstat(s->fd, &st);
	while (!rc && fgets(head, sizeof(head), f)) {
		size_t hl = strlen(head);
		unsigned long long len;
		uint8_t sha[32];
		if (hl < 67 || head[hl - 1] != '\n' || unhex(head, sha) ||
		    sscanf(head + 65, "%llu", &len) != 1 || pos + hl + len > (uint64_t)st.st_size)
			break; /* torn or foreign: nothing after it is trusted */
		rc = add(s, sha, pos + hl, len);
		pos += hl + len;
		if (fseeko(f, (off_t)pos, SEEK_SET))
			break;
	}
	fclose(f);
	if (rc)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if ((uint64_t)st.st_size != pos && ftruncate(s->fd, (off_t)pos))
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot cut a torn record: %s",
				  s->path, strerror(errno));
	s->end = pos;
	return 0;
}

int fb_spool_open(struct fb_spool **out, const char *path, int fresh, struct fb_err *err)
{
	struct fb_spool *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	s->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0644);
	int rc = s->fd < 0 ? fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, strerror(errno))
			   : scan(s, err);
	if (rc) {
		fb_spool_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int fb_spool_put(struct fb_spool *s, const char *sha256, const void *data, size_t len,
		 struct fb_err *err)
{
	uint8_t sha[32];
	char head[96];
	if (unhex(sha256, sha))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "not a sha256: %.64s", sha256);
	if (find(s, sha))
		return 0;
	int hl = snprintf(head, sizeof(head), "%.64s %zu\n", sha256, len);
	struct iovec iov[2] = {{head, (size_t)hl}, {(void *)data, len}};
	size_t want = (size_t)hl + len;
	ssize_t w;
	do
		w = writev(s->fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)want) {
		int e = w < 0 ? errno : ENOSPC;
		/* A short record would end the spool for every later reader: take it back. */
		if (ftruncate(s->fd, (off_t)s->end) != 0)
			e = errno;
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot keep an output: %s",
				  s->path, strerror(e));
	}
	int rc = add(s, sha, s->end + (uint64_t)hl, len);
	s->end += want;
	s->dirty = 1;
	return rc ? fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory") : 0;
}

int fb_spool_get(struct fb_spool *s, const char *sha256, struct fb_buf *out, struct fb_err *err)
{
	uint8_t sha[32];
	const struct entry *e = unhex(sha256, sha) ? NULL : find(s, sha);
	fb_buf_reset(out);
	if (!e)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "%s: no output %.64s", s->path,
				  sha256);
	if (fb_buf_grow(out, e->len))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	uint64_t done = 0;
	while (done < e->len) {
		ssize_t r = pread(s->fd, out->ptr + done, e->len - done, (off_t)(e->off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", s->path,
					  r < 0 ? strerror(errno) : "ends early");
		done += (uint64_t)r;
	}
	out->len = e->len;
	out->ptr[out->len] = '\0';
	return 0;
}

int fb_spool_sync(struct fb_spool *s, struct fb_err *err)
{
	if (!s->dirty)
		return 0;
	s->dirty = 0;
	if (fdatasync(s->fd) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot flush: %s", s->path,
				  strerror(errno));
	return 0;
}

void fb_spool_close(struct fb_spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->slots);
	free(s->path);
	free(s);
}
