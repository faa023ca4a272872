/*
 * httpfx: the fixture of the http transport's tests: callbacks that record
 * what a request's callback saw, transports on a base URL, and a small
 * loopback HTTP server (libmicrohttpd, a thread per connection) that
 * answers as scripted per path and counts what it was sent. Include after
 * cmocka.h; every function is static inline, so each test file uses what
 * it needs.
 */
#ifndef FB_HTTPFX_H
#define FB_HTTPFX_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <microhttpd.h>

#include "api.h"
#include "http.h"

#define KEY	    "sk_test_0123456789abcdef"
#define IDEM	    "fb1-row-7-0123abcd"
#define SIZED_LEN   100000u
#define CHUNKED_LEN 300000u
#define BIG_LEN	    2000000u
#define MAX_OUT	    1000000u

static inline void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline unsigned char pat(uint64_t pos)
{
	return (unsigned char)(pos * 131 + (pos >> 8));
}

struct seen {
	int fired, ok, http_status;
	long retry_after_ms;
	struct fb_err err;
	char run_id[64], poll_url[256], request_id[64];
	enum fb_run_status status;
	/* chain: poll the created run from inside the callback */
	struct fb_transport *t;
	struct seen *chained;
	int chain_rc;
};

static inline void on_reply(void *ud, const struct fb_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->retry_after_ms = r->retry_after_ms;
	s->err = r->err;
	snprintf(s->request_id, sizeof(s->request_id), "%s", r->request_id ? r->request_id : "");
	if (!r->ok)
		return;
	snprintf(s->run_id, sizeof(s->run_id), "%s", r->run.run_id);
	snprintf(s->poll_url, sizeof(s->poll_url), "%s", r->run.poll_url ? r->run.poll_url : "");
	s->status = r->run.status;
	if (s->chained) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, r->run.run_id, "ok", r->run.poll_url};
		struct fb_err e = {0};
		s->chain_rc = fb_transport_get_run(s->t, &ref, on_reply, s->chained, &e);
	}
}

struct sink {
	int calls, done, ok, http_status, bad;
	uint64_t bytes, got;
	int abort_rc;
	char ctype[64];
	struct fb_err err;
	struct fb_transport *t; /* with chained: start a poll from inside the data callback */
	struct seen *chained;
	int chain_rc;
};

static inline int on_data(void *ud, const void *data, size_t len)
{
	struct sink *k = ud;
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		k->bad += p[i] != pat(k->got + i);
	k->got += len;
	if (k->chained && !k->calls++) {
		struct fb_run_ref ref = {FB_JOB_TECHNIQUE, "run_d", "ok", NULL};
		k->chain_rc = fb_transport_get_run(k->t, &ref, on_reply, k->chained, NULL);
	} else if (!k->chained) {
		k->calls++;
	}
	return k->abort_rc;
}

static inline void on_done(void *ud, const struct fb_fetch_result *r)
{
	struct sink *k = ud;
	k->done++;
	k->ok = r->ok;
	k->http_status = r->http_status;
	k->bytes = r->bytes;
	k->err = r->err;
	snprintf(k->ctype, sizeof(k->ctype), "%s", r->content_type ? r->content_type : "");
}

static inline struct fb_transport *new_http_conns(const char *base, uint64_t max_out,
						  uint64_t req_ms, unsigned conns)
{
	struct fb_http_config cfg = {.base_url = base,
				     .api_key = KEY,
				     .request_timeout_ms = req_ms,
				     .max_output_bytes = max_out,
				     .max_host_connections = conns};
	struct fb_transport *t = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), 0);
	assert_non_null(t);
	return t;
}

static inline struct fb_transport *new_http(const char *base, uint64_t max_out, uint64_t req_ms)
{
	return new_http_conns(base, max_out, req_ms, 0);
}

static inline void drain(struct fb_transport *t)
{
	uint64_t deadline = now_ms() + 30000;
	while (fb_transport_pending(t) && now_ms() < deadline)
		assert_true(fb_transport_step(t, 100) >= 0);
	assert_int_equal(fb_transport_pending(t), 0);
}

