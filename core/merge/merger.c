/* merger: folders checked, each item's line chosen, volumes and lines written, all put in place. */
#include "merger.h"
#include "fbarchive.h"
#include "json.h"
#include "mergeidx.h"
#include "mergeout.h"
#include "mergepriv.h"
#include "mergescan.h"
#include "mergevol.h"
#include "results.h"
#include "safeopen.h"
#include "volumes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct merge {
	const struct fb_merge_config *cfg;
	struct fb_merge_stats *st;
	struct fb_mfolder *f;
	size_t nf;
	struct fb_mergeidx idx;
	char *stage;
	FILE *dups;		 /* stage/duplicates.jsonl */
	yajl_gen gen;		 /* for its lines */
	unsigned notes;		 /* disagreements told on the log */
	int format;		 /* OUT's volumes' format; -1: OUT keeps none */
	struct fb_volumes *vols; /* OUT's, staged */
	struct fb_mvexpect *expect;
	struct fb_merge_names names;
	struct fb_buf line, out;
	uint64_t kept_completed; /* kept completed lines written so far: OUT's ordinals */
	int mixed_allowed;	 /* --allow-mixed let something mixed through */
};

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

/* --- the folders ------------------------------------------------------------ */

static int open_folders(struct merge *m, struct fb_err *err)
{
	struct stat out;
	if (stat(m->cfg->out, &out) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", m->cfg->out,
				  strerror(errno));
	m->f = calloc(m->cfg->ndirs, sizeof(*m->f));
	if (!m->f)
		return oom(err);
	for (size_t i = 0; i < m->cfg->ndirs; i++) {
		m->nf = i + 1;
		int rc = fb_mfolder_open(&m->f[i], m->cfg->dirs[i], (uint16_t)i, err);
		if (rc)
			return rc;
		if (m->f[i].dev == out.st_dev && m->f[i].ino == out.st_ino)
			return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
					  "%s is the output folder too: merge into a new folder",
					  m->cfg->dirs[i]);
		for (size_t j = 0; j < i; j++)
			if (m->f[j].dev == m->f[i].dev && m->f[j].ino == m->f[i].ino)
				return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
						  "%s and %s are one folder, named twice",
						  m->cfg->dirs[j], m->cfg->dirs[i]);
	}
	return 0;
}

/* --- each item's line ------------------------------------------------------ */

static int line_of(void *ud, const struct fb_mrec *r, struct fb_buf *out, struct fb_err *err)
{
	struct merge *m = ud;
	return fb_mfolder_line(&m->f[r->folder], r, out, err);
}

/* One member of a group in duplicates.jsonl: {folder, line, status, finished_at}. */
static int gen_member(yajl_gen g, const struct merge *m, const struct fb_mrec *r)
{
	return fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "folder") ||
	       fb_json_gen_str(g, m->f[r->folder].dir) || fb_json_gen_key(g, "line") ||
	       fb_json_gen_u64(g, r->line) || fb_json_gen_key(g, "status") ||
	       fb_json_gen_str(g, fb_item_status_name((enum fb_item_status)r->status)) ||
	       fb_json_gen_key(g, "finished_at") ||
	       (r->finished ? fb_json_gen_u64(g, r->finished)
			    : fb_json_gen_status(yajl_gen_null(g))) ||
	       fb_json_gen_status(yajl_gen_map_close(g));
}

static const char *const whys[] = {"outcomes", "outputs", "work"};

static int write_group(struct merge *m, const struct fb_merge_group *g, struct fb_err *err)
{
	yajl_gen y = m->gen;
	struct fb_buf text = FB_BUF_INIT;
	yajl_gen_reset(y, NULL);
	yajl_gen_clear(y);
	int rc = fb_json_gen_status(yajl_gen_map_open(y)) || fb_json_gen_key(y, "id") ||
		 fb_json_gen_str(y, g->id) || fb_json_gen_key(y, "disagree") ||
		 fb_json_gen_status(yajl_gen_array_open(y));
	for (unsigned b = 0; !rc && b < 3; b++)
		if (g->why & (1u << b))
			rc = fb_json_gen_str(y, whys[b]);
	rc = rc || fb_json_gen_status(yajl_gen_array_close(y)) || fb_json_gen_key(y, "kept") ||
	     gen_member(y, m, g->m[g->keep].r) || fb_json_gen_key(y, "dropped") ||
	     fb_json_gen_status(yajl_gen_array_open(y));
	for (size_t i = 0; !rc && i < g->n; i++)
		if (i != g->keep)
			rc = gen_member(y, m, g->m[i].r);
	rc = rc || fb_json_gen_status(yajl_gen_array_close(y)) ||
	     fb_json_gen_status(yajl_gen_map_close(y)) || fb_json_gen_take(y, &text) ||
	     fb_buf_addc(&text, '\n');
	if (rc)
		rc = oom(err);
	else if (fwrite(text.ptr, 1, text.len, m->dups) != text.len)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/duplicates.jsonl: %s", m->stage,
				strerror(errno));
	fb_buf_release(&text);
	return rc;
}

