/*
 * simmodel: the simulated FLORA API's entry point: the model's setup,
 * routing, the gates every API request passes (auth, rate limit, 5xx
 * faults, connection resets around creates) and the stats route. The
 * routes themselves live in simruns.c, simoutputs.c, simlist.c,
 * simcatalog.c, simassets.c and simupload.c.
 */
#include "simmodel.h"
#include "item.h"
#include "simcore.h"
#include "json.h"
#include "simmultipart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_URL "sim://api/v1"
#define MAX_SEGS	 6

/* clang-format off */
static const char *const ep_names[EP_COUNT] = {
	[EP_OTHER] = "other",
	[EP_NESTED_CREATE] = "POST /techniques/{id}/runs",
	[EP_NESTED_GET] = "GET /techniques/{id}/runs/{run_id}",
	[EP_RUN_GET] = "GET /runs/{id}",
	[EP_TOP_CREATE] = "POST /runs/technique",
	[EP_GEN_LEGACY] = "POST /runs/generation",
	[EP_GENERATE] = "POST /generate",
	[EP_TECH_RUNS] = "GET /technique-runs",
	[EP_GENERATIONS] = "GET /generations",
	[EP_TECHNIQUES] = "GET /techniques",
	[EP_TECHNIQUE] = "GET /techniques/{id}",
	[EP_WORKSPACES] = "GET /workspaces",
	[EP_ASSET_CREATE] = "POST /assets",
	[EP_ASSET_LIST] = "GET /assets",
	[EP_ASSET_GET] = "GET /assets/{id}",
	[EP_ASSET_COMPLETE] = "POST /assets/{id}/complete",
	[EP_ASSET_RETRY] = "POST /assets/{id}/retry",
	[EP_SIM_UPLOAD] = "POST /_sim/upload/{id}",
	[EP_SIM_OUTPUT] = "GET /_sim/outputs/{run_id}/{output_id}",
	[EP_SIM_ASSET] = "GET /_sim/assets/{id}/{name}",
	[EP_SIM_STATS] = "GET /_sim/stats",
	[EP_SIM_CREDITS] = "POST /_sim/credits",
};
/* clang-format on */

static int rate_ok(double v)
{
	return v >= 0.0 && v <= 1.0; /* false for NaN too */
}

/* Splits the comma-separated forbidden list into a NULL-terminated array. */
static int split_forbidden(struct fb_simmodel *m, const char *list)
{
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	if (!(m->forbidden = calloc(n + 1, sizeof(*m->forbidden))))
		return FB_ENOMEM;
	size_t k = 0;
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		const char *s = p, *e = p + len;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			if (!(m->forbidden[k] = strndup(s, (size_t)(e - s))))
				return FB_ENOMEM;
			k++;
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static const char *const estimate_names[] = {"absent", "exact", "wrong", "huge"};

int fb_sim_estimate_parse(const char *s, enum fb_sim_estimate *out)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, estimate_names[i])) {
			*out = (enum fb_sim_estimate)i;
			return 0;
		}
	return FB_EINVAL;
}

const char *fb_sim_estimate_name(enum fb_sim_estimate e)
{
	return (unsigned)e < 4 ? estimate_names[e] : "?";
}