struct srv {
	struct MHD_Daemon *d;
	char root[64], base[96];
	pthread_mutex_t mu;
	int creates, api_auth_ok, fetches, fetch_auth;
	char idem[2][64], ua[64], ctype[64];
	struct fb_buf body[2];
	int inflight, max_inflight, connections;
	int lists, list_auth_ok;
	char list_url[64], list_query[256]; /* the last list request, its query decoded */
	/* polls that were not a bare GET (a method, body or header of another request) */
	int poll_leaks;
	int fetch_enc; /* downloads that asked for a content encoding */
};

struct conn {
	struct fb_buf body;
};

struct stream {
	uint64_t len, cut_at; /* cut_at < len: the connection breaks there */
};

static inline ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct stream *st = cls;
	if (pos >= st->cut_at)
		return st->cut_at < st->len ? MHD_CONTENT_READER_END_WITH_ERROR
					    : MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = max < 4096 ? max : 4096;
	if (n > st->cut_at - pos)
		n = (size_t)(st->cut_at - pos);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)pat(pos + i);
	return (ssize_t)n;
}

static inline enum MHD_Result send_resp(struct MHD_Connection *c, unsigned status,
					struct MHD_Response *r, const char *ctype,
					const char *const *hdrs)
{
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	for (; hdrs && hdrs[0]; hdrs += 2)
		MHD_add_response_header(r, hdrs[0], hdrs[1]);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static inline enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *ctype,
				   const char *body, const char *const *hdrs)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	return send_resp(c, status, r, ctype, hdrs);
}

static inline enum MHD_Result stream(struct MHD_Connection *c, const struct stream *st, int sized)
{
	struct MHD_Response *r = MHD_create_response_from_callback(
	    sized ? st->len : MHD_SIZE_UNKNOWN, 4096, read_stream, (void *)st, NULL);
	return send_resp(c, 200, r, "image/png", NULL);
}

static inline void note_inflight(struct srv *s, int d)
{
	pthread_mutex_lock(&s->mu);
	s->inflight += d;
	if (s->inflight > s->max_inflight)
		s->max_inflight = s->inflight;
	pthread_mutex_unlock(&s->mu);
}

static inline enum MHD_Result files(struct srv *s, struct MHD_Connection *c, const char *name)
{
	static const struct stream chunked = {CHUNKED_LEN, CHUNKED_LEN};
	static const struct stream big = {BIG_LEN, BIG_LEN};
	static const struct stream cut = {10000, 5000};
	pthread_mutex_lock(&s->mu);
	s->fetches++;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))
		s->fetch_auth++;
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"))
		s->fetch_enc++;
	pthread_mutex_unlock(&s->mu);
	static const char *const to_sized[] = {"Location", "/files/sized", NULL};
	static const char *const to_ftp[] = {"Location", "ftp://127.0.0.1/x", NULL};
	if (!strcmp(name, "sized")) {
		static const struct stream sized = {SIZED_LEN, SIZED_LEN};
		return stream(c, &sized, 1);
	}
	if (!strcmp(name, "chunked"))
		return stream(c, &chunked, 0);
	if (!strcmp(name, "cut"))
		return stream(c, &cut, 1);
	if (!strcmp(name, "big"))
		return stream(c, &big, 1);
	if (!strcmp(name, "bigchunked"))
		return stream(c, &big, 0);
	if (!strcmp(name, "redirect"))
		return text(c, 302, "text/plain", "moved", to_sized);
	if (!strcmp(name, "to-ftp"))
		return text(c, 302, "text/plain", "moved", to_ftp);
	if (!strcmp(name, "slow")) {
		sleep_ms(1500);
		return stream(c, &chunked, 0);
	}
	return text(c, 404, "application/json",
		    "{\"error\":{\"code\":\"not_found\",\"message\":\"No such file.\"}}", NULL);
}

