/*
 * Tests for the simulator's run routes beyond the nested one: POST
 * /runs/technique and the generation routes (RunCreated), their outputs of
 * every type, id checks, forbidden workspaces and techniques, credits, and
 * idempotency across routes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "simfx.h"

#define IMG "https://example.com/in.png"
#define TOPRUN                                                                                     \
	"{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\",\"inputs\":{"          \
	"\"input_image\":\"" IMG "\",\"prompt\":\"anything\"}}"
#define GEN(t)                                                                                     \
	"{\"type\":\"" t "\",\"prompt\":\"a red kite\",\"workspace_id\":\"ws_accept\","            \
	"\"project_id\":\"prj_accept\"}"
#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"" IMG              \
	"\"}],\"mode\":\"async\"}"

static struct sfx *fresh(void)
{
	struct fb_simmodel_config c = sfx_config();
	return sfx_new(&c);
}

/* The members of v are exactly keys (NULL-terminated). */
static void assert_members(yajl_val v, const char *const *keys)
{
	size_t n = 0;
	for (; keys[n]; n++)
		if (!sfx_at(v, keys[n], NULL))
			fail_msg("missing %s", keys[n]);
	assert_int_equal(v->u.object.len, n);
}

static void test_top_technique_run(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	assert_int_equal(sfx_post(f, "/runs/technique", NULL, TOPRUN), 201);
	static const char *const keys[] = {
	    "run_id",	  "type",  "estimated_seconds", "charged_cost", "poll_url",
	    "project_id", "model", "technique",		"action",	NULL};
	assert_members(f->v, keys); /* RunCreated has no status */
	char *id = sfx_dup(f, "run_id");
	assert_int_equal(strncmp(id, "run_", 4), 0);
	assert_string_equal(sfx_str(f->v, "type"), "technique");
	assert_int_equal(sfx_int(f->v, "estimated_seconds"), 10);
	assert_true(fabs(sfx_num(f->v, "charged_cost") - 0.25) < 1e-9);
	assert_string_equal(sfx_str(f->v, "poll_url"), sfx_fmt(f, "sim://api/v1/runs/%s", id));
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "project_id", NULL)));
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "model", NULL)));
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "action", NULL)));
	assert_string_equal(sfx_str(sfx_at(f->v, "technique", NULL), "technique_id"),
			    "tech_cctv-cam");
	assert_string_equal(sfx_str(sfx_at(f->v, "technique", NULL), "name"), "CCTV Cam");

	/* Polled through GET /runs/{id}, and through the nested route of its own technique only. */
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "pending");
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/cctv-cam/runs/%s", id)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/tech_cctv-cam/runs/%s", id)), 200);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/sigil/runs/%s", id)), 404);
	sfx_assert_error(f, 404, "not_found");
	free(id);
	sfx_free(f);
}

static void test_run_created_camel(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.casing = FB_SIM_CAMEL;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/runs/technique", NULL, TOPRUN), 201);
	static const char *const keys[] = {
	    "runId",	 "type",  "estimatedSeconds", "chargedCost", "pollUrl",
	    "projectId", "model", "technique",	      "action",	     NULL};
	assert_members(f->v, keys);
	assert_string_equal(sfx_str(sfx_at(f->v, "technique", NULL), "techniqueId"),
			    "tech_cctv-cam");
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("image")), 201);
	assert_members(f->v, keys);
	assert_string_equal(sfx_str(sfx_at(f->v, "model", NULL), "modelId"), "t2i-flux-2-pro");
	assert_string_equal(sfx_str(f->v, "projectId"), "prj_accept");
	sfx_free(f);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Downloads the run's only output and checks its bytes are what its type says. */
