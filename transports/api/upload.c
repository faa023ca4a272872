/*
 * upload: the steps of an asset upload (see upload.h). Each answer either
 * moves the op on or ends it with that step's error; the caller retries
 * the whole upload with the same key, so no step is retried here.
 */
#include "upload.h"
#include "api.h"
#include "item.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void free_req(struct fb_upload_request *r)
{
	free((char *)r->path);
	free((char *)r->file_name);
	free((char *)r->content_type);
	free((char *)r->workspace_id);
	free((char *)r->idempotency_key);
}

void fb_upload_op_free(struct fb_upload_op *op)
{
	if (!op)
		return;
	free_req(&op->req);
	fb_api_asset_release(&op->asset);
	free(op);
}

/* Copies s (NULL stays NULL); 0, or 1 when memory ran out. */
static int dup_opt(const char *s, const char **dst)
{
	*dst = NULL;
	return s && !(*dst = fb_strdup(s));
}

int fb_upload_op_new(const struct fb_upload_request *req, fb_upload_cb cb, void *ud,
		     struct fb_upload_op **out, struct fb_err *err)
{
	*out = NULL;
	if (!req || !cb || !req->path || !*req->path)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "upload: no file or callback");
	if (!req->workspace_id || !*req->workspace_id)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "upload of %s: no ws_ id to upload to", req->path);
	struct stat st;
	FILE *f = NULL;
	if (stat(req->path, &st) || !(f = fopen(req->path, "rb")))
		return fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot upload %s: %s", req->path,
				  strerror(errno));
	fclose(f);
	if (!S_ISREG(st.st_mode))
		return fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot upload %s: not a regular file",
				  req->path);
	struct fb_upload_op *op = calloc(1, sizeof(*op));
	if (!op)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	const char *base = strrchr(req->path, '/');
	const char *name = req->file_name && *req->file_name ? req->file_name
			   : base			     ? base + 1
							     : req->path;
	if (dup_opt(req->path, &op->req.path) || dup_opt(name, &op->req.file_name) ||
	    dup_opt(req->content_type, &op->req.content_type) ||
	    dup_opt(req->workspace_id, &op->req.workspace_id) ||
	    dup_opt(req->idempotency_key, &op->req.idempotency_key)) {
		fb_upload_op_free(op);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	op->cb = cb;
	op->ud = ud;
	op->step = FB_UPLOAD_RESERVE;
	*out = op;
	return 0;
}

int fb_upload_op_call(const struct fb_upload_op *op, struct fb_api_call *call, struct fb_err *err)
{
	switch (op->step) {
	case FB_UPLOAD_RESERVE:
		return fb_api_asset_reserve_call(&op->req, call, err);
	case FB_UPLOAD_COMPLETE:
		return fb_api_asset_complete_call(op->asset.asset_id, call, err);
	case FB_UPLOAD_POLL:
		return fb_api_asset_get_call(op->asset.asset_id, call, err);
	default:
		return fb_err_set(err, FB_ESTATE, FB_KIND_ITEM, "upload: no API call at this step");
	}
}

const char *fb_upload_op_target(const struct fb_upload_op *op, int *put)
{
	*put = !op->asset.upload_url && op->asset.put_url;
	return *put ? op->asset.put_url : op->asset.upload_url;
}

static void finish(struct fb_upload_op *op, const struct fb_upload_answer *a,
		   const struct fb_err *err, const char *url)
{
	struct fb_upload_reply r;
	memset(&r, 0, sizeof(r));
	r.retry_after_ms = -1;
	if (a) {
		r.http_status = a->http_status;
		r.request_id = a->request_id;
		r.retry_after_ms = a->retry_after_ms;
	}
	if (err) {
		r.err = *err;
		if (!r.err.http_status)
			r.err.http_status = r.http_status;
	} else {
		r.ok = 1;
		r.asset_id = op->asset.asset_id;
		r.url = url;
	}
	op->step = FB_UPLOAD_DONE;
	op->cb(op->ud, &r);
}

void fb_upload_op_fail(struct fb_upload_op *op, const struct fb_err *err)
{
	finish(op, NULL, err, NULL);
}

static const char *step_name(enum fb_upload_step s)
{
	static const char *const names[] = {"reserve", "upload", "complete", "status"};
	return s < FB_UPLOAD_DONE ? names[s] : "done";
}

