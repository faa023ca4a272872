/*
 * Tests that every answer of the simulated API has exactly the members the
 * contract gives its route: none it does not list, every one it requires,
 * each of the listed JSON type. The tables come from the openapi files
 * (named above each) where the split spec covers the route, and from
 * CONTRACT.md where it does not (the two list routes, and members the
 * official SDK adds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#define BASE "sim://api/v1"
#define IMG  "https://storage.googleapis.com/simfx/cat.png"
#define NESTED                                                                                     \
	"{\"inputs\":[" SFX_IMAGE ",{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a cat\"}],"   \
	"\"mode\":\"async\"}"
#define TOPRUN                                                                                     \
	"{\"technique_id\":\"tech_cctv-cam\",\"workspace_id\":\"ws_accept\",\"inputs\":{"          \
	"\"input_image\":\"" IMG "\"}}"
#define GEN                                                                                        \
	"{\"type\":\"image\",\"prompt\":\"a red kite\",\"workspace_id\":\"ws_accept\","            \
	"\"project_id\":\"prj_accept\"}"

/*
 * A member: its name, the JSON types it may take (s string, n number, i
 * integer, o object, a array, b boolean, z null) and whether it is required.
 */
struct member {
	const char *name, *types;
	int required;
};
#define END                                                                                        \
	{                                                                                          \
		NULL, NULL, 0                                                                      \
	}

/* flora-fauna-technique-runs-api-openapi.yml, startTechniqueRun 200/201 and getTechniqueRun
 * 200; flora-fauna-runs-api-openapi.yml, getRun 200 (the same inline RunStatus schema). */
#define RUN_STATUS_MEMBERS                                                                         \
	{"run_id", "s", 1}, {"status", "s", 1}, {"progress", "ni", 1}, {"created_at", "ni", 1},    \
	    {"started_at", "ni", 0}, {"completed_at", "ni", 0}, {"error_code", "s", 0},            \
	    {"error_message", "s", 0}, {"charged_cost", "ni", 0}, {"outputs", "a", 0},             \
	{                                                                                          \
		"poll_url", "s", 0                                                                 \
	}
static const struct member run_status[] = {RUN_STATUS_MEMBERS, END};
/* The same, RunStatus.outputs[] items. */
static const struct member output[] = {
    {"output_id", "s", 1}, {"type", "s", 1}, {"url", "s", 1}, END};
/* Beyond the contract, only with --estimate exact|wrong: the nested create's hint. */
static const struct member run_status_hint[] = {
    RUN_STATUS_MEMBERS, {"estimated_seconds", "i", 1}, END};

/* flora-fauna-runs-api-openapi.yml createTopLevelTechniqueRun and createGenerationRun 201,
 * flora-fauna-generations-api-openapi.yml startGeneration 201 (RunCreated). */
static const struct member run_created[] = {{"run_id", "s", 1},
					    {"type", "s", 1},
					    {"estimated_seconds", "iz", 1},
					    {"charged_cost", "ni", 1},
					    {"poll_url", "sz", 0},
					    {"project_id", "sz", 0},
					    {"model", "oz", 0},
					    {"technique", "oz", 0},
					    {"action", "oz", 0},
					    END};
static const struct member model_ref[] = {{"model_id", "s", 1}, END};
static const struct member technique_ref[] = {{"technique_id", "s", 1}, {"name", "s", 1}, END};

/* CONTRACT.md §2 (GET /technique-runs, not in the split spec): RunStatus plus these. */
static const struct member technique_run_item[] = {
    RUN_STATUS_MEMBERS,	   {"project_id", "sz", 0},	 {"workspace_id", "s", 0},
    {"technique", "o", 0}, {"technique_run_id", "s", 0}, END};
/* CONTRACT.md §3 (GET /generations, not in the split spec): RunStatus plus these. */
static const struct member generation_item[] = {RUN_STATUS_MEMBERS,	 {"generation_id", "s", 0},
						{"project_id", "sz", 0}, {"workspace_id", "s", 0},
						{"model", "o", 0},	 END};
