/*
 * collector: the record, the spool and the archive built from them: the
 * outputs and lines of the items in flight. Opening (the record read back)
 * and closing (the last volume built) are collectoropen.c's; the volumes
 * volumebuild.c's.
 */
#include "collector.h"
#include "safeopen.h"
#include "collectorpriv.h"
#include "fbarchive.h"
#include "hashset.h"
#include "item.h"
#include "json.h"
#include "loose.h"
#include "outstream.h"
#include "spool.h"
#include "spoollegacy.h"
#include "sha256.h"
#include "volumes.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

int fb_collector_oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

static int has(const struct fb_hashset *h, const char *prefix, const char *s)
{
	struct fb_buf b = FB_BUF_INIT;
	int found = !fb_buf_adds(&b, prefix) && !fb_buf_adds(&b, s) && fb_hashset_has(h, b.ptr);
	fb_buf_release(&b);
	return found;
}

int fb_collector_done(const struct fb_collector *c, const char *key, const char *id)
{
	return (key && has(&c->done, "k:", key)) || (!key && id && has(&c->done, "i:", id));
}

/* The output just put at off (len bytes) waits for its line as a pending output named *path. */
static int add_pending(struct fb_collector *c, const char *item_id, const char *output_id,
		       const char *ext, uint64_t off, uint64_t len, const char *sha256,
		       struct fb_buf *path, struct fb_err *err);

/*
 * Without an archive the spool keeps no output: the loose file (with
 * --outputs-dir) is the one copy, else the bytes were checked and are let go.
 */
static int add_loose(struct fb_collector *c, const char *item_id, const char *output_id,
		     const char *ext, int fd, const void *data, uint64_t len, const char *sha256,
		     struct fb_buf *path, struct fb_err *err)
{
	int rc = add_pending(c, item_id, output_id, ext, 0, len, sha256, path, err);
	if (rc || !c->outputs_dir)
		return rc;
	rc = data ? fb_loose_place(c->outputs_dir, path->ptr, data, (size_t)len, err)
		  : fb_loose_place_fd(c->outputs_dir, path->ptr, fd, len, err);
	if (rc)
		free(c->pend[--c->npend].path);
	return rc;
}

int fb_collector_add_output(struct fb_collector *c, const char *item_id, const char *output_id,
			    const char *ext, const void *data, size_t len, const char *sha256,
			    struct fb_buf *path, struct fb_err *err)
{
	uint64_t off;
	if (!c->vol)
		return add_loose(c, item_id, output_id, ext, -1, data, len, sha256, path, err);
	int rc = fb_spool_put(c->spool, sha256, data, len, &off, err);
	c->dirty = 1;
	return rc ? rc : add_pending(c, item_id, output_id, ext, off, len, sha256, path, err);
}

int fb_collector_add_output_fd(struct fb_collector *c, const char *item_id, const char *output_id,
			       const char *ext, int fd, uint64_t len, const char *sha256,
			       struct fb_buf *path, struct fb_err *err)
{
	uint64_t off;
	if (!c->vol)
		return add_loose(c, item_id, output_id, ext, fd, NULL, len, sha256, path, err);
	int rc = fb_spool_put_fd(c->spool, sha256, fd, len, &off, err);
	c->dirty = 1;
	return rc ? rc : add_pending(c, item_id, output_id, ext, off, len, sha256, path, err);
}

const char *fb_collector_folder(const struct fb_collector *c)
{
	return c->dir;
}

