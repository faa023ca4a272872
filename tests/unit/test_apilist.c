/*
 * The list endpoints' wire format: the query of a page (apireq) and the
 * reading of a page (api): casings, every spelling of a run id, the
 * cursor, created_at, and answers that are not a page at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the query ---- */

/* The path of q's request, or fails the test. */
static void expect_path(const struct fb_list_query *q, const char *want)
{
	struct fb_api_call c = FB_API_CALL_INIT;
	struct fb_err e = {0};
	assert_int_equal(fb_api_list_call(q, &c, &e), 0);
	assert_string_equal(c.method, "GET");
	assert_string_equal(fb_buf_str(&c.path), want);
	assert_int_equal(c.body.len, 0);
	assert_null(c.idem_key);
	fb_api_call_release(&c);
}

static int list_call_fails(const struct fb_list_query *q, struct fb_err *e)
{
	struct fb_api_call c = FB_API_CALL_INIT;
	int rc = fb_api_list_call(q, &c, e);
	fb_api_call_release(&c);
	return rc;
}

static void test_query_technique_runs(void **s)
{
	(void)s;
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE};
	expect_path(&q, "/technique-runs?limit=100"); /* 0 means the most a page holds */
	q.kind = FB_JOB_TECHNIQUE_ID;
	q.limit = 1;
	expect_path(&q, "/technique-runs?limit=1");
	q.technique_id = "tech_cctv-cam";
	q.workspace_id = "ws_accept";
	q.project_id = "prj_accept";
	q.status = "running";
	q.cursor = "cDoxNTA=";
	q.limit = 100;
	expect_path(&q, "/technique-runs?limit=100&technique_id=tech_cctv-cam"
			"&workspace_id=ws_accept&project_id=prj_accept&status=running"
			"&cursor=cDoxNTA%3D");
	/* Empty filters are no filters. */
	struct fb_list_query e = {.kind = FB_JOB_TECHNIQUE,
				  .technique_id = "",
				  .workspace_id = "",
				  .project_id = "",
				  .status = "",
				  .cursor = "",
				  .limit = 7};
	expect_path(&e, "/technique-runs?limit=7");
}

static void test_query_encoding(void **s)
{
	(void)s;
	/* A base64 cursor's '+' would read as a space, '&' and '=' would split the query. */
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE,
				  .cursor = "a+b/c==",
				  .status = "x&status=failed",
				  .workspace_id = "ws_\xc3\xa9 1#",
				  .limit = 20};
	expect_path(&q, "/technique-runs?limit=20&workspace_id=ws_%C3%A9%201%23"
			"&status=x%26status%3Dfailed&cursor=a%2Bb%2Fc%3D%3D");
	q.cursor = "AZaz09-._~";
	q.status = NULL;
	q.workspace_id = NULL;
	expect_path(&q, "/technique-runs?limit=20&cursor=AZaz09-._~");
}

static void test_query_generations(void **s)
{
	(void)s;
	struct fb_list_query q = {.kind = FB_JOB_GENERATION,
				  .workspace_id = "ws_accept",
				  .project_id = "prj_accept",
				  .status = "completed",
				  .cursor = "cDo5",
				  .limit = 50};
	expect_path(&q, "/generations?limit=50&workspace_id=ws_accept&project_id=prj_accept"
			"&status=completed&cursor=cDo5");
	struct fb_list_query bare = {.kind = FB_JOB_GENERATION};
	expect_path(&bare, "/generations?limit=100");
}