/* CONTRACT.md §2, §3 for the two lists; flora-fauna-techniques-api-openapi.yml listTechniques
 * and flora-fauna-assets-api-openapi.yml listAssets 200 for the same shape there. */
static const struct member meta[] = {{"next_cursor", "sz", 1}, {"total_estimate", "iz", 0}, END};
static const struct member technique_runs_page[] = {
    {"technique_runs", "a", 1}, {"meta", "o", 1}, END};
static const struct member generations_page[] = {{"generations", "a", 1}, {"meta", "o", 1}, END};

/* flora-fauna-techniques-api-openapi.yml getTechnique 200 and listTechniques 200 items. */
static const struct member technique[] = {{"technique_id", "s", 1},
					  {"name", "s", 1},
					  {"description", "s", 0},
					  {"run_cost", "ni", 1},
					  {"inputs", "a", 1},
					  {"outputs", "a", 1},
					  END};
/* The same, inputs[] and outputs[] items; optional and accepts_element are the SDK's
 * additions (CONTRACT.md §4), the only way a client learns which inputs it may leave out. */
static const struct member technique_field[] = {{"id", "s", 1},
						{"name", "s", 1},
						{"type", "s", 1},
						{"description", "s", 0},
						{"specified_aspect_ratio", "s", 0},
						{"specified_duration", "ni", 0},
						{"optional", "b", 0},
						{"accepts_element", "b", 0},
						END};
static const struct member techniques_page[] = {{"techniques", "a", 1}, {"meta", "o", 1}, END};

/* flora-fauna-workspaces-api-openapi.yml listWorkspaces 200. */
static const struct member workspaces_page[] = {{"workspaces", "a", 1}, END};
static const struct member workspace[] = {
    {"workspace_id", "s", 1}, {"name", "s", 1}, {"created_at", "iz", 1}, {"role", "s", 1}, END};

/* flora-fauna-assets-api-openapi.yml uploadAsset 201. */
static const struct member asset_created[] = {{"asset_id", "s", 1},   {"uploaded_via", "s", 1},
					      {"url", "s", 1},	      {"workspace_id", "s", 1},
					      {"visibility", "s", 1}, {"status", "s", 1},
					      {"upload", "o", 0},     {"upload_url", "s", 0},
					      {"expires_at", "s", 0}, END};
/* The same, upload. */
static const struct member upload[] = {{"url", "s", 1},		 {"method", "s", 1},
				       {"content_type", "s", 1}, {"file_field", "s", 1},
				       {"form_fields", "o", 1},	 END};
/* flora-fauna-assets-api-openapi.yml completeAssetUpload and retryAssetUpload 200. */
static const struct member asset_state[] = {{"asset_id", "s", 1},     {"url", "sz", 1},
					    {"workspace_id", "s", 1}, {"visibility", "s", 1},
					    {"status", "s", 1},	      {"failure_message", "sz", 0},
					    {"upload", "o", 0},	      {"upload_url", "s", 0},
					    {"expires_at", "s", 0},   END};
/* flora-fauna-assets-api-openapi.yml getAsset 200: all required, created_at a string. */
static const struct member asset[] = {{"asset_id", "s", 1},
				      {"name", "sz", 1},
				      {"description", "sz", 1},
				      {"workspace_id", "s", 1},
				      {"url", "sz", 1},
				      {"content_type", "sz", 1},
				      {"upload_content_type", "sz", 1},
				      {"size_bytes", "iz", 1},
				      {"uploaded_via", "s", 1},
				      {"created_at", "s", 1},
				      {"status", "s", 1},
				      {"failure_message", "sz", 1},
				      {"width", "iz", 1},
				      {"height", "iz", 1},
				      END};
/* flora-fauna-assets-api-openapi.yml listAssets 200, assets[] items: created_at an int. */
static const struct member asset_item[] = {{"asset_id", "s", 1},
					   {"name", "sz", 1},
					   {"description", "sz", 1},
					   {"workspace_id", "s", 1},
					   {"url", "sz", 1},
					   {"content_type", "sz", 1},
					   {"upload_content_type", "sz", 1},
					   {"uploaded_via", "s", 1},
					   {"status", "s", 1},
					   {"width", "iz", 1},
					   {"height", "iz", 1},
					   {"size_bytes", "iz", 1},
					   {"created_at", "i", 1},
					   {"node_id", "sz", 0},
					   {"project_id", "sz", 0},
					   END};