/* A disagreement for a person: item "x": completed in a (line 3), failed in b (line 9); kept b's.
 */
static void tell(struct merge *m, const struct fb_merge_group *g)
{
	char msg[1024], why[64] = "";
	for (unsigned b = 0; b < 3; b++)
		if (g->why & (1u << b))
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s",
				 why[0] ? ", " : "", whys[b]);
	size_t w = (size_t)snprintf(msg, sizeof(msg),
				    "merge: item \"%.120s\" disagrees (%s):", g->id, why);
	for (size_t i = 0; i < g->n && i < 4 && w < sizeof(msg); i++) {
		const struct fb_mrec *r = g->m[i].r;
		w += (size_t)snprintf(msg + w, sizeof(msg) - w, "%s %s in %s line %u", i ? "," : "",
				      fb_item_status_name((enum fb_item_status)r->status),
				      m->f[r->folder].record, r->line);
	}
	if (w < sizeof(msg))
		snprintf(msg + w, sizeof(msg) - w, "%s; kept %s line %u, the latest",
			 g->n > 4 ? ", ..." : "", m->f[g->m[g->keep].r->folder].record,
			 g->m[g->keep].r->line);
	fb_log_msg(m->cfg->log, FB_LOG_WARN, "%s", msg);
}

static int on_group(void *ud, const struct fb_merge_group *g, struct fb_err *err)
{
	struct merge *m = ud;
	if (g->foreign && !m->cfg->allow_mixed) {
		const struct fb_mrec *a = g->m[0].r, *b = NULL;
		for (size_t i = 1; i < g->n && !b; i++)
			if (g->m[i].r->folder != a->folder && g->m[i].r->keyh != a->keyh)
				b = g->m[i].r;
		b = b ? b : g->m[g->n - 1].r;
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "item \"%.120s\" has another idempotency key in %s (line %u) than "
		    "in %s (line %u): the folders were made from different manifests, "
		    "techniques or namespaces; nothing was merged (--allow-mixed "
		    "merges them, one line per id)",
		    g->id, m->f[a->folder].record, a->line, m->f[b->folder].record, b->line);
	}
	m->mixed_allowed |= g->foreign;
	m->st->repeated++;
	if (g->why) {
		m->st->conflicts++;
		if (m->notes++ < m->cfg->max_notes)
			tell(m, g);
	}
	return write_group(m, g, err);
}

/* --- volumes ---------------------------------------------------------------- */

/*
 * The records of folder f's completed lines in volume v: [*lo, *hi) of the
 * index, by place, looked for from start on (where the volume before ended:
 * ordinals grow with the file, so each folder's records are walked once).
 */
static void range_of(const struct merge *m, size_t start, size_t end, const struct fb_mvol *v,
		     size_t *lo, size_t *hi)
{
	size_t i = start;
	while (i < end && (m->idx.v[i].ord == FB_MREC_NO_ORD || m->idx.v[i].ord < v->from))
		i++;
	*lo = i;
	while (i < end && (m->idx.v[i].ord == FB_MREC_NO_ORD || m->idx.v[i].ord < v->to))
		i++;
	*hi = i;
}

