/*
 * httpreq: one request of the http transport, up to its transfer's end:
 * taking an easy handle from the free list, setting it up for an API call
 * or a download, and libcurl's header and body callbacks (which hold each
 * body to its cap, httpreq.h). httpdone.c turns the finished transfer into
 * the reply or fetch result the caller gets; http.c owns the multi handle
 * and decides when each of these runs.
 */
#include "httpreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REDIRECTS 5L
/*
 * Idle easy handles kept for reuse: at least this many, and as many as
 * were ever in flight at once. Runs wait between their requests, so a
 * batch of 1,000 in flight finishes 1,000 requests, then starts 1,000 more
 * a poll interval later: a smaller list would destroy most handles only to
 * create them again. Those handles existed at the peak already, so keeping
 * them adds nothing to the peak memory.
 */
#define FREE_LIST_MIN 256
#define KEEP_BUF_MAX  (16u << 10) /* larger buffers are freed, not kept, on reuse */

/* ---- requests: get, recycle, destroy ---- */

/* Wipes each string first: one of them holds the API key. */
void fb_http_slist_free_wiping(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		memset(p->data, 0, strlen(p->data));
	curl_slist_free_all(l);
}

void fb_http_req_destroy(struct fb_http_req *q)
{
	if (q->own_headers)
		fb_http_slist_free_wiping(q->headers);
	curl_easy_cleanup(q->easy);
	fb_buf_release(&q->what);
	fb_buf_release(&q->url);
	fb_buf_release(&q->body);
	fb_buf_release(&q->resp);
	fb_upload_op_free(q->up);
	curl_mime_free(q->mime);
	if (q->put_file)
		fclose(q->put_file);
	free(q);
}

struct fb_http_req *fb_http_req_get(struct fb_http *h, struct fb_err *err)
{
	struct fb_http_req *q = h->free_list;
	if (q) {
		h->free_list = q->next;
		h->nfree--;
		if (q->dirty) {
			/* An upload's UPLOAD, MIMEPOST, READDATA must not reach the next request.
			 */
			curl_easy_reset(q->easy); /* keeps its connections, DNS and TLS caches */
			q->configured = q->dirty = 0;
		}
	} else {
		q = calloc(1, sizeof(*q));
		if (q && !(q->easy = curl_easy_init())) {
			free(q);
			q = NULL;
		}
		if (!q) {
			fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
			return NULL;
		}
	}
	q->h = h;
	q->prev = q->next = q->add_next = NULL;
	q->is_fetch = q->in_multi = 0;
	q->got = q->skip = 0;
	q->reply = NULL;
	q->list = NULL;
	q->catalog = NULL;
	q->data = NULL;
	q->done = NULL;
	q->ud = NULL;
	fb_buf_reset(&q->what);
	fb_buf_reset(&q->url);
	fb_buf_reset(&q->body);
	fb_buf_reset(&q->resp);
	q->headers = NULL;
	q->own_headers = 0;
	q->bytes = 0;
	q->abort_code = q->too_big = q->nomem = q->error_cut = 0;
	q->errbuf[0] = '\0';
	memset(&q->hdr, 0, sizeof(q->hdr));
	return q;
}

void fb_http_req_recycle(struct fb_http *h, struct fb_http_req *q)
{
	if (q->own_headers)
		fb_http_slist_free_wiping(q->headers);
	q->headers = NULL;
	q->own_headers = 0;
	fb_upload_op_free(q->up);
	q->up = NULL;
	curl_mime_free(q->mime);
	q->mime = NULL;
	if (q->put_file)
		fclose(q->put_file);
	q->put_file = NULL;
	if (h->nfree >= FREE_LIST_MIN && h->nfree >= h->peak_active) {
		fb_http_req_destroy(q);
		return;
	}
	if (q->body.cap > KEEP_BUF_MAX)
		fb_buf_release(&q->body);
	if (q->resp.cap > KEEP_BUF_MAX)
		fb_buf_release(&q->resp);
	q->next = h->free_list;
	h->free_list = q;
	h->nfree++;
}

/* ---- libcurl callbacks (inside curl_multi_perform) ---- */

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
	struct fb_http_req *q = ud;
	fb_http_header_line(&q->hdr, line, size * nitems);
	return size * nitems;
}