static const struct member assets_page[] = {{"assets", "a", 1}, {"meta", "o", 1}, END};

/* flora-fauna-problem-types.yml and every operation's 4xx/5xx: the error envelope. */
static const struct member error_envelope[] = {{"error", "o", 1}, END};
static const struct member error_body[] = {
    {"code", "s", 1}, {"message", "s", 1}, {"fields", "a", 0}, END};
static const struct member error_field[] = {{"field", "s", 1}, {"message", "s", 1}, END};

static int has_type(yajl_val v, const char *types)
{
	for (const char *t = types; *t; t++)
		if ((*t == 's' && YAJL_IS_STRING(v)) || (*t == 'n' && YAJL_IS_DOUBLE(v)) ||
		    (*t == 'i' && YAJL_IS_INTEGER(v)) || (*t == 'o' && YAJL_IS_OBJECT(v)) ||
		    (*t == 'a' && YAJL_IS_ARRAY(v)) ||
		    (*t == 'b' && (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))) ||
		    (*t == 'z' && YAJL_IS_NULL(v)))
			return 1;
	return 0;
}

/* Fails unless obj has exactly the members the table allows, the required ones, each typed. */
static void conforms(yajl_val obj, const struct member *schema, const char *where)
{
	if (!YAJL_IS_OBJECT(obj))
		fail_msg("%s: not an object", where);
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		const struct member *m = schema;
		while (m->name && strcmp(m->name, k))
			m++;
		if (!m->name)
			fail_msg("%s: member '%s' is not in the contract", where, k);
		if (!has_type(obj->u.object.values[i], m->types))
			fail_msg("%s: member '%s' is not of type %s", where, k, m->types);
	}
	for (const struct member *m = schema; m->name; m++)
		if (m->required && !sfx_at(obj, m->name, NULL))
			fail_msg("%s: required member '%s' is missing", where, m->name);
}

static void each_item(yajl_val arr, const struct member *schema, const char *where)
{
	assert_true(YAJL_IS_ARRAY(arr));
	for (size_t i = 0; i < arr->u.array.len; i++)
		conforms(arr->u.array.values[i], schema, where);
}

/* A run status answer and its outputs. */
static void run_status_conforms(yajl_val v, const struct member *schema, const char *where)
{
	conforms(v, schema, where);
	yajl_val outs = sfx_at(v, "outputs", NULL);
	if (outs)
		each_item(outs, output, where);
}

static void run_created_conforms(yajl_val v, const char *where)
{
	conforms(v, run_created, where);
	yajl_val m = sfx_at(v, "model", NULL), t = sfx_at(v, "technique", NULL);
	if (YAJL_IS_OBJECT(m))
		conforms(m, model_ref, where);
	if (YAJL_IS_OBJECT(t))
		conforms(t, technique_ref, where);
}

static struct sfx *model(enum fb_sim_estimate est, double fail_rate)
{
	struct fb_simmodel_config c = sfx_config();
	c.estimate = est;
	c.fail_rate = fail_rate;
	c.outputs_per_run = 2;
	return sfx_new(&c);
}

/* Nested create, nested GET and GET /runs/{id}, pending to terminal, completed and failed. */
static void test_run_status_routes(void **state)
{
	(void)state;
	for (int failing = 0; failing < 2; failing++) {
		struct sfx *f = model(FB_SIM_EST_ABSENT, failing);
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k", NESTED), 201);
		run_status_conforms(f->v, run_status, "POST /techniques/{id}/runs");
		assert_null(sfx_at(f->v, "estimated_seconds", NULL));
		char *id = sfx_dup(f, "run_id");
		/* The replay of the create is the same RunStatus. */
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k", NESTED), 200);
		run_status_conforms(f->v, run_status, "POST /techniques/{id}/runs (replay)");
		for (int step = 0; step < 3; step++) {
			assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/cctv-cam/runs/%s", id)),
					 200);
			run_status_conforms(f->v, run_status, "GET /techniques/{id}/runs/{runId}");
			assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
			run_status_conforms(f->v, run_status, "GET /runs/{runId}");
			fb_clock_sleep_ms(f->clock, 5000);
		}
		assert_string_equal(sfx_str(f->v, "status"), failing ? "failed" : "completed");
		free(id);
		sfx_free(f);
	}
}

