/* Tests for api: run answers (RunStatus, RunCreated), read by the callback parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "api.h"
#include "apifx.h"
#include "buf.h"

/* The body in a buffer of exactly len bytes, so a read past it is caught. */
static int parse_run_n(const char *body, size_t len, struct fb_run_info *ri, struct fb_err *err)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, body, len);
	int rc = fb_api_parse_run(copy, len, ri, err);
	free(copy);
	return rc;
}

/* Parses body, which must succeed; the caller releases ri. */
static void run_ok(const char *body, struct fb_run_info *ri)
{
	struct fb_err err = {0};
	if (parse_run_n(body, strlen(body), ri, &err))
		fail_msg("\"%s\" did not parse: %s", body, err.msg);
}

/* len bytes of body must fail as a retryable FB_EPARSE whose message holds needle. */
static void run_bad(const char *body, size_t len, const char *needle)
{
	struct fb_run_info ri;
	struct fb_err err = {0};
	assert_int_equal(parse_run_n(body, len, &ri, &err), FB_EPARSE);
	assert_int_equal(err.code, FB_EPARSE);
	assert_int_equal(err.kind, FB_KIND_RETRYABLE);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
	assert_clean_line(err.msg);
	fb_run_info_release(&ri);
}

static void test_run_id_spellings(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"{\"run_id\":\"run_a\"}", "run_a"},
	    {"{\"runId\":\"run_b\"}", "run_b"},
	    {"{\"id\":\"run_c\"}", "run_c"},
	    {"{\"id\":\"x\",\"runId\":\"y\",\"run_id\":\"run_d\"}", "run_d"},
	    {"{\"id\":\"x\",\"runId\":\"run_e\"}", "run_e"},
	    {"{\"run_id\":\"\",\"id\":\"run_f\"}", "run_f"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_run_info ri;
		run_ok(cases[i][0], &ri);
		assert_string_equal(ri.run_id, cases[i][1]);
		assert_int_equal(ri.status, FB_RUN_UNKNOWN);
		fb_run_info_release(&ri);
	}
}

static void check_full_run(const char *body)
{
	struct fb_run_info ri;
	run_ok(body, &ri);
	assert_string_equal(ri.run_id, "run_1");
	assert_int_equal(ri.status, FB_RUN_RUNNING);
	assert_true(ri.progress > 41.9 && ri.progress < 42.1);
	assert_string_equal(ri.poll_url, "https://app.flora.ai/api/v1/techniques/t/runs/run_1");
	assert_int_equal(ri.estimated_seconds, 30);
	assert_true(ri.has_cost);
	assert_true(ri.charged_cost > 0.2529 && ri.charged_cost < 0.2531);
	assert_string_equal(ri.error_code, "none_yet");
	assert_string_equal(ri.error_message, "still going");
	assert_int_equal(ri.noutputs, 1);
	assert_string_equal(ri.outputs[0].output_id, "out_1");
	assert_string_equal(ri.outputs[0].type, "imageUrl");
	assert_string_equal(ri.outputs[0].url, "https://cdn.example.com/o.png");
	fb_run_info_release(&ri);
}