/* The outputs of the completed lines [lo, hi) into the expected entries; kept ones take names. */
static int expect(struct merge *m, const struct fb_mfolder *f, size_t lo, size_t hi,
		  struct fb_err *err)
{
	fb_mvexpect_reset(m->expect);
	int rc = 0;
	for (size_t i = lo; !rc && i < hi; i++) {
		const struct fb_mrec *r = &m->idx.v[i];
		if (r->ord == FB_MREC_NO_ORD)
			continue;
		int keep = (r->flags & FB_MREC_KEEP) != 0;
		char ebuf[64];
		if ((rc = fb_mfolder_line(f, r, &m->line, err)))
			break;
		yajl_val v = fb_json_depth_ok(m->line.ptr, m->line.len, 128)
				 ? yajl_tree_parse(m->line.ptr, ebuf, sizeof(ebuf))
				 : NULL;
		yajl_val outs = fb_json_get(v, "outputs");
		if (!YAJL_IS_ARRAY(outs))
			rc =
			    fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				       "%s: line %u changed while it was read", f->record, r->line);
		for (size_t k = 0; !rc && k < outs->u.array.len; k++) {
			yajl_val o = outs->u.array.values[k];
			const char *path = fb_json_get_str(o, "path");
			int64_t bytes = 0;
			fb_json_get_i64(o, "bytes", &bytes);
			int a = path ? fb_mvexpect_add(m->expect, path, (uint64_t)bytes,
						       fb_json_get_str(o, "sha256"), keep, r->line)
				     : FB_EPARSE;
			if (a == FB_EINVAL || a == FB_EPARSE)
				rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
						"%s:%u: the output %s is named by another line too",
						f->record, r->line, path ? path : "?");
			else if (a)
				rc = oom(err);
			int t = !rc && keep ? fb_merge_names_take(&m->names, path) : 1;
			if (t == 0)
				rc = fb_err_set(
				    err, FB_EINVAL, FB_KIND_BATCH,
				    "%s:%u: the output %s would share its name (ignoring "
				    "case) with an output of another item already merged: "
				    "merge cannot hold both in one archive",
				    f->record, r->line, path);
			else if (t < 0)
				rc =
				    fb_err_set(err, t, FB_KIND_BATCH,
					       "cannot keep the merged names: %s", strerror(errno));
		}
		yajl_tree_free(v);
	}
	return rc;
}

/*
 * Folder f's volumes into OUT's: out_names[v] gets the name in OUT of its
 * volume v, or stays "" when no output of it is kept.
 */
static int merge_volumes(struct merge *m, const struct fb_mfolder *f, size_t start, size_t end,
			 char (*out_names)[64], struct fb_err *err)
{
	int rc = 0;
	for (unsigned vi = 0; !rc && vi < f->nvols; vi++) {
		const struct fb_mvol *v = &f->vols[vi];
		size_t lo, hi, kept = 0, lines = 0;
		range_of(m, start, end, v, &lo, &hi);
		start = hi;
		for (size_t i = lo; i < hi; i++) {
			lines += m->idx.v[i].ord != FB_MREC_NO_ORD;
			kept +=
			    m->idx.v[i].ord != FB_MREC_NO_ORD && (m->idx.v[i].flags & FB_MREC_KEEP);
		}
		out_names[vi][0] = '\0';
		if (!kept)
			continue; /* every line it holds lost to another folder's */
		char src[4096];
		struct fb_mvstats vs;
		if (fb_mfolder_volume_path(f, v, src, sizeof(src)))
			return fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "%s: too long", f->dir);
		if ((rc = expect(m, f, lo, hi, err)))
			break;
		const char *dst = fb_volumes_next_path(m->vols);
		int whole = kept == lines && f->format == m->format;
		rc = whole ? fb_mergevol_copy(src, dst, f->record, m->expect, &vs, err)
			   : fb_mergevol_filter(src, dst, f->record,
						(enum fb_archive_format)m->format, m->expect, &vs,
						err);
		if (rc)
			break;
		snprintf(out_names[vi], 64, "%s", fb_volumes_next_name(m->vols));
		m->kept_completed += kept;
		rc = fb_volumes_finish(m->vols, m->kept_completed, vs.entries, vs.bytes,
				       v->finished_at, err);
		m->st->volumes++;
		m->st->copied += whole;
		m->st->outputs += vs.entries;
		m->st->output_bytes += vs.bytes;
	}
	return rc;
}

/* --- lines ------------------------------------------------------------------ */

/* Folder f's kept lines, in its order, into OUT's record; records [start, end) are f's. */
static int write_lines(struct merge *m, const struct fb_mfolder *f, size_t start, size_t end,
		       char (*out_names)[64], FILE *rec, struct fb_err *err)
{
	int rc = 0;
	for (size_t i = start; !rc && i < end; i++) {
		const struct fb_mrec *r = &m->idx.v[i];
		if (!(r->flags & FB_MREC_KEEP))
			continue;
		if ((rc = fb_mfolder_line(f, r, &m->line, err)))
			break;
		const struct fb_buf *text = &m->line;
		if (r->ord != FB_MREC_NO_ORD) {
			m->st->completed++;
			const struct fb_mvol *v = fb_mfolder_volume_of(f, r->ord);
			if (!v) {
				m->st->archiveless++;
			} else if (fb_merge_set_volume(m->line.ptr, m->line.len,
						       out_names[v - f->vols], &m->out)) {
				rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
						"%s:%u: a completed line without \"volume\"",
						f->record, r->line);
				break;
			} else {
				text = &m->out;
			}
		}
		if (fwrite(text->ptr, 1, text->len, rec) != text->len || fputc('\n', rec) == EOF)
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/results.jsonl: %s",
					m->stage, strerror(errno));
		m->st->lines++;
	}
	return rc;
}

