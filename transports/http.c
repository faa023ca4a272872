/*
 * http: the FLORA API over libcurl's multi interface (see http.h).
 *
 * Each request is a struct req around one easy handle. Started requests
 * sit on a doubly linked active list (so free() finds them and finishing
 * one costs O(1)); finished ones go back to a bounded free list and keep
 * their easy handle, so a steady batch allocates almost nothing per
 * request. Connections live in the one multi handle and are reused across
 * requests.
 *
 * step() polls, performs, then reads the finished transfers; each is
 * removed from the multi before its callback fires, so a callback may
 * start new requests. Data callbacks run inside curl_multi_perform, where
 * libcurl refuses to add handles: requests started there wait on a queue
 * that step() drains right after perform returns.
 */
#include "http.h"
#include "api.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_MS 10000u
#define DEFAULT_REQUEST_MS 60000u
#define DEFAULT_FETCH_MS   600000u
#define API_BODY_MAX	   (8u << 20)  /* an API answer larger than this is not one */
#define ERROR_BODY_MAX	   (16u << 10) /* what a failed download keeps, for the message */
#define MAX_REDIRECTS	   5L
#define FREE_LIST_MAX	   64	       /* idle easy handles kept for reuse */
#define KEEP_BUF_MAX	   (64u << 10) /* larger buffers are freed, not kept, on reuse */

struct http;

struct req {
	struct http *h;
	CURL *easy;
	struct req *prev, *next; /* the active list; next alone on the free list */
	struct req *add_next;	 /* the queue of requests started inside perform */
	int is_fetch, in_multi;
	fb_reply_cb reply;
	fb_fetch_data_cb data;
	fb_fetch_done_cb done;
	void *ud;
	struct fb_buf what; /* "POST /techniques/x/runs", for messages (no query string) */
	struct fb_buf url;
	struct fb_buf body;	    /* what a POST sends; libcurl borrows it until done */
	struct fb_buf resp;	    /* an API answer, or a failed download's body */
	struct curl_slist *headers; /* owned when own_headers, else the shared GET list */
	int own_headers;
	uint64_t bytes; /* passed to data */
	int abort_code; /* the data callback's non-zero return */
	int too_big;	/* over API_BODY_MAX or max_output_bytes */
	int nomem;	/* a body buffer could not grow */
	int error_cut;	/* a failed download's body was cut at ERROR_BODY_MAX */
	char errbuf[CURL_ERROR_SIZE];
	char request_id[128];
	char retry_after[64];
	char retry_after_ms[64];
};

struct http {
	struct fb_transport base; /* first: a struct fb_transport * is a struct http * */
	CURLM *multi;
	char *base_url; /* without a trailing '/' */
	char *user_agent;
	char *auth;			/* "Authorization: Bearer <key>", or NULL */
	struct curl_slist *get_headers; /* shared by every API GET */
	struct fb_log *log;
	int insecure;
	long connect_ms, request_ms, fetch_ms;
	curl_off_t max_output;
	struct req active; /* sentinel of the active list */
	struct req *add_head, **add_tail;
	struct req *free_list;
	size_t nfree, pending;
	int in_curl, in_step;
};

/* ---- requests: get, recycle, destroy ---- */

/* Wipes each string first: one of them holds the API key. */
static void slist_free_wiping(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		memset(p->data, 0, strlen(p->data));
	curl_slist_free_all(l);
}

static void req_destroy(struct req *q)
{
	if (q->own_headers)
		slist_free_wiping(q->headers);
	curl_easy_cleanup(q->easy);
	fb_buf_release(&q->what);
	fb_buf_release(&q->url);
	fb_buf_release(&q->body);
	fb_buf_release(&q->resp);
	free(q);
}