static void check_output(struct sfx *f, const char *type)
{
	yajl_val outs = sfx_at(f->v, "outputs", NULL);
	assert_true(YAJL_IS_ARRAY(outs) && outs->u.array.len == 1);
	yajl_val o = outs->u.array.values[0];
	char url[256], otype[16];
	snprintf(url, sizeof(url), "%s", sfx_str(o, "url"));
	snprintf(otype, sizeof(otype), "%s", sfx_str(o, "type"));
	assert_int_equal(sfx_get(f, url), 200);
	const unsigned char *b = (const unsigned char *)f->r.body.ptr;
	size_t n = f->r.body.len;
	if (!strcmp(type, "image")) {
		assert_string_equal(otype, "imageUrl");
		assert_string_equal(f->r.content_type, "image/png");
		assert_true(n > 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8));
	} else if (!strcmp(type, "video")) {
		assert_string_equal(otype, "videoUrl");
		assert_string_equal(f->r.content_type, "video/mp4");
		assert_true(n > 16 && !memcmp(b + 4, "ftyp", 4) && !memcmp(b + 8, "isom", 4));
		/* Boxes chain to the end exactly. */
		size_t off = 0;
		while (off + 8 <= n)
			off += (size_t)b[off] << 24 | (size_t)b[off + 1] << 16 |
			       (size_t)b[off + 2] << 8 | b[off + 3];
		assert_int_equal(off, n);
	} else if (!strcmp(type, "audio")) {
		assert_string_equal(otype, "audioUrl");
		assert_string_equal(f->r.content_type, "audio/wav");
		assert_true(n > 44 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVEfmt ", 8));
		assert_int_equal(le32(b + 4), n - 8);
		assert_int_equal(le32(b + 40), n - 44);
		assert_memory_equal(b + 36, "data", 4);
	} else {
		assert_string_equal(otype, "text");
		assert_string_equal(f->r.content_type, "text/plain; charset=utf-8");
		assert_non_null(strstr(f->r.body.ptr, "a red kite"));
	}
}

static void test_generation_outputs_of_each_type(void **state)
{
	(void)state;
	static const char *const types[] = {"image", "video", "audio", "text"};
	static const char *const models[] = {"t2i-flux-2-pro", "t2v-kling-2-1", "t2a-eleven-v3",
					     "t2t-gpt-5-mini"};
	struct sfx *f = fresh();
	for (size_t i = 0; i < 4; i++) {
		char body[256];
		snprintf(body, sizeof(body), GEN("%s"), types[i]);
		/* The deprecated route and the current one answer alike. */
		assert_int_equal(sfx_post(f, i % 2 ? "/runs/generation" : "/generate", NULL, body),
				 201);
		assert_string_equal(sfx_str(f->v, "type"), "generation");
		assert_string_equal(sfx_str(sfx_at(f->v, "model", NULL), "model_id"), models[i]);
		assert_true(YAJL_IS_NULL(sfx_at(f->v, "technique", NULL)));
		char *id = sfx_dup(f, "run_id");
		fb_clock_sleep_ms(f->clock, 10000);
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
		assert_string_equal(sfx_str(f->v, "status"), "completed");
		check_output(f, types[i]);
		/* Not a technique run: the nested route does not know it. */
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/cctv-cam/runs/%s", id)), 404);
		free(id);
	}
	/* A model named by the caller is echoed. */
	assert_int_equal(
	    sfx_post(f, "/generate", NULL,
		     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
		     "\"project_id\":\"prj_accept\",\"model\":\"t2i-flux-2-klein-4b\","
		     "\"params\":{\"seed\":1}}"),
	    201);
	assert_string_equal(sfx_str(sfx_at(f->v, "model", NULL), "model_id"),
			    "t2i-flux-2-klein-4b");
	sfx_free(f);
}

static void test_video_technique_outputs_video(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	assert_int_equal(sfx_post(f, "/techniques/product-animator/runs", NULL, NESTED), 201);
	char *id = sfx_dup(f, "run_id");
	assert_true(fabs(sfx_num(f->v, "charged_cost") - 1.2) <
		    1e-9); /* the technique's run_cost */
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	check_output(f, "video");
	free(id);
	sfx_free(f);
}

struct bad {
	const char *path, *body;
	int status;
	const char *code, *field;
};

