/*
 * The technique catalog: its requests (apireq), its answers read as
 * liberally as runs are (apitech), and the transport slot over the
 * in-process simulator (the same bytes florasim serves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api.h"
#include "apireq.h"
#include "clock.h"
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path_of(const struct fb_catalog_query *q, int *rc)
{
	static char out[512];
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_err e = {0};
	*rc = fb_api_techniques_call(q, &call, &e);
	snprintf(out, sizeof(out), "%s", *rc ? e.msg : fb_buf_str(&call.path));
	fb_api_call_release(&call);
	return out;
}

static void test_requests(void **state)
{
	(void)state;
	int rc;
	struct fb_catalog_query q = {.technique = "cctv-cam"};
	assert_string_equal(path_of(&q, &rc), "/techniques/cctv-cam");
	q.technique = "a b/c?";
	assert_string_equal(path_of(&q, &rc), "/techniques/a%20b%2Fc%3F");
	q = (struct fb_catalog_query){0};
	assert_string_equal(path_of(&q, &rc), "/techniques?limit=100");
	q = (struct fb_catalog_query){.query = "logo & co", .cursor = "eyJv+/=", .limit = 20};
	assert_string_equal(path_of(&q, &rc),
			    "/techniques?limit=20&query=logo%20%26%20co&cursor=eyJv%2B%2F%3D");
	q.limit = 101;
	path_of(&q, &rc);
	assert_int_equal(rc, FB_EINVAL);
	q = (struct fb_catalog_query){.technique = ""};
	path_of(&q, &rc);
	assert_int_equal(rc, FB_EINVAL);
}

static const char *TECH =
    "{\"technique_id\":\"tech_cctv-cam\",\"name\":\"CCTV Cam\",\"description\":\"Restyles.\","
    "\"run_cost\":0.25,\"inputs\":[{\"id\":\"input_image\",\"name\":\"Input image\",\"type\":"
    "\"imageUrl\"},{\"id\":\"prompt\",\"name\":\"Prompt\",\"type\":\"text\",\"optional\":true}"
    "],\"outputs\":[{\"id\":\"output_image\",\"name\":\"Image\",\"type\":\"imageUrl\"}]}";

static void test_one_technique(void **state)
{
	(void)state;
	struct fb_technique t;
	struct fb_err e = {0};
	assert_int_equal(fb_api_parse_technique(TECH, strlen(TECH), &t, &e), 0);
	assert_string_equal(t.technique_id, "tech_cctv-cam");
	assert_string_equal(t.name, "CCTV Cam");
	assert_string_equal(t.description, "Restyles.");
	assert_true(t.has_cost && t.run_cost == 0.25);
	assert_int_equal(t.ninputs, 2);
	assert_string_equal(t.inputs[0].id, "input_image");
	assert_string_equal(t.inputs[0].type, "imageUrl");
	assert_true(t.inputs[0].required);
	assert_string_equal(t.inputs[1].id, "prompt");
	assert_false(t.inputs[1].required);
	assert_int_equal(t.noutputs, 1);
	assert_string_equal(t.outputs[0].id, "output_image");
	fb_technique_release(&t);

	/* camelCase, wrapped, the cost as a string, "required": false, no outputs. */
	const char *camel = "{\"data\":{\"techniqueId\":\"tech_x\",\"runCost\":\"1.5\",\"inputs\":"
			    "[{\"id\":\"a\",\"type\":\"text\",\"required\":false}]}}";
	assert_int_equal(fb_api_parse_technique(camel, strlen(camel), &t, &e), 0);
	assert_string_equal(t.technique_id, "tech_x");
	assert_true(t.has_cost && t.run_cost == 1.5);
	assert_null(t.name);
	assert_false(t.inputs[0].required);
	assert_int_equal(t.noutputs, 0);
	fb_technique_release(&t);
}

static void bad(const char *body, const char *says)
{
	struct fb_technique t;
	struct fb_err e = {0};
	int rc = fb_api_parse_technique(body, strlen(body), &t, &e);
	fb_technique_release(&t);
	if (rc != FB_EPARSE || !strstr(e.msg, says))
		print_error("%s: rc %d, \"%s\" (expected \"%s\")\n", body, rc, e.msg, says);
	assert_int_equal(rc, FB_EPARSE);
	assert_non_null(strstr(e.msg, says));
}

static void test_bad_answers(void **state)
{
	(void)state;
	bad("<html>502</html>", "not a JSON object");
	bad("[1,2]", "not a JSON object");
	bad("{\"name\":\"x\"}", "no technique_id");
	bad("{\"technique_id\":\"t\",\"run_cost\":\"free\"}", "run_cost is not a price");
	bad("{\"technique_id\":\"t\",\"run_cost\":-1}", "run_cost is not a price");
	bad("{\"technique_id\":\"t\",\"inputs\":{}}", "inputs is not an array");
	bad("{\"technique_id\":\"t\",\"inputs\":[{\"type\":\"text\"}]}", "inputs[0] has no id");
	bad("{\"technique_id\":\"t\",\"outputs\":[1]}", "outputs[0] is not an object");
	char deep[300];
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	bad(deep, "not a JSON object");
}