static struct req *req_get(struct http *h, struct fb_err *err)
{
	struct req *q = h->free_list;
	if (q) {
		h->free_list = q->next;
		h->nfree--;
		curl_easy_reset(q->easy); /* keeps its connections, DNS and TLS caches */
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
	q->reply = NULL;
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
	q->errbuf[0] = q->request_id[0] = q->retry_after[0] = q->retry_after_ms[0] = '\0';
	return q;
}

static void req_recycle(struct http *h, struct req *q)
{
	if (q->own_headers)
		slist_free_wiping(q->headers);
	q->headers = NULL;
	q->own_headers = 0;
	if (h->nfree >= FREE_LIST_MAX) {
		req_destroy(q);
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

static void active_link(struct http *h, struct req *q)
{
	q->next = &h->active;
	q->prev = h->active.prev;
	h->active.prev->next = q;
	h->active.prev = q;
	h->pending++;
}

static void active_unlink(struct http *h, struct req *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	q->prev = q->next = NULL;
	h->pending--;
}

/* ---- libcurl callbacks (inside curl_multi_perform) ---- */

/* Copies a header value, printable ASCII only: it may end up in a message. */
static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	dst[n] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
	struct req *q = ud;
	size_t len = size * nitems;
	if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
		/* A new answer (after a 100 Continue or a redirect): forget the last one's. */
		q->request_id[0] = q->retry_after[0] = q->retry_after_ms[0] = '\0';
		return len;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && strchr(" \t\r\n", end[-1]))
		end--;
	size_t vlen = (size_t)(end - v);
	if (nlen == 10 && !strncasecmp(line, "request-id", 10))
		copy_value(q->request_id, sizeof(q->request_id), v, vlen);
	else if (nlen == 11 && !strncasecmp(line, "retry-after", 11))
		copy_value(q->retry_after, sizeof(q->retry_after), v, vlen);
	else if (nlen == 14 && !strncasecmp(line, "retry-after-ms", 14))
		copy_value(q->retry_after_ms, sizeof(q->retry_after_ms), v, vlen);
	return len;
}

/* Returning less than len makes libcurl stop with CURLE_WRITE_ERROR; the flags say why. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct req *q = ud;
	size_t len = size * nmemb;
	if (!q->is_fetch) {
		if (q->resp.len + len > API_BODY_MAX) {
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
		size_t room = ERROR_BODY_MAX - q->resp.len;
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
	return len;
}

/* ---- starting requests ---- */

static int has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* "GET https://host/path" without the query, which may carry a token. */
static int set_what(struct req *q, const char *method, const char *target)
{
	size_t n = strcspn(target, "?#");
	return fb_buf_adds(&q->what, method) || fb_buf_addc(&q->what, ' ') ||
		       fb_buf_add(&q->what, target, n)
		   ? FB_ENOMEM
		   : 0;
}

static int setup_common(struct http *h, struct req *q, long timeout_ms)
{
	CURL *e = q->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_URL, fb_buf_str(&q->url)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)q) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
	/* Wait for a connection that may multiplex rather than open one per request. */
	bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L) != CURLE_OK;
	return bad ? FB_ENOMEM : 0;
}

/* Hands q to the multi (or to the queue, inside perform). On failure q is recycled. */
static int submit(struct http *h, struct req *q, struct fb_err *err)
{
	active_link(h, q);
	if (h->in_curl) {
		*h->add_tail = q;
		h->add_tail = &q->add_next;
		return 0;
	}
	CURLMcode mc = curl_multi_add_handle(h->multi, q->easy);
	if (mc != CURLM_OK) {
		int code = mc == CURLM_OUT_OF_MEMORY ? FB_ENOMEM : FB_ETRANSPORT;
		fb_err_set(err, code, FB_KIND_RETRYABLE, "%s: %s", fb_buf_str(&q->what),
			   curl_multi_strerror(mc));
		active_unlink(h, q);
		req_recycle(h, q);
		return code;
	}
	q->in_multi = 1;
	return 0;
}

static int start_api(struct http *h, const struct fb_api_call *call, fb_reply_cb cb, void *ud,
		     struct fb_err *err)
{
	const char *path = fb_buf_str(&call->path);
	int post = !strcmp(call->method, "POST");
	if (fb_http_is_absolute(path) && !fb_http_same_origin(path, h->base_url))
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "poll_url %.*s is not on the API's origin (%s): refusing to "
				  "send the API key there",
				  (int)strcspn(path, "?#"), path, h->base_url);
	if (has_control(call->idem_key))
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "the idempotency key has a control character");
	struct req *q = req_get(h, err);
	if (!q)
		return FB_ENOMEM;
	q->reply = cb;
	q->ud = ud;
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
		rc = setup_common(h, q, h->request_ms);
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
		} else {
			bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		}
		rc = bad ? FB_ENOMEM : 0;
	}
	if (rc) {
		req_recycle(h, q);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	return submit(h, q, err);
}

