/*
 * httpreq: the http transport's inside, owned by httpreq.c (one request up
 * to its transfer's end) and used by the files above it: httpdone.c (the
 * finished transfer to its callback), httpupload.c, httpcatalog.c and, on
 * top, http.c (the multi handle, step, lifetime). A file calls only files
 * below it; the one thing http.c lends the others is its submit, kept in
 * struct fb_http. Not for use outside the transport.
 */
#ifndef FB_HTTPREQ_H
#define FB_HTTPREQ_H

#include "api.h"
#include "buf.h"
#include "httpmsg.h"
#include "log.h"
#include "timers.h"
#include "transport.h"
#include "upload.h"

#include <curl/curl.h>
#include <stdio.h>

/*
 * The most of a body kept in memory. Every API answer (create, poll, list
 * page, technique catalog, an upload's reservation, its poll and the
 * upload host's answer), whatever its status, is read whole up to
 * FB_HTTP_API_BODY_MAX and the request fails past it (FB_ETOOBIG). A
 * download's bytes go to its data callback, capped by max_output_bytes;
 * its error page (not 2xx) keeps only its first FB_HTTP_ERROR_BODY_MAX
 * bytes, for the message. docs/architecture.md states these numbers.
 */
#define FB_HTTP_API_BODY_MAX   (8u << 20)
#define FB_HTTP_ERROR_BODY_MAX (16u << 10)

struct fb_http_req {
	struct fb_http *h;
	CURL *easy;
	struct fb_http_req *prev, *next; /* the active list; next alone on the free list */
	struct fb_http_req *add_next;	 /* the queue of requests started inside perform */
	struct fb_http_req *done_next;	 /* the finished transfers of one step */
	CURLcode result;		 /* a finished transfer's, until its callback */
	int is_fetch, in_multi;
	int configured;	   /* the easy handle has setup_constant's options */
	int dirty;	   /* set options fb_http_req_setup does not put back: reset on reuse */
	fb_reply_cb reply; /* a create or poll; else list for a list page */
	fb_list_cb list;
	enum fb_job_kind list_kind; /* which list's answer to expect */
	fb_catalog_cb catalog;	    /* else the technique catalog (httpcatalog.c) */
	int catalog_one;	    /* its answer is one technique, not a page */
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
	uint64_t got;  /* of the body received (a whole answer to a range includes skipped bytes) */
	uint64_t skip; /* a range was asked and not yet known to be honoured: bytes to drop */
	int abort_code;	 /* the data callback's non-zero return */
	int too_big;	 /* over FB_HTTP_API_BODY_MAX or max_output_bytes */
	int nomem;	 /* a body buffer could not grow */
	int error_cut;	 /* a failed download's body was cut at FB_HTTP_ERROR_BODY_MAX */
	long timeout_ms; /* the whole transfer's limit (fb_http_req_setup) */
	char errbuf[CURL_ERROR_SIZE];
	struct fb_http_headers hdr;
	struct fb_upload_op *up; /* owned: this request is a step of that upload */
	curl_mime *mime;	 /* an upload's form; freed with the request */
	FILE *put_file;		 /* an upload's raw-PUT source; closed with the request */
};

struct fb_http {
	struct fb_transport base; /* first: a struct fb_transport * is a struct fb_http * */
	CURLM *multi;
	char *base_url;	   /* without a trailing '/' */
	size_t origin_len; /* of base_url's "scheme://authority" */
	char *user_agent;
	char *auth;			/* "Authorization: Bearer <key>", or NULL */
	struct curl_slist *get_headers; /* shared by every API GET */
	struct fb_log *log;
	int insecure;
	long connect_ms, request_ms, fetch_ms, stall_ms;
	curl_off_t max_output;
	struct fb_http_req active; /* sentinel of the active list */
	struct fb_http_req *add_head, **add_tail;
	struct fb_http_req *free_list;
	size_t nfree, pending;
	size_t nactive, peak_active; /* requests on the active list: now, and at most */
	int in_curl, in_step;
	int epfd;      /* the sockets libcurl asked us to watch */
	int watch_fd;  /* the caller's descriptor in epfd (fb_transport_watch), or -1 */
	int timer_set; /* libcurl's timer: act on it at timer_due (monotonic ms) */
	uint64_t timer_due;
	struct fb_timers up_wait; /* uploads waiting for their next poll; ptr: the op */
	/* Hands a request to the multi (http.c's; see fb_http_submit). */
	int (*submit)(struct fb_http *h, struct fb_http_req *q, struct fb_err *err);
};

