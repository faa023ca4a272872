/*
 * apireq: the API's requests, as bytes: for each kind of run, the route,
 * the JSON body and where the idempotency key goes (CONTRACT.md sections
 * 2, 3 and 6): the nested technique route takes it in the body and the
 * header; the top-level routes reject unknown body fields, so there it
 * goes in the header only. Also the list endpoints' query strings.
 */
#include "apireq.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

void fb_api_call_release(struct fb_api_call *call)
{
	if (!call)
		return;
	fb_buf_release(&call->path);
	fb_buf_release(&call->body);
	call->method = NULL;
	call->idem_key = NULL;
}

int fb_api_add_segment(struct fb_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			   *p == '~';
		char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		if (keep ? fb_buf_addc(b, (char)*p) : fb_buf_add(b, esc, 3))
			return FB_ENOMEM;
	}
	return 0;
}

/* ---- requests ---- */

static int gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok;
}

static int technique_create(const struct fb_run_request *req, struct fb_api_call *call,
			    struct fb_err *err)
{
	if (!req->technique || !*req->technique)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "no technique to run: give a technique slug or tech_ id");
	if (!req->inputs || !req->ninputs)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "technique %s needs at least one input", req->technique);
	for (size_t i = 0; i < req->ninputs; i++)
		if (!req->inputs[i].id || !*req->inputs[i].id || !req->inputs[i].value)
			return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
					  "input %zu of technique %s has no %s", i + 1,
					  req->technique, req->inputs[i].value ? "id" : "value");

	if (fb_buf_adds(&call->path, "/techniques/") ||
	    fb_api_add_segment(&call->path, req->technique) || fb_buf_adds(&call->path, "/runs"))
		return oom(err);

	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return oom(err);
	/* Invalid UTF-8 would be rejected by the API; say so before sending. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	int bad = yajl_gen_map_open(g) || gen_str(g, "inputs") || yajl_gen_array_open(g);
	size_t bad_input = 0;
	for (size_t i = 0; !bad && i < req->ninputs; i++) {
		const struct fb_input *in = &req->inputs[i];
		bad = yajl_gen_map_open(g) || gen_str(g, "id") || gen_str(g, in->id) ||
		      gen_str(g, "type") || gen_str(g, fb_input_type_name(in->type)) ||
		      gen_str(g, "value") || gen_str(g, in->value) || yajl_gen_map_close(g);
		bad_input = bad ? i + 1 : 0;
	}
	bad = bad || yajl_gen_array_close(g) || gen_str(g, "mode") || gen_str(g, "async") ||
	      (call->idem_key && (gen_str(g, "idempotency_key") || gen_str(g, call->idem_key))) ||
	      yajl_gen_map_close(g);

	const unsigned char *out;
	size_t outlen;
	int rc = 0;
	if (bad && bad_input)
		rc = fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				"input %zu of technique %s is not valid UTF-8", bad_input,
				req->technique);
	else if (bad)
		rc = fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				"the idempotency key of technique %s is not valid UTF-8",
				req->technique);
	else if (yajl_gen_get_buf(g, &out, &outlen) != yajl_gen_status_ok ||
		 fb_buf_add(&call->body, out, outlen))
		rc = oom(err);
	yajl_gen_free(g);
	return rc;
}

/* Hands the generator's JSON to call->body; a refusal there means invalid UTF-8. */
static int finish_body(yajl_gen g, int bad, struct fb_api_call *call, const char *what,
		       struct fb_err *err)
{
	const unsigned char *out;
	size_t outlen;
	int rc = 0;
	if (bad)
		rc = fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "%s: a value is not valid UTF-8",
				what);
	else if (yajl_gen_get_buf(g, &out, &outlen) != yajl_gen_status_ok ||
		 fb_buf_add(&call->body, out, outlen))
		rc = oom(err);
	yajl_gen_free(g);
	return rc;
}

static yajl_gen body_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g)
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