static void test_query_refusals(void **s)
{
	(void)s;
	struct fb_err e = {0};
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE, .limit = 101};
	assert_int_equal(list_call_fails(&q, &e), FB_EINVAL);
	assert_non_null(strstr(e.msg, "100"));
	q.limit = 100000;
	assert_int_equal(list_call_fails(&q, &e), FB_EINVAL);
	/* /generations has no technique filter: sent anyway, it would list everything. */
	struct fb_list_query g = {.kind = FB_JOB_GENERATION, .technique_id = "tech_x"};
	fb_err_clear(&e);
	assert_int_equal(list_call_fails(&g, &e), FB_EINVAL);
	assert_non_null(strstr(e.msg, "technique"));
	struct fb_list_query k = {.kind = (enum fb_job_kind)42};
	assert_int_equal(list_call_fails(&k, &e), FB_EINVAL);
	assert_int_equal(list_call_fails(NULL, &e), FB_EINVAL);

	/* One call reused: reset first, nothing of the last request left. */
	struct fb_api_call c = FB_API_CALL_INIT;
	struct fb_list_query a = {.kind = FB_JOB_TECHNIQUE, .status = "failed"};
	assert_int_equal(fb_api_list_call(&a, &c, &e), 0);
	a.status = NULL;
	assert_int_equal(fb_api_list_call(&a, &c, &e), 0);
	assert_string_equal(fb_buf_str(&c.path), "/technique-runs?limit=100");
	fb_api_call_release(&c);
}

/* ---- the page ---- */

struct page {
	int rc;
	struct fb_err err;
	struct fb_run_info *runs;
	size_t n;
	char *cursor;
};

static struct page parse(const char *body, enum fb_job_kind kind)
{
	struct page p;
	memset(&p, 0, sizeof(p));
	p.runs = (struct fb_run_info *)&p; /* must be overwritten */
	p.cursor = (char *)&p;
	p.rc = fb_api_parse_list(body, strlen(body), kind, &p.runs, &p.n, &p.cursor, &p.err);
	if (p.rc) {
		assert_null(p.runs);
		assert_int_equal(p.n, 0);
		assert_null(p.cursor);
	}
	return p;
}

static void page_free(struct page *p)
{
	fb_run_list_free(p->runs, p->n);
	free(p->cursor);
}

static void test_parse_snake(void **s)
{
	(void)s;
	struct page p =
	    parse("{\"technique_runs\":["
		  "{\"run_id\":\"run_2\",\"technique_run_id\":\"run_2\",\"status\":\"completed\","
		  "\"progress\":100,\"created_at\":1718000000002,\"charged_cost\":0.25,"
		  "\"poll_url\":\"https://app.flora.ai/api/v1/techniques/x/runs/run_2\","
		  "\"outputs\":[{\"output_id\":\"o1\",\"type\":\"imageUrl\",\"url\":\"https://c/"
		  "1.png\"}],"
		  "\"technique\":{\"technique_id\":\"tech_x\",\"name\":\"X\"},"
		  "\"project_id\":null,\"workspace_id\":\"ws_accept\"},"
		  "{\"run_id\":\"run_1\",\"status\":\"failed\",\"progress\":100,"
		  "\"created_at\":1718000000001,\"error_code\":\"provider_error\","
		  "\"error_message\":\"boom\"}],"
		  "\"meta\":{\"next_cursor\":\"cDox\",\"total_estimate\":3}}",
		  FB_JOB_TECHNIQUE);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.runs[0].run_id, "run_2");
	assert_int_equal(p.runs[0].status, FB_RUN_COMPLETED);
	assert_true(p.runs[0].progress == 100);
	assert_true(p.runs[0].created_at == 1718000000002LL);
	assert_true(p.runs[0].has_cost && p.runs[0].charged_cost == 0.25);
	assert_string_equal(p.runs[0].poll_url,
			    "https://app.flora.ai/api/v1/techniques/x/runs/run_2");
	assert_int_equal(p.runs[0].noutputs, 1);
	assert_string_equal(p.runs[0].outputs[0].url, "https://c/1.png");
	assert_int_equal(p.runs[0].estimated_seconds, -1);
	assert_string_equal(p.runs[1].run_id, "run_1");
	assert_int_equal(p.runs[1].status, FB_RUN_FAILED);
	assert_string_equal(p.runs[1].error_code, "provider_error");
	assert_string_equal(p.runs[1].error_message, "boom");
	assert_null(p.runs[1].poll_url);
	assert_string_equal(p.cursor, "cDox");
	page_free(&p);
}