static void test_run_casing(void **state)
{
	(void)state;
	check_full_run(
	    "{\"run_id\":\"run_1\",\"status\":\"running\",\"progress\":42,"
	    "\"poll_url\":\"https://app.flora.ai/api/v1/techniques/t/runs/run_1\","
	    "\"estimated_seconds\":30,\"charged_cost\":0.253,\"error_code\":\"none_yet\","
	    "\"error_message\":\"still going\",\"created_at\":1718000000000,"
	    "\"outputs\":[{\"output_id\":\"out_1\",\"type\":\"imageUrl\","
	    "\"url\":\"https://cdn.example.com/o.png\"}]}");
	check_full_run("{\"runId\":\"run_1\",\"status\":\"Running\",\"progress\":\"42\","
		       "\"pollUrl\":\"https://app.flora.ai/api/v1/techniques/t/runs/run_1\","
		       "\"estimatedSeconds\":\"30\",\"chargedCost\":\"0.253\",\"errorCode\":"
		       "\"none_yet\",\"errorMessage\":\"still going\",\"createdAt\":1,"
		       "\"outputs\":[{\"outputId\":\"out_1\",\"type\":\"imageUrl\","
		       "\"url\":\"https://cdn.example.com/o.png\"}]}");
	/* Mixed: snake_case wins where both are present; keys are case-sensitive. */
	check_full_run(
	    "{\"runId\":\"run_1\",\"STATUS\":\"x\",\"status\":\"RUNNING\",\"progress\":42.0,"
	    "\"pollUrl\":\"https://wrong.example\","
	    "\"poll_url\":\"https://app.flora.ai/api/v1/techniques/t/runs/run_1\","
	    "\"estimated_seconds\":29.6,\"chargedCost\":0.253,\"error_code\":\"none_yet\","
	    "\"errorMessage\":\"still going\",\"outputs\":[{\"outputId\":\"wrong\","
	    "\"output_id\":\"out_1\",\"type\":\"imageUrl\","
	    "\"url\":\"https://cdn.example.com/o.png\"}]}");
}

static void test_run_created(void **state)
{
	(void)state;
	struct fb_run_info ri;
	run_ok("{\"run_id\":\"run_1\",\"type\":\"technique\",\"estimated_seconds\":25,"
	       "\"charged_cost\":0,\"poll_url\":null,\"project_id\":null,"
	       "\"technique\":{\"technique_id\":\"tech_x\"}}",
	       &ri);
	assert_int_equal(ri.status, FB_RUN_UNKNOWN);
	assert_int_equal(ri.estimated_seconds, 25);
	assert_true(ri.has_cost);
	assert_true(ri.charged_cost == 0.0);
	assert_null(ri.poll_url);
	assert_true(ri.progress < 0);
	assert_int_equal(ri.noutputs, 0);
	assert_null(ri.outputs);
	fb_run_info_release(&ri);

	run_ok("{\"run_id\":\"run_2\",\"estimated_seconds\":null,\"status\":null,\"outputs\":null}",
	       &ri);
	assert_int_equal(ri.status, FB_RUN_UNKNOWN);
	assert_int_equal(ri.estimated_seconds, -1);
	assert_false(ri.has_cost);
	fb_run_info_release(&ri);

	/* A cost that is not a number is no cost. */
	run_ok("{\"run_id\":\"run_3\",\"charged_cost\":\"n/a\"}", &ri);
	assert_false(ri.has_cost);
	fb_run_info_release(&ri);
}

static void test_run_completed_and_failed(void **state)
{
	(void)state;
	struct fb_run_info ri;
	run_ok("{\"run_id\":\"run_1\",\"status\":\"completed\",\"progress\":100,"
	       "\"charged_cost\":0.873,\"outputs\":["
	       "{\"output_id\":\"o1\",\"type\":\"imageUrl\",\"url\":\"https://c/1.png\"},"
	       "{\"output_id\":\"o2\",\"type\":\"videoUrl\",\"url\":\"https://c/2.mp4\"},"
	       "{\"output_id\":\"o3\",\"type\":\"audioUrl\",\"url\":\"https://c/3.wav\"}]}",
	       &ri);
	assert_int_equal(ri.status, FB_RUN_COMPLETED);
	assert_int_equal(ri.noutputs, 3);
	assert_string_equal(ri.outputs[1].output_id, "o2");
	assert_string_equal(ri.outputs[1].type, "videoUrl");
	assert_string_equal(ri.outputs[2].url, "https://c/3.wav");
	assert_null(ri.error_code);
	fb_run_info_release(&ri);

	run_ok("{\"run_id\":\"run_1\",\"status\":\"failed\",\"progress\":100,"
	       "\"completed_at\":1718000000000,\"error_code\":\"safety_blocked\","
	       "\"error_message\":\"Blocked by the safety filter.\",\"outputs\":[]}",
	       &ri);
	assert_int_equal(ri.status, FB_RUN_FAILED);
	assert_true(ri.progress == 100.0);
	assert_string_equal(ri.error_code, "safety_blocked");
	assert_string_equal(ri.error_message, "Blocked by the safety filter.");
	assert_int_equal(ri.noutputs, 0);
	fb_run_info_release(&ri);

	/* A failure given as the error envelope inside the run. */
	run_ok("{\"run_id\":\"run_1\",\"status\":\"error\","
	       "\"error\":{\"code\":\"model_timeout\",\"message\":\"Timed out.\"}}",
	       &ri);
	assert_int_equal(ri.status, FB_RUN_FAILED);
	assert_string_equal(ri.error_code, "model_timeout");
	assert_string_equal(ri.error_message, "Timed out.");
	fb_run_info_release(&ri);
}

