/*
 * simruns: runs: creation through the nested technique route, POST
 * /runs/technique and the generation routes, their lifecycle on the
 * model's clock, and polls. Output bytes are served by simoutputs.c.
 *
 * Runs and the key -> run map are kept as simstore.c says: for the model's
 * lifetime, or until a run shown terminal is among the oldest beyond
 * cfg.retain_runs, which is the simulator's idempotency window. Keys are
 * scoped per operation (technique runs, generations), as measured, so one
 * key sent to both makes two runs; the stats show it.
 */
#include "simcore.h"
#include "error.h"
#include "item.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_LEN  255
#define PROMPT_HEAD  60
#define MAX_MODELS   255
#define OP_TECHNIQUE 't'
#define OP_GENERATE  'g'

/* The documented run error codes (CONTRACT.md §7, PT vocabulary). */
static const char *const run_errors[][2] = {
    {"model_timeout", "The model did not finish in time."},
    {"internal_error", "An internal error stopped the run."},
    {"safety_blocked", "The request was blocked by the safety filter."},
    {"input_unreachable", "An input URL could not be fetched."},
};

/* Per generation type, which is also the outputs' enum sim_media. */
static const char *const gen_types[] = {"image", "video", "audio", "text"};
static const char *const default_models[] = {"t2i-flux-2-pro", "t2v-kling-2-1", "t2a-eleven-v3",
					     "t2t-gpt-5-mini"};
static const double gen_cost[] = {0.04, 0.8, 0.1, 0.01};

/* ---- lifecycle ---- */

struct view {
	const char *status;
	int progress;
	int started, terminal;
	uint64_t started_at, completed_at; /* wall ms */
};

/*
 * The run as seen at the model's now: pending for the first tenth of its
 * run_ms, then running with progress growing linearly, then its outcome.
 * fresh: the answer to the create itself, which is always pending.
 */
static struct view run_view(const struct fb_simmodel *m, const struct fb_simrun *r, int fresh)
{
	struct view v = {"pending", 0, 0, 0, 0, 0};
	uint64_t run_ms = r->run_ms, queued = run_ms / 10;
	uint64_t elapsed = fb_clock_now_ms(m->clock) - r->created_mono;
	elapsed = elapsed > m->view_lag ? elapsed - m->view_lag : 0;
	v.started_at = r->created_wall + queued;
	v.completed_at = r->created_wall + run_ms;
	if (fresh)
		return v;
	if (elapsed >= run_ms) {
		/* Failed runs also read progress 100 and completed_at, as the real API's do. */
		v.status = r->failed ? "failed" : "completed";
		v.progress = 100;
		v.started = v.terminal = 1;
	} else if (elapsed >= queued) {
		v.status = "running";
		v.progress = (int)(elapsed * 100 / run_ms);
		v.started = 1;
	}
	return v;
}

const char *fb_simruns_status(struct fb_simmodel *m, const struct fb_simrun *r)
{
	return run_view(m, r, 0).status;
}

static long remaining_seconds(const struct fb_simmodel *m, const struct fb_simrun *r)
{
	uint64_t elapsed = fb_clock_now_ms(m->clock) - r->created_mono;
	uint64_t left = elapsed >= r->run_ms ? 0 : r->run_ms - elapsed;
	return (long)((left + 999) / 1000);
}

static int eq_id(const struct fb_simmodel *m, uint32_t idx, const void *want)
{
	return !strcmp(m->runs[idx].id, want);
}

static int eq_key(const struct fb_simmodel *m, uint32_t idx, const void *want)
{
	const struct fb_simrun *r = &m->runs[idx];
	return r->has_key && !memcmp(r->key_digest, want, SIM_DIGEST);
}

struct fb_simrun *fb_simruns_find(struct fb_simmodel *m, const char *id)
{
	long i = fb_simix_find(&m->by_id, fb_sim_hash(id, strlen(id)), eq_id, m, id);
	return i < 0 ? NULL : &m->runs[i];
}

/* What a new run is made from. */
struct spec {
	enum sim_kind kind;
	int technique, tech_form, nested, media, model, workspace, project;
	const char *key;		  /* NULL: none */
	const unsigned char *key_digest;  /* with key */
	const unsigned char *body_digest; /* SIM_DIGEST bytes */
	double quote;
	const char *prompt; /* text generations */
};

