/*
 * jcompact: the journal rewritten without what no later invocation needs,
 * so a stream that runs for weeks keeps a journal the size of its recent
 * past. Kept: the records of keys an earlier invocation left unfinished,
 * of keys in flight, and every record younger than the longest
 * idempotency window the contract gives (24 h), within which an answer
 * about an old key may still come; and this invocation's own invocation
 * record (when it started), not earlier invocations'. The new file is written beside the old
 * one, made durable and renamed over it, so a crash leaves one or the other.
 */
#include "journal.h"
#include "safeopen.h"
#include "journalpriv.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_MS (24ULL * 3600 * 1000)

/* Whether one record stays; earlier: it was in the file when this invocation opened it. */
static int keeps(const char *line, size_t len, int earlier, uint64_t now_ms,
		 const struct fb_journal_keep *keep)
{
	char ebuf[64];
	char *copy = malloc(len + 1);
	if (!copy)
		return FB_ENOMEM;
	memcpy(copy, line, len);
	copy[len] = '\0';
	yajl_val v =
	    fb_json_depth_ok(copy, len, 4) ? yajl_tree_parse(copy, ebuf, sizeof(ebuf)) : NULL;
	const char *key = fb_json_get_str(v, "key"), *t = fb_json_get_str(v, "t");
	int64_t at = 0;
	int stays = 0;
	if (!key && t && !strcmp(t, "invocation")) {
		/* When this invocation started, for status; earlier ones' are history. */
		stays = !earlier;
	} else if (key) {
		if (earlier)
			stays = !keep->done_before(keep->ud, key);
		else
			stays = keep->live(keep->ud, key) ||
				(!fb_json_get_i64(v, "at", &at) && at > 0 &&
				 now_ms - (uint64_t)at < WINDOW_MS);
	}
	yajl_tree_free(v);
	free(copy);
	return stays;
}

struct copy {
	int fd;
	uint64_t now_ms;
	const struct fb_journal_keep *keep;
	off_t open_size;
	struct fb_buf out; /* kept lines not yet written */
	off_t kept;
	int werr;
};

static int flush_kept(struct copy *c)
{
	if (c->out.len && write(c->fd, c->out.ptr, c->out.len) != (ssize_t)c->out.len) {
		c->werr = errno ? errno : ENOSPC;
		return FB_EIO;
	}
	c->kept += (off_t)c->out.len;
	fb_buf_reset(&c->out);
	return 0;
}

static int copy_line(void *ud, const char *line, size_t len, off_t at)
{
	struct copy *c = ud;
	int k = len ? keeps(line, len, at < c->open_size, c->now_ms, c->keep) : 0;
	if (k < 0)
		return k;
	if (k && (fb_buf_add(&c->out, line, len) || fb_buf_addc(&c->out, '\n')))
		return FB_ENOMEM;
	return c->out.len >= READ_SIZE ? flush_kept(c) : 0;
}

/* Copies the records that stay from j's file to fd; *kept gets the bytes written. */
static int copy_kept(struct fb_journal *j, int fd, uint64_t now_ms,
		     const struct fb_journal_keep *keep, off_t *kept, struct fb_err *err)
{
	struct copy c = {.fd = fd, .now_ms = now_ms, .keep = keep, .open_size = j->open_size};
	int rc = fb_journal_each_line(j, 0, j->size, copy_line, &c, err);
	if (!rc)
		rc = flush_kept(&c);
	if (rc == FB_EIO && c.werr)
		fb_journal_io_fail(err, "compact", j->path, c.werr);
	fb_buf_release(&c.out);
	*kept = c.kept;
	return rc;
}

/* The folder's entry for the new file is durable too, or a crash could bring the old back. */
static void sync_dir(const char *path)
{
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (!dir)
		return;
	if (slash)
		*slash = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int fb_journal_compact(struct fb_journal *j, const struct fb_journal_keep *keep, uint64_t now_ms,
		       struct fb_err *err)
{
	int rc = fb_journal_sync(j, err);
	if (rc)
		return rc;
	struct fb_buf tmp = FB_BUF_INIT;
	if (fb_buf_addf(&tmp, "%s.tmp", j->path))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	int fd = fb_safe_open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	off_t kept = 0;
	if (fd < 0)
		rc = fb_journal_io_fail(err, "compact", tmp.ptr, errno);
	if (!rc)
		rc = copy_kept(j, fd, now_ms, keep, &kept, err);
	if (!rc && fdatasync(fd) != 0)
		rc = fb_journal_io_fail(err, "compact", tmp.ptr, errno);
	if (fd >= 0 && close(fd) != 0 && !rc)
		rc = fb_journal_io_fail(err, "compact", tmp.ptr, errno);
	if (!rc && rename(tmp.ptr, j->path) != 0)
		rc = fb_journal_io_fail(err, "compact", j->path, errno);
	if (rc) {
		unlink(tmp.ptr);
		fb_buf_release(&tmp);
		return rc; /* the old file is whole and still in use */
	}
	fb_buf_release(&tmp);
	sync_dir(j->path);
	int nfd = fb_safe_open(j->path, O_RDWR | O_APPEND, 0);
	if (nfd < 0) {
		j->failed = 1;
		fb_journal_io_fail(&j->failure, "reopen", j->path, errno);
		if (err)
			*err = j->failure;
		return FB_EIO;
	}
	close(j->fd);
	j->fd = nfd;
	j->size = kept;
	j->open_size = 0; /* what a question about a run reads is all of it now, and small */
	j->dirty = 0;
	j->compactions++;
	return 0;
}

uint64_t fb_journal_compactions(const struct fb_journal *j)
{
	return j->compactions;
}
