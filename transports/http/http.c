/*
 * http: the FLORA API over libcurl's multi interface (see http.h).
 *
 * Each request is a struct fb_http_req (httpreq.c) around one easy
 * handle. Started requests sit on a doubly linked active list (so free()
 * finds them and finishing one costs O(1)); finished ones go back to a
 * free list and keep their easy handle and its options, so a steady batch
 * allocates almost nothing per request. Connections live in the one multi
 * handle and are reused across requests.
 *
 * step() waits on an epoll set of the sockets libcurl asked to watch,
 * hands the ready ones (and libcurl's timeout when due) to
 * curl_multi_socket_action, then reads the finished transfers: a step
 * costs what its ready sockets cost, however many sit idle. Each finished
 * transfer is removed from the multi before its callback fires, so a
 * callback may start new requests. Data callbacks run inside
 * curl_multi_socket_action, where libcurl refuses to add handles: requests
 * started there wait on a queue that step() drains right after.
 */
#include "http.h"
#include "httpreq.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS 10000u
#define DEFAULT_REQUEST_MS 20000u /* a poll or a create answers in seconds */
#define DEFAULT_STALL_MS   15000u
#define DEFAULT_FETCH_MS   600000u
#define MAX_EVENTS	   256
/*
 * Idle connections kept for reuse. libcurl's default, four per transfer in
 * the multi at the time, closes most of them while runs wait between
 * polls, and each is opened again for the next poll. No more connections
 * exist than transfers ever ran at once, so a generous cap only keeps
 * those.
 */
#define IDLE_CONNECTIONS_MAX 4096L

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * libcurl tells which sockets to watch for what; they live in one epoll
 * set, so a step costs what its ready sockets cost, not what the thousand
 * idle ones would under poll(). socketp marks a socket already in the set.
 */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *socketp)
{
	(void)e;
	struct fb_http *h = ud;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.fd = s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (socketp)
		return epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) ? -1 : 0;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev) &&
	    (errno != EEXIST || epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev)))
		return -1;
	curl_multi_assign(h->multi, s, h);
	return 0;
}

static void active_link(struct fb_http *h, struct fb_http_req *q)
{
	q->next = &h->active;
	q->prev = h->active.prev;
	h->active.prev->next = q;
	h->active.prev = q;
	h->pending++;
	if (++h->nactive > h->peak_active)
		h->peak_active = h->nactive;
}

static void active_unlink(struct fb_http *h, struct fb_http_req *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	q->prev = q->next = NULL;
	h->pending--;
	h->nactive--;
}

/*
 * Hands q to the multi (or to the queue, inside perform). On failure q is
 * recycled. The files below reach it through h->submit (fb_http_submit).
 */
static int submit(struct fb_http *h, struct fb_http_req *q, struct fb_err *err)
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
		fb_http_req_recycle(h, q);
		return code;
	}
	q->in_multi = 1;
	return 0;
}

static int start_api(struct fb_http *h, const struct fb_api_call *call, fb_reply_cb cb, void *ud,
		     struct fb_err *err)
{
	struct fb_http_req *q;
	int rc = fb_http_req_api(h, call, cb, ud, &q, err);
	return rc ? rc : submit(h, q, err);
}