/* A copy of s cut to at most max bytes at a character boundary. */
static char *head_of(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	char *h = malloc(n + 1);
	if (h) {
		memcpy(h, s, n);
		h[n] = '\0';
	}
	return h;
}

/* Everything that can fail is done before the run is counted, so failure leaves no trace. */
static struct fb_simrun *new_run(struct fb_simmodel *m, const struct spec *sp)
{
	fb_simstore_reap(m);
	if (fb_simstore_reserve(m) || fb_simix_reserve(&m->by_id) ||
	    (sp->key && fb_simix_reserve(&m->by_key)))
		return NULL;
	char *key = sp->key ? fb_strdup(sp->key) : NULL;
	char *text = sp->prompt ? head_of(sp->prompt, PROMPT_HEAD) : NULL;
	if ((sp->key && !key) || (sp->prompt && !text)) {
		free(key);
		free(text);
		return NULL;
	}
	uint32_t slot = fb_simstore_take(m);
	struct fb_simrun *r = &m->runs[slot];
	r->key = key;
	r->text = text;
	r->seq = m->store.next_seq++;
	r->kind = (uint8_t)sp->kind;
	r->technique = (uint8_t)(sp->technique < 0 ? 0 : sp->technique);
	r->tech_form = (uint8_t)sp->tech_form;
	r->nested = (uint8_t)sp->nested;
	r->media = (uint8_t)sp->media;
	r->model = (uint8_t)sp->model;
	r->workspace = (int8_t)sp->workspace;
	r->project = (int8_t)sp->project;
	memcpy(r->body_digest, sp->body_digest, SIM_DIGEST);
	if (sp->key) {
		r->has_key = 1;
		memcpy(r->key_digest, sp->key_digest, SIM_DIGEST);
	}
	r->created_mono = fb_clock_now_ms(m->clock);
	r->created_wall = fb_clock_wall_ms(m->clock);

	/* The outcome follows the seed and the key, so a rerun of the same
	 * manifest fails the same items whatever order they were sent in;
	 * without a key, it follows the creation number. */
	uint64_t seed = m->cfg.seed;
	uint64_t src = sp->key ? fb_sim_hash(sp->key_digest, SIM_DIGEST)
			       : fb_sim_mix64(seed ^ SALT_NO_KEY ^ r->seq);
	r->failed = fb_sim_unit(fb_sim_mix64(seed ^ src ^ SALT_FAIL)) < m->cfg.fail_rate;
	r->error_idx = (uint8_t)(fb_sim_mix64(seed ^ src ^ SALT_CODE) % 4);
	double factor = 1.0 + 2.5 * fb_sim_unit(fb_sim_mix64(seed ^ src ^ SALT_COST));
	r->run_ms = fb_simpolicy_run_ms(
	    m, m->cfg.run_time_by_order ? fb_sim_mix64(seed ^ SALT_NO_KEY ^ r->seq) : src);
	r->quote = sp->quote;
	r->final_cost = r->failed ? 0.0 : round(sp->quote * factor * 1000.0) / 1000.0;
	/* Ids follow the seed and the count of runs, never the count of polls. */
	struct fb_simrun_facts facts = {r->seq, r->kind, r->media, r->failed, r->technique};
	fb_simstore_make_id(m, &facts, r->id);

	fb_simix_add(&m->by_id, fb_sim_hash(r->id, strlen(r->id)), slot);
	if (sp->key)
		fb_simix_add(&m->by_key, fb_sim_hash(sp->key_digest, SIM_DIGEST), slot);
	fb_simstore_append(m, slot);
	m->stats.runs_created++;
	if (sp->key) {
		unsigned n = fb_simruns_key_runs(m, r);
		if (n > m->stats.max_runs_per_key)
			m->stats.max_runs_per_key = n;
		m->stats.keys_with_several_runs += n == 2;
	}
	return r;
}

static int scoped_digest(const struct fb_simmodel *m, char op, const char *key, unsigned char *kd)
{
	size_t n = strlen(key);
	char scoped[MAX_KEY_LEN + 3] = {op, '\n'};
	if (n > MAX_KEY_LEN)
		return FB_EINVAL;
	memcpy(scoped + 2, key, n);
	return fb_sim_sha256(m, scoped, n + 2, kd);
}

