/* volpack: finished volumes read with libarchive and written again as one archive. */
#include "volpack.h"
#include "buf.h"
#include "hashset.h"
#include "spillset.h"
#include "volumes.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE (1u << 20)

/* Copies every entry of one volume into a; names already seen are an error. */
static int copy_volume(const char *path, struct fb_archive *a, struct fb_spillset *seen, char *buf,
		       struct fb_volpack_stats *st, struct fb_err *err)
{
	struct archive *r = archive_read_new();
	if (!r)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	archive_read_support_filter_all(r);
	archive_read_support_format_tar(r);
	int rc = 0;
	if (archive_read_open_filename(r, path, PIECE) != ARCHIVE_OK)
		rc =
		    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, archive_error_string(r));
	struct archive_entry *e;
	int h;
	while (!rc && (h = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		uint64_t len = (uint64_t)archive_entry_size(e);
		int fresh = fb_spillset_add(seen, fb_hashset_hash(name ? name : ""));
		if (fresh < 0) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
					"cannot keep the names seen: %s", strerror(errno));
			break;
		}
		if (!fresh) {
			rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
					"%s: %s is in an earlier volume too; nothing was packed",
					path, name);
			break;
		}
		la_ssize_t n = archive_read_data(r, buf, PIECE);
		if (n < 0) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s: %s", path, name,
					archive_error_string(r));
			break;
		}
		rc = fb_archive_entry_begin(a, name, len, buf, (size_t)n,
					    (int64_t)archive_entry_mtime(e), err);
		for (; !rc && n > 0; n = archive_read_data(r, buf, PIECE)) {
			rc = fb_archive_entry_data(a, name, buf, (size_t)n, err);
			st->bytes += (uint64_t)n;
		}
		if (!rc && n < 0)
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s: %s", path, name,
					archive_error_string(r));
		st->entries += !rc;
	}
	if (!rc && h != ARCHIVE_EOF)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s ends early: %s", path,
				archive_error_string(r));
	archive_read_free(r);
	return rc;
}

int fb_volpack(const char *archive_path, const char *index_path, const char *out_path,
	       enum fb_archive_format f, struct fb_volpack_stats *st, struct fb_err *err)
{
	memset(st, 0, sizeof(*st));
	struct fb_volumes *v;
	int rc = fb_volumes_open(&v, archive_path, index_path, 0, err);
	if (rc)
		return rc;
	unsigned count = fb_volumes_count(v);
	fb_volumes_free(v);
	if (!count)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s names no finished volume: nothing to pack", index_path);
	struct fb_buf tmp = FB_BUF_INIT;
	struct fb_spillset seen;
	char *buf = malloc(PIECE);
	struct fb_archive *a = NULL;
	if (!buf || fb_buf_addf(&tmp, "%s.tmp", out_path) || fb_spillset_init(&seen, NULL)) {
		free(buf);
		fb_buf_release(&tmp);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	rc = fb_archive_open_format(&a, tmp.ptr, f, 0, err);
	for (unsigned n = 1; !rc && n <= count; n++) {
		char path[4096];
		if (fb_volumes_path(archive_path, n, path, sizeof(path)))
			rc = fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "%s: path too long",
					archive_path);
		else if (!(rc = copy_volume(path, a, &seen, buf, st, err)))
			st->volumes++;
	}
	if (a) {
		int rc2 = fb_archive_close(a, rc ? NULL : err); /* made durable there */
		rc = rc ? rc : rc2;
	}
	if (!rc && rename(tmp.ptr, out_path) != 0)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", out_path, strerror(errno));
	if (rc)
		unlink(tmp.ptr);
	fb_spillset_release(&seen);
	fb_buf_release(&tmp);
	free(buf);
	return rc;
}