static int http_create_run(struct fb_transport *t, const struct fb_run_request *req, fb_reply_cb cb,
			   void *ud, struct fb_err *err)
{
	if (!req || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "create: no request or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	int rc = fb_api_create_call(req, &call, err);
	if (!rc)
		rc = start_api((struct http *)t, &call, cb, ud, err);
	fb_api_call_release(&call);
	return rc;
}

static int http_get_run(struct fb_transport *t, const struct fb_run_ref *ref, fb_reply_cb cb,
			void *ud, struct fb_err *err)
{
	if (!ref || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "poll: no run or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	int rc = fb_api_poll_call(ref, &call, err);
	if (!rc)
		rc = start_api((struct http *)t, &call, cb, ud, err);
	fb_api_call_release(&call);
	return rc;
}

static int http_fetch(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
		      fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	struct http *h = (struct http *)t;
	if (!url || !done)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "fetch: no URL or callback");
	if (!fb_is_http_url(url))
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "cannot download %.200s: only http and https URLs are fetched",
				  url);
	struct req *q = req_get(h, err);
	if (!q)
		return FB_ENOMEM;
	q->is_fetch = 1;
	q->data = data;
	q->done = done;
	q->ud = ud;
	/* No HTTPHEADER at all: outputs live on other hosts and never see the key. */
	int rc =
	    set_what(q, "GET", url) || fb_buf_adds(&q->url, url) || setup_common(h, q, h->fetch_ms);
	if (!rc) {
		CURL *e = q->easy;
		int bad = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_REDIRECTS) != CURLE_OK;
		if (h->max_output)
			bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, h->max_output) !=
			       CURLE_OK;
		rc = bad;
	}
	if (rc) {
		req_recycle(h, q);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	return submit(h, q, err);
}

/* ---- finishing requests ---- */

/* The request-id is what support asks for: make sure the message has it. */
static void add_request_id(struct fb_err *err, const char *rid)
{
	if (!rid || strstr(err->msg, rid))
		return;
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, " (request-id %s)", rid);
}

static void log_failure(struct http *h, const struct fb_err *err)
{
	fb_log_msg(h->log, FB_LOG_DEBUG, "http: %s", err->msg);
}

/* What went wrong when libcurl gave up, our own aborts first. */
static void transfer_error(struct req *q, CURLcode res, struct fb_err *err)
{
	const char *what = fb_buf_str(&q->what);
	if (q->abort_code)
		fb_err_set(err, q->abort_code, FB_KIND_ITEM, "%s: download aborted", what);
	else if (q->is_fetch && (q->too_big || res == CURLE_FILESIZE_EXCEEDED))
		fb_err_set(err, FB_ETOOBIG, FB_KIND_ITEM, "%s: larger than the %lld-byte limit",
			   what, (long long)q->h->max_output);
	else if (q->too_big)
		fb_err_set(err, FB_ETOOBIG, FB_KIND_ITEM, "%s: the answer is over %u MiB", what,
			   API_BODY_MAX >> 20);
	else if (q->nomem)
		fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "%s: out of memory", what);
	else
		fb_http_curl_error(res, q->is_fetch, what, q->errbuf, err);
}

static void finish_api(struct http *h, struct req *q, CURLcode res)
{
	struct fb_reply r;
	memset(&r, 0, sizeof(r));
	long status = 0;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	r.http_status = (int)status;
	r.request_id = q->request_id[0] ? q->request_id : NULL;
	r.retry_after_ms =
	    fb_http_retry_after_ms(q->retry_after[0] ? q->retry_after : NULL,
				   q->retry_after_ms[0] ? q->retry_after_ms : NULL, time(NULL));
	r.run.progress = -1;
	r.run.estimated_seconds = -1;
	if (res != CURLE_OK) {
		transfer_error(q, res, &r.err);
	} else if (status >= 200 && status <= 299) {
		r.ok = !fb_api_parse_run(fb_buf_str(&q->resp), q->resp.len, &r.run, &r.err);
		if (!r.ok) {
			r.err.http_status = (int)status;
			fb_run_info_release(&r.run); /* nothing half-parsed reaches the callback */
		}
	} else {
		fb_api_parse_error((int)status, fb_buf_str(&q->resp), q->resp.len, r.request_id,
				   &r.err);
	}
	if (!r.ok) {
		add_request_id(&r.err, r.request_id);
		log_failure(h, &r.err);
	}
	q->reply(q->ud, &r);
	fb_run_info_release(&r.run);
}

