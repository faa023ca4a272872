/*
 * Tests for asset uploads over the http transport: a loopback HTTP server
 * hands every request to the simulator model, so the real multipart bytes
 * libcurl sends are what the model reads. Checks that the upload reaches
 * the upload URL without the API key while the API steps carry it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "clock.h"
#include "http.h"
#include "sha256.h"
#include "simmodel.h"
#include "testutil.h"

#define KEY "sk_test_httpupload"

struct srv {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	struct fb_clock *clock;
	struct fb_simmodel *m;
	char root[64], base[96];
	int uploads, upload_auth, api_calls, api_without_auth;
};

struct conn {
	struct fb_buf body;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
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
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	struct fb_buf path = FB_BUF_INIT;
	fb_buf_addf(&path, "%s%s", s->root, url);
	struct fb_simcall call = {
	    .method = method,
	    .path = fb_buf_str(&path),
	    .authorization = auth,
	    .idem_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
	    .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
	    .body = k->body.ptr,
	    .body_len = k->body.len};
	struct fb_simresp r = FB_SIMRESP_INIT;
	pthread_mutex_lock(&s->mu);
	if (!strncmp(url, "/api/v1/_sim/upload/", 20)) {
		s->uploads++;
		s->upload_auth += auth != NULL;
	} else if (!strncmp(url, "/api/v1/assets", 14)) {
		s->api_calls++;
		s->api_without_auth += auth == NULL;
	}
	int rc = fb_simmodel_handle(s->m, &call, &r);
	pthread_mutex_unlock(&s->mu);
	fb_buf_release(&path);
	if (rc)
		return MHD_NO;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    r.body.len, r.body.ptr ? r.body.ptr : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (r.content_type)
		MHD_add_response_header(resp, "Content-Type", r.content_type);
	MHD_add_response_header(resp, "request-id", r.request_id);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	fb_simresp_release(&r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
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

static int srv_start(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The model exists before the first request: nothing connects until the test starts. */
	s->d =
	    MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD, 0, NULL,
			     NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!s->d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(s->root, sizeof(s->root), "http://127.0.0.1:%u", (unsigned)di->port);
	snprintf(s->base, sizeof(s->base), "%s/api/v1", s->root);
	struct fb_simmodel_config mc;
	memset(&mc, 0, sizeof(mc));
	mc.seed = 3;
	mc.base_url = s->base;
	mc.api_key = KEY;
	struct fb_err err = {0};
	s->clock = fb_clock_real_new();
	if (fb_simmodel_new(&s->m, &mc, s->clock, &err))
		return -1;
	*state = s;
	return 0;
}

static int srv_stop(void **state)
{
	struct srv *s = *state;
	MHD_stop_daemon(s->d);
	fb_simmodel_free(s->m);
	fb_clock_free(s->clock);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return 0;
}

struct seen {
	int fired, ok, http_status;
	struct fb_err err;
	char url[256], asset_id[64];
};

static void on_upload(void *ud, const struct fb_upload_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->err = r->err;
	if (r->ok) {
		snprintf(s->url, sizeof(s->url), "%s", r->url);
		snprintf(s->asset_id, sizeof(s->asset_id), "%s", r->asset_id);
	}
}

static int collect(void *ud, const void *data, size_t len)
{
	return fb_buf_add(ud, data, len);
}

static void on_fetched(void *ud, const struct fb_fetch_result *res)
{
	(void)ud;
	assert_true(res->ok);
}

static void drain(struct fb_transport *t)
{
	for (int i = 0; i < 2000 && fb_transport_pending(t); i++)
		assert_true(fb_transport_step(t, 50) >= 0);
	assert_int_equal(fb_transport_pending(t), 0);
}

static void test_round_trip(void **state)
{
	struct srv *s = *state;
	char *dir = tu_tmpdir();
	size_t n = 200 * 1024;
	unsigned char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)((i * 40503u) >> 7);
	char *path = tu_write_file(dir, "in.png", data, n);

	struct fb_http_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = s->base;
	cfg.api_key = KEY;
	struct fb_transport *t;
	struct fb_err err = {0};
	assert_int_equal(fb_http_transport_new(&t, &cfg, &err), 0);
	struct seen seen = {0};
	struct fb_upload_request req = {path, "in.png", "image/png", "ws_accept", "k-1"};
	assert_int_equal(fb_transport_upload_asset(t, &req, on_upload, &seen, &err), 0);
	assert_int_equal(seen.fired, 0);
	drain(t);
	assert_int_equal(seen.fired, 1);
	if (!seen.ok)
		fail_msg("upload failed: %s", seen.err.msg);
	assert_non_null(strstr(seen.url, s->base));

	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->uploads, 1);
	assert_int_equal(s->upload_auth, 0); /* the key never went to the upload URL */
	assert_int_equal(s->api_calls, 3);   /* reserve, complete, one GET */
	assert_int_equal(s->api_without_auth, 0);
	pthread_mutex_unlock(&s->mu);

	/* The bytes libcurl sent are the file's: the model kept their digest and size. */
	char sha[65], want[65];
	uint64_t size = 0;
	pthread_mutex_lock(&s->mu);
	assert_int_equal(fb_simmodel_asset_digest(s->m, seen.asset_id, sha, &size), 0);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(fb_sha256_hex(data, n, want), 0);
	assert_string_equal(sha, want);
	assert_int_equal(size, n);
	struct fb_buf got = FB_BUF_INIT;
	assert_int_equal(fb_transport_fetch(t, seen.url, collect, on_fetched, &got, &err), 0);
	drain(t);
	assert_true(got.len > 8 && !memcmp(got.ptr, "\x89PNG", 4));
	fb_buf_release(&got);

	/* A read-only workspace: the reservation's 403 ends the upload. */
	memset(&seen, 0, sizeof(seen));
	req.workspace_id = "ws_readonly";
	assert_int_equal(fb_transport_upload_asset(t, &req, on_upload, &seen, &err), 0);
	drain(t);
	assert_int_equal(seen.fired, 1);
	assert_false(seen.ok);
	assert_int_equal(seen.http_status, 403);
	assert_int_equal(seen.err.kind, FB_KIND_ITEM);

	fb_transport_free(t);
	free(data);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, srv_start, srv_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
