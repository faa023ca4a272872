/*
 * Tests for the simulator's nested technique route (POST
 * /techniques/{id}/runs): idempotency in replay and conflict modes, the two
 * key carriers, unknown routes and runs, and bodies the API refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#define BODY                                                                                       \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"          \
	"storage.googleapis.com/b/in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a "   \
	"cat\"}],\"mode\":\"async\"}"
#define CREATE "/techniques/cctv-cam/runs"

static struct fb_simmodel_config cfg_default(void)
{
	struct fb_simmodel_config c = sfx_config();
	c.outputs_per_run = 2;
	return c;
}

static int setup(void **state)
{
	struct fb_simmodel_config c = cfg_default();
	*state = sfx_new(&c);
	return 0;
}

static int teardown(void **state)
{
	sfx_free(*state);
	return 0;
}

/* Sends, checks the status, and returns the answer parsed anew (caller frees). */
static yajl_val sendj(struct sfx *f, const char *method, const char *path, const char *key,
		      const char *body, int want)
{
	int st = sfx_call(f, method, path, key, body ? "application/json" : NULL, body,
			  body ? strlen(body) : 0);
	if (st != want)
		fail_msg("%s %s: %d, want %d: %s", method, path, st, want, fb_buf_str(&f->r.body));
	yajl_val v = yajl_tree_parse(fb_buf_str(&f->r.body), NULL, 0);
	assert_non_null(v);
	return v;
}

/* Creates a run and returns its id (caller frees). */
static char *create_run(struct sfx *f, const char *key)
{
	yajl_tree_free(sendj(f, "POST", CREATE, key, BODY, 201));
	return sfx_dup(f, "run_id");
}

/* The object has exactly these keys (NULL-terminated), in any order. */
static void assert_keys(yajl_val obj, const char *const *keys)
{
	size_t n = 0;
	for (; keys[n]; n++)
		if (!sfx_at(obj, keys[n], NULL))
			fail_msg("missing key %s", keys[n]);
	assert_int_equal(obj->u.object.len, n);
}

static void test_replay_mode(void **state)
{
	struct sfx *f = *state;
	char *id = create_run(f, "same");
	fb_clock_sleep_ms(f->clock, 10000);
	/* Same key and body: the original run as it stands now, with 200. */
	yajl_val v = sendj(f, "POST", CREATE, "same", BODY, 200);
	assert_string_equal(sfx_str(v, "run_id"), id);
	assert_string_equal(sfx_str(v, "status"), "completed");
	assert_int_equal(sfx_int(v, "estimated_seconds"), 0);
	yajl_tree_free(v);
	/* The key in the body instead of the header, keys reordered, spaces: same request. */
	const char *moved =
	    "{ \"mode\" : \"async\", \"idempotency_key\": \"same\", \"inputs\": "
	    "[{\"id\":\"input_image\",\"value\":\"https://storage.googleapis.com/b/in.png\","
	    "\"type\":\"imageUrl\"},{\"value\":\"a cat\",\"type\":\"text\",\"id\":\"prompt\"}] }";
	v = sendj(f, "POST", CREATE, NULL, moved, 200);
	assert_string_equal(sfx_str(v, "run_id"), id);
	yajl_tree_free(v);
	/* Both carriers, agreeing. */
	v = sendj(f, "POST", CREATE, "same", moved, 200);
	assert_string_equal(sfx_str(v, "run_id"), id);
	yajl_tree_free(v);
	/* Same key, another body, or another technique: 422. */
	const char *other = "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":"
			    "\"https://storage.googleapis.com/b/"
			    "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a dog\"}],"
			    "\"mode\":\"async\"}";
	yajl_tree_free(sendj(f, "POST", CREATE, "same", other, 422));
	sfx_assert_error(f, 422, "idempotency_conflict");
	yajl_tree_free(sendj(f, "POST", "/techniques/sigil/runs", "same", BODY, 422));
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 1);
	assert_int_equal(st.creates, 6);
	assert_int_equal(st.duplicate_keys, 5);
	free(id);
}