/* The nested create carries its hint only when asked, and then as its only extra member. */
static void test_nested_create_hint(void **state)
{
	(void)state;
	for (int est = FB_SIM_EST_EXACT; est <= FB_SIM_EST_WRONG; est++) {
		struct sfx *f = model((enum fb_sim_estimate)est, 0);
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
		run_status_conforms(f->v, run_status_hint, "POST /techniques/{id}/runs, hint");
		char *id = sfx_dup(f, "run_id");
		/* Polls stay plain RunStatus. */
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
		run_status_conforms(f->v, run_status, "GET /runs/{runId}, hint");
		free(id);
		sfx_free(f);
	}
}

/* Each top-level create under each estimate mode: RunCreated, estimated_seconds as said. */
static void test_run_created_routes(void **state)
{
	(void)state;
	static const char *const paths[] = {"/runs/technique", "/generate", "/runs/generation"};
	for (int est = FB_SIM_EST_ABSENT; est <= FB_SIM_EST_WRONG; est++) {
		struct sfx *f = model((enum fb_sim_estimate)est, 0);
		int high = 0, low = 0;
		for (int i = 0; i < 24; i++) {
			const char *path = paths[i % 3];
			const char *body = i % 3 ? GEN : TOPRUN;
			assert_int_equal(sfx_post(f, path, sfx_fmt(f, "key-%d", i), body), 201);
			run_created_conforms(f->v, path);
			yajl_val e = sfx_at(f->v, "estimated_seconds", NULL);
			if (est == FB_SIM_EST_ABSENT) {
				assert_true(YAJL_IS_NULL(e));
				continue;
			}
			long long s = sfx_int(f->v, "estimated_seconds");
			if (est == FB_SIM_EST_EXACT)
				assert_int_equal(s, 10); /* run_ms 10000 */
			else if (s == 30)
				high++;
			else if (s == 3)
				low++;
			else
				fail_msg("wrong estimate %lld, want 30 or 3", s);
		}
		if (est == FB_SIM_EST_WRONG)
			assert_true(high > 0 && low > 0);
		sfx_free(f);
	}
}

/* The same seed and key mislead the same way, whatever else happened before. */
static void test_wrong_estimate_is_deterministic(void **state)
{
	(void)state;
	struct sfx *a = model(FB_SIM_EST_WRONG, 0), *b = model(FB_SIM_EST_WRONG, 0);
	long long want[8];
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sfx_post(a, "/generate", sfx_fmt(a, "k%d", i), GEN), 201);
		want[i] = sfx_int(a->v, "estimated_seconds");
	}
	for (int i = 7; i >= 0; i--) {
		assert_int_equal(sfx_post(b, "/generate", sfx_fmt(b, "k%d", i), GEN), 201);
		assert_int_equal(sfx_int(b->v, "estimated_seconds"), want[i]);
	}
	sfx_free(a);
	sfx_free(b);
}

