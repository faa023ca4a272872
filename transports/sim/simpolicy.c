/*
 * simpolicy: the simulated account's policy and what tests measure of it:
 * the 403 gate (read-only workspaces and the forbidden list) with answers
 * that name the refused scope, the credits top-up route, the spread of run
 * durations, and the sliding window behind the peak request rates.
 */
#include "error.h"
#include "json.h"
#include "simcore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_MS   1000
#define MAX_CREDITS 1e15 /* as fb_simmodel_new accepts */

/* ---- 403 forbidden ---- */

/*
 * A 403 whose fields[] names the scope refused, so a client can tell "this
 * technique" (skip its items) from "this workspace" (stop the batch).
 */
static int refuse(struct fb_simmodel *m, struct fb_simresp *resp, const char *field,
		  const char *msg)
{
	struct fb_simreq_field f = {(char *)field, (char *)"forbidden"};
	m->stats.forbidden++;
	fb_buf_reset(&resp->body);
	return fb_sim_json(resp, 403, fb_simanswer_error("forbidden", msg, &f, 1, &resp->body));
}

int fb_simpolicy_forbidden(struct fb_simmodel *m, int w, int t, const char *tname,
			   struct fb_simresp *resp, int *rc)
{
	char msg[320];
	const char *ws = fb_simcat_workspace_id(w);
	if (!fb_simcat_writable(w)) {
		snprintf(msg, sizeof(msg), "Workspace %s is read-only for this key.", ws);
		*rc = refuse(m, resp, "workspace_id", msg);
		return 1;
	}
	/* The workspace first: the wider refusal is the one a client must act on. */
	for (char **f = m->forbidden; f && *f; f++)
		if (!strcmp(*f, ws)) {
			snprintf(msg, sizeof(msg), "Workspace %s is not available to this key.",
				 ws);
			*rc = refuse(m, resp, "workspace_id", msg);
			return 1;
		}
	for (char **f = m->forbidden; t >= 0 && f && *f; f++) {
		int form;
		if (fb_simcat_find(*f, &form) == t) {
			/* Named as the request named it, so the client can match it. */
			snprintf(msg, sizeof(msg),
				 "Technique %.200s is not available to this workspace.",
				 tname ? tname : fb_simcat_slug(t));
			*rc = refuse(m, resp, "technique_id", msg);
			return 1;
		}
	}
	return 0;
}

/* ---- POST /_sim/credits ---- */

static int credits_answer(struct fb_simmodel *m, struct fb_simresp *resp)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, 0))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simjw_datakey(&w, "credits_left");
	fb_simjw_cost(&w, m->credits);
	fb_simjw_close(&w, 0);
	fb_buf_reset(&resp->body);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}

/* Applies a parsed body; answers 400 or 409 when it cannot. */
static int apply_credits(struct fb_simmodel *m, yajl_val v, struct fb_simresp *resp)
{
	if (!YAJL_IS_OBJECT(v) || v->u.object.len != 1)
		return fb_sim_field_error(resp, "body",
					  "Expected one member: {\"add\": USD} or {\"set\": USD}");
	const char *op = v->u.object.keys[0];
	int set = !strcmp(op, "set");
	double amount;
	if (!set && strcmp(op, "add"))
		return fb_sim_field_error(resp, "body", "Expected add or set");
	if (!YAJL_IS_NUMBER(v->u.object.values[0]) || fb_json_get_double(v, op, &amount) ||
	    !isfinite(amount))
		return fb_sim_field_error(resp, op, "Expected a number of USD");
	if (!set && !m->cfg.credits_limited)
		return fb_sim_error(resp, 409, "conflict",
				    "Credits are unlimited; set a balance first.");
	double now = set ? amount : m->credits + amount;
	if (!(now >= -1e-9 && now < MAX_CREDITS))
		return fb_sim_field_error(resp, op, "The balance must stay within 0..1e15");
	m->credits = now < 0.0 ? 0.0 : now; /* a rounding hair below zero is zero */
	m->cfg.credits_limited = 1;
	return credits_answer(m, resp);
}

int fb_simpolicy_credits(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp)
{
	yajl_val v = NULL;
	/* The body is ours to check before yajl_tree_parse, which wants a C string. */
	if (c->body_len && c->body_len <= 4096 && !memchr(c->body, '\0', c->body_len) &&
	    fb_json_depth_ok(c->body, c->body_len, 4)) {
		char *text = strndup(c->body, c->body_len);
		if (!text)
			return FB_ENOMEM;
		v = yajl_tree_parse(text, NULL, 0);
		free(text);
	}
	if (!v)
		return fb_sim_error(resp, 400, "invalid_json",
				    "The body is not JSON: send {\"add\": USD} or {\"set\": USD}.");
	int rc = apply_credits(m, v, resp);
	yajl_tree_free(v);
	return rc;
}

/* ---- run durations ---- */

#define M_PI_VALUE 3.14159265358979323846

uint64_t fb_simpolicy_run_ms(const struct fb_simmodel *m, uint64_t src)
{
	double sigma = m->cfg.run_ms_sigma;
	if (sigma > 0.0 && m->cfg.run_ms) {
		/* Box-Muller from two draws: mean run_ms, median run_ms * exp(-sigma^2 / 2). */
		double u1 = fb_sim_unit(fb_sim_mix64(m->cfg.seed ^ src ^ SALT_RUN_TIME));
		double u2 = fb_sim_unit(fb_sim_mix64(m->cfg.seed ^ src ^ SALT_RUN_TIME2));
		double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI_VALUE * u2);
		double d = (double)m->cfg.run_ms * exp(sigma * z - sigma * sigma / 2.0);
		return d >= 1e12 ? (uint64_t)1e12 : (uint64_t)llround(d);
	}
	double p = m->cfg.run_ms_jitter;
	if (p <= 0.0 || !m->cfg.run_ms)
		return m->cfg.run_ms;
	double u = fb_sim_unit(fb_sim_mix64(m->cfg.seed ^ src ^ SALT_RUN_TIME));
	double d = (double)m->cfg.run_ms * (1.0 + p * (2.0 * u - 1.0));
	return d <= 0.0 ? 0 : (uint64_t)llround(d);
}

/* ---- the observed request rate ---- */

int fb_simwindow_note(struct fb_simwindow *w, uint64_t now)
{
	/* Drop what left the window (now - WINDOW_MS, now]; the clock never goes back. */
	while (w->len && w->e[w->head].t + WINDOW_MS <= now) {
		w->total -= w->e[w->head].n;
		w->head = (w->head + 1) % w->cap;
		w->len--;
	}
	struct fb_simwindow_ms *last = w->len ? &w->e[(w->head + w->len - 1) % w->cap] : NULL;
	if (last && last->t == now) {
		last->n++;
	} else {
		if (w->len == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 64;
			struct fb_simwindow_ms *e = malloc(cap * sizeof(*e));
			if (!e)
				return FB_ENOMEM;
			for (size_t i = 0; i < w->len; i++) /* unwrap, oldest first */
				e[i] = w->e[(w->head + i) % w->cap];
			free(w->e);
			w->e = e;
			w->cap = cap;
			w->head = 0;
		}
		w->e[(w->head + w->len++) % w->cap] = (struct fb_simwindow_ms){now, 1};
	}
	if (++w->total > w->peak)
		w->peak = w->total;
	return 0;
}

void fb_simwindow_release(struct fb_simwindow *w)
{
	free(w->e);
	memset(w, 0, sizeof(*w));
}