/*
 * A request ready for the multi handle, not yet submitted: *out, or a
 * negative FB_E* with err set (nothing to free). fb_http_req_api refuses an
 * absolute path on another origin than the base URL's.
 */
int fb_http_req_api(struct fb_http *h, const struct fb_api_call *call, fb_reply_cb cb, void *ud,
		    struct fb_http_req **out, struct fb_err *err);
/* The same for a list page of kind's endpoint, whose answer goes to cb. */
int fb_http_req_list(struct fb_http *h, const struct fb_api_call *call, enum fb_job_kind kind,
		     fb_list_cb cb, void *ud, struct fb_http_req **out, struct fb_err *err);
/* from > 0: only the bytes after from (Range; a whole answer has them dropped). */
int fb_http_req_fetch(struct fb_http *h, const char *url, uint64_t from, fb_fetch_data_cb data,
		      fb_fetch_done_cb done, void *ud, struct fb_http_req **out,
		      struct fb_err *err);

/* A fresh request with nothing set up yet, or NULL with err set. */
struct fb_http_req *fb_http_req_get(struct fb_http *h, struct fb_err *err);
/*
 * The options every request shares (URL from q->url, body and header
 * callbacks), with every option another request may have changed put back
 * to its default: no headers, a GET, no redirects. 0 or FB_ENOMEM.
 */
int fb_http_req_setup(struct fb_http *h, struct fb_http_req *q, long timeout_ms);
/* Hands q to the multi (http.c, through h->submit). On failure q is recycled and err set. */
static inline int fb_http_submit(struct fb_http *h, struct fb_http_req *q, struct fb_err *err)
{
	return h->submit(h, q, err);
}

/* ---- asset uploads (httpupload.c, above httpdone.c and httpreq.c) ---- */

/* Starts op's current step after wait_ms; on failure op is still the caller's. */
int fb_http_upload_start(struct fb_http *h, struct fb_upload_op *op, uint64_t wait_ms,
			 struct fb_err *err);
/* Moves q's upload on after its step's transfer; may call the op's callback. */
void fb_http_upload_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res);
/* The most step() may wait for the next poll, given timeout_ms. */
int fb_http_upload_wait_ms(struct fb_http *h, int timeout_ms);
/* Starts the polls now due; returns the callbacks fired (steps that could not start). */
int fb_http_upload_wake(struct fb_http *h);

/*
 * Fills err for a transfer that got no whole answer (res: libcurl's result),
 * saying which limit cut one that timed out.
 */
void fb_http_req_curl_error(const struct fb_http_req *q, CURLcode res, struct fb_err *err);

/*
 * Fires q's callback for its finished transfer (res: libcurl's result): a
 * download, a list page or an API answer. An upload's step and a catalog
 * answer go to their own files' finish instead (http.c tells them apart).
 */
void fb_http_req_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res);
/*
 * What every API answer shares: its status, request-id and Retry-After.
 * 1 when a 2xx body waits in q->resp to be parsed; 0 when err says what
 * went wrong (then pass it to fb_http_req_failed).
 */
int fb_http_req_answer(struct fb_http_req *q, CURLcode res, int *status, const char **rid,
		       long *retry_after_ms, struct fb_err *err);
/* A failed answer's error: the request-id added to its message, and logged. */
void fb_http_req_failed(struct fb_http *h, struct fb_err *err, const char *request_id);

/* ---- the technique catalog (httpcatalog.c, above httpdone.c and httpreq.c) ---- */

/* Starts a catalog request: 0, or a negative FB_E* with err (cb never fires). */
int fb_http_catalog_start(struct fb_http *h, const struct fb_catalog_query *query, fb_catalog_cb cb,
			  void *ud, struct fb_err *err);
/* Parses q's answer and fires its callback. */
void fb_http_catalog_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res);

/* Back to the free list (or freed when it is full). q must be out of the multi. */
void fb_http_req_recycle(struct fb_http *h, struct fb_http_req *q);
void fb_http_req_destroy(struct fb_http_req *q);

/* Frees a header list, wiping each string first: one of them holds the API key. */
void fb_http_slist_free_wiping(struct curl_slist *l);
/* Whether s (may be NULL) has a control character, which would break a header. */
int fb_http_has_control(const char *s);

#endif
