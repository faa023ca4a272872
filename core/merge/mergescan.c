/* mergescan: a folder's record, volumes and batch, read and checked for a merge. */
#include "mergescan.h"
#include "fbarchive.h"
#include "hashset.h"
#include "item.h"
#include "json.h"
#include "results.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* An error about line n of path: "path:n: what". */
static int bad(struct fb_err *err, int code, const char *path, uint64_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad(struct fb_err *err, int code, const char *path, uint64_t n, const char *fmt, ...)
{
	char what[FB_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fb_err_set(err, code, FB_KIND_BATCH, "%s:%llu: %s", path, (unsigned long long)n,
			  what);
}

static char *join(const char *dir, const char *name)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_buf_addf(&b, "%s/%s", dir, name)) {
		fb_buf_release(&b);
		return NULL;
	}
	return fb_buf_detach(&b, NULL);
}

/* The archive format a volume's name ends in; -1 when none of ours. */
static int format_of(const char *name)
{
	static const char *const exts[] = {".tar.gz", ".tar.zst", ".tar"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);
		enum fb_archive_format f;
		if (n > e && !strcmp(name + n - e, exts[i]) &&
		    !fb_archive_format_parse(exts[i], &f))
			return (int)f;
	}
	return -1;
}

/* One line of volumes.jsonl: it must follow the one before (volumes.c writes them so). */
static int volume_line(struct fb_mfolder *f, const char *path, char *line, uint64_t n,
		       struct fb_err *err)
{
	char ebuf[64];
	yajl_val v = fb_json_depth_ok(line, strlen(line), 8)
			 ? yajl_tree_parse(line, ebuf, sizeof(ebuf))
			 : NULL;
	int64_t num = -1, from = -1, to = -1, at = 0;
	const char *name = fb_json_get_str(v, "volume");
	uint64_t prev = f->nvols ? f->vols[f->nvols - 1].to : 0;
	int rc = 0;
	if (!YAJL_IS_OBJECT(v))
		rc = bad(err, FB_EPARSE, path, n, "not a JSON object");
	else if (fb_json_get_i64(v, "number", &num) || num != (int64_t)f->nvols + 1)
		rc = bad(err, FB_EPARSE, path, n, "\"number\" is not %u", f->nvols + 1);
	else if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") ||
		 !strcmp(name, "..") || format_of(name) < 0)
		rc = bad(err, FB_EPARSE, path, n,
			 "\"volume\" is not the file name of a .tar.gz, .tar.zst or .tar");
	else if (fb_json_get_i64(v, "lines_from", &from) || fb_json_get_i64(v, "lines_to", &to) ||
		 from != (int64_t)prev || to <= from)
		rc =
		    bad(err, FB_EPARSE, path, n,
			"\"lines_from\" and \"lines_to\" do not follow the line before (from %llu)",
			(unsigned long long)prev);
	else if (f->nvols && format_of(name) != f->format)
		rc = bad(err, FB_EPARSE, path, n, "%s is not in the format of %s", name,
			 f->vols[0].name);
	if (!rc && !(f->nvols & (f->nvols + 1))) {
		struct fb_mvol *nv = realloc(f->vols, (2 * (size_t)f->nvols + 1) * sizeof(*nv));
		if (!nv)
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		else
			f->vols = nv;
	}
	if (!rc) {
		fb_json_get_i64(v, "finished_at", &at);
		struct fb_mvol *vol = &f->vols[f->nvols];
		memset(vol, 0, sizeof(*vol));
		vol->number = f->nvols + 1;
		vol->from = (uint64_t)from;
		vol->to = (uint64_t)to;
		vol->finished_at = at;
		if (!(vol->name = fb_strdup(name)))
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		else
			f->nvols++;
		f->format = format_of(name);
	}
	yajl_tree_free(v);
	return rc;
}

/* volumes.jsonl: every whole line; a torn last one is a volume not finished. */
static int read_volumes(struct fb_mfolder *f, struct fb_err *err)
{
	char *path = join(f->dir, "volumes.jsonl");
	FILE *in = path ? fopen(path, "r") : NULL;
	int rc = 0;
	if (!path)
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	else if (!in && errno != ENOENT)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	for (uint64_t no = 1; !rc && in && (n = getline(&line, &cap, in)) > 0; no++) {
		if (line[n - 1] != '\n')
			break;
		line[n - 1] = '\0';
		rc = volume_line(f, path, line, no, err);
	}
	if (!rc && in && ferror(in))
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read it", path);
	free(line);
	if (in)
		fclose(in);
	free(path);
	return rc;
}

