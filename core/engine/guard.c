/* guard: forbidden scopes, claimed runs and the budget of one batch. */
#include "guard.h"
#include "buf.h"
#include "hashset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scope {
	char *name; /* "ws:<id>" or "run:<technique>@<workspace>" */
	struct fb_err err;
};

struct cost {
	char *technique;
	double max;
};

struct fb_guard {
	struct scope *scopes;
	size_t nscopes;
	struct fb_hashset claims; /* run ids held by items of this invocation */
	double max_cost;	  /* < 0: none */
	double spent;
	double max_seen;
	struct cost *costs;
	size_t ncosts;
	int accepted;	   /* the API accepted a create or an upload */
	unsigned streak;   /* refusals alike in a row */
	int streak_status; /* ... their HTTP status */
	char streak_code[FB_ERR_CODE_MAX];
};

struct fb_guard *fb_guard_new(double max_cost)
{
	struct fb_guard *g = calloc(1, sizeof(*g));
	if (g)
		g->max_cost = max_cost;
	return g;
}

void fb_guard_free(struct fb_guard *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nscopes; i++)
		free(g->scopes[i].name);
	for (size_t i = 0; i < g->ncosts; i++)
		free(g->costs[i].technique);
	free(g->scopes);
	free(g->costs);
	fb_hashset_release(&g->claims);
	free(g);
}

static const char *scope_target(const struct fb_item *it)
{
	const char *t = it->kind == FB_JOB_GENERATION	  ? it->generation
			: it->kind == FB_JOB_TECHNIQUE_ID ? it->technique_id
							  : it->technique;
	return t ? t : "";
}

static int scope_name(struct fb_buf *b, const struct fb_item *it, int workspace)
{
	const char *ws = it->workspace_id ? it->workspace_id : "";
	return workspace ? fb_buf_addf(b, "ws:%s", ws)
			 : fb_buf_addf(b, "run:%s@%s", scope_target(it), ws);
}

int fb_guard_forbid(struct fb_guard *g, const struct fb_item *it, const struct fb_err *err)
{
	struct fb_buf b = FB_BUF_INIT;
	/* The API names the field it refused; the workspace is the wider scope. */
	int workspace = it->workspace_id && strstr(err->msg, "workspace_id") != NULL;
	if (scope_name(&b, it, workspace))
		return FB_ENOMEM;
	struct scope *s = realloc(g->scopes, (g->nscopes + 1) * sizeof(*s));
	if (!s) {
		fb_buf_release(&b);
		return FB_ENOMEM;
	}
	g->scopes = s;
	s[g->nscopes].name = fb_buf_detach(&b, NULL);
	s[g->nscopes].err = *err;
	g->nscopes++;
	return 0;
}

const struct fb_err *fb_guard_forbidden(const struct fb_guard *g, const struct fb_item *it)
{
	if (!g->nscopes)
		return NULL;
	struct fb_buf ws = FB_BUF_INIT, run = FB_BUF_INIT;
	const struct fb_err *hit = NULL;
	if (!scope_name(&ws, it, 1) && !scope_name(&run, it, 0)) {
		for (size_t i = 0; i < g->nscopes && !hit; i++)
			if (!strcmp(g->scopes[i].name, ws.ptr) ||
			    !strcmp(g->scopes[i].name, run.ptr))
				hit = &g->scopes[i].err;
	}
	fb_buf_release(&ws);
	fb_buf_release(&run);
	return hit;
}

int fb_guard_claimed(const struct fb_guard *g, const char *run_id)
{
	return fb_hashset_has(&g->claims, run_id);
}

/* Two run ids with one 64-bit hash would make the second look claimed: a 409 recovery could then
 * miss it and end unresolved, never adopt a wrong run. */
int fb_guard_claim(struct fb_guard *g, const char *run_id)
{
	return fb_hashset_add(&g->claims, run_id);
}

static struct cost *cost_of(const struct fb_guard *g, const char *technique)
{
	for (size_t i = 0; technique && i < g->ncosts; i++)
		if (!strcmp(g->costs[i].technique, technique))
			return &g->costs[i];
	return NULL;
}

void fb_guard_spend(struct fb_guard *g, const char *technique, int has_cost, double cost,
		    int has_quote, double quote)
{
	double c = has_cost ? cost : has_quote ? quote : 0;
	g->spent += c;
	if (c > g->max_seen)
		g->max_seen = c;
	if (!technique || (!has_cost && !has_quote))
		return;
	struct cost *k = cost_of(g, technique);
	if (!k) {
		struct cost *v = realloc(g->costs, (g->ncosts + 1) * sizeof(*v));
		char *t = fb_strdup(technique);
		if (!v || !t) {
			free(t);
			if (v)
				g->costs = v;
			return; /* the estimate falls back to the highest cost seen */
		}
		g->costs = v;
		k = &v[g->ncosts++];
		k->technique = t;
		k->max = 0;
	}
	if (c > k->max)
		k->max = c;
}

int fb_guard_affordable(const struct fb_guard *g, const char *technique, size_t in_flight)
{
	if (g->max_cost < 0)
		return 1;
	const struct cost *k = cost_of(g, technique);
	double next = k ? k->max : g->max_seen;
	return g->spent + (double)in_flight * g->max_seen + next <= g->max_cost + 1e-9;
}

double fb_guard_spent(const struct fb_guard *g)
{
	return g->spent;
}

void fb_guard_accepted(struct fb_guard *g)
{
	g->accepted = 1;
	g->streak = 0;
}

int fb_guard_probing(const struct fb_guard *g)
{
	return !g->accepted;
}

size_t fb_guard_room(const struct fb_guard *g, size_t concurrency)
{
	return g->accepted || concurrency < FB_GUARD_PROBE ? concurrency : FB_GUARD_PROBE;
}

int fb_guard_refused(struct fb_guard *g, const struct fb_item *it, const struct fb_err *err,
		     struct fb_err *why)
{
	if (err->http_status == g->streak_status && !strcmp(err->api_code, g->streak_code)) {
		g->streak++;
	} else {
		g->streak = 1;
		g->streak_status = err->http_status;
		snprintf(g->streak_code, sizeof(g->streak_code), "%s", err->api_code);
	}
	if (g->streak >= FB_GUARD_STREAK && !g->accepted) {
		struct fb_err e = *err;
		fb_err_set(&e, FB_EHTTP, FB_KIND_BATCH,
			   "the API refused the first %u items alike (%d %s): %s; nothing more "
			   "was sent. Check the workspace (--workspace or the workspace_id "
			   "column), the project, the technique and that the API key may use them",
			   g->streak, err->http_status, err->api_code[0] ? err->api_code : "",
			   err->msg);
		if (why)
			*why = e;
		return FB_GUARD_STOP;
	}
	if (fb_guard_forbidden(g, it))
		return FB_GUARD_GO_ON;
	if (err->http_status == 403 || g->streak >= FB_GUARD_STREAK)
		return fb_guard_forbid(g, it, err) ? FB_ENOMEM : FB_GUARD_SCOPE;
	return FB_GUARD_GO_ON;
}
