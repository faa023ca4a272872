/*
 * server: libmicrohttpd in its epoll mode with one internal thread. That
 * one thread is the only caller of the model (which is not thread-safe), so
 * the model needs no lock; the wake thread only resumes connections.
 *
 * A request's life: the URI callback allocates its state with the raw
 * request-target (the query string untouched, as the model parses it), the
 * access handler gathers the body, waits out --latency suspended, asks the
 * model, and queues the answer or closes the connection as the model says.
 */
#include "server.h"
#include "json.h"
#include "simmodel.h"
#include "wake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_PREFIX	 "/api/v1"
#define MAX_BODY	 (64u << 20)
#define CONNECTION_LIMIT 4096u
#define IDLE_TIMEOUT_S	 120u
#define LISTEN_BACKLOG	 4096
#define SLOW_CHUNK	 256
#define SLOW_EVERY_MS	 50
#define STREAM_BLOCK	 16384

struct counters {
	uint64_t requests, conns, conns_open, conns_peak;
	uint64_t resets, truncated, slowed, too_big, closes;
};

struct fs_server {
	struct fs_flags flags;
	char url[64];
	unsigned port;
	int listen_fd;
	struct fb_clock *clock;
	struct fb_simmodel *model;
	struct fs_wake *wake;
	struct MHD_Daemon *daemon;
	int stopped;
	struct counters n; /* touched by the daemon's thread only, read after it stops */
};

struct req {
	char *uri; /* raw request-target */
	struct fb_buf body;
	uint64_t t0;
	uint64_t seq; /* the request's order, from 1: what its latency and close are drawn from */
	int started, waited, too_big;
};