/* Returning less than len makes libcurl stop with CURLE_WRITE_ERROR; the flags say why. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct fb_http_req *q = ud;
	size_t len = size * nmemb;
	if (!q->is_fetch) {
		if (q->resp.len + len > FB_HTTP_API_BODY_MAX) {
			q->too_big = 1;
			return 0;
		}
		if (fb_buf_add(&q->resp, ptr, len)) {
			q->nomem = 1;
			return 0;
		}
		return len;
	}
	long status = 0;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		/* An error page: keep its start for the message, never hand it to data. */
		size_t room = FB_HTTP_ERROR_BODY_MAX - q->resp.len;
		if (fb_buf_add(&q->resp, ptr, len < room ? len : room)) {
			q->nomem = 1;
			return 0;
		}
		if (len > room) {
			q->error_cut = 1;
			return 0;
		}
		return len;
	}
	size_t all = len;
	q->got += len;
	if (q->skip) {
		/* A range asked for and answered whole (200): what came before it is had already.
		 */
		size_t s = status == 206 ? 0 : len < q->skip ? len : (size_t)q->skip;
		q->skip = status == 206 ? 0 : q->skip - s;
		ptr += s;
		len -= s;
		if (!len)
			return all;
	}
	if (q->h->max_output && q->bytes + len > (uint64_t)q->h->max_output) {
		q->too_big = 1; /* a chunked answer, which CURLOPT_MAXFILESIZE cannot see coming */
		return 0;
	}
	q->bytes += len;
	if (q->data) {
		int rc = q->data(q->ud, ptr, len);
		if (rc) {
			q->abort_code = rc;
			return 0;
		}
	}
	return all;
}

int fb_http_has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* "GET https://host/path" as messages show it (fb_http_url_shown: no credentials, no query). */
static int set_what(struct fb_http_req *q, const char *method, const char *target)
{
	return fb_buf_adds(&q->what, method) || fb_buf_addc(&q->what, ' ') ||
		       fb_http_url_shown(&q->what, target)
		   ? FB_ENOMEM
		   : 0;
}

/* What every request sets alike: once per easy handle, not per request. */
static int setup_constant(struct fb_http *h, struct fb_http_req *q)
{
	CURL *e = q->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms) != CURLE_OK;
	/* A peer that stops moving bytes is cut long before the total timeout. */
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 100L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (h->stall_ms + 999) / 1000) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
	/* Wait for a connection that may multiplex rather than open one per request. */
	bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L) != CURLE_OK;
	q->configured = !bad;
	return bad;
}

/*
 * A reused handle keeps its options (curl_easy_reset and setting them all
 * again costs more than the rest of a request's setup), so every option a
 * request may change is put back here to what a fresh handle has: no
 * headers (the API key among them), GET without a body, no redirects, no
 * size limit, no content decoding. Uploads, which set more, are marked
 * dirty and reset in full instead.
 */
int fb_http_req_setup(struct fb_http *h, struct fb_http_req *q, long timeout_ms)
{
	CURL *e = q->easy;
	int bad = !q->configured && setup_constant(h, q);
	bad |= curl_easy_setopt(e, CURLOPT_URL, fb_buf_str(&q->url)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	q->timeout_ms = timeout_ms;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, (char *)NULL) != CURLE_OK;
	/* POSTFIELDS makes the request a POST: HTTPGET after it makes it a GET again. */
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_RANGE, (char *)NULL) != CURLE_OK;
	return bad ? FB_ENOMEM : 0;
}

/* ---- preparing requests (http.c submits them) ---- */

/*
 * Whether an absolute URL is on the base URL's origin. A URL that starts
 * with the base URL's own "scheme://authority/" is, without parsing both
 * (every poll of a server that gives absolute poll_urls asks); any other
 * spelling gets the full comparison.
 */
static int on_base_origin(const struct fb_http *h, const char *url)
{
	if (!strncmp(url, h->base_url, h->origin_len) && url[h->origin_len] == '/')
		return 1;
	return fb_http_same_origin(url, h->base_url);
}