int fb_mfolder_open(struct fb_mfolder *f, const char *dir, uint16_t index, struct fb_err *err)
{
	struct stat st;
	memset(f, 0, sizeof(*f));
	f->fd = f->lockfd = -1;
	f->format = -1;
	f->index = index;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "%s: %s", dir,
				  stat(dir, &st) != 0 ? strerror(errno) : "not a folder");
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	char *lock = join(dir, ".lock");
	if (!(f->dir = fb_strdup(dir)) || !(f->record = join(dir, "results.jsonl")) || !lock) {
		free(lock);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	/* Shared: another merge may read the folder too, an invocation may not start. */
	f->lockfd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int locked = f->lockfd < 0 || flock(f->lockfd, LOCK_SH | LOCK_NB) == 0, e = errno;
	free(lock);
	if (!locked)
		return fb_err_set(err, e == EWOULDBLOCK ? FB_ESTATE : FB_EIO, FB_KIND_BATCH,
				  e == EWOULDBLOCK
				      ? "%s: a florabatch is working in it: merge it once that "
					"invocation has ended"
				      : "%s/.lock: cannot lock it",
				  dir);
	f->fd = open(f->record, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return fb_err_set(err, errno == ENOENT ? FB_EINVAL : FB_EIO, FB_KIND_BATCH,
				  "%s: %s", f->record,
				  errno == ENOENT ? "missing: no batch has written its record there"
						  : strerror(errno));
	int rc = read_volumes(f, err);
	return rc ? rc : fb_folder_id_read(dir, &f->id, err);
}

/* FNV-1a over n bytes, onward from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const unsigned char *s = p; n--; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return h;
}

/* The outputs of a completed line: checked, and folded into a fingerprint. */
static int outputs_of(const struct fb_mfolder *f, uint64_t no, yajl_val outs, uint64_t *fp,
		      struct fb_err *err)
{
	uint64_t h = 1469598103934665603ULL;
	if (!YAJL_IS_ARRAY(outs))
		return bad(err, FB_EPARSE, f->record, no, "a completed line without \"outputs\"");
	for (size_t i = 0; i < outs->u.array.len; i++) {
		yajl_val o = outs->u.array.values[i];
		const char *path = fb_json_get_str(o, "path"),
			   *id = fb_json_get_str(o, "output_id");
		const char *sha = fb_json_get_str(o, "sha256");
		yajl_val shav = fb_json_get(o, "sha256");
		int64_t bytes = -1;
		if (!path || !*path || !id || fb_json_get_i64(o, "bytes", &bytes) || bytes < 0)
			return bad(err, FB_EPARSE, f->record, no,
				   "outputs[%zu] lacks its output_id, path or bytes", i);
		if ((sha && (strlen(sha) != FB_SHA256_HEX_LEN ||
			     strspn(sha, "0123456789abcdef") != FB_SHA256_HEX_LEN)) ||
		    (!sha && shav && !YAJL_IS_NULL(shav)))
			return bad(err, FB_EPARSE, f->record, no,
				   "outputs[%zu].sha256 is not 64 lowercase hex digits or null", i);
		char num[24];
		int len = snprintf(num, sizeof(num), "%lld", (long long)bytes);
		h = fnv(h, id, strlen(id) + 1);
		h = fnv(h, sha ? sha : "-", strlen(sha ? sha : "-") + 1);
		h = fnv(h, num, (size_t)len + 1);
	}
	*fp = h ? h : 1;
	return 0;
}

/* The technique a line ran, into the folder's small set. */
static void note_technique(struct fb_mfolder *f, const char *kind, const char *tech)
{
	char k[96];
	snprintf(k, sizeof(k), "%s:%s", kind ? kind : "", tech ? tech : "");
	uint64_t h = fb_hashset_hash(k);
	for (unsigned i = 0; i < f->ntechs; i++)
		if (f->techs[i] == h)
			return;
	if (f->ntechs == FB_MSCAN_TECHS)
		return;
	f->techs[f->ntechs] = h;
	snprintf(f->tech_names[f->ntechs], sizeof(f->tech_names[0]), "%s",
		 tech	? tech
		 : kind ? kind
			: "(none)");
	f->ntechs++;
}

static int status_of(const char *s)
{
	static const char *const names[] = {"completed", "failed", "invalid", "skipped",
					    "unresolved"};
	for (int i = 0; s && i < 5; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* A completed line's place: its ordinal's volume must be finished, and the one it names. */
static int place(struct fb_mfolder *f, uint64_t no, yajl_val v, uint64_t ord, struct fb_err *err)
{
	yajl_val vol = fb_json_get(v, "volume");
	const char *name = YAJL_IS_STRING(vol) ? vol->u.string : NULL;
	if (vol && !name && !YAJL_IS_NULL(vol))
		return bad(err, FB_EPARSE, f->record, no, "\"volume\" is not a string or null");
	if (!name && vol) {
		if (f->nvols)
			return bad(err, FB_EPARSE, f->record, no,
				   "a completed line with \"volume\": null, in a folder whose "
				   "other outputs are in archive volumes");
		f->archiveless++;
		return 0;
	}
	struct fb_mvol *in = (struct fb_mvol *)fb_mfolder_volume_of(f, ord);
	if (!in)
		return bad(err, FB_EPARSE, f->record, no,
			   "its outputs are to be in %s, which %s/volumes.jsonl does not list as "
			   "finished: the batch stopped before it built that volume (run the same "
			   "command again in %s to finish it, then merge)",
			   name ? name : "the next volume", f->dir, f->dir);
	if (name && strcmp(name, in->name))
		return bad(err, FB_EPARSE, f->record, no,
			   "names the volume %s, but %s/volumes.jsonl puts the line in %s", name,
			   f->dir, in->name);
	if (!in->first_line)
		in->first_line = (uint32_t)no;
	return 0;
}

/* One whole line of the record into the index. */
static int scan_line(struct fb_mfolder *f, struct fb_mergeidx *x, char *line, size_t len,
		     uint64_t off, uint64_t no, struct fb_err *err)
{
	char ebuf[128];
	if (len > UINT32_MAX - 1 || no > UINT32_MAX)
		return bad(err, FB_ETOOBIG, f->record, no, "too long a line, or too many lines");
	yajl_val v =
	    fb_json_depth_ok(line, len, 128) ? yajl_tree_parse(line, ebuf, sizeof(ebuf)) : NULL;
	const char *id = fb_json_get_str(v, "id"), *key = fb_json_get_str(v, "idempotency_key");
	int st = status_of(fb_json_get_str(v, "status")), rc = 0;
	int64_t fin = 0;
	struct fb_mrec r = {.off = off,
			    .line = (uint32_t)no,
			    .len = (uint32_t)len,
			    .ord = FB_MREC_NO_ORD,
			    .folder = f->index};
	if (!YAJL_IS_OBJECT(v))
		rc = bad(err, FB_EPARSE, f->record, no, "not a JSON object: %s", ebuf);
	else if (!id)
		rc = bad(err, FB_EPARSE, f->record, no, "no \"id\": not a result line");
	else if (st < 0)
		rc = bad(err, FB_EPARSE, f->record, no,
			 "\"status\" is not completed, failed, invalid, skipped or unresolved");
	if (!rc) {
		const char *path[] = {"timings", "finished_at", NULL};
		yajl_val t = yajl_tree_get(v, path, yajl_t_number);
		if (t && YAJL_IS_INTEGER(t) && t->u.number.i > 0)
			fin = t->u.number.i;
		r.idh = fb_hashset_hash(id);
		r.keyh = key ? fb_hashset_hash(key) : 0;
		r.finished = (uint64_t)fin;
		r.status = (uint8_t)st;
		/* What ran: an invalid row may name no technique, a skipped one none yet. */
		if (st == FB_STATUS_COMPLETED || st == FB_STATUS_FAILED)
			note_technique(f, fb_json_get_str(v, "kind"),
				       fb_json_get_str(v, "technique"));
	}
	if (!rc && st == FB_STATUS_COMPLETED) {
		if (f->completed >= FB_MREC_NO_ORD)
			rc = bad(err, FB_ETOOBIG, f->record, no, "too many completed lines");
		r.ord = (uint32_t)f->completed;
		if (!rc)
			rc = outputs_of(f, no, fb_json_get(v, "outputs"), &r.outfp, err);
		if (!rc)
			rc = place(f, no, v, f->completed, err);
		f->completed++;
	}
	yajl_tree_free(v);
	if (!rc && fb_mergeidx_add(x, &r))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	return rc;
}

/* Every finished volume the lines use is in the folder, a regular file. */
static int volumes_present(const struct fb_mfolder *f, struct fb_err *err)
{
	for (unsigned i = 0; i < f->nvols; i++) {
		const struct fb_mvol *v = &f->vols[i];
		char path[4096];
		struct stat st;
		if (!v->first_line)
			continue;
		if (fb_mfolder_volume_path(f, v, path, sizeof(path)))
			return fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "%s: too long a path",
					  f->dir);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			return bad(err, FB_EPARSE, f->record, v->first_line,
				   "its outputs are in the archive volume %s (volumes.jsonl line "
				   "%u), which is %s",
				   path, v->number,
				   stat(path, &st) != 0 ? "missing" : "not a regular file");
	}
	return 0;
}

int fb_mfolder_scan(struct fb_mfolder *f, struct fb_mergeidx *x, struct fb_err *err)
{
	int fd = dup(f->fd);
	FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!in) {
		if (fd >= 0)
			close(fd);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", f->record, strerror(errno));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t off = 0;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, in)) > 0) {
		f->lines++;
		if (line[n - 1] != '\n') {
			rc = bad(err, FB_EPARSE, f->record, f->lines,
				 "the last line is cut short (no newline at its end): an "
				 "invocation was stopped while writing it; run the same command "
				 "again in %s to finish the batch, then merge",
				 f->dir);
			break;
		}
		line[n - 1] = '\0';
		rc = scan_line(f, x, line, (size_t)n - 1, off, f->lines, err);
		off += (uint64_t)n;
	}
	if (!rc && ferror(in))
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read it", f->record);
	free(line);
	fclose(in);
	if (!rc && f->nvols && f->completed < f->vols[f->nvols - 1].to)
		rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				"%s holds %llu completed lines, but %s/volumes.jsonl says its "
				"volumes hold the outputs of %llu: the record lost lines",
				f->record, (unsigned long long)f->completed, f->dir,
				(unsigned long long)f->vols[f->nvols - 1].to);
	return rc ? rc : volumes_present(f, err);
}

