/*
 * httpupload: asset uploads over the http transport (upload.h has the
 * steps). Each step is one easy handle on the transport's multi, and each
 * step's end starts the next. The API steps go through the usual API
 * requests (the key, to the API's origin only); the upload itself is a
 * multipart POST streamed from the file by libcurl (form fields first,
 * then the file), or a raw PUT when the reservation has no form, and it
 * never carries the Authorization header: the upload host is not FLORA.
 * Waits between polls sit in a deadline heap on the monotonic clock that
 * step() honours.
 */
#include "httpreq.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int add_header(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);
	if (!n)
		return 1;
	*l = n;
	return 0;
}

/* The form: every field as the reservation gave it, then the file, streamed by libcurl. */
static int build_form(struct fb_http_req *q, const struct fb_upload_op *op)
{
	const struct fb_api_asset *a = &op->asset;
	if (!(q->mime = curl_mime_init(q->easy)))
		return FB_ENOMEM;
	int bad = 0;
	for (size_t i = 0; !bad && i < a->nfields; i++) {
		curl_mimepart *p = curl_mime_addpart(q->mime);
		bad = !p || curl_mime_name(p, a->fields[i].name) != CURLE_OK ||
		      curl_mime_data(p, a->fields[i].value, CURL_ZERO_TERMINATED) != CURLE_OK;
	}
	if (bad)
		return FB_ENOMEM;
	curl_mimepart *p = curl_mime_addpart(q->mime);
	if (!p)
		return FB_ENOMEM;
	if (curl_mime_filedata(p, op->req.path) != CURLE_OK)
		return FB_EIO;
	const char *ct = op->req.content_type && *op->req.content_type ? op->req.content_type
								       : "application/octet-stream";
	bad = curl_mime_name(p, a->file_field && *a->file_field ? a->file_field : "file") !=
		  CURLE_OK ||
	      curl_mime_filename(p, op->req.file_name) != CURLE_OK ||
	      curl_mime_type(p, ct) != CURLE_OK;
	return bad ? FB_ENOMEM : 0;
}

static int setup_put(struct fb_http_req *q, const struct fb_upload_op *op)
{
	struct stat st;
	if (!(q->put_file = fopen(op->req.path, "rb")) || fstat(fileno(q->put_file), &st))
		return FB_EIO;
	struct fb_buf line = FB_BUF_INIT;
	int bad = fb_buf_addf(&line, "Content-Type: %s",
			      op->req.content_type && *op->req.content_type
				  ? op->req.content_type
				  : "application/octet-stream") ||
		  add_header(&q->headers, fb_buf_str(&line));
	fb_buf_release(&line);
	CURL *e = q->easy;
	bad |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_READDATA, (void *)q->put_file) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size) != CURLE_OK;
	return bad ? FB_ENOMEM : 0;
}

/* The upload step: to the reservation's URL, wherever it is, with no key. */
static int start_send(struct fb_http *h, struct fb_upload_op *op, struct fb_err *err)
{
	int put;
	const char *url = fb_upload_op_target(op, &put);
	if (!fb_is_http_url(url) || fb_http_has_control(url) || fb_http_has_userinfo(url)) {
		struct fb_buf shown = FB_BUF_INIT;
		fb_http_url_shown(&shown, url);
		fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
			   fb_http_has_userinfo(url)
			       ? "asset %s: the upload URL %s carries a user name or password, "
				 "refused (they would be sent, and written with the URL)"
			       : "asset %s: the upload URL %s is not an http(s) URL",
			   op->asset.asset_id, fb_buf_str(&shown));
		fb_buf_release(&shown);
		return FB_EINVAL;
	}
	struct fb_http_req *q = fb_http_req_get(h, err);
	if (!q)
		return FB_ENOMEM;
	q->up = op;
	q->own_headers = 1;
	q->dirty = 1; /* UPLOAD, MIMEPOST and READDATA stay on the handle otherwise */
	int rc = fb_buf_adds(&q->what, put ? "PUT " : "POST ") ||
			 fb_http_url_shown(&q->what, url) || fb_buf_adds(&q->url, url) ||
			 fb_http_req_setup(h, q, h->fetch_ms) ||
			 add_header(&q->headers, "Accept: application/json") ||
			 add_header(&q->headers, "Expect:")
		     ? FB_ENOMEM
		     : 0;
	if (!rc)
		rc = put ? setup_put(q, op) : build_form(q, op);
	if (!rc && !put && curl_easy_setopt(q->easy, CURLOPT_MIMEPOST, q->mime) != CURLE_OK)
		rc = FB_ENOMEM;
	/* Only our own headers: nothing here holds the API key. */
	if (!rc && curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers) != CURLE_OK)
		rc = FB_ENOMEM;
	if (rc) {
		q->up = NULL; /* still the caller's */
		fb_http_req_recycle(h, q);
		if (rc == FB_EIO)
			return fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot read %s",
					  op->req.path);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	rc = fb_http_submit(h, q, err);
	return rc;
}

