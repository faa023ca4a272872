/*
 * simlist: GET /technique-runs and GET /generations: runs newest first,
 * filtered at the model's now, in pages of at most 100 behind an opaque
 * cursor. The cursor names a creation number, so pages stay stable while
 * runs are created and change status between requests, and a page costs
 * the runs it scans from its cursor (or the newest) on, never a scan of
 * every run kept.
 */
#include "simcore.h"
#include "error.h"

#include <string.h>

struct filter {
	enum sim_kind kind;
	int workspace, project, technique; /* -2: no filter; -1: a filter nothing matches */
	const char *status;		   /* NULL: no filter */
};

static int matches(struct fb_simmodel *m, const struct filter *f, const struct fb_simrun *r)
{
	if (r->kind != f->kind)
		return 0;
	if (f->workspace != -2 && r->workspace != f->workspace)
		return 0;
	if (f->project != -2 && r->project != f->project)
		return 0;
	if (f->technique != -2 && r->technique != f->technique)
		return 0;
	return !f->status || !strcmp(fb_simruns_status(m, r), f->status);
}

/*
 * How many runs match in all: exact when only the kind filters (a count is
 * kept) or when the first page held them all; else the share that matched
 * among the runs scanned, applied to every run of the kind.
 */
static long long estimate(const struct fb_simmodel *m, const struct filter *f, int first, int more,
			  size_t matched, size_t scanned)
{
	uint64_t all = m->store.live[f->kind];
	if (f->workspace == -2 && f->project == -2 && f->technique == -2 && !f->status)
		return (long long)all;
	if (first && !more)
		return (long long)matched;
	return scanned ? (long long)((double)matched * (double)all / (double)scanned + 0.5)
		       : (long long)matched;
}

/* Catalog and fixture strings are literals, ids the simulator's own: no check needed. */
static void put(struct fb_simjw *w, const char *s)
{
	if (s)
		fb_simjw_ascii(w, s, strlen(s));
	else
		fb_simjw_null(w);
}

static void write_item(struct fb_simmodel *m, struct fb_simjw *w, struct fb_simrun *r)
{
	fb_simjw_open(w, 0);
	w->bad |= fb_simruns_write_status(m, w, r) != 0;
	if (r->kind == SIM_TECHNIQUE) {
		const char *slug = fb_simcat_slug(r->technique);
		size_t n = strlen(slug);
		char id[96] = "tech_";
		if (n > sizeof(id) - 6)
			n = sizeof(id) - 6;
		memcpy(id + 5, slug, n);
		fb_simjw_key(w, "technique_run_id");
		put(w, r->id);
		fb_simjw_key(w, "technique");
		fb_simjw_open(w, 0);
		fb_simjw_key(w, "technique_id");
		fb_simjw_ascii(w, id, n + 5);
		fb_simjw_key(w, "name");
		put(w, fb_simcat_name(r->technique));
		fb_simjw_close(w, 0);
	} else {
		fb_simjw_key(w, "generation_id");
		put(w, r->id);
		fb_simjw_key(w, "model");
		fb_simjw_open(w, 0);
		fb_simjw_key(w, "model_id");
		fb_simjw_str(w, m->models[r->model]); /* as the client named it */
		fb_simjw_close(w, 0);
	}
	fb_simjw_key(w, "project_id");
	put(w, r->project >= 0 ? fb_simcat_project_id(r->project) : NULL);
	fb_simjw_key(w, "workspace_id");
	put(w, fb_simcat_workspace_id(r->workspace));
	fb_simjw_close(w, 0);
}