int fb_simmodel_new(struct fb_simmodel **out, const struct fb_simmodel_config *cfg,
		    struct fb_clock *clock, struct fb_err *err)
{
	*out = NULL;
	if (!cfg || !clock)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "simulator: no config or clock");
	if (!rate_ok(cfg->fail_rate))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: fail rate %g is outside 0..1", cfg->fail_rate);
	if (!rate_ok(cfg->run_ms_jitter))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: run time jitter %g is outside 0..1",
				  cfg->run_ms_jitter);
	if (!(cfg->run_ms_sigma >= 0 && cfg->run_ms_sigma <= 3))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: run time sigma %g is outside 0..3",
				  cfg->run_ms_sigma);
	if (cfg->page_cap > 100)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: page cap %u is outside 1..100", cfg->page_cap);
	const double rates[] = {cfg->fault_5xx_rate,	      cfg->fault_html_rate,
				cfg->fault_reset_before_rate, cfg->fault_reset_after_rate,
				cfg->fault_truncate_rate,     cfg->fault_slow_rate};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (!rate_ok(rates[i]))
			return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
					  "simulator: fault rate %g is outside 0..1", rates[i]);
	if (!rate_ok(cfg->fault_reset_before_rate + cfg->fault_reset_after_rate))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "simulator: the two reset rates add up to more than 1");
	if (!(cfg->rate_limit_rps >= 0.0 && cfg->rate_limit_rps < 1e9) ||
	    !(cfg->credits >= 0.0 && cfg->credits < 1e15))
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "simulator: rate limit and credits must be finite and not negative");
	struct fb_simmodel *m = calloc(1, sizeof(*m));
	if (!m)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "simulator: out of memory");
	m->cfg = *cfg;
	const char *base = cfg->base_url ? cfg->base_url : DEFAULT_BASE_URL;
	if (!(m->base_url = fb_strdup(base)) ||
	    (cfg->api_key && *cfg->api_key && !(m->api_key = fb_strdup(cfg->api_key))) ||
	    (cfg->forbidden && split_forbidden(m, cfg->forbidden)) ||
	    fb_png_stamp_init(&m->png, SIM_OUTPUT_DIM, SIM_OUTPUT_DIM) ||
	    !(m->gen = fb_simjw_gen_new(&m->sink)) ||
	    !(m->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
		fb_simmodel_free(m);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "simulator: out of memory");
	}
	m->base_len = strlen(m->base_url);
	while (m->base_len && m->base_url[m->base_len - 1] == '/') /* we add the slash */
		m->base_url[--m->base_len] = '\0';
	m->base_clean = fb_json_utf8_valid(m->base_url, m->base_len);
	m->cfg.base_url = m->base_url;
	m->cfg.api_key = m->api_key;
	m->cfg.forbidden = NULL; /* read through m->forbidden */
	if (!m->cfg.outputs_per_run)
		m->cfg.outputs_per_run = 1;
	m->credits = cfg->credits;
	m->clock = clock;
	*out = m;
	return 0;
}

void fb_simmodel_free(struct fb_simmodel *m)
{
	if (!m)
		return;
	fb_simruns_free(m);
	fb_simassets_free(m);
	fb_png_stamp_release(&m->png);
	if (m->gen)
		yajl_gen_free(m->gen);
	fb_buf_release(&m->sink.buf);
	fb_buf_release(&m->poll_url);
	fb_buf_release(&m->output_base);
	EVP_MD_free(m->sha256);
	fb_simwindow_release(&m->req_window);
	fb_simwindow_release(&m->create_window);
	for (char **f = m->forbidden; f && *f; f++)
		free(*f);
	free(m->forbidden);
	free(m->api_key);
	free(m->base_url);
	free(m);
}

void fb_simmodel_stats(const struct fb_simmodel *m, struct fb_simstats *out)
{
	*out = m->stats;
	out->runs_forgotten = m->store.forgotten;
	out->max_requests_per_second = m->req_window.peak;
	out->max_creates_per_second = m->create_window.peak;
}

double fb_simmodel_credits(const struct fb_simmodel *m)
{
	return m->credits;
}

void fb_simresp_release(struct fb_simresp *r)
{
	fb_buf_release(&r->body);
}

/* ---- gates ---- */

static int ieq_prefix(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if ((*s | 0x20) != (*prefix | 0x20))
			return 0;
	return 1;
}

/* Answers 401 and returns 1 unless the request carries "Bearer <api_key>". */
static int refuse_auth(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp,
		       int *rc)
{
	if (!m->api_key)
		return 0;
	const char *a = c->authorization;
	if (a && ieq_prefix(a, "bearer ")) {
		const char *k = a + 7;
		while (*k == ' ')
			k++;
		if (!strcmp(k, m->api_key))
			return 0;
	}
	m->stats.unauthorized++;
	if (!a || !*a)
		*rc = fb_sim_error(resp, 401, "unauthorized",
				   "Missing API key: send Authorization: Bearer <key>.");
	else
		*rc = fb_sim_error(resp, 401, "invalid_api_key", "Invalid API key.");
	return 1;
}

/* A token bucket on the model's clock over every API request; answers 429 when empty. */
static int refuse_rate(struct fb_simmodel *m, struct fb_simresp *resp, int *rc)
{
	double rps = m->cfg.rate_limit_rps;
	if (rps <= 0.0)
		return 0;
	double burst = m->cfg.rate_burst ? m->cfg.rate_burst : fmax(1.0, ceil(rps));
	uint64_t now = fb_clock_now_ms(m->clock);
	if (!m->bucket_started) {
		m->tokens = burst;
		m->bucket_started = 1;
	} else {
		m->tokens = fmin(burst, m->tokens + (double)(now - m->bucket_ms) * rps / 1000.0);
	}
	m->bucket_ms = now;
	if (m->tokens >= 1.0 - 1e-9) { /* a whole token, give or take rounding */
		m->tokens -= 1.0;
		return 0;
	}
	m->stats.rate_limited++;
	double wait = ceil((1.0 - m->tokens) / rps - 1e-9);
	*rc = fb_sim_error(resp, 429, "rate_limited", "Rate limit exceeded.");
	resp->retry_after_s = wait < 1.0 ? 1 : (long)wait;
	return 1;
}