static void test_run_status_spellings(void **state)
{
	(void)state;
	static const struct {
		const char *status;
		enum fb_run_status want;
	} cases[] = {
	    {"pending", FB_RUN_PENDING},     {"PENDING", FB_RUN_PENDING},
	    {"Running", FB_RUN_RUNNING},     {"COMPLETED", FB_RUN_COMPLETED},
	    {"succeeded", FB_RUN_COMPLETED}, {"Success", FB_RUN_COMPLETED},
	    {"failed", FB_RUN_FAILED},	     {"ERROR", FB_RUN_FAILED},
	    {"cancelled", FB_RUN_FAILED},    {"Canceled", FB_RUN_FAILED},
	};
	char body[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_run_info ri;
		snprintf(body, sizeof(body), "{\"id\":\"run_1\",\"status\":\"%s\"}",
			 cases[i].status);
		run_ok(body, &ri);
		assert_int_equal(ri.status, cases[i].want);
		fb_run_info_release(&ri);
	}
	const char *paused = "{\"run_id\":\"run_1\",\"status\":\"paused\"}";
	run_bad(paused, strlen(paused), "unknown run status: paused");
	run_bad("{\"run_id\":\"run_1\",\"status\":3}", 29, "status is not a string");
}

static void test_run_outputs_tolerated(void **state)
{
	(void)state;
	struct fb_run_info ri;
	run_ok("{\"run_id\":\"run_1\",\"status\":\"completed\",\"outputs\":["
	       "{\"url\":\"https://c.example/a.PNG?sig=1\"},"
	       "{\"url\":\"https://c.example/b.mp4\"},"
	       "{\"url\":\"https://c.example/c.zip\"},"
	       "{\"output_id\":7,\"type\":\"text\",\"url\":\"the text itself\"},"
	       "{\"type\":\"text\",\"text\":\"from text\"},"
	       "{\"content\":\"from content\"},"
	       "{\"type\":\"text\",\"url\":\"\"}]}",
	       &ri);
	assert_int_equal(ri.noutputs, 7);
	assert_string_equal(ri.outputs[0].output_id, "output-1");
	assert_string_equal(ri.outputs[0].type, "imageUrl");
	assert_string_equal(ri.outputs[1].output_id, "output-2");
	assert_string_equal(ri.outputs[1].type, "videoUrl");
	assert_string_equal(ri.outputs[2].type, "unknown");
	assert_string_equal(ri.outputs[3].output_id, "7");
	assert_string_equal(ri.outputs[3].type, "text");
	assert_string_equal(ri.outputs[3].url, "the text itself");
	assert_string_equal(ri.outputs[4].output_id, "output-5");
	assert_string_equal(ri.outputs[4].url, "from text");
	assert_string_equal(ri.outputs[5].type, "text");
	assert_string_equal(ri.outputs[5].url, "from content");
	assert_string_equal(ri.outputs[6].url, "");
	fb_run_info_release(&ri);

	static const char *const bad[] = {
	    "{\"run_id\":\"r\",\"outputs\":[{\"type\":\"imageUrl\"}]}",
	    "{\"run_id\":\"r\",\"outputs\":[{\"type\":\"imageUrl\",\"url\":\"\"}]}",
	    "{\"run_id\":\"r\",\"outputs\":[{\"url\":\"https://a/b.png\"},3]}",
	    "{\"run_id\":\"r\",\"outputs\":{\"url\":\"https://a/b.png\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		run_bad(bad[i], strlen(bad[i]), "outputs");
}

static void test_run_garbage(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		size_t len;
		const char *needle;
	} cases[] = {
	    {"not json at all", 15, "not JSON: not json at all"},
	    {"[{\"run_id\":\"run_1\"}]", 20, "not a JSON object"},
	    {"\"run_1\"", 7, "not a JSON object"},
	    {"", 0, "empty"},
	    {"{\"run_id\":\"run_1\"}\0\xff\x01", 21, "\\x00\\xFF\\x01"},
	    {"\x89PNG\r\n\x1a\n\0\0", 10, "\\x89PNG\\x0D\\x0A\\x1A\\x0A\\x00\\x00"},
	    {"{\"run_id\":\"ru", 13, "not JSON"},
	    {"{\"run_id\":\"run_1\"} trailing", 27, "not JSON"},
	    {"{\"status\":\"completed\"}", 22, "no run id (run_id, runId or id)"},
	    {"{\"run_id\":12}", 13, "no run id"},
	    {"{}", 2, "no run id"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_bad(cases[i].body, cases[i].len, cases[i].needle);

	/* A long answer shows its first 120 bytes only. */
	char big[400];
	memset(big, 'a', sizeof(big));
	struct fb_run_info ri;
	struct fb_err err = {0};
	assert_int_equal(parse_run_n(big, sizeof(big), &ri, &err), FB_EPARSE);
	const char *a = strstr(err.msg, ": ") + 2;
	assert_int_equal(strspn(a, "a"), 120);
	assert_string_equal(a + 120, "...");
	fb_run_info_release(&ri);
}

static void test_run_wrapped(void **state)
{
	(void)state;
	static const char *const bodies[] = {
	    "{\"data\":{\"run_id\":\"run_w\",\"status\":\"completed\"}}",
	    "{\"run\":{\"runId\":\"run_w\",\"status\":\"completed\"}}",
	    /* A webhook-style envelope: its own id is not the run's. */
	    "{\"id\":\"whd_1\",\"type\":\"run.completed\",\"data\":{\"run_id\":\"run_w\","
	    "\"status\":\"completed\"}}",
	};
	struct fb_run_info ri;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		run_ok(bodies[i], &ri);
		assert_string_equal(ri.run_id, "run_w");
		assert_int_equal(ri.status, FB_RUN_COMPLETED);
		fb_run_info_release(&ri);
	}
	/* The top level comes first when it is a run itself. */
	run_ok("{\"run_id\":\"run_top\",\"status\":\"running\",\"data\":{\"run_id\":\"run_in\"}}",
	       &ri);
	assert_string_equal(ri.run_id, "run_top");
	fb_run_info_release(&ri);
}

/* Members nobody reads are skipped at any depth, whatever they hold. */
static void test_run_skips_unknown_members(void **state)
{
	(void)state;
	struct fb_run_info ri;
	run_ok("{\"meta\":{\"run_id\":\"not_me\",\"outputs\":[{\"url\":\"x\"}],\"status\":7},"
	       "\"run_id\":\"run_s\",\"extra\":[[{\"status\":\"bogus\"}],{\"error\":{}}],"
	       "\"status\":\"completed\",\"outputs\":[{\"url\":\"https://o/1.png\","
	       "\"meta\":{\"url\":\"https://wrong\",\"type\":\"video\"}}],"
	       "\"progress\":{\"value\":3}, /* a comment */ \"charged_cost\":[1]}",
	       &ri);
	assert_string_equal(ri.run_id, "run_s");
	assert_int_equal(ri.status, FB_RUN_COMPLETED);
	assert_int_equal(ri.noutputs, 1);
	assert_string_equal(ri.outputs[0].url, "https://o/1.png");
	assert_string_equal(ri.outputs[0].type, "imageUrl");
	assert_true(ri.progress < 0);
	assert_false(ri.has_cost);
	fb_run_info_release(&ri);
}

/* The first occurrence of a member counts, a null one too (it reads as absent). */
static void test_run_first_member_wins(void **state)
{
	(void)state;
	struct fb_run_info ri;
	run_ok("{\"run_id\":\"run_a\",\"run_id\":\"run_b\",\"status\":\"running\","
	       "\"status\":\"failed\",\"progress\":null,\"progress\":50}",
	       &ri);
	assert_string_equal(ri.run_id, "run_a");
	assert_int_equal(ri.status, FB_RUN_RUNNING);
	assert_true(ri.progress < 0);
	fb_run_info_release(&ri);
}

/* Deep nesting in a member nobody reads costs no stack; deep garbage is not JSON. */
static void test_run_deep_nesting(void **state)
{
	(void)state;
	const size_t depth = 200000;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&b, "{\"run_id\":\"run_d\",\"x\":"), 0);
	for (size_t i = 0; i < depth; i++)
		assert_int_equal(fb_buf_adds(&b, i % 2 ? "{\"k\":" : "["), 0);
	assert_int_equal(fb_buf_adds(&b, "1"), 0);
	for (size_t i = depth; i-- > 0;)
		assert_int_equal(fb_buf_adds(&b, i % 2 ? "}" : "]"), 0);
	assert_int_equal(fb_buf_adds(&b, ",\"status\":\"completed\"}"), 0);
	struct fb_run_info ri;
	struct fb_err err = {0};
	assert_int_equal(parse_run_n(b.ptr, b.len, &ri, &err), 0);
	assert_string_equal(ri.run_id, "run_d");
	assert_int_equal(ri.status, FB_RUN_COMPLETED);
	fb_run_info_release(&ri);
	b.len -= 2; /* unbalanced now */
	assert_int_equal(parse_run_n(b.ptr, b.len, &ri, &err), FB_EPARSE);
	assert_non_null(strstr(err.msg, "not JSON"));
	fb_run_info_release(&ri);
	fb_buf_release(&b);
}