static void test_validation_and_ids(void **state)
{
	(void)state;
	static const struct bad cases[] = {
	    {"/generate",
	     "{\"type\":\"image\",\"workspace_id\":\"ws_accept\",\"project_id\":"
	     "\"prj_accept\"}",
	     400, "input_validation_error", "prompt"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_accept\"}",
	     400, "input_validation_error", "prompt"},
	    {"/generate",
	     "{\"type\":\"gif\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_accept\"}",
	     400, "input_validation_error", "type"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_accept\",\"idempotency_key\":\"k\"}",
	     400, "input_validation_error", "idempotency_key"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"accept\","
	     "\"project_id\":\"prj_accept\"}",
	     400, "input_validation_error", "workspace_id"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_\","
	     "\"project_id\":\"prj_accept\"}",
	     400, "input_validation_error", "workspace_id"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_a b\","
	     "\"project_id\":\"prj_accept\"}",
	     400, "input_validation_error", "workspace_id"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_\"}",
	     400, "input_validation_error", "project_id"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_accept\",\"callback_url\":\"ftp://x\"}",
	     400, "input_validation_error", "callback_url"},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_nope\","
	     "\"project_id\":\"prj_accept\"}",
	     404, "not_found", NULL},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_nope\"}",
	     404, "not_found", NULL},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\","
	     "\"project_id\":\"prj_readonly\"}",
	     404, "not_found", NULL},
	    {"/generate",
	     "{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_readonly\","
	     "\"project_id\":\"prj_readonly\"}",
	     403, "forbidden", NULL},
	    {"/generate", "[1]", 400, "invalid_json", NULL},
	    {"/runs/technique",
	     "{\"technique_id\":\"cctv-cam\",\"workspace_id\":\"ws_accept\","
	     "\"inputs\":{}}",
	     400, "input_validation_error", "technique_id"},
	    {"/runs/technique",
	     "{\"technique_id\":\"tech_nope\",\"workspace_id\":\"ws_accept\","
	     "\"inputs\":{}}",
	     404, "not_found", NULL},
	    {"/runs/technique",
	     "{\"technique_id\":\"tech_sigil\",\"workspace_id\":\"ws_accept\","
	     "\"inputs\":[]}",
	     400, "input_validation_error", "inputs"},
	    {"/runs/technique",
	     "{\"technique_id\":\"tech_sigil\",\"workspace_id\":\"ws_accept\","
	     "\"inputs\":{\"input_image\":5}}",
	     400, "input_validation_error", "inputs.input_image"},
	    {"/runs/technique", "{\"technique_id\":\"tech_sigil\",\"inputs\":{}}", 400,
	     "input_validation_error", "workspace_id"},
	    {"/runs/technique",
	     "{\"technique_id\":\"tech_sigil\",\"workspace_id\":"
	     "\"ws_readonly\",\"inputs\":{}}",
	     403, "forbidden", NULL},
	    {"/runs/technique",
	     "{\"technique_id\":\"tech_sigil\",\"workspace_id\":\"ws_accept\","
	     "\"inputs\":{},\"mode\":\"async\"}",
	     400, "input_validation_error", "mode"},
	};
	struct sfx *f = fresh();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad *c = &cases[i];
		sfx_post(f, c->path, NULL, c->body);
		if (f->r.status != c->status)
			fail_msg("case %zu: %d %s", i, f->r.status, fb_buf_str(&f->r.body));
		sfx_assert_error(f, c->status, c->code);
		if (c->field)
			assert_string_equal(sfx_bad_field(f), c->field);
	}
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 0);
	assert_int_equal(st.forbidden, 2);
	sfx_free(f);
}

static void test_forbidden_config(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.forbidden = " sigil ,ws_nope,,";
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/sigil/runs", NULL, NESTED), 403);
	sfx_assert_error(f, 403, "forbidden");
	assert_int_equal(sfx_post(f, "/techniques/tech_sigil/runs", NULL, NESTED), 403);
	assert_int_equal(sfx_post(f, "/runs/technique", NULL,
				  "{\"technique_id\":\"tech_sigil\",\"workspace_id\":\"ws_accept\","
				  "\"inputs\":{}}"),
			 403);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("image")), 201);
	sfx_free(f);

	c.forbidden = "tech_cctv-cam,ws_accept";
	f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("image")), 403);
	assert_int_equal(sfx_post(f, "/techniques/sigil/runs", NULL, NESTED), 403);
	sfx_free(f);
}