/* Reads the filters; answers 400 and returns 1 for a malformed one. */
static int read_filter(const struct fb_simquery *q, struct filter *f, struct fb_simresp *resp,
		       int *rc)
{
	static const char *const statuses[] = {"pending", "running", "completed", "failed"};
	const char *ws = fb_simquery_get(q, "workspace_id"),
		   *prj = fb_simquery_get(q, "project_id");
	const char *tech = f->kind == SIM_TECHNIQUE ? fb_simquery_get(q, "technique_id") : NULL;
	const char *st = fb_simquery_get(q, "status");
	int form;
	f->workspace = f->project = f->technique = -2;
	f->status = NULL;
	if (ws && *ws) {
		if (!fb_simreq_has_prefix(ws, "ws_"))
			goto bad_ws;
		f->workspace = fb_simcat_workspace(ws);
	}
	if (prj && *prj) {
		if (!fb_simreq_has_prefix(prj, "prj_"))
			goto bad_prj;
		f->project = fb_simcat_project(prj);
	}
	if (tech && *tech)
		f->technique = fb_simcat_find(tech, &form);
	if (st && *st) {
		for (size_t i = 0; i < 4; i++)
			if (!strcmp(st, statuses[i]))
				f->status = statuses[i];
		if (!f->status) {
			*rc =
			    fb_sim_field_error(resp, "status",
					       "Invalid enum value. Expected 'pending' | 'running' "
					       "| 'completed' | 'failed'");
			return 1;
		}
	}
	return 0;
bad_ws:
	*rc =
	    fb_sim_field_error(resp, "workspace_id", "Invalid ID: expected ws_ followed by the ID");
	return 1;
bad_prj:
	*rc =
	    fb_sim_field_error(resp, "project_id", "Invalid ID: expected prj_ followed by the ID");
	return 1;
}

int fb_simlist_runs(struct fb_simmodel *m, enum sim_kind kind, const struct fb_simquery *q,
		    struct fb_simresp *resp)
{
	m->stats.lists++;
	size_t limit;
	int rc = 0;
	struct filter f = {.kind = kind};
	if (fb_sim_limit(resp, fb_simquery_get(q, "limit"), &limit, &rc) ||
	    read_filter(q, &f, resp, &rc))
		return rc;
	/* A server may give fewer than limit asks (--page-cap). */
	if (m->cfg.page_cap && limit > m->cfg.page_cap)
		limit = m->cfg.page_cap;
	/* A page holds the matching runs created before creation number `from`. */
	const struct fb_simstore *st = &m->store;
	const char *cursor = fb_simquery_get(q, "cursor");
	long long from = cursor && *cursor ? fb_sim_cursor_pos(cursor) : (long long)st->next_seq;
	if (from < 0 || from > (long long)st->next_seq)
		return fb_sim_field_error(resp, "cursor", "Invalid cursor");

	struct fb_simjw w;
	fb_simjw_reuse(&w, m->gen, &m->sink, m->camel);
	/* Newest first from the cursor on, and no further than the page needs. */
	size_t shown = 0, scanned = 0, matched = 0;
	uint64_t last = 0;
	int more = 0;
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, kind == SIM_TECHNIQUE ? "technique_runs" : "generations");
	fb_simjw_open(&w, 1);
	uint64_t end = (uint64_t)from < st->obase ? st->obase : (uint64_t)from;
	m->view_lag = m->cfg.list_lag_ms; /* the lists see runs as they were (--list-lag) */
	for (uint64_t seq = end; seq-- > st->obase;) {
		long slot = fb_simstore_at(m, seq);
		if (slot < 0)
			continue;
		struct fb_simrun *r = &m->runs[slot];
		scanned += r->kind == kind;
		if (!matches(m, &f, r))
			continue;
		if (shown == limit) {
			more = 1;
			break;
		}
		matched++;
		write_item(m, &w, r);
		shown++;
		last = seq;
	}
	m->view_lag = 0;
	fb_simjw_close(&w, 1);
	fb_simjw_key(&w, "meta");
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "next_cursor");
	char cur[32];
	fb_sim_cursor(last, cur);
	fb_simjw_str(&w, more ? cur : NULL);
	fb_simjw_key(&w, "total_estimate");
	fb_simjw_int(&w, (long long)estimate(m, &f, !cursor || !*cursor, more, matched, scanned));
	fb_simjw_close(&w, 0);
	fb_simjw_close(&w, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}
