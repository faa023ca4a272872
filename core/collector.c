/* collector: the record, the spool and the archive built from them. */
#include "collector.h"
#include "fbarchive.h"
#include "hashset.h"
#include "item.h"
#include "json.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

struct fb_collector {
	char *record_path;

	char *archive_path;
	char *outputs_dir;
	enum fb_archive_format format;
	struct fb_results *record;
	struct fb_results *stdout_copy; /* NULL unless asked */
	struct fb_spool *spool;
	int dirty;		/* written since the last sync */
	struct fb_hashset done; /* keys ("k:") and ids ("i:") with a line */
	/* Archive names used by any line of the batch. A false positive (two names
	 * with one 64-bit hash) only adds a "-2" to a name. */
	struct fb_hashset names;
	struct fb_collector_stats stats;
	int64_t mtime_s;
};

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

static int mark(struct fb_hashset *h, const char *prefix, const char *s)
{
	struct fb_buf b = FB_BUF_INIT;
	int rc = fb_buf_adds(&b, prefix) || fb_buf_adds(&b, s) ? FB_ENOMEM : 0;
	if (!rc && fb_hashset_add(h, b.ptr) < 0)
		rc = FB_ENOMEM;
	fb_buf_release(&b);
	return rc;
}

static int has(const struct fb_hashset *h, const char *prefix, const char *s)
{
	struct fb_buf b = FB_BUF_INIT;
	int found = !fb_buf_adds(&b, prefix) && !fb_buf_adds(&b, s) && fb_hashset_has(h, b.ptr);
	fb_buf_release(&b);
	return found;
}

/*
 * Whether a line only says why an item did not run yet (skipped: the batch
 * stopped; unresolved: its run could not be told): a re-run tries the item
 * again, so the line gives way to the one that run writes.
 */
static int provisional(yajl_val v)
{
	const char *st = fb_json_get_str(v, "status");
	return st && (!strcmp(st, "skipped") || !strcmp(st, "unresolved"));
}

/* Learns what one line of the record says is done, and which names it used. */
static int learn(struct fb_collector *c, const char *line, int *dropped)
{
	char ebuf[128];
	yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return 0; /* not ours to judge: the line stays, it just marks nothing */
	}
	if (provisional(v)) {
		yajl_tree_free(v);
		(*dropped)++;
		return 0;
	}
	const char *key = fb_json_get_str(v, "idempotency_key");
	const char *id = fb_json_get_str(v, "id");
	int rc = key ? mark(&c->done, "k:", key) : id ? mark(&c->done, "i:", id) : 0;
	yajl_val outs = fb_json_get(v, "outputs");
	for (size_t i = 0; !rc && YAJL_IS_ARRAY(outs) && i < outs->u.array.len; i++) {
		const char *path = fb_json_get_str(outs->u.array.values[i], "path");
		if (path && fb_hashset_add(&c->names, path) < 0)
			rc = FB_ENOMEM;
	}
	yajl_tree_free(v);
	c->stats.done_before++;
	return rc;
}

/* Rewrites the record without its provisional lines: to a temporary file, renamed over it. */
static int drop_provisional(struct fb_collector *c, struct fb_err *err)
{
	struct fb_buf tmp = FB_BUF_INIT;
	if (fb_buf_addf(&tmp, "%s.tmp", c->record_path))
		return oom(err);
	FILE *in = fopen(c->record_path, "r"), *out = fopen(tmp.ptr, "w");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = in && out ? 0 : -1;
	while (!rc && (n = getline(&line, &cap, in)) > 0) {
		char ebuf[64];
		char *copy = strndup(line, (size_t)n);
		yajl_val v = copy ? yajl_tree_parse(copy, ebuf, sizeof(ebuf)) : NULL;
		if (!YAJL_IS_OBJECT(v) || !provisional(v))
			rc = fwrite(line, 1, (size_t)n, out) == (size_t)n ? 0 : -1;
		yajl_tree_free(v);
		free(copy);
	}
	free(line);
	if (in)
		fclose(in);
	if (out && (fflush(out) || fsync(fileno(out))))
		rc = -1;
	if (out && fclose(out))
		rc = -1;
	if (!rc && rename(tmp.ptr, c->record_path))
		rc = -1;
	if (rc) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot rewrite it: %s",
				c->record_path, strerror(errno));
		unlink(tmp.ptr);
	}
	fb_buf_release(&tmp);
	return rc;
}

/*
 * Reads the record a previous invocation left: every whole line is learnt;
 * a last line without its newline was torn by a crash and is cut off, so
 * the next line starts clean.
 */
