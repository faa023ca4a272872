/*
 * Tests for asset uploads: the whole operation through the sim transport
 * on a virtual clock (reserve, multipart upload, complete, wait for ready,
 * download), its failures, and the shared pieces: the reservation request,
 * reading asset answers, the multipart body and the step logic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiasset.h"
#include "apireq.h"
#include "buf.h"
#include "sha256.h"
#include "clock.h"
#include "error.h"
#include "sim.h"
#include "testutil.h"
#include "upload.h"

#define KEY "sk_test_upload"

struct seen {
	int fired;
	int ok, http_status;
	struct fb_err err;
	char asset_id[64], url[256];
};

static void on_upload(void *ud, const struct fb_upload_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->err = r->err;
	if (r->ok) {
		snprintf(s->asset_id, sizeof(s->asset_id), "%s", r->asset_id);
		snprintf(s->url, sizeof(s->url), "%s", r->url);
	}
}

struct fx {
	struct fb_clock *clock;
	struct fb_transport *t;
	char *dir;
};

static void fx_open(struct fx *f)
{
	struct fb_sim_config c;
	struct fb_err err = {0};
	memset(&c, 0, sizeof(c));
	c.model.seed = 11;
	c.model.run_ms = 1000;
	c.model.api_key = KEY;
	c.api_key = KEY;
	c.latency_ms = 40;
	f->clock = fb_clock_virtual_new(1000);
	assert_int_equal(fb_sim_transport_new(&f->t, &c, f->clock, &err), 0);
	f->dir = tu_tmpdir();
}

static void fx_close(struct fx *f)
{
	fb_transport_free(f->t);
	fb_clock_free(f->clock);
	tu_rmrf(f->dir);
	free(f->dir);
}

/* Steps until nothing is pending (bounded, so a stuck op fails the test). */
static void drain(struct fx *f)
{
	for (int i = 0; i < 10000 && fb_transport_pending(f->t); i++)
		assert_true(fb_transport_step(f->t, 5000) >= 0);
	assert_int_equal(fb_transport_pending(f->t), 0);
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

static struct fb_upload_request request(const char *path, const char *key)
{
	struct fb_upload_request r = {path, "photo.png", "image/png", "ws_accept", key};
	return r;
}

static void test_upload_and_download(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	size_t n = 300 * 1024;
	unsigned char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)((i * 2654435761u) >> 13);
	/* A boundary-looking line inside the file must not cut it short. */
	memcpy(data + 1000, "\r\n------florabatch-", 19);
	char *path = tu_write_file(f.dir, "photo.png", data, n);

	struct seen s = {0};
	struct fb_err err = {0};
	struct fb_upload_request req = request(path, "upload-key-1");
	uint64_t t0 = fb_clock_now_ms(f.clock);
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &s, &err), 0);
	assert_int_equal(s.fired, 0); /* never inside the starting call */
	assert_int_equal(fb_transport_pending(f.t), 1);
	drain(&f);
	assert_int_equal(s.fired, 1);
	assert_true(s.ok);
	assert_int_equal(s.http_status, 200);
	assert_int_equal(strncmp(s.asset_id, "asset_", 6), 0);
	assert_non_null(strstr(s.url, s.asset_id));
	/* reserve, upload, complete, one GET: four answers' latency, no poll wait */
	assert_int_equal(fb_clock_now_ms(f.clock) - t0, 4 * 40);

	/* The simulator kept the bytes' digest and size (never the bytes); the URL serves. */
	char sha[65], want[65];
	uint64_t size = 0;
	assert_int_equal(
	    fb_simmodel_asset_digest(fb_sim_transport_model(f.t), s.asset_id, sha, &size), 0);
	assert_int_equal(fb_sha256_hex(data, n, want), 0);
	assert_string_equal(sha, want);
	assert_int_equal(size, n);
	struct fb_buf got = FB_BUF_INIT;
	assert_int_equal(fb_transport_fetch(f.t, s.url, collect, on_fetched, &got, &err), 0);
	drain(&f);
	assert_true(got.len > 8 && !memcmp(got.ptr, "\x89PNG", 4));
	fb_buf_release(&got);

	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f.t), &st);
	assert_int_equal(st.assets_created, 1);
	assert_int_equal(st.unauthorized, 0); /* the API steps carried the key */
	free(data);
	free(path);
	fx_close(&f);
}

