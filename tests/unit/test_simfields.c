/*
 * Every answer of the simulator carries exactly the members the contract
 * gives for its route: none it does not list, every one it requires. The
 * member lists are the schemas of shared/flora-api/openapi/ (named at each
 * table), and CONTRACT.md for the two list routes the split spec lacks.
 * Default settings, as florasim starts: the contract's strictest reading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#define IMG "https://storage.googleapis.com/b/in.png"
#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"" IMG              \
	"\"}],\"mode\":\"async\"}"
#define TOPRUN                                                                                     \
	"{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\",\"inputs\":{"          \
	"\"input_image\":\"" IMG "\"}}"
#define GEN                                                                                        \
	"{\"type\":\"image\",\"prompt\":\"a red kite\",\"workspace_id\":\"ws_accept\","            \
	"\"project_id\":\"prj_accept\"}"

struct shape {
	const char *const *required;
	const char *const *optional;
};

/* technique-runs-api / runs-api: RunStatus */
static const char *const run_req[] = {"run_id", "status", "progress", "created_at", NULL};
static const char *const run_opt[] = {"started_at",   "completed_at", "error_code", "error_message",
				      "charged_cost", "outputs",      "poll_url",   NULL};
/* runs-api / generations-api: RunCreated */
static const char *const created_req[] = {"run_id", "type", "estimated_seconds", "charged_cost",
					  NULL};
static const char *const created_opt[] = {"poll_url",  "project_id", "model",
					  "technique", "action",     NULL};
/* CONTRACT.md §2, §3: list items are RunStatus plus these */
static const char *const tlist_opt[] = {
    "started_at", "completed_at", "error_code",	  "error_message", "charged_cost",     "outputs",
    "poll_url",	  "project_id",	  "workspace_id", "technique",	   "technique_run_id", NULL};
static const char *const glist_opt[] = {
    "started_at", "completed_at",  "error_code", "error_message", "charged_cost", "outputs",
    "poll_url",	  "generation_id", "project_id", "workspace_id",  "model",	  NULL};
static const char *const meta_req[] = {"next_cursor", "total_estimate", NULL};
static const char *const output_req[] = {"output_id", "type", "url", NULL};
/* techniques-api: Technique, and its inputs and outputs */
static const char *const tech_req[] = {"technique_id", "name",	  "run_cost",
				       "inputs",       "outputs", NULL};
static const char *const tech_opt[] = {"description", NULL};
static const char *const field_req[] = {"id", "name", "type", NULL};
static const char *const field_opt[] = {"description",	      "specified_aspect_ratio",
					"specified_duration", "optional",
					"accepts_element",    NULL};
/* workspaces-api */
static const char *const ws_req[] = {"workspace_id", "name", "created_at", "role", NULL};
/* problem types: the error envelope */
static const char *const err_req[] = {"code", "message", NULL};
static const char *const err_opt[] = {"fields", NULL};
/* assets-api: the reservation */
static const char *const asset_req[] = {"asset_id",   "uploaded_via", "url", "workspace_id",
					"visibility", "status",	      NULL};
static const char *const asset_opt[] = {"upload", "upload_url", "expires_at", NULL};
static const char *const none[] = {NULL};

static int listed(const char *const *l, const char *k)
{
	for (; *l; l++)
		if (!strcmp(*l, k))
			return 1;
	return 0;
}

static void shape_of(const char *what, yajl_val obj, const char *const *req, const char *const *opt)
{
	if (!YAJL_IS_OBJECT(obj))
		fail_msg("%s: not an object", what);
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		if (!listed(req, k) && !listed(opt, k))
			fail_msg("%s: member \"%s\" is not in the contract", what, k);
	}
	for (const char *const *r = req; *r; r++)
		if (!sfx_at(obj, *r, NULL))
			fail_msg("%s: required member \"%s\" is missing", what, *r);
}

static yajl_val array_of(yajl_val v, const char *key)
{
	yajl_val a = sfx_at(v, key, NULL);
	assert_true(YAJL_IS_ARRAY(a));
	return a;
}