static uint64_t request_draw(const struct fb_simmodel *m, uint64_t salt)
{
	return fb_sim_mix64(m->cfg.seed ^ salt ^ fb_sim_mix64(m->stats.requests));
}

/* A seeded share of requests fails with 500 or 503 before acting, some as a proxy's HTML. */
static int refuse_5xx(struct fb_simmodel *m, struct fb_simresp *resp, int *rc)
{
	uint64_t h = request_draw(m, SALT_5XX);
	if (fb_sim_unit(h) >= m->cfg.fault_5xx_rate)
		return 0;
	m->stats.faults_5xx++;
	int unavailable = fb_sim_mix64(h) & 1;
	if (fb_sim_unit(request_draw(m, SALT_HTML)) < m->cfg.fault_html_rate) {
		const char *title = unavailable ? "503 Service Temporarily Unavailable"
						: "500 Internal Server Error";
		fb_buf_reset(&resp->body);
		*rc =
		    fb_buf_addf(&resp->body,
				"<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>"
				"%s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</"
				"html>\r\n",
				title, title);
		resp->status = unavailable ? 503 : 500;
		resp->content_type = "text/html";
	} else if (unavailable) {
		*rc = fb_sim_error(resp, 503, "service_unavailable",
				   "The service is temporarily unavailable.");
	} else {
		*rc = fb_sim_error(resp, 500, "internal_error", "An internal error occurred.");
	}
	return 1;
}

/* ---- routing ---- */

static enum sim_ep classify(const char *method, char **seg, int n)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	const char *s0 = n > 0 ? seg[0] : "", *s1 = n > 1 ? seg[1] : "", *s2 = n > 2 ? seg[2] : "";
	if (!strcmp(s0, "_sim")) {
		if (n == 3 && !strcmp(s1, "upload") && (post || !strcmp(method, "PUT")))
			return EP_SIM_UPLOAD;
		if (n == 4 && get && !strcmp(s1, "outputs"))
			return EP_SIM_OUTPUT;
		if (n == 4 && get && !strcmp(s1, "assets"))
			return EP_SIM_ASSET;
		if (n == 2 && post && !strcmp(s1, "credits"))
			return EP_SIM_CREDITS;
		return n == 2 && get && !strcmp(s1, "stats") ? EP_SIM_STATS : EP_OTHER;
	}
	if (!strcmp(s0, "techniques")) {
		if (n == 1 && get)
			return EP_TECHNIQUES;
		if (n == 2 && get)
			return EP_TECHNIQUE;
		if (n == 3 && post && !strcmp(s2, "runs"))
			return EP_NESTED_CREATE;
		return n == 4 && get && !strcmp(s2, "runs") ? EP_NESTED_GET : EP_OTHER;
	}
	if (!strcmp(s0, "runs") && n == 2) {
		if (post)
			return !strcmp(s1, "technique")	   ? EP_TOP_CREATE
			       : !strcmp(s1, "generation") ? EP_GEN_LEGACY
							   : EP_OTHER;
		return get ? EP_RUN_GET : EP_OTHER;
	}
	if (!strcmp(s0, "assets")) {
		if (n == 1)
			return post ? EP_ASSET_CREATE : get ? EP_ASSET_LIST : EP_OTHER;
		if (n == 2 && get)
			return EP_ASSET_GET;
		if (n == 3 && post)
			return !strcmp(s2, "complete") ? EP_ASSET_COMPLETE
			       : !strcmp(s2, "retry")  ? EP_ASSET_RETRY
						       : EP_OTHER;
		return EP_OTHER;
	}
	if (n == 1 && post && !strcmp(s0, "generate"))
		return EP_GENERATE;
	if (n == 1 && get && !strcmp(s0, "technique-runs"))
		return EP_TECH_RUNS;
	if (n == 1 && get && !strcmp(s0, "generations"))
		return EP_GENERATIONS;
	if (n == 1 && get && !strcmp(s0, "workspaces"))
		return EP_WORKSPACES;
	return EP_OTHER;
}