int fb_mfolder_line(const struct fb_mfolder *f, const struct fb_mrec *r, struct fb_buf *out,
		    struct fb_err *err)
{
	fb_buf_reset(out);
	if (fb_buf_grow(out, (size_t)r->len + 1))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	size_t got = 0;
	while (got < r->len) {
		ssize_t n = pread(f->fd, out->ptr + got, r->len - got, (off_t)(r->off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: line %u: %s", f->record,
					  r->line,
					  n < 0 ? strerror(errno) : "the file got shorter");
		got += (size_t)n;
	}
	out->len = got;
	out->ptr[got] = '\0';
	return 0;
}

const struct fb_mvol *fb_mfolder_volume_of(const struct fb_mfolder *f, uint64_t ord)
{
	unsigned lo = 0, hi = f->nvols;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (ord < f->vols[mid].from)
			hi = mid;
		else if (ord >= f->vols[mid].to)
			lo = mid + 1;
		else
			return &f->vols[mid];
	}
	return NULL;
}

int fb_mfolder_volume_path(const struct fb_mfolder *f, const struct fb_mvol *v, char *out,
			   size_t len)
{
	int w = snprintf(out, len, "%s/%s", f->dir, v->name);
	return w < 0 || (size_t)w >= len ? FB_ETOOBIG : 0;
}

void fb_mfolder_close(struct fb_mfolder *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->lockfd >= 0)
		close(f->lockfd); /* the shared lock goes with it */
	for (unsigned i = 0; i < f->nvols; i++)
		free(f->vols[i].name);
	free(f->vols);
	free(f->dir);
	free(f->record);
	memset(f, 0, sizeof(*f));
	f->fd = f->lockfd = -1;
}
