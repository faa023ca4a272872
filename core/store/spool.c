/* spool: one append-only file of outputs and of the lines that name them; no index in memory. */
#define _GNU_SOURCE /* fallocate */
#include "spool.h"
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WBUF_MAX (256 * 1024) /* records gathered before a write(2) */
#define WIN_SIZE (64 * 1024)  /* the reading window of scans */
#define HEAD_MAX 96	      /* the longest header, newline included */

struct fb_spool {
	char *path;
	int fd;
	uint64_t flushed;   /* bytes in the file */
	uint64_t next_line; /* the next line record's ordinal */
	int dirty;	    /* written since the last fdatasync */
	int failed;
	struct fb_err failure;
	struct fb_buf wbuf; /* records not yet written, starting at offset flushed */
	char *win;	    /* reading window: bytes [win_off, win_off + win_len) of the file */
	uint64_t win_off;
	size_t win_len;
};

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int sha_ok(const char *hex)
{
	for (size_t i = 0; i < 64; i++)
		if (nibble(hex[i]) < 0)
			return 0;
	return 1;
}

static int io_err(struct fb_spool *s, struct fb_err *err, const char *what, int e)
{
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot %s: %s", s->path, what,
			  e ? strerror(e) : "it ends early");
}

static int full_pread(int fd, void *p, size_t n, uint64_t off, size_t *got)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

/* Up to HEAD_MAX bytes at pos through the window; *n gets how many there are. */
static const char *peek(struct fb_spool *s, uint64_t pos, size_t *n)
{
	if (pos < s->win_off || pos + HEAD_MAX > s->win_off + s->win_len) {
		size_t got;
		if (full_pread(s->fd, s->win, WIN_SIZE, pos, &got))
			return NULL;
		s->win_off = pos;
		s->win_len = got;
	}
	*n = (size_t)(s->win_off + s->win_len - pos);
	if (*n > HEAD_MAX)
		*n = HEAD_MAX;
	return s->win + (pos - s->win_off);
}

/* Reads a decimal number ending in stop; NULL if there is none. */
static const char *number(const char *p, const char *end, char stop, uint64_t *v)
{
	const char *start = p;
	*v = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - start < 19)
		*v = *v * 10 + (uint64_t)(*p++ - '0');
	return p > start && p < end && *p == stop ? p + 1 : NULL;
}

/*
 * The record at pos: 1 with its header length, body length and kind
 * ('L' or 'D', with a line's ordinal), 0 when none whole starts there.
 */
static int record_at(struct fb_spool *s, uint64_t pos, uint64_t size, size_t *hl, uint64_t *len,
		     char *kind, uint64_t *ordinal)
{
	size_t n;
	const char *h = peek(s, pos, &n), *end = h + n, *p;
	if (!h || !n)
		return 0;
	if (h[0] == 'L' && n > 2 && h[1] == ' ') {
		*kind = 'L';
		p = number(h + 2, end, ' ', ordinal);
	} else if (n > 65 && sha_ok(h) && h[64] == ' ') {
		*kind = 'D';
		p = h + 65;
	} else {
		return 0;
	}
	if (!p || !(p = number(p, end, '\n', len)))
		return 0;
	*hl = (size_t)(p - h);
	return pos + *hl + *len <= size;
}

/*
 * The first byte at or after pos that is not zero: archived bytes at the
 * front are punched out (fb_spool_forget) and read as zeros, and no record
 * starts with one.
 */
static uint64_t skip_zeros(struct fb_spool *s, uint64_t pos, uint64_t size)
{
	while (pos < size) {
		size_t n;
		const char *h = peek(s, pos, &n);
		if (!h || !n || *h)
			return pos;
		/* The rest of the window, a byte at a time: zeros are rare past the front. */
		uint64_t end = s->win_off + s->win_len;
		const char *w = s->win + (pos - s->win_off);
		while (pos < end && pos < size && !*w) {
			pos++;
			w++;
		}
		if (pos < end)
			return pos;
#ifdef SEEK_DATA
		off_t d = lseek(s->fd, (off_t)pos, SEEK_DATA);
		if (d > (off_t)pos)
			pos = (uint64_t)d;
#endif
	}
	return pos;
}