/* --- the whole ---------------------------------------------------------------- */

/* merge.json: what made OUT (for a later merge of it) and what this merge did. */
static char *merge_json(const struct merge *m, const char *state, int was_mixed)
{
	const struct fb_folder_id *id = NULL;
	for (size_t i = 0; i < m->nf && !id; i++)
		id = m->f[i].id.known ? &m->f[i].id : NULL;
	yajl_gen g = fb_json_gen_new();
	struct fb_buf b = FB_BUF_INIT;
	const struct fb_merge_stats *st = m->st;
	int rc = !g || fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "merge") ||
		 fb_json_gen_u64(g, 1) || fb_json_gen_key(g, "state") || fb_json_gen_str(g, state);
	if (!rc && id)
		rc = fb_json_gen_key(g, "kind") || fb_json_gen_str(g, id->kind) ||
		     fb_json_gen_key(g, "technique") ||
		     fb_json_gen_str(g, id->technique_h ? id->technique : NULL) ||
		     fb_json_gen_key(g, "namespace") ||
		     fb_json_gen_str(g, id->ns_h ? id->ns : NULL);
	rc = rc || fb_json_gen_key(g, "mixed") || fb_json_gen_status(yajl_gen_bool(g, was_mixed)) ||
	     fb_json_gen_key(g, "folders") || fb_json_gen_status(yajl_gen_array_open(g));
	for (size_t i = 0; !rc && i < m->nf; i++) {
		const struct fb_mfolder *f = &m->f[i];
		char shard[32];
		snprintf(shard, sizeof(shard), "%u/%u", f->id.shard_k, f->id.shard_n);
		rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "dir") ||
		     fb_json_gen_str(g, f->dir) || fb_json_gen_key(g, "lines") ||
		     fb_json_gen_u64(g, f->lines) || fb_json_gen_key(g, "volumes") ||
		     fb_json_gen_u64(g, f->nvols) || fb_json_gen_key(g, "shard") ||
		     fb_json_gen_str(g, f->id.shard_n ? shard : NULL) ||
		     fb_json_gen_status(yajl_gen_map_close(g));
	}
	rc = rc || fb_json_gen_status(yajl_gen_array_close(g)) || fb_json_gen_key(g, "lines") ||
	     fb_json_gen_u64(g, st->lines) || fb_json_gen_key(g, "repeated") ||
	     fb_json_gen_u64(g, st->repeated) || fb_json_gen_key(g, "conflicts") ||
	     fb_json_gen_u64(g, st->conflicts) || fb_json_gen_key(g, "volumes") ||
	     fb_json_gen_u64(g, st->volumes) || fb_json_gen_key(g, "copied") ||
	     fb_json_gen_u64(g, st->copied) || fb_json_gen_status(yajl_gen_map_close(g)) ||
	     fb_json_gen_take(g, &b) || fb_buf_addc(&b, '\n');
	if (g)
		yajl_gen_free(g);
	if (rc) {
		fb_buf_release(&b);
		return NULL;
	}
	return fb_buf_detach(&b, NULL);
}

/* Flushes, makes durable and closes a staged file; *fp becomes NULL. */
static int finish_file(FILE **fp, const char *what, struct fb_err *err)
{
	FILE *f = *fp;
	*fp = NULL;
	if (!f)
		return 0;
	int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	int e = errno;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", what, strerror(e));
}

/* Every folder's volumes and kept lines, in order, into the stage. */
static int write_all(struct merge *m, FILE *rec, struct fb_err *err)
{
	int rc = 0;
	for (size_t fi = 0, start = 0, end; !rc && fi < m->nf; fi++, start = end) {
		const struct fb_mfolder *f = &m->f[fi];
		for (end = start; end < m->idx.n && m->idx.v[end].folder == fi; end++)
			;
		char(*names)[64] = calloc(f->nvols ? f->nvols : 1, sizeof(*names));
		if (!names)
			return oom(err);
		rc = merge_volumes(m, f, start, end, names, err);
		if (!rc)
			rc = write_lines(m, f, start, end, names, rec, err);
		free(names);
	}
	return rc;
}