/* splitmix64: a request's draws follow --seed and its order, so a run can be replayed. */
static double draw(const struct fs_server *s, uint64_t seq, uint64_t salt)
{
	uint64_t z = s->flags.model.seed ^ (seq * 0x9e3779b97f4a7c15ull) ^ salt;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* --latency MIN-MAX draws uniformly; one answer in a hundred takes --latency-p99 instead. */
static uint64_t latency_of(const struct fs_server *s, uint64_t seq)
{
	const struct fs_flags *f = &s->flags;
	if (f->latency_p99_ms && draw(s, seq, 0x7a11) < 0.01)
		return f->latency_p99_ms;
	if (f->latency_max_ms <= f->latency_ms)
		return f->latency_ms;
	double u = draw(s, seq, 0x1a7e);
	return f->latency_ms + (uint64_t)(u * (double)(f->latency_max_ms - f->latency_ms + 1));
}

/* A body sent through a content reader: cut short (truncate) or paced (slow). */
struct stream {
	struct fs_wake *wake;
	struct MHD_Connection *conn;
	char *data;
	size_t len, limit; /* limit < len + pad: close after limit bytes */
	int slow;
	uint64_t next_ms;
	uint64_t pad, pad_seed; /* filler after data (fb_simresp_filler) */
};

static void logf_(const struct fs_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(const struct fs_server *s, const char *fmt, ...)
{
	if (s->flags.quiet)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines from a busy server do not interleave. */
	fprintf(stderr, "florasim: %s\n", line);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	fprintf(stderr, "florasim: http: %s\n", line);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	if (pos >= st->limit)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	uint64_t left = st->limit - pos;
	size_t n = left > SIZE_MAX ? SIZE_MAX : (size_t)left;
	if (st->slow) {
		uint64_t now = fs_wake_now_ms();
		if (now < st->next_ms && fs_wake_suspend(st->wake, st->conn, st->next_ms))
			return 0; /* called again once resumed */
		if (n > SLOW_CHUNK)
			n = SLOW_CHUNK;
		st->next_ms = now + SLOW_EVERY_MS;
	}
	if (n > max)
		n = max;
	if (pos < st->len) {
		if (n > st->len - pos)
			n = st->len - (size_t)pos;
		memcpy(buf, st->data + pos, n);
	} else {
		fb_simresp_filler(st->pad_seed, pos - st->len, buf, n);
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	free(st->data);
	free(st);
}

/* A response with the body of resp, whose memory it takes. NULL when out of memory. */
static struct MHD_Response *body_response(struct fs_server *s, struct MHD_Connection *c,
					  struct fb_simresp *resp)
{
	size_t len;
	char *data = fb_buf_detach(&resp->body, &len);
	if (!data)
		return NULL;
	if (resp->fault != FB_SIM_FAULT_TRUNCATE && resp->fault != FB_SIM_FAULT_SLOW &&
	    !resp->pad) {
		struct MHD_Response *r =
		    MHD_create_response_from_buffer_with_free_callback(len, data, free);
		if (!r)
			free(data);
		return r;
	}
	struct stream *st = calloc(1, sizeof(*st));
	if (!st) {
		free(data);
		return NULL;
	}
	uint64_t total = len + resp->pad;
	*st = (struct stream){s->wake, c, data, len, total, 0, 0, resp->pad, resp->pad_seed};
	if (resp->fault == FB_SIM_FAULT_TRUNCATE)
		st->limit = total / 2;
	else if (resp->fault == FB_SIM_FAULT_SLOW)
		st->slow = 1;
	struct MHD_Response *r =
	    MHD_create_response_from_callback(total, STREAM_BLOCK, stream_read, st, stream_free);
	if (!r)
		stream_free(st);
	return r;
}

/* An answer the server makes itself (no route, body too large), in the API's error envelope. */
static int own_answer(struct fs_server *s, int status, const char *code, const char *message,
		      struct fb_simresp *resp)
{
	resp->status = status;
	resp->content_type = "application/json";
	snprintf(resp->request_id, sizeof(resp->request_id), "req_florasim%08llu",
		 (unsigned long long)s->n.requests);
	yajl_gen g = fb_json_gen_new();
	if (!g)
		return FB_ENOMEM;
	int rc = fb_json_gen_status(yajl_gen_map_open(g));
	rc = rc ? rc : fb_json_gen_key(g, "error");
	rc = rc ? rc : fb_json_gen_status(yajl_gen_map_open(g));
	rc = rc ? rc : fb_json_gen_key(g, "code");
	rc = rc ? rc : fb_json_gen_str(g, code);
	rc = rc ? rc : fb_json_gen_key(g, "message");
	rc = rc ? rc : fb_json_gen_str(g, message);
	rc = rc ? rc : fb_json_gen_status(yajl_gen_map_close(g));
	rc = rc ? rc : fb_json_gen_status(yajl_gen_map_close(g));
	rc = rc ? rc : fb_json_gen_take(g, &resp->body);
	yajl_gen_free(g);
	return rc;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The model's path for a raw request-target, or NULL when it is not under the API prefix. */
static const char *api_path(const char *uri)
{
	size_t n = strlen(API_PREFIX);
	if (strncmp(uri, API_PREFIX, n) || (uri[n] && uri[n] != '/' && uri[n] != '?'))
		return NULL;
	return uri + n;
}

static const char *fault_name(enum fb_sim_fault f)
{
	switch (f) {
	case FB_SIM_FAULT_RESET_BEFORE:
		return " [fault: reset before acting]";
	case FB_SIM_FAULT_RESET_AFTER:
		return " [fault: reset after acting]";
	case FB_SIM_FAULT_TRUNCATE:
		return " [fault: truncated body]";
	case FB_SIM_FAULT_SLOW:
		return " [fault: slow body]";
	default:
		return "";
	}
}

static enum MHD_Result answer(struct fs_server *s, struct MHD_Connection *c, struct req *r,
			      const char *method)
{
	struct fb_simresp resp = FB_SIMRESP_INIT;
	const char *path = api_path(r->uri);
	int rc;
	if (r->too_big)
		rc = own_answer(s, 413, "payload_too_large",
				"The request body is larger than 64 MiB.", &resp);
	else if (!path)
		rc = own_answer(s, 404, "not_found", "Not found: the API lives under /api/v1.",
				&resp);
	else {
		/* HEAD is GET without the body; libmicrohttpd leaves the body out. */
		struct fb_simcall call = {
		    .method = strcmp(method, MHD_HTTP_METHOD_HEAD) ? method : MHD_HTTP_METHOD_GET,
		    .path = *path ? path : "/",
		    .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
		    .idem_key = header(c, "Idempotency-Key"),
		    .content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
		    .body = r->body.ptr,
		    .body_len = r->body.len,
		};
		rc = fb_simmodel_handle(s->model, &call, &resp);
	}
	fb_buf_release(&r->body);
	if (rc) {
		fb_simresp_release(&resp);
		fprintf(stderr, "florasim: out of memory answering %s %s\n", method, r->uri);
		return MHD_NO;
	}
	logf_(s, "%s %s -> %d %s (%llu ms)%s", method, r->uri, resp.status, resp.request_id,
	      (unsigned long long)(fs_wake_now_ms() - r->t0), fault_name(resp.fault));
	if (resp.fault == FB_SIM_FAULT_RESET_BEFORE || resp.fault == FB_SIM_FAULT_RESET_AFTER) {
		/* MHD_NO closes the connection without a byte of answer. */
		s->n.resets++;
		fb_simresp_release(&resp);
		return MHD_NO;
	}
	if (resp.fault == FB_SIM_FAULT_TRUNCATE)
		s->n.truncated++;
	else if (resp.fault == FB_SIM_FAULT_SLOW)
		s->n.slowed++;
	struct MHD_Response *mr = body_response(s, c, &resp);
	enum MHD_Result ok = MHD_NO;
	if (mr) {
		char num[32];
		int hok = MHD_add_response_header(mr, "request-id", resp.request_id) == MHD_YES;
		if (resp.content_type)
			hok &= MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
						       resp.content_type) == MHD_YES;
		if (resp.retry_after_s >= 0) {
			snprintf(num, sizeof(num), "%ld", resp.retry_after_s);
			hok &= MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, num) ==
			       MHD_YES;
		}
		if (resp.replayed)
			hok &=
			    MHD_add_response_header(mr, "idempotent-replayed", "true") == MHD_YES;
		/* --close-rate: now and then the server ends the keep-alive connection. */
		if (s->flags.close_rate > 0 && draw(s, r->seq, 0xc105e) < s->flags.close_rate) {
			hok &= MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close") ==
			       MHD_YES;
			s->n.closes++;
		}
		if (hok)
			ok = MHD_queue_response(c, (unsigned)resp.status, mr);
		MHD_destroy_response(mr);
	}
	fb_simresp_release(&resp);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct fs_server *s = cls;
	struct req *r = *con_cls;
	(void)url;
	(void)version;
	if (!r)
		return MHD_NO; /* the URI callback ran out of memory */
	if (!r->started) {
		r->started = 1;
		r->t0 = fs_wake_now_ms();
		r->seq = ++s->n.requests;
		/* Refuse a declared oversize body before reading it. */
		const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > MAX_BODY) {
			r->too_big = 1;
			s->n.too_big++;
			return answer(s, c, r, method);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && r->body.len + *upload_size > MAX_BODY) {
			r->too_big = 1;
			s->n.too_big++;
			fb_buf_release(&r->body);
		}
		if (!r->too_big && fb_buf_add(&r->body, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	uint64_t lat = r->waited ? 0 : latency_of(s, r->seq);
	if (lat && !r->waited) {
		r->waited = 1;
		uint64_t due = r->t0 + lat;
		if (fs_wake_now_ms() < due && fs_wake_suspend(s->wake, c, due))
			return MHD_YES; /* called again once resumed */
	}
	return answer(s, c, r, method);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	struct req *r = calloc(1, sizeof(*r));
	if (r && !(r->uri = strdup(uri))) {
		free(r);
		r = NULL;
	}
	return r;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *r = *con_cls;
	if (r) {
		fb_buf_release(&r->body);
		free(r->uri);
		free(r);
	}
	*con_cls = NULL;
}

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
		    enum MHD_ConnectionNotificationCode code)
{
	struct fs_server *s = cls;
	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		s->n.conns++;
		if (++s->n.conns_open > s->n.conns_peak)
			s->n.conns_peak = s->n.conns_open;
	} else if (s->n.conns_open) {
		s->n.conns_open--;
	}
}

/* A listening socket on 127.0.0.1 only; the port is known before the model exists. */
static int listen_loopback(struct fs_server *s, struct fb_err *err)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot open a socket: %s",
				  strerror(errno));
	int one = 1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s->flags.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof(a);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) || fcntl(fd, F_SETFL, O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, LISTEN_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		int e = errno;
		close(fd);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot listen on 127.0.0.1:%u: %s",
				  s->flags.port, strerror(e));
	}
	s->listen_fd = fd;
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u" API_PREFIX, s->port);
	return 0;
}