/*
 * Keeps whole records up to the last line record below keep and cuts the
 * rest. A spool with no line record at all is one an earlier version wrote
 * (outputs only): its whole records are all kept, for the collector to
 * name (see fb_spool_next_output).
 */
static int scan(struct fb_spool *s, uint64_t keep, uint64_t base, uint64_t *lines,
		struct fb_err *err)
{
	struct stat st;
	if (fstat(s->fd, &st) != 0)
		return io_err(s, err, "read it", errno);
	uint64_t size = (uint64_t)st.st_size, pos = 0, cut = 0;
	size_t hl;
	uint64_t len, ord = 0, next = 0;
	char kind;
	int any_line = 0;
	while ((pos = skip_zeros(s, pos, size)) < size &&
	       record_at(s, pos, size, &hl, &len, &kind, &ord)) {
		any_line |= kind == 'L';
		if (kind == 'L' && ord >= keep)
			break; /* its results line never reached the record */
		pos += hl + len;
		if (kind == 'L') {
			cut = pos;
			next = ord + 1;
		}
	}
	if (!any_line)
		cut = pos;
	if (size != cut && ftruncate(s->fd, (off_t)cut) != 0)
		return io_err(s, err, "cut what a crash left", errno);
	s->flushed = cut;
	s->dirty = size != cut;
	/* Lines in finished volumes may have left the spool (fb_spool_empty). */
	s->next_line = next > base ? next : base;
	s->win_len = 0;
	if (lines)
		*lines = s->next_line;
	return 0;
}