static void finish_fetch(struct http *h, struct req *q, CURLcode res)
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
	const char *rid = q->request_id[0] ? q->request_id : NULL;
	if (status && (status < 200 || status > 299) &&
	    (res == CURLE_OK || (res == CURLE_WRITE_ERROR && q->error_cut))) {
		fb_api_parse_error((int)status, fb_buf_str(&q->resp), q->resp.len, rid, &r.err);
	} else if (res != CURLE_OK) {
		transfer_error(q, res, &r.err);
	} else {
		curl_off_t want = -1;
		curl_easy_getinfo(q->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
		if (want >= 0 && (uint64_t)want != q->bytes)
			fb_err_set(&r.err, FB_ETRANSPORT, FB_KIND_RETRYABLE,
				   "%s: ended after %llu of %lld bytes", fb_buf_str(&q->what),
				   (unsigned long long)q->bytes, (long long)want);
		else
			r.ok = 1;
	}
	if (!r.ok) {
		add_request_id(&r.err, rid);
		log_failure(h, &r.err);
	}
	q->done(q->ud, &r);
}

/* Takes q off the books before its callback, which may start requests. */
static void finish(struct http *h, struct req *q, CURLcode res)
{
	active_unlink(h, q);
	if (q->is_fetch)
		finish_fetch(h, q, res);
	else
		finish_api(h, q, res);
	req_recycle(h, q);
}

/* Adds what data callbacks started; a handle the multi refuses fails its request now. */
static int drain_adds(struct http *h)
{
	int fired = 0;
	while (h->add_head) {
		struct req *q = h->add_head;
		h->add_head = q->add_next;
		if (!h->add_head)
			h->add_tail = &h->add_head;
		q->add_next = NULL;
		CURLMcode mc = curl_multi_add_handle(h->multi, q->easy);
		if (mc == CURLM_OK) {
			q->in_multi = 1;
			continue;
		}
		snprintf(q->errbuf, sizeof(q->errbuf), "%s", curl_multi_strerror(mc));
		finish(h, q, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
		fired++;
	}
	return fired;
}

static int multi_error(struct http *h, CURLMcode mc)
{
	fb_log_msg(h->log, FB_LOG_ERROR, "http: %s", curl_multi_strerror(mc));
	return mc == CURLM_OUT_OF_MEMORY ? FB_ENOMEM : FB_ETRANSPORT;
}

static int http_step(struct fb_transport *t, uint64_t timeout_ms)
{
	struct http *h = (struct http *)t;
	if (h->in_step)
		return FB_ESTATE; /* from inside a callback */
	h->in_step = 1;
	int fired = drain_adds(h), running = 0, rc = 0;
	/* With nothing in flight, curl_multi_poll still sleeps: the time passes. */
	int wait = fired ? 0 : timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
	CURLMcode mc = curl_multi_poll(h->multi, NULL, 0, wait, NULL);
	if (mc == CURLM_OK) {
		h->in_curl = 1;
		mc = curl_multi_perform(h->multi, &running);
		h->in_curl = 0;
	}
	fired += drain_adds(h);
	if (mc != CURLM_OK)
		rc = multi_error(h, mc);
	CURLMsg *m;
	int left;
	while (!rc && (m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* Read the message before removing its handle, which frees it. */
		CURL *e = m->easy_handle;
		CURLcode res = m->data.result;
		void *p = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		struct req *q = p;
		curl_multi_remove_handle(h->multi, e);
		q->in_multi = 0;
		finish(h, q, res);
		fired++;
	}
	h->in_step = 0;
	return rc ? rc : fired;
}

static size_t http_pending(struct fb_transport *t)
{
	return ((struct http *)t)->pending;
}

static void http_free(struct fb_transport *t)
{
	struct http *h = (struct http *)t;
	if (!h)
		return;
	while (h->active.next != &h->active) {
		struct req *q = h->active.next;
		active_unlink(h, q);
		if (q->in_multi)
			curl_multi_remove_handle(h->multi, q->easy);
		req_destroy(q);
	}
	while (h->free_list) {
		struct req *q = h->free_list;
		h->free_list = q->next;
		req_destroy(q);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	slist_free_wiping(h->get_headers);
	if (h->auth) {
		memset(h->auth, 0, strlen(h->auth));
		free(h->auth);
	}
	free(h->base_url);
	free(h->user_agent);
	free(h);
	curl_global_cleanup();
}

static const struct fb_transport_ops http_ops = {
    .name = "http",
    .create_run = http_create_run,
    .get_run = http_get_run,
    .fetch = http_fetch,
    .step = http_step,
    .pending = http_pending,
    .free = http_free,
};

static long ms_or(uint64_t v, unsigned def)
{
	if (!v)
		return (long)def;
	return v > (uint64_t)LONG_MAX ? LONG_MAX : (long)v;
}

static int check_config(const struct fb_http_config *cfg, const char *base, struct fb_err *err)
{
	if (!fb_http_is_absolute(base) || strpbrk(base, "?#") || has_control(base) ||
	    strchr(base, ' ') || !fb_http_same_origin(base, base))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "base URL %.200s: expected http(s)://host[:port][/path] with no "
				  "query",
				  base);
	if (has_control(cfg->api_key))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "the API key has a control character (a stray newline?)");
	if (has_control(cfg->user_agent))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "the user agent has a control character");
	return 0;
}