static int open_stage_files(struct merge *m, FILE **rec, struct fb_err *err)
{
	char *dups = fb_mergeout_path(m->stage, "duplicates.jsonl");
	char *recp = fb_mergeout_path(m->stage, "results.jsonl");
	char *first = NULL, *index = fb_mergeout_path(m->stage, "volumes.jsonl");
	int rc = 0;
	if (m->format >= 0) {
		struct fb_buf b = FB_BUF_INIT;
		if (!fb_buf_addf(&b, "%s/outputs%s", m->stage,
				 fb_archive_format_ext((enum fb_archive_format)m->format)))
			first = fb_buf_detach(&b, NULL);
		fb_buf_release(&b);
	}
	if (!dups || !recp || !index || (m->format >= 0 && !first) ||
	    !(m->gen = fb_json_gen_new()) || fb_mvexpect_new(&m->expect) ||
	    fb_merge_names_init(&m->names, m->stage))
		rc = oom(err);
	if (!rc && !(m->dups = fb_safe_fopen(dups, "w")))
		rc =
		    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dups, fb_safe_strerror(errno));
	if (!rc && !(*rec = fb_safe_fopen(recp, "w")))
		rc =
		    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", recp, fb_safe_strerror(errno));
	if (!rc && m->format >= 0)
		rc = fb_volumes_open(&m->vols, first, index, 1, err);
	free(dups);
	free(recp);
	free(first);
	free(index);
	return rc;
}

int fb_merge_run(const struct fb_merge_config *cfg, struct fb_merge_stats *st, struct fb_err *err)
{
	struct merge m = {.cfg = cfg, .st = st, .format = -1};
	FILE *rec = NULL;
	char *jw = NULL, *jd = NULL;
	memset(st, 0, sizeof(*st));
	int rc = fb_mergeout_check(cfg->out, err);
	if (!rc)
		rc = open_folders(&m, err);
	if (!rc)
		rc = fb_merge_check_batches(m.f, m.nf, cfg->allow_mixed, cfg->log, &m.mixed_allowed,
					    err);
	for (size_t i = 0; !rc && i < m.nf; i++) {
		rc = fb_mfolder_scan(&m.f[i], &m.idx, err);
		st->lines_in += m.f[i].lines;
	}
	if (!rc)
		rc = fb_merge_check_lines(m.f, m.nf, cfg->allow_mixed, cfg->log, &m.mixed_allowed,
					  err);
	for (size_t i = 0; !rc && i < m.nf && m.format < 0; i++)
		if (m.f[i].nvols)
			m.format = cfg->format >= 0 ? cfg->format : m.f[i].format;
	if (!rc)
		rc = fb_mergeout_stage(cfg->out, &m.stage, err);
	if (!rc)
		rc = open_stage_files(&m, &rec, err);
	struct fb_merge_resolver res = {.line = line_of, .group = on_group, .ud = &m};
	if (!rc)
		rc = fb_mergeidx_resolve(&m.idx, &res, err);
	fb_mergeidx_by_place(&m.idx);
	if (!rc)
		rc = write_all(&m, rec, err);
	if (!rc)
		rc = finish_file(&rec, "results.jsonl", err);
	if (!rc)
		rc = finish_file(&m.dups, "duplicates.jsonl", err);
	int was_mixed = 0;
	for (size_t i = 0; i < m.nf; i++)
		was_mixed |= m.f[i].id.mixed || (m.f[i].id.known && m.f[0].id.known &&
						 fb_folder_id_differs(&m.f[0].id, &m.f[i].id));
	was_mixed |= m.mixed_allowed;
	if (!rc && (!(jw = merge_json(&m, "writing", was_mixed)) ||
		    !(jd = merge_json(&m, "complete", was_mixed))))
		rc = oom(err);
	if (!rc)
		rc = fb_mergeout_commit(
		    cfg->out, m.stage, st->volumes,
		    m.format >= 0 ? (enum fb_archive_format)m.format : FB_ARCHIVE_TGZ, jw, jd, err);
	if (rc && m.stage) {
		if (rec)
			fclose(rec);
		if (m.dups)
			fclose(m.dups);
		fb_mergeout_abandon(m.stage);
	}
	free(jw);
	free(jd);
	free(m.stage);
	if (m.gen)
		yajl_gen_free(m.gen);
	fb_volumes_free(m.vols);
	fb_mvexpect_free(m.expect);
	fb_merge_names_release(&m.names);
	fb_buf_release(&m.line);
	fb_buf_release(&m.out);
	fb_mergeidx_release(&m.idx);
	for (size_t i = 0; i < m.nf; i++)
		fb_mfolder_close(&m.f[i]);
	free(m.f);
	return rc;
}
