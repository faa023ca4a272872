/*
 * volumebuild: the collector's volumes (volumes.h) made from the spool: the
 * outputs of the completed lines no volume holds yet, checked against
 * their sha256, into a temporary file renamed into place; then the
 * spool's front given back. With --outputs-dir, the loose copies too.
 */
#include "safeopen.h"
#include "collector.h"
#include "collectorpriv.h"
#include "fbarchive.h"
#include "loose.h"
#include "sha256.h"
#include "spool.h"
#include "volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIECE (1u << 20) /* an output is read, hashed and written this much at a time */

/*
 * One output of a line record into the volume (and --outputs-dir), a piece
 * at a time, so memory does not follow its size. The result line promises
 * these bytes by their sha256: a damaged spool (a disk, a bug) must stop
 * the volume, never put other bytes under that promise; the volume is a
 * temporary file until it is whole, so a mismatch found at the end costs
 * nothing but the volume.
 */
static int archive_output(struct fb_collector *c, struct fb_archive *a, uint64_t off, uint64_t len,
			  const char *sha, const char *name, struct fb_buf *data,
			  struct fb_sha256 *h, struct fb_err *err)
{
	struct fb_buf path = FB_BUF_INIT, tmp = FB_BUF_INIT;
	int f = -1;
	char got[FB_SHA256_HEX_LEN + 1];
	int rc = h ? 0 : fb_collector_oom(err);
	if (h)
		fb_sha256_reset(h);
	for (uint64_t at = 0; !rc && (at < len || (at == 0 && len == 0));) {
		uint64_t n = len - at < PIECE ? len - at : PIECE;
		if ((rc = fb_spool_read(c->spool, off + at, n, data, err)))
			break; /* the volume would lack an output its line promises */
		if (fb_sha256_update(h, data->ptr, data->len))
			rc = fb_collector_oom(err);
		if (!rc && at == 0 && a)
			rc = fb_archive_entry_begin(a, name, len, data->ptr, data->len, c->mtime_s,
						    err);
		if (!rc && a)
			rc = fb_archive_entry_data(a, name, data->ptr, data->len, err);
		if (!rc && at == 0 && c->outputs_dir &&
		    (f = fb_loose_begin(c->outputs_dir, name, &path, &tmp, err)) < 0)
			rc = f;
		if (!rc && f >= 0)
			rc = fb_loose_write(f, data->ptr, data->len, &path, err);
		at += n;
		if (len == 0)
			break;
	}
	if (!rc && fb_sha256_final_hex(h, got))
		rc = fb_collector_oom(err);
	if (!rc && strcmp(got, sha))
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				"%s: the bytes kept for %.200s do not match their sha256 %s; "
				"run again with --fresh to fetch them again",
				c->spool_path, name, sha);
	if (f >= 0) {
		int rc2 = fb_loose_end(f, !rc, &path, &tmp, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	fb_buf_release(&path);
	fb_buf_release(&tmp);
	return rc;
}

/*
 * Adds the outputs one line record names ("<off> <len> <sha> <name>" lines)
 * to the volume.
 */
static int archive_line(struct fb_collector *c, struct fb_archive *a, char *entries,
			struct fb_buf *data, struct fb_err *err)
{
	int rc = 0;
	struct fb_sha256 *h = fb_sha256_new();
	for (char *line = entries, *nl; !rc && *line; line = nl + 1) {
		unsigned long long off, len;
		char sha[FB_SHA256_HEX_LEN + 1];
		int name_at = 0;
		if (!(nl = strchr(line, '\n')))
			break;
		*nl = '\0';
		/* The name is all after one space: it may start with a space itself. */
		if (sscanf(line, "%llu %llu %64[0-9a-f]%n", &off, &len, sha, &name_at) != 3 ||
		    !name_at || line[name_at] != ' ' || !line[name_at + 1]) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
					"the spool names an output it cannot place: %.80s", line);
			break;
		}
		rc = archive_output(c, a, off, len, sha, line + name_at + 1, data, h, err);
		if (!rc) {
			c->stats.outputs++;
			c->stats.output_bytes += len;
			c->stats.volume_outputs++;
			c->stats.volume_bytes += len;
		}
		*nl = '\n';
	}
	fb_sha256_free(h);
	return rc;
}