int fb_http_transport_new(struct fb_transport **out, const struct fb_http_config *cfg,
			  struct fb_err *err)
{
	*out = NULL;
	if (!cfg)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "http transport: no config");
	const char *base = cfg->base_url ? cfg->base_url : FB_HTTP_DEFAULT_BASE_URL;
	int rc = check_config(cfg, base, err);
	if (rc)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fb_err_set(err, FB_ETRANSPORT, FB_KIND_BATCH, "libcurl failed to start");
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		curl_global_cleanup();
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	h->base.ops = &http_ops;
	h->active.next = h->active.prev = &h->active;
	h->add_tail = &h->add_head;
	h->log = cfg->log;
	h->insecure = cfg->insecure;
	h->connect_ms = ms_or(cfg->connect_timeout_ms, DEFAULT_CONNECT_MS);
	h->request_ms = ms_or(cfg->request_timeout_ms, DEFAULT_REQUEST_MS);
	h->fetch_ms = ms_or(cfg->fetch_timeout_ms, DEFAULT_FETCH_MS);
	h->max_output = cfg->max_output_bytes > (uint64_t)INT64_MAX
			    ? (curl_off_t)INT64_MAX
			    : (curl_off_t)cfg->max_output_bytes;

	struct fb_buf b = FB_BUF_INIT;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	int bad = fb_buf_add(&b, base, blen);
	h->base_url = fb_buf_detach(&b, NULL);
	bad |= fb_buf_adds(&b, cfg->user_agent ? cfg->user_agent : "florabatch/" FB_VERSION);
	h->user_agent = fb_buf_detach(&b, NULL);
	if (cfg->api_key && *cfg->api_key) {
		bad |= fb_buf_addf(&b, "Authorization: Bearer %s", cfg->api_key);
		h->auth = fb_buf_detach(&b, NULL);
	}
	fb_buf_release(&b);
	const char *get_lines[] = {h->auth, "Accept: application/json"};
	for (size_t i = 0; !bad && i < 2; i++) {
		if (!get_lines[i])
			continue;
		struct curl_slist *n = curl_slist_append(h->get_headers, get_lines[i]);
		if (n)
			h->get_headers = n;
		else
			bad = 1;
	}
	if (!bad && !(h->multi = curl_multi_init()))
		bad = 1;
	if (!bad) {
		bad |= curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) !=
		       CURLM_OK;
		if (cfg->max_host_connections)
			bad |= curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
						 (long)cfg->max_host_connections) != CURLM_OK;
	}
	if (bad || !h->base_url || !h->user_agent) {
		http_free(&h->base);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	*out = &h->base;
	return 0;
}