static int is_create(enum sim_ep ep)
{
	return ep == EP_NESTED_CREATE || ep == EP_TOP_CREATE || ep == EP_GEN_LEGACY ||
	       ep == EP_GENERATE;
}

static int stats_answer(struct fb_simmodel *m, struct fb_simresp *resp);

static int dispatch(struct fb_simmodel *m, enum sim_ep ep, char **seg, const struct fb_simcall *c,
		    struct fb_simresp *resp)
{
	struct fb_simquery q;
	int rc;
	switch (ep) {
	case EP_NESTED_CREATE:
		return fb_simruns_create_nested(m, seg[1], c, resp);
	case EP_NESTED_GET:
		return fb_simruns_poll(m, seg[1], seg[3], resp);
	case EP_RUN_GET:
		return fb_simruns_poll(m, NULL, seg[1], resp);
	case EP_TOP_CREATE:
		return fb_simruns_create_top(m, c, resp);
	case EP_GEN_LEGACY:
	case EP_GENERATE:
		return fb_simruns_create_generation(m, c, resp);
	case EP_TECHNIQUE:
		return fb_simcat_get(m, seg[1], resp);
	case EP_WORKSPACES:
		return fb_simcat_workspaces(m, resp);
	case EP_ASSET_CREATE:
		/* A form is the one-call upload (simupload.c); JSON reserves an asset. */
		if (fb_simmp_is_form(c->content_type))
			return fb_simupload_direct(m, c, resp);
		return fb_simassets_create(m, c, resp);
	case EP_ASSET_GET:
		return fb_simassets_get(m, seg[1], resp);
	case EP_ASSET_COMPLETE:
		return fb_simassets_complete(m, seg[1], resp);
	case EP_ASSET_RETRY:
		return fb_simassets_retry(m, seg[1], resp);
	case EP_SIM_UPLOAD:
		return fb_simupload_receive(m, seg[2], c, resp);
	case EP_SIM_OUTPUT:
		return fb_simoutputs_get(m, seg[2], seg[3], resp);
	case EP_SIM_ASSET:
		return fb_simupload_serve(m, seg[2], seg[3], resp);
	case EP_SIM_STATS:
		return stats_answer(m, resp);
	case EP_SIM_CREDITS:
		return fb_simpolicy_credits(m, c, resp);
	case EP_TECH_RUNS:
	case EP_GENERATIONS:
	case EP_TECHNIQUES:
	case EP_ASSET_LIST:
		if ((rc = fb_simreq_query(c->path, &q)) == 0)
			rc = ep == EP_TECHNIQUES ? fb_simcat_list(m, &q, resp)
			     : ep == EP_ASSET_LIST
				 ? fb_simassets_list(m, &q, resp)
				 : fb_simlist_runs(
				       m, ep == EP_TECH_RUNS ? SIM_TECHNIQUE : SIM_GENERATION, &q,
				       resp);
		fb_simquery_release(&q);
		return rc;
	default:
		return fb_sim_not_found(resp, "Route", c->path);
	}
}

/* Decides, before acting, whether a create meets a connection reset before or after it acts. */
static enum fb_sim_fault reset_for(struct fb_simmodel *m)
{
	double u = fb_sim_unit(request_draw(m, SALT_RESET));
	if (u < m->cfg.fault_reset_before_rate)
		return FB_SIM_FAULT_RESET_BEFORE;
	if (u < m->cfg.fault_reset_before_rate + m->cfg.fault_reset_after_rate)
		return FB_SIM_FAULT_RESET_AFTER;
	return FB_SIM_FAULT_NONE;
}

int fb_simmodel_handle(struct fb_simmodel *m, const struct fb_simcall *call,
		       struct fb_simresp *resp)
{
	m->stats.requests++;
	fb_sim_make_id(resp->request_id, "req_",
		       fb_sim_mix64(m->cfg.seed ^ SALT_REQ_ID) ^ m->stats.requests);
	resp->retry_after_s = -1;
	resp->status = 0;
	resp->replayed = 0;
	resp->fault = FB_SIM_FAULT_NONE;
	fb_buf_reset(&resp->body);
	/* MIXED alternates per answer, the spec's casing first. */
	m->camel = m->cfg.casing == FB_SIM_MIXED ? !(m->stats.requests & 1)
						 : m->cfg.casing == FB_SIM_CAMEL;