static void test_page(void **state)
{
	(void)state;
	char body[2048];
	snprintf(body, sizeof(body),
		 "{\"techniques\":[%s,{\"technique_id\":\"tech_b\",\"inputs\":[],\"outputs\":[],"
		 "\"run_cost\":0}],\"meta\":{\"next_cursor\":\"abc\",\"total_estimate\":3}}",
		 TECH);
	struct fb_technique *list;
	size_t n;
	char *cursor;
	struct fb_err e = {0};
	assert_int_equal(fb_api_parse_techniques(body, strlen(body), &list, &n, &cursor, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].technique_id, "tech_cctv-cam");
	assert_string_equal(list[1].technique_id, "tech_b");
	assert_true(list[1].has_cost && list[1].run_cost == 0);
	assert_string_equal(cursor, "abc");
	fb_technique_list_free(list, n);
	free(cursor);

	const char *last = "{\"techniques\":[],\"meta\":{\"next_cursor\":null}}";
	assert_int_equal(fb_api_parse_techniques(last, strlen(last), &list, &n, &cursor, &e), 0);
	assert_null(list);
	assert_int_equal(n, 0);
	assert_null(cursor);

	const char *broken = "{\"techniques\":[{\"technique_id\":\"a\"},{\"name\":\"b\"}]}";
	assert_int_equal(fb_api_parse_techniques(broken, strlen(broken), &list, &n, &cursor, &e),
			 FB_EPARSE);
	assert_non_null(strstr(e.msg, "techniques[1]: the technique has no technique_id"));
	assert_null(list);
	assert_int_equal(n, 0);
	const char *none = "{\"meta\":{}}";
	assert_int_equal(fb_api_parse_techniques(none, strlen(none), &list, &n, &cursor, &e),
			 FB_EPARSE);
}

/* What a catalog callback saw. */
struct seen {
	int fired, ok, http_status;
	char first[64], cursor[64], api_code[64];
	size_t n, ninputs;
};

static void on_catalog(void *ud, const struct fb_catalog_reply *r)
{
	struct seen *s = ud;
	s->fired++;
	s->ok = r->ok;
	s->http_status = r->http_status;
	s->n = r->ntechniques;
	if (r->ok && r->ntechniques) {
		snprintf(s->first, sizeof(s->first), "%s", r->techniques[0].technique_id);
		s->ninputs = r->techniques[0].ninputs;
	}
	snprintf(s->cursor, sizeof(s->cursor), "%s", r->next_cursor ? r->next_cursor : "");
	snprintf(s->api_code, sizeof(s->api_code), "%s", r->err.api_code);
}

static void ask(struct fb_transport *t, const struct fb_catalog_query *q, struct seen *s)
{
	struct fb_err e = {0};
	memset(s, 0, sizeof(*s));
	assert_int_equal(fb_transport_get_techniques(t, q, on_catalog, s, &e), 0);
	assert_int_equal(s->fired, 0); /* never from inside the starting call */
	for (int i = 0; i < 100 && !s->fired; i++)
		assert_true(fb_transport_step(t, 100) >= 0);
	assert_int_equal(s->fired, 1);
}

static void test_through_the_sim_transport(void **state)
{
	(void)state;
	struct fb_clock *clock = fb_clock_virtual_new(0);
	struct fb_sim_config cfg = {.model = {.seed = 1, .run_ms = 1000}, .latency_ms = 20};
	struct fb_transport *t;
	struct fb_err e = {0};
	assert_int_equal(fb_sim_transport_new(&t, &cfg, clock, &e), 0);
	struct seen s;
	struct fb_catalog_query q = {.technique = "color-transfer"};
	ask(t, &q, &s);
	assert_true(s.ok);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.first, "tech_color-transfer");
	assert_int_equal(s.ninputs, 3); /* input_image, reference_image, prompt */

	q.technique = "no-such-thing";
	ask(t, &q, &s);
	assert_false(s.ok);
	assert_int_equal(s.http_status, 404);
	assert_string_equal(s.api_code, "not_found");

	/* The whole catalog, ten a page, by its cursors. */
	size_t total = 0, pages = 0;
	char cursor[64] = "";
	do {
		q = (struct fb_catalog_query){.limit = 10, .cursor = *cursor ? cursor : NULL};
		ask(t, &q, &s);
		assert_true(s.ok);
		total += s.n;
		pages++;
		snprintf(cursor, sizeof(cursor), "%s", s.cursor);
	} while (*cursor && pages < 10);
	assert_int_equal(total, 38);
	assert_int_equal(pages, 4);

	/* A call that does not start never calls back. */
	q = (struct fb_catalog_query){.limit = 101};
	memset(&s, 0, sizeof(s));
	assert_int_equal(fb_transport_get_techniques(t, &q, on_catalog, &s, &e), FB_EINVAL);
	assert_int_equal(fb_transport_pending(t), 0);
	fb_transport_step(t, 100);
	assert_int_equal(s.fired, 0);
	fb_transport_free(t);
	fb_clock_free(clock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_one_technique),
	    cmocka_unit_test(test_bad_answers),
	    cmocka_unit_test(test_page),
	    cmocka_unit_test(test_through_the_sim_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