unsigned fb_simruns_key_runs(const struct fb_simmodel *m, const struct fb_simrun *r)
{
	unsigned char kd[SIM_DIGEST];
	if (!r->key)
		return 0;
	/* No run of the other operation is kept, so no key of its scope is either. */
	if (!m->store.live[r->kind == SIM_TECHNIQUE ? SIM_GENERATION : SIM_TECHNIQUE])
		return 1;
	char other = r->kind == SIM_TECHNIQUE ? OP_GENERATE : OP_TECHNIQUE;
	if (scoped_digest(m, other, r->key, kd))
		return 1;
	return 1 + (fb_simix_find(&m->by_key, fb_sim_hash(kd, SIM_DIGEST), eq_key, m, kd) >= 0);
}

/* ---- answers ---- */

/*
 * The estimate an answer carries (--estimate): -1 for none; exact, what is
 * left of the run (all of it for the create's own answer); wrong, that
 * times three or divided by three, by the run; huge, 30 days.
 */
static long estimate(const struct fb_simmodel *m, const struct fb_simrun *r, int fresh)
{
	if (m->cfg.estimate == FB_SIM_EST_ABSENT)
		return -1;
	if (m->cfg.estimate == FB_SIM_EST_HUGE)
		return 30L * 24 * 3600;
	long s = fresh ? (long)((r->run_ms + 999) / 1000) : remaining_seconds(m, r);
	if (m->cfg.estimate == FB_SIM_EST_WRONG) {
		/* By the key, as every outcome: a rerun of a batch is misled the same way. */
		uint64_t src = r->has_key ? fb_sim_hash(r->key_digest, SIM_DIGEST) : r->seq;
		s = fb_sim_mix64(m->cfg.seed ^ src ^ SALT_ESTIMATE) & 1 ? s * 3 : s / 3;
	}
	return s;
}

/* The poll URL and the outputs' base, from parts: this runs for every answer. */
static int run_urls(const struct fb_simmodel *m, const struct fb_simrun *r, struct fb_buf *poll,
		    struct fb_buf *outs)
{
	int rc = fb_buf_add(poll, m->base_url, m->base_len);
	if (r->nested)
		rc = rc || fb_buf_adds(poll, "/techniques/") ||
		     (r->tech_form && fb_buf_add(poll, "tech_", 5)) ||
		     fb_buf_adds(poll, fb_simcat_slug(r->technique));
	rc = rc || fb_buf_add(poll, "/runs/", 6) || fb_buf_adds(poll, r->id) ||
	     fb_buf_add(outs, m->base_url, m->base_len) || fb_buf_add(outs, "/_sim/outputs/", 14) ||
	     fb_buf_adds(outs, r->id);
	return rc ? FB_ENOMEM : 0;
}

/*
 * A RunStatus. The contract's RunStatus has no estimated_seconds; with
 * --estimate exact or wrong the nested create's answer carries one all the
 * same, beyond the contract, to measure what the hint is worth to a client.
 */
static int status_members(struct fb_simmodel *m, struct fb_simjw *w, struct fb_simrun *r, int fresh,
			  int with_estimate)
{
	struct view v = run_view(m, r, fresh);
	struct fb_buf *poll = &m->poll_url, *outs = &m->output_base;
	fb_buf_reset(poll);
	fb_buf_reset(outs);
	int rc = v.terminal ? fb_simstore_shown_terminal(m, r) : 0;
	if (!rc)
		rc = run_urls(m, r, poll, outs);
	struct fb_simrun_view sv = {
	    .run_id = r->id,
	    .status = v.status,
	    .progress = v.progress,
	    .created_at = r->created_wall,
	    .started_at = v.started ? v.started_at : 0,
	    .completed_at = v.terminal ? v.completed_at : 0,
	    /* A quote until the run ends, then what it cost; failed runs are free. */
	    .charged_cost = v.terminal ? r->final_cost : r->quote,
	    .error_code = v.terminal && r->failed ? run_errors[r->error_idx][0] : NULL,
	    .error_message = v.terminal && r->failed ? run_errors[r->error_idx][1] : NULL,
	    .noutputs = v.terminal && !r->failed ? m->cfg.outputs_per_run : 0,
	    .hostile_from = fb_sim_hostile_from(m, r->seq),
	    .output_base = fb_buf_str(outs),
	    .output_type = fb_sim_media_type[r->media],
	    .output_ext = fb_sim_media_ext[r->media],
	    .poll_url = fb_buf_str(poll),
	    .estimated_seconds = with_estimate ? estimate(m, r, fresh) : -1,
	    .clean = m->base_clean,
	};
	if (!rc)
		fb_simanswer_run_members(w, &sv);
	return rc;
}