static int scan_record(struct fb_collector *c, struct fb_err *err)
{
	FILE *f = fopen(c->record_path, "r");
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s",
						    c->record_path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t whole = 0;
	int rc = 0, dropped = 0;
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* torn */
		whole += n;
		line[n - 1] = '\0';
		rc = learn(c, line, &dropped);
	}
	free(line);
	fclose(f);
	if (rc)
		return oom(err);
	if (truncate(c->record_path, whole) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "%s: cannot cut its torn last line: %s", c->record_path,
				  strerror(errno));
	return dropped ? drop_provisional(c, err) : 0;
}

int fb_collector_open(struct fb_collector **out, const struct fb_collector_config *cfg,
		      struct fb_err *err)
{
	struct fb_collector *c = calloc(1, sizeof(*c));
	if (!c)
		return oom(err);
	c->mtime_s = cfg->mtime_s;
	c->format = cfg->format;
	c->outputs_dir = fb_strdup(cfg->outputs_dir);
	c->record_path = fb_strdup(cfg->record_path);
	c->archive_path = fb_strdup(cfg->archive_path);
	int rc = 0;
	if (!c->record_path || (cfg->archive_path && !c->archive_path))
		rc = oom(err);
	else if ((rc = fb_spool_open(&c->spool, cfg->spool_path, cfg->fresh, err)))
		;
	else if (!cfg->fresh)
		rc = scan_record(c, err);
	if (!rc)
		rc = cfg->fresh ? fb_results_open(&c->record, c->record_path, err)
				: fb_results_open_append(&c->record, c->record_path, err);
	if (!rc && cfg->copy_to_stdout)
		rc = fb_results_open(&c->stdout_copy, "-", err);
	if (rc) {
		fb_collector_close(c, NULL, NULL);
		return rc;
	}
	*out = c;
	return 0;
}

int fb_collector_done(const struct fb_collector *c, const char *key, const char *id)
{
	return (key && has(&c->done, "k:", key)) || (!key && id && has(&c->done, "i:", id));
}

/* "<item_id>/<output_id>.<ext>", every part made safe, unique across the batch. */
static int reserve_name(struct fb_collector *c, const char *item_id, const char *output_id,
			const char *ext, struct fb_buf *path)
{
	struct fb_buf dir = FB_BUF_INIT, base = FB_BUF_INIT, comp = FB_BUF_INIT;
	int rc = 0;
	/* An id with slashes mirrors a folder: each part is made safe on its own. */
	for (const char *p = item_id; !rc && *p;) {
		size_t n = strcspn(p, "/");
		char *part = strndup(p, n);
		if (!part) {
			rc = FB_ENOMEM;
			break;
		}
		if (n && strcmp(part, ".") && dir.len < 150) {
			fb_buf_reset(&comp);
			rc = fb_archive_safe_name(&comp, part, 100);
			if (!rc && dir.len)
				rc = fb_buf_addc(&dir, '/');
			if (!rc)
				rc = fb_buf_add(&dir, comp.ptr, comp.len);
		}
		free(part);
		p += n + (p[n] == '/');
	}
	if (!rc && !dir.len)
		rc = fb_buf_adds(&dir, "_");
	if (!rc)
		rc = fb_archive_safe_name(&base, output_id, 90);
	/* The extension's dot follows: a name ending in '.' would make "..". */
	while (!rc && base.len && base.ptr[base.len - 1] == '.')
		base.ptr[base.len - 1] = '_';
	for (unsigned k = 1; !rc; k++) {
		fb_buf_reset(path);
		rc = fb_buf_addf(path, "%s/%s", dir.ptr, base.ptr);
		if (!rc && k > 1)
			rc = fb_buf_addf(path, "-%u", k);
		if (!rc)
			rc = fb_buf_addf(path, ".%s", ext);
		if (rc)
			break;
		int added = fb_hashset_add(&c->names, path->ptr);
		if (added < 0)
			rc = added;
		else if (added)
			break;
	}
	fb_buf_release(&dir);
	fb_buf_release(&base);
	fb_buf_release(&comp);
	return rc;
}

int fb_collector_add_output(struct fb_collector *c, const char *item_id, const char *output_id,
			    const char *ext, const void *data, size_t len, const char *sha256,
			    struct fb_buf *path, struct fb_err *err)
{
	int rc = fb_spool_put(c->spool, sha256, data, len, err);
	c->dirty = 1;
	if (!rc && reserve_name(c, item_id, output_id, ext, path))
		rc = oom(err);
	return rc;
}

