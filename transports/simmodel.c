/*
 * simmodel: the simulated FLORA API: run storage, the run lifecycle on the
 * model's clock, idempotency, and routing. Validation of create bodies
 * lives in simreq.c.
 *
 * Runs and the key -> run map are kept for the model's lifetime (no 2 h or
 * 24 h key window yet): a batch is far shorter than either window, and each
 * run costs about 130 bytes plus a slot in two hash indexes.
 */
#include "simmodel.h"
#include "item.h"
#include "png.h"
#include "simanswer.h"
#include "simreq.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_URL "sim://api/v1"
#define ID_CHARS	 20 /* after "run_" / "req_" */
#define QUOTE_COST	 0.25
#define OUTPUT_DIM	 32
#define MAX_SEGS	 6

/* CONTRACT.md §4's example catalog; tech_<slug> names the same technique. */
/* clang-format off */
static const char *const catalog[] = {
	"art-directors-critique", "auto-translate", "book-drop", "cctv-cam", "character-lock",
	"cinematic-movie-generator", "color-mapping", "color-transfer", "earth-zoom-out",
	"facade-swap", "fit-checks", "glam-shots", "icon-pack", "live-like-an-amsterdammer",
	"location-scouter", "logo-stylist", "memoji-me", "moodboard-maker", "mugshot",
	"palette-pull", "product-animator", "product-lookbook-grid", "product-motion",
	"quick-reframe", "relight-technique", "room-render", "seamless-transition", "sigil",
	"sketch-to-garment", "studio-blur", "studio-shot", "tarot-pull", "texture-matchers",
	"turn-any-product-into-4-ad-visuals", "ugc-creation", "video-scene-builder", "wireframe",
	"wonder-fy",
};
/* clang-format on */
#define NCATALOG (sizeof(catalog) / sizeof(catalog[0]))

/* The documented run error codes (CONTRACT.md §7, PT vocabulary). */
static const char *const run_errors[][2] = {
    {"model_timeout", "The model did not finish in time."},
    {"internal_error", "An internal error stopped the run."},
    {"safety_blocked", "The request was blocked by the safety filter."},
    {"input_unreachable", "An input URL could not be fetched."},
};

/* Salts keep the hash streams for different purposes independent. */
enum { SALT_RUN_ID = 1, SALT_REQ_ID, SALT_FAIL, SALT_CODE, SALT_COST };

struct run {
	char id[4 + ID_CHARS + 1];
	uint8_t technique; /* index into catalog */
	uint8_t tech_form; /* created through the tech_ id, so poll_url says so too */
	uint8_t has_key;
	uint8_t failed;
	uint8_t error_idx;
	unsigned char key_digest[FB_SIMREQ_DIGEST_LEN];
	unsigned char body_digest[FB_SIMREQ_DIGEST_LEN];
	uint64_t created_mono, created_wall;
	double final_cost;
};

/* Open addressing over run indexes; a slot holds index + 1, 0 is empty. */
struct index {
	uint32_t *slots;
	size_t cap, n;
};

struct fb_simmodel {
	struct fb_simmodel_config cfg;
	char *base_url;
	size_t base_len;
	struct fb_clock *clock;
	struct run *runs;
	size_t nruns, caprun;
	struct index by_id, by_key;
	uint64_t id_counter;
	struct fb_simstats stats;
};

/* splitmix64's finaliser. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return mix64(h);
}

static double unit_interval(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static void make_id(char *dst, const char *prefix, uint64_t h)
{
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t p = strlen(prefix);
	memcpy(dst, prefix, p);
	for (size_t i = 0; i < ID_CHARS; i++) {
		if (i % 10 == 0) /* 36^10 < 2^64: ten digits per 64-bit draw */
			h = mix64(h + i);
		dst[p + i] = alnum[h % 36];
		h /= 36;
	}
	dst[p + ID_CHARS] = '\0';
}

static uint64_t run_id_hash(const struct run *r)
{
	return hash_bytes(r->id, strlen(r->id));
}

static uint64_t run_key_hash(const struct run *r)
{
	return hash_bytes(r->key_digest, sizeof(r->key_digest));
}

static int eq_id(const struct run *r, const void *want)
{
	return !strcmp(r->id, want);
}