int fb_spool_open(struct fb_spool **out, const char *path, int fresh, uint64_t keep_lines,
		  uint64_t base, uint64_t *lines, struct fb_err *err)
{
	*out = NULL;
	struct fb_spool *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)) || !(s->win = malloc(WIN_SIZE))) {
		if (s)
			free(s->path);
		free(s);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	s->fd = fb_safe_open(path, O_RDWR | O_CREAT | O_APPEND | (fresh ? O_TRUNC : 0), 0644);
	int rc = s->fd < 0 ? fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
					fb_safe_strerror(errno))
			   : scan(s, fresh ? 0 : keep_lines, fresh ? 0 : base, lines, err);
	if (rc) {
		fb_spool_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int failed(struct fb_spool *s, struct fb_err *err)
{
	if (err)
		*err = s->failure;
	return FB_EIO;
}

/* Writes iov in full; a short write is taken back so the file ends on a whole record. */
static int write_all(struct fb_spool *s, struct iovec *iov, int n, struct fb_err *err)
{
	size_t want = 0, done = 0;
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	while (done < want) {
		ssize_t w = writev(s->fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;
			if (ftruncate(s->fd, (off_t)s->flushed) != 0)
				e = errno;
			io_err(s, &s->failure, "keep an output", e);
			s->failed = 1;
			return failed(s, err);
		}
		done += (size_t)w;
		while (n && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
	s->flushed += want;
	s->dirty = 1;
	return 0;
}

int fb_spool_flush(struct fb_spool *s, struct fb_err *err)
{
	if (s->failed)
		return failed(s, err);
	if (!s->wbuf.len)
		return 0;
	struct iovec iov[1] = {{s->wbuf.ptr, s->wbuf.len}};
	int rc = write_all(s, iov, 1, err);
	fb_buf_reset(&s->wbuf);
	return rc;
}

/* Appends a record (header, then body), through the buffer unless the body is large. */
static int put(struct fb_spool *s, const char *head, size_t hl, const void *body, size_t len,
	       uint64_t *off, struct fb_err *err)
{
	int rc;
	if (s->failed)
		return failed(s, err);
	if (s->wbuf.len + hl + len > WBUF_MAX && (rc = fb_spool_flush(s, err)))
		return rc;
	if (hl + len > WBUF_MAX / 2) {
		/* Written past the buffer: what the buffer holds must reach the file first. */
		if (s->wbuf.len && (rc = fb_spool_flush(s, err)))
			return rc;
		*off = s->flushed + hl;
		struct iovec iov[2] = {{(void *)head, hl}, {(void *)body, len}};
		return write_all(s, iov, 2, err);
	}
	*off = s->flushed + s->wbuf.len + hl;
	if (fb_buf_add(&s->wbuf, head, hl) || fb_buf_add(&s->wbuf, body, len)) {
		s->wbuf.len = (size_t)(*off - hl - s->flushed);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return 0;
}

int fb_spool_put(struct fb_spool *s, const char *sha256, const void *data, size_t len,
		 uint64_t *off, struct fb_err *err)
{
	char head[HEAD_MAX];
	if (!sha256 || strlen(sha256) != 64 || !sha_ok(sha256))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "not a sha256: %.64s",
				  sha256 ? sha256 : "(null)");
	int hl = snprintf(head, sizeof(head), "%s %zu\n", sha256, len);
	return put(s, head, (size_t)hl, data, len, off, err);
}

int fb_spool_put_fd(struct fb_spool *s, const char *sha256, int fd, uint64_t len, uint64_t *off,
		    struct fb_err *err)
{
	char head[HEAD_MAX];
	if (!sha256 || strlen(sha256) != 64 || !sha_ok(sha256))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "not a sha256: %.64s",
				  sha256 ? sha256 : "(null)");
	int hl = snprintf(head, sizeof(head), "%s %" PRIu64 "\n", sha256, len);
	size_t chunk = len < WBUF_MAX ? (size_t)len : WBUF_MAX, got = 0;
	char *buf = malloc(chunk ? chunk : 1);
	if (!buf)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	int rc = 0;
	if (len <= WBUF_MAX / 2) {
		/* Small: through the buffer, like an output held in memory. */
		if (full_pread(fd, buf, (size_t)len, 0, &got) || got != len)
			rc =
			    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read a download: %s",
				       s->path, got != len ? "it ends early" : strerror(errno));
		else
			rc = put(s, head, (size_t)hl, buf, (size_t)len, off, err);
		free(buf);
		return rc;
	}
	if (s->failed || (rc = fb_spool_flush(s, err))) {
		free(buf);
		return s->failed ? failed(s, err) : rc;
	}
	uint64_t start = s->flushed;
	*off = start + (uint64_t)hl;
	struct iovec iov[1] = {{head, (size_t)hl}};
	rc = write_all(s, iov, 1, err);
	for (uint64_t at = 0; !rc && at < len; at += got) {
		size_t want = len - at < chunk ? (size_t)(len - at) : chunk;
		if (full_pread(fd, buf, want, at, &got) || got != want) {
			/* The record is taken back whole: the file ends on a whole record again. */
			if (ftruncate(s->fd, (off_t)start) == 0)
				s->flushed = start;
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read a download",
					s->path);
			break;
		}
		struct iovec b[1] = {{buf, got}};
		rc = write_all(s, b, 1, err);
	}
	free(buf);
	return rc;
}

int fb_spool_put_line(struct fb_spool *s, const char *entries, size_t len, struct fb_err *err)
{
	char head[HEAD_MAX];
	uint64_t off;
	int hl = snprintf(head, sizeof(head), "L %" PRIu64 " %zu\n", s->next_line, len);
	int rc = put(s, head, (size_t)hl, entries, len, &off, err);
	s->next_line += !rc;
	return rc;
}