int fs_server_start(struct fs_server **out, const struct fs_flags *flags, struct fb_err *err)
{
	*out = NULL;
	struct fs_server *s = calloc(1, sizeof(*s));
	if (!s)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	s->flags = *flags;
	s->listen_fd = -1;
	int rc = listen_loopback(s, err);
	if (rc)
		goto fail;
	struct fb_simmodel_config mc = flags->model;
	mc.base_url = s->url;
	s->clock = fb_clock_real_new();
	if (!s->clock) {
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		goto fail;
	}
	if ((rc = fb_simmodel_new(&s->model, &mc, s->clock, err)) ||
	    (rc = fs_wake_new(&s->wake, err)))
		goto fail;
	s->daemon = MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)s->listen_fd, MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
	    MHD_OPTION_END);
	if (!s->daemon) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot start the HTTP server");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	fs_server_free(s);
	return rc;
}

unsigned fs_server_port(const struct fs_server *s)
{
	return s->port;
}

const char *fs_server_url(const struct fs_server *s)
{
	return s->url;
}

void fs_server_stop(struct fs_server *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = 1;
	if (s->daemon)
		MHD_quiesce_daemon(s->daemon); /* the socket stays ours to close */
	/* libmicrohttpd must not stop with suspended connections. */
	fs_wake_stop(s->wake);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}

