/*
 * Tests for simulated assets: a signed-url reservation uploaded as the SDK
 * does it, then completed, read back and downloaded; the one-call
 * multipart upload; complete, retry and upload state rules; https sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "png.h"
#include "sha256.h"
#include "simfx.h"

#define BOUNDARY "----formdata-test-7d1"
#define FORM_CT	 "multipart/form-data; boundary=" BOUNDARY
#define BASE	 "sim://api/v1"
#define RESERVE                                                                                    \
	"{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\",\"file_name\":\"hero.png\","    \
	"\"content_type\":\"image/png\"}"

struct part {
	const char *name, *filename, *type;
	const void *data;
	size_t len;
};

/* A multipart/form-data body, fields in order, as FormData writes it. */
static void form(struct fb_buf *b, const struct part *parts, size_t n)
{
	fb_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		const struct part *p = &parts[i];
		fb_buf_addf(b, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", BOUNDARY,
			    p->name);
		if (p->filename)
			fb_buf_addf(b, "; filename=\"%s\"", p->filename);
		fb_buf_adds(b, "\r\n");
		if (p->type)
			fb_buf_addf(b, "Content-Type: %s\r\n", p->type);
		fb_buf_adds(b, "\r\n");
		fb_buf_add(b, p->data, p->len ? p->len : strlen(p->data));
		fb_buf_adds(b, "\r\n");
	}
	fb_buf_addf(b, "--%s--\r\n", BOUNDARY);
}

static struct sfx *fresh(const char *api_key)
{
	struct fb_simmodel_config c = sfx_config();
	c.api_key = api_key;
	return sfx_new(&c);
}

/* The path part of a URL the model handed out. */
static const char *rel(const char *url)
{
	assert_int_equal(strncmp(url, BASE, strlen(BASE)), 0);
	return url + strlen(BASE);
}

static void test_signed_url_flow(void **state)
{
	(void)state;
	struct sfx *f = fresh(SFX_KEY);
	struct fb_buf png = FB_BUF_INIT, body = FB_BUF_INIT;
	assert_int_equal(fb_png_from_seed(42, 40, 30, &png), 0);

	assert_int_equal(sfx_post(f, "/assets", NULL, RESERVE), 201);
	char *id = sfx_dup(f, "asset_id"), *url = sfx_dup(f, "url");
	assert_int_equal(strncmp(id, "asset_", 6), 0);
	assert_string_equal(sfx_str(f->v, "uploaded_via"), "signed_url");
	assert_string_equal(sfx_str(f->v, "status"), "pending_upload");
	assert_string_equal(sfx_str(f->v, "visibility"), "workspace");
	assert_string_equal(sfx_str(f->v, "workspace_id"), "ws_accept");
	assert_string_equal(sfx_str(f->v, "expires_at"), "2026-01-01T01:00:01.000Z");
	yajl_val up = sfx_at(f->v, "upload", NULL);
	char *upload = strdup(sfx_str(up, "url")),
	     *token = strdup(sfx_str(sfx_at(up, "form_fields", NULL), "token"));
	assert_string_equal(upload, sfx_fmt(f, BASE "/_sim/upload/%s", id));
	assert_string_equal(sfx_str(up, "method"), "POST");
	assert_string_equal(sfx_str(up, "content_type"), "multipart/form-data");
	assert_string_equal(sfx_str(up, "file_field"), "file");
	assert_non_null(strstr(sfx_str(f->v, "upload_url"), "/_sim/upload/"));

	/* Before the upload: pending, no URL yet, created_at an ISO string. */
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "pending_upload");
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "url", NULL)));
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "size_bytes", NULL)));
	assert_string_equal(sfx_str(f->v, "created_at"), "2026-01-01T00:00:01.000Z");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 200);
	assert_string_equal(sfx_str(f->v, "status"), "failed"); /* nothing uploaded yet */
	assert_string_equal(sfx_str(f->v, "failure_message"), "No file was uploaded.");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/retry", id), NULL, NULL), 200);
	assert_string_equal(sfx_str(f->v, "status"), "pending_upload");
	char *token2 = strdup(sfx_str(sfx_at(f->v, "upload", "form_fields"), "token"));
	assert_string_not_equal(token, token2); /* a fresh reservation */

	/* The upload: fields first, then the file; no API key. */
	struct part parts[] = {{"token", NULL, NULL, token, 0},
			       {"file", "hero.png", "image/png", png.ptr, png.len}};
	form(&body, parts, 2);
	f->auth = NULL;
	assert_int_equal(sfx_call(f, "POST", rel(upload), NULL, FORM_CT, body.ptr, body.len), 403);
	sfx_assert_error(f, 403, "forbidden"); /* the old token */
	parts[0].data = token2;
	form(&body, parts, 2);
	assert_int_equal(sfx_call(f, "POST", rel(upload), NULL, FORM_CT, body.ptr, body.len), 200);
	assert_int_equal(sfx_int(f->v, "size_bytes"), (long long)png.len);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 401);
	f->auth = SFX_AUTH;
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 200);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_null(sfx_at(f->v, "upload", NULL));
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 409);
	sfx_assert_error(f, 409, "conflict");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/retry", id), NULL, NULL), 409);
	assert_int_equal(sfx_call(f, "POST", rel(upload), NULL, FORM_CT, body.ptr, body.len), 409);

	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_string_equal(sfx_str(f->v, "url"), url);
	assert_string_equal(sfx_str(f->v, "name"), "hero.png");
	assert_string_equal(sfx_str(f->v, "content_type"), "image/png");
	assert_string_equal(sfx_str(f->v, "upload_content_type"), "image/png");
	assert_int_equal(sfx_int(f->v, "size_bytes"), (long long)png.len);
	assert_int_equal(sfx_int(f->v, "width"), 40);
	assert_int_equal(sfx_int(f->v, "height"), 30);
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "failure_message", NULL)));

	/* The model keeps the bytes' digest and size, never the bytes. */
	char sha[65], want[65];
	uint64_t size = 0;
	assert_int_equal(fb_simmodel_asset_digest(f->m, id, sha, &size), 0);
	assert_int_equal(fb_sha256_hex(png.ptr, png.len, want), 0);
	assert_string_equal(sha, want);
	assert_int_equal(size, png.len);
	/* The URL serves an image of the asset's kind, without a key. */
	f->auth = NULL;
	assert_int_equal(sfx_get(f, url), 200);
	assert_string_equal(f->r.content_type, "image/png");
	assert_true(f->r.body.len > 8 && !memcmp(f->r.body.ptr, "\x89PNG", 4));

	free(id);
	free(url);
	free(upload);
	free(token);
	free(token2);
	fb_buf_release(&png);
	fb_buf_release(&body);
	sfx_free(f);
}

