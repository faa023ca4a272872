/*
 * simmodel: the simulated FLORA API, as one request handler. Both the
 * in-process `sim` transport and the florasim HTTP server hand it requests
 * in the API's own terms (method, path, headers, body) and send back what
 * it answers, so the two cannot drift from each other or from CONTRACT.md.
 *
 * Runs go pending -> running (progress grows) -> completed with outputs, or
 * failed with a contract run error code, on the model's clock. Outcomes are
 * deterministic for a given seed and idempotency key (for the run id when
 * there is no key). Output bytes are real: a small PNG, WAV, MP4-shaped
 * stream or text, derived from the run id and output id. Faults (5xx,
 * resets, truncated or slow downloads) follow the seed and a per-request
 * counter, so a run of requests is reproducible.
 *
 * Fixtures: workspaces ws_accept (owner) and ws_readonly (viewer: creates
 * answer 403; every 403 names the refused workspace_id or technique_id in
 * its message and fields[]), projects prj_accept (in ws_accept) and prj_readonly, and the
 * contract's 38 example techniques (any input id is accepted; only the
 * request enum's types are checked). Memory: about 250 bytes per kept run
 * (record, ring and index slots) plus its idempotency key; runs are kept
 * for the model's lifetime unless cfg.retain_runs bounds them; output bytes
 * are made on demand; uploaded asset bytes are kept whole. Not
 * thread-safe: one call at a time.
 */
#ifndef FB_SIMMODEL_H
#define FB_SIMMODEL_H

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "simtypes.h"

#include <stdint.h>

int fb_sim_estimate_parse(const char *s, enum fb_sim_estimate *out);
const char *fb_sim_estimate_name(enum fb_sim_estimate e);

void fb_simresp_filler(uint64_t seed, uint64_t at, char *out, size_t n);
void fb_simresp_release(struct fb_simresp *r);

struct fb_simmodel;

/* clock is borrowed for the model's lifetime. Caller frees with fb_simmodel_free. */
int fb_simmodel_new(struct fb_simmodel **out, const struct fb_simmodel_config *cfg,
		    struct fb_clock *clock, struct fb_err *err);
void fb_simmodel_free(struct fb_simmodel *m);

/*
 * Handles one request (see struct fb_simcall). Fills *resp
 * (FB_SIMRESP_INIT first; it may be reused after fb_simresp_release).
 * Returns 0 when it answered (any status, errors in the contract's
 * envelope, request id always set), FB_ENOMEM otherwise.
 *
 * API routes (auth, then the rate limit, then 5xx faults, before acting):
 *   POST /techniques/{slug|tech_id}/runs        nested create -> 201 RunStatus
 *   GET  /techniques/{slug|tech_id}/runs/{id}   that technique's runs only
 *   POST /runs/technique                        -> 201 RunCreated
 *   POST /generate, POST /runs/generation       -> 201 RunCreated
 *   GET  /runs/{id}                             any run
 *   GET  /technique-runs, GET /generations      newest first, cursor pages
 *   GET  /techniques, GET /techniques/{slug|tech_id}, GET /workspaces
 *   POST /assets (JSON or multipart), GET /assets, GET /assets/{id},
 *   POST /assets/{id}/complete, POST /assets/{id}/retry
 * Simulator routes (no auth, no rate limit, no 5xx faults):
 *   POST|PUT /_sim/upload/{asset_id}            the signed upload target
 *   GET /_sim/outputs/{run_id}/out_N[.ext]      output bytes, once completed
 *                                               (hostile_names: /{output id})
 *   GET /_sim/assets/{asset_id}/{name}          an asset's bytes
 *   GET /_sim/stats                             the counters (fb_simstats), keys, endpoints
 *   POST /_sim/credits  {"add": USD} | {"set": USD} -> {"credits_left": USD};
 *                       "set" also turns the balance on; 400 for any other body,
 *                       409 conflict for "add" while credits are unlimited
 * Every 429 carries retry_after_s >= 1 (the Retry-After header); the error
 * envelope allows no extra members, so the body does not repeat it.
 * Unknown routes and wrong methods: 404 not_found. resp->content_type is
 * static or owned by the model (valid while the model lives).
 */
int fb_simmodel_handle(struct fb_simmodel *m, const struct fb_simcall *call,
		       struct fb_simresp *resp);

/* Counters for tests. */
void fb_simmodel_stats(const struct fb_simmodel *m, struct fb_simstats *out);

/*
 * What the model kept of the bytes uploaded for asset id: their sha256
 * (lowercase hex, into sha256, 65 bytes) and size. 0, or FB_EINVAL when
 * there is no such asset or nothing was uploaded for it.
 */
int fb_simmodel_asset_digest(struct fb_simmodel *m, const char *id, char *sha256, uint64_t *size);
/* The balance left when credits_limited (USD); POST /_sim/credits changes it. */
double fb_simmodel_credits(const struct fb_simmodel *m);

#endif