int fb_http_upload_start(struct fb_http *h, struct fb_upload_op *op, uint64_t wait_ms,
			 struct fb_err *err)
{
	if (wait_ms) {
		if (fb_timers_add(&h->up_wait, mono_ms() + wait_ms, op, 0))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
		h->pending++;
		return 0;
	}
	if (op->step == FB_UPLOAD_SEND)
		return start_send(h, op, err);
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_http_req *q = NULL;
	int rc = fb_upload_op_call(op, &call, err);
	if (!rc)
		rc = fb_http_req_api(h, &call, NULL, NULL, &q, err);
	fb_api_call_release(&call);
	if (rc)
		return rc;
	q->up = op;
	if ((rc = fb_http_submit(h, q, err)))
		return rc;
	return 0;
}

/* Starts op's next step, or ends it with the reason it could not start. */
static void next_or_fail(struct fb_http *h, struct fb_upload_op *op, uint64_t wait_ms)
{
	struct fb_err err = {0};
	if (!fb_http_upload_start(h, op, wait_ms, &err))
		return;
	fb_upload_op_fail(op, &err);
	fb_upload_op_free(op);
}

void fb_http_upload_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	struct fb_upload_op *op = q->up;
	q->up = NULL; /* the op outlives this request */
	long st = 0;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &st);
	struct fb_err err = {0};
	struct fb_upload_answer a = {.http_status = (int)st,
				     .request_id = q->hdr.request_id[0] ? q->hdr.request_id : NULL,
				     .retry_after_ms = fb_http_retry_after_ms(
					 q->hdr.retry_after[0] ? q->hdr.retry_after : NULL,
					 q->hdr.retry_after_ms[0] ? q->hdr.retry_after_ms : NULL,
					 time(NULL)),
				     .body = fb_buf_str(&q->resp),
				     .len = q->resp.len};
	if (res != CURLE_OK) {
		const char *what = fb_buf_str(&q->what);
		if (q->too_big)
			fb_err_set(&err, FB_ETOOBIG, FB_KIND_ITEM, "%s: the answer is too large",
				   what);
		else if (q->nomem)
			fb_err_set(&err, FB_ENOMEM, FB_KIND_RETRYABLE, "%s: out of memory", what);
		else if (res == CURLE_READ_ERROR)
			fb_err_set(&err, FB_EIO, FB_KIND_ITEM, "%s: cannot read %s", what,
				   op->req.path);
		else
			fb_http_req_curl_error(q, res, &err);
		if (a.request_id && !strstr(err.msg, a.request_id)) {
			size_t n = strlen(err.msg);
			snprintf(err.msg + n, sizeof(err.msg) - n, " (request-id %s)",
				 a.request_id);
		}
		a.http_status = 0;
		a.err = &err;
	}
	uint64_t wait = 0;
	if (fb_upload_op_next(op, &a, mono_ms(), &wait) == FB_UPLOAD_DONE) {
		fb_upload_op_free(op);
		return;
	}
	next_or_fail(h, op, wait);
}

int fb_http_upload_wait_ms(struct fb_http *h, int timeout_ms)
{
	const struct fb_timer *top = fb_timers_peek(&h->up_wait);
	if (!top)
		return timeout_ms;
	uint64_t now = mono_ms();
	if (top->due_ms <= now)
		return 0;
	uint64_t left = top->due_ms - now;
	return left < (uint64_t)timeout_ms ? (int)left : timeout_ms;
}

int fb_http_upload_wake(struct fb_http *h)
{
	uint64_t now = mono_ms();
	int fired = 0;
	const struct fb_timer *top;
	struct fb_timer tm;
	while ((top = fb_timers_peek(&h->up_wait)) && top->due_ms <= now) {
		fb_timers_pop(&h->up_wait, &tm);
		h->pending--;
		struct fb_upload_op *op = tm.ptr;
		struct fb_err err = {0};
		if (fb_http_upload_start(h, op, 0, &err)) {
			fb_upload_op_fail(op, &err);
			fb_upload_op_free(op);
			fired++;
		}
	}
	return fired;
}