static inline enum MHD_Result srv_create(struct srv *s, struct MHD_Connection *c, const char *tech,
					 const struct fb_buf *body)
{
	static const char *const rid[] = {"request-id", "req_create", NULL};
	static const char *const limited[] = {"Retry-After", "3", "request-id", "req_429", NULL};
	static const char *const limited_ms[] = {"Retry-After", "3", "retry-after-ms", "1500.5",
						 NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *idem = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&s->mu);
	int n = s->creates++;
	if (auth && !strcmp(auth, "Bearer " KEY))
		s->api_auth_ok++;
	if (n < 2) {
		snprintf(s->idem[n], sizeof(s->idem[n]), "%s", idem ? idem : "");
		fb_buf_add(&s->body[n], body->ptr, body->len);
	}
	snprintf(s->ua, sizeof(s->ua), "%s", ua ? ua : "");
	snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
	pthread_mutex_unlock(&s->mu);
	if (!strcmp(tech, "limited"))
		return text(c, 429, "application/json",
			    "{\"error\":{\"code\":\"rate_limited\","
			    "\"message\":\"Rate limit exceeded.\"}}",
			    limited);
	if (!strcmp(tech, "limitedms"))
		return text(c, 429, "application/json", "{}", limited_ms);
	if (!strcmp(tech, "proxy"))
		return text(c, 502, "text/html",
			    "<html><body><h1>502 Bad Gateway</h1></body></html>", NULL);
	if (!strcmp(tech, "hangup"))
		return MHD_NO; /* closes the connection without an answer */
	if (!strcmp(tech, "slow"))
		sleep_ms(1500);
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"run_id\":\"run_%s\",\"poll_url\":\"%s/techniques/ok/runs/run_%s\"}", tech,
		 s->base, tech);
	return text(c, 201, "application/json", buf, rid);
}

static inline enum MHD_Result srv_poll(struct srv *s, struct MHD_Connection *c, const char *method,
				       size_t body_len, const char *tech, const char *run)
{
	static const char *const rid[] = {"request-id", "req_poll", NULL};
	static const char *const to_file[] = {"Location", "/files/sized", NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	int leak = strcmp(method, "GET") || body_len ||
		   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key") ||
		   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&s->mu);
	s->api_auth_ok += auth && !strcmp(auth, "Bearer " KEY);
	s->poll_leaks += leak;
	pthread_mutex_unlock(&s->mu);
	if (!strcmp(tech, "moved")) /* an API answer is never followed */
		return text(c, 302, "text/plain", "moved", to_file);
	if (!strcmp(tech, "sleepy") || !strcmp(tech, "brief")) {
		note_inflight(s, 1);
		sleep_ms(!strcmp(tech, "sleepy") ? 200 : 2);
		note_inflight(s, -1);
	}
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"run_id\":\"%s\",\"status\":\"completed\",\"progress\":100,"
		 "\"outputs\":[{\"output_id\":\"o1\",\"type\":\"imageUrl\","
		 "\"url\":\"%s/files/sized\"}]}",
		 run, s->root);
	return text(c, 200, "application/json", buf, rid);
}

