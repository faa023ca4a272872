/*
 * Tests for the simulator's listing routes: GET /technique-runs and
 * /generations (pages, order, filters at the clock's now), GET /techniques
 * and /techniques/{id}, GET /workspaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://e.x/"      \
	"a.png\"}],\"mode\":\"async\"}"
#define GEN                                                                                        \
	"{\"type\":\"image\",\"prompt\":\"p\",\"workspace_id\":\"ws_accept\",\"project_id\":"      \
	"\"prj_accept\"}"

static struct sfx *fresh(void)
{
	struct fb_simmodel_config c = sfx_config();
	return sfx_new(&c);
}

/* The page's items and its next cursor (copied into cursor, "" when null). */
static yajl_val page(struct sfx *f, const char *list, char *cursor, size_t n)
{
	yajl_val items = sfx_at(f->v, list, NULL);
	assert_true(YAJL_IS_ARRAY(items));
	yajl_val next = sfx_at(f->v, "meta", "next_cursor");
	assert_non_null(next); /* always present */
	if (YAJL_IS_NULL(next))
		cursor[0] = '\0';
	else
		snprintf(cursor, n, "%s", YAJL_GET_STRING(next));
	return items;
}

static void test_technique_runs_pages(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	static char ids[250][32];
	for (int i = 0; i < 250; i++) {
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
		snprintf(ids[i], sizeof(ids[i]), "%s", sfx_str(f->v, "run_id"));
		if (i % 25 == 0) /* generations are not technique runs */
			assert_int_equal(sfx_post(f, "/generate", NULL, GEN), 201);
		fb_clock_sleep_ms(f->clock, 10);
	}
	char cursor[64] = "";
	int seen = 0, pages = 0;
	do {
		const char *path = cursor[0]
				       ? sfx_fmt(f, "/technique-runs?limit=100&cursor=%s", cursor)
				       : "/technique-runs?limit=100";
		assert_int_equal(sfx_get(f, path), 200);
		assert_int_equal(sfx_int(sfx_at(f->v, "meta", NULL), "total_estimate"), 250);
		yajl_val items = page(f, "technique_runs", cursor, sizeof(cursor));
		assert_int_equal(items->u.array.len, pages < 2 ? 100 : 50);
		for (size_t i = 0; i < items->u.array.len; i++, seen++) {
			yajl_val r = items->u.array.values[i];
			/* Newest first. */
			assert_string_equal(sfx_str(r, "run_id"), ids[249 - seen]);
			assert_string_equal(sfx_str(r, "technique_run_id"), ids[249 - seen]);
			assert_string_equal(sfx_str(sfx_at(r, "technique", NULL), "technique_id"),
					    "tech_cctv-cam");
			assert_string_equal(sfx_str(sfx_at(r, "technique", NULL), "name"),
					    "CCTV Cam");
			assert_string_equal(sfx_str(r, "workspace_id"), "ws_accept");
			assert_true(YAJL_IS_NULL(sfx_at(r, "project_id", NULL)));
			assert_non_null(sfx_at(r, "status", NULL));
			assert_non_null(sfx_at(r, "poll_url", NULL));
		}
		pages++;
	} while (cursor[0]);
	assert_int_equal(pages, 3);
	assert_int_equal(seen, 250);
	/* The default page is 20. */
	assert_int_equal(sfx_get(f, "/technique-runs"), 200);
	assert_int_equal(sfx_at(f->v, "technique_runs", NULL)->u.array.len, 20);
	sfx_free(f);
}

static int count_items(struct sfx *f, const char *path, const char *list)
{
	if (sfx_get(f, path) != 200)
		fail_msg("%s: %d %s", path, f->r.status, fb_buf_str(&f->r.body));
	return (int)sfx_at(f->v, list, NULL)->u.array.len;
}