static void test_run_routes(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.estimate = FB_SIM_EST_ABSENT;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "a", NESTED), 201);
	shape_of("POST /techniques/{id}/runs", f->v, run_req, run_opt);
	char *id = sfx_dup(f, "run_id");
	fb_clock_sleep_ms(f->clock, 20000);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/cctv-cam/runs/%s", id)), 200);
	shape_of("GET /techniques/{id}/runs/{run}", f->v, run_req, run_opt);
	yajl_val outs = array_of(f->v, "outputs");
	assert_true(outs->u.array.len > 0);
	shape_of("outputs[]", outs->u.array.values[0], output_req, none);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	shape_of("GET /runs/{id}", f->v, run_req, run_opt);
	free(id);

	const char *tops[] = {"/runs/technique", "/generate", "/runs/generation"};
	const char *bodies[] = {TOPRUN, GEN, GEN};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sfx_post(f, tops[i], sfx_fmt(f, "t%d", i), bodies[i]), 201);
		shape_of(tops[i], f->v, created_req, created_opt);
		yajl_val e = sfx_at(f->v, "estimated_seconds", NULL);
		assert_true(YAJL_IS_NULL(e) || YAJL_IS_INTEGER(e));
	}
	fb_clock_sleep_ms(f->clock, 20000);
	assert_int_equal(sfx_get(f, "/technique-runs?limit=10"), 200);
	shape_of("GET /technique-runs", f->v, (const char *const[]){"technique_runs", "meta", NULL},
		 none);
	shape_of("meta", sfx_at(f->v, "meta", NULL), meta_req, none);
	yajl_val items = array_of(f->v, "technique_runs");
	assert_true(items->u.array.len >= 2);
	for (size_t i = 0; i < items->u.array.len; i++)
		shape_of("technique_runs[]", items->u.array.values[i], run_req, tlist_opt);
	assert_int_equal(sfx_get(f, "/generations?limit=10"), 200);
	items = array_of(f->v, "generations");
	assert_true(items->u.array.len >= 2);
	for (size_t i = 0; i < items->u.array.len; i++)
		shape_of("generations[]", items->u.array.values[i], run_req, glist_opt);
	sfx_free(f);
}

static void test_catalog_account_and_errors(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.estimate = FB_SIM_EST_ABSENT;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_get(f, "/techniques/cctv-cam"), 200);
	shape_of("GET /techniques/{id}", f->v, tech_req, tech_opt);
	yajl_val in = array_of(f->v, "inputs"), out = array_of(f->v, "outputs");
	for (size_t i = 0; i < in->u.array.len; i++)
		shape_of("inputs[]", in->u.array.values[i], field_req, field_opt);
	for (size_t i = 0; i < out->u.array.len; i++)
		shape_of("outputs[]", out->u.array.values[i], field_req, field_opt);
	assert_int_equal(sfx_get(f, "/techniques?limit=5"), 200);
	shape_of("GET /techniques", f->v, (const char *const[]){"techniques", "meta", NULL}, none);
	yajl_val ts = array_of(f->v, "techniques");
	for (size_t i = 0; i < ts->u.array.len; i++)
		shape_of("techniques[]", ts->u.array.values[i], tech_req, tech_opt);
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	shape_of("GET /workspaces", f->v, (const char *const[]){"workspaces", NULL}, none);
	yajl_val ws = array_of(f->v, "workspaces");
	for (size_t i = 0; i < ws->u.array.len; i++)
		shape_of("workspaces[]", ws->u.array.values[i], ws_req, none);
	assert_int_equal(sfx_post(f, "/assets", NULL,
				  "{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\"}"),
			 201);
	shape_of("POST /assets", f->v, asset_req, asset_opt);
	/* Errors: the envelope, and nothing beside it. */
	assert_int_equal(sfx_get(f, "/runs/run_nope"), 404);
	shape_of("404", f->v, (const char *const[]){"error", NULL}, none);
	shape_of("404 error", sfx_at(f->v, "error", NULL), err_req, err_opt);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, "{\"mode\":\"async\"}"),
			 400);
	shape_of("400 error", sfx_at(f->v, "error", NULL), err_req, err_opt);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_routes),
	    cmocka_unit_test(test_catalog_account_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