static void test_conflict_mode(void **state)
{
	(void)state;
	struct fb_simmodel_config c = cfg_default();
	c.dup_mode = FB_SIM_DUP_CONFLICT;
	struct sfx *f = sfx_new(&c);
	free(create_run(f, "dup"));
	yajl_tree_free(sendj(f, "POST", CREATE, "dup", BODY, 409));
	sfx_assert_error(f, 409, "idempotency_duplicate");
	assert_null(strstr(fb_buf_str(&f->r.body), "run_")); /* the original run is not returned */
	/* Another key still creates. */
	free(create_run(f, "other"));
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 2);
	assert_int_equal(st.duplicate_keys, 1);
	sfx_free(f);
}

static void test_key_carriers_must_agree(void **state)
{
	struct sfx *f = *state;
	const char *b = "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":"
			"\"https://storage.googleapis.com/b/"
			"in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}],"
			"\"mode\":\"async\",\"idempotency_key\":\"body-key\"}";
	yajl_val v = sendj(f, "POST", CREATE, "header-key", b, 400);
	sfx_assert_error(f, 400, "input_validation_error");
	const char *p[] = {"error", "fields", NULL};
	yajl_val fields = yajl_tree_get(v, p, yajl_t_array);
	assert_non_null(fields);
	assert_string_equal(sfx_str(fields->u.array.values[0], "field"), "idempotency_key");
	yajl_tree_free(v);
	/* A request that failed released its key: the same key now creates. */
	yajl_tree_free(sendj(f, "POST", CREATE, "header-key", BODY, 201));
}

static void test_not_found(void **state)
{
	struct sfx *f = *state;
	yajl_tree_free(sendj(f, "POST", "/techniques/no-such-thing/runs", NULL, BODY, 404));
	sfx_assert_error(f, 404, "not_found");
	yajl_tree_free(sendj(f, "GET", "/runs/run_00000000000000000000", NULL, NULL, 404));
	sfx_assert_error(f, 404, "not_found");
	char *id = create_run(f, NULL);
	char path[128];
	snprintf(path, sizeof(path), "/techniques/sigil/runs/%s", id);
	yajl_tree_free(sendj(f, "GET", path, NULL, NULL, 404)); /* another technique's run */
	snprintf(path, sizeof(path), "/techniques/tech_cctv-cam/runs/%s", id);
	yajl_tree_free(sendj(f, "GET", path, NULL, NULL, 200)); /* the same technique by id */
	yajl_tree_free(sendj(f, "GET", "/nope", NULL, NULL, 404));
	yajl_tree_free(sendj(f, "DELETE", CREATE, NULL, NULL, 404));
	yajl_tree_free(sendj(f, "GET", "https://elsewhere/api/v1/runs/x", NULL, NULL, 404));
	yajl_tree_free(sendj(f, "GET", "/runs/", NULL, NULL, 404));
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 1);
	free(id);
}

static void test_tech_id_and_encoded_slug(void **state)
{
	struct sfx *f = *state;
	yajl_val v = sendj(f, "POST", "/techniques/tech_sigil/runs", NULL, BODY, 201);
	const char *poll = sfx_str(v, "poll_url");
	assert_non_null(strstr(poll, "/techniques/tech_sigil/runs/run_"));
	yajl_tree_free(sendj(f, "GET", poll, NULL, NULL, 200));
	yajl_tree_free(v);
	yajl_tree_free(sendj(f, "POST", "/techniques/cctv%2Dcam/runs", NULL, BODY, 201));
	yajl_tree_free(
	    sendj(f, "POST", "sim://api/v1/techniques/cctv-cam/runs?x=y", NULL, BODY, 201));
}