static void test_filters_at_now(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	for (int i = 0; i < 3; i++)
		assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
	fb_clock_sleep_ms(f->clock, 5000);
	for (int i = 0; i < 2; i++)
		assert_int_equal(sfx_post(f, "/techniques/sigil/runs", NULL, NESTED), 201);
	assert_int_equal(sfx_post(f, "/generate", NULL, GEN), 201);
	assert_int_equal(count_items(f, "/technique-runs?status=running", "technique_runs"), 3);
	assert_int_equal(count_items(f, "/technique-runs?status=pending", "technique_runs"), 2);
	fb_clock_sleep_ms(f->clock, 5000);
	/* The first three are done now, the later two half way. */
	assert_int_equal(count_items(f, "/technique-runs?status=completed", "technique_runs"), 3);
	assert_int_equal(count_items(f, "/technique-runs?status=running", "technique_runs"), 2);
	assert_int_equal(count_items(f, "/technique-runs?status=failed", "technique_runs"), 0);
	assert_int_equal(count_items(f, "/technique-runs?technique_id=sigil", "technique_runs"), 2);
	assert_int_equal(
	    count_items(f, "/technique-runs?technique_id=tech_cctv-cam&limit=2", "technique_runs"),
	    2);
	assert_int_equal(count_items(f, "/technique-runs?technique_id=tech_nope", "technique_runs"),
			 0);
	assert_int_equal(count_items(f, "/technique-runs?workspace_id=ws_accept", "technique_runs"),
			 5);
	assert_int_equal(
	    count_items(f, "/technique-runs?workspace_id=ws_readonly", "technique_runs"), 0);
	assert_int_equal(count_items(f, "/generations?project_id=prj_accept", "generations"), 1);
	assert_int_equal(count_items(f, "/generations?project_id=prj_readonly", "generations"), 0);
	assert_int_equal(
	    count_items(f, "/generations?status=running&workspace_id=ws_accept", "generations"), 1);
	yajl_val g = sfx_at(f->v, "generations", NULL)->u.array.values[0];
	assert_string_equal(sfx_str(g, "generation_id"), sfx_str(g, "run_id"));
	assert_string_equal(sfx_str(sfx_at(g, "model", NULL), "model_id"), "t2i-flux-2-pro");
	assert_string_equal(sfx_str(g, "project_id"), "prj_accept");
	assert_string_equal(sfx_str(g, "workspace_id"), "ws_accept");

	static const char *const bad[][2] = {
	    {"/technique-runs?limit=101", "limit"},
	    {"/technique-runs?limit=0", "limit"},
	    {"/technique-runs?limit=ten", "limit"},
	    {"/generations?limit=-1", "limit"},
	    {"/technique-runs?status=done", "status"},
	    {"/generations?workspace_id=acc", "workspace_id"},
	    {"/generations?project_id=prj_", "project_id"},
	    {"/technique-runs?cursor=zzzz", "cursor"},
	    {"/generations?cursor=cDo5OTk5", "cursor"}, /* a position past the end */
	    {"/techniques?limit=500", "limit"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sfx_get(f, bad[i][0]), 400);
		assert_string_equal(sfx_bad_field(f), bad[i][1]);
	}
	sfx_free(f);
}

static void test_lists_in_camel_case(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.casing = FB_SIM_CAMEL;
	struct sfx *f = sfx_new(&c);
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
	assert_int_equal(sfx_get(f, "/technique-runs"), 200);
	yajl_val r = sfx_at(f->v, "techniqueRuns", NULL)->u.array.values[0];
	assert_non_null(sfx_at(r, "techniqueRunId", NULL));
	assert_non_null(sfx_at(r, "runId", NULL));
	assert_non_null(sfx_at(r, "technique", "techniqueId"));
	assert_true(YAJL_IS_NULL(sfx_at(f->v, "meta", "nextCursor")));
	assert_int_equal(sfx_get(f, "/techniques/sigil"), 200);
	assert_non_null(sfx_at(f->v, "runCost", NULL));
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	assert_non_null(
	    sfx_at(sfx_at(f->v, "workspaces", NULL)->u.array.values[0], "workspaceId", NULL));
	sfx_free(f);
}