int fs_server_summary(struct fs_server *s, struct fb_buf *out)
{
	struct fb_simstats st;
	fb_simmodel_stats(s->model, &st);
	const struct counters *n = &s->n;
	typedef unsigned long long ull;
	return fb_buf_addf(
	    out,
	    "%llu requests on %llu connections (at most %llu open); at most %llu API requests "
	    "and %llu creates in one second; %llu runs created, %llu "
	    "polls, %llu lists, %llu downloads; most runs for one key %llu (keys with several "
	    "%llu); answered 401 x%llu, 402 x%llu, 403 x%llu, 429 x%llu, 5xx faults x%llu; "
	    "connections closed unanswered %llu, bodies truncated %llu, slow %llu; bodies too "
	    "large %llu; keep-alive connections closed %llu",
	    (ull)n->requests, (ull)n->conns, (ull)n->conns_peak, (ull)st.max_requests_per_second,
	    (ull)st.max_creates_per_second, (ull)st.runs_created, (ull)st.polls, (ull)st.lists,
	    (ull)st.fetches, (ull)st.max_runs_per_key, (ull)st.keys_with_several_runs,
	    (ull)st.unauthorized, (ull)st.insufficient_credits, (ull)st.forbidden,
	    (ull)st.rate_limited, (ull)st.faults_5xx, (ull)n->resets, (ull)n->truncated,
	    (ull)n->slowed, (ull)n->too_big, (ull)n->closes);
}

void fs_server_free(struct fs_server *s)
{
	if (!s)
		return;
	fs_server_stop(s);
	fs_wake_free(s->wake);
	fb_simmodel_free(s->model);
	fb_clock_free(s->clock);
	free(s);
}
