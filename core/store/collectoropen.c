/*
 * collectoropen: a collector opened (the record an earlier invocation left
 * read back: what is done, which archive names are taken, lines that give
 * way to a re-run) and closed (the last volume built from the spool, then
 * everything let go). It sits above collector.c and volumebuild.c.
 */
#include "collector.h"
#include "collectorpriv.h"
#include "safeopen.h"
#include "fbarchive.h"
#include "hashset.h"
#include "json.h"
#include "outstream.h"
#include "spool.h"
#include "spoollegacy.h"
#include "volumes.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

static int mark(struct fb_hashset *h, const char *prefix, const char *s)
{
	struct fb_buf b = FB_BUF_INIT;
	int rc = fb_buf_adds(&b, prefix) || fb_buf_adds(&b, s) ? FB_ENOMEM : 0;
	if (!rc && fb_hashset_add(h, b.ptr) < 0)
		rc = FB_ENOMEM;
	fb_buf_release(&b);
	return rc;
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
	const char *st = fb_json_get_str(v, "status");
	int rc = key ? mark(&c->done, "k:", key) : id ? mark(&c->done, "i:", id) : 0;
	yajl_val outs = fb_json_get(v, "outputs");
	for (size_t i = 0; !rc && YAJL_IS_ARRAY(outs) && i < outs->u.array.len; i++) {
		const char *path = fb_json_get_str(outs->u.array.values[i], "path");
		if (path)
			rc = fb_archive_names_note(c->names, path);
	}
	c->completed += st && !strcmp(st, "completed");
	yajl_tree_free(v);
	c->stats.done_before++;
	return rc;
}

/* The record for reading: through a link only when the user named it. */
static FILE *record_fopen(const struct fb_collector *c)
{
	return c->record_named ? fopen(c->record_path, "r") : fb_safe_fopen(c->record_path, "r");
}

/* Rewrites the record without its provisional lines: to a temporary file, renamed over it. */
static int drop_provisional(struct fb_collector *c, struct fb_err *err)
{
	struct fb_buf tmp = FB_BUF_INIT;
	if (fb_buf_addf(&tmp, "%s.tmp", c->record_path))
		return fb_collector_oom(err);
	FILE *in = record_fopen(c), *out = fb_safe_fopen(tmp.ptr, "w");
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
				c->record_path, fb_safe_strerror(errno));
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
	FILE *f = record_fopen(c);
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s",
						    c->record_path, fb_safe_strerror(errno));
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
	if (rc == FB_EIO)
		return fb_err_set(err, rc, FB_KIND_BATCH,
				  "cannot keep the archive's names in a temporary file: %s",
				  strerror(errno));
	if (rc)
		return fb_collector_oom(err);
	if ((c->record_named ? truncate(c->record_path, whole)
			     : fb_safe_truncate(c->record_path, whole)) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "%s: cannot cut its torn last line: %s", c->record_path,
				  fb_safe_strerror(errno));
	return dropped ? drop_provisional(c, err) : 0;
}

int fb_collector_open(struct fb_collector **out, const struct fb_collector_config *cfg,
		      struct fb_err *err)
{
	struct fb_collector *c = calloc(1, sizeof(*c));
	if (!c)
		return fb_collector_oom(err);
	c->mtime_s = cfg->mtime_s;
	c->clock = cfg->clock;
	c->format = cfg->format;
	c->outputs_dir = fb_strdup(cfg->outputs_dir);
	c->record_path = fb_strdup(cfg->record_path);
	c->record_named = cfg->record_named;
	c->archive_path = fb_strdup(cfg->archive_path);
	c->spool_path = fb_strdup(cfg->spool_path);
	int rc = 0;
	char *dir = fb_strdup(cfg->spool_path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	c->dir = fb_strdup(slash ? dir : ".");
	if (!c->record_path || !dir || !c->dir || (cfg->spool_path && !c->spool_path) ||
	    (cfg->archive_path && !c->archive_path) || (cfg->outputs_dir && !c->outputs_dir) ||
	    fb_archive_names_new(&c->names, slash ? dir : "."))
		rc = fb_collector_oom(err);
	else if (!cfg->fresh)
		rc = scan_record(c, err);
	free(dir);
	if (!rc && c->archive_path)
		rc = fb_volumes_open(&c->vol, c->archive_path, cfg->volumes_path, cfg->fresh, err);
	/* A volume is built after its lines are durable: a record behind it was cut by hand. */
	if (!rc && c->vol && c->completed < fb_volumes_lines(c->vol))
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				"%s holds %llu completed lines, but the archive's volumes hold "
				"the outputs of %llu (%s): the record lost lines after they were "
				"archived; restore it, or start over with --fresh",
				c->record_path, (unsigned long long)c->completed,
				(unsigned long long)fb_volumes_lines(c->vol), cfg->volumes_path);
	/* After the record: the spool keeps the line records of its completed lines. */
	if (!rc)
		rc = fb_spool_open(&c->spool, cfg->spool_path, cfg->fresh, c->completed,
				   c->vol ? fb_volumes_lines(c->vol) : 0, &c->spool_lines, err);
	if (!rc && c->spool_lines < c->completed)
		rc = fb_spool_legacy_lines(c->spool, c->record_path, c->spool_lines, &c->missing,
					   err);
	if (!rc)
		rc = c->record_named
			 ? fb_results_open_named(&c->record, c->record_path, !cfg->fresh, err)
		     : cfg->fresh ? fb_results_open(&c->record, c->record_path, err)
				  : fb_results_open_append(&c->record, c->record_path, err);
	if (!rc)
		fb_results_set_buffer(c->record, SIZE_MAX); /* written out with the spool */
	if (!rc && cfg->copy_to_stdout)
		rc = fb_outstream_open(&c->stdout_copy, cfg->keep_order, err);
	if (rc) {
		fb_collector_close(c, NULL, NULL);
		return rc;
	}
	*out = c;
	return 0;
}

int fb_collector_close(struct fb_collector *c, struct fb_collector_stats *stats, struct fb_err *err)
{
	int rc = 0;
	if (!c)
		return 0;
	if (c->spool && c->record)
		rc = fb_spool_flush(c->spool, err);
	if (c->record) {
		int rc2 = fb_results_close(c->record, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	if (c->stdout_copy) {
		int rc2 = fb_outstream_close(c->stdout_copy, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	if (!rc && c->record && c->vol)
		rc = fb_collector_build_volume(c, err);
	/* Every line is in a volume: outputs still there belong to items that did not end. */
	if (!rc && c->record && c->vol && c->completed == fb_volumes_lines(c->vol))
		rc = fb_spool_empty(c->spool, err);
	if (!rc && c->spool)
		rc = fb_spool_sync(c->spool, err);
	fb_spool_close(c->spool);
	c->stats.volume_count = c->vol ? fb_volumes_count(c->vol) : 0;
	fb_volumes_free(c->vol);
	if (stats)
		*stats = c->stats;
	fb_hashset_release(&c->done);
	fb_archive_names_free(c->names);
	for (size_t i = 0; i < c->npend; i++)
		free(c->pend[i].path);
	free(c->pend);
	fb_buf_release(&c->entries);
	free(c->record_path);
	free(c->spool_path);
	free(c->dir);
	free(c->archive_path);
	free(c->outputs_dir);
	free(c);
	return rc;
}