static void test_parse_camel(void **s)
{
	(void)s;
	struct page p = parse("{\"techniqueRuns\":[{\"runId\":\"run_9\",\"techniqueRunId\":"
			      "\"run_9\",\"status\":\"Running\",\"progress\":\"40\",\"createdAt\":"
			      "17,\"pollUrl\":\"/api/v1/runs/run_9\",\"chargedCost\":1}],"
			      "\"meta\":{\"nextCursor\":\"cDo4\",\"totalEstimate\":null}}",
			      FB_JOB_TECHNIQUE_ID);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.runs[0].run_id, "run_9");
	assert_int_equal(p.runs[0].status, FB_RUN_RUNNING);
	assert_true(p.runs[0].progress == 40);
	assert_true(p.runs[0].created_at == 17);
	assert_string_equal(p.runs[0].poll_url, "/api/v1/runs/run_9");
	assert_string_equal(p.cursor, "cDo4");
	page_free(&p);

	struct page g = parse("{\"generations\":[{\"generationId\":\"run_g\",\"status\":"
			      "\"pending\",\"createdAt\":5}],\"meta\":{\"nextCursor\":null}}",
			      FB_JOB_GENERATION);
	assert_int_equal(g.rc, 0);
	assert_string_equal(g.runs[0].run_id, "run_g");
	assert_null(g.cursor);
	page_free(&g);
}

static void test_parse_id_spellings(void **s)
{
	(void)s;
	static const char *const keys[] = {
	    "run_id",	    "runId", "technique_run_id", "techniqueRunId", "generation_id",
	    "generationId", "id"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (int gen = 0; gen < 2; gen++) {
			char body[256];
			snprintf(body, sizeof(body),
				 "{\"%s\":[{\"%s\":\"run_%zu\",\"status\":\"pending\"}],"
				 "\"meta\":{\"next_cursor\":null}}",
				 gen ? "generations" : "technique_runs", keys[i], i);
			struct page p = parse(body, gen ? FB_JOB_GENERATION : FB_JOB_TECHNIQUE);
			if (p.rc)
				fail_msg("%s: %s", body, p.err.msg);
			char want[16];
			snprintf(want, sizeof(want), "run_%zu", i);
			assert_string_equal(p.runs[0].run_id, want);
			page_free(&p);
		}
	}
	/* run_id wins over a generic id; an empty one does not count. */
	struct page p = parse("{\"technique_runs\":[{\"id\":\"x_1\",\"run_id\":\"run_a\"},"
			      "{\"run_id\":\"\",\"technique_run_id\":\"run_b\"}]}",
			      FB_JOB_TECHNIQUE);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.runs[0].run_id, "run_a");
	assert_string_equal(p.runs[1].run_id, "run_b");
	assert_int_equal(p.runs[0].status, FB_RUN_UNKNOWN);
	page_free(&p);
}

static void test_parse_generic_arrays(void **s)
{
	(void)s;
	struct page d =
	    parse("{\"data\":[{\"run_id\":\"run_d\"}],\"meta\":{\"next_cursor\":\"c\"}}",
		  FB_JOB_GENERATION);
	assert_int_equal(d.rc, 0);
	assert_string_equal(d.runs[0].run_id, "run_d");
	assert_string_equal(d.cursor, "c");
	page_free(&d);
	struct page i = parse("{\"items\":[{\"id\":\"run_i\"}]}", FB_JOB_TECHNIQUE);
	assert_int_equal(i.rc, 0);
	assert_string_equal(i.runs[0].run_id, "run_i");
	page_free(&i);
	/* The kind's own name wins over a generic one; a data object is no page. */
	struct page k = parse("{\"data\":{\"x\":1},\"items\":[{\"id\":\"run_x\"}],"
			      "\"technique_runs\":[{\"id\":\"run_t\"}]}",
			      FB_JOB_TECHNIQUE);
	assert_int_equal(k.rc, 0);
	assert_int_equal(k.n, 1);
	assert_string_equal(k.runs[0].run_id, "run_t");
	page_free(&k);
}