/* GET /technique-runs and GET /generations: items and meta, before and after the runs end. */
static void test_list_routes(void **state)
{
	(void)state;
	struct sfx *f = model(FB_SIM_EST_EXACT, 0.5);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
		assert_int_equal(sfx_post(f, "/runs/technique", NULL, TOPRUN), 201);
		assert_int_equal(sfx_post(f, "/generate", NULL, GEN), 201);
	}
	for (int step = 0; step < 2; step++) {
		assert_int_equal(sfx_get(f, "/technique-runs?limit=5"), 200);
		conforms(f->v, technique_runs_page, "GET /technique-runs");
		conforms(sfx_at(f->v, "meta", NULL), meta, "GET /technique-runs meta");
		yajl_val items = sfx_at(f->v, "technique_runs", NULL);
		assert_int_equal(items->u.array.len, 5);
		for (size_t i = 0; i < items->u.array.len; i++) {
			yajl_val it = items->u.array.values[i];
			run_status_conforms(it, technique_run_item, "GET /technique-runs item");
			conforms(sfx_at(it, "technique", NULL), technique_ref, "technique-runs");
		}
		assert_int_equal(sfx_get(f, "/generations?limit=100"), 200);
		conforms(f->v, generations_page, "GET /generations");
		conforms(sfx_at(f->v, "meta", NULL), meta, "GET /generations meta");
		items = sfx_at(f->v, "generations", NULL);
		assert_int_equal(items->u.array.len, 6);
		for (size_t i = 0; i < items->u.array.len; i++) {
			yajl_val it = items->u.array.values[i];
			run_status_conforms(it, generation_item, "GET /generations item");
			conforms(sfx_at(it, "model", NULL), model_ref, "generations");
		}
		fb_clock_sleep_ms(f->clock, 20000);
	}
	sfx_free(f);
}

static void test_technique_routes(void **state)
{
	(void)state;
	struct sfx *f = model(FB_SIM_EST_ABSENT, 0);
	const char *cursor = NULL;
	size_t seen = 0;
	do {
		assert_int_equal(
		    sfx_get(f, cursor ? sfx_fmt(f, "/techniques?limit=7&cursor=%s", cursor)
				      : "/techniques?limit=7"),
		    200);
		conforms(f->v, techniques_page, "GET /techniques");
		conforms(sfx_at(f->v, "meta", NULL), meta, "GET /techniques meta");
		yajl_val items = sfx_at(f->v, "techniques", NULL);
		for (size_t i = 0; i < items->u.array.len; i++, seen++) {
			yajl_val t = items->u.array.values[i];
			conforms(t, technique, "GET /techniques item");
			each_item(sfx_at(t, "inputs", NULL), technique_field, "technique input");
			each_item(sfx_at(t, "outputs", NULL), technique_field, "technique output");
		}
		yajl_val next = sfx_at(f->v, "meta", "next_cursor");
		cursor = YAJL_IS_STRING(next) ? sfx_fmt(f, "%s", next->u.string) : NULL;
	} while (cursor);
	assert_int_equal(seen, 38);
	static const char *const one[] = {"cctv-cam", "tech_color-transfer", "earth-zoom-out",
					  "art-directors-critique"};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/techniques/%s", one[i])), 200);
		conforms(f->v, technique, "GET /techniques/{id}");
		each_item(sfx_at(f->v, "inputs", NULL), technique_field, "technique input");
		each_item(sfx_at(f->v, "outputs", NULL), technique_field, "technique output");
	}
	sfx_free(f);
}

static void test_workspaces_route(void **state)
{
	(void)state;
	struct sfx *f = model(FB_SIM_EST_ABSENT, 0);
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	conforms(f->v, workspaces_page, "GET /workspaces");
	each_item(sfx_at(f->v, "workspaces", NULL), workspace, "GET /workspaces item");
	sfx_free(f);
}

static void asset_state_conforms(struct sfx *f, const char *where)
{
	conforms(f->v, asset_state, where);
	yajl_val up = sfx_at(f->v, "upload", NULL);
	if (up)
		conforms(up, upload, where);
}

