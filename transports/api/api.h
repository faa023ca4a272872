/*
 * api: the FLORA API's answers, read the same way by every transport, so the
 * simulator and the real client read the very same bytes (requests are
 * built in apireq.h): liberal parsing of answers (snake_case or
 * camelCase, run id as run_id/runId/id, RunStatus or RunCreated, a page of
 * a list endpoint, a technique and a page of the catalog (apitech.c), the
 * error envelope, or a body that is not JSON at all).
 */
#ifndef FB_API_H
#define FB_API_H

#include "apireq.h"
#include "buf.h"
#include "transport.h"

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
 * Parses a page of GET /technique-runs (kind FB_JOB_TECHNIQUE or
 * FB_JOB_TECHNIQUE_ID) or GET /generations (FB_JOB_GENERATION): the array
 * under technique_runs / techniqueRuns (or generations), else under data
 * or items, each item read as fb_api_parse_run reads a run (its id may
 * also be technique_run_id or generation_id, or their camelCase), and the
 * next page's cursor from meta.next_cursor / meta.nextCursor. On 0:
 * *runs (caller frees with fb_run_list_free(*runs, *nruns); NULL when the
 * page is empty), *next_cursor (caller frees; NULL on the last page, and
 * for an empty string, which would start the list over). On failure all
 * three are NULL/0 and err says what was wrong: FB_EPARSE (kind
 * RETRYABLE) with a snippet of the body, or naming the bad item as
 * "technique_runs[3]: ...", FB_ENOMEM, or FB_EINVAL for an unknown kind.
 */
int fb_api_parse_list(const char *body, size_t len, enum fb_job_kind kind,
		      struct fb_run_info **runs, size_t *nruns, char **next_cursor,
		      struct fb_err *err);

/*
 * Parses the answer of GET /techniques/{id}: a Technique, bare or wrapped
 * as {"technique": {...}} or {"data": {...}}, in snake_case or camelCase:
 * technique_id / techniqueId / id (required), name, description, run_cost
 * / runCost (a number or a string of one, at least 0), inputs[] and
 * outputs[] of {id (required), name, type, description}; an input is
 * required unless it says "optional": true or "required": false. out is
 * overwritten; the caller releases it with fb_technique_release, also on
 * failure. 0, or FB_EPARSE (kind RETRYABLE) / FB_ENOMEM with err.
 */
int fb_api_parse_technique(const char *body, size_t len, struct fb_technique *out,
			   struct fb_err *err);

/*
 * Parses a page of GET /techniques: the array under techniques (else data
 * or items), each item read as above, and meta.next_cursor /
 * meta.nextCursor. On 0: *list (caller frees with fb_technique_list_free;
 * NULL when the page is empty), *n, *next_cursor (caller frees; NULL on
 * the last page and for an empty string). On failure all three are
 * NULL/0 and err says what was wrong, naming a bad item as
 * "techniques[3]: ...".
 */
int fb_api_parse_techniques(const char *body, size_t len, struct fb_technique **list, size_t *n,
			    char **next_cursor, struct fb_err *err);

/*
 * A catalog reply filled from a 2xx answer, for the transports: what the
 * reply's pointers point to lives in keep until fb_api_catalog_release.
 * one: the answer is one technique (GET /techniques/{id}), else a page.
 * Sets r->ok, r->techniques, r->ntechniques and r->next_cursor, or r->err
 * (with r->http_status) when the body does not parse.
 */
struct fb_api_catalog {
	struct fb_technique one;
	char *cursor;
	int is_one;
};
void fb_api_catalog_parse(const char *body, size_t len, int one, struct fb_catalog_reply *r,
			  struct fb_api_catalog *keep);
/* Frees what r and keep hold (keep must be zeroed when parse was not called). */
void fb_api_catalog_release(struct fb_catalog_reply *r, struct fb_api_catalog *keep);

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

#endif