static int eq_key(const struct run *r, const void *want)
{
	return r->has_key && !memcmp(r->key_digest, want, sizeof(r->key_digest));
}

static struct run *ix_find(const struct fb_simmodel *m, const struct index *ix, uint64_t h,
			   int (*eq)(const struct run *, const void *), const void *want)
{
	if (!ix->cap)
		return NULL;
	for (size_t i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		uint32_t s = ix->slots[i];
		if (!s)
			return NULL;
		if (eq(&m->runs[s - 1], want))
			return &m->runs[s - 1];
	}
}

static void ix_place(uint32_t *slots, size_t cap, uint64_t h, uint32_t slot)
{
	size_t i = h & (cap - 1);
	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = slot;
}

/* Makes room for one more entry, so that placing it cannot fail. */
static int ix_reserve(struct fb_simmodel *m, struct index *ix, uint64_t (*hash)(const struct run *))
{
	if ((ix->n + 1) * 2 <= ix->cap) /* keep the load under one half */
		return 0;
	size_t cap = ix->cap ? ix->cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return FB_ENOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->slots[i])
			ix_place(slots, cap, hash(&m->runs[ix->slots[i] - 1]), ix->slots[i]);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

static int sha256(const void *data, size_t len, unsigned char out[FB_SIMREQ_DIGEST_LEN])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) && n == FB_SIMREQ_DIGEST_LEN
		   ? 0
		   : FB_ENOMEM;
}

int fb_simmodel_new(struct fb_simmodel **out, const struct fb_simmodel_config *cfg,
		    struct fb_clock *clock, struct fb_err *err)
{
	*out = NULL;
	if (!cfg || !clock)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "simulator: no config or clock");
	if (!(cfg->fail_rate >= 0.0 && cfg->fail_rate <= 1.0))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: fail rate %g is outside 0..1", cfg->fail_rate);
	struct fb_simmodel *m = calloc(1, sizeof(*m));
	const char *base = cfg->base_url ? cfg->base_url : DEFAULT_BASE_URL;
	if (!m || !(m->base_url = fb_strdup(base))) {
		free(m);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "simulator: out of memory");
	}
	m->base_len = strlen(m->base_url);
	while (m->base_len && m->base_url[m->base_len - 1] == '/') /* we add the slash */
		m->base_url[--m->base_len] = '\0';
	m->cfg = *cfg;
	m->cfg.base_url = m->base_url;
	if (!m->cfg.outputs_per_run)
		m->cfg.outputs_per_run = 1;
	m->clock = clock;
	*out = m;
	return 0;
}

void fb_simmodel_free(struct fb_simmodel *m)
{
	if (!m)
		return;
	free(m->by_id.slots);
	free(m->by_key.slots);
	free(m->runs);
	free(m->base_url);
	free(m);
}

void fb_simmodel_stats(const struct fb_simmodel *m, struct fb_simstats *out)
{
	*out = m->stats;
}

void fb_simresp_release(struct fb_simresp *r)
{
	fb_buf_release(&r->body);
}

/* ---- the run lifecycle ---- */

struct view {
	const char *status;
	int progress;
	int started, terminal;
	uint64_t started_at, completed_at; /* wall ms */
};

/*
 * The run as seen at the model's now: pending for the first tenth of
 * run_ms, then running with progress growing linearly, then its outcome.
 * fresh: the answer to the create itself, which is always pending.
 */