/* A bad body: 400 with code, and when field is not NULL, fields[] naming it. */
static void bad_body(struct sfx *f, const char *body, const char *code, const char *field)
{
	yajl_val v = sendj(f, "POST", CREATE, "bad", body, 400);
	sfx_assert_error(f, 400, code);
	const char *p[] = {"error", "fields", NULL};
	yajl_val fields = yajl_tree_get(v, p, yajl_t_any);
	if (field) {
		assert_true(YAJL_IS_ARRAY(fields));
		int found = 0;
		for (size_t i = 0; i < fields->u.array.len; i++) {
			yajl_val fe = fields->u.array.values[i];
			static const char *const fk[] = {"field", "message", NULL};
			assert_keys(fe, fk);
			found |= !strcmp(sfx_str(fe, "field"), field);
		}
		if (!found)
			fail_msg("no field %s in %s", field, fb_buf_str(&f->r.body));
		const char *mp[] = {"error", "message", NULL};
		assert_non_null(strstr(yajl_tree_get(v, mp, yajl_t_string)->u.string, field));
	} else {
		assert_null(fields);
	}
	yajl_tree_free(v);
}

static void test_bad_bodies(void **state)
{
	struct sfx *f = *state;
	bad_body(f, "not json", "invalid_json", NULL);
	bad_body(f, "", "invalid_json", NULL);
	bad_body(f, "[1,2]", "invalid_json", NULL);
	bad_body(f, "{\"mode\":\"async\"} trailing", "invalid_json", NULL);
	bad_body(f, "{\"mode\":\"async\"}", "input_validation_error", "inputs");
	bad_body(f, "{\"inputs\":[],\"mode\":\"async\"}", "input_validation_error", "inputs");
	bad_body(f, "{\"inputs\":{},\"mode\":\"async\"}", "input_validation_error", "inputs");
	bad_body(f,
		 "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
		 "storage.googleapis.com/b/"
		 "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}]}",
		 "input_validation_error", "mode");
	bad_body(
	    f,
	    "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
	    "storage.googleapis.com/b/"
	    "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"sync\"}",
	    "input_validation_error", "mode");
	bad_body(
	    f,
	    "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
	    "storage.googleapis.com/b/"
	    "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"async\","
	    "\"prompt\":\"x\"}",
	    "input_validation_error", "prompt");
	bad_body(f,
		 "{\"inputs\":[{\"id\":\"p\",\"type\":\"audioUrl\",\"value\":\"x\"}],"
		 "\"mode\":\"async\"}",
		 "input_validation_error", "inputs.0.type");
	bad_body(f,
		 "{\"inputs\":[{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"},{\"id\":\"q\","
		 "\"type\":\"text\",\"value\":3}],\"mode\":\"async\"}",
		 "input_validation_error", "inputs.1.value");
	bad_body(f, "{\"inputs\":[\"x\"],\"mode\":\"async\"}", "input_validation_error",
		 "inputs.0");
	bad_body(f, "{\"inputs\":[{\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"async\"}",
		 "input_validation_error", "inputs.0.id");
	bad_body(
	    f,
	    "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
	    "storage.googleapis.com/b/"
	    "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"async\","
	    "\"idempotency_key\":5}",
	    "input_validation_error", "idempotency_key");
	bad_body(
	    f,
	    "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
	    "storage.googleapis.com/b/"
	    "in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"async\","
	    "\"callback_url\":\"not a url\"}",
	    "input_validation_error", "callback_url");
	/* Nesting deeper than anyone needs is refused before it is parsed. */
	char deep[400];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 99);
	deep[399] = '\0';
	bad_body(f, deep, "invalid_json", NULL);
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.runs_created, 0);
	/* Extra members inside an input, and a callback_url, are allowed by the spec. */
	yajl_tree_free(
	    sendj(f, "POST", CREATE, NULL,
		  "{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"
		  "x/y.png\",\"note\":1}],\"mode\":\"stream\",\"callback_url\":"
		  "\"https://hooks.example.com/x\"}",
		  201));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replay_mode, setup, teardown),
	    cmocka_unit_test(test_conflict_mode),
	    cmocka_unit_test_setup_teardown(test_key_carriers_must_agree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tech_id_and_encoded_slug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