int fb_simruns_write_status(struct fb_simmodel *m, struct fb_simjw *w, struct fb_simrun *r)
{
	return status_members(m, w, r, 0, 0);
}

static int answer_status(struct fb_simmodel *m, struct fb_simresp *resp, int status,
			 struct fb_simrun *r, int fresh, int with_estimate)
{
	struct fb_simjw w;
	fb_simjw_reuse(&w, m->gen, &m->sink, m->camel);
	fb_simjw_open(&w, 0);
	w.bad |= status_members(m, &w, r, fresh, with_estimate) != 0;
	fb_simjw_close(&w, 0);
	fb_buf_reset(&resp->body);
	return fb_sim_json(resp, status, fb_simjw_finish(&w, &resp->body));
}

/* RunCreated for the top-level routes; a replay estimates what is left. */
static int answer_created(struct fb_simmodel *m, struct fb_simresp *resp, struct fb_simrun *r,
			  int fresh)
{
	struct fb_buf *poll = &m->poll_url, *outs = &m->output_base;
	fb_buf_reset(poll);
	fb_buf_reset(outs);
	char tech_id[96];
	int rc = run_urls(m, r, poll, outs);
	snprintf(tech_id, sizeof(tech_id), "tech_%s", fb_simcat_slug(r->technique));
	int tech = r->kind == SIM_TECHNIQUE;
	struct fb_simcreated_view v = {
	    .run_id = r->id,
	    .type = tech ? "technique" : "generation",
	    .estimated_seconds = estimate(m, r, fresh),
	    .charged_cost = r->quote,
	    .poll_url = fb_buf_str(poll),
	    .project_id = r->project >= 0 ? fb_simcat_project_id(r->project) : NULL,
	    .model_id = tech ? NULL : m->models[r->model],
	    .technique_id = tech ? tech_id : NULL,
	    .technique_name = tech ? fb_simcat_name(r->technique) : NULL,
	};
	fb_buf_reset(&resp->body);
	if (!rc)
		rc = fb_sim_json(resp, 201, fb_simanswer_created(&v, m->camel, &resp->body));
	return rc;
}

/* ---- gates shared by the create routes ---- */

/*
 * Looks the key up in the operation's scope. Answers a duplicate (replay,
 * 409 or 422) and returns 1; returns 0 for a new key, with its digest in kd.
 */
static int duplicate(struct fb_simmodel *m, char op, const char *key, int technique,
		     const unsigned char *body_digest, int top, unsigned char *kd,
		     struct fb_simresp *resp, int *rc)
{
	if (strlen(key) > MAX_KEY_LEN) {
		*rc = fb_sim_field_error(resp, "Idempotency-Key",
					 "String must contain at most 255 character(s)");
		return 1;
	}
	if ((*rc = scoped_digest(m, op, key, kd)))
		return 1;
	long i = fb_simix_find(&m->by_key, fb_sim_hash(kd, SIM_DIGEST), eq_key, m, kd);
	if (i < 0)
		return 0;
	struct fb_simrun *r = &m->runs[i];
	m->stats.duplicate_keys++;
	if (m->cfg.dup_mode == FB_SIM_DUP_CONFLICT) {
		/* As measured: the original run is not returned. */
		*rc =
		    fb_sim_error(resp, 409, "idempotency_duplicate", "Duplicate idempotency key.");
	} else if ((technique >= 0 && r->technique != technique) || r->nested == top ||
		   memcmp(r->body_digest, body_digest, SIM_DIGEST)) {
		*rc =
		    fb_sim_error(resp, 422, "idempotency_conflict",
				 "Idempotency key was already used with a different request body.");
	} else { /* as documented: the original response, for the run as it stands now */
		*rc = top ? answer_created(m, resp, r, 0) : answer_status(m, resp, 200, r, 0, 1);
		resp->replayed = 1;
	}
	return 1;
}

/* Debits the quote; answers 402 and returns 1 when the balance is short. */
static int charge(struct fb_simmodel *m, double quote, struct fb_simresp *resp, int *rc)
{
	if (!m->cfg.credits_limited)
		return 0;
	if (quote > m->credits + 1e-9) {
		m->stats.insufficient_credits++;
		*rc = fb_sim_error(resp, 402, "insufficient_credits", "Insufficient credits.");
		return 1;
	}
	m->credits -= quote;
	return 0;
}