static struct view run_view(struct fb_simmodel *m, const struct run *r, int fresh)
{
	struct view v = {"pending", 0, 0, 0, 0, 0};
	uint64_t run_ms = m->cfg.run_ms, queued = run_ms / 10;
	uint64_t elapsed = fb_clock_now_ms(m->clock) - r->created_mono;
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

static long remaining_seconds(struct fb_simmodel *m, const struct run *r)
{
	uint64_t elapsed = fb_clock_now_ms(m->clock) - r->created_mono;
	uint64_t left = elapsed >= m->cfg.run_ms ? 0 : m->cfg.run_ms - elapsed;
	return (long)((left + 999) / 1000);
}

static struct run *new_run(struct fb_simmodel *m, int technique, int tech_form,
			   const unsigned char *key_digest, const unsigned char *body_digest)
{
	if (m->nruns == m->caprun) {
		size_t cap = m->caprun ? m->caprun * 2 : 64;
		if (cap > UINT32_MAX - 1)
			return NULL;
		struct run *runs = realloc(m->runs, cap * sizeof(*runs));
		if (!runs)
			return NULL;
		m->runs = runs;
		m->caprun = cap;
	}
	struct run *r = &m->runs[m->nruns];
	memset(r, 0, sizeof(*r));
	/* Ids follow the seed and the count of runs, never the count of polls. */
	do
		make_id(r->id, "run_", mix64(m->cfg.seed ^ SALT_RUN_ID) ^ m->id_counter++);
	while (ix_find(m, &m->by_id, run_id_hash(r), eq_id, r->id));
	r->technique = (uint8_t)technique;
	r->tech_form = (uint8_t)tech_form;
	memcpy(r->body_digest, body_digest, sizeof(r->body_digest));
	if (key_digest) {
		r->has_key = 1;
		memcpy(r->key_digest, key_digest, sizeof(r->key_digest));
	}
	r->created_mono = fb_clock_now_ms(m->clock);
	r->created_wall = fb_clock_wall_ms(m->clock);

	/* The outcome follows the seed and the key, so a rerun of the same
	 * manifest fails the same items whatever order they were sent in. */
	uint64_t src = key_digest ? hash_bytes(key_digest, FB_SIMREQ_DIGEST_LEN) : run_id_hash(r);
	r->failed = unit_interval(mix64(m->cfg.seed ^ src ^ SALT_FAIL)) < m->cfg.fail_rate;
	r->error_idx = (uint8_t)(mix64(m->cfg.seed ^ src ^ SALT_CODE) % 4);
	double factor = 1.0 + 2.5 * unit_interval(mix64(m->cfg.seed ^ src ^ SALT_COST));
	r->final_cost = r->failed ? 0.0 : round(QUOTE_COST * factor * 1000.0) / 1000.0;

	if (ix_reserve(m, &m->by_id, run_id_hash) ||
	    (key_digest && ix_reserve(m, &m->by_key, run_key_hash)))
		return NULL;
	ix_place(m->by_id.slots, m->by_id.cap, run_id_hash(r), (uint32_t)m->nruns + 1);
	m->by_id.n++;
	if (key_digest) {
		ix_place(m->by_key.slots, m->by_key.cap, run_key_hash(r), (uint32_t)m->nruns + 1);
		m->by_key.n++;
	}
	m->nruns++;
	m->stats.runs_created++;
	return r;
}

static struct run *find_run(struct fb_simmodel *m, const char *id)
{
	return ix_find(m, &m->by_id, hash_bytes(id, strlen(id)), eq_id, id);
}

static int find_technique(const char *s, int *tech_form)
{
	*tech_form = !strncmp(s, "tech_", 5);
	if (*tech_form)
		s += 5;
	for (size_t i = 0; i < NCATALOG; i++)
		if (!strcmp(s, catalog[i]))
			return (int)i;
	return -1;
}

/* ---- answers ---- */

static int camel_for(const struct fb_simmodel *m)
{
	if (m->cfg.casing == FB_SIM_MIXED) /* alternate per answer, the spec's casing first */
		return !(m->stats.requests & 1);
	return m->cfg.casing == FB_SIM_CAMEL;
}

static int set_json(struct fb_simresp *resp, int status, int rc)
{
	if (rc)
		return rc;
	resp->status = status;
	resp->content_type = "application/json";
	return 0;
}

static int answer_error(struct fb_simresp *resp, int status, const char *code, const char *message,
			const struct fb_simreq_field *fields, size_t nfields)
{
	return set_json(resp, status,
			fb_simanswer_error(code, message, fields, nfields, &resp->body));
}

static int not_found(struct fb_simresp *resp, const char *what, const char *name)
{
	struct fb_buf msg = FB_BUF_INIT;
	if (fb_buf_addf(&msg, "%s '%s' not found.", what, name))
		return FB_ENOMEM;
	int rc = answer_error(resp, 404, "not_found", fb_buf_str(&msg), NULL, 0);
	fb_buf_release(&msg);
	return rc;
}

/*
 * A RunStatus answer. Answers to a create also carry estimated_seconds: the
 * nested route's RunStatus does not declare it, but RunCreated (every
 * top-level create) requires it, the schema does not forbid extra members,
 * and clients have to tolerate it on this route either way.
 */
static int answer_run(struct fb_simmodel *m, struct fb_simresp *resp, int status,
		      const struct run *r, int fresh, int with_estimate)
{
	struct view v = run_view(m, r, fresh);
	struct fb_buf poll = FB_BUF_INIT, outs = FB_BUF_INIT;
	int rc = FB_ENOMEM;
	if (fb_buf_addf(&poll, "%s/techniques/%s%s/runs/%s", m->base_url,
			r->tech_form ? "tech_" : "", catalog[r->technique], r->id) ||
	    fb_buf_addf(&outs, "%s/_sim/outputs/%s", m->base_url, r->id))
		goto out;
	struct fb_simrun_view sv = {
	    .run_id = r->id,
	    .status = v.status,
	    .progress = v.progress,
	    .created_at = r->created_wall,
	    .started_at = v.started ? v.started_at : 0,
	    .completed_at = v.terminal ? v.completed_at : 0,
	    /* A quote until the run ends, then what it cost; failed runs are free. */
	    .charged_cost = v.terminal ? r->final_cost : QUOTE_COST,
	    .error_code = v.terminal && r->failed ? run_errors[r->error_idx][0] : NULL,
	    .error_message = v.terminal && r->failed ? run_errors[r->error_idx][1] : NULL,
	    .noutputs = v.terminal && !r->failed ? m->cfg.outputs_per_run : 0,
	    .output_base = fb_buf_str(&outs),
	    .poll_url = fb_buf_str(&poll),
	    .estimated_seconds = !with_estimate ? -1
				 : fresh	? (long)((m->cfg.run_ms + 999) / 1000)
						: remaining_seconds(m, r),
	};
	rc = set_json(resp, status, fb_simanswer_run(&sv, camel_for(m), &resp->body));
out:
	fb_buf_release(&poll);
	fb_buf_release(&outs);
	return rc;
}

/* ---- routes ---- */

static int create(struct fb_simmodel *m, const char *slug, const char *idem_key, const char *body,
		  size_t body_len, struct fb_simresp *resp)
{
	m->stats.creates++;
	int tech_form, t = find_technique(slug, &tech_form);
	if (t < 0)
		return not_found(resp, "Technique", slug);

	struct fb_simreq rq = FB_SIMREQ_INIT;
	int rc = fb_simreq_parse(body, body_len, &rq);
	if (rc)
		goto out;
	if (rq.error_code) {
		rc = answer_error(resp, 400, rq.error_code, rq.message, rq.fields, rq.nfields);
		goto out;
	}
	/* Sent both ways (as florabatch does), the two carriers must agree. */
	const char *hdr = idem_key && *idem_key ? idem_key : NULL;
	if (hdr && rq.idempotency_key && strcmp(hdr, rq.idempotency_key)) {
		static const struct fb_simreq_field f = {
		    (char *)"idempotency_key", (char *)"Does not match the Idempotency-Key header"};
		rc = answer_error(resp, 400, "input_validation_error",
				  "idempotency_key: Does not match the Idempotency-Key header", &f,
				  1);
		goto out;
	}
	const char *key = hdr ? hdr : rq.idempotency_key;
	unsigned char kd[FB_SIMREQ_DIGEST_LEN];
	if (key && (rc = sha256(key, strlen(key), kd)))
		goto out;
	const struct run *r =
	    key ? ix_find(m, &m->by_key, hash_bytes(kd, sizeof(kd)), eq_key, kd) : NULL;
	if (r) {
		m->stats.duplicate_keys++;
		if (m->cfg.dup_mode == FB_SIM_DUP_CONFLICT)
			/* As measured: the original run is not returned. */
			rc = answer_error(resp, 409, "idempotency_duplicate",
					  "Duplicate idempotency key.", NULL, 0);
		else if (r->technique != t || memcmp(r->body_digest, rq.digest, sizeof(rq.digest)))
			rc = answer_error(resp, 422, "idempotency_conflict",
					  "Idempotency key was already used with a different "
					  "request body.",
					  NULL, 0);
		else { /* as documented: the original run, as it stands now */
			rc = answer_run(m, resp, 200, r, 0, 1);
			resp->replayed = 1;
		}
		goto out;
	}
	/* Only a request that creates a run records its key: a failed one releases it. */
	if (!(r = new_run(m, t, tech_form, key ? kd : NULL, rq.digest)))
		rc = FB_ENOMEM;
	else
		rc = answer_run(m, resp, 201, r, 1, 1);
out:
	fb_simreq_release(&rq);
	return rc;
}

static int poll(struct fb_simmodel *m, const char *slug, const char *id, struct fb_simresp *resp)
{
	m->stats.polls++;
	const struct run *r = find_run(m, id);
	int tech_form;
	/* Through the nested route, the run must belong to the technique named. */
	if (!r || (slug && find_technique(slug, &tech_form) != r->technique))
		return not_found(resp, "Run", id);
	return answer_run(m, resp, 200, r, 0, 0);
}

static int output(struct fb_simmodel *m, const char *id, const char *name, struct fb_simresp *resp)
{
	m->stats.fetches++;
	const struct run *r = find_run(m, id);
	char *end = NULL;
	unsigned long n = 0;
	if (!strncmp(name, "out_", 4) && name[4] >= '1' && name[4] <= '9')
		n = strtoul(name + 4, &end, 10);
	/* Outputs exist once their run has completed, not before. */
	if (!r || !end || (*end && strcmp(end, ".png")) || n > m->cfg.outputs_per_run ||
	    strcmp(run_view(m, r, 0).status, "completed"))
		return not_found(resp, "Output", name);
	int rc = fb_png_from_seed(run_id_hash(r) ^ mix64(n), OUTPUT_DIM, OUTPUT_DIM, &resp->body);
	if (rc)
		return FB_ENOMEM;
	resp->status = 200;
	resp->content_type = "image/png";
	return 0;
}

static int stats(struct fb_simmodel *m, struct fb_simresp *resp)
{
	static const char *const names[] = {"requests",	      "creates", "runs_created",
					    "duplicate_keys", "polls",	 "fetches"};
	const uint64_t v[] = {m->stats.requests,       m->stats.creates, m->stats.runs_created,
			      m->stats.duplicate_keys, m->stats.polls,	 m->stats.fetches};
	return set_json(resp, 200, fb_simanswer_counters(names, v, 6, &resp->body));
}

int fb_simmodel_handle(struct fb_simmodel *m, const struct fb_simcall *call,
		       struct fb_simresp *resp)
{
	const char *method = call->method, *path = call->path, *idem_key = call->idem_key;
	const char *body = call->body;
	size_t body_len = call->body_len;
	m->stats.requests++;
	make_id(resp->request_id, "req_", mix64(m->cfg.seed ^ SALT_REQ_ID) ^ m->stats.requests);
	resp->retry_after_s = -1;
	resp->status = 0;
	resp->replayed = 0;
	resp->fault = FB_SIM_FAULT_NONE;
	fb_buf_reset(&resp->body);

	char *mem, *seg[MAX_SEGS];
	int n = fb_simreq_split_path(m->base_url, path ? path : "", &mem, seg, MAX_SEGS);
	int get = method && !strcmp(method, "GET"), post = method && !strcmp(method, "POST");
	int rc;
	if (n < 0)
		return n;
	if (n == 3 && post && !strcmp(seg[0], "techniques") && !strcmp(seg[2], "runs"))
		rc = create(m, seg[1], idem_key, body, body_len, resp);
	else if (n == 4 && get && !strcmp(seg[0], "techniques") && !strcmp(seg[2], "runs"))
		rc = poll(m, seg[1], seg[3], resp);
	else if (n == 2 && get && !strcmp(seg[0], "runs"))
		rc = poll(m, NULL, seg[1], resp);
	else if (n == 4 && get && !strcmp(seg[0], "_sim") && !strcmp(seg[1], "outputs"))
		rc = output(m, seg[2], seg[3], resp);
	else if (n == 2 && get && !strcmp(seg[0], "_sim") && !strcmp(seg[1], "stats"))
		rc = stats(m, resp);
	else
		rc = not_found(resp, "Route", path ? path : "");
	free(mem);
	if (rc)
		fb_buf_release(&resp->body);
	return rc;
}
