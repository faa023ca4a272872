/*
 * api: the FLORA API's wire format, shared by every transport so that the
 * simulator and the real client build and read the very same bytes:
 * request paths and bodies, and liberal parsing of answers (snake_case or
 * camelCase, run id as run_id/runId/id, RunStatus or RunCreated, the error
 * envelope, or a body that is not JSON at all).
 */
#ifndef FB_API_H
#define FB_API_H

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
 * The create request for req, per CONTRACT.md §2: POST
 * /techniques/{slug}/runs with {"inputs":[{id,type,value}],"mode":"async",
 * "idempotency_key":K}. Path segments percent-encoded. Body built with yajl.
 * An empty idempotency key counts as none (call->idem_key NULL, no field).
 * 0, or FB_EINVAL (no technique, no inputs, an input without id or value,
 * invalid UTF-8) / FB_ENOMEM with err set. call is reset first, so one call
 * may be reused; release it with fb_api_call_release, also on failure.
 */
int fb_api_create_call(const struct fb_run_request *req, struct fb_api_call *call,
		       struct fb_err *err);

/*
 * The poll request for ref: GET of its poll_url when it has one, else GET
 * /techniques/{technique}/runs/{run_id}.
 */
int fb_api_poll_call(const struct fb_run_ref *ref, struct fb_api_call *call, struct fb_err *err);

/*
 * Parses a RunStatus or RunCreated body (len bytes, not NUL-terminated)
 * into out, which is overwritten first (pass it zeroed or released) and
 * which the caller releases with fb_run_info_release, also on failure.
 * Accepts snake_case and camelCase, the run id as run_id, runId or id,
 * status case-insensitively (succeeded/success mean completed;
 * error/cancelled/canceled mean failed; no status means FB_RUN_UNKNOWN),
 * numbers given as strings, outputs[] with output_id/outputId (else
 * "output-<n>") and a type inferred from the URL when missing, and the run
 * wrapped as {"run": {...}} or {"data": {...}}. Requires a run id. Returns 0, or
 * FB_EPARSE with err saying what was wrong (err->kind FB_KIND_RETRYABLE:
 * a garbled answer may be a proxy's, and a poll is safe to repeat).
 */
int fb_api_parse_run(const char *body, size_t len, struct fb_run_info *out, struct fb_err *err);

/*
 * Fills err for a non-2xx answer: code FB_EHTTP, http_status, api_code and
 * msg from the error envelope {"error":{"code","message","fields"}} (fields
 * appended to msg as "field: message"), or, for a body that is not the
 * envelope, "HTTP <status>: <first 200 bytes, control characters escaped>".
 * request_id (may be NULL) is appended to msg as " (request-id req_…)".
 * err->kind comes from fb_err_kind_for_http.
 */
void fb_api_parse_error(int http_status, const char *body, size_t len, const char *request_id,
			struct fb_err *err);

/* Percent-encodes s as one path segment onto b. 0 or FB_ENOMEM. */
int fb_api_add_segment(struct fb_buf *b, const char *s);

#endif