int fb_collector_write(struct fb_collector *c, const struct fb_result *res, struct fb_err *err)
{
	int rc = fb_results_write(c->record, res, err);
	if (!rc && c->stdout_copy)
		rc = fb_results_write(c->stdout_copy, res, err);
	if (!rc)
		c->stats.results++;
	c->dirty = 1;
	return rc;
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

/*
 * --outputs-dir: the output as a plain file under the same safe name it has
 * in the archive, written to a temporary name and renamed, like the archive.
 */
static int plain_file(struct fb_collector *c, const char *name, const void *data, size_t len,
		      struct fb_err *err)
{
	struct fb_buf path = FB_BUF_INIT, tmp = FB_BUF_INIT;
	int rc = fb_buf_addf(&path, "%s/%s", c->outputs_dir, name) ? FB_ENOMEM : 0;
	/* Every folder on the way, made as needed. */
	for (char *p = path.ptr ? path.ptr + 1 : NULL; !rc && p && *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path.ptr, 0777) != 0 && errno != EEXIST)
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path.ptr,
					strerror(errno));
		*p = '/';
	}
	if (!rc && fb_buf_addf(&tmp, "%s.tmp", path.ptr))
		rc = FB_ENOMEM;
	FILE *f = rc ? NULL : fopen(tmp.ptr, "wb");
	if (!rc && (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || (f = NULL) ||
		    rename(tmp.ptr, path.ptr) != 0))
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path.ptr, strerror(errno));
	if (f)
		fclose(f);
	if (rc == FB_ENOMEM)
		oom(err);
	fb_buf_release(&path);
	fb_buf_release(&tmp);
	return rc;
}

/* Adds the outputs of one completed line of the record to the archive. */
static int archive_line(struct fb_collector *c, struct fb_archive *a, const char *line,
			struct fb_err *err)
{
	char ebuf[128];
	yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
	const char *status = fb_json_get_str(v, "status");
	yajl_val outs = fb_json_get(v, "outputs");
	int rc = 0;
	struct fb_buf final = FB_BUF_INIT, data = FB_BUF_INIT;
	for (size_t i = 0; status && !strcmp(status, "completed") && YAJL_IS_ARRAY(outs) &&
			   i < outs->u.array.len && !rc;
	     i++) {
		const char *path = fb_json_get_str(outs->u.array.values[i], "path");
		const char *sha = fb_json_get_str(outs->u.array.values[i], "sha256");
		if (!path || !sha)
			continue;
		if ((rc = fb_spool_get(c->spool, sha, &data, err)))
			break; /* the archive would lack an output its line promises */
		size_t len = data.len;
		const char *slash = strrchr(path, '/');
		char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
		rc = dir ? fb_archive_add(a, dir, slash ? slash + 1 : path, data.ptr, len,
					  c->mtime_s, &final, err)
			 : oom(err);
		if (!rc && c->outputs_dir)
			rc = plain_file(c, final.ptr, data.ptr, len, err);
		if (!rc) {
			c->stats.outputs++;
			c->stats.output_bytes += len;
		}
		free(dir);
	}
	fb_buf_release(&final);
	fb_buf_release(&data);
	yajl_tree_free(v);
	return rc;
}

/* The whole archive again, from the record and the spool, then renamed into place. */
static int build_archive(struct fb_collector *c, struct fb_err *err)
{
	struct fb_buf tmp = FB_BUF_INIT;
	struct fb_archive *a = NULL;
	if (fb_buf_addf(&tmp, "%s.tmp", c->archive_path))
		return oom(err);
	int rc = fb_archive_open_format(&a, tmp.ptr, c->format, 0, err);
	FILE *f = rc ? NULL : fopen(c->record_path, "r");
	if (!rc && !f)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", c->record_path,
				strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (!rc && f && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		rc = archive_line(c, a, line, err);
	}
	free(line);
	if (f)
		fclose(f);
	if (a) {
		int rc2 = fb_archive_close(a, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	if (!rc && rename(tmp.ptr, c->archive_path) != 0)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", c->archive_path,
				strerror(errno));
	if (rc)
		unlink(tmp.ptr);
	fb_buf_release(&tmp);
	return rc;
}

int fb_collector_close(struct fb_collector *c, struct fb_collector_stats *stats, struct fb_err *err)
{
	int rc = 0;
	if (!c)
		return 0;
	if (c->record)
		rc = fb_results_close(c->record, err);
	if (c->stdout_copy) {
		int rc2 = fb_results_close(c->stdout_copy, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	if (!rc && c->record && c->archive_path)
		rc = build_archive(c, err);
	if (!rc && c->spool)
		rc = fb_spool_sync(c->spool, err);
	fb_spool_close(c->spool);
	if (stats)
		*stats = c->stats;
	fb_hashset_release(&c->done);
	fb_hashset_release(&c->names);
	free(c->record_path);
	free(c->archive_path);
	free(c->outputs_dir);
	free(c);
	return rc;
}
