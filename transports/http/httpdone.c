/*
 * httpdone: a finished transfer of the http transport turned into what its
 * caller gets: the reply of a create or poll, a list page, a fetch result,
 * or the error that says why not (which limit cut it, which request an
 * answer did not fit, its request-id). httpreq.c started the request.
 */
#include "httpreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The request-id is what support asks for: make sure the message has it. */
static void add_request_id(struct fb_err *err, const char *rid)
{
	if (!rid || strstr(err->msg, rid))
		return;
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, " (request-id %s)", rid);
}

static void log_failure(struct fb_http *h, const struct fb_err *err)
{
	fb_log_msg(h->log, FB_LOG_DEBUG, "http: %s", err->msg);
}

void fb_http_req_failed(struct fb_http *h, struct fb_err *err, const char *request_id)
{
	add_request_id(err, request_id);
	log_failure(h, err);
}

/* "20 s" or "1500 ms", as the user would write the limit. */
static void duration(char *out, size_t cap, long ms)
{
	if (ms % 1000)
		snprintf(out, cap, "%ld ms", ms);
	else
		snprintf(out, cap, "%ld s", ms / 1000);
}

/*
 * libcurl says "timed out" for both of its limits: the message names the
 * one that cut, as the user may change it. Downloads and the upload itself
 * have the long transfer limit, which no option sets.
 */
void fb_http_req_curl_error(const struct fb_http_req *q, CURLcode res, struct fb_err *err)
{
	fb_http_curl_error(res, q->is_fetch, fb_buf_str(&q->what), q->errbuf, err);
	if (res != CURLE_OPERATION_TIMEDOUT)
		return;
	curl_off_t us = 0;
	curl_easy_getinfo(q->easy, CURLINFO_TOTAL_TIME_T, &us);
	char hint[128], d[32];
	if (us / 1000 + 100 < q->timeout_ms) {
		/* CURLOPT_LOW_SPEED_TIME counts whole seconds. */
		duration(d, sizeof(d), (q->h->stall_ms + 999) / 1000 * 1000);
		snprintf(hint, sizeof(hint), " (under 100 bytes a second for --stall-timeout, %s)",
			 d);
	} else if (q->timeout_ms == q->h->request_ms && !q->is_fetch) {
		duration(d, sizeof(d), q->timeout_ms);
		snprintf(hint, sizeof(hint), " (no whole answer within --request-timeout, %s)", d);
	} else {
		duration(d, sizeof(d), q->timeout_ms);
		snprintf(hint, sizeof(hint), " (not done within a transfer's time limit, %s)", d);
	}
	size_t n = strlen(err->msg), k = strlen(hint);
	if (n + k < sizeof(err->msg))
		memcpy(err->msg + n, hint, k + 1);
}

/* What went wrong when libcurl gave up, our own aborts first. */
static void transfer_error(struct fb_http_req *q, CURLcode res, struct fb_err *err)
{
	const char *what = fb_buf_str(&q->what);
	if (q->abort_code)
		fb_err_set(err, q->abort_code, FB_KIND_ITEM, "%s: download aborted", what);
	else if (q->is_fetch && (q->too_big || res == CURLE_FILESIZE_EXCEEDED))
		fb_err_set(err, FB_ETOOBIG, FB_KIND_ITEM, "%s: larger than the %lld-byte limit",
			   what, (long long)q->h->max_output);
	else if (q->too_big)
		fb_err_set(err, FB_ETOOBIG, FB_KIND_ITEM, "%s: the answer is over %u MiB", what,
			   FB_HTTP_API_BODY_MAX >> 20);
	else if (q->nomem)
		fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "%s: out of memory", what);
	else
		fb_http_req_curl_error(q, res, err);
}

/*
 * What every API answer shares: its status, request-id and Retry-After.
 * 1 when a 2xx body waits to be parsed; 0 when err says what went wrong.
 */