/* Ends the op with an error of its own making; returns FB_UPLOAD_DONE. */
static enum fb_upload_step end(struct fb_upload_op *op, const struct fb_upload_answer *a, int code,
			       enum fb_errkind kind, const char *fmt, const char *arg)
{
	struct fb_err e = {0};
	fb_err_set(&e, code, kind, fmt, op->asset.asset_id ? op->asset.asset_id : "", arg);
	finish(op, a, &e, NULL);
	return FB_UPLOAD_DONE;
}

/* A reservation, complete or poll answer: what it says of the asset. */
static enum fb_upload_step on_asset(struct fb_upload_op *op, const struct fb_upload_answer *a,
				    uint64_t now_ms, uint64_t *wait_ms)
{
	struct fb_api_asset got;
	struct fb_err e = {0};
	if (fb_api_parse_asset(a->body, a->len, &got, &e)) {
		fb_api_asset_release(&got);
		e.http_status = a->http_status;
		finish(op, a, &e, NULL);
		return FB_UPLOAD_DONE;
	}
	enum fb_upload_step was = op->step;
	if (was == FB_UPLOAD_RESERVE) {
		fb_api_asset_release(&op->asset);
		op->asset = got;
		int put;
		if (!fb_upload_op_target(op, &put))
			return end(op, a, FB_EPARSE, FB_KIND_RETRYABLE,
				   "asset %s: the reservation gave no upload URL%s", "");
		return op->step = FB_UPLOAD_SEND;
	}
	enum fb_upload_step next = FB_UPLOAD_DONE;
	if (!strcmp(got.status, "failed")) {
		end(op, a, FB_ERUN, FB_KIND_ITEM, "asset %s failed: %s",
		    got.failure_message ? got.failure_message : "no reason given");
	} else if (!strcmp(got.status, "ready") && was == FB_UPLOAD_POLL) {
		if (got.url && *got.url)
			finish(op, a, NULL, got.url);
		else
			end(op, a, FB_EPARSE, FB_KIND_RETRYABLE,
			    "asset %s is ready without a url%s", "");
	} else {
		/* Complete is followed by a GET at once; later GETs wait their second. */
		if (was == FB_UPLOAD_COMPLETE) {
			op->poll_until_ms = now_ms + FB_UPLOAD_WAIT_MAX_MS;
			*wait_ms = 0;
			next = FB_UPLOAD_POLL;
		} else if (now_ms + FB_UPLOAD_POLL_MS > op->poll_until_ms) {
			end(op, a, FB_ETRANSPORT, FB_KIND_RETRYABLE,
			    "asset %s is still %s after 120 s", got.status);
		} else {
			*wait_ms = FB_UPLOAD_POLL_MS;
			next = FB_UPLOAD_POLL;
		}
		if (next != FB_UPLOAD_DONE)
			op->step = next;
	}
	fb_api_asset_release(&got);
	return next;
}

enum fb_upload_step fb_upload_op_next(struct fb_upload_op *op, const struct fb_upload_answer *a,
				      uint64_t now_ms, uint64_t *wait_ms)
{
	*wait_ms = 0;
	if (op->step == FB_UPLOAD_DONE)
		return FB_UPLOAD_DONE;
	if (!a->http_status) {
		struct fb_err e = {0};
		if (a->err)
			e = *a->err;
		else
			fb_err_set(&e, FB_ETRANSPORT, FB_KIND_RETRYABLE, "asset %s: no answer",
				   step_name(op->step));
		finish(op, a, &e, NULL);
		return FB_UPLOAD_DONE;
	}
	if (a->http_status < 200 || a->http_status > 299) {
		struct fb_err e = {0};
		fb_api_parse_error(a->http_status, a->body, a->len, a->request_id, &e);
		finish(op, a, &e, NULL);
		return FB_UPLOAD_DONE;
	}
	if (op->step == FB_UPLOAD_SEND)
		return op->step = FB_UPLOAD_COMPLETE; /* the upload host's answer says no more */
	return on_asset(op, a, now_ms, wait_ms);
}

int fb_upload_read_file(const char *path, struct fb_buf *out, struct fb_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot read %s: %s", path,
				  strerror(errno));
	char chunk[64 * 1024];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fb_buf_add(out, chunk, n))
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE,
					"out of memory reading %s", path);
	if (!rc && ferror(f))
		rc = fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot read %s: %s", path,
				strerror(errno));
	fclose(f);
	return rc;
}