static void test_parse_cursor(void **s)
{
	(void)s;
	static const struct {
		const char *body;
		const char *want; /* NULL: last page */
	} cases[] = {
	    {"{\"technique_runs\":[],\"meta\":{\"next_cursor\":null}}", NULL},
	    {"{\"technique_runs\":[],\"meta\":{}}", NULL},
	    {"{\"technique_runs\":[]}", NULL},
	    {"{\"technique_runs\":[],\"meta\":null}", NULL},
	    /* An empty cursor sent back would start over: the last page. */
	    {"{\"technique_runs\":[],\"meta\":{\"next_cursor\":\"\"}}", NULL},
	    {"{\"technique_runs\":[],\"meta\":{\"next_cursor\":\"cDoxMA==\"}}", "cDoxMA=="},
	    {"{\"technique_runs\":[],\"meta\":{\"nextCursor\":\"a+b/\"}}", "a+b/"},
	    {"{\"technique_runs\":[],\"meta\":{\"next_cursor\":250}}", "250"},
	    {"{\"technique_runs\":[],\"next_cursor\":\"top\"}", "top"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct page p = parse(cases[i].body, FB_JOB_TECHNIQUE);
		if (p.rc)
			fail_msg("%s: %s", cases[i].body, p.err.msg);
		if (cases[i].want)
			assert_string_equal(p.cursor, cases[i].want);
		else
			assert_null(p.cursor);
		page_free(&p);
	}
	struct page bad = parse("{\"technique_runs\":[{\"run_id\":\"run_1\"}],"
				"\"meta\":{\"next_cursor\":{\"pos\":1}}}",
				FB_JOB_TECHNIQUE);
	assert_int_equal(bad.rc, FB_EPARSE);
	assert_non_null(strstr(bad.err.msg, "next_cursor"));
}

static void test_parse_created_at(void **s)
{
	(void)s;
	static const struct {
		const char *member;
		long long want;
	} cases[] = {
	    {"\"created_at\":1718000000000", 1718000000000LL},
	    {"\"createdAt\":1718000000000", 1718000000000LL},
	    {"\"created_at\":\"1718000000000\"", 1718000000000LL},
	    {"\"created_at\":1.718e12", 1718000000000LL},
	    {"\"created_at\":0", 0},
	    {"\"created_at\":\"2026-06-11T10:00:00Z\"", -1},
	    {"\"created_at\":\"17x\"", -1},
	    {"\"created_at\":\"\"", -1},
	    {"\"created_at\":\"-5\"", -1},
	    {"\"created_at\":-5", -1},
	    {"\"created_at\":\"99999999999999999999\"", -1},
	    {"\"created_at\":true", -1},
	    {"\"created_at\":null", -1},
	    {"\"other\":1", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"generations\":[{\"generation_id\":\"run_1\",%s}]}",
			 cases[i].member);
		struct page p = parse(body, FB_JOB_GENERATION);
		assert_int_equal(p.rc, 0);
		if (p.runs[0].created_at != cases[i].want)
			fail_msg("%s: %lld", cases[i].member, (long long)p.runs[0].created_at);
		page_free(&p);

		/* A single run reads it the same way. */
		snprintf(body, sizeof(body), "{\"run_id\":\"run_1\",\"status\":\"pending\",%s}",
			 cases[i].member);
		struct fb_run_info ri;
		struct fb_err e = {0};
		assert_int_equal(fb_api_parse_run(body, strlen(body), &ri, &e), 0);
		assert_true(ri.created_at == cases[i].want);
		fb_run_info_release(&ri);
	}
	/* Absent from a failed parse too: nothing half-read. */
	struct fb_run_info ri;
	assert_int_equal(fb_api_parse_run("nope", 4, &ri, NULL), FB_EPARSE);
	assert_true(ri.created_at == -1);
	fb_run_info_release(&ri);
}

static void test_parse_empty_page(void **s)
{
	(void)s;
	struct page p = parse("{\"technique_runs\":[],\"meta\":{\"next_cursor\":null,"
			      "\"total_estimate\":0}}",
			      FB_JOB_TECHNIQUE);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.n, 0);
	assert_null(p.runs);
	assert_null(p.cursor);
	page_free(&p);
	struct page g = parse("{\"generations\":[]}", FB_JOB_GENERATION);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.n, 0);
	page_free(&g);
}