/* Assets ignore idempotency keys in the model: the same key twice makes two assets. */
static void test_same_key_twice(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	char *path = tu_write_file(f.dir, "a.png", "0123456789", 10);
	struct seen a = {0}, b = {0};
	struct fb_err err = {0};
	struct fb_upload_request req = request(path, "same-key");
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &a, &err), 0);
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &b, &err), 0);
	assert_int_equal(fb_transport_pending(f.t), 2);
	drain(&f);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 1);
	assert_true(a.ok && b.ok);
	assert_string_not_equal(a.asset_id, b.asset_id);
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f.t), &st);
	assert_int_equal(st.assets_created, 2);
	free(path);
	fx_close(&f);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	char *path = tu_path(f.dir, "nope.png");
	struct seen s = {0};
	struct fb_err err = {0};
	struct fb_upload_request req = request(path, "k");
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &s, &err), FB_EIO);
	assert_int_equal(err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(err.msg, "nope.png"));
	/* A directory is no file either. */
	req.path = f.dir;
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &s, &err), FB_EIO);
	assert_int_equal(fb_transport_pending(f.t), 0);
	assert_int_equal(fb_transport_step(f.t, 1000), 0);
	assert_int_equal(s.fired, 0);
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f.t), &st);
	assert_int_equal(st.requests, 0);
	free(path);
	fx_close(&f);
}

static void test_readonly_workspace(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	char *path = tu_write_file(f.dir, "a.png", "abc", 3);
	struct seen s = {0};
	struct fb_err err = {0};
	struct fb_upload_request req = request(path, "k");
	req.workspace_id = "ws_readonly";
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &s, &err), 0);
	drain(&f);
	assert_int_equal(s.fired, 1);
	assert_false(s.ok);
	assert_int_equal(s.http_status, 403);
	assert_int_equal(s.err.code, FB_EHTTP);
	assert_int_equal(s.err.http_status, 403);
	assert_int_equal(s.err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(s.err.msg, "ws_readonly"));
	free(path);
	fx_close(&f);
}

/* Freeing the transport mid-upload frees the op; its callback never fires. */
static void test_free_midway(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f);
	char *path = tu_write_file(f.dir, "a.png", "abc", 3);
	struct seen s = {0};
	struct fb_err err = {0};
	struct fb_upload_request req = request(path, "k");
	assert_int_equal(fb_transport_upload_asset(f.t, &req, on_upload, &s, &err), 0);
	assert_int_equal(fb_transport_step(f.t, 40), 0); /* the reservation answered */
	assert_int_equal(fb_transport_pending(f.t), 1);
	free(path);
	fx_close(&f);
	assert_int_equal(s.fired, 0);
}

static void test_reserve_call(void **state)
{
	(void)state;
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_err err = {0};
	struct fb_upload_request req = {"/x/a b.png", "a b.png", "image/png", "ws_accept", "k1"};
	assert_int_equal(fb_api_asset_reserve_call(&req, &call, &err), 0);
	assert_string_equal(call.method, "POST");
	assert_string_equal(fb_buf_str(&call.path), "/assets");
	assert_string_equal(call.idem_key, "k1");
	assert_string_equal(fb_buf_str(&call.body),
			    "{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\","
			    "\"file_name\":\"a b.png\",\"content_type\":\"image/png\"}");
	req.idempotency_key = "";
	req.content_type = NULL;
	assert_int_equal(fb_api_asset_reserve_call(&req, &call, &err), 0);
	assert_null(call.idem_key);
	assert_null(strstr(fb_buf_str(&call.body), "content_type"));
	req.workspace_id = NULL;
	assert_int_equal(fb_api_asset_reserve_call(&req, &call, &err), FB_EINVAL);
	assert_int_equal(fb_api_asset_complete_call("asset_1/2", &call, &err), 0);
	assert_string_equal(fb_buf_str(&call.path), "/assets/asset_1%2F2/complete");
	assert_int_equal(call.body.len, 0);
	assert_int_equal(fb_api_asset_get_call("asset_1", &call, &err), 0);
	assert_string_equal(call.method, "GET");
	assert_string_equal(fb_buf_str(&call.path), "/assets/asset_1");
	assert_int_equal(fb_api_asset_get_call("", &call, &err), FB_EINVAL);
	fb_api_call_release(&call);
}