static void test_techniques(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	char cursor[64] = "";
	int total = 0, pages = 0;
	do {
		assert_int_equal(
		    sfx_get(f, cursor[0] ? sfx_fmt(f, "/techniques?limit=10&cursor=%s", cursor)
					 : "/techniques?limit=10"),
		    200);
		yajl_val items = page(f, "techniques", cursor, sizeof(cursor));
		for (size_t i = 0; i < items->u.array.len; i++) {
			yajl_val t = items->u.array.values[i];
			assert_int_equal(strncmp(sfx_str(t, "technique_id"), "tech_", 5), 0);
			assert_true(sfx_num(t, "run_cost") > 0);
			assert_true(YAJL_IS_ARRAY(sfx_at(t, "inputs", NULL)));
			assert_true(YAJL_IS_ARRAY(sfx_at(t, "outputs", NULL)));
		}
		total += (int)items->u.array.len;
		pages++;
	} while (cursor[0]);
	assert_int_equal(total, 38);
	assert_int_equal(pages, 4);
	assert_int_equal(count_items(f, "/techniques?query=VIDEO", "techniques"), 2);
	assert_int_equal(count_items(f, "/techniques?query=product&limit=100", "techniques"), 7);
	assert_int_equal(count_items(f, "/techniques?query=nothing-like-it", "techniques"), 0);

	/* One technique by slug or id, with an image input and an optional prompt. */
	assert_int_equal(sfx_get(f, "/techniques/tech_cctv-cam"), 200);
	assert_string_equal(sfx_str(f->v, "technique_id"), "tech_cctv-cam");
	assert_string_equal(sfx_str(f->v, "name"), "CCTV Cam");
	assert_non_null(sfx_at(f->v, "description", NULL));
	yajl_val in = sfx_at(f->v, "inputs", NULL);
	assert_int_equal(in->u.array.len, 2);
	assert_string_equal(sfx_str(in->u.array.values[0], "id"), "input_image");
	assert_string_equal(sfx_str(in->u.array.values[0], "type"), "imageUrl");
	assert_true(YAJL_IS_TRUE(sfx_at(in->u.array.values[1], "optional", NULL)));
	assert_int_equal(sfx_get(f, "/techniques/color-transfer"), 200);
	assert_int_equal(sfx_at(f->v, "inputs", NULL)->u.array.len, 3);
	assert_int_equal(sfx_get(f, "/techniques/earth-zoom-out"), 200);
	yajl_val out = sfx_at(f->v, "outputs", NULL)->u.array.values[0];
	assert_string_equal(sfx_str(out, "type"), "videoUrl");
	assert_int_equal(sfx_int(out, "specified_duration"), 5);
	assert_int_equal(sfx_get(f, "/techniques/nope"), 404);
	sfx_assert_error(f, 404, "not_found");
	sfx_free(f);
}

static void test_workspaces(void **state)
{
	(void)state;
	struct sfx *f = fresh();
	assert_int_equal(sfx_get(f, "/workspaces"), 200);
	assert_int_equal(f->v->u.object.len, 1);
	yajl_val ws = sfx_at(f->v, "workspaces", NULL);
	assert_int_equal(ws->u.array.len, 2);
	yajl_val a = ws->u.array.values[0], b = ws->u.array.values[1];
	assert_string_equal(sfx_str(a, "workspace_id"), "ws_accept");
	assert_string_equal(sfx_str(a, "role"), "owner");
	assert_true(sfx_int(a, "created_at") > 0);
	assert_non_null(sfx_at(a, "name", NULL));
	assert_string_equal(sfx_str(b, "workspace_id"), "ws_readonly");
	assert_string_equal(sfx_str(b, "role"), "viewer");
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_technique_runs_pages), cmocka_unit_test(test_filters_at_now),
	    cmocka_unit_test(test_lists_in_camel_case),	 cmocka_unit_test(test_techniques),
	    cmocka_unit_test(test_workspaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