int fb_collector_part(struct fb_collector *c, struct fb_err *err)
{
	/* Beside the spool, on its file system; nameless, so a crash leaves nothing behind. */
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(c->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		struct fb_buf tmp = FB_BUF_INIT;
		if (fb_buf_addf(&tmp, "%s/.download.XXXXXX", c->dir))
			return fb_collector_oom(err);
		fd = mkstemp(tmp.ptr);
		if (fd >= 0) {
			unlink(tmp.ptr);
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
		fb_buf_release(&tmp);
	}
	if (fd < 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "%s: cannot make a file for a download: %s", c->dir,
				  strerror(errno));
	return fd;
}

static int add_pending(struct fb_collector *c, const char *item_id, const char *output_id,
		       const char *ext, uint64_t off, uint64_t len, const char *sha256,
		       struct fb_buf *path, struct fb_err *err)
{
	struct fb_buf name = FB_BUF_INIT;
	int rc = 0;
	if (c->npend == c->cappend) {
		size_t cap = c->cappend ? c->cappend * 2 : 64;
		struct pending *v = realloc(c->pend, cap * sizeof(*v));
		if (!v)
			return fb_collector_oom(err);
		c->pend = v;
		c->cappend = cap;
	}
	/* The archive's own rules, so the name in the line is the entry's name. */
	if (fb_buf_adds(&name, output_id) || fb_buf_addc(&name, '.') || fb_buf_adds(&name, ext))
		rc = FB_ENOMEM;
	if (!rc)
		rc = fb_archive_names_reserve(c->names, item_id, name.ptr, path);
	fb_buf_release(&name);
	struct pending *p = &c->pend[c->npend];
	if (!rc && !(p->path = fb_strdup(path->ptr)))
		rc = FB_ENOMEM;
	if (rc == FB_EIO)
		return fb_err_set(err, rc, FB_KIND_BATCH,
				  "cannot keep the archive's names in a temporary file: %s",
				  strerror(errno));
	if (rc)
		return fb_collector_oom(err);
	p->off = off;
	p->len = len;
	size_t shalen = strnlen(sha256, sizeof(p->sha) - 1);
	memcpy(p->sha, sha256, shalen);
	p->sha[shalen] = '\0';
	c->npend++;
	return 0;
}

/* The pending output named path (newest first: an item's line follows its outputs), or NULL. */
static struct pending *pending_of(struct fb_collector *c, const char *path)
{
	for (size_t i = c->npend; path && i-- > 0;)
		if (!strcmp(c->pend[i].path, path))
			return &c->pend[i];
	return NULL;
}

/* v in decimal: "%llu" without printf, which was a visible share of each line's cost. */
static int add_u64(struct fb_buf *b, uint64_t v)
{
	char d[24], *end = d + sizeof(d), *p = end;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return fb_buf_add(b, p, (size_t)(end - p));
}

/* The line record of a completed result: where each of its outputs is. */
static int line_record(struct fb_collector *c, const struct fb_result *res, struct fb_err *err)
{
	fb_buf_reset(&c->entries);
	for (size_t i = 0; i < res->noutputs; i++) {
		const struct fb_result_output *o = &res->outputs[i];
		const struct pending *p = pending_of(c, o->path);
		if (p && !c->vol)
			continue; /* no archive: nothing waits in the spool */
		if (!p)
			return fb_err_set(err, FB_ESTATE, FB_KIND_BATCH,
					  "internal error: output %s of %s was not kept",
					  o->path ? o->path : "(none)", res->id ? res->id : "?");
		if (add_u64(&c->entries, p->off) || fb_buf_addc(&c->entries, ' ') ||
		    add_u64(&c->entries, p->len) || fb_buf_addc(&c->entries, ' ') ||
		    fb_buf_adds(&c->entries, p->sha) || fb_buf_addc(&c->entries, ' ') ||
		    fb_buf_adds(&c->entries, p->path) || fb_buf_addc(&c->entries, '\n'))
			return fb_collector_oom(err);
	}
	int rc =
	    fb_spool_put_line(c->spool, c->entries.ptr ? c->entries.ptr : "", c->entries.len, err);
	c->completed += !rc;
	for (size_t i = 0; !rc && i < res->noutputs; i++)
		c->unrolled += res->outputs[i].bytes;
	return rc;
}

/* Forgets the pending outputs a written line names. */
static void release_pending(struct fb_collector *c, const struct fb_result *res)
{
	for (size_t i = 0; i < res->noutputs; i++) {
		struct pending *p = pending_of(c, res->outputs[i].path);
		if (!p)
			continue;
		free(p->path);
		*p = c->pend[--c->npend];
	}
}

/* The spool first, then the record: a line on disk has its outputs on disk before it. */
static int flush_out(struct fb_collector *c, struct fb_err *err)
{
	int rc = fb_spool_flush(c->spool, err);
	return rc ? rc : fb_results_flush(c->record, err);
}

int fb_collector_write(struct fb_collector *c, const struct fb_result *res, struct fb_err *err)
{
	int rc = 0;
	struct fb_result r = *res;
	if (res->status == FB_STATUS_COMPLETED) {
		rc = line_record(c, res, err);
		/* Every line written before the next roll goes into the next volume. */
		r.volume = c->vol ? fb_volumes_next_name(c->vol) : NULL;
	}
	if (!rc)
		rc = fb_results_write(c->record, &r, err);
	if (!rc && c->stdout_copy)
		rc = fb_outstream_write(c->stdout_copy, &r, err);
	if (!rc) {
		c->stats.results++;
		release_pending(c, res);
	}
	if (!rc && fb_results_pending(c->record) >= RECORD_BUF)
		rc = flush_out(c, err);
	c->dirty = 1;
	return rc;
}

int fb_collector_reader_gone(const struct fb_collector *c)
{
	return c->stdout_copy && fb_outstream_gone(c->stdout_copy);
}

int fb_collector_room(const struct fb_collector *c, uint64_t seq)
{
	return !c->stdout_copy || fb_outstream_room(c->stdout_copy, seq);
}

int fb_collector_pass(struct fb_collector *c, uint64_t seq, struct fb_err *err)
{
	return c->stdout_copy ? fb_outstream_pass(c->stdout_copy, seq, err) : 0;
}

int fb_collector_flush(struct fb_collector *c, struct fb_err *err)
{
	return c->dirty ? flush_out(c, err) : 0;
}

int fb_collector_sync(struct fb_collector *c, struct fb_err *err)
{
	if (!c->dirty)
		return 0;
	c->dirty = 0;
	int rc = fb_spool_sync(c->spool, err);
	return rc ? rc : fb_results_sync(c->record, err);
}

void fb_collector_stats(const struct fb_collector *c, struct fb_collector_stats *out)
{
	*out = c->stats;
}