static void test_parse_asset(void **state)
{
	(void)state;
	struct fb_api_asset a;
	struct fb_err err = {0};
	const char *camel = "{\"data\":{\"assetId\":\"asset_9\",\"status\":\"Pending_Upload\","
			    "\"uploadUrl\":\"https://u/put?t=1\",\"upload\":{\"url\":\"https://u/"
			    "post\",\"fileField\":\"f\",\"formFields\":{\"token\":\"t1\","
			    "\"n\":7,\"skip\":null}}}}";
	assert_int_equal(fb_api_parse_asset(camel, strlen(camel), &a, &err), 0);
	assert_string_equal(a.asset_id, "asset_9");
	assert_string_equal(a.status, "pending_upload");
	assert_string_equal(a.put_url, "https://u/put?t=1");
	assert_string_equal(a.upload_url, "https://u/post");
	assert_string_equal(a.file_field, "f");
	assert_int_equal(a.nfields, 2);
	assert_string_equal(a.fields[0].name, "token");
	assert_string_equal(a.fields[1].value, "7");
	fb_api_asset_release(&a);

	const char *bad[] = {"<html>", "[1]", "{\"status\":\"ready\"}", "{\"asset_id\":\"a\"}"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(fb_api_parse_asset(bad[i], strlen(bad[i]), &a, &err), FB_EPARSE);
		assert_int_equal(err.kind, FB_KIND_RETRYABLE);
		fb_api_asset_release(&a);
	}
}

static void test_multipart_body(void **state)
{
	(void)state;
	char n1[] = "token", v1[] = "t1", n2[] = "key", v2[] = "k2";
	struct fb_api_form_field fields[] = {{n1, v1}, {n2, v2}};
	struct fb_api_asset a = {0};
	a.fields = fields;
	a.nfields = 2;
	struct fb_buf b = FB_BUF_INIT;
	char *ct = NULL;
	struct fb_err err = {0};
	assert_int_equal(
	    fb_api_multipart_body(&a, "x.png", "image/png", "DATA", 4, "BB", &b, &ct, &err), 0);
	assert_string_equal(ct, "multipart/form-data; boundary=BB");
	assert_string_equal(
	    fb_buf_str(&b),
	    "--BB\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nt1\r\n"
	    "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk2\r\n"
	    "--BB\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\nDATA\r\n--BB--\r\n");
	free(ct);
	fb_buf_reset(&b);
	assert_int_equal(fb_api_multipart_body(&a, "x\".png", NULL, "D", 1, "BB", &b, &ct, &err),
			 FB_EINVAL);
	assert_null(ct);
	fb_buf_release(&b);
}

/* Drives an op through the steps with hand-made answers. */
static struct fb_upload_op *op_at_poll(const char *path, struct seen *s, uint64_t now)
{
	struct fb_upload_request req = {path, NULL, "image/png", "ws_accept", NULL};
	struct fb_upload_op *op;
	struct fb_err err = {0};
	uint64_t wait;
	assert_int_equal(fb_upload_op_new(&req, on_upload, s, &op, &err), 0);
	assert_string_equal(op->req.file_name, "a.png"); /* the basename when none is given */
	const char *r = "{\"asset_id\":\"asset_1\",\"status\":\"pending_upload\","
			"\"upload\":{\"url\":\"https://up/x\",\"form_fields\":{\"t\":\"1\"}}}";
	struct fb_upload_answer a = {201, NULL, NULL, -1, r, strlen(r)};
	assert_int_equal(fb_upload_op_next(op, &a, now, &wait), FB_UPLOAD_SEND);
	int put;
	assert_string_equal(fb_upload_op_target(op, &put), "https://up/x");
	assert_int_equal(put, 0);
	struct fb_upload_answer up = {204, NULL, NULL, -1, "", 0};
	assert_int_equal(fb_upload_op_next(op, &up, now, &wait), FB_UPLOAD_COMPLETE);
	const char *c = "{\"asset_id\":\"asset_1\",\"status\":\"pending_upload\",\"url\":null}";
	struct fb_upload_answer ca = {200, NULL, NULL, -1, c, strlen(c)};
	assert_int_equal(fb_upload_op_next(op, &ca, now, &wait), FB_UPLOAD_POLL);
	assert_int_equal(wait, 0);
	return op;
}

