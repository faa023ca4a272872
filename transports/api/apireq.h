/*
 * apireq: the FLORA API's requests as bytes, shared by every transport so
 * that the simulator and the real client send the very same requests.
 */
#ifndef FB_APIREQ_H
#define FB_APIREQ_H

#include "buf.h"
#include "transport.h"

/* One HTTP request, before a transport sends it. */
struct fb_api_call {
	const char *method;   /* "POST" or "GET"; static */
	struct fb_buf path;   /* relative to the base URL ("/techniques/x/runs"), or absolute URL */
	struct fb_buf body;   /* JSON; empty for GET */
	const char *idem_key; /* Idempotency-Key header value, borrowed from the request; or NULL */
};
/* clang-format off */
#define FB_API_CALL_INIT {NULL, FB_BUF_INIT, FB_BUF_INIT, NULL}
/* clang-format on */
void fb_api_call_release(struct fb_api_call *call);

/*
 * The create request for req, by kind (CONTRACT.md §2, §3):
 *  - FB_JOB_TECHNIQUE: POST /techniques/{slug}/runs with {"inputs":[{id,type,
 *    value}],"mode":"async","idempotency_key":K};
 *  - FB_JOB_TECHNIQUE_ID: POST /runs/technique with {"technique_id",
 *    "workspace_id","inputs":{id: value}} (key in the header only);
 *  - FB_JOB_GENERATION: POST /generate (or /runs/generation when
 *    legacy_generation_route) with {"type","prompt","workspace_id",
 *    "project_id"[,"model"][,"params"]} (key in the header only). Path segments percent-encoded.
 * Body built with yajl. An empty idempotency key counts as none (call->idem_key NULL, no field). 0,
 * or FB_EINVAL (no technique, no inputs, an input without id or value, invalid UTF-8) / FB_ENOMEM
 * with err set. call is reset first, so one call may be reused; release it with
 * fb_api_call_release, also on failure.
 */
int fb_api_create_call(const struct fb_run_request *req, struct fb_api_call *call,
		       struct fb_err *err);

/*
 * The poll request for ref: GET of its poll_url when it has one, else GET
 * /techniques/{technique}/runs/{run_id} for the nested route and
 * /runs/{run_id} for the others.
 */
int fb_api_poll_call(const struct fb_run_ref *ref, struct fb_api_call *call, struct fb_err *err);

/*
 * One page of a list endpoint (CONTRACT.md §1-§3): GET
 * /technique-runs?limit=N[&technique_id=][&workspace_id=][&project_id=]
 * [&status=][&cursor=] for FB_JOB_TECHNIQUE and FB_JOB_TECHNIQUE_ID, GET
 * /generations?limit=N[&project_id=][&workspace_id=][&status=][&cursor=]
 * for FB_JOB_GENERATION. Values percent-encoded (an opaque cursor may hold
 * '+', '/' or '='); NULL or empty filters are left out. limit 0 means 100.
 * 0, or FB_EINVAL (limit over 100, a technique_id filter on generations,
 * an unknown kind) / FB_ENOMEM with err set. call is reset first; release
 * it with fb_api_call_release, also on failure.
 */
int fb_api_list_call(const struct fb_list_query *q, struct fb_api_call *call, struct fb_err *err);

/*
 * The technique catalog (CONTRACT.md section 4): GET /techniques/{technique}
 * (the slug or id percent-encoded) when q->technique is set, else GET
 * /techniques?limit=N[&query=][&cursor=] (limit 0 means 100). 0, or
 * FB_EINVAL (an empty technique, a limit over 100) / FB_ENOMEM with err
 * set. call is reset first; release it with fb_api_call_release.
 */
int fb_api_techniques_call(const struct fb_catalog_query *q, struct fb_api_call *call,
			   struct fb_err *err);

/*
 * The asset routes (CONTRACT.md section 5). The reservation: POST /assets
 * with {"source":"signed-url","workspace_id"[,"file_name"][,"content_type"]}
 * and the key in the Idempotency-Key header only (the body allows no other
 * member). 0, or FB_EINVAL (no ws_ id, invalid UTF-8) / FB_ENOMEM with err
 * set. call is reset first; release it with fb_api_call_release, also on
 * failure. Strings in req are borrowed, idempotency_key until the call is
 * released.
 */
int fb_api_asset_reserve_call(const struct fb_upload_request *req, struct fb_api_call *call,
			      struct fb_err *err);
/* POST /assets/{asset_id}/complete, with no body. */
int fb_api_asset_complete_call(const char *asset_id, struct fb_api_call *call, struct fb_err *err);
/* GET /assets/{asset_id}. */
int fb_api_asset_get_call(const char *asset_id, struct fb_api_call *call, struct fb_err *err);

/* Percent-encodes s as one path segment onto b. 0 or FB_ENOMEM. */
int fb_api_add_segment(struct fb_buf *b, const char *s);

#endif