static void expect_garbage(const char *body, enum fb_job_kind kind, const char *in_msg)
{
	struct page p = parse(body, kind);
	if (p.rc != FB_EPARSE)
		fail_msg("%s: rc %d", body, p.rc);
	assert_int_equal(p.err.code, FB_EPARSE);
	assert_int_equal(p.err.kind, FB_KIND_RETRYABLE); /* a proxy's page: try again */
	if (!strstr(p.err.msg, in_msg))
		fail_msg("%s: \"%s\" lacks \"%s\"", body, p.err.msg, in_msg);
}

static void test_parse_garbage(void **s)
{
	(void)s;
	expect_garbage("<html><h1>502 Bad Gateway</h1></html>", FB_JOB_TECHNIQUE,
		       "not JSON: <html><h1>502 Bad Gateway");
	expect_garbage("", FB_JOB_TECHNIQUE, "empty body");
	expect_garbage("[{\"run_id\":\"run_1\"}]", FB_JOB_TECHNIQUE,
		       "no technique_runs array: [{\"run_id\"");
	expect_garbage("{\"runs\":[]}", FB_JOB_TECHNIQUE, "no technique_runs array: {\"runs\"");
	expect_garbage("{\"technique_runs\":{}}", FB_JOB_TECHNIQUE, "no technique_runs array");
	/* A technique page is not a generations page. */
	expect_garbage("{\"technique_runs\":[]}", FB_JOB_GENERATION, "no generations array");
	expect_garbage("{\"technique_runs\":[{\"run_id\":\"run_1\"},42]}", FB_JOB_TECHNIQUE,
		       "technique_runs[1]: answer's item is not an object");
	expect_garbage("{\"generations\":[{\"status\":\"pending\"}]}", FB_JOB_GENERATION,
		       "generations[0]: answer has no run id");
	expect_garbage("{\"technique_runs\":[{\"run_id\":\"r\"},{\"run_id\":\"s\",\"status\":"
		       "\"exploded\"}],\"meta\":{\"next_cursor\":\"c\"}}",
		       FB_JOB_TECHNIQUE, "technique_runs[1]: answer has an unknown run status");
	expect_garbage("{\"technique_runs\":[{\"run_id\":\"r\",\"outputs\":[{\"type\":"
		       "\"imageUrl\"}]}]}",
		       FB_JOB_TECHNIQUE, "technique_runs[0]: answer's outputs[0] has no url");
	/* Control bytes in the snippet come out escaped: the message stays one line. */
	expect_garbage("oops\n\x01", FB_JOB_TECHNIQUE, "oops\\x0A\\x01");
	/* A NUL inside would hide what follows it from the parser. */
	struct page p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(fb_api_parse_list("{\"items\":[]}\0x", 14, FB_JOB_TECHNIQUE, &p.runs, &p.n,
					   &p.cursor, &p.err),
			 FB_EPARSE);
	assert_int_equal(
	    fb_api_parse_list("{}", 2, (enum fb_job_kind)9, &p.runs, &p.n, &p.cursor, &p.err),
	    FB_EINVAL);
}

/* Whether s is valid UTF-8 (enough of a check for messages built from escaped bytes). */
static int valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		size_t k = *u < 0x80 ? 1 : (*u & 0xE0) == 0xC0 ? 2 : (*u & 0xF0) == 0xE0 ? 3 : 4;
		for (size_t i = 1; i < k; i++)
			if ((u[i] & 0xC0) != 0x80)
				return 0;
		u += k;
	}
	return 1;
}