static int http_create_run(struct fb_transport *t, const struct fb_run_request *req, fb_reply_cb cb,
			   void *ud, struct fb_err *err)
{
	if (!req || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "create: no request or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	int rc = fb_api_create_call(req, &call, err);
	if (!rc)
		rc = start_api((struct fb_http *)t, &call, cb, ud, err);
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
		rc = start_api((struct fb_http *)t, &call, cb, ud, err);
	fb_api_call_release(&call);
	return rc;
}

static int http_list_runs(struct fb_transport *t, const struct fb_list_query *q, fb_list_cb cb,
			  void *ud, struct fb_err *err)
{
	struct fb_http *h = (struct fb_http *)t;
	if (!q || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "list: no query or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_http_req *r = NULL;
	int rc = fb_api_list_call(q, &call, err);
	if (!rc)
		rc = fb_http_req_list(h, &call, q->kind, cb, ud, &r, err);
	if (!rc)
		rc = submit(h, r, err);
	fb_api_call_release(&call);
	return rc;
}

static int http_fetch(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
		      fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	struct fb_http *h = (struct fb_http *)t;
	struct fb_http_req *q;
	int rc = fb_http_req_fetch(h, url, 0, data, done, ud, &q, err);
	return rc ? rc : submit(h, q, err);
}

static int http_fetch_from(struct fb_transport *t, const char *url, uint64_t from,
			   fb_fetch_data_cb data, fb_fetch_done_cb done, void *ud,
			   struct fb_err *err)
{
	struct fb_http *h = (struct fb_http *)t;
	struct fb_http_req *q;
	int rc = fb_http_req_fetch(h, url, from, data, done, ud, &q, err);
	return rc ? rc : submit(h, q, err);
}

static int http_upload_asset(struct fb_transport *t, const struct fb_upload_request *req,
			     fb_upload_cb cb, void *ud, struct fb_err *err)
{
	struct fb_upload_op *op;
	int rc = fb_upload_op_new(req, cb, ud, &op, err);
	if (!rc && (rc = fb_http_upload_start((struct fb_http *)t, op, 0, err)))
		fb_upload_op_free(op);
	return rc;
}

static int http_get_techniques(struct fb_transport *t, const struct fb_catalog_query *q,
			       fb_catalog_cb cb, void *ud, struct fb_err *err)
{
	return fb_http_catalog_start((struct fb_http *)t, q, cb, ud, err);
}

/* Takes q off the books before its callback, which may start requests. */
static void finish(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	active_unlink(h, q);
	if (q->up)
		fb_http_upload_finish(h, q, res);
	else if (!q->is_fetch && !q->list && q->catalog)
		fb_http_catalog_finish(h, q, res);
	else
		fb_http_req_finish(h, q, res);
	fb_http_req_recycle(h, q);
}

/* Adds what data callbacks started; a handle the multi refuses fails its request now. */
static int drain_adds(struct fb_http *h)
{
	int fired = 0;
	while (h->add_head) {
		struct fb_http_req *q = h->add_head;
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

static int multi_error(struct fb_http *h, CURLMcode mc)
{
	fb_log_msg(h->log, FB_LOG_ERROR, "http: %s", curl_multi_strerror(mc));
	return mc == CURLM_OUT_OF_MEMORY ? FB_ENOMEM : FB_ETRANSPORT;
}

/*
 * How long step() may sleep: the caller's bound, libcurl's timeout and the
 * upload waits. libcurl's timeout is asked for each time rather than
 * followed through CURLMOPT_TIMERFUNCTION, which some libcurl versions do
 * not call when their last timer goes away after a timeout action.
 */
static int wait_ms(struct fb_http *h, int fired, uint64_t timeout_ms, long *curl_ms)
{
	*curl_ms = -1;
	if (curl_multi_timeout(h->multi, curl_ms) != CURLM_OK)
		*curl_ms = 0;
	if (fired)
		return 0;
	uint64_t w = timeout_ms;
	if (*curl_ms >= 0 && (uint64_t)*curl_ms < w)
		w = (uint64_t)*curl_ms;
	return fb_http_upload_wait_ms(h, w > INT_MAX ? INT_MAX : (int)w);
}

/* Hands the ready sockets, then libcurl's timeout when due, to libcurl. */
static CURLMcode act(struct fb_http *h, const struct epoll_event *ev, int n, int timed_out)
{
	int running = 0;
	CURLMcode mc = CURLM_OK;
	h->in_curl = 1;
	for (int i = 0; mc == CURLM_OK && i < n; i++) {
		int mask = 0;
		if (ev[i].data.fd == h->watch_fd)
			continue; /* the caller's, not libcurl's: it ends the wait, nothing more */
		if (ev[i].events & EPOLLIN)
			mask |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_ERR;
		mc = curl_multi_socket_action(h->multi, ev[i].data.fd, mask, &running);
	}
	if (mc == CURLM_OK && timed_out)
		mc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->in_curl = 0;
	return mc;
}

/*
 * Fires the callbacks of the finished transfers. Every message is read
 * before any handle is removed: curl_multi_remove_handle searches the
 * messages still queued, which would make a batch of n finished
 * transfers cost n^2.
 */
static int finish_done(struct fb_http *h, int rc)
{
	struct fb_http_req *done = NULL, **tail = &done;
	CURLMsg *m;
	int left, fired = 0;
	while (!rc && (m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		void *p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		struct fb_http_req *q = p;
		q->result = m->data.result;
		q->done_next = NULL;
		*tail = q;
		tail = &q->done_next;
	}
	while (done) {
		struct fb_http_req *q = done;
		done = q->done_next;
		curl_multi_remove_handle(h->multi, q->easy);
		q->in_multi = 0;
		finish(h, q, q->result);
		fired++;
	}
	return fired;
}

static int http_step(struct fb_transport *t, uint64_t timeout_ms)
{
	struct fb_http *h = (struct fb_http *)t;
	if (h->in_step)
		return FB_ESTATE; /* from inside a callback */
	h->in_step = 1;
	int fired = drain_adds(h), rc = 0;
	/* With nothing in flight, epoll_wait still sleeps: the time passes. */
	struct epoll_event ev[MAX_EVENTS];
	long curl_ms;
	int wait = wait_ms(h, fired, timeout_ms, &curl_ms);
	uint64_t start = curl_ms > 0 ? mono_ms() : 0;
	int n = epoll_wait(h->epfd, ev, MAX_EVENTS, wait);
	if (n < 0)
		n = 0; /* EINTR: the caller steps again */
	int timed_out = curl_ms == 0 || (curl_ms > 0 && mono_ms() - start >= (uint64_t)curl_ms);
	CURLMcode mc = act(h, ev, n, timed_out);
	fired += drain_adds(h);
	if (mc != CURLM_OK)
		rc = multi_error(h, mc);
	fired += finish_done(h, rc);
	if (!rc)
		fired += fb_http_upload_wake(h);
	h->in_step = 0;
	return rc ? rc : fired;
}

static int http_watch(struct fb_transport *t, int fd)
{
	struct fb_http *h = (struct fb_http *)t;
	if (fd == h->watch_fd)
		return 0;
	if (h->watch_fd >= 0)
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->watch_fd, NULL);
	h->watch_fd = -1;
	if (fd < 0)
		return 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev))
		return FB_EIO;
	h->watch_fd = fd;
	return 0;
}

static size_t http_pending(struct fb_transport *t)
{
	return ((struct fb_http *)t)->pending;
}

static void http_free(struct fb_transport *t)
{
	struct fb_http *h = (struct fb_http *)t;
	if (!h)
		return;
	while (h->active.next != &h->active) {
		struct fb_http_req *q = h->active.next;
		active_unlink(h, q);
		if (q->in_multi)
			curl_multi_remove_handle(h->multi, q->easy);
		fb_http_req_destroy(q);
	}
	while (h->free_list) {
		struct fb_http_req *q = h->free_list;
		h->free_list = q->next;
		fb_http_req_destroy(q);
	}
	struct fb_timer tm;
	while (fb_timers_pop(&h->up_wait, &tm))
		fb_upload_op_free(tm.ptr);
	fb_timers_release(&h->up_wait);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->epfd >= 0)
		close(h->epfd);
	fb_http_slist_free_wiping(h->get_headers);
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
    .fetch_from = http_fetch_from,
    .list_runs = http_list_runs,
    .upload_asset = http_upload_asset,
    .get_techniques = http_get_techniques,
    .step = http_step,
    .watch = http_watch,
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
	if (!fb_http_is_absolute(base) || strpbrk(base, "?#") || fb_http_has_control(base) ||
	    strchr(base, ' ') || !fb_http_same_origin(base, base))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "base URL %.200s: expected http(s)://host[:port][/path] with no "
				  "query",
				  base);
	if (fb_http_has_control(cfg->api_key))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "the API key has a control character (a stray newline?)");
	if (fb_http_has_control(cfg->user_agent))
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
	struct fb_http *h = calloc(1, sizeof(*h));
	if (!h) {
		curl_global_cleanup();
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	h->base.ops = &http_ops;
	h->submit = submit;
	h->active.next = h->active.prev = &h->active;
	h->add_tail = &h->add_head;
	h->watch_fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->up_wait = (struct fb_timers)FB_TIMERS_INIT;
	h->log = cfg->log;
	h->insecure = cfg->insecure;
	h->connect_ms = ms_or(cfg->connect_timeout_ms, DEFAULT_CONNECT_MS);
	h->request_ms = ms_or(cfg->request_timeout_ms, DEFAULT_REQUEST_MS);
	h->fetch_ms = ms_or(cfg->fetch_timeout_ms, DEFAULT_FETCH_MS);
	h->stall_ms = ms_or(cfg->stall_timeout_ms, DEFAULT_STALL_MS);
	h->max_output = cfg->max_output_bytes > (uint64_t)INT64_MAX
			    ? (curl_off_t)INT64_MAX
			    : (curl_off_t)cfg->max_output_bytes;

	struct fb_buf b = FB_BUF_INIT;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	int bad = fb_buf_add(&b, base, blen);
	h->base_url = fb_buf_detach(&b, NULL);
	if (h->base_url) {
		const char *auth = strstr(h->base_url, "://") + 3; /* check_config saw it */
		h->origin_len = (size_t)(auth - h->base_url) + strcspn(auth, "/");
	}
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
	if (h->epfd < 0 || (!bad && !(h->multi = curl_multi_init())))
		bad = 1;
	if (!bad) {
		bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK;
		bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, (void *)h) != CURLM_OK;
		bad |= curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) !=
		       CURLM_OK;
		bad |= curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, IDLE_CONNECTIONS_MAX) !=
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