static inline enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	(void)kind;
	struct fb_buf *b = cls;
	fb_buf_addf(b, "%s%s=%s", b->len ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

/* A page of two runs; status=unavailable and status=garbled answer otherwise. */
static inline enum MHD_Result srv_list(struct srv *s, struct MHD_Connection *c, const char *url)
{
	static const char *const rid[] = {"request-id", "req_list", NULL};
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	struct fb_buf q = FB_BUF_INIT;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	pthread_mutex_lock(&s->mu);
	s->lists++;
	if (auth && !strcmp(auth, "Bearer " KEY))
		s->list_auth_ok++;
	snprintf(s->list_url, sizeof(s->list_url), "%s", url);
	snprintf(s->list_query, sizeof(s->list_query), "%s", fb_buf_str(&q));
	pthread_mutex_unlock(&s->mu);
	fb_buf_release(&q);
	if (status && !strcmp(status, "unavailable"))
		return text(c, 503, "application/json",
			    "{\"error\":{\"code\":\"service_unavailable\",\"message\":"
			    "\"Try again.\"}}",
			    rid);
	if (status && !strcmp(status, "garbled"))
		return text(c, 200, "text/html", "<html>cached page</html>", rid);
	return text(c, 200, "application/json",
		    "{\"technique_runs\":[{\"run_id\":\"run_b\",\"technique_run_id\":"
		    "\"run_b\",\"status\":\"running\",\"progress\":40,\"created_at\":"
		    "1718000000002},{\"technique_run_id\":\"run_a\",\"status\":\"completed\","
		    "\"progress\":100,\"created_at\":1718000000001,\"outputs\":[{\"output_id\":"
		    "\"o1\",\"type\":\"imageUrl\",\"url\":\"https://c.example/a.png\"}]}],"
		    "\"meta\":{\"next_cursor\":\"cDoy+/=\",\"total_estimate\":3}}",
		    rid);
}

static inline enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_size, void **con_cls)
{
	(void)version;
	struct srv *s = cls;
	struct conn *k = *con_cls;
	if (!k) {
		k = calloc(1, sizeof(*k));
		*con_cls = k;
		return k ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		fb_buf_add(&k->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	char tech[64], run[64];
	if (!strncmp(url, "/files/", 7))
		return files(s, c, url + 7);
	if (!strcmp(method, "POST") && sscanf(url, "/api/v1/techniques/%63[^/]/runs", tech) == 1)
		return srv_create(s, c, tech, &k->body);
	if (sscanf(url, "/api/v1/techniques/%63[^/]/runs/%63s", tech, run) == 2)
		return srv_poll(s, c, method, k->body.len, tech, run);
	if (!strcmp(method, "GET") &&
	    (!strcmp(url, "/api/v1/technique-runs") || !strcmp(url, "/api/v1/generations")))
		return srv_list(s, c, url);
	return text(c, 404, "text/plain", "no route", NULL);
}

static inline void completed(void *cls, struct MHD_Connection *c, void **con_cls,
			     enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn *k = *con_cls;
	if (k) {
		fb_buf_release(&k->body);
		free(k);
	}
	*con_cls = NULL;
}

static inline void connected(void *cls, struct MHD_Connection *c, void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	(void)c;
	(void)socket_context;
	struct srv *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->mu);
		s->connections++;
		pthread_mutex_unlock(&s->mu);
	}
}

static inline int srv_start(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0,
				NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, completed,
				NULL, MHD_OPTION_NOTIFY_CONNECTION, connected, s,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_END);
	if (!s->d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(s->root, sizeof(s->root), "http://127.0.0.1:%u", (unsigned)di->port);
	snprintf(s->base, sizeof(s->base), "%s/api/v1", s->root);
	*state = s;
	return 0;
}

static inline int srv_stop(void **state)
{
	struct srv *s = *state;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	fb_buf_release(&s->body[0]);
	fb_buf_release(&s->body[1]);
	free(s);
	return 0;
}

/* The one input every create sends. */
static inline const struct fb_input *fx_prompt(void)
{
	static char id[] = "prompt", value[] = "a cat, \"quoted\" \xc3\xa9";
	static const struct fb_input prompt = {.id = id, .type = FB_INPUT_TEXT, .value = value};
	return &prompt;
}

static inline void srv_reset(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->creates = s->api_auth_ok = s->fetches = s->fetch_auth = 0;
	s->inflight = s->max_inflight = s->connections = 0;
	s->lists = s->list_auth_ok = s->poll_leaks = s->fetch_enc = 0;
	s->list_url[0] = s->list_query[0] = '\0';
	fb_buf_reset(&s->body[0]);
	fb_buf_reset(&s->body[1]);
	pthread_mutex_unlock(&s->mu);
}

static inline void create(struct fb_transport *t, const char *tech, struct seen *s)
{
	struct fb_run_request req = {.kind = FB_JOB_TECHNIQUE,
				     .technique = tech,
				     .inputs = fx_prompt(),
				     .ninputs = 1,
				     .idempotency_key = IDEM};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(t, &req, on_reply, s, &err), 0);
}

static inline void fetch(struct fb_transport *t, const struct srv *s, const char *name,
			 struct sink *k)
{
	char url[128];
	snprintf(url, sizeof(url), "%s/files/%s", s->root, name);
	assert_int_equal(fb_transport_fetch(t, url, on_data, on_done, k, NULL), 0);
}

#endif