static int technique_id_create(const struct fb_run_request *req, struct fb_api_call *call,
			       struct fb_err *err)
{
	if (!req->technique || !*req->technique || !req->workspace_id || !*req->workspace_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "a top-level technique run needs a tech_ id and a ws_ id");
	if (!req->ninputs)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "technique %s needs at least one input", req->technique);
	if (fb_buf_adds(&call->path, "/runs/technique"))
		return oom(err);
	yajl_gen g = body_gen();
	if (!g)
		return oom(err);
	/* This route's inputs are an object keyed by input id, not the nested route's array. */
	int bad = yajl_gen_map_open(g) || gen_str(g, "technique_id") ||
		  gen_str(g, req->technique) || gen_str(g, "workspace_id") ||
		  gen_str(g, req->workspace_id) || gen_str(g, "inputs") || yajl_gen_map_open(g);
	for (size_t i = 0; !bad && i < req->ninputs; i++)
		bad = gen_str(g, req->inputs[i].id) || gen_str(g, req->inputs[i].value);
	bad = bad || yajl_gen_map_close(g) || yajl_gen_map_close(g);
	return finish_body(g, bad, call, req->technique, err);
}

static int generation_create(const struct fb_run_request *req, struct fb_api_call *call,
			     struct fb_err *err)
{
	if (!req->generation || !req->prompt || !*req->prompt || !req->workspace_id ||
	    !req->project_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "a generation needs a type, a prompt, a ws_ id and a prj_ id");
	if (fb_buf_adds(&call->path,
			req->legacy_generation_route ? "/runs/generation" : "/generate"))
		return oom(err);
	yajl_gen g = body_gen();
	if (!g)
		return oom(err);
	int bad = yajl_gen_map_open(g) || gen_str(g, "type") || gen_str(g, req->generation) ||
		  gen_str(g, "prompt") || gen_str(g, req->prompt) || gen_str(g, "workspace_id") ||
		  gen_str(g, req->workspace_id) || gen_str(g, "project_id") ||
		  gen_str(g, req->project_id);
	if (!bad && req->model && *req->model)
		bad = gen_str(g, "model") || gen_str(g, req->model);
	if (!bad && req->params)
		bad = gen_str(g, "params") || fb_json_gen_val(g, req->params) != 0;
	bad = bad || yajl_gen_map_close(g);
	return finish_body(g, bad, call, "generation", err);
}

int fb_api_create_call(const struct fb_run_request *req, struct fb_api_call *call,
		       struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = "POST";
	/* An empty key would be refused by the API; treat it as no key. */
	call->idem_key =
	    req->idempotency_key && *req->idempotency_key ? req->idempotency_key : NULL;
	switch (req->kind) {
	case FB_JOB_TECHNIQUE:
		return technique_create(req, call, err);
	case FB_JOB_TECHNIQUE_ID:
		return technique_id_create(req, call, err);
	case FB_JOB_GENERATION:
		return generation_create(req, call, err);
	}
	return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "unknown job kind %d", (int)req->kind);
}

int fb_api_poll_call(const struct fb_run_ref *ref, struct fb_api_call *call, struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = "GET";
	call->idem_key = NULL;
	if (!ref->run_id || !*ref->run_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "cannot poll a run without its id");
	if (ref->poll_url && *ref->poll_url)
		return fb_buf_adds(&call->path, ref->poll_url) ? oom(err) : 0;
	switch (ref->kind) {
	case FB_JOB_TECHNIQUE:
		if (!ref->technique || !*ref->technique)
			return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
					  "cannot poll run %s: no poll_url and no technique",
					  ref->run_id);
		if (fb_buf_adds(&call->path, "/techniques/") ||
		    fb_api_add_segment(&call->path, ref->technique) ||
		    fb_buf_adds(&call->path, "/runs/") ||
		    fb_api_add_segment(&call->path, ref->run_id))
			return oom(err);
		return 0;
	case FB_JOB_TECHNIQUE_ID:
	case FB_JOB_GENERATION:
		if (fb_buf_adds(&call->path, "/runs/") ||
		    fb_api_add_segment(&call->path, ref->run_id))
			return oom(err);
		return 0;
	}
	return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "unknown job kind %d", (int)ref->kind);
}

/* ---- list pages ---- */

#define LIST_LIMIT_MAX 100u /* the API's hard maximum */

/*
 * Appends "&name=value", value percent-encoded like a path segment: only
 * unreserved characters stay as they are, so a '+' cannot turn into a
 * space nor a '&' into a new parameter. NULL or empty: nothing (the route
 * reads an empty filter as none). 0 or FB_ENOMEM.
 */
static int add_param(struct fb_buf *b, const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	if (fb_buf_addc(b, '&') || fb_buf_adds(b, name) || fb_buf_addc(b, '=') ||
	    fb_api_add_segment(b, value))
		return FB_ENOMEM;
	return 0;
}