static void test_steps_wait_and_fail(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *path = tu_write_file(dir, "a.png", "x", 1);
	struct seen s = {0};
	uint64_t wait, now = 5000;
	const char *pend = "{\"asset_id\":\"asset_1\",\"status\":\"pending_upload\"}";
	struct fb_upload_answer p = {200, NULL, NULL, -1, pend, strlen(pend)};

	/* Pending: a GET every second for 120 s, then a retryable error. */
	struct fb_upload_op *op = op_at_poll(path, &s, now);
	int polls = 0;
	while (fb_upload_op_next(op, &p, now, &wait) == FB_UPLOAD_POLL) {
		assert_int_equal(wait, 1000);
		now += wait;
		polls++;
	}
	assert_int_equal(polls, 120);
	assert_int_equal(s.fired, 1);
	assert_false(s.ok);
	assert_int_equal(s.err.kind, FB_KIND_RETRYABLE);
	assert_non_null(strstr(s.err.msg, "120 s"));
	fb_upload_op_free(op);

	/* Failed: the failure message, and no retry can help this file. */
	memset(&s, 0, sizeof(s));
	op = op_at_poll(path, &s, now);
	const char *f = "{\"assetId\":\"asset_1\",\"status\":\"FAILED\","
			"\"failureMessage\":\"not an image\"}";
	struct fb_upload_answer fa = {200, NULL, NULL, -1, f, strlen(f)};
	assert_int_equal(fb_upload_op_next(op, &fa, now, &wait), FB_UPLOAD_DONE);
	assert_int_equal(s.fired, 1);
	assert_int_equal(s.err.code, FB_ERUN);
	assert_int_equal(s.err.kind, FB_KIND_ITEM);
	assert_non_null(strstr(s.err.msg, "not an image"));
	fb_upload_op_free(op);

	/* A 5xx from the upload host ends the op with that status. */
	memset(&s, 0, sizeof(s));
	struct fb_upload_request req = {path, "a.png", NULL, "ws_accept", NULL};
	assert_int_equal(fb_upload_op_new(&req, on_upload, &s, &op, NULL), 0);
	const char *r = "{\"asset_id\":\"asset_1\",\"status\":\"pending_upload\","
			"\"upload_url\":\"https://up/put\"}";
	struct fb_upload_answer a = {201, NULL, NULL, -1, r, strlen(r)};
	assert_int_equal(fb_upload_op_next(op, &a, now, &wait), FB_UPLOAD_SEND);
	int put;
	assert_string_equal(fb_upload_op_target(op, &put), "https://up/put");
	assert_int_equal(put, 1);
	struct fb_upload_answer e = {503, NULL, "req_1", 2000, "busy", 4};
	assert_int_equal(fb_upload_op_next(op, &e, now, &wait), FB_UPLOAD_DONE);
	assert_int_equal(s.http_status, 503);
	assert_int_equal(s.err.kind, FB_KIND_RETRYABLE);
	fb_upload_op_free(op);

	tu_rmrf(dir);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upload_and_download), cmocka_unit_test(test_same_key_twice),
	    cmocka_unit_test(test_missing_file),	cmocka_unit_test(test_readonly_workspace),
	    cmocka_unit_test(test_free_midway),		cmocka_unit_test(test_reserve_call),
	    cmocka_unit_test(test_parse_asset),		cmocka_unit_test(test_multipart_body),
	    cmocka_unit_test(test_steps_wait_and_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