/*
 * A full-length message still gets the item's name in front, and the cut
 * that makes room never splits a character: control bytes escape to four
 * characters each, so some count of them puts an 'é' right at the cut.
 */
static void test_parse_long_message(void **s)
{
	(void)s;
	for (int k = 100; k < 120; k++) {
		char body[2048];
		int n = snprintf(body, sizeof(body),
				 "{\"technique_runs\":[{\"run_id\":\"r\",\"status\":\"");
		for (int i = 0; i < k; i++)
			n += snprintf(body + n, sizeof(body) - (size_t)n, "\\u0001");
		for (int i = 0; i < 20; i++)
			n += snprintf(body + n, sizeof(body) - (size_t)n, "a\xc3\xa9");
		snprintf(body + n, sizeof(body) - (size_t)n, "\"}]}");
		struct page p = parse(body, FB_JOB_TECHNIQUE);
		assert_int_equal(p.rc, FB_EPARSE);
		assert_true(strlen(p.err.msg) < FB_ERR_MSG_MAX);
		assert_true(strlen(p.err.msg) > 400);
		assert_memory_equal(p.err.msg, "technique_runs[0]: answer has an unknown", 40);
		if (!valid_utf8(p.err.msg))
			fail_msg("k=%d: %s", k, p.err.msg);
	}
}

/*
 * Members nobody reads are skipped at any depth: look-alike arrays and
 * cursors nested elsewhere, items' own nested objects; the first array
 * under a name counts, and an item is read only from the page's array.
 */
static void test_parse_skips_look_alikes(void **s)
{
	(void)s;
	struct page p = parse(
	    "{\"extra\":{\"technique_runs\":[{\"run_id\":\"wrong\"}],\"meta\":{\"next_cursor\":"
	    "\"no\"}},\"items\":[{\"run_id\":\"generic\"}],\"technique_runs\":[{\"run_id\":"
	    "\"run_a\",\"status\":\"completed\",\"technique\":{\"run_id\":\"inner\",\"outputs\":"
	    "7},\"outputs\":[{\"url\":\"https://o/a.png\",\"x\":[{\"url\":\"bad\"}]}]},"
	    "{\"technique_run_id\":\"run_b\",\"status\":\"running\"}],\"technique_runs\":[],"
	    "\"meta\":{\"nextCursor\":null,\"next_cursor\":\"c2\"}}",
	    FB_JOB_TECHNIQUE);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.runs[0].run_id, "run_a");
	assert_int_equal(p.runs[0].noutputs, 1);
	assert_string_equal(p.runs[0].outputs[0].url, "https://o/a.png");
	assert_string_equal(p.runs[1].run_id, "run_b");
	assert_int_equal(p.runs[1].status, FB_RUN_RUNNING);
	assert_string_equal(p.cursor, "c2");
	page_free(&p);

	/* A generation page does not take technique_runs; a bad item is named by index. */
	p = parse("{\"technique_runs\":[{\"run_id\":\"t\"}],\"generations\":[{\"generation_id\":"
		  "\"g1\"},[1]]}",
		  FB_JOB_GENERATION);
	assert_int_equal(p.rc, FB_EPARSE);
	assert_non_null(strstr(p.err.msg, "generations[1]: "));
	assert_non_null(strstr(p.err.msg, "not an object"));
	page_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_technique_runs),
	    cmocka_unit_test(test_query_encoding),
	    cmocka_unit_test(test_query_generations),
	    cmocka_unit_test(test_query_refusals),
	    cmocka_unit_test(test_parse_snake),
	    cmocka_unit_test(test_parse_camel),
	    cmocka_unit_test(test_parse_id_spellings),
	    cmocka_unit_test(test_parse_generic_arrays),
	    cmocka_unit_test(test_parse_cursor),
	    cmocka_unit_test(test_parse_created_at),
	    cmocka_unit_test(test_parse_empty_page),
	    cmocka_unit_test(test_parse_garbage),
	    cmocka_unit_test(test_parse_long_message),
	    cmocka_unit_test(test_parse_skips_look_alikes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