static const char *header_key(const struct fb_simcall *c)
{
	return c->idem_key && *c->idem_key ? c->idem_key : NULL;
}

/* ---- routes ---- */

/*
 * Reads a create's body as kind: 0 to go on; else the answer (400, or the
 * failure in *rc) is made and the route releases rq and returns *rc.
 */
static int read_create(struct fb_simmodel *m, enum fb_simreq_kind kind, const struct fb_simcall *c,
		       struct fb_simreq *rq, struct fb_simresp *resp, int *rc)
{
	rq->md = m->sha256;
	*rc = fb_simreq_parse_as(kind, c->body, c->body_len, rq);
	if (!*rc && !rq->error_code)
		return 0;
	*rc = *rc ? *rc : fb_sim_invalid(resp, rq);
	return 1;
}

int fb_simruns_create_nested(struct fb_simmodel *m, const char *slug, const struct fb_simcall *c,
			     struct fb_simresp *resp)
{
	m->stats.creates++;
	int tech_form, t = fb_simcat_find(slug, &tech_form);
	if (t < 0)
		return fb_sim_not_found(resp, "Technique", slug);
	struct fb_simreq rq = FB_SIMREQ_INIT;
	int rc;
	if (read_create(m, FB_SIMREQ_NESTED_RUN, c, &rq, resp, &rc))
		goto out;
	/* Sent both ways (as florabatch does), the two carriers must agree. */
	const char *hdr = header_key(c);
	if (hdr && rq.idempotency_key && strcmp(hdr, rq.idempotency_key)) {
		rc = fb_sim_field_error(resp, "idempotency_key",
					"Does not match the Idempotency-Key header");
		goto out;
	}
	const char *key = hdr ? hdr : rq.idempotency_key;
	unsigned char kd[SIM_DIGEST];
	/* Runs through the nested route belong to the key's own workspace, the first. */
	if (fb_simpolicy_forbidden(m, 0, t, slug, resp, &rc) ||
	    fb_simcat_check_inputs(t, rq.inputs, rq.ninputs, 1, resp, &rc) ||
	    (key && duplicate(m, OP_TECHNIQUE, key, t, rq.digest, 0, kd, resp, &rc)) ||
	    charge(m, fb_simcat_cost(t), resp, &rc))
		goto out;
	struct spec sp = {.kind = SIM_TECHNIQUE,
			  .technique = t,
			  .tech_form = tech_form,
			  .nested = 1,
			  .media = (int)fb_simcat_media(t),
			  .workspace = 0,
			  .project = -1,
			  .key = key,
			  .key_digest = kd,
			  .body_digest = rq.digest,
			  .quote = fb_simcat_cost(t)};
	struct fb_simrun *r = new_run(m, &sp);
	rc = r ? answer_status(m, resp, 201, r, 1, 1) : FB_ENOMEM;
out:
	fb_simreq_release(&rq);
	return rc;
}

int fb_simruns_create_top(struct fb_simmodel *m, const struct fb_simcall *c,
			  struct fb_simresp *resp)
{
	m->stats.creates++;
	struct fb_simreq rq = FB_SIMREQ_INIT;
	int rc;
	if (read_create(m, FB_SIMREQ_TOP_RUN, c, &rq, resp, &rc))
		goto out;
	const char *tid = fb_json_get_str(rq.root, "technique_id");
	const char *wsid = fb_json_get_str(rq.root, "workspace_id");
	int form, t = fb_simcat_find(tid, &form), w = fb_simcat_workspace(wsid);
	const char *key = header_key(c);
	unsigned char kd[SIM_DIGEST];
	if (t < 0)
		rc = fb_sim_not_found(resp, "Technique", tid);
	else if (w < 0)
		rc = fb_sim_not_found(resp, "Workspace", wsid);
	if (t < 0 || w < 0 || fb_simpolicy_forbidden(m, w, t, tid, resp, &rc) ||
	    fb_simcat_check_inputs(t, rq.inputs, rq.ninputs, 0, resp, &rc) ||
	    (key && duplicate(m, OP_TECHNIQUE, key, t, rq.digest, 1, kd, resp, &rc)) ||
	    charge(m, fb_simcat_cost(t), resp, &rc))
		goto out;
	struct spec sp = {.kind = SIM_TECHNIQUE,
			  .technique = t,
			  .tech_form = 1,
			  .media = (int)fb_simcat_media(t),
			  .workspace = w,
			  .project = -1,
			  .key = key,
			  .key_digest = kd,
			  .body_digest = rq.digest,
			  .quote = fb_simcat_cost(t)};
	struct fb_simrun *r = new_run(m, &sp);
	rc = r ? answer_created(m, resp, r, 1) : FB_ENOMEM;
out:
	fb_simreq_release(&rq);
	return rc;
}