int fb_api_list_call(const struct fb_list_query *q, struct fb_api_call *call, struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = "GET";
	call->idem_key = NULL;
	if (!q)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "list: no query");
	if (q->limit > LIST_LIMIT_MAX)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "list: a page holds at most %u runs, not %u", LIST_LIMIT_MAX,
				  q->limit);
	unsigned limit = q->limit ? q->limit : LIST_LIMIT_MAX;
	const char *route;
	switch (q->kind) {
	case FB_JOB_TECHNIQUE:
	case FB_JOB_TECHNIQUE_ID:
		route = "/technique-runs";
		break;
	case FB_JOB_GENERATION:
		/* The route has no such filter: it would list every generation. */
		if (q->technique_id && *q->technique_id)
			return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
					  "list: generations cannot be filtered by technique");
		route = "/generations";
		break;
	default:
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "unknown job kind %d",
				  (int)q->kind);
	}
	if (fb_buf_adds(&call->path, route) || fb_buf_addf(&call->path, "?limit=%u", limit) ||
	    add_param(&call->path, "technique_id", q->technique_id) ||
	    add_param(&call->path, "workspace_id", q->workspace_id) ||
	    add_param(&call->path, "project_id", q->project_id) ||
	    add_param(&call->path, "status", q->status) ||
	    add_param(&call->path, "cursor", q->cursor))
		return oom(err);
	return 0;
}

/* ---- the technique catalog ---- */

int fb_api_techniques_call(const struct fb_catalog_query *q, struct fb_api_call *call,
			   struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = "GET";
	call->idem_key = NULL;
	if (!q || (q->technique && !*q->technique))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "techniques: no technique named");
	if (q->technique)
		return fb_buf_adds(&call->path, "/techniques/") ||
			       fb_api_add_segment(&call->path, q->technique)
			   ? oom(err)
			   : 0;
	if (q->limit > LIST_LIMIT_MAX)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "techniques: a page holds at most %u, not %u", LIST_LIMIT_MAX,
				  q->limit);
	if (fb_buf_addf(&call->path, "/techniques?limit=%u",
			q->limit ? q->limit : LIST_LIMIT_MAX) ||
	    add_param(&call->path, "query", q->query) ||
	    add_param(&call->path, "cursor", q->cursor))
		return oom(err);
	return 0;
}

/* ---- assets ---- */

int fb_api_asset_reserve_call(const struct fb_upload_request *req, struct fb_api_call *call,
			      struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = "POST";
	call->idem_key = NULL;
	if (!req || !req->workspace_id || !*req->workspace_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "an upload needs a ws_ id");
	call->idem_key =
	    req->idempotency_key && *req->idempotency_key ? req->idempotency_key : NULL;
	if (fb_buf_adds(&call->path, "/assets"))
		return oom(err);
	yajl_gen g = body_gen();
	if (!g)
		return oom(err);
	int bad = yajl_gen_map_open(g) || gen_str(g, "source") || gen_str(g, "signed-url") ||
		  gen_str(g, "workspace_id") || gen_str(g, req->workspace_id);
	if (!bad && req->file_name && *req->file_name)
		bad = gen_str(g, "file_name") || gen_str(g, req->file_name);
	if (!bad && req->content_type && *req->content_type)
		bad = gen_str(g, "content_type") || gen_str(g, req->content_type);
	bad = bad || yajl_gen_map_close(g);
	return finish_body(g, bad, call, "asset upload", err);
}

static int asset_route(const char *asset_id, const char *method, const char *tail,
		       struct fb_api_call *call, struct fb_err *err)
{
	fb_buf_reset(&call->path);
	fb_buf_reset(&call->body);
	call->method = method;
	call->idem_key = NULL;
	if (!asset_id || !*asset_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "no asset id");
	if (fb_buf_adds(&call->path, "/assets/") || fb_api_add_segment(&call->path, asset_id) ||
	    fb_buf_adds(&call->path, tail))
		return oom(err);
	return 0;
}

int fb_api_asset_complete_call(const char *asset_id, struct fb_api_call *call, struct fb_err *err)
{
	return asset_route(asset_id, "POST", "/complete", call, err);
}

int fb_api_asset_get_call(const char *asset_id, struct fb_api_call *call, struct fb_err *err)
{
	return asset_route(asset_id, "GET", "", call, err);
}