	const char *path = call->path ? call->path : "";
	char *mem, *seg[MAX_SEGS];
	int n = fb_simreq_split_path(m->base_url, path, &mem, seg, MAX_SEGS);
	if (n < 0)
		return n;
	enum sim_ep ep = classify(call->method ? call->method : "", seg, n);
	m->endpoints[ep]++;
	int rc = 0, api = !(n > 0 && !strcmp(seg[0], "_sim"));
	/* Counted on arrival, refused or not: the peaks measure the client, not the model. */
	uint64_t now = fb_clock_now_ms(m->clock);
	if (api && (fb_simwindow_note(&m->req_window, now) ||
		    (is_create(ep) && fb_simwindow_note(&m->create_window, now)))) {
		free(mem);
		return FB_ENOMEM;
	}
	enum fb_sim_fault reset = api && is_create(ep) ? reset_for(m) : FB_SIM_FAULT_NONE;
	if (api && (refuse_auth(m, call, resp, &rc) || refuse_rate(m, resp, &rc) ||
		    refuse_5xx(m, resp, &rc))) {
		/* answered */
	} else if (reset == FB_SIM_FAULT_RESET_BEFORE) {
		m->stats.resets++;
		resp->fault = reset;
		rc = fb_sim_error(resp, 503, "service_unavailable",
				  "The connection was reset before the request was read.");
	} else {
		rc = dispatch(m, ep, seg, call, resp);
		if (!rc && reset == FB_SIM_FAULT_RESET_AFTER && resp->status / 100 == 2) {
			m->stats.resets++;
			resp->fault = reset;
		}
	}
	free(mem);
	if (rc)
		fb_buf_release(&resp->body);
	return rc;
}

/* ---- GET /_sim/stats ---- */

static int stats_answer(struct fb_simmodel *m, struct fb_simresp *resp)
{
	const struct fb_simstats *s = &m->stats;
	const struct {
		const char *name;
		uint64_t v;
	} counters[] = {
	    {"requests", s->requests},
	    {"creates", s->creates},
	    {"runs_created", s->runs_created},
	    {"duplicate_keys", s->duplicate_keys},
	    {"polls", s->polls},
	    {"fetches", s->fetches},
	    {"lists", s->lists},
	    {"unauthorized", s->unauthorized},
	    {"rate_limited", s->rate_limited},
	    {"faults_5xx", s->faults_5xx},
	    {"resets", s->resets},
	    {"truncated", s->truncated},
	    {"insufficient_credits", s->insufficient_credits},
	    {"forbidden", s->forbidden},
	    {"assets_created", s->assets_created},
	    {"max_runs_per_key", s->max_runs_per_key},
	    {"keys_with_several_runs", s->keys_with_several_runs},
	    {"runs_forgotten", m->store.forgotten},
	    {"max_requests_per_second", m->req_window.peak},
	    {"max_creates_per_second", m->create_window.peak},
	};
	struct fb_simjw w;
	if (fb_simjw_start(&w, 0)) /* the simulator's own answer: always snake_case */
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		fb_simjw_datakey(&w, counters[i].name);
		fb_simjw_int(&w, (long long)counters[i].v);
	}
	if (m->cfg.credits_limited) {
		fb_simjw_datakey(&w, "credits_left");
		fb_simjw_cost(&w, m->credits);
	}
	/* One member per key of a kept run: a key with runs in both scopes is named once, by its
	 * technique run. */
	fb_simjw_datakey(&w, "keys");
	fb_simjw_open(&w, 0);
	const struct fb_simstore *st = &m->store;
	for (uint64_t seq = st->obase; seq < st->obase + st->on && !w.bad; seq++) {
		long slot = fb_simstore_at(m, seq);
		if (slot < 0)
			continue;
		const struct fb_simrun *r = &m->runs[slot];
		unsigned k = fb_simruns_key_runs(m, r);
		if (!k || (k == 2 && r->kind != SIM_TECHNIQUE))
			continue;
		fb_simjw_datakey(&w, r->key);
		fb_simjw_int(&w, k);
	}
	fb_simjw_close(&w, 0);
	fb_simjw_datakey(&w, "endpoints");
	fb_simjw_open(&w, 0);
	for (size_t i = 0; i < EP_COUNT; i++)
		if (m->endpoints[i]) {
			fb_simjw_datakey(&w, ep_names[i]);
			fb_simjw_int(&w, (long long)m->endpoints[i]);
		}
	fb_simjw_close(&w, 0);
	fb_simjw_close(&w, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}