static void test_asset_routes(void **state)
{
	(void)state;
	struct sfx *f = model(FB_SIM_EST_ABSENT, 0);
	const char *reserve = "{\"source\":\"signed-url\",\"workspace_id\":\"ws_accept\","
			      "\"file_name\":\"hero.png\",\"content_type\":\"image/png\"}";
	/* Reserved, uploaded, completed. */
	assert_int_equal(sfx_post(f, "/assets", NULL, reserve), 201);
	conforms(f->v, asset_created, "POST /assets");
	conforms(sfx_at(f->v, "upload", NULL), upload, "POST /assets upload");
	char *id = sfx_dup(f, "asset_id"), *put = sfx_dup(f, "upload_url");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	conforms(f->v, asset, "GET /assets/{id} (pending)");
	assert_int_equal(sfx_call(f, "PUT", put + strlen(BASE), NULL, NULL, "%PDF-1.4", 8), 200);
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id), NULL, NULL), 200);
	asset_state_conforms(f, "POST /assets/{id}/complete (ready)");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id)), 200);
	conforms(f->v, asset, "GET /assets/{id} (ready)");
	/* Completed without an upload: failed, then retried. */
	assert_int_equal(sfx_post(f, "/assets", NULL, reserve), 201);
	char *id2 = sfx_dup(f, "asset_id");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/complete", id2), NULL, NULL), 200);
	asset_state_conforms(f, "POST /assets/{id}/complete (failed)");
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/assets/%s", id2)), 200);
	conforms(f->v, asset, "GET /assets/{id} (failed)");
	assert_int_equal(sfx_post(f, sfx_fmt(f, "/assets/%s/retry", id2), NULL, NULL), 200);
	asset_state_conforms(f, "POST /assets/{id}/retry");
	/* From an HTTPS source: ready at once. */
	assert_int_equal(
	    sfx_post(f, "/assets", NULL, "{\"source\":\"" IMG "\",\"workspace_id\":\"ws_accept\"}"),
	    201);
	conforms(f->v, asset_created, "POST /assets (source URL)");
	assert_int_equal(sfx_get(f, "/assets?limit=100"), 200);
	conforms(f->v, assets_page, "GET /assets");
	conforms(sfx_at(f->v, "meta", NULL), meta, "GET /assets meta");
	each_item(sfx_at(f->v, "assets", NULL), asset_item, "GET /assets item");
	free(id);
	free(id2);
	free(put);
	sfx_free(f);
}

static void error_conforms(struct sfx *f, int status, const char *where)
{
	if (f->r.status != status)
		fail_msg("%s: %d, want %d: %s", where, f->r.status, status, fb_buf_str(&f->r.body));
	conforms(f->v, error_envelope, where);
	yajl_val e = sfx_at(f->v, "error", NULL);
	conforms(e, error_body, where);
	yajl_val fields = sfx_at(e, "fields", NULL);
	if (fields)
		each_item(fields, error_field, where);
}

static void test_error_envelope(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.api_key = SFX_KEY;
	c.forbidden = "sigil";
	c.credits_limited = 1;
	c.credits = 0.3;
	struct sfx *f = sfx_new(&c);
	sfx_get(f, "/nope");
	error_conforms(f, 404, "unknown route");
	sfx_get(f, "/runs/run_nope");
	error_conforms(f, 404, "unknown run");
	sfx_post(f, "/techniques/cctv-cam/runs", NULL, "not json");
	error_conforms(f, 400, "invalid_json");
	sfx_post(f, "/techniques/cctv-cam/runs", NULL, "{\"inputs\":[]}");
	error_conforms(f, 400, "input_validation_error");
	assert_non_null(sfx_at(f->v, "error", "fields"));
	sfx_post(f, "/techniques/sigil/runs", NULL, NESTED);
	error_conforms(f, 403, "forbidden");
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
	sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED);
	error_conforms(f, 402, "insufficient_credits");
	f->auth = NULL;
	sfx_get(f, "/workspaces");
	error_conforms(f, 401, "unauthorized");
	f->auth = "Bearer sk_wrong";
	sfx_get(f, "/workspaces");
	error_conforms(f, 401, "invalid_api_key");
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_status_routes),
	    cmocka_unit_test(test_nested_create_hint),
	    cmocka_unit_test(test_run_created_routes),
	    cmocka_unit_test(test_wrong_estimate_is_deterministic),
	    cmocka_unit_test(test_list_routes),
	    cmocka_unit_test(test_technique_routes),
	    cmocka_unit_test(test_workspaces_route),
	    cmocka_unit_test(test_asset_routes),
	    cmocka_unit_test(test_error_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
