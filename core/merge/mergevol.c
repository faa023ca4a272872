/* mergevol: a volume copied whole or filtered into a merged folder, each entry proven. */
#define _GNU_SOURCE /* copy_file_range */
#include "mergevol.h"
#include "buf.h"
#include "hashset.h"
#include "safeopen.h"
#include "sha256.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE (1u << 20)

struct ent {
	uint64_t ph, bytes;
	uint32_t name; /* offset in names */
	uint32_t line;
	char sha[FB_SHA256_HEX_LEN + 1]; /* "" when not known */
	uint8_t wanted, seen;
};

struct fb_mvexpect {
	struct ent *v;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0: empty */
	size_t nslots;
	struct fb_buf names;
	uint64_t wanted;
};

int fb_mvexpect_new(struct fb_mvexpect **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : FB_ENOMEM;
}

void fb_mvexpect_free(struct fb_mvexpect *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->slots);
	fb_buf_release(&t->names);
	free(t);
}

void fb_mvexpect_reset(struct fb_mvexpect *t)
{
	t->n = 0;
	t->wanted = 0;
	fb_buf_reset(&t->names);
	if (t->slots)
		memset(t->slots, 0, t->nslots * sizeof(*t->slots));
}

uint64_t fb_mvexpect_count(const struct fb_mvexpect *t)
{
	return t->n;
}

uint64_t fb_mvexpect_wanted(const struct fb_mvexpect *t)
{
	return t->wanted;
}

static const char *name_of(const struct fb_mvexpect *t, const struct ent *e)
{
	return t->names.ptr + e->name;
}

/* The slot of path (hash ph): its entry's, or the empty one where it would go. */
static size_t slot(const struct fb_mvexpect *t, uint64_t ph, const char *path)
{
	size_t i = (size_t)ph & (t->nslots - 1);
	while (t->slots[i]) {
		const struct ent *e = &t->v[t->slots[i] - 1];
		if (e->ph == ph && !strcmp(name_of(t, e), path))
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return i;
}

static int rehash(struct fb_mvexpect *t, size_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof(*s));
	if (!s)
		return FB_ENOMEM;
	free(t->slots);
	t->slots = s;
	t->nslots = nslots;
	for (size_t k = 0; k < t->n; k++)
		t->slots[slot(t, t->v[k].ph, name_of(t, &t->v[k]))] = (uint32_t)k + 1;
	return 0;
}

static struct ent *find(const struct fb_mvexpect *t, const char *path)
{
	if (!t->nslots)
		return NULL;
	uint32_t k = t->slots[slot(t, fb_hashset_hash(path), path)];
	return k ? &t->v[k - 1] : NULL;
}

int fb_mvexpect_add(struct fb_mvexpect *t, const char *path, uint64_t bytes, const char *sha,
		    int wanted, uint32_t line)
{
	if (t->n >= UINT32_MAX - 1 || t->names.len >= UINT32_MAX - strlen(path) - 1)
		return FB_ENOMEM;
	if ((t->n + 1) * 2 > t->nslots && rehash(t, t->nslots ? t->nslots * 2 : 1024))
		return FB_ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 512;
		struct ent *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return FB_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	uint64_t ph = fb_hashset_hash(path);
	size_t i = slot(t, ph, path);
	if (t->slots[i])
		return FB_EINVAL;
	struct ent *e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->ph = ph;
	e->bytes = bytes;
	e->name = (uint32_t)t->names.len;
	e->line = line;
	e->wanted = wanted != 0;
	snprintf(e->sha, sizeof(e->sha), "%s", sha ? sha : "");
	if (fb_buf_add(&t->names, path, strlen(path) + 1))
		return FB_ENOMEM;
	t->slots[i] = (uint32_t)++t->n;
	t->wanted += e->wanted;
	return 0;
}

/* One entry's bytes: hashed, and (w) written into the new volume; a piece at a time. */
static int pass_data(struct archive *r, struct fb_archive *w, const char *name, uint64_t len,
		     int64_t mtime, char *buf, struct fb_sha256 *h, const char *label,
		     struct fb_err *err)
{
	la_ssize_t n = archive_read_data(r, buf, PIECE);
	int rc = 0;
	if (n >= 0 && w)
		rc = fb_archive_entry_begin(w, name, len, buf, (size_t)n, mtime, err);
	for (; !rc && n > 0; n = archive_read_data(r, buf, PIECE)) {
		if (fb_sha256_update(h, buf, (size_t)n))
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		else if (w)
			rc = fb_archive_entry_data(w, name, buf, (size_t)n, err);
	}
	if (!rc && n < 0)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s: %s", label, name,
				archive_error_string(r));
	return rc;
}