/* A member of the wrong type is named in the message. */
static void test_run_wrong_types(void **state)
{
	(void)state;
	static const struct {
		const char *body, *needle;
	} cases[] = {
	    {"{\"run_id\":\"r\",\"status\":3}", "status is not a string"},
	    {"{\"run_id\":\"r\",\"status\":{\"s\":\"completed\"}}", "status is not a string"},
	    {"{\"run_id\":\"r\",\"outputs\":{\"url\":\"x\"}}", "outputs is not an array"},
	    {"{\"run_id\":\"r\",\"outputs\":[{\"url\":\"x\"},7]}", "outputs[1] is not an object"},
	    {"{\"run_id\":\"r\",\"outputs\":[{\"url\":[\"x\"]}]}", "outputs[0] has no url"},
	    {"{\"run_id\":[\"r\"],\"status\":\"completed\"}", "no run id"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_bad(cases[i].body, strlen(cases[i].body), cases[i].needle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_id_spellings),
	    cmocka_unit_test(test_run_casing),
	    cmocka_unit_test(test_run_created),
	    cmocka_unit_test(test_run_completed_and_failed),
	    cmocka_unit_test(test_run_status_spellings),
	    cmocka_unit_test(test_run_outputs_tolerated),
	    cmocka_unit_test(test_run_garbage),
	    cmocka_unit_test(test_run_wrapped),
	    cmocka_unit_test(test_run_skips_unknown_members),
	    cmocka_unit_test(test_run_first_member_wins),
	    cmocka_unit_test(test_run_deep_nesting),
	    cmocka_unit_test(test_run_wrong_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