/* The index of model id in the interned names, adding it; -1 when out of room or memory. */
static int intern_model(struct fb_simmodel *m, const char *id)
{
	for (size_t i = 0; i < m->nmodels; i++)
		if (!strcmp(m->models[i], id))
			return (int)i;
	if (m->nmodels == MAX_MODELS)
		return -1;
	char **v = realloc(m->models, (m->nmodels + 1) * sizeof(*v));
	if (!v)
		return -1;
	m->models = v;
	if (!(v[m->nmodels] = fb_strdup(id)))
		return -1;
	return (int)m->nmodels++;
}

int fb_simruns_create_generation(struct fb_simmodel *m, const struct fb_simcall *c,
				 struct fb_simresp *resp)
{
	m->stats.creates++;
	struct fb_simreq rq = FB_SIMREQ_INIT;
	int rc;
	if (read_create(m, FB_SIMREQ_GENERATION, c, &rq, resp, &rc))
		goto out;
	const char *wsid = fb_json_get_str(rq.root, "workspace_id");
	const char *pid = fb_json_get_str(rq.root, "project_id");
	const char *type = fb_json_get_str(rq.root, "type");
	const char *model = fb_json_get_str(rq.root, "model");
	int w = fb_simcat_workspace(wsid), p = fb_simcat_project(pid), g = 0;
	while (strcmp(gen_types[g], type))
		g++;
	if (w < 0) {
		rc = fb_sim_not_found(resp, "Workspace", wsid);
		goto out;
	}
	if (p < 0 || fb_simcat_project_workspace(p) != w) {
		rc = fb_sim_error(resp, 404, "not_found",
				  "Project '%s' not found in workspace '%s'.", pid, wsid);
		goto out;
	}
	const char *key = header_key(c);
	unsigned char kd[SIM_DIGEST];
	if (fb_simpolicy_forbidden(m, w, -1, NULL, resp, &rc) ||
	    (key && duplicate(m, OP_GENERATE, key, -1, rq.digest, 1, kd, resp, &rc)))
		goto out;
	int mi = intern_model(m, model ? model : default_models[g]);
	if (mi < 0) {
		rc = m->nmodels == MAX_MODELS
			 ? fb_sim_field_error(resp, "model", "Unknown model endpoint ID")
			 : FB_ENOMEM;
		goto out;
	}
	if (charge(m, gen_cost[g], resp, &rc))
		goto out;
	struct spec sp = {.kind = SIM_GENERATION,
			  .technique = -1,
			  .media = g,
			  .model = mi,
			  .workspace = w,
			  .project = p,
			  .key = key,
			  .key_digest = kd,
			  .body_digest = rq.digest,
			  .quote = gen_cost[g],
			  .prompt = g == SIM_TEXT ? fb_json_get_str(rq.root, "prompt") : NULL};
	struct fb_simrun *r = new_run(m, &sp);
	rc = r ? answer_created(m, resp, r, 1) : FB_ENOMEM;
out:
	fb_simreq_release(&rq);
	return rc;
}

int fb_simruns_poll(struct fb_simmodel *m, const char *slug, const char *id,
		    struct fb_simresp *resp)
{
	m->stats.polls++;
	struct fb_simrun *r = fb_simruns_find(m, id);
	int tech_form;
	/* Through the nested route, the run must be a run of the technique named. */
	if (!r || (slug &&
		   (r->kind != SIM_TECHNIQUE || fb_simcat_find(slug, &tech_form) != r->technique)))
		return fb_sim_not_found(resp, "Run", id);
	return answer_status(m, resp, 200, r, 0, 0);
}

void fb_simruns_free(struct fb_simmodel *m)
{
	fb_simstore_release(m);
	fb_simix_release(&m->by_id);
	fb_simix_release(&m->by_key);
	for (size_t i = 0; i < m->nmodels; i++)
		free(m->models[i]);
	free(m->models);
}