/* Walks the line records of the next volume, from where the last volume ended. */
static int each_line(struct fb_collector *c, struct fb_archive *a, uint64_t *end, uint64_t *lines,
		     struct fb_err *err)
{
	struct fb_buf entries = FB_BUF_INIT, data = FB_BUF_INIT;
	uint64_t pos = c->roll_pos, ord = 0, from = c->vol ? fb_volumes_lines(c->vol) : 0;
	int rc = 0, more;
	*lines = 0;
	while (!rc && (more = fb_spool_next_line(c->spool, &pos, &entries, &ord, err)) == 1) {
		if (ord < from)
			continue; /* in a finished volume (a crash came before the spool was
				     emptied) */
		(*lines)++;
		*end = ord + 1;
		rc = archive_line(c, a, entries.ptr, &data, err);
	}
	if (!rc && more < 0)
		rc = more;
	fb_buf_release(&entries);
	fb_buf_release(&data);
	if (!rc)
		c->roll_pos = pos;
	return rc;
}

/*
 * The volume is whole and on record: the spool's front, up to the first
 * record still wanted (the next line's, or an output of an item in
 * flight), is a second copy, and its disk space goes back.
 */
static void forget_archived(struct fb_collector *c)
{
	uint64_t to = c->roll_pos;
	for (size_t i = 0; i < c->npend; i++) {
		uint64_t start = c->pend[i].off - fb_spool_header_len(c->pend[i].len);
		to = start < to ? start : to;
	}
	if (to > c->punched) {
		fb_spool_forget(c->spool, c->punched, to - c->punched);
		c->punched = to;
	}
}

/*
 * The next volume: the outputs of the completed lines since the last one,
 * in the spool's order, into a temporary file made durable and renamed,
 * then its line in the index. Nothing to do when no line is new.
 */
int fb_collector_build_volume(struct fb_collector *c, struct fb_err *err)
{
	uint64_t from = fb_volumes_lines(c->vol), end = from, lines = 0;
	if (c->completed <= from)
		return 0;
	struct fb_buf tmp = FB_BUF_INIT;
	struct fb_archive *a = NULL;
	const char *path = fb_volumes_next_path(c->vol);
	if (fb_buf_addf(&tmp, "%s.tmp", path))
		return fb_collector_oom(err);
	c->stats.volume_outputs = c->stats.volume_bytes = 0;
	uint64_t roll_pos = c->roll_pos; /* where to start again, should this volume fail */
	/* A link planted under the volume's name would only be replaced, but it says someone
	 * else writes in this folder: refused like every other file of ours. */
	int rc = fb_safe_nolink(path) ? fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
						   fb_safe_strerror(errno))
				      : fb_archive_open_format(&a, tmp.ptr, c->format, 0, err);
	if (!rc)
		rc = each_line(c, a, &end, &lines, err);
	if (!rc && (lines < c->completed - from || c->missing))
		rc = fb_err_set(
		    err, FB_EIO, FB_KIND_BATCH,
		    "%s: %llu outputs of its completed lines are missing from the spool; "
		    "run again with --fresh to fetch them again",
		    c->record_path, (unsigned long long)(c->missing + c->completed - from - lines));
	if (a) {
		int rc2 = fb_archive_close(a, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	if (!rc && rename(tmp.ptr, path) != 0)
		rc =
		    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, fb_safe_strerror(errno));
	if (rc)
		unlink(tmp.ptr);
	fb_buf_release(&tmp);
	if (!rc)
		rc = fb_volumes_finish(
		    c->vol, end, c->stats.volume_outputs, c->stats.volume_bytes,
		    c->clock ? (int64_t)(fb_clock_wall_ms(c->clock) / 1000) : c->mtime_s, err);
	if (rc)
		c->roll_pos = roll_pos;
	if (!rc) {
		forget_archived(c);
		c->unrolled = 0;
		c->stats.volumes++;
	}
	return rc;
}

int fb_collector_roll(struct fb_collector *c, struct fb_err *err)
{
	if (!c->vol || c->completed <= fb_volumes_lines(c->vol))
		return 0;
	/* The lines and outputs the volume takes are on disk before it is. */
	int rc = fb_spool_flush(c->spool, err);
	if (!rc)
		rc = fb_results_flush(c->record, err);
	return rc ? rc : fb_collector_build_volume(c, err);
}

uint64_t fb_collector_unrolled(const struct fb_collector *c)
{
	return c->vol ? c->unrolled : 0;
}