/* One entry of the volume, checked against what its line says (and written when wanted). */
static int check_entry(struct archive *r, struct archive_entry *ae, struct fb_mvexpect *t,
		       struct fb_archive *w, char *buf, struct fb_sha256 *h, const char *label,
		       const char *record, struct fb_mvstats *st, struct fb_err *err)
{
	const char *name = archive_entry_pathname_utf8(ae);
	if (!name)
		name = archive_entry_pathname(ae);
	if (!name)
		name = "";
	struct ent *e = find(t, name);
	if (!e)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s holds %s, which no line of %s names", label, name, record);
	if (e->seen)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH, "%s holds %s twice", label, name);
	e->seen = 1;
	if (archive_entry_filetype(ae) != AE_IFREG || (uint64_t)archive_entry_size(ae) != e->bytes)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s: %s is %s%lld bytes; line %u of %s says %llu", label, name,
				  archive_entry_filetype(ae) != AE_IFREG ? "not a file, " : "",
				  (long long)archive_entry_size(ae), e->line, record,
				  (unsigned long long)e->bytes);
	if (!e->wanted && w)
		return archive_read_data_skip(r) == ARCHIVE_OK
			   ? 0
			   : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s: %s", label, name,
					archive_error_string(r));
	char got[FB_SHA256_HEX_LEN + 1];
	int rc = fb_sha256_reset(h)
		     ? fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory")
		     : pass_data(r, w, name, e->bytes, (int64_t)archive_entry_mtime(ae), buf, h,
				 label, err);
	if (!rc && fb_sha256_final_hex(h, got))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (!rc && e->sha[0] && strcmp(got, e->sha))
		rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				"%s: the bytes of %s do not match the sha256 of line %u of %s",
				label, name, e->line, record);
	if (!rc) {
		st->entries++;
		st->bytes += e->bytes;
	}
	return rc;
}

/*
 * Reads the volume at path (label: what messages call it) through, each
 * entry checked by check_entry; then every wanted entry must have come.
 */
static int walk(const char *path, const char *label, const char *record, struct fb_mvexpect *t,
		struct fb_archive *w, struct fb_mvstats *st, struct fb_err *err)
{
	struct archive *r = archive_read_new();
	char *buf = malloc(PIECE);
	struct fb_sha256 *h = fb_sha256_new();
	int rc = 0, hr = ARCHIVE_EOF;
	if (!r || !buf || !h)
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (!rc) {
		archive_read_support_filter_all(r);
		archive_read_support_format_tar(r);
		if (archive_read_open_filename(r, path, PIECE) != ARCHIVE_OK)
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", label,
					archive_error_string(r));
	}
	struct archive_entry *ae;
	while (!rc && (hr = archive_read_next_header(r, &ae)) == ARCHIVE_OK)
		rc = check_entry(r, ae, t, w, buf, h, label, record, st, err);
	if (!rc && hr != ARCHIVE_EOF)
		rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH, "%s is damaged or cut short: %s",
				label, archive_error_string(r));
	for (size_t i = 0; !rc && i < t->n; i++)
		if (t->v[i].wanted && !t->v[i].seen)
			rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
					"%s lacks %s, an output of line %u of %s", label,
					name_of(t, &t->v[i]), t->v[i].line, record);
	if (r)
		archive_read_free(r);
	fb_sha256_free(h);
	free(buf);
	return rc;
}

/* src's bytes into the new file dst: copy_file_range (a reflink or an in-kernel copy) where it can.
 */
static int copy_bytes(const char *src, const char *dst, struct fb_err *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", src, strerror(errno));
	int out = fb_safe_open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = 0;
	if (out < 0) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dst, fb_safe_strerror(errno));
		close(in);
		return rc;
	}
	char *buf = NULL;
	for (;;) {
		ssize_t n = buf ? 0 : copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && !buf &&
		    (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			if (!(buf = malloc(PIECE))) {
				rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
				break;
			}
			continue;
		}
		if (buf && (n = read(in, buf, PIECE)) > 0) {
			for (ssize_t done = 0, w; done < n; done += w)
				if ((w = write(out, buf + done, (size_t)(n - done))) <= 0) {
					n = -1;
					break;
				}
		}
		if (n < 0) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "copying %s to %s: %s", src,
					dst, strerror(errno ? errno : EIO));
			break;
		}
		if (n == 0)
			break;
	}
	free(buf);
	if (!rc && fsync(out) != 0)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dst, strerror(errno));
	if (close(out) != 0 && !rc)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dst, strerror(errno));
	close(in);
	return rc;
}

int fb_mergevol_copy(const char *src, const char *dst, const char *record, struct fb_mvexpect *t,
		     struct fb_mvstats *st, struct fb_err *err)
{
	memset(st, 0, sizeof(*st));
	int rc = copy_bytes(src, dst, err);
	return rc ? rc : walk(dst, src, record, t, NULL, st, err);
}

int fb_mergevol_filter(const char *src, const char *dst, const char *record,
		       enum fb_archive_format f, struct fb_mvexpect *t, struct fb_mvstats *st,
		       struct fb_err *err)
{
	struct fb_archive *w = NULL;
	memset(st, 0, sizeof(*st));
	int rc = fb_archive_open_format(&w, dst, f, 0, err);
	if (!rc)
		rc = walk(src, src, record, t, w, st, err);
	if (w) {
		int rc2 = fb_archive_close(w, rc ? NULL : err); /* made durable there */
		rc = rc ? rc : rc2;
	}
	return rc;
}