/* An API request with the key, its callback still to be set. */
static int prepare_api(struct fb_http *h, const struct fb_api_call *call, struct fb_http_req **out,
		       struct fb_err *err)
{
	*out = NULL;
	const char *path = fb_buf_str(&call->path);
	int post = !strcmp(call->method, "POST");
	int elsewhere = !fb_http_is_absolute(path) && fb_http_names_elsewhere(path);
	if (elsewhere || (fb_http_is_absolute(path) && !on_base_origin(h, path))) {
		struct fb_buf shown = FB_BUF_INIT;
		fb_http_url_shown(&shown, path);
		if (elsewhere)
			fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				   "poll_url %s is not an http(s) URL on the API's host (%s): the "
				   "run cannot be checked there, and is not checked elsewhere",
				   fb_buf_str(&shown), h->base_url);
		else
			fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				   "poll_url %s is not on the API's origin (%s): refusing to "
				   "send the API key there",
				   fb_buf_str(&shown), h->base_url);
		fb_buf_release(&shown);
		return FB_EINVAL;
	}
	if (fb_http_has_control(call->idem_key))
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "the idempotency key has a control character");
	struct fb_http_req *q = fb_http_req_get(h, err);
	if (!q)
		return FB_ENOMEM;
	int rc = set_what(q, call->method, path) || fb_http_join_url(&q->url, h->base_url, path);
	if (!rc && post) {
		struct curl_slist *l = NULL;
		struct fb_buf idem = FB_BUF_INIT;
		rc = fb_buf_add(&q->body, fb_buf_str(&call->body), call->body.len) ||
		     (call->idem_key && fb_buf_addf(&idem, "Idempotency-Key: %s", call->idem_key));
		const char *lines[] = {h->auth, "Content-Type: application/json",
				       "Accept: application/json",
				       "Expect:", /* no 100-continue round trip */
				       idem.len ? fb_buf_str(&idem) : NULL};
		for (size_t i = 0; !rc && i < sizeof(lines) / sizeof(lines[0]); i++) {
			if (!lines[i])
				continue;
			struct curl_slist *n = curl_slist_append(l, lines[i]);
			if (n)
				l = n;
			else
				rc = FB_ENOMEM;
		}
		fb_buf_release(&idem);
		q->headers = l;
		q->own_headers = 1;
	} else {
		q->headers = h->get_headers;
	}
	if (!rc)
		rc = fb_http_req_setup(h, q, h->request_ms);
	if (!rc) {
		CURL *e = q->easy;
		int bad = curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
		if (post) {
			bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
			bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
						(curl_off_t)q->body.len) != CURLE_OK;
			bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, fb_buf_str(&q->body)) !=
			       CURLE_OK;
		}
		rc = bad ? FB_ENOMEM : 0;
	}
	if (rc) {
		fb_http_req_recycle(h, q);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	*out = q;
	return 0;
}

int fb_http_req_api(struct fb_http *h, const struct fb_api_call *call, fb_reply_cb cb, void *ud,
		    struct fb_http_req **out, struct fb_err *err)
{
	int rc = prepare_api(h, call, out, err);
	if (!rc) {
		(*out)->reply = cb;
		(*out)->ud = ud;
	}
	return rc;
}

int fb_http_req_list(struct fb_http *h, const struct fb_api_call *call, enum fb_job_kind kind,
		     fb_list_cb cb, void *ud, struct fb_http_req **out, struct fb_err *err)
{
	int rc = prepare_api(h, call, out, err);
	if (!rc) {
		(*out)->list = cb;
		(*out)->list_kind = kind;
		(*out)->ud = ud;
	}
	return rc;
}

int fb_http_req_fetch(struct fb_http *h, const char *url, uint64_t from, fb_fetch_data_cb data,
		      fb_fetch_done_cb done, void *ud, struct fb_http_req **out, struct fb_err *err)
{
	*out = NULL;
	if (!url || !done)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "fetch: no URL or callback");
	if (!fb_is_http_url(url) || fb_http_has_userinfo(url)) {
		struct fb_buf shown = FB_BUF_INIT;
		fb_http_url_shown(&shown, url);
		/* Credentials in a URL would be sent, and written wherever the URL is. */
		fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
			   fb_http_has_userinfo(url)
			       ? "cannot download %s: the URL carries a user name or password, "
				 "refused (they would be sent, and written with the URL)"
			       : "cannot download %s: only http and https URLs are fetched",
			   fb_buf_str(&shown));
		fb_buf_release(&shown);
		return FB_EINVAL;
	}
	struct fb_http_req *q = fb_http_req_get(h, err);
	if (!q)
		return FB_ENOMEM;
	q->is_fetch = 1;
	q->data = data;
	q->done = done;
	q->ud = ud;
	/* No HTTPHEADER at all: outputs live on other hosts and never see the key. */
	int rc = set_what(q, "GET", url) || fb_buf_adds(&q->url, url) ||
		 fb_http_req_setup(h, q, h->fetch_ms);
	if (!rc) {
		CURL *e = q->easy;
		int bad = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_REDIRECTS) != CURLE_OK;
		/* An https download is never redirected to plain http (set on every fetch: the
		 * handle is reused). */
		bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
					strncasecmp(url, "https://", 8) ? "http,https" : "https") !=
		       CURLE_OK;
		if (h->max_output)
			bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, h->max_output) !=
			       CURLE_OK;
		/* The rest of a download cut short: a server that ignores the range resends it
		 * whole, and the bytes had already are dropped on the way (on_body). */
		char range[32];
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)from);
		bad |= curl_easy_setopt(e, CURLOPT_RANGE, from ? range : NULL) != CURLE_OK;
		q->skip = from;
		rc = bad;
	}
	if (rc) {
		fb_http_req_recycle(h, q);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	*out = q;
	return 0;
}
