/*
 * mergecheck: the folders of a merge held against one another, before and
 * after their lines are read: what made them (folderid.h), the shards they
 * hold, the techniques their lines ran, and whether they keep an archive.
 */
#include "mergepriv.h"
#include "mergescan.h"

#include <stdio.h>
#include <string.h>

struct mcheck {
	int allow_mixed;
	struct fb_log *log;
	const struct fb_mfolder *f;
	size_t nf;
	int mixed_allowed;
};

/* A mixed batch: refused, or (--allow-mixed) a warning. */
static int mixed(struct mcheck *m, struct fb_err *err, const char *what)
{
	if (!m->allow_mixed)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s; nothing was merged (--allow-mixed merges them all the same)",
				  what);
	fb_log_msg(m->log, FB_LOG_WARN, "merge: %s; merged as --allow-mixed asks", what);
	m->mixed_allowed = 1;
	return 0;
}

/* What the folders say made them: one batch, or refused. */
static int check_batches(struct mcheck *m, struct fb_err *err)
{
	const struct fb_mfolder *first = NULL;
	char a[512], b[512], what[2048];
	for (size_t i = 0; i < m->nf; i++) {
		const struct fb_mfolder *f = &m->f[i];
		if (f->id.known && f->id.mixed) {
			fb_folder_id_describe(&f->id, a, sizeof(a));
			snprintf(what, sizeof(what), "%s was itself made by different batches (%s)",
				 f->dir, a);
			int rc = mixed(m, err, what);
			if (rc)
				return rc;
		}
		if (!f->id.known)
			continue;
		if (!first) {
			first = f;
			continue;
		}
		const char *d = fb_folder_id_differs(&first->id, &f->id);
		if (!d)
			continue;
		fb_folder_id_describe(&first->id, a, sizeof(a));
		fb_folder_id_describe(&f->id, b, sizeof(b));
		snprintf(what, sizeof(what),
			 "%s and %s were made by different batches (another %s): %s; %s",
			 first->dir, f->dir, d, a, b);
		int rc = mixed(m, err, what);
		if (rc)
			return rc;
		first = f; /* told once per change */
	}
	for (size_t i = 0; first && i < m->nf; i++)
		if (!m->f[i].id.known)
			fb_log_msg(m->log, FB_LOG_WARN,
				   "merge: %s does not record its technique and namespace (an "
				   "earlier florabatch made it): only its lines are compared",
				   m->f[i].dir);
	return 0;
}

/* Shards (--shard K/N): folders of different N are told; so are the shards of N not among them. */
static void check_shards(struct mcheck *m)
{
	unsigned n = 0, other = 0, seen = 0;
	for (size_t i = 0; i < m->nf; i++) {
		unsigned fn = m->f[i].id.shard_n;
		if (fn && !n)
			n = fn;
		else if (fn && fn != n)
			other = fn;
		seen += fn != 0;
	}
	if (other)
		fb_log_msg(
		    m->log, FB_LOG_WARN,
		    "merge: shard folders of different shard counts (of %u and of %u): each "
		    "item is kept once all the same, but items of shards no folder holds are "
		    "missing",
		    n, other);
	else if (n && seen < n)
		fb_log_msg(m->log, FB_LOG_WARN,
			   "merge: %u of %u shards among the folders: the items of the others are "
			   "not in the merge",
			   seen, n);
}

/* After the scan: lines that share no technique, and archives beside none. */
static int check_lines(struct mcheck *m, struct fb_err *err)
{
	char what[2048];
	const struct fb_mfolder *arch = NULL, *none = NULL;
	for (size_t i = 0; i < m->nf; i++) {
		const struct fb_mfolder *f = &m->f[i];
		arch = f->nvols ? f : arch;
		none = f->archiveless ? f : none;
		for (size_t j = 0; j < i; j++) {
			const struct fb_mfolder *g = &m->f[j];
			int shared = !f->ntechs || !g->ntechs;
			for (unsigned a = 0; a < f->ntechs && !shared; a++)
				for (unsigned b = 0; b < g->ntechs && !shared; b++)
					shared = f->techs[a] == g->techs[b];
			if (shared)
				continue;
			snprintf(what, sizeof(what),
				 "the lines of %s and of %s share no technique (%s; %s)", g->dir,
				 f->dir, g->tech_names[0], f->tech_names[0]);
			int rc = mixed(m, err, what);
			if (rc)
				return rc;
		}
	}
	if (arch && none)
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "%s keeps its outputs in archive volumes and %s keeps none "
		    "(--archive none): their outputs cannot be merged into one folder",
		    arch->dir, none->dir);
	return 0;
}

int fb_merge_check_batches(const struct fb_mfolder *f, size_t n, int allow_mixed,
			   struct fb_log *log, int *mixed_allowed, struct fb_err *err)
{
	struct mcheck m = {allow_mixed, log, f, n, 0};
	int rc = check_batches(&m, err);
	if (!rc)
		check_shards(&m);
	*mixed_allowed |= m.mixed_allowed;
	return rc;
}

int fb_merge_check_lines(const struct fb_mfolder *f, size_t n, int allow_mixed, struct fb_log *log,
			 int *mixed_allowed, struct fb_err *err)
{
	struct mcheck m = {allow_mixed, log, f, n, 0};
	int rc = check_lines(&m, err);
	*mixed_allowed |= m.mixed_allowed;
	return rc;
}