static void test_one_call_upload(void **state)
{
	(void)state;
	struct sfx *f = fresh(NULL);
	struct fb_buf png = FB_BUF_INIT, body = FB_BUF_INIT;
	assert_int_equal(fb_png_from_seed(1, 8, 8, &png), 0);
	/* As the SDK sends it: workspace_id, then the file, then its type and name. */
	struct part parts[] = {{"workspace_id", NULL, NULL, "ws_accept", 0},
			       {"file", "probe.png", "image/png", png.ptr, png.len},
			       {"content_type", NULL, NULL, "image/png", 0},
			       {"file_name", NULL, NULL, "probe.png", 0}};
	form(&body, parts, 4);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 201);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_string_equal(sfx_str(f->v, "uploaded_via"), "direct");
	assert_null(sfx_at(f->v, "upload", NULL));
	char *id = sfx_dup(f, "asset_id"), *url = sfx_dup(f, "url");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_string_equal(sfx_str(f->v, "uploaded_via"), "direct");
	assert_int_equal(sfx_get(f, url), 200);
	assert_true(f->r.body.len > 8 && !memcmp(f->r.body.ptr, "\x89PNG", 4));
	char sha[65], want[65];
	uint64_t size = 0;
	assert_int_equal(fb_simmodel_asset_digest(f->m, id, sha, &size), 0);
	assert_int_equal(fb_sha256_hex(png.ptr, png.len, want), 0);
	assert_string_equal(sha, want);
	assert_int_equal(size, png.len);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 409);

	/* The type may come from the part, or from the bytes themselves. */
	struct part bare[] = {{"workspace_id", NULL, NULL, "ws_accept", 0},
			      {"file", "x", "application/octet-stream", png.ptr, png.len}};
	form(&body, bare, 2);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 201);

	/* What is refused, and the field named. */
	struct part nofile[] = {{"workspace_id", NULL, NULL, "ws_accept", 0}};
	form(&body, nofile, 1);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 400);
	assert_string_equal(sfx_bad_field(f), "file");
	struct part nows[] = {{"file", "a.png", "image/png", png.ptr, png.len}};
	form(&body, nows, 1);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 400);
	assert_string_equal(sfx_bad_field(f), "workspace_id");
	struct part text[] = {{"workspace_id", NULL, NULL, "ws_accept", 0},
			      {"file", "a.txt", "text/plain", "hello", 0}};
	form(&body, text, 2);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 400);
	assert_string_equal(sfx_bad_field(f), "content_type");
	struct part ro[] = {{"workspace_id", NULL, NULL, "ws_readonly", 0},
			    {"file", "a.png", "image/png", png.ptr, png.len}};
	form(&body, ro, 2);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 403);
	char *big = calloc(1, 4 * 1024 * 1024 + 1);
	memcpy(big, png.ptr, png.len);
	struct part large[] = {{"workspace_id", NULL, NULL, "ws_accept", 0},
			       {"file", "big.png", "image/png", big, 4 * 1024 * 1024 + 1}};
	form(&body, large, 2);
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, body.ptr, body.len), 400);
	assert_string_equal(sfx_bad_field(f), "file");
	assert_int_equal(sfx_call(f, "POST", "/assets", NULL, FORM_CT, "--x", 3), 400);
	free(big);
	free(id);
	free(url);
	fb_buf_release(&png);
	fb_buf_release(&body);
	sfx_free(f);
}