int fb_spool_read(struct fb_spool *s, uint64_t off, uint64_t len, struct fb_buf *out,
		  struct fb_err *err)
{
	size_t got;
	int rc = fb_spool_flush(s, err);
	fb_buf_reset(out);
	if (rc)
		return rc;
	if (fb_buf_grow(out, len))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	/* The archive reads the file nearly in order: small reads go through the window. */
	if (len <= WIN_SIZE / 2 && (off < s->win_off || off + len > s->win_off + s->win_len)) {
		if (full_pread(s->fd, s->win, WIN_SIZE, off, &got))
			return io_err(s, err, "read it", errno);
		s->win_off = off;
		s->win_len = got;
	}
	if (off >= s->win_off && off + len <= s->win_off + s->win_len) {
		memcpy(out->ptr, s->win + (off - s->win_off), len);
		got = len;
	} else if (full_pread(s->fd, out->ptr, len, off, &got))
		return io_err(s, err, "read it", errno);
	if (got != len)
		return io_err(s, err, "read an output", 0);
	out->len = len;
	out->ptr[len] = '\0';
	return 0;
}

int fb_spool_next_line(struct fb_spool *s, uint64_t *pos, struct fb_buf *out, uint64_t *ordinal,
		       struct fb_err *err)
{
	size_t hl;
	uint64_t len, ord;
	char kind;
	int rc = fb_spool_flush(s, err);
	if (rc)
		return rc;
	while ((*pos = skip_zeros(s, *pos, s->flushed)) < s->flushed) {
		if (!record_at(s, *pos, s->flushed, &hl, &len, &kind, &ord))
			return io_err(s, err, "read a record", 0);
		uint64_t body = *pos + hl;
		*pos = body + len;
		if (kind == 'L') {
			if (ordinal)
				*ordinal = ord;
			return (rc = fb_spool_read(s, body, len, out, err)) ? rc : 1;
		}
	}
	return 0;
}

int fb_spool_next_output(struct fb_spool *s, uint64_t *pos, char sha256[65], uint64_t *off,
			 uint64_t *len, struct fb_err *err)
{
	size_t hl;
	uint64_t ord;
	char kind;
	int rc = fb_spool_flush(s, err);
	if (rc)
		return rc;
	while ((*pos = skip_zeros(s, *pos, s->flushed)) < s->flushed) {
		size_t n;
		if (!record_at(s, *pos, s->flushed, &hl, len, &kind, &ord))
			return io_err(s, err, "read a record", 0);
		if (kind == 'D') {
			const char *h = peek(s, *pos, &n); /* in the window record_at read */
			if (!h)
				return io_err(s, err, "read a record", errno);
			memcpy(sha256, h, 64);
			sha256[64] = '\0';
		}
		*off = *pos + hl;
		*pos = *off + *len;
		if (kind == 'D')
			return 1;
	}
	return 0;
}

int fb_spool_sync(struct fb_spool *s, struct fb_err *err)
{
	int rc = fb_spool_flush(s, err);
	if (rc || !s->dirty)
		return rc;
	s->dirty = 0;
	if (fdatasync(s->fd) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot flush: %s", s->path,
				  strerror(errno));
	return 0;
}

uint64_t fb_spool_header_len(uint64_t len)
{
	char d[24];
	return 66 + (uint64_t)snprintf(d, sizeof(d), "%" PRIu64, len);
}

void fb_spool_forget(struct fb_spool *s, uint64_t off, uint64_t len)
{
#ifdef FALLOC_FL_PUNCH_HOLE
	if (len && off + len <= s->flushed)
		(void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				(off_t)len);
#else
	(void)s;
	(void)off;
	(void)len;
#endif
}

int fb_spool_empty(struct fb_spool *s, struct fb_err *err)
{
	int rc = fb_spool_flush(s, err);
	if (rc)
		return rc;
	if (ftruncate(s->fd, 0) != 0)
		return io_err(s, err, "empty it", errno);
	s->flushed = 0;
	s->win_len = 0;
	s->dirty = 1;
	return 0;
}

void fb_spool_close(struct fb_spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	fb_buf_release(&s->wbuf);
	free(s->win);
	free(s->path);
	free(s);
}