int fb_http_req_answer(struct fb_http_req *q, CURLcode res, int *status, const char **rid,
		       long *retry_after_ms, struct fb_err *err)
{
	long st = 0;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &st);
	*status = (int)st;
	*rid = q->hdr.request_id[0] ? q->hdr.request_id : NULL;
	*retry_after_ms = fb_http_retry_after_ms(
	    q->hdr.retry_after[0] ? q->hdr.retry_after : NULL,
	    q->hdr.retry_after_ms[0] ? q->hdr.retry_after_ms : NULL, time(NULL));
	if (res != CURLE_OK)
		transfer_error(q, res, err);
	else if (st >= 200 && st <= 299)
		return 1;
	else
		fb_api_parse_error((int)st, fb_buf_str(&q->resp), q->resp.len, *rid, err);
	return 0;
}

/* A 2xx answer that did not parse: the message says which request it answered. */
static void unparsed(const struct fb_http_req *q, struct fb_err *err, int status)
{
	size_t w = q->what.len + 2, n = strlen(err->msg);
	err->http_status = status;
	if (w >= sizeof(err->msg))
		return;
	if (w + n >= sizeof(err->msg))
		n = sizeof(err->msg) - w - 1;
	memmove(err->msg + w, err->msg, n);
	err->msg[w + n] = '\0';
	memcpy(err->msg, fb_buf_str(&q->what), w - 2);
	memcpy(err->msg + w - 2, ": ", 2);
}

static void finish_api(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	struct fb_reply r;
	memset(&r, 0, sizeof(r));
	r.run.progress = -1;
	r.run.estimated_seconds = -1;
	r.run.created_at = -1;
	if (fb_http_req_answer(q, res, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err)) {
		r.ok = !fb_api_parse_run(fb_buf_str(&q->resp), q->resp.len, &r.run, &r.err);
		if (!r.ok) {
			unparsed(q, &r.err, r.http_status);
			fb_run_info_release(&r.run); /* nothing half-parsed reaches the callback */
		}
	}
	if (!r.ok) {
		add_request_id(&r.err, r.request_id);
		log_failure(h, &r.err);
	}
	q->reply(q->ud, &r);
	fb_run_info_release(&r.run);
}

static void finish_list(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	struct fb_list_reply r;
	char *cursor = NULL;
	memset(&r, 0, sizeof(r));
	if (fb_http_req_answer(q, res, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err)) {
		r.ok = !fb_api_parse_list(fb_buf_str(&q->resp), q->resp.len, q->list_kind, &r.runs,
					  &r.nruns, &cursor, &r.err);
		if (!r.ok)
			unparsed(q, &r.err, r.http_status);
		r.next_cursor = cursor;
	}
	if (!r.ok) {
		add_request_id(&r.err, r.request_id);
		log_failure(h, &r.err);
	}
	q->list(q->ud, &r);
	fb_run_list_free(r.runs, r.nruns);
	free(cursor);
}

static void finish_fetch(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	struct fb_fetch_result r;
	memset(&r, 0, sizeof(r));
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(q->easy, CURLINFO_CONTENT_TYPE, &ctype);
	r.http_status = (int)status;
	r.content_type = ctype;
	r.bytes = q->bytes;
	const char *rid = q->hdr.request_id[0] ? q->hdr.request_id : NULL;
	if (status && (status < 200 || status > 299) &&
	    (res == CURLE_OK || (res == CURLE_WRITE_ERROR && q->error_cut))) {
		fb_api_parse_error((int)status, fb_buf_str(&q->resp), q->resp.len, rid, &r.err);
	} else if (res != CURLE_OK) {
		transfer_error(q, res, &r.err);
	} else {
		curl_off_t want = -1;
		curl_easy_getinfo(q->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
		if (want >= 0 && (uint64_t)want != q->got)
			fb_err_set(&r.err, FB_ETRANSPORT, FB_KIND_RETRYABLE,
				   "%s: ended after %llu of %lld bytes", fb_buf_str(&q->what),
				   (unsigned long long)q->got, (long long)want);
		else
			r.ok = 1;
	}
	if (!r.ok) {
		add_request_id(&r.err, rid);
		log_failure(h, &r.err);
	}
	q->done(q->ud, &r);
}

void fb_http_req_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	if (q->is_fetch)
		finish_fetch(h, q, res);
	else if (q->list)
		finish_list(h, q, res);
	else
		finish_api(h, q, res);
}