static void test_put_upload_and_expiry(void **state)
{
	(void)state;
	struct sfx *f = fresh(NULL);
	assert_int_equal(sfx_post(f, "/assets", NULL, RESERVE), 201);
	char *id = sfx_dup(f, "asset_id"), *put = sfx_dup(f, "upload_url");
	/* The raw PUT fallback, signed in its query. */
	assert_int_equal(sfx_call(f, "PUT", rel(put), NULL, "image/png", "\x89PNG\r\n\x1a\n", 8),
			 200);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 200);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_int_equal(sfx_call(f, "PUT", sfx_fmt(f, "/_sim/upload/%s", id), NULL, NULL, "x", 1),
			 409);

	/* An hour later an unused reservation has expired: uploads are refused, retry renews. */
	assert_int_equal(sfx_post(f, "/assets", NULL, RESERVE), 201);
	char *id2 = sfx_dup(f, "asset_id"), *put2 = sfx_dup(f, "upload_url");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/retry", id2), NULL, NULL), 409);
	fb_clock_sleep_ms(f->clock, 3600 * 1000 + 1);
	assert_int_equal(sfx_call(f, "PUT", rel(put2), NULL, NULL, "x", 1), 403);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/retry", id2), NULL, NULL), 200);
	free(put2);
	put2 = sfx_dup(f, "upload_url");
	assert_int_equal(sfx_call(f, "PUT", rel(put2), NULL, NULL, "%PDF-1.4", 8), 200);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id2), NULL, NULL), 200);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/upload/%s", id2)),
			 404); /* POST or PUT only */
	assert_int_equal(sfx_get(f, "/assets/asset_nope"), 404);
	assert_int_equal(sfx_post(f, "/assets/asset_nope/complete", NULL, NULL), 404);

	/* The list: newest first, created_at a number here. */
	assert_int_equal(sfx_get(f, "/assets?limit=1"), 200);
	yajl_val items = sfx_at(f->v, "assets", NULL);
	assert_int_equal(items->u.array.len, 1);
	assert_string_equal(sfx_str(items->u.array.values[0], "asset_id"), id2);
	assert_true(sfx_int(items->u.array.values[0], "created_at") > 0);
	assert_true(YAJL_IS_STRING(sfx_at(f->v, "meta", "next_cursor")));
	free(id);
	free(put);
	free(id2);
	free(put2);
	sfx_free(f);
}

static void test_sources(void **state)
{
	(void)state;
	struct sfx *f = fresh(NULL);
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"https://cdn.example.com/img/cat.jpg?x=1\","
				  "\"workspace_id\":\"ws_accept\",\"project_id\":\"prj_accept\"}"),
			 201);
	assert_string_equal(sfx_str(f->v, "status"), "ready");
	assert_string_equal(sfx_str(f->v, "uploaded_via"), "url");
	char *id = sfx_dup(f, "asset_id"), *url = sfx_dup(f, "url");
	assert_non_null(strstr(url, "/cat.jpg"));
	assert_int_equal(sfx_get(f, url), 200); /* a placeholder: the source is not fetched */
	assert_string_equal(f->r.content_type, "image/png");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "name"), "cat.jpg");

	static const char *const bad[][2] = {
	    {"{\"source\":\"http://example.com/a.png\",\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":\"data:image/png;base64,AAAA\",\"workspace_id\":\"ws_accept\"}",
	     "source"},
	    {"{\"source\":\"./a.png\",\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":{\"url\":\"https://e.x\"},\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":\"https://localhost/a.png\",\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":\"https://10.1.2.3/a.png\",\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":\"https://u@169.254.169.254/x\",\"workspace_id\":\"ws_accept\"}",
	     "source"},
	    {"{\"source\":\"https://db.internal/x\",\"workspace_id\":\"ws_accept\"}", "source"},
	    {"{\"source\":\"signed-url\"}", "workspace_id"},
	    {"{\"source\":\"signed-url\",\"workspace_id\":\"accept\"}", "workspace_id"},
	    {"{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\",\"extra\":1}", "extra"},
	    {"{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\",\"content_type\":"
	     "\"text/html\"}",
	     "content_type"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sfx_post(f, "/assets", NULL, bad[i][0]) != 400)
			fail_msg("case %zu: %d", i, f->r.status);
		assert_string_equal(sfx_bad_field(f), bad[i][1]);
	}
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"signed-url\",\"workspace_id\":\"ws_nope\"}"),
			 404);
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"signed-url\",\"workspace_id\":\"ws_readonly\"}"),
			 403);
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\","
				  "\"project_id\":\"prj_readonly\"}"),
			 404);
	free(id);
	free(url);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_url_flow),
	    cmocka_unit_test(test_one_call_upload),
	    cmocka_unit_test(test_put_upload_and_expiry),
	    cmocka_unit_test(test_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