static void test_credits(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.credits_limited = 1;
	c.credits = 0.6;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "a", NESTED), 201);
	char *first = sfx_dup(f, "run_id");
	assert_int_equal(sfx_post(f, "/runs/technique", "b", TOPRUN), 201);
	assert_true(fabs(fb_simmodel_credits(f->m) - 0.1) < 1e-9);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "c", NESTED), 402);
	sfx_assert_error(f, 402, "insufficient_credits");
	/* A replay is not charged again, and a cheaper run still fits. */
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "a", NESTED), 200);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN("image")), 201);
	assert_true(fabs(fb_simmodel_credits(f->m) - 0.06) < 1e-9);
	/* Runs already created keep going and complete. */
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", first)), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	assert_int_equal(sfx_int(f->v, "insufficient_credits"), 1);
	assert_true(fabs(sfx_num(f->v, "credits_left") - 0.06) < 1e-9);
	free(first);
	sfx_free(f);
}

static void test_idempotency_on_top_routes(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	assert_int_equal(sfx_post(f, "/generate", "k1", GEN("image")), 201);
	assert_false(f->r.replayed);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 4000);
	/* The same key and body: the original answer again, marked as a replay. */
	assert_int_equal(sfx_post(f, "/generate", "k1", GEN("image")), 201);
	assert_true(f->r.replayed);
	assert_string_equal(sfx_str(f->v, "run_id"), id);
	assert_int_equal(sfx_int(f->v, "estimated_seconds"), 6);
	/* The deprecated route shares the scope. */
	assert_int_equal(sfx_post(f, "/runs/generation", "k1", GEN("image")), 201);
	assert_string_equal(sfx_str(f->v, "run_id"), id);
	assert_int_equal(sfx_post(f, "/generate", "k1", GEN("video")), 422);
	sfx_assert_error(f, 422, "idempotency_conflict");
	/* Technique runs are another scope: the same key makes a second run there. */
	assert_int_equal(sfx_post(f, "/runs/technique", "k1", TOPRUN), 201);
	assert_string_not_equal(sfx_str(f->v, "run_id"), id);
	/* Nested and top-level technique routes share a scope but not a body. */
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k1", NESTED), 422);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k2", NESTED), 201);
	assert_int_equal(sfx_post(f, "/generate", "k2", GEN("image")), 201);

	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 4);
	assert_int_equal(st.max_runs_per_key, 2);
	assert_int_equal(st.keys_with_several_runs, 2);
	assert_int_equal(sfx_get(f, "/_sim/stats"), 200);
	yajl_val keys = sfx_at(f->v, "keys", NULL);
	assert_true(YAJL_IS_OBJECT(keys));
	assert_int_equal(keys->u.object.len, 2);
	assert_int_equal(sfx_int(keys, "k1"), 2);
	assert_int_equal(sfx_int(keys, "k2"), 2);
	free(id);

	/* Conflict mode answers 409 without the run. */
	struct fb_simmodel_config c = sfx_config();
	c.dup_mode = FB_SIM_DUP_CONFLICT;
	struct sfx *g = sfx_new(&c);
	assert_int_equal(sfx_post(g, "/runs/technique", "k", TOPRUN), 201);
	assert_int_equal(sfx_post(g, "/runs/technique", "k", TOPRUN), 409);
	sfx_assert_error(g, 409, "idempotency_duplicate");
	/* An over-long key is refused before anything happens. */
	char key[300];
	memset(key, 'k', 299);
	key[299] = '\0';
	assert_int_equal(sfx_post(g, "/generate", key, GEN("image")), 400);
	assert_string_equal(sfx_bad_field(g), "Idempotency-Key");
	sfx_free(g);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_top_technique_run),
	    cmocka_unit_test(test_run_created_camel),
	    cmocka_unit_test(test_generation_outputs_of_each_type),
	    cmocka_unit_test(test_video_technique_outputs_video),
	    cmocka_unit_test(test_validation_and_ids),
	    cmocka_unit_test(test_forbidden_config),
	    cmocka_unit_test(test_credits),
	    cmocka_unit_test(test_idempotency_on_top_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
